//! Running the `git` program: a clean environment, configuration through `GIT_CONFIG_*`
//! variables (never on the command line, where `ps` shows it), the whole process group killed
//! when the caller gives up, and secrets scrubbed from everything it prints.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;

use base64::Engine as _;
use tokio::process::{Child, Command};

use super::{GitError, GitErrorKind, GitOptions};

/// Variables passed through from the server's own environment: finding programs, ssh keys and
/// agents, proxies and CA bundles the operator configured. Everything else (`GIT_DIR`,
/// `GIT_SSH_COMMAND`, `GIT_ASKPASS`, `SSH_ASKPASS`, `GIT_CONFIG_*`, …) is dropped.
const PASS_THROUGH: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    "SSH_AUTH_SOCK",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
];

/// Settings every git process gets; none of them can come from a user or system config file
/// (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`).
const BASE_CONFIG: &[(&str, &str)] = &[
    // The work copy only grows between updates; the lead's planner diffs against the previous
    // commit, which an automatic gc could prune. It is derived data: re-created when too big.
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
    ("credential.helper", ""),
    ("fetch.recurseSubmodules", "false"),
    ("http.followRedirects", "false"),
    // Only the scheme of the remote at hand is allowed (added per call); `ext::` and friends never.
    ("protocol.allow", "never"),
];

/// Secrets that must never leave this module in a string: the token, the `user:token` pair and
/// its base64 form (what the `Authorization` header carries).
#[derive(Clone, Default)]
pub(super) struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    pub(super) fn new(token: Option<&str>) -> Self {
        let mut secrets = Vec::new();
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            let pair = format!("x-access-token:{token}");
            secrets.push(base64::engine::general_purpose::STANDARD.encode(&pair));
            secrets.push(pair);
            secrets.push(token.to_owned());
        }
        // Longest first, so the base64 form is not half-replaced by a shorter secret.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Scrubber { secrets }
    }

    pub(super) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
}

/// The `http.extraHeader` value for an HTTPS token (GitHub, GitLab, Gitea and Bitbucket all take
/// a token as the password of Basic auth; `x-access-token` is GitHub's conventional user name).
pub(super) fn auth_header(token: &str) -> String {
    let pair = format!("x-access-token:{token}");
    format!(
        "Authorization: Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// The program to start: a bare name (`git`) is looked up on the server's `PATH` (which the
/// child gets too) once per name. Given a path, the standard library starts the child with
/// `posix_spawn` (`vfork`-like); given a bare name and an environment of its own that sets
/// `PATH`, it has to `fork` the whole server first — a copy of its page tables, milliseconds
/// for a large server — to search that `PATH` in the child. A name not found is returned as
/// it is, so starting it fails as it always did.
fn program_path(program: &Path) -> PathBuf {
    static FOUND: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());
    if program.components().count() != 1 || program.is_absolute() {
        return program.to_path_buf();
    }
    let mut found = FOUND.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, path)) = found.iter().find(|(name, _)| name == program) {
        return path.clone();
    }
    let on_path = std::env::var_os("PATH").and_then(|dirs| {
        std::env::split_paths(&dirs)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(program))
            .find(|candidate| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::metadata(candidate)
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
    });
    match on_path {
        Some(path) => {
            found.push((program.to_path_buf(), path.clone()));
            path
        }
        None => program.to_path_buf(),
    }
}

/// One git invocation being put together.
pub(super) struct Git {
    cmd: Command,
    config: Vec<(String, String)>,
    what: String,
}

impl Git {
    /// `git <args>` on the repository `git_dir` (None: no repository, e.g. `init`).
    pub(super) fn new(opts: &GitOptions, git_dir: Option<&Path>, what: &str) -> Self {
        let mut cmd = Command::new(program_path(&opts.git_program));
        cmd.env_clear();
        for name in PASS_THROUGH {
            if let Some(value) = std::env::var_os(name) {
                cmd.env(name, value);
            }
        }
        cmd.env("LC_ALL", "C")
            .env("LANG", "C")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_PROTOCOL_FROM_USER", "0")
            .env("GIT_LITERAL_PATHSPECS", "1")
            .env("GIT_NO_REPLACE_OBJECTS", "1")
            .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
        if let Some(dir) = git_dir {
            cmd.env("GIT_DIR", dir);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group, so a timeout also ends the remote helpers and ssh it spawned.
            .process_group(0);
        let config = BASE_CONFIG
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Git {
            cmd,
            config,
            what: what.to_owned(),
        }
    }

    pub(super) fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.cmd.arg(arg);
        self
    }

