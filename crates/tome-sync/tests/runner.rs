//! The job runner against a real git server and store (SQLite, or PostgreSQL when
//! `TOME_TEST_DATABASE_URL` is set): an update to the commit the KB already equals ends without
//! reading a file, unless the KB's settings changed since (its slug is in every page link); a tree
//! read takes the files whose blobs it already holds from memory; and a fetch after a listing
//! does not list the remote again.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use tome_core::input::{KbPatch, NewKb};
use tome_core::keys::{self, KeyKind};
use tome_core::model::Theme;
use tome_core::source::{
    NewSource, SourceFormat, SourceKind, UpdateJob, UpdateStatus, UpdateTrigger,
};
use tome_store::testing::TestDb;
use tome_store::{OpenOptions, PageRequest, Store, UpdateClaim};
use tome_sync::git::GitOptions;
use tome_sync::runner::{Runner, RunnerConfig};
use tome_sync::testing::GitServer;

const NAV: &str = r#"{"navigation": {"tabs": [{"tab": "Docs", "groups": [{"group": "Start", "pages": ["index", "guide"]}]}]}}"#;

struct Fixture {
    store: Arc<dyn Store>,
    runner: Arc<Runner>,
    project: String,
    kb: String,
    _work: tempfile::TempDir,
}

async fn fixture(db: &TestDb, url: String) -> Fixture {
    let store = tome_store::open(&db.location(), &OpenOptions::default())
        .await
        .unwrap();
    let project = store
        .bootstrap(&keys::generate_api_key(KeyKind::Admin))
        .await
        .unwrap()
        .unwrap()
        .project
        .id;
    let new = NewKb {
        title: "Docs".into(),
        slug: "docs".into(),
        description: None,
        is_public: true,
        theme: Theme::Minimal,
        theme_settings: None,
        logo_path: None,
    };
    let kb = store
        .create_kb(&project, new, &keys::generate_site_key(), 100)
        .await
        .unwrap()
        .kb
        .id;
    let source = NewSource {
        kind: SourceKind::Git,
        url,
        branch: None,
        path: String::new(),
        format: SourceFormat::Auto,
        token: None,
        webhook_secret: None,
        poll_interval_minutes: None,
    };
    store
        .put_source(&project, &kb, source, false)
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let runner = Runner::new(
        store.clone(),
        RunnerConfig {
            node: "test-node".into(),
            lease: Duration::from_secs(30),
            work_root: work.path().to_path_buf(),
            git: GitOptions {
                allow_private: true,
                ..GitOptions::default()
            },
            allow_local: false,
            page_root: Arc::new(|slug| format!("/hc/{slug}")),
            on_applied: Arc::new(|| {}),
        },
    );
    Fixture {
        store,
        runner,
        project,
        kb,
        _work: work,
    }
}

impl Fixture {
    async fn update(&self) -> UpdateJob {
        let (job, _) = self
            .store
            .enqueue_update(&self.project, &self.kb, UpdateTrigger::Internal)
            .await
            .unwrap();
        let done = self
            .runner
            .run_next(UpdateClaim::Job(&job.id))
            .await
            .unwrap()
            .expect("the job was claimable");
        assert_eq!(done.status, UpdateStatus::Success, "{:#?}", done.logs);
        done
    }

    /// (title, body, updated_at) of every article.
    async fn articles(&self) -> Vec<(String, String, String)> {
        let content = self
            .store
            .kb_content(&self.project, &self.kb)
            .await
            .unwrap();
        let mut out: Vec<_> = content
            .articles
            .into_iter()
            .map(|a| (a.title, a.body, a.updated_at))
            .collect();
        out.sort();
        out
    }
}

fn read_files(job: &UpdateJob) -> bool {
    job.logs.iter().any(|l| l.contains(" files read;"))
}

/// Waits until the wire clock (whole seconds) has moved on, so that "before" and "after" differ.
async fn next_second() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

