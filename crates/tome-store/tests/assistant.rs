//! Assistant storage (`AssistantStore`): threads and their messages, tenancy, the analytics list,
//! credit reservations and retention. Runs on temp SQLite, or on PostgreSQL when
//! `TOME_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use sqlx::Connection;
use tome_core::assistant::{NewExchange, Resolution, ResponseType, Role, SourceRef};
use tome_core::credits::{Action, Charge};
use tome_core::input::NewKb;
use tome_core::keys::{self, KeyKind};
use tome_core::model::{Entity, Theme};
use tome_core::{id, time};
use tome_store::testing::TestDb;
use tome_store::{DateRange, OpenOptions, PageRequest, Reservation, Store, StoreError};

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

/// Runs SQL on the test database directly, to set what the store never writes itself (old
/// timestamps, many rows at once).
async fn exec(db: &TestDb, sql: String) {
    let sql = sqlx::AssertSqlSafe(sql);
    if db.is_postgres() {
        let mut conn = sqlx::PgConnection::connect(&db.url()).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&db.url()).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

fn source(n: u32) -> SourceRef {
    SourceRef {
        title: format!("Page {n}"),
        url: format!("https://help.example/hc/docs/articles/page-{n}"),
    }
}

fn exchange(question: &str, page: Option<&str>) -> NewExchange {
    NewExchange {
        question: question.into(),
        page_url: page.map(Into::into),
        answer: format!("Answer to {question} [1] [2]"),
        sources: vec![source(1), source(2)],
        response_type: ResponseType::Answer,
        resolution: Resolution::Answered,
    }
}

fn assistant_usage(items_credits: &tome_core::model::Usage) -> (i64, i64) {
    items_credits
        .by_action
        .iter()
        .find(|(a, _, _)| *a == Action::AssistantMessage)
        .map(|(_, i, c)| (*i, *c))
        .unwrap()
}

async fn usage_now(store: &Arc<dyn Store>, project: &str) -> tome_core::model::Usage {
    store
        .usage(project, time::month_of(&time::now()))
        .await
        .unwrap()
}

fn not_found_thread<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(
        matches!(r, Err(StoreError::NotFound(Entity::Thread))),
        "{r:?}"
    );
}

const ALL: PageRequest = PageRequest {
    limit: 100,
    after: None,
};

