//! Remote URLs: which are allowed, and where they may point (the SSRF rules).
//!
//! A URL is parsed here (not by git) so that what is checked is what git is given: the host is
//! resolved once, every address is checked, and git is pinned to the address that was checked —
//! `http.curloptResolve` for HTTP(S), the address itself in the URL for `git://` and `ssh://`
//! (with `HostKeyAlias` so ssh still checks the host key under the host's name). A DNS answer
//! that changes between the check and the connection (rebinding) therefore cannot redirect git.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{GitError, GitErrorKind, GitOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    Https,
    Http,
    Ssh,
    Git,
    File,
}

impl Scheme {
    /// The name git's `protocol.<name>.allow` uses.
    pub(super) fn protocol(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
            Scheme::Ssh => "ssh",
            Scheme::Git => "git",
            Scheme::File => "file",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Https => 443,
            Scheme::Http => 80,
            Scheme::Ssh => 22,
            Scheme::Git => 9418,
            Scheme::File => 0,
        }
    }

    pub(super) fn is_http(self) -> bool {
        matches!(self, Scheme::Https | Scheme::Http)
    }
}

/// A URL taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ParsedUrl {
    pub(super) scheme: Scheme,
    /// ssh only: the login name.
    pub(super) user: Option<String>,
    /// Without IPv6 brackets; empty for `file://`.
    pub(super) host: String,
    pub(super) port: Option<u16>,
    /// Starts with `/`.
    pub(super) path: String,
}

impl ParsedUrl {
    pub(super) fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(self.scheme.default_port())
    }

    /// `scheme://[user@]host[:port]` with `host` replaced by `host_override` when given.
    fn origin_with(&self, host_override: Option<&str>) -> String {
        let host = host_override.unwrap_or(&self.host);
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let user = self
            .user
            .as_ref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("{}://{user}{host}{port}", self.scheme.protocol())
    }

    pub(super) fn to_url(&self) -> String {
        if self.scheme == Scheme::File {
            return format!("file://{}", self.path);
        }
        format!("{}{}", self.origin_with(None), self.path)
    }
}

fn invalid(url: &str, why: &str) -> GitError {
    GitError::new(
        GitErrorKind::InvalidUrl,
        format!("invalid repository URL {}: {why}", shown(url)),
    )
}

/// A URL as it may appear in a message: whatever sits before an `@` in the authority (possibly
/// a password) is cut out.
pub(super) fn shown(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            return format!("{scheme}://***@{}", &rest[at + 1..]);
        }
    }
    url.to_owned()
}

