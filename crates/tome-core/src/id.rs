//! Entity identifiers: a type prefix plus 12 random lowercase alphanumerics (`kba_a1b2c3d4e5f6`).

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Length of the random part of an entity ID.
pub const ID_RANDOM_LEN: usize = 12;

pub const PROJECT: &str = "prj_";
pub const API_KEY: &str = "key_";
pub const KB: &str = "kb_";
pub const SITE_KEY: &str = "psk_";
pub const CATEGORY: &str = "kbc_";
pub const SECTION: &str = "kbs_";
pub const ARTICLE: &str = "kba_";
pub const FAQ: &str = "kbf_";
pub const UPDATE: &str = "upd_";
pub const THREAD: &str = "thr_";
pub const MESSAGE: &str = "msg_";

/// Fills `len` characters from `alphabet` with unbiased random choices from the OS generator.
pub fn random_string(alphabet: &[u8], len: usize) -> String {
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill_random(&mut buf);
        for &b in &buf {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

/// Fills `buf` from the operating system's random source.
pub fn fill_random(buf: &mut [u8]) {
    // The OS generator failing means the platform cannot produce secrets at all; continuing
    // would hand out predictable keys, so this is the one place that aborts.
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// A new ID with the given prefix.
pub fn new_id(prefix: &str) -> String {
    let mut id = String::with_capacity(prefix.len() + ID_RANDOM_LEN);
    id.push_str(prefix);
    id.push_str(&random_string(ALPHABET, ID_RANDOM_LEN));
    id
}

/// Whether `s` is shaped like an ID with this prefix. Cheap pre-check before a lookup.
pub fn is_id(prefix: &str, s: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == ID_RANDOM_LEN && rest.bytes().all(|b| ALPHABET.contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_shape() {
        let id = new_id(ARTICLE);
        assert!(is_id(ARTICLE, &id), "{id}");
        assert!(!is_id(FAQ, &id));
        assert!(!is_id(ARTICLE, "kba_ABCDEFGHIJKL"));
        assert_ne!(new_id(KB), new_id(KB));
    }
}
