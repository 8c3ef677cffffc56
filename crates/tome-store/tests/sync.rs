//! Docs-as-code storage (`SyncStore`): sources, the update queue with its leases and fencing,
//! and the one-transaction apply. Runs on temp SQLite, or on PostgreSQL when
//! `TOME_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use tome_core::credits::Action;
use tome_core::input::{NewKb, ProjectPatch};
use tome_core::keys::{self, KeyKind};
use tome_core::model::{Article, Category, Entity, Faq, Section, Status, Theme};
use tome_core::source::{
    CommitInfo, FilesChanged, NewSource, SourceFormat, SourceKind, UPDATE_LOG_MAX, UpdateReport,
    UpdateStatus, UpdateTrigger,
};
use tome_core::{id, time};
use tome_store::testing::TestDb;
use tome_store::{
    OpenOptions, PageRequest, SourceItem, Store, StoreError, SyncChanges, UpdateClaim,
};

const LEASE: i64 = 60_000;
/// A timestamp no write of the store itself would produce, to see that entities are written
/// exactly as the planner gives them.
const T0: &str = "2020-01-02 03:04:05";
const T1: &str = "2021-06-07 08:09:10";

async fn open(db: &TestDb) -> Arc<dyn Store> {
    tome_store::open(&db.location(), &OpenOptions::default())
        .await
        .unwrap()
}

/// A store with its bootstrapped project.
async fn setup(db: &TestDb) -> (Arc<dyn Store>, String) {
    let store = open(db).await;
    let boot = store
        .bootstrap(&keys::generate_api_key(KeyKind::Admin))
        .await
        .unwrap()
        .unwrap();
    (store, boot.project.id)
}

async fn kb(store: &Arc<dyn Store>, project: &str, slug: &str) -> String {
    let new = NewKb {
        title: "KB".into(),
        slug: slug.into(),
        description: None,
        is_public: false,
        theme: Theme::Minimal,
        theme_settings: None,
        logo_path: None,
    };
    store
        .create_kb(project, new, &keys::generate_site_key(), 100)
        .await
        .unwrap()
        .kb
        .id
}

fn git(url: &str) -> NewSource {
    NewSource {
        kind: SourceKind::Git,
        url: url.into(),
        branch: Some("main".into()),
        path: String::new(),
        format: SourceFormat::Auto,
        token: None,
        webhook_secret: None,
        poll_interval_minutes: None,
    }
}

/// A KB with a source.
async fn sourced_kb(store: &Arc<dyn Store>, project: &str, slug: &str) -> String {
    let kb = kb(store, project, slug).await;
    store
        .put_source(project, &kb, git("https://git.example/docs.git"), false)
        .await
        .unwrap();
    kb
}

fn category(kb: &str, name: &str) -> Category {
    Category {
        id: id::new_id(id::CATEGORY),
        kb_id: kb.into(),
        name: name.into(),
        description: Some("d".into()),
        icon: Some("book".into()),
        sort_order: 1,
        created_at: T0.into(),
        updated_at: T0.into(),
    }
}

fn section(kb: &str, category: &str) -> Section {
    Section {
        id: id::new_id(id::SECTION),
        kb_id: kb.into(),
        category_id: category.into(),
        name: "Section".into(),
        description: None,
        sort_order: 2,
        created_at: T0.into(),
        updated_at: T0.into(),
    }
}

fn article(kb: &str, category: &str, section: Option<&str>, title: &str) -> Article {
    Article {
        id: id::new_id(id::ARTICLE),
        kb_id: kb.into(),
        category_id: category.into(),
        section_id: section.map(Into::into),
        title: title.into(),
        body: format!("# {title}\n\nBody of {title}."),
        excerpt: Some("excerpt".into()),
        status: Status::Published,
        tags: vec!["a".into(), "b".into()],
        related_articles: Vec::new(),
        sort_order: 3,
        published_at: Some(T0.into()),
        created_at: T0.into(),
        updated_at: T0.into(),
    }
}

fn faq(kb: &str, category: &str, section: Option<&str>) -> Faq {
    Faq {
        id: id::new_id(id::FAQ),
        kb_id: kb.into(),
        category_id: category.into(),
        section_id: section.map(Into::into),
        question: "Why?".into(),
        answer: "Because.".into(),
        status: Status::Draft,
        sort_order: 4,
        published_at: None,
        created_at: T0.into(),
        updated_at: T0.into(),
    }
}

fn item(path: &str, entity: Entity, id: &str) -> SourceItem {
    SourceItem {
        path: path.into(),
        entity,
        entity_id: id.into(),
        sha256: format!("sha-of-{path}"),
    }
}

fn report(summary: &str) -> UpdateReport {
    UpdateReport {
        summary: summary.into(),
        logs: vec!["fetched".into(), format!("done: {summary}")],
        author: Some("Ada <ada@example.com>".into()),
        commit: Some(CommitInfo {
            sha: "c0ffee".into(),
            ref_name: "refs/heads/main".into(),
            message: "docs".into(),
            files_changed: FilesChanged {
                added: vec!["a.md".into()],
                modified: Vec::new(),
                removed: Vec::new(),
            },
        }),
    }
}