#[tokio::test]
async fn an_update_to_the_commit_already_applied_reads_nothing() {
    let server = GitServer::start().await;
    let repo = server.create_repo("docs");
    repo.write("docs.json", NAV)
        .write(
            "index.mdx",
            "---\ntitle: Home\n---\nSee [the guide](/guide).\n",
        )
        .write("guide.mdx", "---\ntitle: Guide\n---\nSteps.\n");
    let sha = repo.commit("Docs");
    repo.push();
    let db = TestDb::new();
    let f = fixture(&db, server.git_url("docs")).await;
    next_second().await;

    let first = f.update().await;
    assert!(read_files(&first), "{:#?}", first.logs);
    let after_first = f.articles().await;
    assert_eq!(after_first.len(), 2);
    let home = &after_first[1];
    assert_eq!(home.0, "Home");
    assert!(home.1.contains("](/hc/docs/articles/kba_"), "{}", home.1);
    let items = f.store.source_items(&f.project, &f.kb).await.unwrap();

    // The same commit again: success, no changes, and no file read.
    let again = f.update().await;
    assert!(!read_files(&again), "{:#?}", again.logs);
    assert!(
        again
            .logs
            .iter()
            .any(|l| l.contains("already equals commit")),
        "{:#?}",
        again.logs
    );
    assert!(again.summary.ends_with(": no changes"), "{}", again.summary);
    let commit = again.commit.as_ref().unwrap();
    assert_eq!(commit.sha, sha);
    assert_eq!(commit.message, "Docs");
    assert!(commit.files_changed.added.is_empty() && commit.files_changed.modified.is_empty());
    assert_eq!(f.articles().await, after_first, "nothing touched");
    assert_eq!(
        f.store.source_items(&f.project, &f.kb).await.unwrap(),
        items
    );
    let source = f.store.get_source(&f.project, &f.kb).await.unwrap();
    assert_eq!(source.last_commit.as_deref(), Some(sha.as_str()));

    // The KB's slug changed since: the same commit is read again, and the page link follows.
    next_second().await;
    let patch = KbPatch {
        slug: Some("handbook".into()),
        ..KbPatch::default()
    };
    f.store.update_kb(&f.project, &f.kb, patch).await.unwrap();
    let relinked = f.update().await;
    assert!(read_files(&relinked), "{:#?}", relinked.logs);
    let after = f.articles().await;
    assert!(
        after[1].1.contains("](/hc/handbook/articles/kba_"),
        "{}",
        after[1].1
    );
    assert_eq!(
        after[0], after_first[0],
        "the guide has no link and is untouched"
    );

    // A new commit is read as always.
    next_second().await;
    repo.write("guide.mdx", "---\ntitle: Guide\n---\nMore steps.\n");
    repo.commit("Edit the guide");
    repo.push();
    let edited = f.update().await;
    assert!(read_files(&edited), "{:#?}", edited.logs);
    assert_eq!(
        edited.commit.as_ref().unwrap().files_changed.modified,
        ["guide.mdx"]
    );
    assert!(f.articles().await[0].1.contains("More steps."));
    let listed = f
        .store
        .list_updates(
            &f.project,
            PageRequest {
                limit: 100,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 4);
}

/// Waits (up to 60 s) for a job to end.
async fn ended(f: &Fixture, id: &str) -> UpdateJob {
    for _ in 0..6000 {
        let job = f.store.get_update(&f.project, id).await.unwrap();
        if matches!(job.status, UpdateStatus::Success | UpdateStatus::Failure) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("update {id} did not end");
}

/// A trigger through an idle runner creates its job already claimed by this node and runs it
/// at once, without the runner's loop; one made while that job runs is queued, and the loop
/// runs it afterwards.
#[tokio::test]
async fn an_idle_runner_runs_a_job_as_it_is_queued() {
    let server = GitServer::start().await;
    let repo = server.create_repo("docs");
    repo.write("docs.json", NAV)
        .write("index.mdx", "---\ntitle: Home\n---\nHello.\n")
        .write("guide.mdx", "---\ntitle: Guide\n---\nSteps.\n");
    repo.commit("Docs");
    repo.push();
    let db = TestDb::new();
    let f = fixture(&db, server.git_url("docs")).await;

    let (first, created) = f
        .runner
        .enqueue(&f.project, &f.kb, UpdateTrigger::Api)
        .await
        .unwrap();
    assert!(created);
    assert_eq!(first.status, UpdateStatus::InProgress);
    assert_eq!(first.attempts, 1);
    assert_eq!(first.started_at.as_deref(), Some(first.created_at.as_str()));
    // The job runs: a second trigger queues the next one.
    let (second, created) = f
        .runner
        .enqueue(&f.project, &f.kb, UpdateTrigger::Api)
        .await
        .unwrap();
    assert!(created);
    assert_eq!(second.status, UpdateStatus::Queued);

    let first = ended(&f, &first.id).await;
    assert_eq!(first.status, UpdateStatus::Success, "{:#?}", first.logs);
    assert!(read_files(&first), "{:#?}", first.logs);
    assert_eq!(f.articles().await.len(), 2);
    // Nothing but the loop takes a queued job.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = f.store.get_update(&f.project, &second.id).await.unwrap();
    assert_eq!(waiting.status, UpdateStatus::Queued);

    let running = f.runner.spawn();
    let second = ended(&f, &second.id).await;
    running.abort();
    assert_eq!(second.status, UpdateStatus::Success, "{:#?}", second.logs);
    assert_eq!(second.attempts, 1);
    assert_eq!(f.articles().await.len(), 2);
}

#[tokio::test]
async fn a_tree_read_takes_known_blobs_from_memory() {
    use tome_sync::git::{self, KnownBlobs, Remote, TreeLimits, read_tree, read_tree_with};
    let server = GitServer::start().await;
    let repo = server.create_repo("docs");
    repo.write("a.md", "A\n")
        .write("b.md", "B\n")
        .write("same.md", "B\n");
    repo.commit("Three files");
    repo.push();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("w.git");
    let remote = Remote {
        url: server.git_url("docs"),
        branch: None,
        token: None,
    };
    let opts = GitOptions {
        allow_private: true,
        ..GitOptions::default()
    };
    let first = git::fetch(&dir, &remote, &opts).await.unwrap();
    let limits = TreeLimits::default();
    let old = read_tree(&dir, &first.sha, "", &limits, &opts)
        .await
        .unwrap();
    assert_eq!(old.blobs.len(), 3);
    assert_eq!(
        old.blobs["b.md"], old.blobs["same.md"],
        "same content, same blob"
    );

    repo.write("a.md", "A, edited\n");
    let second = repo.commit("Edit a");
    repo.push();
    git::fetch(&dir, &remote, &opts).await.unwrap();
    let full = read_tree(&dir, &second, "", &limits, &opts).await.unwrap();
    let known: KnownBlobs = old
        .blobs
        .iter()
        .map(|(path, object)| (object.clone(), old.files.files[path].clone()))
        .collect();
    let reused = read_tree_with(&dir, &second, "", &limits, &opts, &known)
        .await
        .unwrap();
    assert_eq!(reused.files.files, full.files.files);
    assert_eq!(reused.blobs, full.blobs);
    assert_eq!(reused.files.text("a.md"), Some("A, edited\n"));

    // Known blobs are taken as they are, not read: a (deliberately wrong) known content shows
    // that only the new blob came from git.
    let mut marked = known.clone();
    marked.insert(old.blobs["b.md"].clone(), b"from memory\n".to_vec());
    let taken = read_tree_with(&dir, &second, "", &limits, &opts, &marked)
        .await
        .unwrap();
    assert_eq!(taken.files.text("b.md"), Some("from memory\n"));
    assert_eq!(taken.files.text("same.md"), Some("from memory\n"));
    assert_eq!(taken.files.text("a.md"), Some("A, edited\n"));
}

#[tokio::test]
async fn a_fetch_after_a_listing_does_not_list_again() {
    use tome_sync::git::{self, Remote};
    let server = GitServer::start().await;
    let repo = server.create_repo("docs");
    repo.write("a.md", "A\n");
    let first = repo.commit("First");
    repo.push();
    let opts = GitOptions {
        allow_private: true,
        ..GitOptions::default()
    };
    let remote = Remote {
        url: server.http_url("docs"),
        branch: None,
        token: None,
    };
    let work = tempfile::tempdir().unwrap();
    let plain_dir = work.path().join("plain.git");
    let listed_dir = work.path().join("listed.git");

    let before = server.http_requests();
    let plain = git::fetch(&plain_dir, &remote, &opts).await.unwrap();
    let plain_requests = server.http_requests() - before;

    let listing = git::list_remote(&remote, &opts).await.unwrap();
    assert_eq!(listing.branch, "main");
    assert_eq!(listing.tip.as_deref(), Some(first.as_str()));
    assert_eq!(
        git::remote_tip(&remote, &opts).await.unwrap(),
        ("main".to_string(), Some(first.clone()))
    );
    let before = server.http_requests();
    let listed = git::fetch_listed(&listed_dir, &remote, &opts, listing)
        .await
        .unwrap();
    let listed_requests = server.http_requests() - before;
    assert_eq!(listed, plain);
    assert!(
        listed_requests < plain_requests,
        "{listed_requests} requests after a listing, {plain_requests} for a plain fetch"
    );

    // A listing taken before a push fetches what it listed, not what came after.
    let stale = git::list_remote(&remote, &opts).await.unwrap();
    repo.write("a.md", "B\n");
    let second = repo.commit("Second");
    repo.push();
    let got = git::fetch_listed(&listed_dir, &remote, &opts, stale)
        .await
        .unwrap();
    assert_eq!(got.sha, first);
    let fresh = git::list_remote(&remote, &opts).await.unwrap();
    let got = git::fetch_listed(&listed_dir, &remote, &opts, fresh)
        .await
        .unwrap();
    assert_eq!(got.sha, second);
    assert_eq!(got.message, "Second");
}