#[tokio::test]
async fn threads_belong_to_their_project_and_kb() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let docs = kb(&store, &project, "docs").await;
    let other_kb = kb(&store, &project, "other").await;
    let stranger = store.create_project("Stranger", None).await.unwrap().id;
    let foreign_kb = kb(&store, &stranger, "docs").await;

    let t = store.create_thread(&project, &docs, "fp-1").await.unwrap();
    assert!(id::is_id(id::THREAD, &t.id), "{}", t.id);
    assert_eq!(
        (t.project_id.as_str(), t.kb_id.as_str(), t.fp.as_str()),
        (project.as_str(), docs.as_str(), "fp-1")
    );
    assert_eq!(t.created_at, t.updated_at);
    assert_eq!(t.created_at.len(), "2026-01-15T10:30:00.000Z".len());
    assert!(t.created_at.ends_with('Z'), "{}", t.created_at);
    assert_eq!(store.get_thread(&project, &docs, &t.id).await.unwrap(), t);
    let (read, messages) = store.thread_messages(&project, &t.id).await.unwrap();
    assert_eq!(read, t);
    assert!(messages.is_empty());

    // Another KB of the same project, another project, an unknown ID: all alike.
    not_found_thread(store.get_thread(&project, &other_kb, &t.id).await);
    not_found_thread(store.get_thread(&stranger, &docs, &t.id).await);
    not_found_thread(store.get_thread(&stranger, &foreign_kb, &t.id).await);
    not_found_thread(store.thread_messages(&stranger, &t.id).await);
    let unknown = id::new_id(id::THREAD);
    not_found_thread(store.get_thread(&project, &docs, &unknown).await);
    not_found_thread(store.thread_messages(&project, &unknown).await);
    not_found_thread(store.get_thread(&project, &docs, "thr_\0").await);
    not_found_thread(
        store
            .append_exchange(&stranger, &t.id, exchange("Hi?", None))
            .await,
    );
    assert!(
        store
            .thread_messages(&project, &t.id)
            .await
            .unwrap()
            .1
            .is_empty(),
        "a refused append writes nothing"
    );

    // A thread can only be started in one of the project's KBs.
    let refused = store.create_thread(&project, &foreign_kb, "fp").await;
    assert!(
        matches!(refused, Err(StoreError::NotFound(Entity::KnowledgeBase))),
        "{refused:?}"
    );

    // KBs by slug, within the project only.
    let found = store.kb_by_slug(&project, "docs").await.unwrap().unwrap();
    assert_eq!(found.id, docs);
    assert_eq!(
        store
            .kb_by_slug(&stranger, "docs")
            .await
            .unwrap()
            .unwrap()
            .id,
        foreign_kb
    );
    assert!(
        store
            .kb_by_slug(&stranger, "other")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.kb_by_slug(&project, "nope").await.unwrap().is_none());
    assert!(
        store
            .kb_by_slug(&project, "do\0cs")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn exchanges_read_back_in_order_with_their_sources() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let docs = kb(&store, &project, "docs").await;
    let t = store.create_thread(&project, &docs, "fp").await.unwrap();

    let first = store
        .append_exchange(
            &project,
            &t.id,
            exchange("How do I install?", Some("/start")),
        )
        .await
        .unwrap();
    let unanswered = NewExchange {
        question: "And on Windows?".into(),
        page_url: None,
        answer: "The docs do not cover that.".into(),
        sources: Vec::new(),
        response_type: ResponseType::ClarifyingQuestion,
        resolution: Resolution::Unanswered,
    };
    let second = store
        .append_exchange(&project, &t.id, unanswered)
        .await
        .unwrap();
    assert!(id::is_id(id::MESSAGE, &first.id), "{}", first.id);
    assert_eq!(first.role, Role::Assistant);
    assert_eq!(first.sources, vec![source(1), source(2)]);

    let (thread, messages) = store.thread_messages(&project, &t.id).await.unwrap();
    assert_eq!(thread.created_at, t.created_at);
    assert_eq!(
        thread.updated_at, second.created_at,
        "the thread is as new as its last answer"
    );
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[1], first);
    assert_eq!(messages[3], second);
    let roles: Vec<Role> = messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::User, Role::Assistant]
    );
    let contents: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(
        contents,
        [
            "How do I install?",
            "Answer to How do I install? [1] [2]",
            "And on Windows?",
            "The docs do not cover that.",
        ]
    );
    for pair in messages.windows(2) {
        assert!(
            pair[0].created_at < pair[1].created_at,
            "{} then {}",
            pair[0].created_at,
            pair[1].created_at
        );
    }
    let question = &messages[0];
    assert_eq!(question.page_url.as_deref(), Some("/start"));
    assert!(question.sources.is_empty());
    assert_eq!((question.response_type, question.resolution), (None, None));
    assert_eq!(messages[2].page_url, None);
    assert_eq!(
        (messages[3].response_type, messages[3].resolution),
        (
            Some(ResponseType::ClarifyingQuestion),
            Some(Resolution::Unanswered)
        )
    );
    assert!(messages[3].sources.is_empty());

    // Exchanges in quick succession (several per millisecond) still never share a time.
    for i in 0..20 {
        store
            .append_exchange(&project, &t.id, exchange(&format!("again {i}"), None))
            .await
            .unwrap();
    }
    let (thread, messages) = store.thread_messages(&project, &t.id).await.unwrap();
    assert_eq!(messages.len(), 44);
    for pair in messages.windows(2) {
        assert!(pair[0].created_at < pair[1].created_at, "{pair:?}");
    }
    assert_eq!(thread.updated_at, messages[43].created_at);
}

