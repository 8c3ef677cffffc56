//! Docs-as-code: a knowledge base's source (a git repository or a server folder) and the update
//! jobs that make the knowledge base equal to it.
//!
//! Update timestamps use the docs-platform convention (ISO 8601 UTC with milliseconds and `Z`,
//! see [`crate::time::iso_millis`]), not the `/v1/kb` one.

use serde::{Deserialize, Serialize};

use crate::patch::Patch;
use crate::validate::{self as v, Result, ValidationError};

/// Where a source's files come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Git,
    /// A folder on the server; only when the operator enables local roots.
    Folder,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Git => "git",
            SourceKind::Folder => "folder",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "git" => Some(SourceKind::Git),
            "folder" => Some(SourceKind::Folder),
            _ => None,
        }
    }
}

/// How a source's files map to content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// `mintlify` when the source folder has `docs.json` or `mint.json`, else `tome`.
    Auto,
    /// The layout `tome export` writes.
    Tome,
    /// A Mintlify docs repository.
    Mintlify,
}

impl SourceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Auto => "auto",
            SourceFormat::Tome => "tome",
            SourceFormat::Mintlify => "mintlify",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(SourceFormat::Auto),
            "tome" => Some(SourceFormat::Tome),
            "mintlify" => Some(SourceFormat::Mintlify),
            _ => None,
        }
    }
}

/// A validated source as a client sets it (`PUT /v1/kb/{kb_id}/source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSource {
    pub kind: SourceKind,
    pub url: String,
    /// `None`: the remote's default branch.
    pub branch: Option<String>,
    /// Sub-folder of the repository, `""` for the root; normalised (no leading or trailing `/`,
    /// no `.` or `..` parts).
    pub path: String,
    pub format: SourceFormat,
    /// HTTPS token; write-only.
    pub token: Option<String>,
    /// Push-webhook secret; write-only.
    pub webhook_secret: Option<String>,
    /// `None`: no polling.
    pub poll_interval_minutes: Option<i64>,
}

/// A knowledge base's source as stored (secrets only as "is set").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub kb_id: String,
    pub project_id: String,
    pub kind: SourceKind,
    pub url: String,
    pub branch: Option<String>,
    pub path: String,
    pub format: SourceFormat,
    pub has_token: bool,
    pub has_webhook_secret: bool,
    pub poll_interval_minutes: Option<i64>,
    /// The commit the content was last made equal to.
    pub last_commit: Option<String>,
    /// Wire timestamp (`YYYY-MM-DD HH:MM:SS`) of the last successful update.
    pub last_synced_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A source's write-only values, for the job runner and the webhook only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceSecrets {
    pub token: Option<String>,
    pub webhook_secret: Option<String>,
}

/// `queued` → `in_progress` → `success` | `failure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatus {
    Queued,
    InProgress,
    Success,
    Failure,
}

impl UpdateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStatus::Queued => "queued",
            UpdateStatus::InProgress => "in_progress",
            UpdateStatus::Success => "success",
            UpdateStatus::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(UpdateStatus::Queued),
            "in_progress" => Some(UpdateStatus::InProgress),
            "success" => Some(UpdateStatus::Success),
            "failure" => Some(UpdateStatus::Failure),
            _ => None,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, UpdateStatus::Success | UpdateStatus::Failure)
    }
}

/// What triggered an update (the spec's `source` enum; Tome never uses
/// `github-app-installation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateTrigger {
    #[serde(rename = "api")]
    Api,
    #[serde(rename = "dashboard")]
    Dashboard,
    /// A signed push webhook (GitHub, Gitea, Forgejo, GitLab).
    #[serde(rename = "github")]
    Webhook,
    /// The CLI (`tome update`) or polling.
    #[serde(rename = "internal")]
    Internal,
}

impl UpdateTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateTrigger::Api => "api",
            UpdateTrigger::Dashboard => "dashboard",
            UpdateTrigger::Webhook => "github",
            UpdateTrigger::Internal => "internal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api" => Some(UpdateTrigger::Api),
            "dashboard" => Some(UpdateTrigger::Dashboard),
            "github" => Some(UpdateTrigger::Webhook),
            "internal" => Some(UpdateTrigger::Internal),
            _ => None,
        }
    }
}

/// Paths (relative to the source folder) that a commit range added, modified and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilesChanged {
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
}

/// The commit an update applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    pub sha: String,
    /// `refs/heads/<branch>`.
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub message: String,
    #[serde(rename = "filesChanged")]
    pub files_changed: FilesChanged,
}

