//! Migration 3 and the instance-wide uniqueness of public slugs, against a real SQLite file.
#![allow(clippy::unwrap_used)]

use sqlx::Connection;
use tome_core::input::NewKb;
use tome_core::keys::generate_site_key;
use tome_core::model::Theme;
use tome_store::sqlite::SqliteStore;
use tome_store::{InstanceStore, KbStore, OpenOptions, PublicStore, StoreError};

fn kb(slug: &str, is_public: bool) -> NewKb {
    NewKb {
        title: format!("KB {slug}"),
        slug: slug.to_string(),
        description: None,
        is_public,
        theme: Theme::Minimal,
        theme_settings: None,
        logo_path: None,
    }
}

#[tokio::test]
async fn public_slugs_are_unique_and_found_by_slug() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path(), &OpenOptions::default())
        .await
        .unwrap();
    let a = store.create_project("A", None).await.unwrap();
    let b = store.create_project("B", None).await.unwrap();
    let first = store
        .create_kb(&a.id, kb("help", true), &generate_site_key(), 100)
        .await
        .unwrap();
    let err = store
        .create_kb(&b.id, kb("help", true), &generate_site_key(), 100)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(v) if v.field == "slug"),
        "{err:?}"
    );
    // Private KBs may share it; the one public KB is what the slug finds.
    store
        .create_kb(&b.id, kb("help", false), &generate_site_key(), 100)
        .await
        .unwrap();
    let found = store.public_kb_by_slug("help").await.unwrap().unwrap();
    assert_eq!(found.id, first.kb.id);
    assert!(store.public_kb_by_slug("nope").await.unwrap().is_none());
}

#[tokio::test]
async fn migration_3_keeps_the_oldest_public_kb_of_a_clashing_slug() {
    let dir = tempfile::tempdir().unwrap();
    let (older, newer) = {
        let store = SqliteStore::open_dir(dir.path(), &OpenOptions::default())
            .await
            .unwrap();
        let a = store.create_project("A", None).await.unwrap();
        let b = store.create_project("B", None).await.unwrap();
        let older = store
            .create_kb(&a.id, kb("help", true), &generate_site_key(), 100)
            .await
            .unwrap();
        let newer = store
            .create_kb(&b.id, kb("help", false), &generate_site_key(), 100)
            .await
            .unwrap();
        (older.kb.id, newer.kb.id)
    };
    // Recreate a database from before migration 3 that holds two public KBs with one slug.
    let url = format!("sqlite://{}", dir.path().join("tome.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "DROP INDEX knowledge_bases_public_slug;
         DELETE FROM schema_migrations WHERE version = 3;
         UPDATE knowledge_bases SET is_public = 1;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let store = SqliteStore::open_dir(dir.path(), &OpenOptions::default())
        .await
        .unwrap();
    let project_of = |id: &str| {
        let store = store.clone();
        let id = id.to_string();
        async move {
            for p in store.list_projects().await.unwrap() {
                if let Ok(k) = store.get_kb(&p.id, &id).await {
                    return k;
                }
            }
            panic!("kb {id} not found");
        }
    };
    assert!(project_of(&older).await.is_public);
    assert!(!project_of(&newer).await.is_public);
    assert_eq!(
        store.public_kb_by_slug("help").await.unwrap().unwrap().id,
        older
    );
}
