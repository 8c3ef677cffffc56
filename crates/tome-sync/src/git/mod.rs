//! Git sources: fetching a branch into a work copy, and reading its files and changes.
//!
//! # Why the `git` program (and not `gix`)
//! Tome runs the `git` program (through `tokio::process`) rather than linking a Rust git
//! implementation such as `gix`:
//! - `git` is the reference implementation: every transport (smart HTTP v0/v2, ssh with the
//!   operator's keys and agent, `git://`), shallow fetches, incremental fetches into a shallow
//!   repository, and every server quirk are handled the way users' own clients handle them.
//! - `gix` with HTTPS transport, shallow support and the blocking/async plumbing adds a large
//!   dependency tree; on a 2-core build machine that compile cost is paid by every contributor.
//! - A separate process is easy to bound: a timeout kills its whole process group, and it has
//!   its own memory, so a pathological repository cannot take the server down with it.
//!
//! The cost is a runtime dependency (`git` ≥ 2.37 for `http.curloptResolve`; Debian's `git`
//! package) and parsing of plumbing output, which is stable by design (`-z` formats).
//!
//! # The work copy
//! One bare repository per source under the data dir ([`fetch`]'s `work`). It is derived data:
//! created with `git init --bare` when missing, deleted and re-created when broken or grown past
//! [`GitOptions::max_repo_bytes`]. The branch is fetched with `--depth 1` and no tags into
//! `refs/tome/fetched`; later fetches are incremental (the server sends only what the previous
//! commits lack) and earlier commits stay, so [`changed_files`] can diff against them. Callers
//! run at most one fetch per work copy at a time (the job runner runs one job per KB).
//!
//! # Security
//! - URLs: `https://`, `ssh://` and `git://`; `http://` only with `allow_private` (plain HTTP is
//!   for servers on the operator's own network); `file://` only with `allow_local`. Credentials
//!   or user names in HTTP(S) URLs are refused: the token goes in [`Remote::token`].
//! - SSRF: the host is resolved once and refused when any address is loopback, private,
//!   link-local, unspecified, CGNAT, multicast or reserved (also in IPv6 forms), unless
//!   `allow_private`; git is pinned to the checked address (see `remote`).
//! - Redirects: git runs with `http.followRedirects=false`. The first request of every fetch
//!   (`ls-remote`) is traced (`GIT_TRACE_CURL`, headers only, git redacts `Authorization`); when it
//!   answers with a redirect to `…/info/refs`, the target is checked like a new URL (scheme,
//!   credentials, SSRF; no downgrade from https to http; with a token, no change of host) and the
//!   fetch continues there, at most [`MAX_REDIRECTS`] times. A redirect anywhere else is an error
//!   naming where it pointed.
//! - The token: only in the environment (`GIT_CONFIG_*` → `http.extraHeader`), never on a
//!   command line; it and its base64 form are scrubbed from every message this module returns.
//! - Environment: cleared except `PATH`, `HOME`, ssh agent, proxies and CA bundles;
//!   `GIT_TERMINAL_PROMPT=0`, no system or global config, no askpass, ssh in `BatchMode`,
//!   `protocol.allow=never` except the remote's scheme, no hooks, literal pathspecs.
//! - Limits: a fetch timeout (the process group is killed); the repository size, watched while
//!   the fetch runs (git itself has no limit on what it receives; the object store is measured
//!   every 200 ms and the fetch killed past the limit) and checked after it (`count-objects`);
//!   the file count and file size of [`read_tree`], before any content is read.
//!
//! Not covered: a proxy from the environment resolves hosts itself (the pin does not apply
//! through it).

mod remote;
mod run;
mod tree;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use tree::{
    ChangedFiles, KnownBlobs, TreeFiles, TreeLimits, changed_files, read_tree, read_tree_with,
};

use remote::{Scheme, Target};
use run::{Git, Scrubber};

/// The ref a fetch writes.
pub const FETCHED_REF: &str = "refs/tome/fetched";
/// Redirects followed (each one re-checked) before giving up.
pub const MAX_REDIRECTS: usize = 5;

/// Oldest git this module accepts: `http.curloptResolve` (the address pin) arrived in 2.37, and an
/// older git would ignore it without a word.
pub const MIN_GIT_VERSION: (u32, u32) = (2, 37);

