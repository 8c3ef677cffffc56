//! Git sources against a real git server (`git daemon` and smart HTTP on 127.0.0.1).

use std::time::{Duration, Instant};

use tome_sync::git::{
    self, GitErrorKind, GitOptions, Remote, TreeLimits, changed_files, read_tree,
};
use tome_sync::testing::{GitServer, WorkRepo};

fn opts() -> GitOptions {
    GitOptions {
        allow_private: true,
        ..GitOptions::default()
    }
}

fn remote(url: String) -> Remote {
    Remote {
        url,
        branch: None,
        token: None,
    }
}

fn sample(repo: &WorkRepo) -> String {
    repo.write("index.md", "# Home\n")
        .write("guide/start.md", "# Start\n")
        .write(".github/workflows/ci.yml", "on: push\n");
    repo.commit("Add the docs\n\nA longer description\nover two lines.")
}

#[tokio::test]
async fn fetches_over_git_and_http() {
    let server = GitServer::start().await;
    let repo = server.create_repo("docs");
    let sha = sample(&repo);
    repo.push();

    for url in [server.git_url("docs"), server.http_url("docs")] {
        let work = tempfile::tempdir().expect("tmp");
        let dir = work.path().join("source.git");
        let before = server.http_requests();
        let fetched = git::fetch(&dir, &remote(url.clone()), &opts())
            .await
            .expect(&url);
        let first_requests = server.http_requests() - before;
        assert_eq!(fetched.sha, sha, "{url}");
        assert_eq!(fetched.branch, "main");
        assert_eq!(fetched.ref_name, "refs/heads/main");
        assert_eq!(
            fetched.message,
            "Add the docs\n\nA longer description\nover two lines."
        );
        assert_eq!(fetched.author, "Test Author <author@example.com>");

        let tree = read_tree(&dir, &sha, "", &TreeLimits::default(), &opts())
            .await
            .expect("tree");
        let paths: Vec<&str> = tree.files.files.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            ["guide/start.md", "index.md"],
            "hidden files are left out"
        );
        assert_eq!(tree.files.text("index.md"), Some("# Home\n"));

        // The same commit again: same answer, and over HTTP only the listing (no transfer).
        let before = server.http_requests();
        let again = git::fetch(&dir, &remote(url.clone()), &opts())
            .await
            .expect("again");
        assert_eq!(again, fetched);
        if url.starts_with("http") {
            let listing = server.http_requests() - before;
            assert!(listing <= 2, "{listing} requests for an unchanged branch");
            assert!(
                first_requests > listing,
                "{first_requests} requests for the first fetch"
            );
        }
    }
}

#[tokio::test]
async fn host_name_is_pinned_and_still_works() {
    // `localhost` goes through resolution and `http.curloptResolve`.
    let server = GitServer::start().await;
    let repo = server.create_repo("docs");
    let sha = sample(&repo);
    repo.push();
    let url = format!("http://localhost:{}/docs.git", server.http_addr().port());
    let work = tempfile::tempdir().expect("tmp");
    let fetched = git::fetch(work.path(), &remote(url), &opts())
        .await
        .expect("fetch");
    assert_eq!(fetched.sha, sha);
}

#[tokio::test]
async fn resolves_the_default_branch() {
    let server = GitServer::start().await;
    let mut repo = server.create_repo("docs");
    repo.write("a.md", "main\n");
    let main_sha = repo.commit("on main");
    repo.push();
    repo.switch_branch("trunk");
    repo.write("a.md", "trunk\n");
    let trunk_sha = repo.commit("on trunk");
    repo.push();
    repo.set_default_branch("trunk");

    let work = tempfile::tempdir().expect("tmp");
    let fetched = git::fetch(work.path(), &remote(server.git_url("docs")), &opts())
        .await
        .expect("default");
    assert_eq!(
        (fetched.branch.as_str(), fetched.sha.as_str()),
        ("trunk", trunk_sha.as_str())
    );
    assert_eq!(fetched.ref_name, "refs/heads/trunk");

    let named = Remote {
        branch: Some("main".into()),
        ..remote(server.http_url("docs"))
    };
    let fetched = git::fetch(work.path(), &named, &opts())
        .await
        .expect("main");
    assert_eq!(
        (fetched.branch.as_str(), fetched.sha.as_str()),
        ("main", main_sha.as_str())
    );

    let missing = Remote {
        branch: Some("nope".into()),
        ..remote(server.git_url("docs"))
    };
    let err = git::fetch(work.path(), &missing, &opts())
        .await
        .expect_err("no such branch");
    assert_eq!(err.kind, GitErrorKind::NotFound);
    assert!(err.message.contains("branch `nope` not found"), "{err}");

    let err = git::fetch(work.path(), &remote(server.git_url("absent")), &opts())
        .await
        .expect_err("no such repository");
    assert_eq!(err.kind, GitErrorKind::NotFound, "{err}");

    let empty = server.create_repo("empty");
    drop(empty);
    let err = git::fetch(work.path(), &remote(server.http_url("empty")), &opts())
        .await
        .expect_err("empty repository");
    assert!(err.message.contains("no commits"), "{err}");
}