#[tokio::test]
async fn conversations_pair_answers_with_their_questions_newest_first() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let docs = kb(&store, &project, "docs").await;
    let help = kb(&store, &project, "help").await;
    let stranger = store.create_project("Stranger", None).await.unwrap().id;
    let theirs = kb(&store, &stranger, "docs").await;

    // Interleaved threads of two KBs, and another project's thread in between.
    let a = store.create_thread(&project, &docs, "a").await.unwrap();
    let b = store.create_thread(&project, &help, "b").await.unwrap();
    let c = store.create_thread(&stranger, &theirs, "c").await.unwrap();
    let mut expected = Vec::new();
    for (i, (thread, owner)) in [
        (&a, &project),
        (&b, &project),
        (&c, &stranger),
        (&a, &project),
        (&b, &project),
        (&a, &project),
    ]
    .into_iter()
    .enumerate()
    {
        let question = format!("question {i}");
        let page = format!("/page-{i}");
        let answer = store
            .append_exchange(owner, &thread.id, exchange(&question, Some(&page)))
            .await
            .unwrap();
        if owner == &project {
            expected.push((answer, thread.id.clone(), question, page));
        }
    }
    expected.reverse();

    let all = store
        .list_conversations(&project, &DateRange::default(), ALL)
        .await
        .unwrap();
    assert!(all.next.is_none());
    assert_eq!(all.items.len(), expected.len());
    for (got, (answer, thread, question, page)) in all.items.iter().zip(&expected) {
        assert_eq!(got.id, answer.id);
        assert_eq!(&got.thread_id, thread);
        assert_eq!(got.timestamp, answer.created_at);
        assert_eq!(&got.query, question, "paired with its own question");
        assert_eq!(got.response, answer.content);
        assert_eq!(got.response_type, ResponseType::Answer);
        assert_eq!(got.resolution, Resolution::Answered);
        assert_eq!(got.sources, vec![source(1), source(2)]);
        assert_eq!(got.page_url.as_deref(), Some(page.as_str()));
        assert_eq!(got.query_category, None);
    }

    // Page by page, two at a time: the same answers, each once.
    let mut paged = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = store
            .list_conversations(
                &project,
                &DateRange::default(),
                PageRequest { limit: 2, after },
            )
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        paged.extend(page.items.into_iter().map(|c| c.id));
        match page.next {
            Some(p) => after = Some(p),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let ids: Vec<String> = all.items.iter().map(|c| c.id.clone()).collect();
    assert_eq!(paged, ids);

    // The other project sees only its own answer.
    let theirs = store
        .list_conversations(&stranger, &DateRange::default(), ALL)
        .await
        .unwrap();
    assert_eq!(theirs.items.len(), 1);
    assert_eq!(theirs.items[0].thread_id, c.id);
    assert_eq!(theirs.items[0].query, "question 2");
}

