//! Docs-as-code through the public surface: a real `tome serve` (runner on) against a real
//! database (temp SQLite, or PostgreSQL with `TOME_TEST_DATABASE_URL`), fetching from a real git
//! server (`git daemon` and smart HTTP on 127.0.0.1) that the tests push to with `git`.
//!
//! Journeys: first update → content in the management API, public API, search and hosted pages;
//! edit/rename/delete/add; the same commit twice; broken files and limits (nothing changes);
//! the credit cap; 409 `source_managed`; the push webhook; bad input; `tome update`; two nodes on
//! one PostgreSQL (each job once, `kill -9` mid-update); the Mintlify corpus.
#![allow(clippy::unwrap_used)]

mod cluster;
mod sync_support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use sync_support::*;

const ISO_MS: &str = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$";

/// A small knowledge base in Tome's layout: two categories, one section, four articles, each
/// with a word no other file has (for search).
const TREE: &[(&str, &str)] = &[
    (
        "getting-started/install.md",
        "---\ntitle: Install Tome\nexcerpt: Get it running\ntags: [setup, install]\n---\n\nDownload the zanzibar installer and run it.\n",
    ),
    (
        "getting-started/account/reset-password.md",
        "---\ntitle: Reset your password\n---\n\nClick Forgot password to get a quokka link.\n",
    ),
    (
        "billing/refunds.md",
        "---\ntitle: Refunds\n---\n\nRefunds take five days; ask the pelican desk.\n",
    ),
    (
        "billing/invoices.md",
        "---\ntitle: Invoices\n---\n\nInvoices are emailed monthly with the walrus stamp.\n",
    ),
];

fn paths(tree: &[(&str, &str)]) -> Vec<String> {
    let mut p: Vec<String> = tree.iter().map(|(p, _)| p.to_string()).collect();
    p.sort();
    p
}

fn by_title(articles: &[Value]) -> BTreeMap<String, Value> {
    articles
        .iter()
        .map(|a| (a["title"].as_str().unwrap().to_string(), a.clone()))
        .collect()
}