/// Objects in the work copy (loose and packed).
fn object_count(dir: &std::path::Path) -> u64 {
    let out = std::process::Command::new("git")
        .env("GIT_DIR", dir)
        .args(["count-objects", "-v"])
        .output()
        .expect("count-objects");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| *k == "count" || *k == "in-pack")
        .map(|(_, v)| v.trim().parse::<u64>().expect("number"))
        .sum()
}

#[tokio::test]
async fn later_fetches_are_incremental() {
    let server = GitServer::start().await;
    let repo = server.create_repo("docs");
    for i in 0..300 {
        repo.write(
            &format!("pages/p{i:03}.md"),
            format!("# Page {i}\n\n{}\n", "text ".repeat(i)),
        );
    }
    repo.commit("300 pages");
    repo.push();
    let work = tempfile::tempdir().expect("tmp");
    let first = git::fetch(work.path(), &remote(server.http_url("docs")), &opts())
        .await
        .expect("first");
    let before = object_count(work.path());
    assert!(before >= 302, "the first fetch has every object ({before})");

    repo.write("pages/p007.md", "# Page 7, edited\n");
    let sha = repo.commit("edit one page");
    repo.push();
    let second = git::fetch(work.path(), &remote(server.http_url("docs")), &opts())
        .await
        .expect("second");
    assert_eq!(second.sha, sha);
    let added = object_count(work.path()) - before;
    // The new commit, its root tree, the `pages` tree and one blob.
    assert!(added <= 5, "the second fetch transferred {added} objects");

    let changes = changed_files(work.path(), Some(&first.sha), &second.sha, "", &opts())
        .await
        .expect("diff");
    assert_eq!(changes.files.modified, ["pages/p007.md"]);
    assert!(changes.files.added.is_empty() && changes.files.removed.is_empty());
    assert_eq!(changes.all_added, None);
}