#[tokio::test]
async fn conversations_filter_by_inclusive_dates() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let docs = kb(&store, &project, "docs").await;
    let t = store.create_thread(&project, &docs, "fp").await.unwrap();
    let mut answers = Vec::new();
    for q in ["late on the 1st", "early on the 2nd", "on the 3rd"] {
        answers.push(
            store
                .append_exchange(&project, &t.id, exchange(q, None))
                .await
                .unwrap()
                .id,
        );
    }
    // The edges of days: the last millisecond of one and the first of the next.
    for (id, at) in answers.iter().zip([
        "2026-03-01T23:59:59.999Z",
        "2026-03-02T00:00:00.000Z",
        "2026-03-03T12:00:00.000Z",
    ]) {
        exec(
            &db,
            format!("UPDATE assistant_messages SET created_at = '{at}' WHERE id = '{id}'"),
        )
        .await;
    }
    let listed = |from: Option<&str>, to: Option<&str>| {
        let store = store.clone();
        let project = project.clone();
        let range = DateRange {
            from: from.map(Into::into),
            to: to.map(Into::into),
        };
        async move {
            store
                .list_conversations(&project, &range, ALL)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|c| c.query)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed(Some("2026-03-01"), Some("2026-03-01")).await,
        ["late on the 1st"]
    );
    assert_eq!(
        listed(Some("2026-03-02"), Some("2026-03-02")).await,
        ["early on the 2nd"]
    );
    assert_eq!(
        listed(Some("2026-03-02"), None).await,
        ["on the 3rd", "early on the 2nd"]
    );
    assert_eq!(
        listed(None, Some("2026-03-02")).await,
        ["early on the 2nd", "late on the 1st"]
    );
    assert_eq!(
        listed(Some("2026-03-01"), Some("2026-03-03")).await.len(),
        3
    );
    assert!(listed(Some("2026-03-04"), None).await.is_empty());
    assert!(
        listed(Some("2026-03-03"), Some("2026-03-01"))
            .await
            .is_empty()
    );

    for (from, to, field) in [
        (Some("2026-3-1"), None, "dateFrom"),
        (None, Some("2026-03-01T00:00:00Z"), "dateTo"),
        (Some("2026-13-01"), None, "dateFrom"),
        (None, Some("yesterday!"), "dateTo"),
    ] {
        let range = DateRange {
            from: from.map(Into::into),
            to: to.map(Into::into),
        };
        match store.list_conversations(&project, &range, ALL).await {
            Err(StoreError::Invalid(e)) => assert_eq!(e.field, field),
            other => panic!("{from:?}..{to:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn reservations_respect_the_cap_and_show_in_usage() {
    let db = TestDb::new();
    let store = open(&db).await;
    let project = store.create_project("Capped", Some(5)).await.unwrap().id;
    let stranger = store.create_project("Stranger", None).await.unwrap().id;
    let price = |n| Charge::priced(Action::AssistantMessage, 1, n);

    let first = store.reserve_credits(&project, price(2)).await.unwrap();
    let second = store.reserve_credits(&project, price(2)).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(assistant_usage(&usage_now(&store, &project).await), (2, 4));

    // At the cap: refused, and nothing recorded.
    match store.reserve_credits(&project, price(2)).await {
        Err(StoreError::SpendingCap { cap, used, price }) => {
            assert_eq!((cap, used, price), (5, 4, 2));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(assistant_usage(&usage_now(&store, &project).await), (2, 4));

    // A refund takes back exactly its charge, once, and only for its own project.
    store.refund_credits(&stranger, &first).await.unwrap();
    assert_eq!(assistant_usage(&usage_now(&store, &project).await), (2, 4));
    store.refund_credits(&project, &first).await.unwrap();
    store.refund_credits(&project, &first).await.unwrap();
    let usage = usage_now(&store, &project).await;
    assert_eq!(assistant_usage(&usage), (1, 2));
    assert_eq!(usage.credits_used(), 2);
    // The freed credits can be spent again.
    store.reserve_credits(&project, price(3)).await.unwrap();
    assert_eq!(usage_now(&store, &project).await.credits_used(), 5);
}

#[tokio::test]
async fn refunds_never_touch_other_charges() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    kb(&store, &project, "docs").await;
    let before = usage_now(&store, &project).await;
    assert_eq!(before.credits_used(), 3, "the KB's charge");
    // Whatever row a forged reservation names, a content charge stays.
    for id in 0..20 {
        store
            .refund_credits(&project, &Reservation { id })
            .await
            .unwrap();
    }
    assert_eq!(
        usage_now(&store, &project).await.by_action,
        before.by_action
    );
}

#[tokio::test]
async fn concurrent_reservations_never_exceed_the_cap() {
    let db = TestDb::new();
    let store = open(&db).await;
    let project = store.create_project("Capped", Some(5)).await.unwrap().id;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let project = project.clone();
            tokio::spawn(async move {
                store
                    .reserve_credits(&project, Charge::one(Action::AssistantMessage))
                    .await
            })
        })
        .collect();
    let (mut granted, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => granted += 1,
            Err(StoreError::SpendingCap { cap: 5, .. }) => refused += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((granted, refused), (5, 15), "on {}", db.backend());
    assert_eq!(assistant_usage(&usage_now(&store, &project).await), (5, 5));
}

#[tokio::test]
async fn prune_deletes_threads_idle_since_before_the_cut() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let docs = kb(&store, &project, "docs").await;
    let old = store.create_thread(&project, &docs, "old").await.unwrap();
    store
        .append_exchange(&project, &old.id, exchange("old question", None))
        .await
        .unwrap();
    let kept = store.create_thread(&project, &docs, "kept").await.unwrap();
    store
        .append_exchange(&project, &kept.id, exchange("new question", None))
        .await
        .unwrap();
    // `old` was last updated long ago; `kept` just now.
    exec(
        &db,
        format!(
            "UPDATE assistant_threads SET updated_at = '2020-01-01T00:00:00.000Z' \
             WHERE id = '{}'",
            old.id
        ),
    )
    .await;

    assert_eq!(
        store
            .prune_threads("2019-12-31T23:59:59.999Z")
            .await
            .unwrap(),
        0
    );
    let cut = time::iso_millis(time::unix_millis_now() - 60_000);
    assert_eq!(store.prune_threads(&cut).await.unwrap(), 1);
    not_found_thread(store.thread_messages(&project, &old.id).await);
    assert_eq!(
        store
            .thread_messages(&project, &kept.id)
            .await
            .unwrap()
            .1
            .len(),
        2
    );
    let left = store
        .list_conversations(&project, &DateRange::default(), ALL)
        .await
        .unwrap();
    let queries: Vec<&str> = left.items.iter().map(|c| c.query.as_str()).collect();
    assert_eq!(
        queries,
        ["new question"],
        "the messages went with the thread"
    );
    assert_eq!(store.prune_threads(&cut).await.unwrap(), 0);
}

/// More old threads than one prune batch deletes: every one goes, and the count is exact.
#[tokio::test]
async fn prune_deletes_in_batches() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let docs = kb(&store, &project, "docs").await;
    let kept = store.create_thread(&project, &docs, "kept").await.unwrap();
    exec(
        &db,
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1234)
             INSERT INTO assistant_threads (id, project_id, kb_id, fp, created_at, updated_at)
             SELECT 'thr_bulk' || i, '{project}', '{docs}', 'fp',
                    '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z' FROM n;
             INSERT INTO assistant_messages (id, thread_id, project_id, role, content, created_at)
             SELECT 'msg_' || id, id, project_id, 'user', 'q', created_at
             FROM assistant_threads WHERE id LIKE 'thr_bulk%';"
        ),
    )
    .await;
    assert_eq!(
        store
            .prune_threads("2021-01-01T00:00:00.000Z")
            .await
            .unwrap(),
        1234
    );
    not_found_thread(store.thread_messages(&project, "thr_bulk1").await);
    assert_eq!(
        store.get_thread(&project, &docs, &kept.id).await.unwrap(),
        kept
    );
}