/// The git programs already found recent enough.
static CHECKED_PROGRAMS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Checks that `opts.git_program` runs and is at least [`MIN_GIT_VERSION`]; returns its version
/// (`git version 2.47.3`). [`fetch`] calls it once per program; call it at start-up to fail early.
pub async fn check_git(opts: &GitOptions) -> Result<String, GitError> {
    let out = Git::new(opts, None, "version")
        .arg("version")
        .output()
        .await?
        .check(&Scrubber::default())?;
    let text = out.stdout_text().trim().to_owned();
    let version = text.strip_prefix("git version ").and_then(|v| {
        let mut parts = v.split(|c: char| !c.is_ascii_digit());
        Some((
            parts.next()?.parse::<u32>().ok()?,
            parts.next()?.parse::<u32>().ok()?,
        ))
    });
    match version {
        Some(v) if v >= MIN_GIT_VERSION => Ok(text),
        _ => Err(GitError::new(
            GitErrorKind::Internal,
            format!(
                "`{text}` is not supported; Tome needs git {}.{} or later",
                MIN_GIT_VERSION.0, MIN_GIT_VERSION.1
            ),
        )),
    }
}

async fn check_git_once(opts: &GitOptions) -> Result<(), GitError> {
    let known = |programs: &Vec<PathBuf>| programs.contains(&opts.git_program);
    if known(&CHECKED_PROGRAMS.lock().unwrap_or_else(|e| e.into_inner())) {
        return Ok(());
    }
    check_git(opts).await?;
    CHECKED_PROGRAMS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(opts.git_program.clone());
    Ok(())
}

/// How fetches run.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// The whole fetch (resolution, negotiation, transfer), default 120 s.
    pub fetch_timeout: Duration,
    /// Allow hosts on loopback, private and link-local addresses, and `http://` URLs
    /// (`--sync-allow-private`; tests).
    pub allow_private: bool,
    /// Allow `file://` URLs (local roots enabled by the operator).
    pub allow_local: bool,
    /// Largest work copy after a fetch (packed and loose objects), default 1 GiB.
    pub max_repo_bytes: u64,
    /// The git program, default `git` from `PATH`.
    pub git_program: PathBuf,
}

impl Default for GitOptions {
    fn default() -> Self {
        GitOptions {
            fetch_timeout: Duration::from_secs(120),
            allow_private: false,
            allow_local: false,
            max_repo_bytes: 1024 * 1024 * 1024,
            git_program: PathBuf::from("git"),
        }
    }
}

/// A repository to fetch.
#[derive(Clone, Default)]
pub struct Remote {
    pub url: String,
    /// None: the remote's default branch (its `HEAD`).
    pub branch: Option<String>,
    /// HTTPS token (sent as Basic auth, user `x-access-token`).
    pub token: Option<String>,
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("url", &remote::shown(&self.url))
            .field("branch", &self.branch)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// What a fetch got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The branch tip's commit id.
    pub sha: String,
    /// `refs/heads/<branch>`.
    pub ref_name: String,
    pub branch: String,
    /// The full commit message.
    pub message: String,
    /// `Name <email>`.
    pub author: String,
}

/// What went wrong, in classes a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitErrorKind {
    /// The URL is malformed, or carries credentials.
    InvalidUrl,
    /// The URL is well-formed but not allowed here (scheme, private address, redirect target).
    Refused,
    /// The server wants credentials, or refused the ones given.
    Auth,
    /// No such repository, branch, commit or folder.
    NotFound,
    /// A redirect that was not followed.
    Redirect,
    /// The fetch took longer than [`GitOptions::fetch_timeout`].
    Timeout,
    /// The host could not be reached, or the transfer failed.
    Network,
    /// A limit was exceeded (repository size, file count, file size).
    TooLarge,
    /// git or the work copy failed in an unexpected way.
    Internal,
}

/// A git failure. The message is safe to show users: it never contains the token.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct GitError {
    pub kind: GitErrorKind,
    pub message: String,
}

impl GitError {
    pub(crate) fn new(kind: GitErrorKind, message: impl Into<String>) -> Self {
        GitError {
            kind,
            message: message.into(),
        }
    }
}

/// Fetches `remote`'s branch into the work copy `work` (see the module docs).
pub async fn fetch(work: &Path, remote: &Remote, opts: &GitOptions) -> Result<Fetched, GitError> {
    fetch_maybe_listed(work, remote, opts, None).await
}

/// [`fetch`] after a [`list_remote`] of the same remote: the branch and tip listed there are
/// fetched without listing the remote again (one connection less for an update that has to
/// fetch after finding the tip changed).
pub async fn fetch_listed(
    work: &Path,
    remote: &Remote,
    opts: &GitOptions,
    listing: Listing,
) -> Result<Fetched, GitError> {
    fetch_maybe_listed(work, remote, opts, Some(listing)).await
}