#[tokio::test]
async fn changed_files_are_exact_under_the_source_folder() {
    let server = GitServer::start().await;
    let repo = server.create_repo("docs");
    repo.write("docs/a.md", "a\n")
        .write("docs/b.md", "b\n")
        .write("docs/c.md", "c\n")
        .write("docs/sub/d.md", "d\n")
        .write("docs/.hidden/x.md", "x\n")
        .write("README.md", "readme\n");
    let old = repo.commit("first");
    repo.write("docs/a.md", "a, edited\n")
        .rename("docs/b.md", "docs/sub/b2.md")
        .delete("docs/c.md")
        .write("docs/new.md", "new\n")
        .write("docs/.draft.md", "hidden\n")
        .write("docs/.hidden/x.md", "x, edited\n")
        .write("README.md", "readme, edited\n");
    let new = repo.commit("second");
    repo.push();
    let work = tempfile::tempdir().expect("tmp");
    // The old commit is fetched first (force-pushed back), then the new one.
    repo.git(&[
        "push",
        "--quiet",
        "--force",
        &repo.bare_dir().to_string_lossy(),
        &format!("{old}:refs/heads/main"),
    ]);
    git::fetch(work.path(), &remote(server.git_url("docs")), &opts())
        .await
        .expect("old");
    repo.push();
    git::fetch(work.path(), &remote(server.git_url("docs")), &opts())
        .await
        .expect("new");

    let changes = changed_files(work.path(), Some(&old), &new, "docs", &opts())
        .await
        .expect("diff");
    assert_eq!(changes.files.added, ["new.md", "sub/b2.md"]);
    assert_eq!(changes.files.modified, ["a.md"]);
    assert_eq!(changes.files.removed, ["b.md", "c.md"]);
    assert_eq!(changes.all_added, None);

    let root = changed_files(work.path(), Some(&old), &new, "/", &opts())
        .await
        .expect("root");
    assert_eq!(root.files.modified, ["README.md", "docs/a.md"]);
    assert_eq!(root.files.added, ["docs/new.md", "docs/sub/b2.md"]);

    let first = changed_files(work.path(), None, &new, "docs/", &opts())
        .await
        .expect("first");
    assert_eq!(
        first.files.added,
        ["a.md", "new.md", "sub/b2.md", "sub/d.md"]
    );
    assert!(
        first
            .all_added
            .as_deref()
            .is_some_and(|s| s.contains("first update"))
    );

    let gone = "0123456789abcdef0123456789abcdef01234567";
    let lost = changed_files(work.path(), Some(gone), &new, "docs", &opts())
        .await
        .expect("lost");
    assert_eq!(lost.files.added, first.files.added);
    assert!(
        lost.all_added
            .as_deref()
            .is_some_and(|s| s.contains("0123456789ab")),
        "{lost:?}"
    );

    // read_tree agrees with changed_files about what a file is.
    let tree = read_tree(work.path(), &new, "docs", &TreeLimits::default(), &opts())
        .await
        .expect("tree");
    let paths: Vec<&str> = tree.files.files.keys().map(String::as_str).collect();
    assert_eq!(paths, first.files.added);

    let err = read_tree(work.path(), &new, "nope", &TreeLimits::default(), &opts())
        .await
        .expect_err("missing");
    assert_eq!(err.kind, GitErrorKind::NotFound);
    assert!(err.message.contains("`nope` does not exist"), "{err}");
    let err = read_tree(
        work.path(),
        &new,
        "README.md",
        &TreeLimits::default(),
        &opts(),
    )
    .await
    .expect_err("file");
    assert!(err.message.contains("not a folder"), "{err}");
    let err = read_tree(work.path(), &new, "../etc", &TreeLimits::default(), &opts())
        .await
        .expect_err("escape");
    assert!(err.message.contains(".."), "{err}");
    let err = changed_files(work.path(), Some("--output=/tmp/x"), &new, "", &opts())
        .await
        .expect_err("option");
    assert!(err.message.contains("not a commit id"), "{err}");
}

#[tokio::test]
async fn read_tree_enforces_limits_and_skips_links() {
    let server = GitServer::start().await;
    let repo = server.create_repo("big");
    for i in 0..10_001 {
        repo.write(&format!("many/f{i:05}.md"), format!("{i}\n"));
    }
    repo.write("ok/page.md", "fine\n");
    repo.write("ok/.hidden-big.bin", vec![b'x'; 1_500_000]);
    repo.write("large/huge.md", vec![b'y'; 1_500_000]);
    std::os::unix::fs::symlink("page.md", repo.dir().join("ok/link.md")).expect("symlink");
    let sha = repo.commit("big");
    repo.push();
    let work = tempfile::tempdir().expect("tmp");
    git::fetch(work.path(), &remote(server.git_url("big")), &opts())
        .await
        .expect("fetch");

    let limits = TreeLimits::default();
    let err = read_tree(work.path(), &sha, "many", &limits, &opts())
        .await
        .expect_err("too many");
    assert_eq!(err.kind, GitErrorKind::TooLarge);
    assert!(
        err.message.contains("10001 files") && err.message.contains("10000"),
        "{err}"
    );

    let err = read_tree(work.path(), &sha, "large", &limits, &opts())
        .await
        .expect_err("too big");
    assert_eq!(err.kind, GitErrorKind::TooLarge);
    assert!(
        err.message.contains("huge.md") && err.message.contains("1500000 bytes"),
        "{err}"
    );

    let ok = read_tree(work.path(), &sha, "ok", &limits, &opts())
        .await
        .expect("ok folder");
    assert_eq!(ok.files.files.keys().collect::<Vec<_>>(), ["page.md"]);
    assert!(
        ok.skipped
            .iter()
            .any(|s| s.contains("link.md") && s.contains("symbolic link")),
        "{:?}",
        ok.skipped
    );

    let small = TreeLimits {
        max_total_bytes: 1_000,
        ..TreeLimits::default()
    };
    let err = read_tree(
        work.path(),
        &sha,
        "many",
        &TreeLimits {
            max_files: 20_000,
            ..small
        },
        &opts(),
    )
    .await
    .expect_err("total");
    assert!(err.message.contains("add up to"), "{err}");
}