#[tokio::test]
async fn deleting_a_kb_deletes_its_threads() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let docs = kb(&store, &project, "docs").await;
    let help = kb(&store, &project, "help").await;
    let gone = store.create_thread(&project, &docs, "fp").await.unwrap();
    let stays = store.create_thread(&project, &help, "fp").await.unwrap();
    for t in [&gone, &stays] {
        store
            .append_exchange(&project, &t.id, exchange("q", None))
            .await
            .unwrap();
    }
    store.delete_kb(&project, &docs).await.unwrap();
    not_found_thread(store.thread_messages(&project, &gone.id).await);
    let left = store
        .list_conversations(&project, &DateRange::default(), ALL)
        .await
        .unwrap();
    assert_eq!(left.items.len(), 1);
    assert_eq!(left.items[0].thread_id, stays.id);
}

/// `tome copy` carries threads and messages, and the reservations in the ledger.
#[tokio::test]
async fn copy_carries_threads_and_messages() {
    let db = TestDb::new();
    let (store, project) = setup(&db).await;
    let docs = kb(&store, &project, "docs").await;
    let t = store.create_thread(&project, &docs, "fp").await.unwrap();
    store
        .append_exchange(&project, &t.id, exchange("q1", Some("/a")))
        .await
        .unwrap();
    store
        .append_exchange(&project, &t.id, exchange("q2", None))
        .await
        .unwrap();
    store
        .reserve_credits(&project, Charge::one(Action::AssistantMessage))
        .await
        .unwrap();

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
        copied.thread_messages(&project, &t.id).await.unwrap(),
        store.thread_messages(&project, &t.id).await.unwrap()
    );
    let list = |s: Arc<dyn Store>| {
        let project = project.clone();
        async move {
            s.list_conversations(&project, &DateRange::default(), ALL)
                .await
                .unwrap()
                .items
        }
    };
    assert_eq!(list(copied.clone()).await, list(store.clone()).await);
    assert_eq!(assistant_usage(&usage_now(&copied, &project).await), (1, 1));
    // New rows on the copy get fresh `seq`s after the copied ones.
    copied
        .append_exchange(&project, &t.id, exchange("q3", None))
        .await
        .unwrap();
    assert_eq!(list(copied).await[0].query, "q3");
}