/// Most log lines an update keeps; later lines are replaced by one that says how many were cut.
pub const UPDATE_LOG_MAX: usize = 1_000;

/// One update job (`upd_…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateJob {
    pub id: String,
    pub project_id: String,
    pub kb_id: String,
    /// The KB's slug when the job was queued (the spec's `subdomain`).
    pub kb_slug: String,
    pub status: UpdateStatus,
    pub trigger: UpdateTrigger,
    /// One line; empty until the job ends.
    pub summary: String,
    pub logs: Vec<String>,
    /// ISO 8601 with milliseconds (`2026-01-15T10:30:00.000Z`).
    pub created_at: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    /// The commit's author (`Name <email>`), once fetched.
    pub author: Option<String>,
    pub commit: Option<CommitInfo>,
    /// How many times a node has claimed it (more than 1 after a node died mid-job).
    pub attempts: i64,
}

/// How a job ended, or what it has found out so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateReport {
    pub summary: String,
    pub logs: Vec<String>,
    pub author: Option<String>,
    pub commit: Option<CommitInfo>,
}

// ---------------------------------------------------------------- the source body

/// Longest source URL.
pub const SOURCE_URL_MAX: usize = 2048;
/// Longest branch name.
pub const SOURCE_BRANCH_MAX: usize = 255;
/// Longest sub-folder path.
pub const SOURCE_PATH_MAX: usize = 1024;
/// Longest HTTPS token.
pub const SOURCE_TOKEN_MAX: usize = 1024;
/// Shortest and longest webhook secret.
pub const WEBHOOK_SECRET_MIN: usize = 8;
pub const WEBHOOK_SECRET_MAX: usize = 256;
/// Polling interval bounds, in minutes (one minute to one week).
pub const POLL_MINUTES_RANGE: std::ops::RangeInclusive<i64> = 1..=10_080;

/// Body of `PUT /v1/kb/{kb_id}/source`. A `PUT` sets the whole source; `token` and
/// `webhook_secret` are write-only: omitted, they keep their stored values when the URL stays
/// the same; `null` clears them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    /// `git` (default) or `folder`.
    #[serde(default, rename = "type")]
    pub kind: Patch<String>,
    #[serde(default)]
    pub url: Patch<String>,
    #[serde(default)]
    pub branch: Patch<String>,
    #[serde(default)]
    pub path: Patch<String>,
    /// `auto` (default), `tome` or `mintlify`.
    #[serde(default)]
    pub format: Patch<String>,
    #[serde(default)]
    pub token: Patch<String>,
    #[serde(default)]
    pub webhook_secret: Patch<String>,
    #[serde(default)]
    pub poll_interval_minutes: Patch<i64>,
}

/// A validated source body: the source, and whether omitted secrets keep their stored values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUpdate {
    pub source: NewSource,
    pub keep_token: bool,
    pub keep_webhook_secret: bool,
}

impl SourceInput {
    /// Validates the body. `allow_local`: the operator allows `folder` sources and `file://`.
    pub fn into_new(self, allow_local: bool) -> Result<SourceUpdate> {
        self.into_new_with(allow_local, false)
    }