#[tokio::test]
async fn token_auth_over_http() {
    let server = GitServer::start().await;
    let repo = server.create_repo("private");
    let sha = sample(&repo);
    repo.push();
    let token = "ghp_s3cr3tT0kenValue1234567890";
    server.require_token(Some(token));
    let work = tempfile::tempdir().expect("tmp");

    let with = Remote {
        token: Some(token.into()),
        ..remote(server.http_url("private"))
    };
    assert_eq!(
        git::fetch(work.path(), &with, &opts())
            .await
            .expect("token")
            .sha,
        sha
    );
    assert!(
        !format!("{with:?}").contains(token),
        "Debug hides the token"
    );

    let err = git::fetch(work.path(), &remote(server.http_url("private")), &opts())
        .await
        .expect_err("no token");
    assert_eq!(err.kind, GitErrorKind::Auth, "{err}");
    assert!(err.message.contains("authentication failed"), "{err}");

    let wrong_token = "ghp_wrongWRONGwrong0987654321";
    let wrong = Remote {
        token: Some(wrong_token.into()),
        ..remote(server.http_url("private"))
    };
    let err = git::fetch(work.path(), &wrong, &opts())
        .await
        .expect_err("wrong token");
    assert_eq!(err.kind, GitErrorKind::Auth, "{err}");
    use base64::Engine as _;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{wrong_token}"));
    assert!(
        !err.message.contains(wrong_token) && !err.message.contains(&encoded),
        "{err}"
    );

    // A token is for HTTPS only.
    let err = git::fetch(
        work.path(),
        &Remote {
            token: Some(token.into()),
            ..remote(server.git_url("private"))
        },
        &opts(),
    )
    .await
    .expect_err("git:// with a token");
    assert!(
        err.message.contains("only used with https") && !err.message.contains(token),
        "{err}"
    );
}

#[tokio::test]
async fn refuses_private_hosts_credentials_and_schemes() {
    let strict = GitOptions::default();
    let work = tempfile::tempdir().expect("tmp");
    for url in [
        "git://127.0.0.1:9418/docs.git",
        "https://localhost/docs.git",
        "ssh://git@[::1]/docs.git",
        "https://169.254.169.254/latest.git",
        "https://[::ffff:10.0.0.1]/x.git",
    ] {
        let err = git::fetch(work.path(), &remote(url.into()), &strict)
            .await
            .expect_err(url);
        assert_eq!(err.kind, GitErrorKind::Refused, "{url}: {err}");
        assert!(err.message.contains("private"), "{url}: {err}");
    }
    let err = git::fetch(
        work.path(),
        &remote("http://example.com/docs.git".into()),
        &strict,
    )
    .await
    .expect_err("plain http");
    assert!(
        err.message
            .contains("http:// repository URLs are not allowed"),
        "{err}"
    );

    let err = git::fetch(
        work.path(),
        &remote("https://alice:hunter2@github.com/o/r.git".into()),
        &opts(),
    )
    .await
    .expect_err("credentials");
    assert_eq!(err.kind, GitErrorKind::InvalidUrl);
    assert!(
        err.message.contains("credentials embedded") && err.message.contains("token"),
        "{err}"
    );
    assert!(!err.message.contains("hunter2"), "{err}");

    for url in [
        "ftp://example.com/x.git",
        "ext::sh -c touch% /tmp/pwned",
        "github.com:o/r.git",
    ] {
        let err = git::fetch(work.path(), &remote(url.into()), &opts())
            .await
            .expect_err(url);
        assert!(
            matches!(err.kind, GitErrorKind::Refused | GitErrorKind::InvalidUrl),
            "{url}: {err}"
        );
    }
    // Nothing was created for refused URLs.
    assert!(!work.path().join("HEAD").exists());
}

