//! API keys (`tome_…`, `tome_dsc_…`) and public site keys (`psk_…`).
//!
//! A key is 32 random base62 characters (≈190 bits) followed by a 6-character checksum, so a
//! scanner or the server can tell a real key from a typo without a database lookup. Only the
//! SHA-256 of the whole key is stored; the plaintext is shown once.

use sha2::{Digest, Sha256};

use crate::id::random_string;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const LOWER36: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const SECRET_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
/// Characters of a key kept as its display prefix (after the kind prefix).
const DISPLAY_CHARS: usize = 8;

/// The kinds of bearer key (see `spec/api-conventions.txt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Management endpoints.
    Admin,
    /// Server-side assistant and documentation-search endpoints.
    Assistant,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Admin => "admin",
            KeyKind::Assistant => "assistant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(KeyKind::Admin),
            "assistant" => Some(KeyKind::Assistant),
            _ => None,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            KeyKind::Admin => "tome_",
            KeyKind::Assistant => "tome_dsc_",
        }
    }
}

/// A freshly generated secret: the plaintext (shown once), its hash and its display prefix.
#[derive(Clone)]
pub struct GeneratedKey {
    pub plaintext: String,
    pub hash: String,
    pub display_prefix: String,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("display_prefix", &self.display_prefix)
            .finish_non_exhaustive()
    }
}

/// Generates a new bearer key of `kind`.
pub fn generate_api_key(kind: KeyKind) -> GeneratedKey {
    let secret = random_string(BASE62, SECRET_LEN);
    let body = format!("{}{}", kind.prefix(), secret);
    let plaintext = format!("{body}{}", checksum(&body));
    GeneratedKey {
        hash: hash_key(&plaintext),
        display_prefix: format!("{}{}", kind.prefix(), &secret[..DISPLAY_CHARS]),
        plaintext,
    }
}

/// Checks a presented bearer key's shape and checksum and tells its kind.
///
/// `None` means "not a key we could ever have issued"; the caller answers 401 without a lookup.
pub fn parse_api_key(presented: &str) -> Option<KeyKind> {
    // The assistant prefix starts with the admin prefix, so test it first.
    let kind = if presented.starts_with(KeyKind::Assistant.prefix()) {
        KeyKind::Assistant
    } else if presented.starts_with(KeyKind::Admin.prefix()) {
        KeyKind::Admin
    } else {
        return None;
    };
    let rest = &presented[kind.prefix().len()..];
    // `BASE62` is exactly the ASCII letters and digits (a table lookup, not a scan per byte).
    if rest.len() != SECRET_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let (body, sum) = presented.split_at(presented.len() - CHECKSUM_LEN);
    (checksum(body) == sum).then_some(kind)
}

/// Generates a public site key: `psk_` + 32 lowercase alphanumerics (≈165 bits).
pub fn generate_site_key() -> GeneratedKey {
    let secret = random_string(LOWER36, SECRET_LEN);
    let plaintext = format!("psk_{secret}");
    GeneratedKey {
        hash: hash_key(&plaintext),
        display_prefix: plaintext[..4 + DISPLAY_CHARS].to_string(),
        plaintext,
    }
}

/// Whether a presented site key could be one of ours (shape only).
pub fn is_site_key_shaped(presented: &str) -> bool {
    presented.strip_prefix("psk_").is_some_and(|rest| {
        rest.len() == SECRET_LEN
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// The stored form of a key: lowercase hex SHA-256. Keys carry ≥160 random bits, so a fast
/// hash is enough; a slow password hash would only add latency to every request.
pub fn hash_key(plaintext: &str) -> String {
    hex(&Sha256::digest(plaintext.as_bytes()))
}

fn checksum(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    digest[..CHECKSUM_LEN]
        .iter()
        .map(|b| BASE62[*b as usize % BASE62.len()] as char)
        .collect()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_key_round_trips() {
        let k = generate_api_key(KeyKind::Admin);
        assert!(k.plaintext.starts_with("tome_"));
        assert_eq!(parse_api_key(&k.plaintext), Some(KeyKind::Admin));
        assert_eq!(k.hash, hash_key(&k.plaintext));
        assert!(k.plaintext.starts_with(&k.display_prefix));
    }

    #[test]
    fn assistant_key_round_trips() {
        let k = generate_api_key(KeyKind::Assistant);
        assert!(k.plaintext.starts_with("tome_dsc_"));
        assert_eq!(parse_api_key(&k.plaintext), Some(KeyKind::Assistant));
    }

    #[test]
    fn typo_fails_checksum() {
        let k = generate_api_key(KeyKind::Admin).plaintext;
        let mut chars: Vec<char> = k.chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(parse_api_key(&typo), None);
        assert_eq!(parse_api_key("tome_short"), None);
        assert_eq!(parse_api_key("mint_abc"), None);
    }

    #[test]
    fn site_keys_are_shaped() {
        let k = generate_site_key();
        assert!(is_site_key_shaped(&k.plaintext));
        assert_eq!(k.display_prefix.len(), 12);
        assert!(!is_site_key_shaped(
            &k.plaintext.to_uppercase().replace("PSK_", "psk_")
        ));
        assert!(!is_site_key_shaped("psk_abc"));
    }

    #[test]
    fn a_key_of_other_characters_is_refused() {
        let k = generate_api_key(KeyKind::Admin);
        let mut bad = k.plaintext.clone();
        bad.replace_range(10..11, "-");
        assert_eq!(parse_api_key(&bad), None);
        let mut bad = k.plaintext.clone();
        bad.replace_range(10..11, "é");
        assert_eq!(parse_api_key(&bad), None);
    }

    #[test]
    fn the_stored_hash_is_lowercase_hex_sha256() {
        // FIPS 180-2's "abc" vector.
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