/// Queues and claims an update of `kb` for `node`.
async fn running_job(store: &Arc<dyn Store>, project: &str, kb: &str, node: &str) -> String {
    let (job, _) = store
        .enqueue_update(project, kb, UpdateTrigger::Api)
        .await
        .unwrap();
    let claimed = store
        .claim_update(node, LEASE, UpdateClaim::Job(&job.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.id, job.id);
    job.id
}

fn is_iso_millis(s: &str) -> bool {
    s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
}

#[tokio::test]
async fn sources_are_set_read_and_removed_per_tenant() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let other = store.create_project("other", None).await.unwrap().id;
    let kb = kb(&store, &project, "docs").await;

    assert!(matches!(
        store.get_source(&project, &kb).await,
        Err(StoreError::NotFound(Entity::Source))
    ));
    assert!(matches!(
        store.get_source(&project, "kb_missing").await,
        Err(StoreError::NotFound(Entity::KnowledgeBase))
    ));

    let mut new = git("https://git.example/docs.git");
    new.token = Some("tok".into());
    new.webhook_secret = Some("hook".into());
    new.poll_interval_minutes = Some(5);
    let (s, created) = store
        .put_source(&project, &kb, new.clone(), false)
        .await
        .unwrap();
    assert!(created);
    assert!(s.has_token && s.has_webhook_secret);
    assert_eq!(
        (s.kb_id.as_str(), s.project_id.as_str()),
        (kb.as_str(), project.as_str())
    );
    assert_eq!(s.url, "https://git.example/docs.git");
    assert_eq!(s.branch.as_deref(), Some("main"));
    assert_eq!(s.poll_interval_minutes, Some(5));
    assert_eq!(s.last_commit, None);
    assert_eq!(store.get_source(&project, &kb).await.unwrap(), s);

    // A PUT without secrets keeps them when asked to, and clears them otherwise.
    let bare = NewSource {
        token: None,
        webhook_secret: None,
        format: SourceFormat::Mintlify,
        ..new.clone()
    };
    let (s2, created) = store
        .put_source(&project, &kb, bare.clone(), true)
        .await
        .unwrap();
    assert!(!created);
    assert!(s2.has_token && s2.has_webhook_secret);
    assert_eq!(s2.format, SourceFormat::Mintlify);
    assert_eq!(s2.created_at, s.created_at);
    let (_, secrets) = store.source_by_kb(&kb).await.unwrap().unwrap();
    assert_eq!(secrets.token.as_deref(), Some("tok"));
    assert_eq!(secrets.webhook_secret.as_deref(), Some("hook"));
    let (s3, _) = store.put_source(&project, &kb, bare, false).await.unwrap();
    assert!(!s3.has_token && !s3.has_webhook_secret);
    assert_eq!(
        store.source_by_kb(&kb).await.unwrap().unwrap().1,
        Default::default()
    );
    assert!(store.source_by_kb("kb_missing").await.unwrap().is_none());

    // Another project sees no KB, whatever it asks.
    for result in [
        store.get_source(&other, &kb).await.map(|_| ()),
        store.delete_source(&other, &kb).await,
        store
            .put_source(&other, &kb, new.clone(), false)
            .await
            .map(|_| ()),
        store
            .enqueue_update(&other, &kb, UpdateTrigger::Api)
            .await
            .map(|_| ()),
        store.kb_content(&other, &kb).await.map(|_| ()),
        store.source_items(&other, &kb).await.map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(StoreError::NotFound(Entity::KnowledgeBase))),
            "{result:?}"
        );
    }

    // Deleting detaches: queued jobs fail with "source removed", the source is gone.
    let (job, _) = store
        .enqueue_update(&project, &kb, UpdateTrigger::Api)
        .await
        .unwrap();
    let before = store.last_change_seq().await.unwrap();
    store.delete_source(&project, &kb).await.unwrap();
    let job = store.get_update(&project, &job.id).await.unwrap();
    assert_eq!(job.status, UpdateStatus::Failure);
    assert_eq!(job.summary, "source removed");
    assert!(is_iso_millis(job.ended_at.as_deref().unwrap()));
    assert!(matches!(
        store.get_source(&project, &kb).await,
        Err(StoreError::NotFound(Entity::Source))
    ));
    assert!(matches!(
        store.delete_source(&project, &kb).await,
        Err(StoreError::NotFound(Entity::Source))
    ));
    assert!(store.source_by_kb(&kb).await.unwrap().is_none());
    let logged = store.changes_since(before, 100).await.unwrap();
    assert!(
        logged.iter().any(|c| c.entity == Entity::Source
            && c.entity_id == kb
            && c.kb_id.as_deref() == Some(kb.as_str())),
        "{logged:?}"
    );
    assert!(matches!(
        store
            .enqueue_update(&project, &kb, UpdateTrigger::Api)
            .await,
        Err(StoreError::NotFound(Entity::Source))
    ));
}