#[tokio::test]
async fn file_urls_need_allow_local() {
    let server = GitServer::start().await;
    let repo = server.create_repo("local");
    let sha = sample(&repo);
    repo.push();
    let url = format!("file://{}", repo.bare_dir().display());
    let work = tempfile::tempdir().expect("tmp");
    let err = git::fetch(work.path(), &remote(url.clone()), &opts())
        .await
        .expect_err("file://");
    assert_eq!(err.kind, GitErrorKind::Refused);
    assert!(err.message.contains("file://"), "{err}");

    let local = GitOptions {
        allow_local: true,
        ..opts()
    };
    assert_eq!(
        git::fetch(work.path(), &remote(url), &local)
            .await
            .expect("local")
            .sha,
        sha
    );
}

#[tokio::test]
async fn fetch_times_out() {
    // A server that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let quick = GitOptions {
        fetch_timeout: Duration::from_secs(1),
        ..opts()
    };
    for url in [
        format!("git://127.0.0.1:{port}/x.git"),
        format!("http://127.0.0.1:{port}/x.git"),
    ] {
        let work = tempfile::tempdir().expect("tmp");
        let started = Instant::now();
        let err = git::fetch(work.path(), &remote(url.clone()), &quick)
            .await
            .expect_err(&url);
        assert_eq!(err.kind, GitErrorKind::Timeout, "{url}: {err}");
        assert!(err.message.contains("fetch timed out after 1 s"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{url} took {:?}",
            started.elapsed()
        );
    }
    hold.abort();
}

#[tokio::test]
async fn redirects_are_rechecked() {
    let server = GitServer::start().await;
    let repo = server.create_repo("new-home");
    let sha = sample(&repo);
    repo.push();
    let work = tempfile::tempdir().expect("tmp");

    // Followed within the rules: a moved repository on the same server.
    server.redirect("old-home", "/new-home.git");
    let fetched = git::fetch(work.path(), &remote(server.http_url("old-home")), &opts())
        .await
        .expect("followed");
    assert_eq!(fetched.sha, sha);

    // To a private address without allow_private: refused, naming the target. (The first hop is
    // itself private here, so the check is on the redirect target by re-running with a public
    // name that the test cannot serve; instead, check a scheme the rules refuse.)
    server.redirect("to-ftp", "ftp://files.example.com/x.git");
    let err = git::fetch(work.path(), &remote(server.http_url("to-ftp")), &opts())
        .await
        .expect_err("ftp");
    assert_eq!(err.kind, GitErrorKind::Refused, "{err}");
    assert!(
        err.message
            .contains("redirected to ftp://files.example.com/x.git/info/refs"),
        "{err}"
    );

    // Not a repository URL.
    server.redirect("to-page", "/login?next=");
    let err = git::fetch(work.path(), &remote(server.http_url("to-page")), &opts())
        .await
        .expect_err("login page");
    assert_eq!(err.kind, GitErrorKind::Redirect, "{err}");
    assert!(
        err.message.contains("redirected to") && err.message.contains("/login"),
        "{err}"
    );

    // A loop.
    server.redirect("loop", "/loop.git");
    let err = git::fetch(work.path(), &remote(server.http_url("loop")), &opts())
        .await
        .expect_err("loop");
    assert!(err.message.contains("more than 5 redirects"), "{err}");

    // With a token, never to another host.
    server.redirect(
        "moved",
        &format!(
            "http://localhost:{}/new-home.git",
            server.http_addr().port()
        ),
    );
    let with_token = Remote {
        token: Some("tok-abcdef-123456".into()),
        ..remote(server.http_url("moved"))
    };
    let err = git::fetch(work.path(), &with_token, &opts())
        .await
        .expect_err("cross-host with token");
    assert_eq!(err.kind, GitErrorKind::Redirect, "{err}");
    assert!(
        err.message.contains("another host") && !err.message.contains("tok-abcdef"),
        "{err}"
    );
    // Without a token the same redirect is followed.
    let fetched = git::fetch(work.path(), &remote(server.http_url("moved")), &opts())
        .await
        .expect("cross-host without token");
    assert_eq!(fetched.sha, sha);
}

