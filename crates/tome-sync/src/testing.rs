//! A real git server for tests: `git://` (`git daemon --inetd`, one per connection) and smart
//! HTTP (`git http-backend` behind a small CGI host) on 127.0.0.1, serving bare repositories in a
//! temp directory, and [`WorkRepo`]s that tests edit, commit and push with the `git` program.
//!
//! HTTP can require a token (Basic auth, user `x-access-token`, 401 otherwise) and answer chosen
//! repositories with a redirect. Dropping the [`GitServer`] stops both servers and deletes the
//! repositories; no git process outlives its connection, even when the test process is killed
//! (a listening `git daemon` would be orphaned then, and `git daemon` is a wrapper process whose
//! killing leaves the real daemon running).
//!
//! Start it inside a multi-threaded tokio runtime or keep the runtime free: both servers are
//! tasks of the test's runtime. [`WorkRepo`] methods block (they run `git` and push to the bare
//! repository's path, not through the servers), so a test must not call the `git` program
//! synchronously *against the servers* from a current-thread runtime.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};

/// The author of every test commit.
pub const AUTHOR_NAME: &str = "Test Author";
pub const AUTHOR_EMAIL: &str = "author@example.com";

#[derive(Default)]
struct HttpState {
    token: Option<String>,
    /// Repository name → the URL (without `/info/refs…`) its requests are redirected to.
    redirects: HashMap<String, String>,
    requests: usize,
    gzip_requests: usize,
}

/// See the module docs.
pub struct GitServer {
    root: TempDir,
    git_task: tokio::task::JoinHandle<()>,
    git_port: u16,
    http_addr: SocketAddr,
    http_task: tokio::task::JoinHandle<()>,
    state: Arc<Mutex<HttpState>>,
}

/// A git command with no user or system configuration.
fn git_command() -> Command {
    let mut cmd = Command::new("git");
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C");
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_CONFIG",
        "GIT_CONFIG_COUNT",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs git, panicking with its output when it fails; returns stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_command()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running git {args:?}: {e}"));
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl GitServer {
    /// Starts both servers on free ports of 127.0.0.1.
    pub async fn start() -> GitServer {
        let root = tempfile::tempdir().expect("temp dir");
        let repos = root.path().join("repos");
        std::fs::create_dir_all(&repos).expect("repos dir");
        std::fs::create_dir_all(root.path().join("work")).expect("work dir");

        // git:// — `git daemon --inetd` per connection, behind our own listener: the daemon
        // serves each connection exactly as a listening daemon would, and no process outlives
        // the test (not even when the test process is killed, as each one ends with its socket).
        let git_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the git:// server");
        let git_port = git_listener.local_addr().expect("git:// address").port();
        let git_task = tokio::spawn(serve_git(git_listener, repos.clone()));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the HTTP server");
        let http_addr = listener.local_addr().expect("HTTP address");
        let state = Arc::new(Mutex::new(HttpState::default()));
        let http_task = tokio::spawn(serve_http(listener, repos, state.clone()));
        GitServer {
            root,
            git_task,
            git_port,
            http_addr,
            http_task,
            state,
        }
    }

    /// Where the bare repositories live.
    pub fn repos_dir(&self) -> PathBuf {
        self.root.path().join("repos")
    }

    /// Creates the bare repository `<name>.git` (default branch `main`) and a work tree for it.
    pub fn create_repo(&self, name: &str) -> WorkRepo {
        let bare = self.repos_dir().join(format!("{name}.git"));
        let work = self.root.path().join("work").join(name);
        std::fs::create_dir_all(&bare).expect("bare dir");
        std::fs::create_dir_all(&work).expect("work dir");
        git(
            &bare,
            &["init", "--bare", "--quiet", "--initial-branch=main"],
        );
        git(&work, &["init", "--quiet", "--initial-branch=main"]);
        git(&work, &["config", "user.name", AUTHOR_NAME]);
        git(&work, &["config", "user.email", AUTHOR_EMAIL]);
        git(&work, &["config", "commit.gpgsign", "false"]);
        WorkRepo {
            dir: work,
            bare,
            branch: "main".to_owned(),
        }
    }

    /// `git://127.0.0.1:<port>/<name>.git`
    pub fn git_url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}.git", self.git_port)
    }

    /// `http://127.0.0.1:<port>/<name>.git`
    pub fn http_url(&self, name: &str) -> String {
        format!("http://{}/{name}.git", self.http_addr)
    }

    /// The HTTP server's address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// From now on HTTP requests need `Authorization: Basic base64("x-access-token:" + token)`.
    pub fn require_token(&self, token: Option<&str>) {
        self.lock().token = token.map(str::to_owned);
    }

    /// Answers every HTTP request for `<name>.git/…` with a 301 to `to` + the rest of the path
    /// (`to` is a repository URL or an absolute path such as `/other.git`).
    pub fn redirect(&self, name: &str, to: &str) {
        self.lock().redirects.insert(name.to_owned(), to.to_owned());
    }

    /// HTTP requests whose body came gzip-compressed (git compresses larger negotiations).
    pub fn gzip_requests(&self) -> usize {
        self.lock().gzip_requests
    }

    /// HTTP requests served so far.
    pub fn http_requests(&self) -> usize {
        self.lock().requests
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HttpState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        self.http_task.abort();
        self.git_task.abort();
    }
}