#[tokio::test]
async fn a_trigger_while_one_is_queued_returns_the_queued_job() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let other = store.create_project("other", None).await.unwrap().id;
    let kb = sourced_kb(&store, &project, "docs").await;

    let (job, created) = store
        .enqueue_update(&project, &kb, UpdateTrigger::Webhook)
        .await
        .unwrap();
    assert!(created);
    assert!(job.id.starts_with("upd_"));
    assert_eq!(job.status, UpdateStatus::Queued);
    assert_eq!(job.kb_slug, "docs");
    assert_eq!(job.trigger, UpdateTrigger::Webhook);
    assert_eq!(job.attempts, 0);
    assert!(is_iso_millis(&job.created_at), "{}", job.created_at);
    assert_eq!(store.get_update(&project, &job.id).await.unwrap(), job);

    let (again, created) = store
        .enqueue_update(&project, &kb, UpdateTrigger::Api)
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again, job);

    // Once it runs, a trigger queues the next one.
    let claimed = store
        .claim_update("node-a", LEASE, UpdateClaim::Any)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.id, job.id);
    assert_eq!(claimed.job.status, UpdateStatus::InProgress);
    assert_eq!(claimed.job.attempts, 1);
    assert!(is_iso_millis(claimed.job.started_at.as_deref().unwrap()));
    assert_eq!(claimed.source.kb_id, kb);
    let (next, created) = store
        .enqueue_update(&project, &kb, UpdateTrigger::Api)
        .await
        .unwrap();
    assert!(created);
    assert_ne!(next.id, job.id);

    // Foreign or unknown IDs are not found.
    for (p, id) in [(&other, &job.id), (&project, &"upd_nope".to_string())] {
        assert!(matches!(
            store.get_update(p, id).await,
            Err(StoreError::NotFound(Entity::Update))
        ));
    }
}

/// An idle node's trigger creates its job already claimed (one commit): another node cannot
/// take it while the lease lasts, a trigger meanwhile queues the next job as usual, the claimed
/// job ends as any claimed one, and a KB with a job running gets a queued job, not a claim.
#[tokio::test]
async fn a_job_can_be_queued_and_claimed_in_one_step() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let node_b = open(&db).await;
    let docs = sourced_kb(&store, &project, "docs").await;
    let kb = &docs;

    let (job, created, claimed) = store
        .enqueue_and_claim_update(&project, kb, UpdateTrigger::Api, "node-a", LEASE)
        .await
        .unwrap();
    assert!(created);
    let claimed = claimed.expect("an idle KB's new job is claimed at once");
    assert_eq!(claimed.job, job);
    assert_eq!(job.status, UpdateStatus::InProgress);
    assert_eq!(job.attempts, 1);
    assert_eq!(job.trigger, UpdateTrigger::Api);
    assert_eq!(job.started_at.as_deref(), Some(job.created_at.as_str()));
    assert!(is_iso_millis(&job.created_at), "{}", job.created_at);
    assert_eq!(&claimed.source.kb_id, kb);
    assert_eq!(store.get_update(&project, &job.id).await.unwrap(), job);
    // The lease is node-a's: nobody else claims the job, and node-b cannot end it.
    for which in [UpdateClaim::Any, UpdateClaim::Job(&job.id)] {
        assert!(
            node_b
                .claim_update("node-b", LEASE, which)
                .await
                .unwrap()
                .is_none()
        );
    }
    assert!(
        !node_b
            .fail_update(&job.id, "node-b", &report("not mine"))
            .await
            .unwrap()
    );

    // While it runs, a trigger (claiming or not) queues one next job and returns it again.
    let (next, created, none) = node_b
        .enqueue_and_claim_update(&project, kb, UpdateTrigger::Api, "node-b", LEASE)
        .await
        .unwrap();
    assert!(created);
    assert!(none.is_none());
    assert_eq!(next.status, UpdateStatus::Queued);
    assert_eq!(next.attempts, 0);
    let (again, created, none) = store
        .enqueue_and_claim_update(&project, kb, UpdateTrigger::Webhook, "node-a", LEASE)
        .await
        .unwrap();
    assert!(!created);
    assert!(none.is_none());
    assert_eq!(again, next);
    assert!(
        node_b
            .claim_update("node-b", LEASE, UpdateClaim::Any)
            .await
            .unwrap()
            .is_none()
    );

    // node-a ends it like any claimed job; then the queued one is claimable.
    let changes = SyncChanges {
        keep_items: true,
        commit: Some("a".repeat(40)),
        ..SyncChanges::default()
    };
    assert!(
        store
            .apply_update(&job.id, "node-a", &project, kb, &changes, &report("done"))
            .await
            .unwrap()
    );
    let done = store.get_update(&project, &job.id).await.unwrap();
    assert_eq!(done.status, UpdateStatus::Success);
    let taken = node_b
        .claim_update("node-b", LEASE, UpdateClaim::Any)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.job.id, next.id);

    // With a job in progress and none queued, a claiming trigger queues: one job per KB runs.
    let (queued, created, none) = store
        .enqueue_and_claim_update(&project, kb, UpdateTrigger::Api, "node-a", LEASE)
        .await
        .unwrap();
    assert!(created);
    assert!(none.is_none());
    assert_eq!(queued.status, UpdateStatus::Queued);

    // The same refusals as a plain trigger.
    let other = store.create_project("other", None).await.unwrap().id;
    assert!(matches!(
        store
            .enqueue_and_claim_update(&other, kb, UpdateTrigger::Api, "node-a", LEASE)
            .await,
        Err(StoreError::NotFound(Entity::KnowledgeBase))
    ));
    let bare = self::kb(&store, &project, "bare").await;
    assert!(matches!(
        store
            .enqueue_and_claim_update(&project, &bare, UpdateTrigger::Api, "node-a", LEASE)
            .await,
        Err(StoreError::NotFound(Entity::Source))
    ));
}