#[tokio::test]
async fn work_copy_is_recreated_and_size_limited() {
    let server = GitServer::start().await;
    let repo = server.create_repo("docs");
    let sha = sample(&repo);
    repo.push();
    let work = tempfile::tempdir().expect("tmp");
    let dir = work.path().join("w.git");
    git::fetch(&dir, &remote(server.git_url("docs")), &opts())
        .await
        .expect("first");

    // Broken beyond use: re-created.
    std::fs::write(dir.join("HEAD"), "garbage").expect("break HEAD");
    assert_eq!(
        git::fetch(&dir, &remote(server.git_url("docs")), &opts())
            .await
            .expect("recreated")
            .sha,
        sha
    );
    // Its object store emptied: the fetch still gets everything.
    std::fs::remove_dir_all(dir.join("objects")).expect("break objects");
    std::fs::create_dir_all(dir.join("objects")).expect("objects");
    assert_eq!(
        git::fetch(&dir, &remote(server.git_url("docs")), &opts())
            .await
            .expect("refetched")
            .sha,
        sha
    );

    let tiny = GitOptions {
        max_repo_bytes: 100,
        ..opts()
    };
    let err = git::fetch(&dir, &remote(server.git_url("docs")), &tiny)
        .await
        .expect_err("too big");
    assert_eq!(err.kind, GitErrorKind::TooLarge);
    assert!(
        err.message
            .contains("over this server's limit of 100 bytes"),
        "{err}"
    );
}

#[tokio::test]
async fn http_server_takes_gzip_request_bodies() {
    // Forty branches make a negotiation over 1 KiB, which git sends gzip-compressed.
    let server = GitServer::start().await;
    let repo = server.create_repo("branches");
    let sha = sample(&repo);
    for i in 0..40 {
        repo.git(&["branch", &format!("topic/number-{i:02}")]);
    }
    repo.git(&[
        "push",
        "--quiet",
        &repo.bare_dir().to_string_lossy(),
        "refs/heads/*:refs/heads/*",
    ]);
    let client = tempfile::tempdir().expect("tmp");
    let out = std::process::Command::new("git")
        .args(["init", "--quiet", "--bare"])
        .arg(client.path())
        .output()
        .expect("init");
    assert!(out.status.success());
    // Asynchronously: the servers run on this test's (single-threaded) runtime.
    let out = tokio::process::Command::new("git")
        .env("GIT_DIR", client.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args([
            "fetch",
            "--quiet",
            &server.http_url("branches"),
            "refs/heads/*:refs/heads/*",
        ])
        .kill_on_drop(true)
        .output()
        .await
        .expect("fetch");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(server.gzip_requests() > 0, "no gzip request was made");
    let out = std::process::Command::new("git")
        .env("GIT_DIR", client.path())
        .args(["rev-parse", "refs/heads/topic/number-39"])
        .output()
        .expect("rev-parse");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), sha);
}

#[tokio::test]
async fn ssh_fails_without_prompting() {
    // Nothing listens on the port: ssh (BatchMode) fails at once instead of asking anything.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let work = tempfile::tempdir().expect("tmp");
    let url = format!("ssh://git@127.0.0.1:{port}/docs.git");
    let started = Instant::now();
    let err = git::fetch(work.path(), &remote(url), &opts())
        .await
        .expect_err("no ssh server");
    assert_eq!(err.kind, GitErrorKind::Network, "{err}");
    assert!(err.message.contains("ssh://git@127.0.0.1"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_missing_git_program_is_a_clear_error() {
    let broken = GitOptions {
        git_program: "/nonexistent/git".into(),
        ..opts()
    };
    let err = git::check_git(&broken).await.expect_err("no git");
    assert_eq!(err.kind, GitErrorKind::Internal);
    assert!(
        err.message
            .contains("could not run the git program (/nonexistent/git)"),
        "{err}"
    );
    let version = git::check_git(&opts()).await.expect("git");
    assert!(version.starts_with("git version "), "{version}");
}

#[tokio::test]
async fn a_large_transfer_is_stopped() {
    // 24 MB that does not compress; the limit is 1 MB.
    let server = GitServer::start().await;
    let repo = server.create_repo("huge");
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for part in 0..12 {
        let bytes: Vec<u8> = (0..2_000_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        repo.write(&format!("blob{part}.bin"), bytes);
    }
    repo.commit("big");
    repo.push();
    let work = tempfile::tempdir().expect("tmp");
    let limited = GitOptions {
        max_repo_bytes: 1024 * 1024,
        ..opts()
    };
    let err = git::fetch(work.path(), &remote(server.git_url("huge")), &limited)
        .await
        .expect_err("too big");
    assert_eq!(err.kind, GitErrorKind::TooLarge, "{err}");
    assert!(
        err.message.contains("over this server's limit of 1.0 MiB"),
        "{err}"
    );
}