async fn fetch_maybe_listed(
    work: &Path,
    remote: &Remote,
    opts: &GitOptions,
    listing: Option<Listing>,
) -> Result<Fetched, GitError> {
    let scrub = Scrubber::new(remote.token.as_deref());
    let fetching = fetch_within(work, remote, opts, &scrub, listing);
    match tokio::time::timeout(opts.fetch_timeout, fetching).await {
        Ok(result) => result.map_err(|e| GitError::new(e.kind, scrub.scrub(&e.message))),
        Err(_) => Err(GitError::new(
            GitErrorKind::Timeout,
            format!(
                "fetch timed out after {} ({})",
                show_duration(opts.fetch_timeout),
                remote::shown(&remote.url)
            ),
        )),
    }
}

fn show_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// The remote's branch (the one asked for, or its default) and the commit at its tip, from one
/// listing — the URL checked, redirects followed and re-checked — without touching a work copy.
/// An update to the commit the knowledge base already equals needs nothing more.
pub async fn remote_tip(
    remote: &Remote,
    opts: &GitOptions,
) -> Result<(String, Option<String>), GitError> {
    list_remote(remote, opts)
        .await
        .map(|listing| (listing.branch, listing.tip))
}

/// One listing of a remote: its branch and tip (see [`remote_tip`]), and where it was listed
/// (after redirects), for [`fetch_listed`].
#[derive(Debug, Clone)]
pub struct Listing {
    target: remote::Target,
    /// The branch asked for, or the remote's default.
    pub branch: String,
    /// The commit at its tip; None for an empty default branch.
    pub tip: Option<String>,
}

/// [`remote_tip`], keeping what [`fetch_listed`] needs to fetch without listing again.
pub async fn list_remote(remote: &Remote, opts: &GitOptions) -> Result<Listing, GitError> {
    let scrub = Scrubber::new(remote.token.as_deref());
    let listing = async {
        check_git_once(opts).await?;
        if let Some(branch) = &remote.branch {
            check_branch_name(branch)?;
        }
        list(remote, opts, &scrub).await
    };
    match tokio::time::timeout(opts.fetch_timeout, listing).await {
        Ok(result) => result
            .map(|(target, branch, tip)| Listing {
                target,
                branch,
                tip,
            })
            .map_err(|e| GitError::new(e.kind, scrub.scrub(&e.message))),
        Err(_) => Err(GitError::new(
            GitErrorKind::Timeout,
            format!(
                "listing the remote timed out after {} ({})",
                show_duration(opts.fetch_timeout),
                remote::shown(&remote.url)
            ),
        )),
    }
}

/// Author (`Name <email>`) and message of a commit in the work copy.
pub async fn commit_of(
    work: &Path,
    sha: &str,
    opts: &GitOptions,
) -> Result<(String, String), GitError> {
    check_object_id(sha)?;
    commit_info(work, sha, opts, &Scrubber::new(None)).await
}

/// Checks the URL and lists the branch, following (re-checked) redirects of the first request.
async fn list(
    remote: &Remote,
    opts: &GitOptions,
    scrub: &Scrubber,
) -> Result<(remote::Target, String, Option<String>), GitError> {
    let token = remote.token.as_deref().filter(|t| !t.is_empty());
    let mut target = remote::check(&remote.url, opts).await?;
    if token.is_some() && !target.parsed.scheme.is_http() {
        return Err(GitError::new(
            GitErrorKind::InvalidUrl,
            format!(
                "a token is only used with https:// URLs, not {}",
                target.display
            ),
        ));
    }
    let mut hops = 0;
    loop {
        match ls_remote(&target, remote.branch.as_deref(), token, opts, scrub).await? {
            Listed::Branch(branch, tip) => return Ok((target, branch, tip)),
            Listed::Redirect(location) => {
                hops += 1;
                target = follow_redirect(&target, &location, token.is_some(), hops, opts).await?;
            }
        }
    }
}

