//! Store-level conformance: properties every backend must keep that the HTTP suite cannot see
//! from one process — several nodes (stores) sharing one database, and `tome copy` knowing
//! every table. Runs on temp SQLite, or on PostgreSQL when `TOME_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use tome_core::input::{NewCategory, NewKb, ProjectPatch};
use tome_core::keys::{self, KeyKind};
use tome_core::model::Theme;
use tome_store::copy::{CopyOptions, TABLES};
use tome_store::testing::TestDb;
use tome_store::{OpenOptions, Store, StoreError};

async fn open(db: &TestDb) -> Arc<dyn Store> {
    tome_store::open(&db.location(), &OpenOptions::default())
        .await
        .unwrap()
}

fn new_kb(slug: &str) -> NewKb {
    NewKb {
        title: "KB".into(),
        slug: slug.into(),
        description: None,
        is_public: false,
        theme: Theme::Minimal,
        theme_settings: None,
        logo_path: None,
    }
}

fn new_category(name: &str) -> NewCategory {
    NewCategory {
        name: name.into(),
        description: None,
        icon: None,
        sort_order: 0,
    }
}

/// Two stores on one database stand for two nodes (or a node and the operator CLI).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_sharing_a_database_never_overspend_the_cap() {
    let db = TestDb::new();
    let nodes = [open(&db).await, open(&db).await];
    let boot = nodes[0]
        .bootstrap(&keys::generate_api_key(KeyKind::Admin))
        .await
        .unwrap()
        .unwrap();
    let project = boot.project.id;
    // A KB (3) and exactly seven categories (2 each) fit.
    let patch = ProjectPatch {
        credit_cap: Some(Some(17)),
        ..Default::default()
    };
    nodes[1].update_project(&project, patch).await.unwrap();
    let kb = nodes[1]
        .create_kb(&project, new_kb("cap"), &keys::generate_site_key(), 100)
        .await
        .unwrap()
        .kb
        .id;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let node = nodes[i % 2].clone();
            let (project, kb) = (project.clone(), kb.clone());
            tokio::spawn(async move {
                node.create_category(&project, &kb, new_category(&format!("c{i}")))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::SpendingCap { cap: 17, .. }) => {}
            Err(e) => panic!("unexpected error on {}: {e:?}", db.backend()),
        }
    }
    assert_eq!(created, 7, "on {}", db.backend());
    let month = tome_core::time::month_of(&tome_core::time::now()).to_string();
    let usage = nodes[0].usage(&project, &month).await.unwrap();
    let spent: i64 = usage.by_action.iter().map(|(_, _, c)| c).sum();
    assert_eq!(spent, 17);
}

/// Several nodes starting at once against an empty database: the schema is created once and
/// exactly one of them bootstraps the default project.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_at_once_migrate_and_bootstrap_once() {
    let db = Arc::new(TestDb::new());
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let store = open(&db).await;
                store
                    .bootstrap(&keys::generate_api_key(KeyKind::Admin))
                    .await
                    .unwrap()
                    .is_some()
            })
        })
        .collect();
    let mut bootstrapped = 0;
    for s in starts {
        bootstrapped += usize::from(s.await.unwrap());
    }
    assert_eq!(bootstrapped, 1, "on {}", db.backend());
    assert_eq!(open(&db).await.list_projects().await.unwrap().len(), 1);
}

/// `tome copy` refuses databases with tables it does not know, so a migration that adds a table
/// fails here until the table is added to `copy::TABLES`.
#[tokio::test]
async fn copy_knows_every_table_of_the_schema() {
    let db = TestDb::new();
    let store = open(&db).await;
    store
        .bootstrap(&keys::generate_api_key(KeyKind::Admin))
        .await
        .unwrap();
    store.instance_secret().await.unwrap();
    let target = TestDb::sqlite();
    let mut progress = |_| {};
    let report = tome_store::copy::copy(
        &db.location(),
        &target.location(),
        &CopyOptions::default(),
        &mut progress,
    )
    .await
    .unwrap();
    assert_eq!(report.tables.len(), TABLES.len());
    let copied: i64 = report.tables.iter().map(|t| t.target_rows).sum();
    assert_eq!(
        copied, 6,
        "instance, project, admin key, the feed's settings row and the two changes logged"
    );
}

/// `content_counts` groups articles by place and status and FAQs by category, inside the
/// caller's project only, alike on every backend.
#[tokio::test]
async fn content_counts_group_by_place_and_status() {
    use tome_core::input::{NewArticle, NewFaq, NewSection};
    use tome_core::model::Status;

    let db = TestDb::new();
    let store = open(&db).await;
    let boot = store
        .bootstrap(&keys::generate_api_key(KeyKind::Admin))
        .await
        .unwrap()
        .unwrap();
    let project = boot.project.id;
    let kb = store
        .create_kb(&project, new_kb("counts"), &keys::generate_site_key(), 100)
        .await
        .unwrap()
        .kb;
    let cat = store
        .create_category(&project, &kb.id, new_category("C"))
        .await
        .unwrap();
    let sec = store
        .create_section(
            &project,
            &kb.id,
            NewSection {
                category_id: cat.id.clone(),
                name: "S".into(),
                description: None,
                sort_order: 0,
            },
        )
        .await
        .unwrap();
    let article = |section: Option<&str>, status: Status| NewArticle {
        category_id: cat.id.clone(),
        section_id: section.map(str::to_string),
        title: "A".into(),
        body: "body".into(),
        excerpt: None,
        status,
        tags: Vec::new(),
        related_articles: Vec::new(),
        sort_order: 0,
    };
    let items = vec![
        article(Some(&sec.id), Status::Draft),
        article(Some(&sec.id), Status::Draft),
        article(Some(&sec.id), Status::Published),
        article(None, Status::Archived),
    ];
    store
        .create_articles(&project, &kb.id, items, true)
        .await
        .unwrap();
    store
        .create_faq(
            &project,
            &kb.id,
            NewFaq {
                category_id: cat.id.clone(),
                section_id: None,
                question: "Q?".into(),
                answer: "A.".into(),
                status: Status::Draft,
                sort_order: 0,
            },
        )
        .await
        .unwrap();
    let mut counts = store.content_counts(&project, &kb.id).await.unwrap();
    counts
        .articles
        .sort_by(|a, b| (a.1.clone(), a.2.as_str()).cmp(&(b.1.clone(), b.2.as_str())));
    assert_eq!(
        counts.articles,
        vec![
            (cat.id.clone(), None, Status::Archived, 1),
            (cat.id.clone(), Some(sec.id.clone()), Status::Draft, 2),
            (cat.id.clone(), Some(sec.id.clone()), Status::Published, 1),
        ]
    );
    assert_eq!(counts.faqs, vec![(cat.id.clone(), 1)]);
    let other = store.create_project("Other", None).await.unwrap();
    assert!(matches!(
        store.content_counts(&other.id, &kb.id).await,
        Err(StoreError::NotFound(_))
    ));
}