    /// [`SourceInput::into_new`], where `allow_private` (`--sync-allow-private`: sources on the
    /// operator's own network) also allows plain `http://` URLs and a `token` with them — the
    /// same rule the git fetcher applies, so a URL the fetcher would use is not refused here.
    pub fn into_new_with(self, allow_local: bool, allow_private: bool) -> Result<SourceUpdate> {
        let kind = match self.kind.into_option() {
            None => SourceKind::Git,
            Some(k) => SourceKind::parse(&k)
                .ok_or_else(|| ValidationError::new("type", "must be one of git, folder"))?,
        };
        if kind == SourceKind::Folder && !allow_local {
            return Err(ValidationError::new(
                "type",
                "folder sources are disabled on this server (the operator enables them with \
                 --sync-allow-local)",
            ));
        }
        let url = v::required("url", self.url.into_option())?;
        v::max_len("url", &url, SOURCE_URL_MAX)?;
        let url = match kind {
            SourceKind::Git => git_url(&url, allow_local, allow_private)?,
            SourceKind::Folder => folder_path(&url)?,
        };
        let branch = match self.branch.into_option() {
            None => None,
            Some(b) => Some(branch(&b)?.to_string()),
        };
        let path = match self.path.into_option() {
            None => String::new(),
            Some(p) => sub_folder(&p)?,
        };
        let format = match self.format.into_option() {
            None => SourceFormat::Auto,
            Some(f) => SourceFormat::parse(&f).ok_or_else(|| {
                ValidationError::new("format", "must be one of auto, tome, mintlify")
            })?,
        };
        let keep_token = self.token.is_absent();
        let token = match self.token.into_option() {
            None => None,
            Some(t) => {
                secret("token", &t, 1, SOURCE_TOKEN_MAX)?;
                if !t.bytes().all(|c| c.is_ascii_graphic()) {
                    return Err(bad(
                        "token",
                        "must be printable ASCII without spaces, as tokens are",
                    ));
                }
                let http_ok = allow_private && url.starts_with("http://");
                if kind != SourceKind::Git || !(url.starts_with("https://") || http_ok) {
                    return Err(ValidationError::new(
                        "token",
                        "is only used with https:// URLs",
                    ));
                }
                Some(t)
            }
        };
        let keep_webhook_secret = self.webhook_secret.is_absent();
        let webhook_secret = match self.webhook_secret.into_option() {
            None => None,
            Some(s) => {
                secret("webhook_secret", &s, WEBHOOK_SECRET_MIN, WEBHOOK_SECRET_MAX)?;
                Some(s)
            }
        };
        let poll_interval_minutes = match self.poll_interval_minutes.into_option() {
            None => None,
            Some(m) if POLL_MINUTES_RANGE.contains(&m) => Some(m),
            Some(_) => {
                return Err(ValidationError::new(
                    "poll_interval_minutes",
                    format!(
                        "must be between {} and {} (one week)",
                        POLL_MINUTES_RANGE.start(),
                        POLL_MINUTES_RANGE.end()
                    ),
                ));
            }
        };
        Ok(SourceUpdate {
            source: NewSource {
                kind,
                url,
                branch,
                path,
                format,
                token,
                webhook_secret,
                poll_interval_minutes,
            },
            keep_token,
            keep_webhook_secret,
        })
    }
}

fn bad(field: &str, reason: impl Into<String>) -> ValidationError {
    ValidationError::new(field, reason)
}

/// A repository URL: `https://`, `ssh://` or `git://` (`file://` with local roots), a host, a
/// path, no credentials (a token goes in `token`), no query or fragment.
fn git_url(raw: &str, allow_local: bool, allow_private: bool) -> Result<String> {
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("url", "must not contain spaces or control characters"));
    }
    if !raw.contains("://") && raw.contains(':') && raw.contains('@') {
        return Err(bad(
            "url",
            "must be a URL: write `git@host:org/repo.git` as `ssh://git@host/org/repo.git`",
        ));
    }
    let parsed =
        url::Url::parse(raw).map_err(|e| bad("url", format!("is not a valid URL ({e})")))?;
    match parsed.scheme() {
        "https" | "ssh" | "git" => {}
        // Plain HTTP only for servers on the operator's own network (the fetcher's rule too).
        "http" if allow_private => {}
        "file" if allow_local => {
            if parsed.path().is_empty() || parsed.path() == "/" {
                return Err(bad("url", "must name a folder"));
            }
            return Ok(parsed.to_string());
        }
        "file" => {
            return Err(bad(
                "url",
                "file:// URLs are disabled on this server (the operator enables them with \
                 --sync-allow-local)",
            ));
        }
        "http" => {
            return Err(bad(
                "url",
                "must use https:// (plain http:// would send the token and content unencrypted)",
            ));
        }
        other => {
            return Err(bad(
                "url",
                format!("scheme `{other}` is not allowed: use https://, ssh:// or git://"),
            ));
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("url", "must name a host"));
    }
    if parsed.password().is_some()
        || (parsed.scheme().starts_with("http") && !parsed.username().is_empty())
    {
        return Err(bad(
            "url",
            "must not contain credentials: put an HTTPS token in `token`",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("url", "must not have a query or fragment"));
    }
    if parsed.path().trim_matches('/').is_empty() {
        return Err(bad("url", "must name a repository"));
    }
    Ok(raw.to_string())
}

/// A `folder` source: an absolute path on the server (or a `file://` URL of one).
fn folder_path(raw: &str) -> Result<String> {
    let path = match raw.strip_prefix("file://") {
        Some(rest) => rest,
        None => raw,
    };
    if !path.starts_with('/') {
        return Err(bad("url", "must be an absolute path on the server"));
    }
    if path.chars().any(char::is_control) || path.split('/').any(|p| p == "..") {
        return Err(bad(
            "url",
            "must be an absolute path without `..` or control characters",
        ));
    }
    Ok(path.to_string())
}

