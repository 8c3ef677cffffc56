//! The host of `--hosted-url`, on which every path is a help-centre page.

use std::sync::Arc;

/// The authority (`host[:port]`, lowercase) that `--hosted-url` names, if set.
pub fn hosted_authority(hosted_url: Option<&str>) -> Option<Arc<str>> {
    let url = hosted_url?;
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    (!authority.is_empty()).then(|| authority.into())
}

/// Whether a request's authority is the hosted one (`configured` is lowercase, `got` in any
/// case): exact when `--hosted-url` has a port, by host name otherwise (a proxy may or may not
/// pass the default port on).
pub(crate) fn is_hosted_host(configured: &str, got: &str) -> bool {
    if configured.eq_ignore_ascii_case(got) {
        return true;
    }
    let has_port = |a: &str| !a.ends_with(']') && a.rsplit_once(':').is_some();
    !has_port(configured)
        && got
            .rsplit_once(':')
            .is_some_and(|(h, _)| h.eq_ignore_ascii_case(configured))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosted_host_matching() {
        assert_eq!(
            hosted_authority(Some("https://Help.Example.com/")).as_deref(),
            Some("help.example.com")
        );
        assert!(is_hosted_host("help.example.com", "help.example.com"));
        assert!(is_hosted_host("help.example.com", "help.example.com:443"));
        assert!(!is_hosted_host("help.example.com", "api.example.com"));
        assert!(is_hosted_host("localhost:8081", "localhost:8081"));
        assert!(!is_hosted_host("localhost:8081", "localhost:8080"));
    }
}