/// A work tree whose commits are pushed to one bare repository of the [`GitServer`].
pub struct WorkRepo {
    dir: PathBuf,
    bare: PathBuf,
    branch: String,
}

impl WorkRepo {
    /// The work tree.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bare repository the pushes go to.
    pub fn bare_dir(&self) -> &Path {
        &self.bare
    }

    /// Writes a file (creating folders).
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) -> &Self {
        let full = self.dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create folders");
        }
        std::fs::write(&full, contents).expect("write file");
        self
    }

    /// Renames a file (`git mv`).
    pub fn rename(&self, from: &str, to: &str) -> &Self {
        if let Some(parent) = self.dir.join(to).parent() {
            std::fs::create_dir_all(parent).expect("create folders");
        }
        git(&self.dir, &["mv", "--", from, to]);
        self
    }

    /// Deletes a file.
    pub fn delete(&self, path: &str) -> &Self {
        std::fs::remove_file(self.dir.join(path)).expect("delete file");
        self
    }

    /// Commits everything in the work tree (author [`AUTHOR_NAME`] <[`AUTHOR_EMAIL`]>);
    /// returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        git(&self.dir, &["add", "--all"]);
        git(
            &self.dir,
            &[
                "commit",
                "--quiet",
                "--allow-empty",
                "--no-verify",
                "-m",
                message,
            ],
        );
        self.head()
    }

    /// The current commit id.
    pub fn head(&self) -> String {
        git(&self.dir, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Pushes the current branch to the bare repository (forced).
    pub fn push(&self) -> &Self {
        let bare = self.bare.to_string_lossy().into_owned();
        let refspec = format!("+HEAD:refs/heads/{}", self.branch);
        git(&self.dir, &["push", "--quiet", &bare, &refspec]);
        self
    }

    /// Switches the work tree to a new branch (pushes then go to it).
    pub fn switch_branch(&mut self, branch: &str) -> &mut Self {
        git(&self.dir, &["switch", "--quiet", "-c", branch]);
        self.branch = branch.to_owned();
        self
    }

    /// Makes `branch` the bare repository's default branch (its `HEAD`).
    pub fn set_default_branch(&self, branch: &str) -> &Self {
        git(
            &self.bare,
            &["symbolic-ref", "HEAD", &format!("refs/heads/{branch}")],
        );
        self
    }

    /// Runs any git command in the work tree; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.dir, args)
    }
}

async fn serve_git(listener: tokio::net::TcpListener, repos: PathBuf) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let repos = repos.clone();
        tokio::spawn(async move {
            let spawned = git_command_async()
                .arg("daemon")
                .arg("--inetd")
                .arg(format!("--base-path={}", repos.display()))
                .args([
                    "--export-all",
                    "--enable=receive-pack",
                    "--informative-errors",
                ])
                .arg(&repos)
                .env("REMOTE_ADDR", peer.ip().to_string())
                .env("REMOTE_PORT", peer.port().to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn();
            let Ok(mut child) = spawned else {
                return;
            };
            let (Some(mut stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take())
            else {
                return;
            };
            let (mut read, mut write) = stream.into_split();
            let upstream = async move {
                let _ = tokio::io::copy(&mut read, &mut stdin).await;
                // Dropping stdin tells the daemon the client is done.
            };
            let downstream = async move {
                let _ = tokio::io::copy(&mut stdout, &mut write).await;
                let _ = write.shutdown().await;
            };
            // The connection is over when the daemon's output ends.
            tokio::select! {
                _ = downstream => {}
                _ = async { upstream.await; std::future::pending::<()>().await } => {}
            }
            let _ = child.wait().await;
        });
    }
}