/// Many claims at once, from two stores (two nodes) on one database: exactly one gets the job,
/// and a KB never runs two jobs at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_node_claims_a_job() {
    let db = TestDb::new();
    let (first, project) = setup(&db).await;
    let nodes = [first, open(&db).await];
    let kb_a = sourced_kb(&nodes[0], &project, "a").await;
    let (job, _) = nodes[0]
        .enqueue_update(&project, &kb_a, UpdateTrigger::Api)
        .await
        .unwrap();

    let claims: Vec<_> = (0..16)
        .map(|i| {
            let node = nodes[i % 2].clone();
            tokio::spawn(async move {
                node.claim_update(&format!("node-{i}"), LEASE, UpdateClaim::Any)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = Vec::new();
    for c in claims {
        if let Some(claimed) = c.await.unwrap() {
            won.push(claimed);
        }
    }
    assert_eq!(won.len(), 1, "on {}", db.backend());
    assert_eq!(won[0].job.id, job.id);
    assert_eq!(won[0].job.attempts, 1);

    // A second job of the same KB waits while the first runs; another KB's does not.
    let (queued, _) = nodes[1]
        .enqueue_update(&project, &kb_a, UpdateTrigger::Api)
        .await
        .unwrap();
    assert!(
        nodes[1]
            .claim_update("node-x", LEASE, UpdateClaim::Any)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        nodes[1]
            .claim_update("node-x", LEASE, UpdateClaim::Job(&queued.id))
            .await
            .unwrap()
            .is_none()
    );
    let kb_b = sourced_kb(&nodes[0], &project, "b").await;
    let (other_job, _) = nodes[0]
        .enqueue_update(&project, &kb_b, UpdateTrigger::Api)
        .await
        .unwrap();
    // `Job` restricts the claim to that job.
    assert!(
        nodes[0]
            .claim_update("node-y", LEASE, UpdateClaim::Job("upd_other"))
            .await
            .unwrap()
            .is_none()
    );
    let claimed = nodes[0]
        .claim_update("node-y", LEASE, UpdateClaim::Any)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.id, other_job.id);

    // When the first ends, the queued one of its KB can run.
    assert!(fail_as_any_node(&nodes[0], &won[0].job.id).await);
    let next = nodes[1]
        .claim_update("node-z", LEASE, UpdateClaim::Any)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.job.id, queued.id);
}

/// Fails `update_id` as whichever of the test's nodes holds it.
async fn fail_as_any_node(store: &Arc<dyn Store>, update_id: &str) -> bool {
    for i in 0..16 {
        if store
            .fail_update(update_id, &format!("node-{i}"), &report("failed"))
            .await
            .unwrap()
        {
            return true;
        }
    }
    false
}

#[tokio::test]
async fn an_expired_lease_is_claimed_again_and_the_old_node_is_fenced_off() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let node_b = open(&db).await;
    let kb = sourced_kb(&store, &project, "docs").await;
    let (job, _) = store
        .enqueue_update(&project, &kb, UpdateTrigger::Api)
        .await
        .unwrap();
    let first = store
        .claim_update("node-a", 1, UpdateClaim::Any)
        .await
        .unwrap()
        .unwrap();
    let started = first.job.started_at.clone();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    let second = node_b
        .claim_update("node-b", LEASE, UpdateClaim::Job(&job.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.job.id, job.id);
    assert_eq!(second.job.status, UpdateStatus::InProgress);
    assert_eq!(second.job.attempts, 2);
    assert_eq!(
        second.job.started_at, started,
        "started_at is the first start"
    );
    assert_eq!(
        second.job.logs,
        vec!["re-queued: the node running it stopped (lease expired)".to_string()]
    );
    // Nobody else gets it while node B's lease runs.
    assert!(
        store
            .claim_update("node-c", LEASE, UpdateClaim::Any)
            .await
            .unwrap()
            .is_none()
    );

    // Node A wakes up: everything it tries is refused and writes nothing.
    let c = category(&kb, "Guide");
    let a = article(&kb, &c.id, None, "Intro");
    let changes = SyncChanges {
        items: vec![item("intro.md", Entity::Article, &a.id)],
        create_categories: vec![c.clone()],
        create_articles: vec![a.clone()],
        commit: Some("c0ffee".into()),
        ..Default::default()
    };
    let seq = store.last_change_seq().await.unwrap();
    assert!(
        !store
            .renew_update(&job.id, "node-a", LEASE, &report("x"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .apply_update(&job.id, "node-a", &project, &kb, &changes, &report("x"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .fail_update(&job.id, "node-a", &report("x"))
            .await
            .unwrap()
    );
    assert_eq!(store.last_change_seq().await.unwrap(), seq);
    let content = store.kb_content(&project, &kb).await.unwrap();
    assert!(content.categories.is_empty() && content.articles.is_empty());
    assert!(store.source_items(&project, &kb).await.unwrap().is_empty());
    let now = store.get_update(&project, &job.id).await.unwrap();
    assert_eq!(now.status, UpdateStatus::InProgress);
    assert_eq!(now.logs, second.job.logs);

    // Node B finishes it, once.
    let mut progress = report("");
    progress.logs = second.job.logs.clone();
    progress.logs.push("fetching".into());
    assert!(
        node_b
            .renew_update(&job.id, "node-b", LEASE, &progress)
            .await
            .unwrap()
    );
    let mid = node_b.get_update(&project, &job.id).await.unwrap();
    assert_eq!(mid.logs.len(), 2);
    assert_eq!(mid.author.as_deref(), Some("Ada <ada@example.com>"));
    assert_eq!(mid.summary, "", "the summary is set when the job ends");
    assert!(
        node_b
            .apply_update(
                &job.id,
                "node-b",
                &project,
                &kb,
                &changes,
                &report("1 created")
            )
            .await
            .unwrap()
    );
    let done = node_b.get_update(&project, &job.id).await.unwrap();
    assert_eq!(done.status, UpdateStatus::Success);
    assert_eq!(done.attempts, 2);
    assert!(
        !node_b
            .apply_update(&job.id, "node-b", &project, &kb, &changes, &report("again"))
            .await
            .unwrap(),
        "a finished job is no one's"
    );
    assert_eq!(
        node_b
            .kb_content(&project, &kb)
            .await
            .unwrap()
            .articles
            .len(),
        1
    );
}

#[tokio::test]
async fn apply_writes_creates_updates_and_deletes_and_logs_them() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let kb = sourced_kb(&store, &project, "docs").await;
    let month = time::month_of(&time::now()).to_string();
    let spent_before = store.usage(&project, &month).await.unwrap().credits_used();

    // First update: everything is new.
    let c1 = category(&kb, "Guide");
    let s1 = section(&kb, &c1.id);
    let a1 = article(&kb, &c1.id, Some(&s1.id), "One");
    let mut a2 = article(&kb, &c1.id, None, "Two");
    a2.related_articles = vec![a1.id.clone()];
    let f1 = faq(&kb, &c1.id, Some(&s1.id));
    let items = vec![
        item("guide/one.md", Entity::Article, &a1.id),
        item("guide/two.md", Entity::Article, &a2.id),
        item("faq.md", Entity::Faq, &f1.id),
    ];
    let first = SyncChanges {
        create_categories: vec![c1.clone()],
        create_sections: vec![s1.clone()],
        create_articles: vec![a1.clone(), a2.clone()],
        create_faqs: vec![f1.clone()],
        items: items.clone(),
        commit: Some("commit-1".into()),
        ..Default::default()
    };
    let job = running_job(&store, &project, &kb, "node").await;
    let seq = store.last_change_seq().await.unwrap();
    assert!(
        store
            .apply_update(&job, "node", &project, &kb, &first, &report("5 created"))
            .await
            .unwrap()
    );
    let content = store.kb_content(&project, &kb).await.unwrap();
    assert_eq!(content.categories, vec![c1.clone()]);
    assert_eq!(content.sections, vec![s1.clone()]);
    assert_eq!(content.articles, vec![a1.clone(), a2.clone()]);
    assert_eq!(content.faqs, vec![f1.clone()]);
    assert_eq!(store.source_items(&project, &kb).await.unwrap(), items);
    let logged: Vec<(Entity, String)> = store
        .changes_since(seq, 100)
        .await
        .unwrap()
        .into_iter()
        .inspect(|c| assert_eq!(c.kb_id.as_deref(), Some(kb.as_str())))
        .map(|c| (c.entity, c.entity_id))
        .collect();
    for (entity, id) in [
        (Entity::Category, &c1.id),
        (Entity::Section, &s1.id),
        (Entity::Article, &a1.id),
        (Entity::Article, &a2.id),
        (Entity::Faq, &f1.id),
    ] {
        assert!(
            logged.contains(&(entity, id.clone())),
            "{entity:?} {id}: {logged:?}"
        );
    }
    // One ledger row per kind created, priced as the API prices them.
    let usage = store.usage(&project, &month).await.unwrap();
    assert_eq!(
        usage.credits_used() - spent_before,
        Action::CategoryCreated.price()
            + Action::SectionCreated.price()
            + 2 * Action::ArticleCreated.price()
            + Action::FaqCreated.price()
    );
    let done = store.get_update(&project, &job).await.unwrap();
    assert_eq!(done.status, UpdateStatus::Success);
    assert_eq!(done.summary, "5 created");
    assert_eq!(done.logs, report("5 created").logs);
    assert_eq!(done.commit, report("").commit);
    assert!(is_iso_millis(done.ended_at.as_deref().unwrap()));
    let source = store.get_source(&project, &kb).await.unwrap();
    assert_eq!(source.last_commit.as_deref(), Some("commit-1"));
    assert_eq!(source.last_synced_at.as_ref().map(String::len), Some(19));

    // Second update: rename the category, move the FAQ out, delete article one, the FAQ and
    // the section, add article three. Article two's related list loses article one.
    let mut c1b = c1.clone();
    c1b.name = "Guides".into();
    c1b.updated_at = T1.into();
    let a3 = article(&kb, &c1.id, None, "Three");
    let second = SyncChanges {
        update_categories: vec![c1b.clone()],
        create_articles: vec![a3.clone()],
        delete_articles: vec![a1.id.clone()],
        delete_faqs: vec![f1.id.clone()],
        delete_sections: vec![s1.id.clone()],
        items: vec![
            item("guide/two.md", Entity::Article, &a2.id),
            item("guide/three.md", Entity::Article, &a3.id),
        ],
        commit: Some("commit-2".into()),
        ..Default::default()
    };
    let job = running_job(&store, &project, &kb, "node").await;
    let seq = store.last_change_seq().await.unwrap();
    assert!(
        store
            .apply_update(&job, "node", &project, &kb, &second, &report("5 changed"))
            .await
            .unwrap()
    );
    let content = store.kb_content(&project, &kb).await.unwrap();
    assert_eq!(content.categories, vec![c1b.clone()]);
    assert!(content.sections.is_empty() && content.faqs.is_empty());
    let mut a2b = a2.clone();
    a2b.related_articles.clear();
    assert_eq!(
        content.articles[0].related_articles,
        Vec::<String>::new(),
        "related lists drop deleted articles"
    );
    assert_eq!(content.articles[0].id, a2b.id);
    assert_eq!(
        content.articles[0].created_at, T0,
        "untouched rows keep their timestamps"
    );
    assert_eq!(content.articles[1], a3);
    assert_eq!(
        store.source_items(&project, &kb).await.unwrap(),
        second.items
    );
    let logged: Vec<(Entity, String)> = store
        .changes_since(seq, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.entity, c.entity_id))
        .collect();
    for (entity, id) in [
        (Entity::Category, &c1.id),
        (Entity::Article, &a1.id),
        (Entity::Article, &a2.id),
        (Entity::Article, &a3.id),
        (Entity::Faq, &f1.id),
        (Entity::Section, &s1.id),
    ] {
        assert!(
            logged.contains(&(entity, id.clone())),
            "{entity:?} {id}: {logged:?}"
        );
    }
    assert!(
        !logged.contains(&(Entity::Section, "x".into())),
        "nothing else is logged"
    );

    // The same commit again: nothing to change, nothing logged but the job.
    let job = running_job(&store, &project, &kb, "node").await;
    let seq = store.last_change_seq().await.unwrap();
    let same = SyncChanges {
        items: second.items.clone(),
        commit: Some("commit-2".into()),
        ..Default::default()
    };
    assert!(
        store
            .apply_update(&job, "node", &project, &kb, &same, &report("0 changes"))
            .await
            .unwrap()
    );
    assert_eq!(store.last_change_seq().await.unwrap(), seq);
    assert_eq!(
        store
            .kb_content(&project, &kb)
            .await
            .unwrap()
            .articles
            .len(),
        2
    );

    // Replacing the source with another location forgets the commit; the same one keeps it.
    let (s, _) = store
        .put_source(&project, &kb, git("https://git.example/docs.git"), true)
        .await
        .unwrap();
    assert_eq!(s.last_commit.as_deref(), Some("commit-2"));
    let mut moved = git("https://git.example/docs.git");
    moved.path = "docs".into();
    let (s, _) = store.put_source(&project, &kb, moved, true).await.unwrap();
    assert_eq!(s.last_commit, None);
}

#[tokio::test]
async fn a_bad_plan_changes_nothing() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let kb = sourced_kb(&store, &project, "docs").await;
    let other_kb = sourced_kb(&store, &project, "other").await;
    let job = running_job(&store, &project, &kb, "node").await;
    let c1 = category(&kb, "Guide");
    let s_other = section(&kb, &c1.id);

    let stale = SyncChanges {
        create_categories: vec![c1.clone()],
        update_articles: vec![article(&kb, &c1.id, None, "Gone")],
        ..Default::default()
    };
    let foreign = SyncChanges {
        create_categories: vec![category(&other_kb, "Theirs")],
        ..Default::default()
    };
    let c2 = category(&kb, "Other");
    let misplaced = SyncChanges {
        create_categories: vec![c1.clone(), c2.clone()],
        create_sections: vec![s_other.clone()],
        // A section of category one under category two.
        create_articles: vec![article(&kb, &c2.id, Some(&s_other.id), "Lost")],
        ..Default::default()
    };
    let mut dangling = article(&kb, &c1.id, None, "Dangling");
    dangling.related_articles = vec!["kba_nowhere".into()];
    let unrelated = SyncChanges {
        create_categories: vec![c1.clone()],
        create_articles: vec![dangling],
        ..Default::default()
    };
    let orphan_item = SyncChanges {
        create_categories: vec![c1.clone()],
        items: vec![item("nowhere.md", Entity::Article, "kba_nowhere")],
        ..Default::default()
    };
    let a = article(&kb, &c1.id, None, "Faq-typed");
    let wrong_kind = SyncChanges {
        create_categories: vec![c1.clone()],
        create_articles: vec![a.clone()],
        items: vec![item("a.md", Entity::Faq, &a.id)],
        ..Default::default()
    };
    let seq = store.last_change_seq().await.unwrap();
    for (name, plan) in [
        ("stale", stale),
        ("foreign", foreign),
        ("misplaced", misplaced),
        ("unrelated", unrelated),
        ("orphan item", orphan_item),
        ("wrong kind", wrong_kind),
    ] {
        let result = store
            .apply_update(&job, "node", &project, &kb, &plan, &report("x"))
            .await;
        match (name, &result) {
            ("stale", Err(StoreError::NotFound(Entity::Article)))
            | ("foreign" | "orphan item" | "wrong kind", Err(StoreError::Internal(_)))
            | ("misplaced" | "unrelated", Err(StoreError::Invalid(_))) => {}
            _ => panic!("{name}: {result:?}"),
        }
    }
    assert_eq!(store.last_change_seq().await.unwrap(), seq);
    let content = store.kb_content(&project, &kb).await.unwrap();
    assert!(content.categories.is_empty() && content.articles.is_empty());
    assert_eq!(
        store.get_update(&project, &job).await.unwrap().status,
        UpdateStatus::InProgress
    );
}

#[tokio::test]
async fn an_update_over_the_credit_cap_changes_nothing() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let kb = sourced_kb(&store, &project, "docs").await;
    let month = time::month_of(&time::now()).to_string();
    let used = store.usage(&project, &month).await.unwrap().credits_used();
    // A category (2) and two articles (6) cost 8; only 7 are left.
    store
        .update_project(
            &project,
            ProjectPatch {
                credit_cap: Some(Some(used + 7)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let c = category(&kb, "Guide");
    let a = article(&kb, &c.id, None, "One");
    let b = article(&kb, &c.id, None, "Two");
    let changes = SyncChanges {
        create_categories: vec![c.clone()],
        create_articles: vec![a.clone(), b.clone()],
        items: vec![
            item("one.md", Entity::Article, &a.id),
            item("two.md", Entity::Article, &b.id),
        ],
        commit: Some("c1".into()),
        ..Default::default()
    };
    let job = running_job(&store, &project, &kb, "node").await;
    let seq = store.last_change_seq().await.unwrap();
    let result = store
        .apply_update(&job, "node", &project, &kb, &changes, &report("x"))
        .await;
    match result {
        Err(StoreError::SpendingCap {
            cap,
            used: u,
            price,
        }) => {
            assert_eq!((cap, u, price), (used + 7, used, 8), "priced as a whole");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.last_change_seq().await.unwrap(), seq);
    let content = store.kb_content(&project, &kb).await.unwrap();
    assert!(content.categories.is_empty() && content.articles.is_empty());
    assert!(store.source_items(&project, &kb).await.unwrap().is_empty());
    assert_eq!(
        store.usage(&project, &month).await.unwrap().credits_used(),
        used
    );
    assert_eq!(
        store.get_source(&project, &kb).await.unwrap().last_commit,
        None
    );
    let j = store.get_update(&project, &job).await.unwrap();
    assert_eq!(j.status, UpdateStatus::InProgress);
    assert_eq!(j.ended_at, None);

    // At exactly the cap it goes through.
    store
        .update_project(
            &project,
            ProjectPatch {
                credit_cap: Some(Some(used + 8)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .apply_update(&job, "node", &project, &kb, &changes, &report("3 created"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.usage(&project, &month).await.unwrap().credits_used(),
        used + 8
    );
}

#[tokio::test]
async fn updates_are_listed_newest_first_page_by_page() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let other = store.create_project("other", None).await.unwrap().id;
    let mut ids = Vec::new();
    let mut kbs = Vec::new();
    for i in 0..5 {
        let kb = sourced_kb(&store, &project, &format!("kb{i}")).await;
        kbs.push(kb.clone());
        ids.push(
            store
                .enqueue_update(&project, &kb, UpdateTrigger::Api)
                .await
                .unwrap()
                .0
                .id,
        );
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_updates(&project, PageRequest { limit: 2, after })
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|j| j.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let theirs = store
        .list_updates(
            &other,
            PageRequest {
                limit: 100,
                after: None,
            },
        )
        .await
        .unwrap();
    assert!(theirs.items.is_empty() && theirs.next.is_none());
    // One KB's history holds its own jobs only, and only for its project.
    let all = PageRequest {
        limit: 100,
        after: None,
    };
    let one = store.list_kb_updates(&project, &kbs[1], all).await.unwrap();
    let one: Vec<_> = one.items.into_iter().map(|j| j.id).collect();
    assert_eq!(one, vec![ids[3].clone()]);
    let foreign = store.list_kb_updates(&other, &kbs[1], all).await.unwrap();
    assert!(foreign.items.is_empty());
}

#[tokio::test]
async fn logs_are_capped() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let kb = sourced_kb(&store, &project, "docs").await;
    let job = running_job(&store, &project, &kb, "node").await;
    let mut progress = report("");
    progress.logs = (0..UPDATE_LOG_MAX + 500)
        .map(|i| format!("line {i}"))
        .collect();
    assert!(
        store
            .renew_update(&job, "node", LEASE, &progress)
            .await
            .unwrap()
    );
    let logs = store.get_update(&project, &job).await.unwrap().logs;
    assert_eq!(logs.len(), UPDATE_LOG_MAX);
    // The beginning, a line saying what was cut, and the end (how the update ended).
    assert_eq!(logs[0], "line 0");
    let cut = logs
        .iter()
        .position(|l| l.contains("501 lines cut here"))
        .expect("a line saying what was cut");
    assert_eq!(logs[cut - 1], format!("line {}", cut - 1));
    assert_eq!(
        logs[UPDATE_LOG_MAX - 1],
        format!("line {}", UPDATE_LOG_MAX + 500 - 1)
    );

    let mut failed = report("bad front matter in a.md line 3");
    failed.logs = (0..3 * UPDATE_LOG_MAX)
        .map(|i| format!("line {i}"))
        .collect();
    assert!(store.fail_update(&job, "node", &failed).await.unwrap());
    let j = store.get_update(&project, &job).await.unwrap();
    assert_eq!(j.status, UpdateStatus::Failure);
    assert_eq!(j.summary, "bad front matter in a.md line 3");
    assert_eq!(j.logs.len(), UPDATE_LOG_MAX);
    assert!(j.logs.iter().any(|l| l.contains("2001 lines cut here")));
    assert_eq!(
        j.logs[UPDATE_LOG_MAX - 1],
        format!("line {}", 3 * UPDATE_LOG_MAX - 1)
    );
    assert!(
        !store
            .renew_update(&job, "node", LEASE, &progress)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn polls_come_due_once_per_interval() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let polled = kb(&store, &project, "polled").await;
    let mut new = git("https://git.example/docs.git");
    new.poll_interval_minutes = Some(5);
    store
        .put_source(&project, &polled, new, false)
        .await
        .unwrap();
    sourced_kb(&store, &project, "unpolled").await;

    let t = 1_800_000_000;
    let due = vec![(project.clone(), polled.clone())];
    assert_eq!(
        store.take_due_polls(t).await.unwrap(),
        due,
        "never polled: due"
    );
    assert!(store.take_due_polls(t).await.unwrap().is_empty());
    assert!(store.take_due_polls(t + 299).await.unwrap().is_empty());
    assert_eq!(store.take_due_polls(t + 300).await.unwrap(), due);
}

#[tokio::test]
async fn deleting_a_kb_takes_its_source_and_jobs() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let kb = sourced_kb(&store, &project, "docs").await;
    let (job, _) = store
        .enqueue_update(&project, &kb, UpdateTrigger::Api)
        .await
        .unwrap();
    store.delete_kb(&project, &kb).await.unwrap();
    assert!(store.source_by_kb(&kb).await.unwrap().is_none());
    assert!(matches!(
        store.get_update(&project, &job.id).await,
        Err(StoreError::NotFound(Entity::Update))
    ));
    assert!(
        store
            .claim_update("node", LEASE, UpdateClaim::Any)
            .await
            .unwrap()
            .is_none()
    );
}

/// `tome copy` carries sources (with their secrets), path maps and jobs (with their logs).
#[tokio::test]
async fn copy_carries_sources_items_and_jobs() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let kb = kb(&store, &project, "docs").await;
    let mut new = git("https://git.example/docs.git");
    new.token = Some("tok".into());
    store.put_source(&project, &kb, new, false).await.unwrap();
    let c = category(&kb, "Guide");
    let a = article(&kb, &c.id, None, "One");
    let job = running_job(&store, &project, &kb, "node").await;
    let changes = SyncChanges {
        create_categories: vec![c],
        create_articles: vec![a.clone()],
        items: vec![item("one.md", Entity::Article, &a.id)],
        commit: Some("c1".into()),
        ..Default::default()
    };
    assert!(
        store
            .apply_update(&job, "node", &project, &kb, &changes, &report("2 created"))
            .await
            .unwrap()
    );
    let queued = store
        .enqueue_update(&project, &kb, UpdateTrigger::Internal)
        .await
        .unwrap()
        .0;

    let target = TestDb::sqlite();
    tome_store::copy::copy(
        &db.location(),
        &target.location(),
        &tome_store::copy::CopyOptions::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    let copied = open(&target).await;
    assert_eq!(
        copied.get_source(&project, &kb).await.unwrap(),
        store.get_source(&project, &kb).await.unwrap()
    );
    assert_eq!(
        copied
            .source_by_kb(&kb)
            .await
            .unwrap()
            .unwrap()
            .1
            .token
            .as_deref(),
        Some("tok")
    );
    assert_eq!(
        copied.source_items(&project, &kb).await.unwrap(),
        changes.items
    );
    for id in [&job, &queued.id] {
        assert_eq!(
            copied.get_update(&project, id).await.unwrap(),
            store.get_update(&project, id).await.unwrap()
        );
    }
}

/// Removing the source of a KB whose update is running ends that update: its node's next renew
/// or apply finds the job no longer its own and writes nothing.
#[tokio::test]
async fn removing_the_source_stops_a_running_update() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let kb = sourced_kb(&store, &project, "docs").await;
    let job = running_job(&store, &project, &kb, "node").await;
    store.delete_source(&project, &kb).await.unwrap();
    let ended = store.get_update(&project, &job).await.unwrap();
    assert_eq!(ended.status, UpdateStatus::Failure);
    assert_eq!(ended.summary, "source removed");
    assert!(
        !store
            .renew_update(&job, "node", LEASE, &report(""))
            .await
            .unwrap()
    );
    let c = category(&kb, "Guide");
    let changes = SyncChanges {
        create_categories: vec![c],
        ..Default::default()
    };
    assert!(
        !store
            .apply_update(&job, "node", &project, &kb, &changes, &report("x"))
            .await
            .unwrap()
    );
    assert!(
        store
            .kb_content(&project, &kb)
            .await
            .unwrap()
            .categories
            .is_empty()
    );
    assert!(
        store
            .claim_update("node", LEASE, UpdateClaim::Any)
            .await
            .unwrap()
            .is_none()
    );
}