/// Parses and checks the form of a URL (not where it points).
pub(super) fn parse(url: &str, opts: &GitOptions) -> Result<ParsedUrl, GitError> {
    if url.is_empty() {
        return Err(invalid(url, "it is empty"));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid(url, "it contains spaces or control characters"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(invalid(
            url,
            "write it with a scheme (https://, ssh://, git://); the scp form host:path is not accepted",
        ));
    };
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        "ssh" | "git+ssh" | "ssh+git" => Scheme::Ssh,
        "git" => Scheme::Git,
        "file" => Scheme::File,
        other => {
            return Err(GitError::new(
                GitErrorKind::Refused,
                format!(
                    "repository URL scheme `{other}` is not allowed (use https://, ssh:// or git://)"
                ),
            ));
        }
    };
    if url.contains('#') {
        return Err(invalid(url, "it has a fragment (#…)"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if scheme == Scheme::File {
        if !opts.allow_local {
            return Err(GitError::new(
                GitErrorKind::Refused,
                "file:// repository URLs are not allowed on this server (local roots are disabled)",
            ));
        }
        if !(authority.is_empty() || authority.eq_ignore_ascii_case("localhost")) {
            return Err(invalid(
                url,
                "a file:// URL has no host (file:///path/to/repo)",
            ));
        }
        if path.is_empty() || path.split('/').any(|p| p == "..") {
            return Err(invalid(
                url,
                "a file:// URL needs an absolute path without `..`",
            ));
        }
        return Ok(ParsedUrl {
            scheme,
            user: None,
            host: String::new(),
            port: None,
            path: path.to_owned(),
        });
    }
    if scheme == Scheme::Http && !opts.allow_private {
        return Err(GitError::new(
            GitErrorKind::Refused,
            "http:// repository URLs are not allowed (use https://); plain HTTP is only for servers on a private network",
        ));
    }
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let user = match userinfo {
        None => None,
        Some(info) if info.contains(':') => {
            return Err(GitError::new(
                GitErrorKind::InvalidUrl,
                format!(
                    "repository URL {} has credentials embedded; remove them and set `token` instead",
                    shown(url)
                ),
            ));
        }
        Some(info) if scheme == Scheme::Ssh => {
            if info.is_empty()
                || info.starts_with('-')
                || !info
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            {
                return Err(invalid(
                    url,
                    "the ssh user name has characters that are not allowed",
                ));
            }
            Some(info.to_owned())
        }
        Some(_) => {
            return Err(GitError::new(
                GitErrorKind::InvalidUrl,
                format!(
                    "repository URL {} has a user name embedded; remove it and set `token` instead",
                    shown(url)
                ),
            ));
        }
    };
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let Some((v6, after)) = inner.split_once(']') else {
            return Err(invalid(url, "an IPv6 address needs its closing `]`"));
        };
        if v6.parse::<Ipv6Addr>().is_err() {
            return Err(invalid(url, "the IPv6 address is not valid"));
        }
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| invalid(url, "bad port"))?,
            ),
        };
        (v6.to_owned(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (hostport.to_owned(), None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(invalid(url, "the port is not a number from 1 to 65535")),
        },
    };
    let host = host.to_ascii_lowercase();
    if host.is_empty() {
        return Err(invalid(url, "it has no host"));
    }
    if host.starts_with('-')
        || host.starts_with('.')
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b))
    {
        return Err(invalid(
            url,
            "the host name has characters that are not allowed",
        ));
    }
    if path.len() <= 1 {
        return Err(invalid(url, "it has no repository path"));
    }
    Ok(ParsedUrl {
        scheme,
        user,
        host,
        port,
        path: path.to_owned(),
    })
}

/// A remote checked and ready to hand to git.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) parsed: ParsedUrl,
    /// The URL as it may be shown.
    pub(super) display: String,
    /// The URL git is given (the checked address in place of the host for git:// and ssh://).
    pub(super) git_url: String,
    /// HTTP(S): `host:port:address` for `http.curloptResolve`.
    pub(super) curl_resolve: Option<String>,
    /// ssh: the host name for `HostKeyAlias`.
    pub(super) ssh_alias: Option<String>,
}

/// Parses `url`, resolves its host and refuses private addresses (unless allowed).
pub(super) async fn check(url: &str, opts: &GitOptions) -> Result<Target, GitError> {
    let parsed = parse(url, opts)?;
    let display = parsed.to_url();
    if parsed.scheme == Scheme::File {
        return Ok(Target {
            git_url: display.clone(),
            display,
            parsed,
            curl_resolve: None,
            ssh_alias: None,
        });
    }
    let port = parsed.port_or_default();
    let addrs: Vec<SocketAddr> = match parsed.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((parsed.host.as_str(), port))
            .await
            .map_err(|e| {
                GitError::new(
                    GitErrorKind::Network,
                    format!("could not resolve the host of {display}: {e}"),
                )
            })?
            .collect(),
    };
    let Some(first) = addrs.first().copied() else {
        return Err(GitError::new(
            GitErrorKind::Network,
            format!("the host of {display} has no addresses"),
        ));
    };
    if !opts.allow_private
        && let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip()))
    {
        return Err(GitError::new(
            GitErrorKind::Refused,
            format!(
                "repository host {} resolves to {}, a loopback, private or link-local address; not allowed on this server (the operator can allow it with --sync-allow-private)",
                parsed.host,
                bad.ip()
            ),
        ));
    }
    let ip = first.ip().to_canonical();
    let ip_text = ip.to_string();
    let (git_url, curl_resolve, ssh_alias) = match parsed.scheme {
        Scheme::Https | Scheme::Http => {
            let addr = if ip.is_ipv6() {
                format!("[{ip_text}]")
            } else {
                ip_text.clone()
            };
            (
                display.clone(),
                Some(format!("{}:{port}:{addr}", parsed.host)),
                None,
            )
        }
        Scheme::Git => (
            format!("{}{}", parsed.origin_with(Some(&ip_text)), parsed.path),
            None,
            None,
        ),
        Scheme::Ssh => (
            format!("{}{}", parsed.origin_with(Some(&ip_text)), parsed.path),
            None,
            Some(parsed.host.clone()),
        ),
        Scheme::File => unreachable!("handled above"),
    };
    Ok(Target {
        parsed,
        display,
        git_url,
        curl_resolve,
        ssh_alias,
    })
}