async fn fetch_within(
    work: &Path,
    remote: &Remote,
    opts: &GitOptions,
    scrub: &Scrubber,
    listing: Option<Listing>,
) -> Result<Fetched, GitError> {
    let token = remote.token.as_deref().filter(|t| !t.is_empty());
    check_git_once(opts).await?;
    if let Some(branch) = &remote.branch {
        check_branch_name(branch)?;
    }
    let (target, branch, tip) = match listing {
        Some(l) => (l.target, l.branch, l.tip),
        None => list(remote, opts, scrub).await?,
    };

    let mut fresh = ensure_work_copy(work, opts, scrub).await?;
    // The tip is already here (no change since the last update, or a commit seen before): no
    // transfer at all, which makes an update without changes cheaper than a bare `git fetch`.
    let mut have_tip = match &tip {
        Some(tip) if !fresh => has_commit(work, tip, opts).await?,
        _ => false,
    };
    if let (true, Some(tip)) = (have_tip, &tip) {
        Git::new(opts, Some(work), "update-ref")
            .args(["update-ref", "--no-deref", FETCHED_REF, tip])
            .output()
            .await?
            .check(scrub)?;
    }
    loop {
        if !have_tip {
            match fetch_branch(work, &target, &branch, token, opts, scrub).await {
                Ok(()) => {}
                Err(e)
                    if !fresh
                        && matches!(e.kind, GitErrorKind::Internal | GitErrorKind::TooLarge) =>
                {
                    // Broken, or big with earlier commits: a fresh copy may do.
                    tracing::warn!(error = %e.message, "re-creating the git work copy");
                    recreate_work_copy(work, opts, scrub).await?;
                    fresh = true;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        let size = repo_size(work, opts, scrub).await?;
        if size <= opts.max_repo_bytes {
            break;
        }
        if !fresh {
            // Earlier commits made it big; a fresh shallow copy may fit.
            tracing::info!(size, "git work copy over its size limit; re-creating it");
            recreate_work_copy(work, opts, scrub).await?;
            fresh = true;
            have_tip = false;
            continue;
        }
        return Err(GitError::new(
            GitErrorKind::TooLarge,
            format!(
                "the repository is {} (one commit, compressed), over this server's limit of {}",
                show_bytes(size),
                show_bytes(opts.max_repo_bytes)
            ),
        ));
    }
    let sha = Git::new(opts, Some(work), "rev-parse")
        .args(["rev-parse", "--verify", "--end-of-options"])
        .arg(format!("{FETCHED_REF}^{{commit}}"))
        .output()
        .await?
        .check(scrub)?
        .stdout_text()
        .trim()
        .to_owned();
    let (author, message) = commit_info(work, &sha, opts, scrub).await?;
    Ok(Fetched {
        ref_name: format!("refs/heads/{branch}"),
        sha,
        branch,
        message,
        author,
    })
}

pub(crate) fn show_bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if f >= KIB * KIB * KIB {
        format!("{:.1} GiB", f / (KIB * KIB * KIB))
    } else if f >= KIB * KIB {
        format!("{:.1} MiB", f / (KIB * KIB))
    } else if f >= KIB {
        format!("{:.1} KiB", f / KIB)
    } else {
        format!("{n} bytes")
    }
}

/// Branch names as git accepts them (`git check-ref-format`), checked here so that none can be
/// read as an option or a refspec.
fn check_branch_name(branch: &str) -> Result<(), GitError> {
    let bad = branch.is_empty()
        || branch.len() > 255
        || branch.starts_with('-')
        || branch.starts_with('/')
        || branch.ends_with('/')
        || branch.ends_with('.')
        || branch.ends_with(".lock")
        || branch.contains("..")
        || branch.contains("//")
        || branch.contains("@{")
        || branch == "@"
        || branch.split('/').any(|p| p.starts_with('.'))
        || branch
            .chars()
            .any(|c| c.is_control() || " ~^:?*[\\".contains(c));
    if bad {
        Err(GitError::new(
            GitErrorKind::InvalidUrl,
            format!("`{branch}` is not a valid branch name"),
        ))
    } else {
        Ok(())
    }
}

/// Makes sure `work` is a bare repository; true when it was (re-)created.
async fn ensure_work_copy(
    work: &Path,
    opts: &GitOptions,
    scrub: &Scrubber,
) -> Result<bool, GitError> {
    if work.join("HEAD").is_file() {
        let out = Git::new(opts, Some(work), "rev-parse")
            .args(["rev-parse", "--is-bare-repository"])
            .output()
            .await?;
        if out.success() && out.stdout_text().trim() == "true" {
            return Ok(false);
        }
        tracing::warn!(path = %work.display(), "git work copy is not a usable repository; re-creating it");
    }
    recreate_work_copy(work, opts, scrub).await?;
    Ok(true)
}

async fn recreate_work_copy(
    work: &Path,
    opts: &GitOptions,
    scrub: &Scrubber,
) -> Result<(), GitError> {
    let io = |e: std::io::Error| {
        GitError::new(
            GitErrorKind::Internal,
            format!("could not prepare the git work copy: {e}"),
        )
    };
    match tokio::fs::remove_dir_all(work).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    tokio::fs::create_dir_all(work).await.map_err(io)?;
    Git::new(opts, None, "init")
        .args(["init", "--bare", "--quiet"])
        .arg(work)
        .output()
        .await?
        .check(scrub)?;
    Ok(())
}

/// Settings for talking to `target`.
fn network(git: &mut Git, target: &Target, token: Option<&str>) {
    git.config(
        &format!("protocol.{}.allow", target.parsed.scheme.protocol()),
        "always",
    );
    if let Some(resolve) = &target.curl_resolve {
        git.config("http.curloptResolve", resolve);
    }
    if let Some(alias) = &target.ssh_alias {
        git.env(
            "GIT_SSH_COMMAND",
            format!("ssh -o BatchMode=yes -o HostKeyAlias={alias}"),
        );
    }
    if let Some(token) = token {
        git.config("http.extraHeader", &run::auth_header(token));
    }
}

enum Listed {
    /// The branch and, when the server listed it, its tip.
    Branch(String, Option<String>),
    Redirect(String),
}

/// `git ls-remote`: the default branch (or that the given one exists), or where the server
/// redirected.
async fn ls_remote(
    target: &Target,
    branch: Option<&str>,
    token: Option<&str>,
    opts: &GitOptions,
    scrub: &Scrubber,
) -> Result<Listed, GitError> {
    let mut git = Git::new(opts, None, "ls-remote");
    network(&mut git, target, token);
    if target.parsed.scheme.is_http() {
        git.env("GIT_TRACE_CURL", "1")
            .env("GIT_TRACE_CURL_NO_DATA", "1");
    }
    git.arg("ls-remote");
    match branch {
        None => git.args(["--symref", &target.git_url, "HEAD"]),
        Some(b) => git.args([target.git_url.as_str(), &format!("refs/heads/{b}")]),
    };
    let out = git.output().await?;
    if target.parsed.scheme.is_http()
        && let Some((status, location)) = redirect_in_trace(&out.stderr)
    {
        return match location {
            Some(location) => Ok(Listed::Redirect(location)),
            None => Err(GitError::new(
                GitErrorKind::Redirect,
                format!(
                    "{} answered with a redirect ({status}) without a location",
                    target.display
                ),
            )),
        };
    }
    if !out.success() {
        return Err(classify(&out.message(scrub), &target.display, "list"));
    }
    let text = out.stdout_text();
    // `<sha> TAB <ref>` lines (and `ref: <target> TAB HEAD` for --symref).
    let tip_of = |name: &str| {
        text.lines().find_map(|l| {
            let (sha, r) = l.split_once('\t')?;
            (r == name && check_object_id(sha).is_ok()).then(|| sha.to_owned())
        })
    };
    match branch {
        Some(b) => {
            let wanted = format!("refs/heads/{b}");
            if let Some(tip) = tip_of(&wanted) {
                Ok(Listed::Branch(b.to_owned(), Some(tip)))
            } else {
                Err(GitError::new(
                    GitErrorKind::NotFound,
                    format!("branch `{b}` not found in {}", target.display),
                ))
            }
        }
        None => {
            let head = text.lines().find_map(|l| {
                l.strip_prefix("ref: ")?
                    .strip_suffix("\tHEAD")?
                    .strip_prefix("refs/heads/")
                    .map(str::to_owned)
            });
            match head {
                Some(b) => {
                    check_branch_name(&b)?;
                    Ok(Listed::Branch(b, tip_of("HEAD")))
                }
                None if text.trim().is_empty() => Err(GitError::new(
                    GitErrorKind::NotFound,
                    format!(
                        "{} has no commits (its default branch is empty)",
                        target.display
                    ),
                )),
                None => Err(GitError::new(
                    GitErrorKind::NotFound,
                    format!(
                        "{} does not name its default branch; set `branch` on the source",
                        target.display
                    ),
                )),
            }
        }
    }
}

/// The last redirect status in a `GIT_TRACE_CURL` log, with its `Location`.
fn redirect_in_trace(stderr: &str) -> Option<(u16, Option<String>)> {
    let mut found = None;
    let mut current: Option<(u16, Option<String>)> = None;
    for line in stderr.lines().filter(|l| run::is_trace_line(l)) {
        let Some(header) = line.split_once("<= Recv header: ").map(|(_, h)| h.trim()) else {
            continue;
        };
        if header.starts_with("HTTP/") {
            if let Some(done) = current.take() {
                found = Some(done);
            }
            let status = header
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse::<u16>().ok());
            current = status.filter(|s| (300..400).contains(s)).map(|s| (s, None));
        } else if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("location")
            && let Some((_, loc)) = current.as_mut()
        {
            *loc = Some(value.trim().to_owned());
        }
    }
    current.or(found)
}

/// Checks a redirect's target like a new URL and returns where to fetch from.
async fn follow_redirect(
    from: &Target,
    location: &str,
    has_token: bool,
    hops: usize,
    opts: &GitOptions,
) -> Result<Target, GitError> {
    let refused = |why: &str| {
        GitError::new(
            GitErrorKind::Redirect,
            format!(
                "{} redirected to {}; {why}",
                from.display,
                remote::shown(location)
            ),
        )
    };
    if hops > MAX_REDIRECTS {
        return Err(refused(&format!(
            "more than {MAX_REDIRECTS} redirects, not followed"
        )));
    }
    let Some(absolute) = remote::resolve_location(&from.parsed, location) else {
        return Err(refused("not a URL that can be followed"));
    };
    let Some(base) = absolute
        .split_once('?')
        .map_or(absolute.as_str(), |(p, _)| p)
        .strip_suffix("/info/refs")
    else {
        return Err(refused(
            "not a git repository URL (expected …/info/refs), not followed",
        ));
    };
    let next = remote::check(base, opts).await.map_err(|e| {
        GitError::new(
            e.kind,
            format!(
                "{} redirected to {}, which is refused: {}",
                from.display,
                remote::shown(location),
                e.message
            ),
        )
    })?;
    if !next.parsed.scheme.is_http() {
        return Err(refused("only http(s) redirects are followed"));
    }
    if from.parsed.scheme == Scheme::Https && next.parsed.scheme != Scheme::Https {
        return Err(refused("a redirect from https to http is not followed"));
    }
    if has_token
        && (next.parsed.host != from.parsed.host
            || next.parsed.port_or_default() != from.parsed.port_or_default())
    {
        return Err(refused(
            "another host; the token is not sent there (point the source at the new URL)",
        ));
    }
    tracing::info!(from = %from.display, to = %next.display, "following a repository redirect");
    Ok(next)
}

async fn fetch_branch(
    work: &Path,
    target: &Target,
    branch: &str,
    token: Option<&str>,
    opts: &GitOptions,
    scrub: &Scrubber,
) -> Result<(), GitError> {
    let mut git = Git::new(opts, Some(work), "fetch");
    network(&mut git, target, token);
    git.args([
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        "--no-auto-gc",
        "--depth=1",
        target.git_url.as_str(),
    ])
    .arg(format!("+refs/heads/{branch}:{FETCHED_REF}"));
    let running = git.spawn()?;
    // git has no limit on what a fetch receives; the object store is watched while it runs and
    // the fetch stopped (its process group killed) once it passes the limit.
    let out = tokio::select! {
        out = running.output() => out?,
        size = watch_size(work, opts.max_repo_bytes) => {
            return Err(GitError::new(
                GitErrorKind::TooLarge,
                format!(
                    "the repository is over this server's limit of {} (the fetch was stopped after {})",
                    show_bytes(opts.max_repo_bytes),
                    show_bytes(size)
                ),
            ));
        }
    };
    if out.success() {
        Ok(())
    } else {
        Err(classify(&out.message(scrub), &target.display, "fetch"))
    }
}

/// Returns once the object store of `work` holds more than `limit` bytes (never otherwise).
async fn watch_size(work: &Path, limit: u64) -> u64 {
    let objects = work.join("objects");
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        let dir = objects.clone();
        let size = tokio::task::spawn_blocking(move || dir_size(&dir, 2))
            .await
            .unwrap_or(0);
        if size > limit {
            return size;
        }
    }
}

