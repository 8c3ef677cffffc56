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
        let t = st[field].as_str().unwrap_or_else(|| panic!("{field}: {st:#}"));
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
    assert!(iso.is_match(src.data()["last_synced_at"].as_str().unwrap_or("")) || src.data()["last_synced_at"].is_string());

    // Management API.
    let cats = w.list(&format!("/v1/kb/{kb}/categories"));
    assert_eq!(names(&cats, "name"), ["Billing", "Getting started"]);
    let secs = w.list(&format!("/v1/kb/{kb}/sections"));
    assert_eq!(names(&secs, "name"), ["Account"]);
    let getting_started = cats.iter().find(|c| c["name"] == "Getting started").unwrap();
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
        w.get(&format!("/v1/kb/{kb}/articles/{}", install["id"].as_str().unwrap())).data()["body"],
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
    assert!(
        a.json["data"]["body"].as_str().unwrap_or_default().contains("zanzibar")
            || a.text.contains("zanzibar"),
        "{}",
        a.text
    );
    let structure = public("structure");
    assert_eq!(structure.status, 200, "{}", structure.text);
    for title in ["Install Tome", "Invoices", "Refunds", "Reset your password"] {
        assert!(structure.text.contains(title), "{title} missing from {}", structure.text);
    }

    // Search.
    assert_eq!(w.search(&kb, "zanzibar"), [install_id]);
    assert_eq!(w.search(&kb, "walrus"), [arts["Invoices"]["id"].as_str().unwrap()]);

    // Hosted page.
    let page = w.tome.call("GET", &format!("/hc/acme-docs/articles/{install_id}"), &[], None);
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
    let (kb, _, repo) = synced(&w, "moves");
    let before = by_title(&w.list(&format!("/v1/kb/{kb}/articles")));

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
    let full = w.get(&format!("/v1/kb/{kb}/articles/{}", a["id"].as_str().unwrap()));
    assert_eq!(full.data()["body"], "Download the kilimanjaro installer and run it.\n");
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

    // Search is current.
    let install = after["Install Tome"]["id"].as_str().unwrap();
    assert_eq!(w.search(&kb, "kilimanjaro"), [install]);
    assert!(w.search(&kb, "zanzibar").is_empty());
    assert!(w.search(&kb, "pelican").is_empty());
    assert_eq!(w.search(&kb, "narwhal"), [after["Taxes"]["id"].as_str().unwrap()]);
    assert_eq!(w.search(&kb, "walrus"), [after["Invoices"]["id"].as_str().unwrap()]);
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
fn broken_push_changes_nothing(w: &World, kb: &str, repo: &tome_sync::testing::WorkRepo, files: &[(&str, &str)], needles: &[&str]) {
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
        &[edit, ("billing/bad-status.md", "---\ntitle: Bad\nstatus: bogus\n---\n\nx\n")],
        &["billing/bad-status.md:3", "status"],
    );
    broken_push_changes_nothing(
        &w,
        &kb,
        &repo,
        &[edit, ("billing/unclosed.md", "---\ntitle: Never closed\n\nbody\n")],
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
    assert!(st["summary"].as_str().unwrap().ends_with("no changes"), "{st:#}");
}