/// Loopback, private, link-local, unspecified, shared (CGNAT), multicast, broadcast and reserved
/// addresses, also when written as IPv6 (mapped, compatible, NAT64, 6to4).
pub(crate) fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), 100.64/10
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let seg = ip.segments();
    // IPv4-compatible (::a.b.c.d, deprecated but still routed by some stacks).
    if seg[..6].iter().all(|s| *s == 0) && !(ip.is_unspecified() || ip.is_loopback()) {
        let [.., a, b, c, d] = ip.octets();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d));
    }
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6].iter().all(|s| *s == 0) {
        let [.., a, b, c, d] = ip.octets();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d));
    }
    if seg[0] == 0x2002 {
        let o = ip.octets();
        return forbidden_v4(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (seg[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
}

/// Where a redirect points, resolved against the URL that answered it. Only an absolute
/// `http(s)` URL or an absolute path is accepted.
pub(super) fn resolve_location(base: &ParsedUrl, location: &str) -> Option<String> {
    if location.contains("://") {
        Some(location.to_owned())
    } else if location.starts_with('/') && !location.starts_with("//") {
        Some(format!("{}{location}", base.origin_with(None)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> GitOptions {
        GitOptions::default()
    }

    #[test]
    fn forbidden_ranges() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "100.127.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
        ] {
            assert!(
                is_forbidden(bad.parse().expect("ip")),
                "{bad} should be refused"
            );
        }
        for good in [
            "140.82.121.3",
            "100.128.0.1",
            "172.32.0.1",
            "2606:50c0:8000::153",
            "8.8.8.8",
        ] {
            assert!(
                !is_forbidden(good.parse().expect("ip")),
                "{good} should be allowed"
            );
        }
    }

    #[test]
    fn url_forms() {
        let p = parse("https://github.com/org/repo.git", &opts()).expect("ok");
        assert_eq!(
            (p.scheme, p.host.as_str(), p.port_or_default()),
            (Scheme::Https, "github.com", 443)
        );
        let p = parse("ssh://git@example.com:2222/org/repo", &opts()).expect("ok");
        assert_eq!((p.user.as_deref(), p.port), (Some("git"), Some(2222)));
        let p = parse("git://[2001:db8::1]:9000/x", &opts()).expect("ok");
        assert_eq!(p.host, "2001:db8::1");
        assert_eq!(p.to_url(), "git://[2001:db8::1]:9000/x");

        let e = parse("https://user:secretpw@github.com/x", &opts()).expect_err("creds");
        assert!(
            e.message.contains("token") && !e.message.contains("secretpw"),
            "{e}"
        );
        assert!(parse("https://user@github.com/x", &opts()).is_err());
        assert!(parse("git@github.com:org/repo.git", &opts()).is_err());
        assert!(parse("ftp://example.com/x", &opts()).is_err());
        assert!(parse("ext::sh -c whoami", &opts()).is_err());
        assert!(parse("ssh://-oProxyCommand=x/y", &opts()).is_err());
        assert!(parse("https://example.com", &opts()).is_err());
        assert!(parse("http://example.com/x", &opts()).is_err());
        assert!(parse("file:///srv/repo", &opts()).is_err());
        let local = GitOptions {
            allow_local: true,
            ..GitOptions::default()
        };
        assert_eq!(
            parse("file:///srv/repo", &local).expect("ok").path,
            "/srv/repo"
        );
    }

    #[test]
    fn locations() {
        let base = parse("https://example.com:8443/a/b.git", &opts()).expect("ok");
        assert_eq!(
            resolve_location(&base, "/c/d.git/info/refs").as_deref(),
            Some("https://example.com:8443/c/d.git/info/refs")
        );
        assert_eq!(resolve_location(&base, "relative"), None);
        assert_eq!(resolve_location(&base, "//evil/x"), None);
    }
}