/// Bytes of the files in `dir`, down to `depth` levels (`objects/pack/*`, `objects/ab/*`).
fn dir_size(dir: &Path, depth: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_file() => entry.metadata().map(|m| m.len()).unwrap_or(0),
            Ok(t) if t.is_dir() && depth > 1 => dir_size(&entry.path(), depth - 1),
            _ => 0,
        })
        .sum()
}

/// Turns git's complaint into an error class. Local breakage (a corrupt work copy) is
/// `Internal`, so the caller re-creates the work copy and tries once more.
fn classify(message: &str, url: &str, step: &str) -> GitError {
    let m = message.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    let kind = if has(&[
        "returned error: 401",
        "returned error: 403",
        "authentication failed",
        "could not read username",
        "could not read password",
        "terminal prompts disabled",
        "permission denied (publickey",
        "host key verification failed",
    ]) {
        GitErrorKind::Auth
    } else if has(&[
        "returned error: 404",
        "repository not found",
        "not found",
        "does not appear to be a git repository",
        "not exported",
        "no such repository",
        "couldn't find remote ref",
    ]) {
        GitErrorKind::NotFound
    } else if has(&["returned error: 30", "redirect"]) {
        GitErrorKind::Redirect
    } else if has(&[
        "corrupt",
        "bad object",
        "not a git repository",
        "shallow file",
        "unable to read",
        "missing object",
        "loose object",
        "index file",
        "cannot lock ref",
    ]) {
        GitErrorKind::Internal
    } else {
        GitErrorKind::Network
    };
    let text = match kind {
        GitErrorKind::Auth => format!(
            "authentication failed for {url}: the server asked for credentials or refused the token ({message})"
        ),
        GitErrorKind::NotFound => format!("repository or branch not found at {url} ({message})"),
        GitErrorKind::Redirect => {
            format!("{url} answered with a redirect that was not followed ({message})")
        }
        _ => format!("git {step} from {url} failed: {message}"),
    };
    GitError::new(kind, text)
}

