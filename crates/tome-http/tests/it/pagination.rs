//! Cursor pagination on every list: complete walks, walks under inserts, bad cursors and limits.

use serde_json::{Value, json};

use crate::support::{TestApp, id_of};

const N: usize = 23;

/// The sort key used for the `i`-th item: a mix of negative, zero and positive values with ties.
fn sort_key(i: usize) -> i64 {
    ((i * 7) % 5) as i64 - 2
}

/// `ids` reordered as a list sorted by `sort_key`, then creation, must be.
fn expected_order(ids: &[String]) -> Vec<String> {
    let mut v: Vec<(i64, usize, String)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (sort_key(i), i, id.clone()))
        .collect();
    v.sort();
    v.into_iter().map(|(_, _, id)| id).collect()
}

fn with_query(path: &str, query: &str) -> String {
    if path.contains('?') {
        format!("{path}&{query}")
    } else {
        format!("{path}?{query}")
    }
}

/// Fetches one page, checking the envelope; returns `(ids, next_cursor)`.
async fn page(
    app: &TestApp,
    path: &str,
    limit: usize,
    cursor: Option<&str>,
) -> (Vec<String>, Option<String>) {
    let mut url = with_query(path, &format!("limit={limit}"));
    if let Some(c) = cursor {
        url = with_query(&url, &format!("cursor={c}"));
    }
    let r = app.get(&url).await;
    r.assert_status(200);
    let items = r
        .data()
        .as_array()
        .unwrap_or_else(|| panic!("data is not a list: {}", r.text));
    assert!(
        items.len() <= limit,
        "page of {} exceeds limit {limit}",
        items.len()
    );
    let p = &r.body["pagination"];
    let has_more = p["has_more"]
        .as_bool()
        .unwrap_or_else(|| panic!("no has_more: {}", r.text));
    let next = p["next_cursor"].as_str().map(str::to_string);
    if has_more {
        assert!(next.is_some(), "has_more without next_cursor: {}", r.text);
        assert_eq!(items.len(), limit, "a page with more to come is full");
    } else {
        assert_eq!(
            p["next_cursor"],
            Value::Null,
            "last page has next_cursor null: {}",
            r.text
        );
    }
    let ids = items
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    (ids, next)
}

/// Follows `next_cursor` from the first page until `has_more` is false.
async fn walk(app: &TestApp, path: &str, limit: usize) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let (ids, next) = page(app, path, limit, cursor.as_deref()).await;
        all.extend(ids);
        match next {
            Some(c) => cursor = Some(c),
            None => return all,
        }
    }
    panic!("pagination of {path} did not terminate");
}

fn assert_unique(ids: &[String]) {
    let mut sorted = ids.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        ids.len(),
        "an item was returned twice: {ids:?}"
    );
}

/// One KB with `N` categories, sections, articles and FAQs (with varied `sort_order`).
struct Populated {
    app: TestApp,
    kb: String,
    categories: Vec<String>,
    sections: Vec<String>,
    articles: Vec<String>,
    faqs: Vec<String>,
}

async fn populated() -> Populated {
    let app = TestApp::new().await;
    let kb = app.create_kb("main").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut categories = Vec::new();
    for i in 0..N {
        let r = app
            .post(
                &format!("/v1/kb/{kb}/categories"),
                json!({ "name": format!("cat {i}"), "sort_order": sort_key(i) }),
            )
            .await;
        r.assert_status(201);
        categories.push(id_of(&r));
    }
    let mut sections = Vec::new();
    for i in 0..N {
        let r = app
            .post(
                &format!("/v1/kb/{kb}/sections"),
                json!({ "category_id": categories[i % 2], "name": format!("sec {i}"), "sort_order": sort_key(i) }),
            )
            .await;
        r.assert_status(201);
        sections.push(id_of(&r));
    }
    let mut articles = Vec::new();
    for i in 0..N {
        let a = app
            .create_article(
                &kb,
                &categories[i % 3],
                json!({ "title": format!("art {i}"), "sort_order": sort_key(i) }),
            )
            .await;
        articles.push(a["id"].as_str().unwrap().to_string());
    }
    let mut faqs = Vec::new();
    for i in 0..N {
        let f = app
            .create_faq(
                &kb,
                &categories[i % 3],
                json!({ "question": format!("faq {i}?"), "sort_order": sort_key(i) }),
            )
            .await;
        faqs.push(f["id"].as_str().unwrap().to_string());
    }
    Populated {
        app,
        kb,
        categories,
        sections,
        articles,
        faqs,
    }
}