/// What a branch may be called: letters, digits, `_`, `+`, `-`, in parts joined by `.` or `/`
/// (so no `..`, `//`, leading or trailing `.` or `/`), not starting with `-` (git would read it
/// as an option), as the OpenAPI document says. A subset
/// of what git allows, without the names that need quoting anywhere.
pub const BRANCH_PATTERN: &str = r"^[A-Za-z0-9_+][A-Za-z0-9_+-]*([./][A-Za-z0-9_+-]+)*$";

/// A sub-folder: parts that start with a letter, digit, `_`, `@`, `+` or `-` (no `.`, `..` or
/// hidden folders) joined by `/`.
pub const PATH_PATTERN: &str = r"^/*([A-Za-z0-9_@+-][A-Za-z0-9._@+ -]*/*)*$";

/// The repository URLs the OpenAPI document describes (the validator takes a few more, e.g. IP
/// hosts): `https://`, `git://` or `ssh://` (with an optional user), a host name whose last label
/// starts with a letter (a URL parser reads a numeric last label as an IPv4 address), an optional
/// port, and a path.
pub const GIT_URL_PATTERN: &str = concat!(
    r"^(https://|git://|ssh://([A-Za-z0-9._-]+@)?)",
    r"([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?",
    r"(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    r"(/[A-Za-z0-9._~-]+)+/?$",
);

/// A branch name ([`BRANCH_PATTERN`], and not ending in `.lock`, which git refuses).
fn branch(b: &str) -> Result<&str> {
    let b = b.strip_prefix("refs/heads/").unwrap_or(b);
    let part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'+' | b'-'))
    };
    let ok = !b.is_empty()
        && !b.starts_with('-')
        && b.len() <= SOURCE_BRANCH_MAX
        && b.split(['.', '/']).all(part)
        && !b.ends_with(".lock");
    if ok {
        Ok(b)
    } else {
        Err(bad(
            "branch",
            format!(
                "must be a branch name of at most {SOURCE_BRANCH_MAX} characters: letters, \
                 digits, `_`, `+`, `-`, in parts joined by `.` or `/`"
            ),
        ))
    }
}

/// A sub-folder of the repository ([`PATH_PATTERN`]): normalised without leading, trailing or
/// doubled `/`.
fn sub_folder(p: &str) -> Result<String> {
    v::max_len("path", p, SOURCE_PATH_MAX)?;
    let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
    if parts.contains(&"..") {
        return Err(bad("path", "must stay inside the repository (no `..`)"));
    }
    let part = |s: &str| {
        let mut bytes = s.bytes();
        let first = bytes
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'@' | b'+' | b'-'));
        first
            && bytes.all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'@' | b'+' | b'-' | b' ')
            })
    };
    if !parts.iter().all(|s| part(s)) {
        return Err(bad(
            "path",
            "must be folder names of letters, digits, `.`, `_`, `@`, `+`, `-` and spaces, not \
             starting with `.`, joined by `/`",
        ));
    }
    Ok(parts.join("/"))
}