/// Whether the work copy has the commit `sha` (with its tree: a shallow fetch brings both).
async fn has_commit(work: &Path, sha: &str, opts: &GitOptions) -> Result<bool, GitError> {
    let out = Git::new(opts, Some(work), "cat-file")
        .args(["cat-file", "-e", &format!("{sha}^{{tree}}")])
        .output()
        .await?;
    Ok(out.success())
}

/// Bytes of packed and loose objects (`git count-objects -v`, which reports KiB).
async fn repo_size(work: &Path, opts: &GitOptions, scrub: &Scrubber) -> Result<u64, GitError> {
    let out = Git::new(opts, Some(work), "count-objects")
        .args(["count-objects", "-v"])
        .output()
        .await?
        .check(scrub)?;
    let text = out.stdout_text();
    let mut kib = 0u64;
    for line in text.lines() {
        if let Some((key, value)) = line.split_once(": ")
            && (key == "size" || key == "size-pack")
        {
            kib += value.trim().parse::<u64>().unwrap_or(0);
        }
    }
    Ok(kib * 1024)
}

/// The author (`Name <email>`) and full message of a commit.
async fn commit_info(
    work: &Path,
    sha: &str,
    opts: &GitOptions,
    scrub: &Scrubber,
) -> Result<(String, String), GitError> {
    let out = Git::new(opts, Some(work), "cat-file")
        .args(["cat-file", "commit", sha])
        .output()
        .await?
        .check(scrub)?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (headers, message) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
    let author = headers
        .lines()
        .find_map(|l| l.strip_prefix("author "))
        .map(|a| match a.rfind('>') {
            Some(end) => a[..=end].to_owned(),
            None => a.to_owned(),
        })
        .unwrap_or_default();
    Ok((author, message.trim_end_matches('\n').to_owned()))
}