impl Populated {
    fn lists(&self) -> Vec<(String, Vec<String>)> {
        let kb = &self.kb;
        vec![
            (
                format!("/v1/kb/{kb}/categories"),
                expected_order(&self.categories),
            ),
            (
                format!("/v1/kb/{kb}/sections"),
                expected_order(&self.sections),
            ),
            (
                format!("/v1/kb/{kb}/articles"),
                expected_order(&self.articles),
            ),
            (format!("/v1/kb/{kb}/faqs"), expected_order(&self.faqs)),
        ]
    }
}

// ------------------------------------------------------------------------------------ walks

#[tokio::test]
async fn walking_content_lists_returns_every_item_once_in_order() {
    let p = populated().await;
    for (path, expected) in p.lists() {
        let seen = walk(&p.app, &path, 7).await;
        assert_unique(&seen);
        assert_eq!(seen, expected, "walk of {path}");
        // Every page size gives the same sequence.
        for limit in [1, 5, 22, 23, 24] {
            assert_eq!(
                walk(&p.app, &path, limit).await,
                expected,
                "walk of {path} with limit {limit}"
            );
        }
    }
}

#[tokio::test]
async fn walking_the_kb_list_returns_every_kb_once_in_creation_order() {
    let app = TestApp::new().await;
    let mut created = Vec::new();
    for i in 0..N {
        created.push(
            app.create_kb(&format!("kb-{i}")).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // Another tenant's KBs never appear.
    let (_, other_key) = app.new_project("other").await;
    let r = app
        .call(
            axum::http::Method::POST,
            "/v1/kb",
            Some(&other_key),
            Some(json!({ "title": "Theirs", "slug": "theirs" })),
        )
        .await;
    r.assert_status(201);

    let seen = walk(&app, "/v1/kb", 7).await;
    assert_unique(&seen);
    assert_eq!(seen, created);
    assert_eq!(walk(&app, "/v1/kb", 1).await, created);
    assert_eq!(walk(&app, "/v1/kb", 23).await, created);
}

#[tokio::test]
async fn walking_a_filtered_list_stays_within_the_filter() {
    let p = populated().await;
    let cat = &p.categories[0];
    // Articles with index % 3 == 0 are in categories[0].
    let mine: Vec<String> = p
        .articles
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .map(|(_, a)| a.clone())
        .collect();
    let expected: Vec<String> = expected_order(&p.articles)
        .into_iter()
        .filter(|a| mine.contains(a))
        .collect();
    let seen = walk(
        &p.app,
        &format!("/v1/kb/{}/articles?category_id={cat}", p.kb),
        3,
    )
    .await;
    assert_eq!(seen, expected);
    let sections: Vec<String> = expected_order(&p.sections)
        .into_iter()
        .filter(|s| p.sections.iter().position(|x| x == s).unwrap() % 2 == 0)
        .collect();
    let seen = walk(
        &p.app,
        &format!("/v1/kb/{}/sections?category_id={cat}", p.kb),
        4,
    )
    .await;
    assert_eq!(seen, sections);
}

#[tokio::test]
async fn walking_while_articles_are_added_sees_every_original_once() {
    let p = populated().await;
    let path = format!("/v1/kb/{}/articles", p.kb);
    let (first, cursor) = page(&p.app, &path, 7, None).await;
    assert_eq!(first.len(), 7);

    // The first page is the five items with sort_order -2 and two of the four with -1.
    // Insert 5 articles: some sort before the cursor, some after, one ties with the last seen
    // (same sort_order, created later, so after it).
    let mut added_after = Vec::new();
    let mut added = Vec::new();
    for (i, sort) in [-5i64, 0, 2, 7, -1].into_iter().enumerate() {
        let a = p
            .app
            .create_article(
                &p.kb,
                &p.categories[0],
                json!({ "title": format!("late {i}"), "sort_order": sort }),
            )
            .await;
        let id = a["id"].as_str().unwrap().to_string();
        if sort >= -1 {
            added_after.push(id.clone());
        }
        added.push(id);
    }

    let mut seen = first;
    let mut cursor = cursor;
    while let Some(c) = cursor {
        let (ids, next) = page(&p.app, &path, 7, Some(&c)).await;
        seen.extend(ids);
        cursor = next;
    }
    assert_unique(&seen);
    for a in &p.articles {
        assert_eq!(
            seen.iter().filter(|s| *s == a).count(),
            1,
            "original {a} seen exactly once"
        );
    }
    for a in &added_after {
        assert!(
            seen.contains(a),
            "article {a} added after the cursor position is seen"
        );
    }
    for a in &seen {
        assert!(
            p.articles.contains(a) || added.contains(a),
            "unknown item {a}"
        );
    }
}

#[tokio::test]
async fn walking_while_items_are_added_between_every_page() {
    let p = populated().await;
    for (path, expected) in p.lists() {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut added = Vec::new();
        for n in 0.. {
            let (ids, next) = page(&p.app, &path, 7, cursor.as_deref()).await;
            seen.extend(ids);
            let Some(c) = next else { break };
            cursor = Some(c);
            // An insert at the very front and one at the very end of the order.
            for sort in [-100i64, 100] {
                let mut body = json!({
                    "name": format!("new {n} {sort}"), "title": format!("new {n} {sort}"),
                    "question": format!("new {n} {sort}?"), "answer": "A.",
                    "category_id": p.categories[0], "sort_order": sort,
                });
                let obj = body.as_object_mut().unwrap();
                if path.ends_with("/categories") {
                    for k in ["title", "question", "answer", "category_id"] {
                        obj.remove(k);
                    }
                } else if path.ends_with("/sections") {
                    for k in ["title", "question", "answer"] {
                        obj.remove(k);
                    }
                } else if path.ends_with("/articles") {
                    for k in ["name", "question", "answer"] {
                        obj.remove(k);
                    }
                } else {
                    for k in ["name", "title"] {
                        obj.remove(k);
                    }
                }
                let r = p.app.post(&path, body).await;
                r.assert_status(201);
                added.push((sort, id_of(&r)));
            }
        }
        assert_unique(&seen);
        let originals: Vec<String> = seen
            .iter()
            .filter(|s| expected.contains(s))
            .cloned()
            .collect();
        assert_eq!(
            originals, expected,
            "originals of {path} in order, once each"
        );
        for (sort, id) in &added {
            if *sort == 100 {
                assert!(
                    seen.contains(id),
                    "{path}: item appended at the end is seen"
                );
            } else {
                assert!(
                    !seen.contains(id),
                    "{path}: item inserted before the cursor is not"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------- cursors

/// Replaces the character in the middle of `cursor` with a different base64url character.
fn tamper(cursor: &str) -> String {
    let mut chars: Vec<char> = cursor.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[track_caller]
fn assert_bad_cursor(r: &crate::support::TestResponse) {
    r.assert_error(400, "invalid_request");
    assert_eq!(r.field(), "cursor", "body: {}", r.text);
}

#[tokio::test]
async fn tampered_or_garbage_cursors_are_400() {
    let p = populated().await;
    let mut lists = p
        .lists()
        .into_iter()
        .map(|(path, _)| path)
        .collect::<Vec<_>>();
    for i in 0..3 {
        p.app.create_kb(&format!("extra-{i}")).await;
    }
    lists.push("/v1/kb".to_string());
    for path in lists {
        let (_, next) = page(&p.app, &path, 2, None).await;
        let good = next.unwrap();
        // The genuine cursor works.
        let r = p
            .app
            .get(&with_query(&path, &format!("limit=2&cursor={good}")))
            .await;
        r.assert_status(200);

        let bad = tamper(&good);
        assert_ne!(bad, good);
        assert_bad_cursor(
            &p.app
                .get(&with_query(&path, &format!("limit=2&cursor={bad}")))
                .await,
        );
        for garbage in [
            "garbage",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "!!!",
            "%25%25",
            "eyJzb3J0IjowLCJzZXEiOjF9",
        ] {
            assert_bad_cursor(
                &p.app
                    .get(&with_query(&path, &format!("cursor={garbage}")))
                    .await,
            );
        }
        // Truncated and extended cursors.
        assert_bad_cursor(
            &p.app
                .get(&with_query(
                    &path,
                    &format!("cursor={}", &good[..good.len() - 2]),
                ))
                .await,
        );
        assert_bad_cursor(
            &p.app
                .get(&with_query(&path, &format!("cursor={good}AA")))
                .await,
        );
    }
}

#[tokio::test]
async fn a_cursor_from_another_list_is_400() {
    let p = populated().await;
    for i in 0..3 {
        p.app.create_kb(&format!("extra-{i}")).await;
    }
    let kb = &p.kb;
    let mut cursors = Vec::new();
    let lists = [
        "/v1/kb".to_string(),
        format!("/v1/kb/{kb}/categories"),
        format!("/v1/kb/{kb}/sections"),
        format!("/v1/kb/{kb}/articles"),
        format!("/v1/kb/{kb}/faqs"),
    ];
    for path in &lists {
        cursors.push(page(&p.app, path, 2, None).await.1.unwrap());
    }
    for (i, from) in lists.iter().enumerate() {
        for (j, to) in lists.iter().enumerate() {
            if i == j {
                continue;
            }
            let r = p
                .app
                .get(&with_query(to, &format!("cursor={}", cursors[i])))
                .await;
            assert_eq!(
                r.status.as_u16(),
                400,
                "cursor of {from} used on {to}: {}",
                r.text
            );
            assert_bad_cursor(&r);
        }
    }
}

// ----------------------------------------------------------------------------------- limits

#[tokio::test]
async fn limit_out_of_range_is_422() {
    let p = populated().await;
    let mut lists = p
        .lists()
        .into_iter()
        .map(|(path, _)| path)
        .collect::<Vec<_>>();
    lists.push("/v1/kb".to_string());
    for path in &lists {
        for bad in [
            "0",
            "101",
            "-1",
            "abc",
            "1.5",
            "1e2",
            "99999999999999999999",
        ] {
            let r = p.app.get(&with_query(path, &format!("limit={bad}"))).await;
            r.assert_error(422, "validation_error");
            assert_eq!(r.field(), "limit", "limit={bad} on {path}");
        }
    }
}

#[tokio::test]
async fn limit_100_and_the_default_of_20() {
    let p = populated().await;
    for (path, expected) in p.lists() {
        let (ids, next) = page(&p.app, &path, 100, None).await;
        assert_eq!(ids, expected, "limit=100 returns all {N} of {path}");
        assert_eq!(next, None);

        let r = p.app.get(&path).await;
        r.assert_status(200);
        let ids: Vec<String> = r
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, expected[..20], "default page of {path}");
        assert_eq!(r.body["pagination"]["has_more"], true);
        let cursor = r.body["pagination"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_string();
        let r = p
            .app
            .get(&with_query(&path, &format!("cursor={cursor}")))
            .await;
        r.assert_status(200);
        let rest: Vec<String> = r
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(rest, expected[20..]);
        assert_eq!(r.body["pagination"]["has_more"], false);
        assert_eq!(r.body["pagination"]["next_cursor"], Value::Null);
    }

    for i in 0..N {
        p.app.create_kb(&format!("kb-{i}")).await;
    }
    let r = p.app.get("/v1/kb").await;
    assert_eq!(r.data().as_array().unwrap().len(), 20);
    assert_eq!(r.body["pagination"]["has_more"], true);
    let r = p.app.get("/v1/kb?limit=100").await;
    assert_eq!(r.data().as_array().unwrap().len(), N + 1);
    assert_eq!(r.body["pagination"]["has_more"], false);
}

#[tokio::test]
async fn empty_lists_have_no_cursor() {
    let app = TestApp::new().await;
    let r = app.get("/v1/kb").await;
    r.assert_status(200);
    assert_eq!(
        r.body,
        json!({ "data": [], "pagination": { "next_cursor": null, "has_more": false } })
    );
    let kb = app.create_kb("empty").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for list in ["categories", "sections", "articles", "faqs"] {
        let r = app.get(&format!("/v1/kb/{kb}/{list}")).await;
        r.assert_status(200);
        assert_eq!(
            r.body,
            json!({ "data": [], "pagination": { "next_cursor": null, "has_more": false } }),
            "{list}"
        );
    }
    // Exactly `limit` items: one page, nothing more.
    let cat = app.create_category(&kb, "only").await;
    let r = app.get(&format!("/v1/kb/{kb}/categories?limit=1")).await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    assert_eq!(r.data()[0]["id"], cat.as_str());
    assert_eq!(
        r.body["pagination"],
        json!({ "next_cursor": null, "has_more": false })
    );
}

#[tokio::test]
async fn walking_concurrently_with_inserts_sees_every_original_once() {
    let p = populated().await;
    let path = format!("/v1/kb/{}/faqs", p.kb);
    let expected = expected_order(&p.faqs);
    let walker = async {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (ids, next) = page(&p.app, &path, 3, cursor.as_deref()).await;
            seen.extend(ids);
            tokio::task::yield_now().await;
            match next {
                Some(c) => cursor = Some(c),
                None => break seen,
            }
        }
    };
    let inserter = async {
        let mut added = Vec::new();
        for i in 0..12i64 {
            let sort = [-3, 0, 3][(i % 3) as usize];
            let f = p
                .app
                .create_faq(
                    &p.kb,
                    &p.categories[1],
                    json!({ "question": format!("racing {i}?"), "sort_order": sort }),
                )
                .await;
            added.push(f["id"].as_str().unwrap().to_string());
            tokio::task::yield_now().await;
        }
        added
    };
    let (seen, added) = tokio::join!(walker, inserter);
    assert_unique(&seen);
    let originals: Vec<String> = seen
        .iter()
        .filter(|s| expected.contains(s))
        .cloned()
        .collect();
    assert_eq!(originals, expected, "every original once, in order");
    for s in &seen {
        assert!(
            expected.contains(s) || added.contains(s),
            "unknown item {s}"
        );
    }
    // Afterwards a fresh walk sees everything.
    let all = walk(&p.app, &path, 7).await;
    assert_eq!(all.len(), N + 12);
    assert_unique(&all);
}