fn secret(field: &str, s: &str, min: usize, max: usize) -> Result<()> {
    let n = v::char_len(s);
    if n < min || n > max {
        return Err(bad(
            field,
            format!("must be between {min} and {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(bad(field, "must not contain control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use regex::Regex;
    use serde_json::json;

    use super::*;

    fn input(body: serde_json::Value) -> SourceInput {
        serde_json::from_value(body).expect("shape")
    }

    fn check(body: serde_json::Value) -> std::result::Result<SourceUpdate, String> {
        input(body).into_new(false).map_err(|e| e.field)
    }

    #[test]
    fn a_git_source_is_validated_field_by_field() {
        let ok = check(json!({"url": "https://github.com/acme/docs.git", "branch": "release/1.2",
            "path": "/docs//guides/", "format": "mintlify", "token": "ghp_abc", "webhook_secret": "s3cret-s3cret",
            "poll_interval_minutes": 15}))
        .expect("valid");
        assert_eq!(ok.source.path, "docs/guides");
        assert_eq!(ok.source.branch.as_deref(), Some("release/1.2"));
        assert!(!ok.keep_token && !ok.keep_webhook_secret);
        for (body, field) in [
            (json!({}), "url"),
            (json!({"url": "http://github.com/a/b"}), "url"),
            (json!({"url": "ftp://github.com/a/b"}), "url"),
            (json!({"url": "file:///srv/docs"}), "url"),
            (json!({"url": "https://u:p@github.com/a/b"}), "url"),
            (json!({"url": "https://token@github.com/a/b"}), "url"),
            (json!({"url": "git@github.com:a/b.git"}), "url"),
            (json!({"url": "https://github.com/"}), "url"),
            (
                json!({"url": format!("https://github.com/{}", "a".repeat(2040))}),
                "url",
            ),
            (json!({"url": "git://h/r", "type": "svn"}), "type"),
            (json!({"url": "git://h/r", "type": "folder"}), "type"),
            (json!({"url": "git://h/r", "branch": "a..b"}), "branch"),
            (json!({"url": "git://h/r", "branch": "main.lock"}), "branch"),
            (json!({"url": "git://h/r", "branch": "-x"}), "branch"),
            (json!({"url": "git://h/r", "path": "docs/../.."}), "path"),
            (json!({"url": "git://h/r", "path": ".git"}), "path"),
            (
                json!({"url": "git://h/r", "format": "docusaurus"}),
                "format",
            ),
            (json!({"url": "git://h/r", "token": "t"}), "token"),
            (
                json!({"url": "https://h/r", "token": "with space"}),
                "token",
            ),
            (
                json!({"url": "git://h/r", "webhook_secret": "short"}),
                "webhook_secret",
            ),
            (
                json!({"url": "git://h/r", "poll_interval_minutes": 0}),
                "poll_interval_minutes",
            ),
        ] {
            assert_eq!(check(body.clone()).err().as_deref(), Some(field), "{body}");
        }
        assert!(serde_json::from_value::<SourceInput>(json!({"url": "x", "tokne": "t"})).is_err());
    }

    #[test]
    fn plain_http_needs_private_sources_allowed() {
        let body = json!({"url": "http://10.0.0.5/docs.git", "token": "ghp_abc"});
        assert_eq!(check(body.clone()).err().as_deref(), Some("url"));
        let ok = input(body).into_new_with(false, true).expect("valid");
        assert_eq!(ok.source.url, "http://10.0.0.5/docs.git");
        assert_eq!(ok.source.token.as_deref(), Some("ghp_abc"));
        for (body, field) in [
            (json!({"url": "http://u:p@10.0.0.5/docs.git"}), "url"),
            (json!({"url": "http://u@10.0.0.5/docs.git"}), "url"),
            (
                json!({"url": "git://10.0.0.5/docs.git", "token": "t"}),
                "token",
            ),
        ] {
            let err = input(body.clone()).into_new_with(false, true).err();
            assert_eq!(err.map(|e| e.field).as_deref(), Some(field), "{body}");
        }
    }

    #[test]
    fn the_documented_patterns_say_what_the_validators_say() {
        let branch = Regex::new(BRANCH_PATTERN).expect("regex");
        for b in [
            "main",
            "-x",
            "a/-b",
            "release/1.2",
            "a+b",
            "feature/x-y_z",
            "v1.0.lock",
            "a..b",
            "a//b",
            ".x",
            "x.",
            "/x",
            "a b",
            "é",
        ] {
            assert_eq!(
                branch.is_match(b) && !b.ends_with(".lock"),
                super::branch(b).is_ok(),
                "{b:?}"
            );
        }
        let path = Regex::new(PATH_PATTERN).expect("regex");
        for p in [
            "",
            "docs",
            "/docs/",
            "a//b",
            "my docs/v1.2",
            ".git",
            "a/../b",
            "..",
            ".",
            "a/.b",
            "a\\b",
            "文档",
        ] {
            assert_eq!(path.is_match(p), super::sub_folder(p).is_ok(), "{p:?}");
        }
        // Every URL the pattern describes is accepted; the validator may take more.
        let url = Regex::new(GIT_URL_PATTERN).expect("regex");
        for u in [
            "https://github.com/acme/docs.git",
            "ssh://git@example.com:2222/acme/docs",
            "git://localhost/docs/",
            "https://a.b.c.5/x",
            "https://a.0x1f/x",
            "https://1.2.3.4/x",
            "https://host/",
            "https://user@host/x",
        ] {
            if url.is_match(u) {
                assert!(git_url(u, false, false).is_ok(), "{u:?}");
            }
        }
        assert!(url.is_match("https://n2t.T2wkf5gOjl7.tah600.V.J.LoPw/hz/0"));
        assert!(!url.is_match("https://n2t.tah600.V.J.LoPw.5/hz/0"));
    }
}