/// [`git_command`] for tokio.
fn git_command_async() -> tokio::process::Command {
    tokio::process::Command::from(git_command())
}

async fn serve_http(
    listener: tokio::net::TcpListener,
    repos: PathBuf,
    state: Arc<Mutex<HttpState>>,
) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let repos = repos.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let repos = repos.clone();
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(req, peer, &repos, &state).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(text.to_owned())).boxed_unsync());
    *response.status_mut() = status;
    response
}

async fn handle(
    req: Request<Incoming>,
    peer: SocketAddr,
    repos: &Path,
    state: &Mutex<HttpState>,
) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let (token, redirect) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests += 1;
        if req
            .headers()
            .get(hyper::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().ends_with(b"gzip"))
        {
            s.gzip_requests += 1;
        }
        let repo = path
            .trim_start_matches('/')
            .split_once(".git/")
            .map(|(name, _)| name.to_owned());
        let redirect = repo.and_then(|name| {
            let to = s.redirects.get(&name)?;
            let rest = &path[name.len() + ".git".len() + 1..];
            let q = if query.is_empty() {
                String::new()
            } else {
                format!("?{query}")
            };
            Some(format!("{to}{rest}{q}"))
        });
        (s.token.clone(), redirect)
    };
    if let Some(location) = redirect {
        let mut response = plain(StatusCode::MOVED_PERMANENTLY, "moved\n");
        if let Ok(value) = location.parse() {
            response
                .headers_mut()
                .insert(hyper::header::LOCATION, value);
        }
        return response;
    }
    let authorized = match &token {
        None => true,
        Some(token) => {
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"))
            );
            req.headers()
                .get(hyper::header::AUTHORIZATION)
                .is_some_and(|v| v.as_bytes() == expected.as_bytes())
        }
    };
    if !authorized {
        let mut response = plain(StatusCode::UNAUTHORIZED, "authentication required\n");
        response.headers_mut().insert(
            hyper::header::WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Basic realm=\"tome-test\""),
        );
        return response;
    }
    match run_cgi(repos, req, token.is_some(), peer).await {
        Ok(response) => response,
        Err(e) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("git http-backend: {e}\n"),
        ),
    }
}

/// Runs `git http-backend` as a CGI program: the request body streams to its stdin, its stdout
/// (after the CGI headers, `Status:` included) streams back as the response.
async fn run_cgi(
    repos: &Path,
    req: Request<Incoming>,
    authenticated: bool,
    peer: SocketAddr,
) -> std::io::Result<Response<Body>> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", repos)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", req.uri().path())
        .env("QUERY_STRING", req.uri().query().unwrap_or(""))
        .env("REQUEST_METHOD", req.method().as_str())
        .env("REMOTE_ADDR", peer.ip().to_string())
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for (header_name, var) in [
        ("content-type", "CONTENT_TYPE"),
        ("content-length", "CONTENT_LENGTH"),
        // http-backend inflates gzip request bodies itself when told.
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "HTTP_GIT_PROTOCOL"),
    ] {
        if let Some(value) = header(header_name) {
            cmd.env(var, value);
        }
    }
    if authenticated {
        // http-backend allows pushes only for an authenticated user.
        cmd.env("REMOTE_USER", "x-access-token");
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no stdin"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("no stdout"))?;
    let mut body = req.into_body();
    tokio::spawn(async move {
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data()
                && stdin.write_all(&data).await.is_err()
            {
                break;
            }
        }
        // Dropping stdin ends the request body for the CGI program.
    });

    let mut reader = tokio::io::BufReader::new(stdout);
    let (mut sender, channel) = http_body_util::channel::Channel::<Bytes, Infallible>::new(4);
    let mut response = Response::new(channel.boxed_unsync());
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::other(
                "git http-backend ended before its headers",
            ));
        }
        let text = line.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        let Some((name, value)) = text.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u16>().ok());
            if let Some(status) = code.and_then(|c| StatusCode::from_u16(c).ok()) {
                *response.status_mut() = status;
            }
        } else if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.trim().as_bytes()),
            hyper::header::HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sender
                        .send_data(Bytes::copy_from_slice(&buf[..n]))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        let _ = child.wait().await;
    });
    Ok(response)
}
