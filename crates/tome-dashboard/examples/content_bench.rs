//! Times the dashboard's content pages on a large KB: the tldr corpus (7,425 articles; one
//! category per platform, one section per first letter) in one KB, then the content tree, the
//! first page of the largest section and the search tester, each requested in process through
//! the real router (server time: no network), printing p50/p99/max per page.
//!
//! `cargo run --release -p tome-dashboard --example content_bench [-- <pages.jsonl> [rounds]]`
//! (default corpus: `../shared/corpora/tldr/pages-en.jsonl` from the repository root). Uses a
//! temp SQLite database, or PostgreSQL when `TOME_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::time::Instant;

use tome_core::input::{NewArticle, NewCategory, NewKb, NewSection};
use tome_core::model::{Status, Theme};

use support::TestApp;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let corpus = args
        .next()
        .unwrap_or_else(|| "../shared/corpora/tldr/pages-en.jsonl".to_string());
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(300);
    let text = std::fs::read_to_string(&corpus).expect("the corpus (pass its path)");
    let pages: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();

    let app = TestApp::new().await;
    let store = &app.store;
    let project = app.project_id.clone();
    let kb = store
        .create_kb(
            &project,
            NewKb {
                title: "tldr".into(),
                slug: "tldr".into(),
                description: None,
                is_public: false,
                theme: Theme::default(),
                theme_settings: None,
                logo_path: None,
            },
            &tome_core::keys::generate_site_key(),
            100,
        )
        .await
        .expect("kb")
        .kb;
    let started = Instant::now();
    // Category per platform, section per first letter, articles in batches.
    let mut places: BTreeMap<(String, char), Vec<&serde_json::Value>> = BTreeMap::new();
    for p in &pages {
        let title = p["title"].as_str().unwrap_or("x");
        let letter = title.chars().next().unwrap_or('_').to_ascii_lowercase();
        places
            .entry((p["category"].as_str().unwrap_or("misc").to_string(), letter))
            .or_default()
            .push(p);
    }
    let mut categories: BTreeMap<String, String> = BTreeMap::new();
    let mut largest: (usize, String, String) = (0, String::new(), String::new());
    for ((platform, letter), items) in &places {
        if !categories.contains_key(platform) {
            let c = store
                .create_category(
                    &project,
                    &kb.id,
                    NewCategory {
                        name: platform.clone(),
                        description: None,
                        icon: None,
                        sort_order: 0,
                    },
                )
                .await
                .expect("category");
            categories.insert(platform.clone(), c.id);
        }
        let category_id = categories[platform].clone();
        let section = store
            .create_section(
                &project,
                &kb.id,
                NewSection {
                    category_id: category_id.clone(),
                    name: letter.to_uppercase().to_string(),
                    description: None,
                    sort_order: 0,
                },
            )
            .await
            .expect("section");
        if items.len() > largest.0 {
            largest = (items.len(), category_id.clone(), section.id.clone());
        }
        for batch in items.chunks(500) {
            let new = batch
                .iter()
                .map(|p| NewArticle {
                    category_id: category_id.clone(),
                    section_id: Some(section.id.clone()),
                    title: p["title"]
                        .as_str()
                        .unwrap_or("x")
                        .chars()
                        .take(500)
                        .collect(),
                    body: p["body"].as_str().unwrap_or_default().to_string(),
                    excerpt: p["excerpt"].as_str().map(|e| e.chars().take(500).collect()),
                    status: Status::Published,
                    tags: Vec::new(),
                    related_articles: Vec::new(),
                    sort_order: 0,
                })
                .collect();
            store
                .create_articles(&project, &kb.id, new, true)
                .await
                .expect("articles");
        }
    }
    println!(
        "loaded {} articles in {} categories, {} sections in {:.1} s",
        pages.len(),
        categories.len(),
        places.len(),
        started.elapsed().as_secs_f64()
    );

    // The tree's one aggregate read on its own, to tell the database's share from rendering.
    let t = Instant::now();
    for _ in 0..rounds {
        store
            .content_counts(&project, &kb.id)
            .await
            .expect("counts");
    }
    println!(
        "content_counts alone: {:.2} ms on average",
        t.elapsed().as_secs_f64() * 1000.0 / rounds as f64
    );

    let mut b = app.signed_in().await;
    let tree = format!("/dashboard/kb/{}", kb.id);
    let list = format!(
        "/dashboard/kb/{}/articles?category_id={}&section_id={}",
        kb.id, largest.1, largest.2
    );
    let search = format!("/dashboard/kb/{}/search?q=compress+archive", kb.id);
    // The first search indexes the whole KB; warm every page once.
    for path in [&tree, &list, &search] {
        let page = b.get(path).await;
        assert_eq!(page.status.as_u16(), 200, "{path}: {}", page.text);
    }
    println!("page                       p50 ms   p99 ms   max ms   ({rounds} requests each)");
    for (name, path) in [
        ("content tree", &tree),
        ("largest section (25/page)", &list),
        ("search tester", &search),
    ] {
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            let page = b.get(path).await;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(page.status.as_u16(), 200);
        }
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() as f64 * p).ceil() as usize).saturating_sub(1)];
        println!(
            "{name:<26} {:>6.2}   {:>6.2}   {:>6.2}",
            pct(0.50),
            pct(0.99),
            times[times.len() - 1]
        );
    }
}
