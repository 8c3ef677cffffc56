//! Several `tome serve` nodes on one PostgreSQL database and one Redis behave as one: writes on
//! one node are visible on the others (API, public API, hosted pages, search) within the
//! documented bound, limits and credit caps hold in total, and Redis or PostgreSQL going away
//! degrades service without losing acknowledged writes.
//!
//! Each test runs its own PostgreSQL cluster and Redis server (see `cluster`), so stopping them
//! disturbs nothing else.
#![allow(clippy::unwrap_used)]

mod cluster;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use cluster::{Node, PrivatePostgres, PrivateRedis, Resp, cli_json, within};

/// How soon a write on one node must be visible in another node's caches and search index.
const BOUND: Duration = Duration::from_secs(1);

/// Two nodes on a fresh cluster and Redis, and the admin key the first one printed.
struct Cluster {
    pg: PrivatePostgres,
    redis: PrivateRedis,
    a: Node,
    b: Node,
    key: String,
}

fn cluster(extra: &[&str]) -> Option<Cluster> {
    let pg = PrivatePostgres::start()?;
    let redis = PrivateRedis::start()?;
    let mut args = vec!["--redis-url", &*Box::leak(redis.url().into_boxed_str())];
    args.extend_from_slice(extra);
    let a = Node::start(&pg.url(), &args);
    let key = a
        .printed_key
        .clone()
        .expect("first node prints the admin key");
    let b = Node::start(&pg.url(), &args);
    assert!(b.printed_key.is_none(), "only the first start bootstraps");
    Some(Cluster {
        pg,
        redis,
        a,
        b,
        key,
    })
}

/// A public KB with one category and one published article; returns (kb_id, site_key, cat_id).
fn help_centre(node: &Node, key: &str, slug: &str) -> (String, String, String) {
    let kb = node.api(
        "POST",
        "/v1/kb",
        key,
        Some(&json!({"title": "Help", "slug": slug, "is_public": true})),
    );
    assert_eq!(kb.status, 201, "{}", kb.text);
    let kb_id = kb.id();
    let site_key = kb.data()["site_key"].as_str().unwrap().to_string();
    let cat = node.api(
        "POST",
        &format!("/v1/kb/{kb_id}/categories"),
        key,
        Some(&json!({"name": "Getting started"})),
    );
    assert_eq!(cat.status, 201, "{}", cat.text);
    (kb_id, site_key, cat.id())
}

fn public(node: &Node, slug: &str, path: &str, site_key: &str, client: &str) -> Resp {
    node.call(
        "GET",
        &format!("/v1/kb/public/{slug}/{path}"),
        &[
            ("x-minolith-site-key", site_key),
            ("x-forwarded-for", client),
        ],
        None,
    )
}