    pub(super) fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(
        &mut self,
        args: I,
    ) -> &mut Self {
        self.cmd.args(args);
        self
    }

    pub(super) fn env(&mut self, key: &str, value: impl AsRef<OsStr>) -> &mut Self {
        self.cmd.env(key, value);
        self
    }

    pub(super) fn config(&mut self, key: &str, value: &str) -> &mut Self {
        self.config.push((key.to_owned(), value.to_owned()));
        self
    }

    pub(super) fn stdin_piped(&mut self) -> &mut Self {
        self.cmd.stdin(Stdio::piped());
        self
    }

    /// Starts the process; the returned guard kills its process group when dropped.
    pub(super) fn spawn(&mut self) -> Result<Running, GitError> {
        self.cmd
            .env("GIT_CONFIG_COUNT", self.config.len().to_string());
        for (i, (key, value)) in self.config.iter().enumerate() {
            self.cmd.env(format!("GIT_CONFIG_KEY_{i}"), key);
            self.cmd.env(format!("GIT_CONFIG_VALUE_{i}"), value);
        }
        let child = self.cmd.spawn().map_err(|e| {
            GitError::new(
                GitErrorKind::Internal,
                format!(
                    "could not run the git program ({}): {e}",
                    self.cmd.as_std().get_program().to_string_lossy()
                ),
            )
        })?;
        let group = child.id().and_then(|id| i32::try_from(id).ok());
        Ok(Running {
            child,
            guard: GroupGuard(group),
            what: self.what.clone(),
        })
    }

    /// Runs to completion and collects stdout and stderr.
    pub(super) async fn output(&mut self) -> Result<Output, GitError> {
        self.spawn()?.output().await
    }
}

/// A running git process.
pub(super) struct Running {
    pub(super) child: Child,
    guard: GroupGuard,
    pub(super) what: String,
}

impl Running {
    pub(super) async fn output(self) -> Result<Output, GitError> {
        let Running {
            child,
            mut guard,
            what,
        } = self;
        let out = child.wait_with_output().await.map_err(|e| {
            GitError::new(GitErrorKind::Internal, format!("git {what} failed: {e}"))
        })?;
        guard.disarm();
        Ok(Output {
            status: out.status,
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            what,
        })
    }

    pub(super) async fn wait(mut self) -> Result<ExitStatus, GitError> {
        let status = self.child.wait().await.map_err(|e| {
            GitError::new(
                GitErrorKind::Internal,
                format!("git {} failed: {e}", self.what),
            )
        })?;
        self.guard.disarm();
        Ok(status)
    }
}

/// Kills a process group on drop (a timed-out or abandoned fetch), unless the process was
/// waited for.
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(rustix::process::Pid::from_raw) {
            // The group may already be gone; nothing to do then.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

/// A finished git process.
pub(super) struct Output {
    pub(super) status: ExitStatus,
    pub(super) stdout: Vec<u8>,
    pub(super) stderr: String,
    pub(super) what: String,
}

impl Output {
    pub(super) fn success(&self) -> bool {
        self.status.success()
    }

    pub(super) fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The error lines git printed (trace lines left out), shortened, with secrets scrubbed.
    pub(super) fn message(&self, scrub: &Scrubber) -> String {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !is_trace_line(l) && !l.trim().is_empty())
            .map(str::trim)
            .collect();
        let mut text = if lines.is_empty() {
            format!("git {} exited with {}", self.what, self.status)
        } else {
            lines.join("; ")
        };
        if text.len() > 600 {
            let mut cut = 600;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        scrub.scrub(&text)
    }

    /// A local command that must succeed.
    pub(super) fn check(self, scrub: &Scrubber) -> Result<Output, GitError> {
        if self.success() {
            Ok(self)
        } else {
            Err(GitError::new(
                GitErrorKind::Internal,
                format!("git {} failed: {}", self.what, self.message(scrub)),
            ))
        }
    }
}

/// `GIT_TRACE_CURL` lines start with a time and a source location: `12:34:56.789012 http.c:123`.
pub(super) fn is_trace_line(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let (Some(time), Some(location)) = (words.next(), words.next()) else {
        return false;
    };
    let b = time.as_bytes();
    b.len() > 9
        && b[2] == b':'
        && b[5] == b':'
        && b[8] == b'.'
        && b.iter()
            .all(|c| c.is_ascii_digit() || *c == b':' || *c == b'.')
        && location.contains(".c:")
}