/// Checks that `s` is a full or abbreviated hexadecimal object id (so it cannot be read as an
/// option or a revision expression).
pub(crate) fn check_object_id(s: &str) -> Result<(), GitError> {
    if (4..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(GitError::new(
            GitErrorKind::InvalidUrl,
            format!("`{s}` is not a commit id"),
        ))
    }
}

/// Makes sure `commit` — the commit a knowledge base was last made equal to — is in the work
/// copy, fetching it by ID (`--depth=1`) when it is not, so that [`changed_files`] can compare
/// with it. It is missing when another node of a cluster ran the previous update, or when the
/// work copy was re-created. Best effort: `Ok(false)` when the remote does not send it (a
/// force-pushed commit that is gone, a server that only serves advertised refs, a redirect),
/// and the caller counts every file as added. Same checks as [`fetch`] (URL, SSRF, timeout;
/// the token only in the environment and scrubbed from errors).
pub async fn fetch_commit(
    work: &Path,
    remote: &Remote,
    commit: &str,
    opts: &GitOptions,
) -> Result<bool, GitError> {
    check_object_id(commit)?;
    if has_commit(work, commit, opts).await? {
        return Ok(true);
    }
    let scrub = Scrubber::new(remote.token.as_deref());
    let token = remote.token.as_deref().filter(|t| !t.is_empty());
    let attempt = async {
        let target = remote::check(&remote.url, opts).await?;
        let mut git = Git::new(opts, Some(work), "fetch");
        network(&mut git, &target, token);
        git.args([
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--no-auto-gc",
            "--depth=1",
            target.git_url.as_str(),
            commit,
        ]);
        let out = git.output().await?;
        if !out.success() {
            tracing::info!(
                commit,
                error = %scrub.scrub(&out.message(&scrub)),
                "the previous commit could not be fetched"
            );
            return Ok(false);
        }
        has_commit(work, commit, opts).await
    };
    match tokio::time::timeout(opts.fetch_timeout, attempt).await {
        Ok(result) => result.map_err(|e: GitError| GitError::new(e.kind, scrub.scrub(&e.message))),
        Err(_) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_redirects() {
        let trace = "\
12:00:00.000001 http.c:700              => Send header: GET /a.git/info/refs?service=git-upload-pack HTTP/1.1
12:00:00.000002 http.c:700              <= Recv header: HTTP/1.1 301 Moved Permanently
12:00:00.000003 http.c:700              <= Recv header: Location: /b.git/info/refs?service=git-upload-pack
12:00:00.000004 http.c:700              <= Recv header: Content-Length: 0
fatal: unable to access 'http://x/a.git/': The requested URL returned error: 301
";
        assert_eq!(
            redirect_in_trace(trace),
            Some((
                301,
                Some("/b.git/info/refs?service=git-upload-pack".to_owned())
            ))
        );
        let ok = "12:00:00.000002 http.c:700              <= Recv header: HTTP/1.1 200 OK\n";
        assert_eq!(redirect_in_trace(ok), None);
    }

    #[tokio::test]
    async fn redirect_targets_are_checked_like_new_urls() {
        let strict = GitOptions::default();
        let from = remote::check("https://140.82.121.3/o/r.git", &strict)
            .await
            .expect("an address literal needs no DNS");
        let to_private = "https://127.0.0.1/o/r.git/info/refs?service=git-upload-pack";
        let err = follow_redirect(&from, to_private, false, 1, &strict)
            .await
            .expect_err("private");
        assert_eq!(err.kind, GitErrorKind::Refused);
        assert!(
            err.message.contains("redirected to https://127.0.0.1/")
                && err.message.contains("private"),
            "{err}"
        );

        let to_metadata = "http://169.254.169.254/latest/info/refs";
        let lax = GitOptions {
            allow_private: true,
            ..GitOptions::default()
        };
        let err = follow_redirect(&from, to_metadata, false, 1, &lax)
            .await
            .expect_err("downgrade");
        assert!(err.message.contains("from https to http"), "{err}");

        let elsewhere = "https://140.82.121.4/o/r.git/info/refs";
        let next = follow_redirect(&from, elsewhere, false, 1, &strict)
            .await
            .expect("public");
        assert_eq!(next.display, "https://140.82.121.4/o/r.git");
        assert_eq!(
            next.curl_resolve.as_deref(),
            Some("140.82.121.4:443:140.82.121.4")
        );
        let err = follow_redirect(&from, elsewhere, true, 1, &strict)
            .await
            .expect_err("token to another host");
        assert!(err.message.contains("another host"), "{err}");
        let err = follow_redirect(&from, elsewhere, false, MAX_REDIRECTS + 1, &strict)
            .await
            .expect_err("too many");
        assert!(err.message.contains("more than 5 redirects"), "{err}");
    }

    #[test]
    fn scrubs_the_token_and_its_encodings() {
        let token = "ghp_abc123";
        let scrub = Scrubber::new(Some(token));
        let header = run::auth_header(token);
        let text = format!("failed: {header}; token {token}; pair x-access-token:{token}");
        let clean = scrub.scrub(&text);
        assert!(
            !clean.contains(token)
                && !clean.contains(header.trim_start_matches("Authorization: Basic ")),
            "{clean}"
        );
        assert_eq!(
            clean,
            "failed: Authorization: Basic ***; token ***; pair ***"
        );
    }

    #[test]
    fn branch_names() {
        for good in ["main", "release/1.0", "docs-v2"] {
            assert!(check_branch_name(good).is_ok(), "{good}");
        }
        for bad in [
            "", "-x", "a..b", "a b", "x:y", "x.lock", "@{-1}", ".hidden", "a/",
        ] {
            assert!(check_branch_name(bad).is_err(), "{bad}");
        }
    }
}