fn names(items: &[Value], field: &str) -> Vec<String> {
    let mut n: Vec<String> = items
        .iter()
        .map(|i| i[field].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

fn files_changed(st: &Value) -> (Vec<String>, Vec<String>, Vec<String>) {
    let list = |k: &str| -> Vec<String> {
        st["commit"]["filesChanged"][k]
            .as_array()
            .unwrap_or_else(|| panic!("filesChanged.{k} in {st:#}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    (list("added"), list("modified"), list("removed"))
}

fn logs(st: &Value) -> String {
    st["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn err_code(r: &cluster::Resp) -> &str {
    r.json["error"]["code"].as_str().unwrap_or("")
}

/// A world with one KB sourced from a repository holding `TREE`, after a successful first
/// update: (kb_id, site_key, repo).
fn synced(w: &World, slug: &str) -> (String, String, tome_sync::testing::WorkRepo) {
    let (kb, site_key) = w.kb(slug);
    let repo = w.git.repo(slug, TREE);
    w.set_source(
        &kb,
        json!({"url": w.git.server.git_url(slug), "branch": "main", "format": "tome"}),
    );
    w.update(&kb, "success");
    (kb, site_key, repo)
}

// ------------------------------------------------------------------ 1. the first update

#[test]
fn first_update_shows_the_tree_everywhere() {
    let w = World::new(&[]);
    let (kb, site_key) = w.kb("acme-docs");
    let repo = w.git.repo("acme-docs", TREE);
    let sha = repo.git(&["rev-parse", "HEAD"]).trim().to_string();

    let put = w.set_source(
        &kb,
        json!({"url": w.git.server.git_url("acme-docs"), "branch": "main", "format": "tome"}),
    );
    assert_eq!(put.status, 201);
    let src = put.data();
    assert_eq!(src["kb_id"], kb.as_str());
    assert_eq!(src["type"], "git");
    assert_eq!(src["url"], w.git.server.git_url("acme-docs"));
    assert_eq!(src["branch"], "main");
    assert_eq!(src["format"], "tome");
    assert_eq!(src["has_token"], false);
    assert_eq!(src["last_commit"], Value::Null);

    let id = w.trigger(&kb);
    assert!(id.starts_with("upd_"), "{id}");
    let st = w.wait(&id);
    assert_eq!(st["status"], "success", "{st:#}");
    let iso = regex::Regex::new(ISO_MS).unwrap();
    assert_eq!(st["_id"], id.as_str());
    assert_eq!(st["projectId"], w.project.as_str());
    assert_eq!(st["kbId"], kb.as_str());
    assert_eq!(st["subdomain"], "acme-docs");
    assert_eq!(st["source"], "api");
    assert_eq!(st["attempts"], 1);
    for field in ["createdAt", "endedAt", "startedAt"] {
        let t = st[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field}: {st:#}"));
        assert!(iso.is_match(t), "{field} = {t}");
    }
    assert!(st["createdAt"].as_str() <= st["endedAt"].as_str());
    assert_eq!(st["commit"]["sha"], sha.as_str());
    assert_eq!(st["commit"]["message"], "first version");
    assert!(
        st["author"].as_str().unwrap().contains("Test Author"),
        "{}",
        st["author"]
    );
    let (added, modified, removed) = files_changed(&st);
    assert_eq!(added, paths(TREE));
    assert!(modified.is_empty() && removed.is_empty(), "{st:#}");
    assert_eq!(
        st["summary"],
        format!(
            "Updated acme-docs to {}: 2 categories: 2 created; 1 section: 1 created; 4 articles: 4 created",
            &sha[..12]
        )
    );

    // The source now records the commit.
    let src = w.get(&format!("/v1/kb/{kb}/source"));
    assert_eq!(src.data()["last_commit"], sha.as_str());
    assert!(src.data()["last_synced_at"].is_string(), "{}", src.text);

    // Management API.
    let cats = w.list(&format!("/v1/kb/{kb}/categories"));
    assert_eq!(names(&cats, "name"), ["Billing", "Getting started"]);
    let secs = w.list(&format!("/v1/kb/{kb}/sections"));
    assert_eq!(names(&secs, "name"), ["Account"]);
    let getting_started = cats
        .iter()
        .find(|c| c["name"] == "Getting started")
        .unwrap();
    assert_eq!(secs[0]["category_id"], getting_started["id"]);
    let arts = by_title(&w.list(&format!("/v1/kb/{kb}/articles")));
    assert_eq!(
        arts.keys().collect::<Vec<_>>(),
        ["Install Tome", "Invoices", "Refunds", "Reset your password"]
    );
    let install = &arts["Install Tome"];
    assert_eq!(install["status"], "published");
    assert_eq!(install["excerpt"], "Get it running");
    assert_eq!(install["tags"], json!(["setup", "install"]));
    assert_eq!(
        w.get(&format!(
            "/v1/kb/{kb}/articles/{}",
            install["id"].as_str().unwrap()
        ))
        .data()["body"],
        "Download the zanzibar installer and run it.\n"
    );
    assert_eq!(install["category_id"], getting_started["id"]);
    assert_eq!(arts["Reset your password"]["section_id"], secs[0]["id"]);
    assert!(w.list(&format!("/v1/kb/{kb}/faqs")).is_empty());
    let install_id = install["id"].as_str().unwrap();

    // Public API (site key from KB create).
    let public = |path: &str| {
        w.tome.call(
            "GET",
            &format!("/v1/kb/public/acme-docs/{path}"),
            &[("x-minolith-site-key", &site_key)],
            None,
        )
    };
    let a = public(&format!("articles/{install_id}"));
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["data"]["title"], "Install Tome");
    assert_eq!(
        a.json["data"]["body"],
        "Download the zanzibar installer and run it.\n"
    );
    assert_eq!(a.json["data"]["category"]["name"], "Getting started");
    assert_eq!(a.json["data"]["tags"], json!(["setup", "install"]));
    let structure = public("structure");
    assert_eq!(structure.status, 200, "{}", structure.text);
    for title in ["Install Tome", "Invoices", "Refunds", "Reset your password"] {
        assert!(
            structure.text.contains(title),
            "{title} missing from {}",
            structure.text
        );
    }

    // Search.
    assert_eq!(w.search(&kb, "zanzibar"), [install_id]);
    assert_eq!(
        w.search(&kb, "walrus"),
        [arts["Invoices"]["id"].as_str().unwrap()]
    );

    // Hosted page.
    let page = w.tome.call(
        "GET",
        &format!("/hc/acme-docs/articles/{install_id}"),
        &[],
        None,
    );
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Install Tome"));
    assert!(page.text.contains("zanzibar"));

    // The list of updates has it, newest first.
    let list = w.get("/v1/project/updates");
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.json["data"][0]["_id"], id.as_str());
}

// ------------------------------------------------------------------ 2. edit, rename, delete, add

#[test]
fn edit_rename_delete_add_is_exact_and_keeps_ids() {
    let w = World::new(&[]);
    let (kb, site_key, repo) = synced(&w, "moves");
    let before = by_title(&w.list(&format!("/v1/kb/{kb}/articles")));
    let install = before["Install Tome"]["id"].as_str().unwrap().to_string();
    let refunds = before["Refunds"]["id"].as_str().unwrap().to_string();
    // Warm the public API's and the hosted pages' caches.
    let public = |id: &str| {
        w.tome.call(
            "GET",
            &format!("/v1/kb/public/moves/articles/{id}"),
            &[("x-minolith-site-key", &site_key)],
            None,
        )
    };
    let hosted = |id: &str| {
        w.tome
            .call("GET", &format!("/hc/moves/articles/{id}"), &[], None)
    };
    assert!(public(&install).text.contains("zanzibar"));
    assert!(hosted(&install).text.contains("zanzibar"));
    assert_eq!(public(&refunds).status, 200);
    assert_eq!(hosted(&refunds).status, 200);

    repo.write(
        "getting-started/install.md",
        "---\ntitle: Install Tome\nexcerpt: Get it running\ntags: [setup, install]\n---\n\nDownload the kilimanjaro installer and run it.\n",
    );
    repo.rename("billing/invoices.md", "getting-started/invoices.md");
    repo.delete("billing/refunds.md");
    repo.write(
        "billing/taxes.md",
        "---\ntitle: Taxes\n---\n\nTaxes are shown on the narwhal page.\n",
    );
    let sha = repo.commit("edit, move, delete, add");
    repo.push();

    let st = w.update(&kb, "success");
    assert_eq!(st["commit"]["sha"], sha.as_str());
    let (added, modified, removed) = files_changed(&st);
    assert_eq!(added, ["billing/taxes.md", "getting-started/invoices.md"]);
    assert_eq!(modified, ["getting-started/install.md"]);
    assert_eq!(removed, ["billing/invoices.md", "billing/refunds.md"]);

    let after = by_title(&w.list(&format!("/v1/kb/{kb}/articles")));
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        ["Install Tome", "Invoices", "Reset your password", "Taxes"]
    );
    let cats = w.list(&format!("/v1/kb/{kb}/categories"));
    let cat_id = |name: &str| {
        cats.iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no category {name}"))["id"]
            .clone()
    };
    // Edited: same ID and created_at, new body.
    let (b, a) = (&before["Install Tome"], &after["Install Tome"]);
    assert_eq!(a["id"], b["id"]);
    assert_eq!(a["created_at"], b["created_at"]);
    let full = w.get(&format!(
        "/v1/kb/{kb}/articles/{}",
        a["id"].as_str().unwrap()
    ));
    assert_eq!(
        full.data()["body"],
        "Download the kilimanjaro installer and run it.\n"
    );
    // Renamed into another category: same ID and created_at, new category.
    let (b, a) = (&before["Invoices"], &after["Invoices"]);
    assert_eq!(a["id"], b["id"]);
    assert_eq!(a["created_at"], b["created_at"]);
    assert_eq!(a["category_id"], cat_id("Getting started"));
    assert_ne!(b["category_id"], a["category_id"]);
    // Unchanged: untouched.
    assert_eq!(after["Reset your password"], before["Reset your password"]);
    // Deleted: gone.
    let gone = before["Refunds"]["id"].as_str().unwrap();
    let r = w.get(&format!("/v1/kb/{kb}/articles/{gone}"));
    assert_eq!(r.status, 404, "{}", r.text);
    // Added: in the category of its folder.
    assert_eq!(after["Taxes"]["category_id"], cat_id("Billing"));
    assert_eq!(after["Taxes"]["status"], "published");

    // The public API and the hosted pages answer with the new content as soon as the status
    // says `success`.
    let p = public(&install);
    assert!(
        p.text.contains("kilimanjaro") && !p.text.contains("zanzibar"),
        "{}",
        p.text
    );
    let h = hosted(&install);
    assert!(h.text.contains("kilimanjaro") && !h.text.contains("zanzibar"));
    assert_eq!(public(&refunds).status, 404);
    assert_eq!(hosted(&refunds).status, 404);

    // Search is current.
    let install = after["Install Tome"]["id"].as_str().unwrap();
    assert_eq!(w.search(&kb, "kilimanjaro"), [install]);
    assert!(w.search(&kb, "zanzibar").is_empty());
    assert!(w.search(&kb, "pelican").is_empty());
    assert_eq!(
        w.search(&kb, "narwhal"),
        [after["Taxes"]["id"].as_str().unwrap()]
    );
    assert_eq!(
        w.search(&kb, "walrus"),
        [after["Invoices"]["id"].as_str().unwrap()]
    );
}

// ------------------------------------------------------------------ 3. the same commit twice

#[test]
fn the_same_commit_twice_changes_nothing() {
    let w = World::new(&[]);
    let (kb, _, repo) = synced(&w, "twice");
    let before = w.content(&kb);

    let st = w.update(&kb, "success");
    assert_eq!(st["commit"]["sha"], repo.head().as_str());
    let (added, modified, removed) = files_changed(&st);
    assert!(
        added.is_empty() && modified.is_empty() && removed.is_empty(),
        "{st:#}"
    );
    assert_eq!(
        st["summary"],
        format!("Updated twice to {}: no changes", &repo.head()[..12])
    );
    assert_eq!(w.content(&kb), before);
}

// ------------------------------------------------------------------ 4. broken files

/// Pushes `files` on top of the synced tree, expects a failure whose logs name `needles`, and
/// that the content is exactly as before; then restores the repository.
fn broken_push_changes_nothing(
    w: &World,
    kb: &str,
    repo: &tome_sync::testing::WorkRepo,
    files: &[(&str, &str)],
    needles: &[&str],
) {
    let before = w.content(kb);
    let good = repo.head();
    for (p, t) in files {
        repo.write(p, t);
    }
    repo.commit("broken");
    repo.push();
    let st = w.update(kb, "failure");
    let text = format!("{}\n{}", st["summary"], logs(&st));
    for n in needles {
        assert!(text.contains(n), "{n:?} not in the failure:\n{text}");
    }
    assert!(st["endedAt"].is_string());
    assert_eq!(w.content(kb), before, "a failed update changed content");
    // Back to the good tree for the next case.
    repo.git(&["reset", "--hard", "--quiet", &good]);
    repo.push();
}

#[test]
fn a_broken_file_fails_the_update_and_changes_nothing() {
    let w = World::new(&[]);
    let (kb, _, repo) = synced(&w, "broken");
    // An edit and an addition next to the broken file: none of them may land.
    let edit = (
        "getting-started/install.md",
        "---\ntitle: Install Tome v2\n---\n\nNew words.\n",
    );
    broken_push_changes_nothing(
        &w,
        &kb,
        &repo,
        &[
            edit,
            (
                "billing/bad-status.md",
                "---\ntitle: Bad\nstatus: bogus\n---\n\nx\n",
            ),
        ],
        &["billing/bad-status.md:3", "status"],
    );
    broken_push_changes_nothing(
        &w,
        &kb,
        &repo,
        &[
            edit,
            ("billing/unclosed.md", "---\ntitle: Never closed\n\nbody\n"),
        ],
        &["billing/unclosed.md:1"],
    );
    let long_title = format!("---\ntitle: {}\n---\n\nx\n", "t".repeat(501));
    broken_push_changes_nothing(
        &w,
        &kb,
        &repo,
        &[edit, ("billing/long.md", &long_title)],
        &["billing/long.md:2", "title", "500"],
    );
    // And the good tree still updates (nothing is stuck).
    let st = w.update(&kb, "success");
    assert!(
        st["summary"].as_str().unwrap().ends_with("no changes"),
        "{st:#}"
    );
}

// ------------------------------------------------------------------ 5. the credit cap

#[test]
fn an_update_over_the_credit_cap_fails_and_creates_nothing() {
    // KB create costs 3; the tree costs 2×2 (categories) + 1 (section) + 4×3 (articles) = 17.
    let w = World::with_cap(Some(10), &[]);
    let (kb, _) = w.kb("capped");
    w.git.repo("capped", TREE);
    w.set_source(
        &kb,
        json!({"url": w.git.server.git_url("capped"), "format": "tome"}),
    );
    let usage = w.get("/v1/usage");
    assert_eq!(usage.status, 200, "{}", usage.text);

    let st = w.update(&kb, "failure");
    let text = format!("{}\n{}", st["summary"], logs(&st));
    assert!(text.contains("17 credits"), "{text}");
    assert!(text.contains("10-credit"), "{text}");
    assert_eq!(
        w.content(&kb),
        json!({"categories": [], "sections": [], "articles": [], "full_articles": [], "faqs": []})
    );
    assert_eq!(
        w.get("/v1/usage").json,
        usage.json,
        "a failed update charged credits"
    );
    // The source was not moved to the commit.
    assert_eq!(
        w.get(&format!("/v1/kb/{kb}/source")).data()["last_commit"],
        Value::Null
    );
}

// ------------------------------------------------------------------ 6. source_managed

#[test]
fn a_sourced_kb_refuses_content_writes_until_the_source_is_detached() {
    let w = World::new(&[]);
    let (kb, _) = w.kb("managed");
    let mut tree = TREE.to_vec();
    tree.push((
        "billing/can-i-pay-by-card.md",
        "---\ntype: faq\nquestion: Can I pay by card?\n---\n\nYes, every major card.\n",
    ));
    w.git.repo("managed", &tree);
    let url = w.git.server.git_url("managed");
    w.set_source(&kb, json!({"url": url, "branch": "main", "format": "tome"}));
    w.update(&kb, "success");
    let before = w.content(&kb);
    let cat = before["categories"][0]["id"].as_str().unwrap().to_string();
    let faq = before["faqs"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(before["faqs"][0]["question"], "Can I pay by card?");

    let writes = [
        (
            "POST",
            format!("/v1/kb/{kb}/articles"),
            Some(json!({"category_id": cat, "title": "By hand", "body": "x"})),
        ),
        (
            "PUT",
            format!("/v1/kb/{kb}/categories/{cat}"),
            Some(json!({"name": "Renamed by hand"})),
        ),
        ("DELETE", format!("/v1/kb/{kb}/faqs/{faq}"), None),
    ];
    for (method, path, body) in &writes {
        let r = w.api(method, path, body.as_ref());
        assert_eq!(r.status, 409, "{method} {path}: {}", r.text);
        assert_eq!(err_code(&r), "source_managed", "{}", r.text);
        assert_eq!(r.json["error"]["details"]["source"]["url"], url.as_str());
        assert_eq!(r.json["error"]["details"]["source"]["branch"], "main");
        assert!(r.json["error"]["message"].as_str().unwrap().contains(&url));
    }
    assert_eq!(w.content(&kb), before);

    // KB settings stay editable.
    let r = w.api(
        "PUT",
        &format!("/v1/kb/{kb}"),
        Some(&json!({"title": "Managed docs"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.data()["title"], "Managed docs");

    // Detach: content stays, writes work again.
    let r = w.api("DELETE", &format!("/v1/kb/{kb}/source"), None);
    assert_eq!(r.status, 204, "{}", r.text);
    let r = w.get(&format!("/v1/kb/{kb}/source"));
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(w.content(&kb), before);
    for (method, path, body) in &writes {
        let r = w.api(method, path, body.as_ref());
        assert!(
            [200, 201, 204].contains(&r.status),
            "{method} {path} after detaching: {}",
            r.text
        );
    }
    let after = w.content(&kb);
    assert_eq!(after["articles"].as_array().unwrap().len(), 5);
    assert!(after["faqs"].as_array().unwrap().is_empty());
    // No source left: a trigger is a clear 400.
    let r = w.api("POST", &format!("/v1/project/update/{}", w.project), None);
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(err_code(&r), "invalid_request");
}

// ------------------------------------------------------------------ 7. the push webhook

#[test]
fn the_push_webhook_checks_signatures_and_branches() {
    let w = World::new(&[]);
    let (kb, _) = w.kb("hooked");
    let repo = w.git.repo("hooked", TREE);
    let secret = "a-long-webhook-secret";
    w.set_source(
        &kb,
        json!({"url": w.git.server.git_url("hooked"), "branch": "main", "format": "tome",
               "webhook_secret": secret}),
    );
    let src = w.get(&format!("/v1/kb/{kb}/source"));
    assert_eq!(src.data()["has_webhook_secret"], true);
    assert!(!src.text.contains(secret));
    let hook = format!("/v1/hooks/git/{kb}");
    assert_eq!(
        src.data()["webhook_url"],
        format!("http://127.0.0.1:{}{hook}", w.tome.port)
    );
    let push = |branch: &str| {
        json!({"ref": format!("refs/heads/{branch}"), "after": repo.head(),
               "repository": {"full_name": "acme/hooked", "default_branch": "main"}})
        .to_string()
    };
    let send = |headers: &[(&str, &str)], body: &str| {
        raw_http(w.tome.port, "POST", &hook, headers, body.as_bytes())
    };
    let updates = || w.list("/v1/project/updates").len();
    assert_eq!(updates(), 0);

    // Wrong, missing and malformed signatures: 401, nothing queued.
    let body = push("main");
    let wrong = hub_signature("not-the-secret", body.as_bytes());
    for headers in [
        vec![
            ("x-github-event", "push"),
            ("x-hub-signature-256", wrong.as_str()),
        ],
        vec![("x-github-event", "push")],
        vec![
            ("x-github-event", "push"),
            ("x-hub-signature-256", "sha256=zz"),
        ],
        vec![
            ("x-gitlab-event", "Push Hook"),
            ("x-gitlab-token", "not-the-secret"),
        ],
    ] {
        let r = send(&headers, &body);
        assert_eq!(r.status, 401, "{headers:?}: {}", r.text);
        assert_eq!(err_code(&r), "unauthorized", "{}", r.text);
    }
    // A body changed after signing is refused too.
    let signed = hub_signature(secret, body.as_bytes());
    let tampered = body.replace("acme/hooked", "evil/hooked");
    let r = send(
        &[("x-github-event", "push"), ("x-hub-signature-256", &signed)],
        &tampered,
    );
    assert_eq!(r.status, 401, "{}", r.text);
    // An unknown KB looks the same as a bad signature.
    let r = raw_http(
        w.tome.port,
        "POST",
        "/v1/hooks/git/kb_000000000000",
        &[("x-github-event", "push"), ("x-hub-signature-256", &signed)],
        body.as_bytes(),
    );
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(updates(), 0, "a refused webhook queued an update");

    // Ping: 200, nothing queued.
    let ping = json!({"zen": "Keep it logically awesome.", "hook_id": 1}).to_string();
    let sig = hub_signature(secret, ping.as_bytes());
    let r = send(
        &[("x-github-event", "ping"), ("x-hub-signature-256", &sig)],
        &ping,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    // A branch deleted: 200, not queued.
    let deleted = json!({"ref": "refs/heads/main", "deleted": true,
                         "repository": {"default_branch": "main"}})
    .to_string();
    let sig = hub_signature(secret, deleted.as_bytes());
    let r = send(
        &[("x-github-event", "push"), ("x-hub-signature-256", &sig)],
        &deleted,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["queued"], false);
    // A push to another branch: 200, not queued.
    let other = push("feature/x");
    let sig = hub_signature(secret, other.as_bytes());
    let r = send(
        &[("x-github-event", "push"), ("x-hub-signature-256", &sig)],
        &other,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["queued"], false);
    assert_eq!(updates(), 0);

    // A signed push to the branch: 202 and an update that succeeds, from `github`.
    let r = send(
        &[("x-github-event", "push"), ("x-hub-signature-256", &signed)],
        &body,
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.json["statusId"].as_str().unwrap().to_string();
    let st = w.wait(&id);
    assert_eq!(st["status"], "success", "{st:#}");
    assert_eq!(st["source"], "github");
    assert_eq!(st["commit"]["sha"], repo.head().as_str());
    assert_eq!(w.list(&format!("/v1/kb/{kb}/articles")).len(), 4);
    assert_eq!(updates(), 1);

    // GitLab: the secret as X-Gitlab-Token.
    repo.write(
        "billing/new.md",
        "---\ntitle: New page\n---\n\nFrom GitLab.\n",
    );
    repo.commit("gitlab push");
    repo.push();
    let body = json!({"object_kind": "push", "ref": "refs/heads/main",
                      "project": {"default_branch": "main"}})
    .to_string();
    let r = send(
        &[("x-gitlab-event", "Push Hook"), ("x-gitlab-token", secret)],
        &body,
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let st = w.wait(r.json["statusId"].as_str().unwrap());
    assert_eq!(st["status"], "success", "{st:#}");
    assert_eq!(files_changed(&st).0, ["billing/new.md"]);
    assert_eq!(w.list(&format!("/v1/kb/{kb}/articles")).len(), 5);
    assert_eq!(updates(), 2);
}

// ------------------------------------------------------------------ 8. bad input

#[test]
fn every_source_field_is_validated_by_name() {
    let w = World::new(&[]);
    let (kb, _) = w.kb("strict");
    let ok = "https://example.com/docs.git";
    let long = format!("https://example.com/{}.git", "a".repeat(2049 - 24));
    assert_eq!(long.len(), 2049);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"url": ok, "type": "svn"}), "type"),
        (json!({"url": ok, "type": "folder"}), "type"),
        (json!({"url": ok, "type": 7}), "type"),
        (json!({}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "example.com/docs"}), "url"),
        (json!({"url": "ftp://example.com/docs.git"}), "url"),
        (json!({"url": "file:///srv/docs"}), "url"),
        (json!({"url": "https://u:p@example.com/r.git"}), "url"),
        (json!({"url": "https://user@example.com/r.git"}), "url"),
        (json!({"url": "https://example.com/r.git?x=1"}), "url"),
        (json!({"url": "https:///r.git"}), "url"),
        (json!({"url": long}), "url"),
        (json!({"url": 5}), "url"),
        (json!({"url": ok, "branch": "bad..branch"}), "branch"),
        (json!({"url": ok, "branch": "-x"}), "branch"),
        (json!({"url": ok, "branch": "a b"}), "branch"),
        (json!({"url": ok, "path": "../outside"}), "path"),
        (json!({"url": ok, "path": "docs/../../x"}), "path"),
        (json!({"url": ok, "format": "docusaurus"}), "format"),
        (
            json!({"url": "git://example.com/docs.git", "token": "ghp_abc"}),
            "token",
        ),
        (
            json!({"url": "ssh://git@example.com/docs.git", "token": "ghp_abc"}),
            "token",
        ),
        (json!({"url": ok, "token": ""}), "token"),
        (
            json!({"url": ok, "webhook_secret": "short"}),
            "webhook_secret",
        ),
        (
            json!({"url": ok, "webhook_secret": "x".repeat(257)}),
            "webhook_secret",
        ),
        (
            json!({"url": ok, "poll_interval_minutes": 0}),
            "poll_interval_minutes",
        ),
        (
            json!({"url": ok, "poll_interval_minutes": 10081}),
            "poll_interval_minutes",
        ),
        (json!({"url": ok, "colour": "blue"}), "colour"),
    ];
    for (body, field) in &cases {
        let r = w.api("PUT", &format!("/v1/kb/{kb}/source"), Some(body));
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(err_code(&r), "validation_error", "{body}: {}", r.text);
        assert_eq!(
            r.json["error"]["details"]["field"], *field,
            "{body}: {}",
            r.text
        );
    }
    // Malformed JSON, or JSON that is not an object: 400.
    for raw in ["{\"url\": ", "not json", "[1, 2]"] {
        let r = w
            .tome
            .raw("PUT", &format!("/v1/kb/{kb}/source"), &w.key, raw);
        assert_eq!(r.status, 400, "{raw}: {}", r.text);
        assert_eq!(err_code(&r), "invalid_request", "{raw}: {}", r.text);
    }
    assert_eq!(w.get(&format!("/v1/kb/{kb}/source")).status, 404);
    // A good body passes (the URL is not fetched until an update).
    let r = w.api(
        "PUT",
        &format!("/v1/kb/{kb}/source"),
        Some(&json!({"url": ok})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.data()["format"], "auto");
    assert_eq!(r.data()["branch"], Value::Null);
    assert_eq!(r.data()["path"], "");
    let r = w.api(
        "PUT",
        &format!("/v1/kb/{kb}/source"),
        Some(&json!({"url": ok, "branch": "refs/heads/docs", "path": "/docs/", "format": "mintlify"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.data()["branch"], "docs");
    assert_eq!(r.data()["path"], "docs");

    // Plain http:// is for private networks only: refused by a server without
    // --sync-allow-private, with its field.
    let strict = World::plain(None, &[]);
    let (kb2, _) = strict.kb("no-http");
    let r = strict.api(
        "PUT",
        &format!("/v1/kb/{kb2}/source"),
        Some(&json!({"url": "http://example.com/docs.git"})),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.json["error"]["details"]["field"], "url");
}

#[test]
fn foreign_and_unknown_ids_leak_nothing() {
    let w = World::new(&[]);
    let (kb, _) = w.kb("mine");
    // Another project on the same server, with its own sourced KB and an update.
    let (other_project, other_key) = project_with_key(&w.db.cli_args(), "Other team", None);
    let r = w.tome.api(
        "POST",
        "/v1/kb",
        &other_key,
        Some(&json!({"title": "Theirs", "slug": "theirs"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let other_kb = r.data()["id"].as_str().unwrap().to_string();
    // A project with no sourced KB: 400 naming the reason.
    let r = w.tome.api(
        "POST",
        &format!("/v1/project/update/{other_project}"),
        &other_key,
        None,
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(err_code(&r), "invalid_request");
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("source"),
        "{}",
        r.text
    );
    w.git.repo("theirs", TREE);
    let r = w.tome.api(
        "PUT",
        &format!("/v1/kb/{other_kb}/source"),
        &other_key,
        Some(&json!({"url": w.git.server.git_url("theirs")})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = w.tome.api(
        "POST",
        &format!("/v1/project/update/{other_project}"),
        &other_key,
        None,
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let foreign_status = r.json["statusId"].as_str().unwrap().to_string();

    // projectId: foreign and unknown give the same 400.
    let mut answers = Vec::new();
    for p in [other_project.as_str(), "prj_000000000000", "nonsense"] {
        let r = w.api("POST", &format!("/v1/project/update/{p}"), None);
        assert_eq!(r.status, 400, "{p}: {}", r.text);
        assert_eq!(err_code(&r), "invalid_request");
        assert_eq!(
            r.json["error"]["details"],
            json!({"field": "projectId", "reason": "Project not found"})
        );
        answers.push(r.json);
    }
    assert!(answers.windows(2).all(|a| a[0] == a[1]), "{answers:?}");

    // statusId: foreign and unknown give the same 404.
    let mut answers = Vec::new();
    for s in [foreign_status.as_str(), "upd_000000000000"] {
        let r = w.get(&format!("/v1/project/update-status/{s}"));
        assert_eq!(r.status, 404, "{s}: {}", r.text);
        assert_eq!(err_code(&r), "update_not_found");
        answers.push(r.text.replace(s, "ID"));
    }
    assert_eq!(
        answers[0], answers[1],
        "a foreign update differs from an unknown one"
    );
    let r = w.get("/v1/project/update-status/x");
    assert_eq!(r.status, 404, "{}", r.text);
    // The foreign update is not in my list.
    assert!(w.list("/v1/project/updates").is_empty());

    // kb_id on the source routes: foreign is exactly like unknown.
    for (method, body) in [
        ("GET", None),
        ("PUT", Some(json!({"url": "https://example.com/docs.git"}))),
        ("DELETE", None),
    ] {
        let foreign = w.api(method, &format!("/v1/kb/{other_kb}/source"), body.as_ref());
        let unknown = w.api(method, "/v1/kb/kb_000000000000/source", body.as_ref());
        assert_eq!(foreign.status, 404, "{method}: {}", foreign.text);
        assert_eq!(
            err_code(&foreign),
            "kb_not_found",
            "{method}: {}",
            foreign.text
        );
        assert_eq!(unknown.status, 404);
        assert_eq!(
            foreign.text.replace(&other_kb, "ID"),
            unknown.text.replace("kb_000000000000", "ID"),
            "{method}"
        );
    }
    // ?kb_id= of a foreign KB on my trigger: not found, like an unknown one.
    let foreign = w.api(
        "POST",
        &format!("/v1/project/update/{}?kb_id={other_kb}", w.project),
        None,
    );
    let unknown = w.api(
        "POST",
        &format!("/v1/project/update/{}?kb_id=kb_000000000000", w.project),
        None,
    );
    assert_eq!(
        foreign.status, unknown.status,
        "{} / {}",
        foreign.text, unknown.text
    );
    assert_eq!(err_code(&foreign), err_code(&unknown));
    assert_eq!(foreign.status, 404, "{}", foreign.text);
    // The foreign KB's source is untouched by all this.
    let r = w.tome.api(
        "GET",
        &format!("/v1/kb/{other_kb}/source"),
        &other_key,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    // My KB without a source: 404 source_not_found.
    let r = w.get(&format!("/v1/kb/{kb}/source"));
    assert_eq!(r.status, 404);
    assert_eq!(err_code(&r), "source_not_found", "{}", r.text);
}

#[test]
fn repository_limits_fail_with_a_clear_log() {
    let w = World::new(&[]);

    // 20,000 files in one commit.
    let (kb, _) = w.kb("huge");
    let repo = w.git.server.create_repo("huge");
    for i in 0..20_000 {
        let folder = format!("{}/{}", repo.dir().display(), i % 100);
        if i < 100 {
            std::fs::create_dir_all(&folder).unwrap();
        }
        std::fs::write(format!("{folder}/p{i}.md"), format!("# Page {i}\n")).unwrap();
    }
    repo.commit("twenty thousand files");
    repo.push();
    w.set_source(
        &kb,
        json!({"url": w.git.server.git_url("huge"), "format": "tome"}),
    );
    let st = w.update(&kb, "failure");
    let text = format!("{}\n{}", st["summary"], logs(&st));
    assert!(
        text.contains("the source folder has 20000 files, over the limit of 10000"),
        "{text}"
    );
    assert!(w.list(&format!("/v1/kb/{kb}/articles")).is_empty());

    // One 5 MB file among good ones.
    let (kb, _) = w.kb("fat");
    let repo = w.git.repo("fat", TREE);
    let big = format!(
        "---\ntitle: Big\n---\n\n{}\n",
        "lorem ipsum ".repeat(5 * 1024 * 1024 / 12)
    );
    repo.write("billing/big.md", &big);
    repo.commit("a big file");
    repo.push();
    w.set_source(
        &kb,
        json!({"url": w.git.server.git_url("fat"), "format": "tome"}),
    );
    let st = w.update(&kb, "failure");
    let text = format!("{}\n{}", st["summary"], logs(&st));
    let size = big.len();
    assert!(
        text.contains(&format!(
            "billing/big.md is 5.0 MiB ({size} bytes), over the limit of 1.0 MiB per file"
        )),
        "{text}"
    );
    assert!(w.list(&format!("/v1/kb/{kb}/articles")).is_empty());
}

#[test]
fn a_token_protected_http_repository_and_the_token_never_shows() {
    let w = World::new(&[]);
    let (kb, _) = w.kb("private-docs");
    w.git.repo("private-docs", TREE);
    let token = "tok_s3cr3t_9f8e7d6c5b4a";
    w.git.server.require_token(Some(token));
    let url = w.git.server.http_url("private-docs");

    // A wrong token: failure, and neither token shows.
    let wrong = "tok_wrong_0a1b2c3d4e5f";
    let put = w.set_source(&kb, json!({"url": url, "token": wrong, "format": "tome"}));
    assert_eq!(put.data()["has_token"], true);
    assert!(!put.text.contains(wrong));
    let st = w.update(&kb, "failure");
    let text = st.to_string();
    assert!(!text.contains(wrong), "{text}");
    assert!(!text.contains(token));

    // The right token: success.
    w.set_source(&kb, json!({"url": url, "token": token, "format": "tome"}));
    let st = w.update(&kb, "success");
    assert_eq!(files_changed(&st).0, paths(TREE));
    assert_eq!(w.list(&format!("/v1/kb/{kb}/articles")).len(), 4);
    // Re-PUT without the token keeps it (same URL), and a later update still fetches.
    let put = w.set_source(&kb, json!({"url": url, "format": "tome", "branch": "main"}));
    assert_eq!(put.data()["has_token"], true);
    w.update(&kb, "success");

    // Another repository: the token does not follow the source there.
    w.git.repo("other-docs", TREE);
    let put = w.set_source(
        &kb,
        json!({"url": w.git.server.http_url("other-docs"), "format": "tome"}),
    );
    assert_eq!(put.data()["has_token"], false);
    let st = w.update(&kb, "failure");
    assert!(!st.to_string().contains(token));

    let everything = [
        w.get("/v1/project/updates").text,
        w.get(&format!("/v1/kb/{kb}/source")).text,
        w.tome.call("GET", "/metrics", &[], None).text,
    ]
    .join("\n");
    assert!(!everything.contains(token), "the token leaked");
    assert!(!everything.contains(wrong), "the wrong token leaked");
}

// ------------------------------------------------------------------ 9. tome update

#[test]
fn tome_update_runs_without_a_server_and_exits_1_on_failure() {
    let mut w = World::new(&["--sync-runner", "off"]);
    let (kb, _) = w.kb("cli-docs");
    let repo = w.git.repo("cli-docs", TREE);
    w.set_source(
        &kb,
        json!({"url": w.git.server.git_url("cli-docs"), "format": "tome"}),
    );
    w.tome.kill9();

    let mut args = w.db.cli_args();
    args.push("--sync-allow-private".into());
    let run = |args: &[std::ffi::OsString]| {
        cli(
            args,
            &[
                "update",
                "--project",
                &w.project,
                "--kb",
                &kb,
                "--wait",
                "--json",
            ],
        )
    };
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let statuses: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let st = &statuses[0];
    assert_eq!(statuses.as_array().unwrap().len(), 1, "{statuses:#}");
    assert_eq!(st["status"], "success", "{st:#}");
    assert_eq!(st["source"], "internal");
    assert_eq!(st["kbId"], kb.as_str());
    assert_eq!(st["commit"]["sha"], repo.head().as_str());
    assert_eq!(files_changed(st).0, paths(TREE));

    // A broken file: exit code 1, the failure printed.
    repo.write("billing/bad.md", "---\nstatus: bogus\n---\n");
    repo.commit("broken");
    repo.push();
    let out = run(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let statuses: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(statuses[0]["status"], "failure");
    assert!(
        statuses[0].to_string().contains("billing/bad.md:2"),
        "{statuses:#}"
    );

    // The server sees what the CLI did.
    w.tome = Tome::start(&w.args);
    let arts = w.list(&format!("/v1/kb/{kb}/articles"));
    assert_eq!(arts.len(), 4);
    let list = w.list("/v1/project/updates");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["status"], "failure");
    assert_eq!(list[1]["status"], "success");

    // With a server running (runner on), `--wait` follows the update whoever runs it.
    w.tome.kill9();
    w.tome = Tome::start(&w.args[..w.args.len() - 2]);
    repo.delete("billing/bad.md");
    repo.commit("fixed");
    repo.push();
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let statuses: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(statuses[0]["status"], "success", "{statuses:#}");
    assert_eq!(statuses[0]["commit"]["sha"], repo.head().as_str());
}

// ------------------------------------------------------------------ 10. two nodes, one database

/// Two `tome serve` nodes on one PostgreSQL schema, each with its own data dir (search index,
/// git work copies), both running update runners with a 2-second lease.
struct Pair {
    a: Tome,
    b: Tome,
    project: String,
    key: String,
    git: Git,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    db: tome_store::testing::TestDb,
}

fn pair(test: &str) -> Option<Pair> {
    let db = tome_store::testing::TestDb::postgres(test)?;
    let (project, key) = project_with_key(&db.cli_args(), "Cluster docs", None);
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let node = |dir: &tempfile::TempDir| {
        Tome::start(&[
            "--database-url".into(),
            db.url().into(),
            "--data-dir".into(),
            arg(dir.path()),
            "--sync-allow-private".into(),
            "--sync-lease".into(),
            "2".into(),
        ])
    };
    Some(Pair {
        a: node(&dirs.0),
        b: node(&dirs.1),
        project,
        key,
        git: Git::start(),
        _dirs: dirs,
        db,
    })
}

/// The node names in an update's logs (`…, attempt N, on node NAME`), one per attempt line.
fn attempt_lines(st: &Value) -> Vec<(u64, String)> {
    let re = regex::Regex::new(r", attempt (\d+), on node (\S+)$").unwrap();
    st["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| {
            let c = re.captures(l.as_str().unwrap())?;
            Some((c[1].parse().unwrap(), c[2].to_string()))
        })
        .collect()
}

/// The process ID part of a node name (`host:pid:suffix`).
fn node_pid(node: &str) -> u32 {
    node.split(':').nth(1).unwrap().parse().unwrap()
}

#[test]
fn two_nodes_run_each_update_exactly_once() {
    let Some(c) = pair("two_nodes_run_each_update_exactly_once") else {
        return;
    };
    let pids = [c.a.pid().unwrap(), c.b.pid().unwrap()];
    let mut kbs = Vec::new();
    let mut repos = Vec::new();
    for i in 0..6 {
        let slug = format!("team-{i}");
        let r = c.a.api(
            "POST",
            "/v1/kb",
            &c.key,
            Some(&json!({"title": slug, "slug": slug, "is_public": true})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let kb = r.data()["id"].as_str().unwrap().to_string();
        repos.push(c.git.repo(&slug, TREE));
        let r = c.b.api(
            "PUT",
            &format!("/v1/kb/{kb}/source"),
            &c.key,
            Some(&json!({"url": c.git.server.git_url(&slug), "format": "tome"})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        kbs.push(kb);
    }
    // One trigger for the whole project, half through each node.
    let r = c.a.api(
        "POST",
        &format!("/v1/project/update/{}", c.project),
        &c.key,
        None,
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let ids: Vec<String> = r.json["statusIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 6);
    // A second trigger while they are queued or running returns the same jobs.
    let again = c.b.api(
        "POST",
        &format!("/v1/project/update/{}", c.project),
        &c.key,
        None,
    );
    assert_eq!(again.status, 202);

    for id in &ids {
        let st = wait_final(&c.b, &c.key, id);
        assert_eq!(st["status"], "success", "{st:#}");
        assert_eq!(st["attempts"], 1, "{st:#}");
        let attempts = attempt_lines(&st);
        assert_eq!(attempts.len(), 1, "{st:#}");
        assert!(
            pids.contains(&node_pid(&attempts[0].1)),
            "{attempts:?} vs {pids:?}"
        );
    }
    // Both nodes answer with the new content once their status says `success`, wherever the
    // job ran: search included.
    for id in &ids {
        assert_eq!(wait_final(&c.a, &c.key, id)["status"], "success");
    }
    for kb in &kbs {
        let arts = list_all(&c.a, &c.key, &format!("/v1/kb/{kb}/articles"));
        assert_eq!(arts.len(), 4, "{kb}");
        let install = arts.iter().find(|a| a["title"] == "Install Tome").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        for node in [&c.a, &c.b] {
            assert_eq!(search_ids(node, &c.key, kb, "zanzibar"), [install.as_str()]);
        }
    }
    // Every job ran once: one success per KB from the first trigger, and whatever the second
    // trigger queued (a job already running is not joined) ran once too.
    let all = list_all(&c.a, &c.key, "/v1/project/updates");
    for u in &all {
        let st = wait_final(&c.a, &c.key, u["_id"].as_str().unwrap());
        assert_eq!(st["status"], "success", "{st:#}");
        assert_eq!(st["attempts"], 1, "{st:#}");
    }

    // Both nodes' hosted pages, warmed before an edit, show it once their status says
    // `success` (no Redis here: the change feed carries it).
    let kb = &kbs[0];
    let install = list_all(&c.a, &c.key, &format!("/v1/kb/{kb}/articles"))
        .into_iter()
        .find(|a| a["title"] == "Install Tome")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let page = format!("/hc/team-0/articles/{install}");
    for node in [&c.a, &c.b] {
        let r = node.call("GET", &page, &[], None);
        assert!(r.text.contains("zanzibar"), "{}", r.text);
    }
    repos[0].write(
        "getting-started/install.md",
        "---\ntitle: Install Tome\n---\n\nDownload the okapi installer.\n",
    );
    repos[0].commit("edit");
    repos[0].push();
    let r = c.b.api(
        "POST",
        &format!("/v1/project/update/{}?kb_id={kb}", c.project),
        &c.key,
        None,
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.json["statusId"].as_str().unwrap().to_string();
    for node in [&c.a, &c.b] {
        assert_eq!(wait_final(node, &c.key, &id)["status"], "success");
        let r = node.call("GET", &page, &[], None);
        assert!(
            r.text.contains("okapi") && !r.text.contains("zanzibar"),
            "{}",
            r.text
        );
        assert_eq!(search_ids(node, &c.key, kb, "okapi"), [install.as_str()]);
    }
    let _ = &c.db;
}

/// The tldr corpus (7,425 pages) written into `repo` in Tome's layout, one folder per platform,
/// and committed: returns the expected (folder, title) of every page.
fn write_tldr(repo: &tome_sync::testing::WorkRepo) -> Vec<(String, String)> {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/tldr/pages-en.jsonl");
    let text = std::fs::read_to_string(&corpus)
        .unwrap_or_else(|e| panic!("the tldr corpus at {}: {e}", corpus.display()));
    let mut expected = Vec::new();
    for line in text.lines() {
        let page: Value = serde_json::from_str(line).unwrap();
        let path = page["path"].as_str().unwrap().trim_start_matches("pages/");
        if path.rsplit('/').next().unwrap().starts_with('.') {
            // `common/..md` (the `..` command): a hidden file, which sources leave out.
            continue;
        }
        let title = page["title"].as_str().unwrap();
        let file = format!(
            "---\ntitle: {}\nexcerpt: {}\n---\n\n{}",
            serde_json::to_string(title).unwrap(),
            serde_json::to_string(page["excerpt"].as_str().unwrap_or("")).unwrap(),
            page["body"].as_str().unwrap()
        );
        let full = repo.dir().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, file).unwrap();
        expected.push((
            path.split('/').next().unwrap().to_string(),
            title.to_string(),
        ));
    }
    repo.commit("tldr pages");
    repo.push();
    expected.sort();
    expected
}

/// A KB's categories, sections, articles and FAQs as listed by `tome`.
fn listed(tome: &Tome, key: &str, kb: &str) -> Value {
    json!({
        "categories": list_all(tome, key, &format!("/v1/kb/{kb}/categories")),
        "sections": list_all(tome, key, &format!("/v1/kb/{kb}/sections")),
        "articles": list_all(tome, key, &format!("/v1/kb/{kb}/articles")),
        "faqs": list_all(tome, key, &format!("/v1/kb/{kb}/faqs")),
    })
}

#[test]
fn kill_9_mid_apply_leaves_the_content_and_the_other_node_finishes_once() {
    let Some(mut c) = pair("kill_9_mid_apply_leaves_the_content_and_the_other_node_finishes_once")
    else {
        return;
    };
    let r = c.a.api(
        "POST",
        "/v1/kb",
        &c.key,
        Some(&json!({"title": "tldr", "slug": "tldr"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let kb = r.data()["id"].as_str().unwrap().to_string();
    let repo = c.git.repo("tldr", TREE);
    let r = c.a.api(
        "PUT",
        &format!("/v1/kb/{kb}/source"),
        &c.key,
        Some(&json!({"url": c.git.server.git_url("tldr"), "format": "tome"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let trigger = || {
        let r = c.a.api(
            "POST",
            &format!("/v1/project/update/{}?kb_id={kb}", c.project),
            &c.key,
            None,
        );
        assert_eq!(r.status, 202, "{}", r.text);
        r.json["statusId"].as_str().unwrap().to_string()
    };
    let st = wait_final(&c.a, &c.key, &trigger());
    assert_eq!(st["status"], "success", "{st:#}");
    let before = listed(&c.a, &c.key, &kb);
    assert_eq!(before["articles"].as_array().unwrap().len(), 4);

    // The tree becomes the 7,424 tldr pages: an apply of several seconds.
    for (path, _) in TREE {
        repo.delete(path);
    }
    let expected = write_tldr(&repo);
    let id = trigger();

    // Wait until the running node is applying (lease renewals save the logs), then kill it.
    let mut first_node = String::new();
    wait_until(Duration::from_secs(90), "the update is applying", || {
        let st =
            c.a.api(
                "GET",
                &format!("/v1/project/update-status/{id}"),
                &c.key,
                None,
            )
            .json;
        assert_ne!(
            st["status"], "success",
            "the update ended before the kill: {st:#}"
        );
        let applying = logs(&st).contains("] applying: ");
        match attempt_lines(&st).first() {
            Some((1, node)) if st["status"] == "in_progress" && applying => {
                first_node = node.clone();
                true
            }
            _ => false,
        }
    });
    let (survivor, victim) = if node_pid(&first_node) == c.a.pid().unwrap() {
        (&c.b, &mut c.a)
    } else {
        assert_eq!(node_pid(&first_node), c.b.pid().unwrap());
        (&c.a, &mut c.b)
    };
    victim.kill9();
    // The apply was one transaction: nothing of it is visible. (The survivor cannot have taken
    // the update over yet: the lease runs 2 s past the last renewal, and its apply takes longer.)
    assert_eq!(
        listed(survivor, &c.key, &kb),
        before,
        "a killed apply left changes"
    );

    let st = wait_final(survivor, &c.key, &id);
    assert_eq!(st["status"], "success", "{st:#}");
    assert_eq!(st["attempts"], 2, "{st:#}");
    let attempts = attempt_lines(&st);
    assert_eq!(attempts.len(), 2, "{st:#}");
    assert_eq!(attempts[0], (1, first_node.clone()));
    assert_eq!(attempts[1].0, 2);
    assert_eq!(node_pid(&attempts[1].1), survivor.pid().unwrap());
    assert!(logs(&st).contains("re-queued"), "{st:#}");
    let (added, modified, removed) = files_changed(&st);
    assert_eq!(added.len(), expected.len());
    assert!(modified.is_empty());
    assert_eq!(removed, paths(TREE));

    // The content is the tree, once.
    let cats = list_all(survivor, &c.key, &format!("/v1/kb/{kb}/categories"));
    let folder_of: BTreeMap<String, String> = cats
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["name"].as_str().unwrap().to_lowercase().replace(' ', "-"),
            )
        })
        .collect();
    let arts = list_all(survivor, &c.key, &format!("/v1/kb/{kb}/articles"));
    let mut got: Vec<(String, String)> = arts
        .iter()
        .map(|a| {
            (
                folder_of[a["category_id"].as_str().unwrap()].clone(),
                a["title"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got.len(), 7424);
    let missing: Vec<_> = expected
        .iter()
        .filter(|e| !got.contains(e))
        .take(5)
        .collect();
    let extra: Vec<_> = got
        .iter()
        .filter(|g| !expected.contains(g))
        .take(5)
        .collect();
    assert!(got == expected, "missing {missing:?}, unexpected {extra:?}");
    assert_eq!(
        cats.len(),
        expected
            .iter()
            .map(|(f, _)| f)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
}

// ------------------------------------------------------------------ 11. the Mintlify corpus

/// The pages of a Mintlify `docs.json` navigation (first language), in order: a group's `root`
/// before its pages.
fn navigation_pages(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("root").and_then(Value::as_str) {
                out.push(r.to_string());
            }
            for (k, x) in m {
                if k == "pages" {
                    for p in x.as_array().unwrap() {
                        match p.as_str() {
                            Some(s) => out.push(s.to_string()),
                            None => navigation_pages(p, out),
                        }
                    }
                } else if k != "root" {
                    navigation_pages(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| navigation_pages(x, out)),
        _ => {}
    }
}

/// The `title:` of a page's front matter, unquoted.
fn front_matter_title(text: &str) -> String {
    let fm = text
        .strip_prefix("---\n")
        .and_then(|t| t.split_once("\n---"))
        .map(|(fm, _)| fm)
        .unwrap_or_else(|| panic!("no front matter in {text:.80}"));
    let raw = fm
        .lines()
        .find_map(|l| l.strip_prefix("title:"))
        .unwrap_or_else(|| panic!("no title in {fm}"))
        .trim();
    match (raw.chars().next(), raw.chars().last()) {
        (Some('"'), Some('"')) => serde_json::from_str(raw).unwrap(),
        (Some('\''), Some('\'')) => raw[1..raw.len() - 1].replace("''", "'"),
        _ => raw.to_string(),
    }
}

/// The text of a Markdown body outside fenced code blocks and inline code spans (code shows
/// MDX on purpose: the corpus documents its own components).
fn prose(body: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<String> = None;
    for line in body.lines() {
        let t = line.trim_start_matches([' ', '>']);
        let marker: String = t.chars().take_while(|c| *c == '`' || *c == '~').collect();
        match &fence {
            Some(open)
                if marker.len() >= open.len()
                    && marker.starts_with(&open[..1])
                    && t.trim() == marker =>
            {
                fence = None;
                continue;
            }
            Some(_) => continue,
            None if marker.len() >= 3 => {
                fence = Some(marker);
                continue;
            }
            None => {}
        }
        let mut in_code = false;
        let mut ticks = 0;
        let mut kept = String::new();
        for part in line.split_inclusive('`') {
            if !in_code {
                kept.push_str(part.trim_end_matches('`'));
            }
            if part.ends_with('`') {
                ticks += 1;
                in_code = ticks % 2 == 1;
            }
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

#[test]
fn the_mintlify_corpus_becomes_its_navigation_in_order() {
    let w = World::new(&[]);
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/mintlify-docs");
    assert!(
        corpus.join("docs.json").exists(),
        "the corpus is missing at {}",
        corpus.display()
    );
    let repo = w.git.server.create_repo("mintlify");
    copy_tree(&corpus, repo.dir());
    repo.commit("the Mintlify docs");
    repo.push();
    let (kb, _) = w.kb("mint");
    w.set_source(&kb, json!({"url": w.git.server.git_url("mintlify")}));
    let st = w.update(&kb, "success");
    let log = logs(&st);

    // Every page of the navigation, in order, with the title of its front matter; a page over
    // the article limit continues as `Title (2)`, `Title (3)`, ….
    let docs: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus.join("docs.json")).unwrap()).unwrap();
    let mut pages = Vec::new();
    navigation_pages(&docs["navigation"]["languages"][0], &mut pages);
    assert_eq!(pages.len(), 246);
    let titles: Vec<String> = pages
        .iter()
        .map(|p| {
            let file = ["mdx", "md"]
                .iter()
                .map(|ext| corpus.join(format!("{p}.{ext}")))
                .find(|f| f.exists())
                .unwrap_or_else(|| panic!("no file for {p}"));
            front_matter_title(&std::fs::read_to_string(file).unwrap())
        })
        .collect();
    let mut arts = w.list(&format!("/v1/kb/{kb}/articles"));
    arts.sort_by_key(|a| a["sort_order"].as_i64().unwrap());
    let orders: Vec<i64> = arts
        .iter()
        .map(|a| a["sort_order"].as_i64().unwrap())
        .collect();
    assert!(
        orders.windows(2).all(|o| o[0] < o[1]),
        "sort_order is not a strict order: {orders:?}"
    );
    let got: Vec<&str> = arts.iter().map(|a| a["title"].as_str().unwrap()).collect();
    let mut at = 0;
    let mut continued = 0;
    for title in &titles {
        assert_eq!(
            got.get(at).copied(),
            Some(title.as_str()),
            "article {at} (of {})",
            got.len()
        );
        at += 1;
        let mut k = 2;
        while got.get(at).copied() == Some(format!("{title} ({k})").as_str()) {
            at += 1;
            k += 1;
            continued += 1;
        }
    }
    assert_eq!(
        at,
        got.len(),
        "articles not in the navigation: {:?}",
        &got[at..]
    );
    assert!(
        continued >= 1,
        "the changelog should continue over several articles"
    );
    assert!(
        log.contains("changelog.mdx: ") && log.contains("split at its headings into"),
        "{log}"
    );
    assert!(arts.iter().all(|a| a["status"] == "published"));

    // Files outside the navigation are skipped, each with a log line.
    let listed: std::collections::HashSet<String> = pages.iter().cloned().collect();
    for (path, _) in repo
        .git(&["ls-files"])
        .lines()
        .filter(|p| p.ends_with(".mdx") || p.ends_with(".md"))
        .filter(|p| !p.starts_with("snippets/"))
        .map(|p| (p, p.rsplit_once('.').unwrap().0))
        .filter(|(_, stem)| !listed.contains(*stem))
    {
        assert!(
            log.contains(&format!("{path} skipped: it is not in the navigation")),
            "{path} not reported:\n{log}"
        );
    }

    // No MDX left in any body: no component tags, no import/export lines. Links between pages
    // point at existing articles' hosted pages.
    let component = regex::Regex::new(r"</?[A-Z][A-Za-z]*[\s/>]").unwrap();
    let ids: std::collections::HashSet<&str> =
        arts.iter().map(|a| a["id"].as_str().unwrap()).collect();
    let hosted_link = regex::Regex::new(r"\]\(/hc/mint/articles/(kba_[a-z0-9]+)").unwrap();
    let mut links = 0;
    for a in &arts {
        let id = a["id"].as_str().unwrap();
        let full = w.get(&format!("/v1/kb/{kb}/articles/{id}"));
        assert_eq!(full.status, 200);
        let body = full.data()["body"].as_str().unwrap();
        assert!(
            body.chars().count() <= 100_000,
            "{}: {} chars",
            a["title"],
            body.len()
        );
        assert!(
            !body.contains("tome:page/"),
            "{}: unresolved page link",
            a["title"]
        );
        for c in hosted_link.captures_iter(body) {
            assert!(
                ids.contains(&c[1]),
                "{}: link to {} (no such article)",
                a["title"],
                &c[1]
            );
            links += 1;
        }
        let text = prose(body);
        assert!(
            !text.contains("<Note"),
            "{}: <Note left in\n{text}",
            a["title"]
        );
        for line in text.lines() {
            assert!(
                !line.starts_with("import ") && !line.starts_with("export "),
                "{}: {line:?}",
                a["title"]
            );
            assert!(
                !component.is_match(line),
                "{}: component left in {line:?}",
                a["title"]
            );
        }
    }
    assert!(links > 100, "only {links} links between pages");

    // The conversion is stable: the same commit again changes nothing, and a one-page edit
    // touches that one article.
    let st = w.update(&kb, "success");
    assert!(
        st["summary"].as_str().unwrap().ends_with(": no changes"),
        "{st:#}"
    );
    let quickstart = corpus.join("quickstart.mdx");
    let mut text = std::fs::read_to_string(&quickstart).unwrap();
    text.push_str("\nOne more line about the capybara.\n");
    repo.write("quickstart.mdx", &text);
    repo.commit("one page");
    repo.push();
    let st = w.update(&kb, "success");
    assert_eq!(files_changed(&st).1, ["quickstart.mdx"]);
    assert!(
        st["summary"].as_str().unwrap().ends_with(&format!(
            ": {} articles: 1 updated, {} unchanged",
            got.len(),
            got.len() - 1
        )),
        "{st:#}"
    );
    let hits = w.search(&kb, "capybara");
    assert_eq!(hits.len(), 1);
    let hit = w.get(&format!("/v1/kb/{kb}/articles/{}", hits[0]));
    assert_eq!(hit.data()["title"], front_matter_title(&text));

    // Reordering the navigation reorders the articles and keeps every ID.
    let ids_before = names(&arts, "id");
    let nav = std::fs::read_to_string(corpus.join("docs.json")).unwrap();
    // docs.json is pretty-printed, one page per line: swap the first two pages.
    let swapped = nav
        .replacen("\"index\",\n", "\"@@\",\n", 1)
        .replacen("\"quickstart\",\n", "\"index\",\n", 1)
        .replacen("\"@@\"", "\"quickstart\"", 1);
    assert_ne!(
        swapped, nav,
        "could not swap index and quickstart in docs.json"
    );
    repo.write("docs.json", &swapped);
    repo.commit("reorder");
    repo.push();
    w.update(&kb, "success");
    let mut again = w.list(&format!("/v1/kb/{kb}/articles"));
    again.sort_by_key(|a| a["sort_order"].as_i64().unwrap());
    assert_eq!(names(&again, "id"), ids_before);
    let first: Vec<&str> = again[..2]
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(first, [titles[1].as_str(), titles[0].as_str()]);
}

// ------------------------------------------------------------------ queueing, detaching, round trips

#[test]
fn a_trigger_while_queued_returns_the_queued_update_and_detaching_ends_it() {
    // No runner: updates stay queued.
    let w = World::new(&["--sync-runner", "off"]);
    let (kb, _) = w.kb("queued");
    w.git.repo("queued", TREE);
    w.set_source(&kb, json!({"url": w.git.server.git_url("queued")}));
    let first = w.trigger(&kb);
    let second = w.trigger(&kb);
    assert_eq!(first, second);
    let r = w.api("POST", &format!("/v1/project/update/{}", w.project), None);
    assert_eq!(r.status, 202);
    assert_eq!(r.json["statusIds"], json!([first]));
    let st = w.status(&first);
    assert_eq!(st["status"], "queued", "{st:#}");
    assert_eq!(st["attempts"], 0);
    assert_eq!(st["startedAt"], Value::Null);
    assert_eq!(st["endedAt"], Value::Null);
    assert_eq!(st["source"], "api");
    assert_eq!(st["subdomain"], "queued");
    assert!(st["summary"].is_string() && st["logs"].is_array(), "{st:#}");
    assert!(
        regex::Regex::new(ISO_MS)
            .unwrap()
            .is_match(st["createdAt"].as_str().unwrap())
    );
    assert_eq!(
        st["commit"]["filesChanged"],
        json!({"added": [], "modified": [], "removed": []})
    );
    assert_eq!(w.list("/v1/project/updates").len(), 1);

    // Detaching the source ends the queued update as a failure that says why.
    let r = w.api("DELETE", &format!("/v1/kb/{kb}/source"), None);
    assert_eq!(r.status, 204, "{}", r.text);
    let st = w.status(&first);
    assert_eq!(st["status"], "failure", "{st:#}");
    assert!(st["endedAt"].is_string());
    assert!(st["summary"].as_str().unwrap().contains("source"), "{st:#}");
    assert!(w.list(&format!("/v1/kb/{kb}/articles")).is_empty());
}

#[test]
fn export_commit_update_round_trips() {
    let w = World::new(&[]);
    let (kb, _, repo) = synced(&w, "round");
    let before = w.content(&kb);

    // `tome export` of the synced KB, committed as the repository's whole tree.
    let out = tempfile::tempdir().unwrap();
    let export = out.path().join("kb");
    let done = cli(
        &w.db.cli_args(),
        &[
            "export",
            "--kb",
            &kb,
            "--project",
            &w.project,
            "--out",
            export.to_str().unwrap(),
        ],
    );
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    repo.git(&["rm", "-r", "--quiet", "."]);
    copy_tree(&export, repo.dir());
    let sha = repo.commit("the export");
    repo.push();
    let st = w.update(&kb, "success");
    assert_eq!(st["commit"]["sha"], sha.as_str());
    let after = w.content(&kb);
    // Every category, section and article keeps its ID (the export's front-matter `id`s).
    for kind in ["categories", "sections", "articles", "faqs"] {
        assert_eq!(
            names(after[kind].as_array().unwrap(), "id"),
            names(before[kind].as_array().unwrap(), "id"),
            "{kind}"
        );
    }
    assert_eq!(after, before, "{st:#}");
    assert!(
        st["summary"].as_str().unwrap().ends_with(": no changes"),
        "{st:#}"
    );
}

#[test]
fn a_private_address_needs_the_operator_s_permission() {
    // Without --sync-allow-private the git server on 127.0.0.1 is refused at fetch time.
    let w = World::plain(None, &[]);
    let (kb, _) = w.kb("ssrf");
    w.git.repo("ssrf", TREE);
    w.set_source(&kb, json!({"url": w.git.server.git_url("ssrf")}));
    let st = w.update(&kb, "failure");
    let text = format!("{}\n{}", st["summary"], logs(&st));
    assert!(text.contains("127.0.0.1"), "{text}");
    assert!(text.contains("--sync-allow-private"), "{text}");
    assert!(w.list(&format!("/v1/kb/{kb}/articles")).is_empty());
}

#[test]
fn update_logs_are_capped_at_1000_lines() {
    let w = World::new(&[]);
    let (kb, _) = w.kb("chatty");
    let repo = w.git.server.create_repo("chatty");
    repo.write(
        "docs.json",
        r#"{"name": "Chatty", "navigation": {"groups": [{"group": "Start", "pages": ["index"]}]}}"#,
    );
    repo.write("index.mdx", "---\ntitle: Home\n---\n\nWelcome.\n");
    for i in 0..1500 {
        repo.write(
            &format!("orphans/page-{i}.mdx"),
            "---\ntitle: Orphan\n---\n",
        );
    }
    repo.commit("many pages outside the navigation");
    repo.push();
    w.set_source(&kb, json!({"url": w.git.server.git_url("chatty")}));
    let st = w.update(&kb, "success");
    let lines = st["logs"].as_array().unwrap();
    assert_eq!(lines.len(), 1000, "{}", lines.len());
    assert!(
        lines.iter().any(|l| l
            .as_str()
            .unwrap()
            .ends_with("lines cut here (an update keeps at most 1000)")),
        "a line says what was cut"
    );
    let last = lines.last().unwrap().as_str().unwrap();
    assert!(last.contains("done: "), "the end is kept: {last}");
    let titles = names(&w.list(&format!("/v1/kb/{kb}/articles")), "title");
    assert_eq!(titles, ["Home"]);
}

// ------------------------------------------------------------------ source options

#[test]
fn path_branch_and_front_matter_status_are_honoured() {
    let w = World::new(&[]);
    let (kb, site_key) = w.kb("options");
    // The docs live under docs/ on the default branch `trunk`; other files are not content.
    let mut repo = w.git.server.create_repo("options");
    repo.switch_branch("trunk");
    repo.write("README.md", "# The product\n")
        .write("src/notes.md", "---\ntitle: Not docs\n---\n")
        .write(
            "docs/guide/start.md",
            "---\ntitle: Start here\n---\n\nHello.\n",
        )
        .write(
            "docs/guide/secret.md",
            "---\ntitle: Coming soon\nstatus: draft\n---\n\nUnreleased.\n",
        );
    repo.commit("docs");
    repo.push();
    repo.set_default_branch("trunk");
    w.set_source(
        &kb,
        json!({"url": w.git.server.git_url("options"), "path": "docs", "format": "tome"}),
    );
    let st = w.update(&kb, "success");
    assert_eq!(st["commit"]["ref"], "refs/heads/trunk", "{st:#}");
    assert_eq!(files_changed(&st).0, ["guide/secret.md", "guide/start.md"]);
    let arts = by_title(&w.list(&format!("/v1/kb/{kb}/articles")));
    assert_eq!(
        arts.keys().collect::<Vec<_>>(),
        ["Coming soon", "Start here"]
    );
    assert_eq!(arts["Start here"]["status"], "published");
    assert_eq!(arts["Coming soon"]["status"], "draft");
    let draft = arts["Coming soon"]["id"].as_str().unwrap();
    let public = w.tome.call(
        "GET",
        &format!("/v1/kb/public/options/articles/{draft}"),
        &[("x-minolith-site-key", &site_key)],
        None,
    );
    assert_eq!(public.status, 404, "a draft is public: {}", public.text);
    let page = w
        .tome
        .call("GET", &format!("/hc/options/articles/{draft}"), &[], None);
    assert_eq!(page.status, 404);

    // Changes outside the path are not the KB's: the update changes nothing.
    repo.write("src/notes.md", "---\ntitle: Still not docs\n---\n");
    repo.commit("code change");
    repo.push();
    let st = w.update(&kb, "success");
    let (a, m, r) = files_changed(&st);
    assert!(a.is_empty() && m.is_empty() && r.is_empty(), "{st:#}");
    assert!(st["summary"].as_str().unwrap().ends_with(": no changes"));

    // Deleting a whole folder deletes its category.
    repo.write("docs/other/page.md", "---\ntitle: Elsewhere\n---\n\nx\n");
    repo.delete("docs/guide/start.md")
        .delete("docs/guide/secret.md");
    repo.commit("move everything");
    repo.push();
    let st = w.update(&kb, "success");
    assert_eq!(files_changed(&st).2, ["guide/secret.md", "guide/start.md"]);
    let cats = w.list(&format!("/v1/kb/{kb}/categories"));
    assert_eq!(names(&cats, "name"), ["Other"]);
    assert_eq!(
        names(&w.list(&format!("/v1/kb/{kb}/articles")), "title"),
        ["Elsewhere"]
    );

    // A branch that does not exist: a clear failure, nothing changed.
    let before = w.content(&kb);
    w.set_source(
        &kb,
        json!({"url": w.git.server.git_url("options"), "path": "docs", "branch": "nope"}),
    );
    let st = w.update(&kb, "failure");
    let text = format!("{}\n{}", st["summary"], logs(&st));
    assert!(text.contains("nope"), "{text}");
    assert_eq!(w.content(&kb), before);

    // A repository that does not exist: a clear failure too.
    w.set_source(
        &kb,
        json!({"url": w.git.server.git_url("no-such-repo"), "path": "docs"}),
    );
    let st = w.update(&kb, "failure");
    assert!(
        st["summary"].as_str().unwrap().contains("no-such-repo"),
        "{st:#}"
    );
    assert_eq!(w.content(&kb), before);
}

#[test]
fn a_moved_and_edited_file_keeps_its_id_by_front_matter() {
    let w = World::new(&[]);
    let (kb, _, repo) = synced(&w, "ids");
    let before = by_title(&w.list(&format!("/v1/kb/{kb}/articles")));
    let id = before["Refunds"]["id"].as_str().unwrap().to_string();
    // Moved, retitled and rewritten: only the front-matter `id` ties it to the article.
    repo.delete("billing/refunds.md");
    repo.write(
        "getting-started/money-back.md",
        format!("---\nid: {id}\ntitle: Money back\n---\n\nA wholly new text about the ibis.\n"),
    );
    repo.commit("rewrite refunds");
    repo.push();
    let st = w.update(&kb, "success");
    assert_eq!(
        st["summary"],
        format!(
            "Updated ids to {}: 4 articles: 1 updated, 3 unchanged",
            &repo.head()[..12]
        )
    );
    let after = by_title(&w.list(&format!("/v1/kb/{kb}/articles")));
    assert_eq!(after["Money back"]["id"], id.as_str());
    assert_eq!(
        after["Money back"]["created_at"],
        before["Refunds"]["created_at"]
    );
    assert_eq!(w.search(&kb, "ibis"), [id.as_str()]);
    assert!(w.search(&kb, "pelican").is_empty());
}

#[test]
fn updates_are_priced_as_their_creates_against_the_cap() {
    // KB create 3 + the tree 17 = exactly the cap of 20.
    let w = World::with_cap(Some(20), &[]);
    let (kb, _, repo) = synced(&w, "exact");
    assert_eq!(w.list(&format!("/v1/kb/{kb}/articles")).len(), 4);
    // Edits, moves and deletes create nothing: free, even at the cap.
    repo.write(
        "billing/invoices.md",
        "---\ntitle: Invoices\n---\n\nInvoices now come weekly.\n",
    );
    repo.delete("billing/refunds.md");
    repo.commit("edit and delete");
    repo.push();
    w.update(&kb, "success");
    // One new article (3 credits) is over the cap: refused whole, nothing changes.
    let before = w.content(&kb);
    repo.write("billing/new.md", "---\ntitle: New\n---\n\nx\n");
    repo.write(
        "billing/invoices.md",
        "---\ntitle: Invoices\n---\n\nInvoices come daily.\n",
    );
    repo.commit("add one");
    repo.push();
    let st = w.update(&kb, "failure");
    assert!(
        st["summary"].as_str().unwrap().contains("3 credits"),
        "{st:#}"
    );
    assert_eq!(w.content(&kb), before);
}

#[test]
fn files_changed_stay_exact_without_the_previous_work_copy() {
    let w = World::new(&[]);
    let (kb, _, repo) = synced(&w, "fresh");
    // The git work copy is derived data: lose it (a new node, a wiped disk).
    let work = w.db.node_dir().join("sources").join(format!("{kb}.git"));
    assert!(work.is_dir(), "no work copy at {}", work.display());
    std::fs::remove_dir_all(&work).unwrap();
    repo.write(
        "billing/invoices.md",
        "---\ntitle: Invoices\n---\n\nInvoices now come weekly.\n",
    );
    repo.delete("billing/refunds.md");
    repo.commit("edit and delete");
    repo.push();
    let st = w.update(&kb, "success");
    let (added, modified, removed) = files_changed(&st);
    assert!(added.is_empty(), "{st:#}");
    assert_eq!(modified, ["billing/invoices.md"]);
    assert_eq!(removed, ["billing/refunds.md"]);
}

#[test]
fn relative_links_between_files_become_hosted_links() {
    let w = World::new(&[]);
    let (kb, _) = w.kb("linked");
    let mut tree = TREE.to_vec();
    tree[0] = (
        "getting-started/install.md",
        "---\ntitle: Install Tome\n---\n\nSee [invoices](../billing/invoices.md#due-dates), \
         [your password](account/reset-password.md) and [the site](https://example.com/x.md).\n",
    );
    let repo = w.git.repo("linked", &tree);
    w.set_source(
        &kb,
        json!({"url": w.git.server.git_url("linked"), "format": "tome"}),
    );
    w.update(&kb, "success");
    let arts = by_title(&w.list(&format!("/v1/kb/{kb}/articles")));
    let id = |t: &str| arts[t]["id"].as_str().unwrap().to_string();
    let body = |id: &str| {
        w.get(&format!("/v1/kb/{kb}/articles/{id}")).data()["body"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let invoices = format!("/hc/linked/articles/{}-invoices", id("Invoices"));
    assert_eq!(
        body(&id("Install Tome")),
        format!(
            "See [invoices]({invoices}#due-dates), [your password](/hc/linked/articles/{}-reset-your-password) \
             and [the site](https://example.com/x.md).\n",
            id("Reset your password")
        )
    );
    // The link works on the hosted page.
    let page = w.tome.call(
        "GET",
        &format!("/hc/linked/articles/{}", id("Install Tome")),
        &[],
        None,
    );
    assert!(
        page.text
            .contains(&format!("href=\"{invoices}#due-dates\"")),
        "{}",
        page.text
    );
    assert_eq!(w.tome.call("GET", &invoices, &[], None).status, 200);

    // Links are stable: the same commit again changes nothing.
    let st = w.update(&kb, "success");
    assert!(
        st["summary"].as_str().unwrap().ends_with(": no changes"),
        "{st:#}"
    );

    // The target's new title gives a new hosted URL: the linking article follows.
    repo.write(
        "billing/invoices.md",
        "---\ntitle: Invoices and receipts\n---\n\nInvoices are emailed monthly with the walrus stamp.\n",
    );
    repo.commit("retitle");
    repo.push();
    let st = w.update(&kb, "success");
    assert_eq!(
        st["summary"],
        format!(
            "Updated linked to {}: 4 articles: 2 updated, 2 unchanged",
            &repo.head()[..12]
        )
    );
    assert!(body(&id("Install Tome")).contains(&format!(
        "(/hc/linked/articles/{}-invoices-and-receipts#due-dates)",
        id("Invoices")
    )));
}

#[test]
fn deleting_a_sourced_kb_takes_its_source_and_hook_with_it() {
    let w = World::new(&[]);
    let (kb, _, _repo) = synced(&w, "doomed");
    let first = w.list("/v1/project/updates")[0]["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = "a-long-webhook-secret";
    w.set_source(
        &kb,
        json!({"url": w.git.server.git_url("doomed"), "format": "tome", "webhook_secret": secret}),
    );
    let r = w.api("DELETE", &format!("/v1/kb/{kb}"), None);
    assert_eq!(r.status, 204, "{}", r.text);
    let r = w.get(&format!("/v1/kb/{kb}/source"));
    assert_eq!(r.status, 404);
    assert_eq!(err_code(&r), "kb_not_found");
    // No sourced KB left: a trigger is a 400, not an error about a missing KB.
    let r = w.api("POST", &format!("/v1/project/update/{}", w.project), None);
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json["error"]["details"]["field"], "projectId");
    // The hook is gone too.
    let body = json!({"ref": "refs/heads/main"}).to_string();
    let sig = hub_signature(secret, body.as_bytes());
    let r = raw_http(
        w.tome.port,
        "POST",
        &format!("/v1/hooks/git/{kb}"),
        &[("x-github-event", "push"), ("x-hub-signature-256", &sig)],
        body.as_bytes(),
    );
    assert_eq!(r.status, 401, "{}", r.text);
    // The KB's updates went with it.
    assert!(w.list("/v1/project/updates").is_empty());
    let r = w.get(&format!("/v1/project/update-status/{first}"));
    assert_eq!(r.status, 404, "{}", r.text);
}

#[test]
fn a_folder_source_where_the_operator_allows_local_roots() {
    let w = World::new(&["--sync-allow-local"]);
    let (kb, _) = w.kb("folder");
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in TREE {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    let put = w.set_source(
        &kb,
        json!({"type": "folder", "url": dir.path().to_str().unwrap(), "format": "tome"}),
    );
    assert_eq!(put.data()["type"], "folder");
    let st = w.update(&kb, "success");
    assert_eq!(files_changed(&st).0, paths(TREE));
    assert_eq!(w.list(&format!("/v1/kb/{kb}/articles")).len(), 4);
    let before = by_title(&w.list(&format!("/v1/kb/{kb}/articles")));

    // Edit one file, remove one, add one: the folder's own diff is exact too.
    std::fs::write(
        dir.path().join("billing/invoices.md"),
        "---\ntitle: Invoices\n---\n\nInvoices now come weekly.\n",
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("billing/refunds.md")).unwrap();
    std::fs::write(
        dir.path().join("billing/new.md"),
        "---\ntitle: New\n---\n\nx\n",
    )
    .unwrap();
    let st = w.update(&kb, "success");
    assert_eq!(
        files_changed(&st),
        (
            vec!["billing/new.md".to_string()],
            vec!["billing/invoices.md".to_string()],
            vec!["billing/refunds.md".to_string()]
        )
    );
    let after = by_title(&w.list(&format!("/v1/kb/{kb}/articles")));
    assert_eq!(after["Invoices"]["id"], before["Invoices"]["id"]);
    assert!(!after.contains_key("Refunds"));
    // Unchanged folder: no changes.
    let st = w.update(&kb, "success");
    assert!(
        st["summary"].as_str().unwrap().ends_with(": no changes"),
        "{st:#}"
    );

    // file:// git repositories are allowed here too.
    let repo = w.git.repo("local", TREE);
    let (kb2, _) = w.kb("local-git");
    let url = format!("file://{}", repo.bare_dir().display());
    w.set_source(&kb2, json!({"url": url, "format": "tome"}));
    let st = w.update(&kb2, "success");
    assert_eq!(files_changed(&st).0, paths(TREE));
}

#[test]
fn a_single_node_killed_mid_apply_finishes_the_update_after_a_restart() {
    let mut w = World::new(&["--sync-lease", "2"]);
    let (kb, _, repo) = synced(&w, "restart");
    let before = w.content(&kb);
    for (path, _) in TREE {
        repo.delete(path);
    }
    let expected = write_tldr(&repo);
    let id = w.trigger(&kb);
    wait_until(Duration::from_secs(90), "the update is applying", || {
        let st = w.status(&id);
        assert_ne!(st["status"], "success", "ended before the kill: {st:#}");
        st["status"] == "in_progress" && logs(&st).contains("] applying: ")
    });
    w.tome.kill9();
    w.tome = Tome::start(&w.args);
    // Nothing of the killed apply is visible (the restarted node waits for the lease to run out
    // before it takes the update again, and its apply takes longer than this look).
    assert_eq!(w.content(&kb), before, "a killed apply left changes");
    let st = w.wait(&id);
    assert_eq!(st["status"], "success", "{st:#}");
    assert_eq!(st["attempts"], 2);
    assert_eq!(files_changed(&st).2, paths(TREE));
    assert_eq!(
        w.list(&format!("/v1/kb/{kb}/articles")).len(),
        expected.len()
    );
}