#[test]
fn a_write_on_one_node_is_visible_on_the_other_everywhere() {
    let Some(c) = cluster(&["--trusted-proxies", "127.0.0.1"]) else {
        return;
    };
    let (kb_id, site_key, cat) = help_centre(&c.a, &c.key, "acme");
    let article = c.a.api(
        "POST",
        &format!("/v1/kb/{kb_id}/articles"),
        &c.key,
        Some(&json!({"category_id": cat, "title": "Reset your password",
            "body": "Click **Forgot password** on the sign-in page.", "status": "published"})),
    );
    assert_eq!(article.status, 201, "{}", article.text);
    let article_id = article.id();

    // The management API reads the database: visible on B at once.
    let got = c.b.api(
        "GET",
        &format!("/v1/kb/{kb_id}/articles/{article_id}"),
        &c.key,
        None,
    );
    assert_eq!(got.status, 200);

    // Warm B's caches (public API, hosted page) and index, then write on A.
    let title_on_b = |path: &str| {
        public(&c.b, "acme", path, &site_key, "10.1.0.1").json["data"]["title"].clone()
    };
    assert_eq!(
        title_on_b(&format!("articles/{article_id}")),
        "Reset your password"
    );
    let page =
        c.b.call("GET", &format!("/hc/acme/articles/{article_id}"), &[], None);
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Reset your password"));
    let search_b = |q: &str| {
        c.b.api("GET", &format!("/v1/kb/{kb_id}/search?q={q}"), &c.key, None)
            .json["data"]["articles"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|h| h["id"].as_str().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    within(BOUND * 2, "B indexes A's first article", || {
        search_b("password") == [article_id.clone()]
    });

    let written = Instant::now();
    let edit = c.a.api(
        "PUT",
        &format!("/v1/kb/{kb_id}/articles/{article_id}"),
        &c.key,
        Some(&json!({"title": "Change your passphrase"})),
    );
    assert_eq!(edit.status, 200, "{}", edit.text);

    let api_lag = within(BOUND, "public API on B", || {
        title_on_b(&format!("articles/{article_id}")) == "Change your passphrase"
    });
    let hosted_lag = within(BOUND, "hosted page on B", || {
        c.b.call("GET", &format!("/hc/acme/articles/{article_id}"), &[], None)
            .text
            .contains("Change your passphrase")
    });
    let search_lag = within(BOUND, "search on B", || {
        search_b("passphrase") == [article_id.clone()]
    });
    eprintln!(
        "visible on B after {:?} (public API), {:?} (hosted), {:?} (search); total {:?}",
        api_lag,
        hosted_lag,
        search_lag,
        written.elapsed()
    );

    // A delete on B disappears from A's caches too.
    let del = c.b.api(
        "DELETE",
        &format!("/v1/kb/{kb_id}/articles/{article_id}"),
        &c.key,
        None,
    );
    assert_eq!(del.status, 204);
    within(BOUND, "delete reaches A's public cache", || {
        public(
            &c.a,
            "acme",
            &format!("articles/{article_id}"),
            &site_key,
            "10.1.0.2",
        )
        .status
            == 404
    });
}

#[test]
fn revocations_reach_every_node() {
    let Some(c) = cluster(&["--trusted-proxies", "127.0.0.1"]) else {
        return;
    };
    let url = c.pg.url();
    let (kb_id, site_key, _) = help_centre(&c.a, &c.key, "revoking");
    // Both nodes have the site key and an extra admin key cached.
    let project_id = c.a.api("GET", "/v1/project", &c.key, None).id();
    let extra = cli_json(
        &url,
        &["key", "create", "--project", &project_id, "--kind", "admin"],
    );
    let (extra_id, extra) = (
        extra["id"].as_str().unwrap().to_string(),
        extra["key"].as_str().unwrap().to_string(),
    );
    for node in [&c.a, &c.b] {
        assert_eq!(
            public(node, "revoking", "structure", &site_key, "10.2.0.1").status,
            200
        );
        assert_eq!(node.api("GET", "/v1/kb", &extra, None).status, 200);
    }

    // A site key revoked on A stops working on B.
    let rotated = c.a.api(
        "POST",
        &format!("/v1/kb/{kb_id}/site-key/revoke"),
        &c.key,
        None,
    );
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_key = rotated.data()["site_key"].as_str().unwrap().to_string();
    assert_eq!(
        public(&c.a, "revoking", "structure", &site_key, "10.2.0.1").status,
        403,
        "on the node that revoked it, at once"
    );
    within(BOUND, "the revoked site key refused on B", || {
        public(&c.b, "revoking", "structure", &site_key, "10.2.0.1").status == 403
    });
    assert_eq!(
        public(&c.b, "revoking", "structure", &new_key, "10.2.0.1").status,
        200
    );

    // An admin key revoked by the CLI stops working on both nodes.
    cli_json(&url, &["key", "revoke", &extra_id]);
    within(BOUND, "the revoked admin key refused on both nodes", || {
        [&c.a, &c.b]
            .iter()
            .all(|node| node.api("GET", "/v1/kb", &extra, None).status == 401)
    });
    assert_eq!(c.b.api("GET", "/v1/kb", &c.key, None).status, 200);
}

#[test]
fn a_site_key_limit_holds_in_total_across_nodes() {
    let Some(c) = cluster(&["--trusted-proxies", "127.0.0.1"]) else {
        return;
    };
    let (kb_id, site_key, _) = help_centre(&c.a, &c.key, "limits");
    let set = c.b.api(
        "PUT",
        &format!("/v1/kb/{kb_id}/site-key"),
        &c.key,
        Some(&json!({"rate_limit": 7})),
    );
    assert_eq!(set.status, 200, "{}", set.text);
    wait_for_fresh_window();
    let mut ok = 0;
    for i in 0..30 {
        let node = if i % 2 == 0 { &c.a } else { &c.b };
        let r = public(node, "limits", "structure", &site_key, "10.2.0.1");
        match r.status {
            200 => ok += 1,
            429 => assert!(r.header("retry-after").is_some()),
            s => panic!("unexpected {s}: {}", r.text),
        }
    }
    assert_eq!(ok, 7, "N per minute in total, not N per node");
}

#[test]
fn credit_caps_bulk_and_pagination_hold_across_nodes() {
    let Some(c) = cluster(&[]) else {
        return;
    };
    let url = c.pg.url();
    let project = cli_json(
        &url,
        &[
            "project",
            "create",
            "--name",
            "Capped",
            "--credit-cap",
            "50",
        ],
    );
    let project_id = project["id"].as_str().unwrap().to_string();
    let key = cli_json(
        &url,
        &["key", "create", "--project", &project_id, "--kind", "admin"],
    );
    let key = key["key"].as_str().unwrap().to_string();
    // KB 3 + category 2 = 5 credits; 45 left = 15 articles of 3.
    let (kb_id, _, cat) = help_centre(&c.a, &key, "capped");

    let results: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let node = if i % 2 == 0 { &c.a } else { &c.b };
                let (key, kb_id, cat) = (&key, &kb_id, &cat);
                s.spawn(move || {
                    node.api(
                        "POST",
                        &format!("/v1/kb/{kb_id}/articles"),
                        key,
                        Some(&json!({"category_id": cat, "title": format!("Article {i}"), "body": "x"})),
                    )
                    .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|&&s| s == 201).count(),
        15,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|&&s| s == 402).count(),
        5,
        "{results:?}"
    );
    let usage = c.b.api("GET", "/v1/usage", &key, None);
    assert_eq!(usage.data()["credits_used"], 50, "{}", usage.text);

    // A bulk that would pass the cap writes nothing, on either node.
    let items: Vec<Value> = (0..2)
        .map(|i| json!({"category_id": cat, "title": format!("Bulk {i}"), "body": "x"}))
        .collect();
    let bulk = c.b.api(
        "POST",
        &format!("/v1/kb/{kb_id}/articles/bulk"),
        &key,
        Some(&json!({"articles": items})),
    );
    assert_eq!(bulk.status, 402, "{}", bulk.text);

    // Walking pages alternately on both nodes returns every article exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0.. {
        let node = if page % 2 == 0 { &c.a } else { &c.b };
        let path = match &cursor {
            Some(cur) => format!("/v1/kb/{kb_id}/articles?limit=4&cursor={cur}"),
            None => format!("/v1/kb/{kb_id}/articles?limit=4"),
        };
        let r = node.api("GET", &path, &key, None);
        assert_eq!(r.status, 200, "{}", r.text);
        for a in r.json["data"].as_array().unwrap() {
            seen.push(a["id"].as_str().unwrap().to_string());
        }
        match r.json["pagination"]["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(seen.len(), 15);
    assert_eq!(unique.len(), 15);
}

#[test]
fn redis_outage_degrades_to_per_node_limits_and_recovers() {
    let Some(mut c) = cluster(&["--trusted-proxies", "127.0.0.1"]) else {
        return;
    };
    let (kb_id, site_key, _) = help_centre(&c.a, &c.key, "outage");
    let set = c.a.api(
        "PUT",
        &format!("/v1/kb/{kb_id}/site-key"),
        &c.key,
        Some(&json!({"rate_limit": 5})),
    );
    assert_eq!(set.status, 200);
    wait_for_fresh_window();

    c.redis.stop();
    let mut ok = 0;
    for i in 0..30 {
        let node = if i % 2 == 0 { &c.a } else { &c.b };
        let r = public(node, "outage", "structure", &site_key, "10.3.0.1");
        assert!(
            r.status == 200 || r.status == 429,
            "no 5xx while Redis is down: {}",
            r.text
        );
        ok += usize::from(r.status == 200);
        // Management requests keep working too.
        assert_eq!(node.api("GET", "/v1/project", &c.key, None).status, 200);
    }
    assert_eq!(ok, 10, "each node limits on its own while Redis is down");
    let ready = c.a.call("GET", "/readyz", &[], None);
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json["redis"], "unreachable");
    let metrics = c.b.call("GET", "/metrics", &[], None);
    assert!(metrics.text.contains("tome_redis_up 0"), "{}", metrics.text);

    c.redis.spawn();
    // Shared limits resume without a restart: a new client gets 5 in total across both nodes.
    within(Duration::from_secs(10), "nodes back on Redis", || {
        c.a.call("GET", "/readyz", &[], None).json["redis"] == "ok"
            && c.b.call("GET", "/readyz", &[], None).json["redis"] == "ok"
    });
    // One request per node lets each limiter notice Redis is back before the counted run.
    public(&c.a, "outage", "structure", &site_key, "10.3.0.99");
    public(&c.b, "outage", "structure", &site_key, "10.3.0.99");
    wait_for_fresh_window();
    let mut ok = 0;
    for i in 0..20 {
        let node = if i % 2 == 0 { &c.a } else { &c.b };
        ok += usize::from(public(node, "outage", "structure", &site_key, "10.3.0.2").status == 200);
    }
    assert_eq!(ok, 5, "limits are shared again");
}

#[test]
fn postgres_outage_fails_fast_with_503_and_recovers_without_losing_writes() {
    let Some(mut c) = cluster(&[]) else {
        return;
    };
    let (kb_id, _, cat) = help_centre(&c.a, &c.key, "durable");
    let mut acknowledged = Vec::new();
    for i in 0..10 {
        let r = c.a.api(
            "POST",
            &format!("/v1/kb/{kb_id}/articles"),
            &c.key,
            Some(&json!({"category_id": cat, "title": format!("Kept {i}"), "body": "x"})),
        );
        assert_eq!(r.status, 201);
        acknowledged.push(r.id());
    }

    c.pg.crash();
    for node in [&c.a, &c.b] {
        let started = Instant::now();
        let r = node.api("GET", &format!("/v1/kb/{kb_id}"), &c.key, None);
        assert_eq!(r.status, 503, "{}", r.text);
        assert_eq!(r.json["error"]["code"], "service_unavailable", "{}", r.text);
        // Well inside the 5 s acquire timeout: a refused connection is not retried.
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "fails fast: {:?}",
            started.elapsed()
        );
        let started = Instant::now();
        let w = node.api(
            "POST",
            &format!("/v1/kb/{kb_id}/articles"),
            &c.key,
            Some(&json!({"category_id": cat, "title": "During outage", "body": "x"})),
        );
        assert_eq!(w.status, 503, "{}", w.text);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "writes fail fast too: {:?}",
            started.elapsed()
        );
        assert_eq!(node.call("GET", "/readyz", &[], None).status, 503);
        assert_eq!(node.call("GET", "/healthz", &[], None).status, 200);
    }

    c.pg.start_server();
    within(Duration::from_secs(15), "both nodes recover", || {
        c.a.call("GET", "/readyz", &[], None).status == 200
            && c.b.call("GET", "/readyz", &[], None).status == 200
    });
    for id in &acknowledged {
        let r = c.b.api(
            "GET",
            &format!("/v1/kb/{kb_id}/articles/{id}"),
            &c.key,
            None,
        );
        assert_eq!(r.status, 200, "acknowledged write {id} lost: {}", r.text);
    }
    let r = c.a.api(
        "POST",
        &format!("/v1/kb/{kb_id}/articles"),
        &c.key,
        Some(&json!({"category_id": cat, "title": "After outage", "body": "x"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

/// Rate-limit windows are clock minutes: start counting well inside one.
fn wait_for_fresh_window() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if now % 60 >= 50 {
        std::thread::sleep(Duration::from_secs(61 - now % 60));
    }
}
