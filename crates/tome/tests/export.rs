//! `tome export` and `tome import` end to end: knowledge bases built through the HTTP API of a
//! real `tome serve`, exported and imported by the real binary, compared through the API.
#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::path::Path;

use serde_json::{Value, json};
use support::{Server, cli_err, cli_json, http, project_with_key};

/// Builds a knowledge base full of content that is easy to get wrong; returns its ID.
fn build_tricky_kb(srv: &Server, key: &str) -> String {
    let kb = srv.create(
        key,
        "/v1/kb",
        json!({
            "title": "Tricky — Ünïcödé KB", "slug": "tricky",
            "description": "Line one\nLine \"two\"", "is_public": true, "theme": "docs",
            "theme_settings": {"primary_color": "#4f46e5", "dark_mode": true,
                               "custom_css": ".x { color: red; }\n/* --- */"},
            "logo_path": "/static/logo.png",
        }),
    );
    let kb = kb["id"].as_str().unwrap().to_string();
    let base = format!("/v1/kb/{kb}");
    let id = |v: Value| v["id"].as_str().unwrap().to_string();
    let cat = |body: Value| id(srv.create(key, &format!("{base}/categories"), body));
    let c0 = cat(
        json!({"name": "Getting started", "description": "First steps", "icon": "rocket", "sort_order": 2}),
    );
    let c1 = cat(json!({"name": "Billing & payments", "sort_order": 1}));
    let c2 = cat(json!({"name": "Getting started", "sort_order": 2}));
    let c3 = cat(json!({"name": "日本語カテゴリ", "sort_order": -5}));
    cat(json!({"name": "Empty", "sort_order": 10}));
    let sec = |body: Value| id(srv.create(key, &format!("{base}/sections"), body));
    let s0 = sec(json!({"category_id": c0, "name": "Account", "sort_order": 1}));
    let s1 = sec(json!({"category_id": c0, "name": "Account"}));
    let s2 =
        sec(json!({"category_id": c1, "name": "Invoices", "description": "All about invoices"}));
    sec(json!({"category_id": c3, "name": "Empty section"}));

    let art = |body: Value| id(srv.create(key, &format!("{base}/articles"), body));
    let a0 = art(json!({
        "category_id": c0, "section_id": s0, "title": "Reset your password",
        "body": "Steps:\n\n1. Go to settings\n", "excerpt": "How to reset", "status": "published",
        "tags": ["account", "sign in", "ünï \"q\""],
    }));
    let a1 = art(json!({
        "category_id": c0, "section_id": s0, "title": "Reset your password",
        "body": "---\ntitle: fake front matter\nstatus: draft\n---\n\nStill the body.\n",
        "excerpt": "", "status": "draft",
    }));
    let a2 = art(json!({
        "category_id": c0, "title": "Front: matter? # / \\ chars",
        "body": "\n\n---\n\nStarts with blank lines then a rule", "status": "archived",
        "sort_order": -1,
    }));
    let a3 = art(json!({
        "category_id": c1, "section_id": s2, "title": "Ünïcödé — 日本語 🎉",
        "body": "Emoji 🎉 and RTL עברית\r\nCRLF line\r\n", "status": "published", "sort_order": 5,
        "related_articles": [a0, a1],
    }));
    let mut long = String::new();
    while long.chars().count() < 99_900 {
        long.push_str("Lorem ipsum — ünïcödé dolor sit amet.\n---\nkey: value\n");
    }
    let a4 = art(json!({
        "category_id": c3, "title": "Long article", "body": long, "status": "published",
        "related_articles": [a3],
    }));
    let a5 = art(json!({
        "category_id": c2, "title": "Empty body", "body": "", "status": "draft",
        "related_articles": [a4, a2],
    }));
    art(
        json!({"category_id": c0, "section_id": s1, "title": "Tie A \u{2028} \u{85}", "body": "a", "sort_order": 3}),
    );
    art(
        json!({"category_id": c0, "section_id": s1, "title": "Tie B", "body": "b", "sort_order": 3}),
    );
    // A forward reference in creation order.
    let (st, v) = srv.request(
        "PUT",
        &format!("{base}/articles/{a0}"),
        Some(key),
        Some(json!({"related_articles": [a5, a3]})),
    );
    assert_eq!(st, 200, "{v}");

    let faq = |body: Value| srv.create(key, &format!("{base}/faqs"), body);
    faq(
        json!({"category_id": c0, "question": "How do I log in?", "answer": "Use your email.\n---\nNot front matter.", "status": "published"}),
    );
    faq(
        json!({"category_id": c0, "section_id": s0, "question": "Ünïcödé question 🎉?", "answer": "Answer", "status": "draft", "sort_order": -2}),
    );
    faq(
        json!({"category_id": c1, "section_id": s2, "question": "Archived one", "answer": "x", "status": "archived"}),
    );
    faq(
        json!({"category_id": c0, "section_id": s0, "question": "Reset your password", "answer": "Same name as two articles", "status": "published"}),
    );
    kb
}

/// A knowledge base's content without IDs and timestamps: references become positions in the
/// lists (which are in display order), so two KBs compare equal when their content does.
fn snapshot(srv: &Server, key: &str, kb: &str) -> Value {
    let (st, kb_v) = srv.get(&format!("/v1/kb/{kb}"), Some(key));
    assert_eq!(st, 200);
    let kb_v = &kb_v["data"];
    let categories = srv.list_all(key, &format!("/v1/kb/{kb}/categories"));
    let sections = srv.list_all(key, &format!("/v1/kb/{kb}/sections"));
    let articles = srv.list_all(key, &format!("/v1/kb/{kb}/articles"));
    let faqs = srv.list_all(key, &format!("/v1/kb/{kb}/faqs"));
    let pos = |list: &[Value], id: &Value| list.iter().position(|x| x["id"] == *id);
    let place = |item: &Value| {
        json!({"category": pos(&categories, &item["category_id"]),
               "section": pos(&sections, &item["section_id"])})
    };
    let published_ok = |item: &Value| {
        // A published item must carry a publication time; others may or may not.
        item["status"] != "published" || item["published_at"].is_string()
    };
    json!({
        "kb": {
            "title": kb_v["title"], "description": kb_v["description"],
            "is_public": kb_v["is_public"], "theme": kb_v["theme"],
            "theme_settings": kb_v["theme_settings"], "logo_path": kb_v["logo_path"],
        },
        "categories": categories.iter().map(|c| json!({
            "name": c["name"], "description": c["description"], "icon": c["icon"],
            "sort_order": c["sort_order"],
        })).collect::<Vec<_>>(),
        "sections": sections.iter().map(|s| json!({
            "name": s["name"], "description": s["description"], "sort_order": s["sort_order"],
            "category": pos(&categories, &s["category_id"]),
        })).collect::<Vec<_>>(),
        "articles": articles.iter().map(|summary| {
            let (st, a) = srv.get(&format!("/v1/kb/{kb}/articles/{}", summary["id"].as_str().unwrap()), Some(key));
            assert_eq!(st, 200);
            let a = &a["data"];
            let related: Vec<_> = a["related_articles"].as_array().unwrap().iter()
                .map(|r| pos(&articles, r)).collect();
            assert!(published_ok(a), "{a}");
            json!({
                "title": a["title"], "body": a["body"], "excerpt": a["excerpt"],
                "status": a["status"], "tags": a["tags"], "sort_order": a["sort_order"],
                "related": related, "place": place(a),
            })
        }).collect::<Vec<_>>(),
        "faqs": faqs.iter().map(|f| {
            assert!(published_ok(f), "{f}");
            json!({
                "question": f["question"], "answer": f["answer"], "status": f["status"],
                "sort_order": f["sort_order"], "place": place(f),
            })
        }).collect::<Vec<_>>(),
    })
}

/// Asserts two snapshots are equal, naming the first difference instead of printing both
/// (the long article would drown it).
fn assert_same(got: &Value, want: &Value) {
    fn first_diff(a: &Value, b: &Value, at: String) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, v) in y {
                    if let Some(d) =
                        first_diff(x.get(k).unwrap_or(&Value::Null), v, format!("{at}.{k}"))
                    {
                        return Some(d);
                    }
                }
                (x.len() != y.len()).then(|| format!("{at}: keys differ"))
            }
            (Value::Array(x), Value::Array(y)) => {
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    if let Some(d) = first_diff(v, w, format!("{at}[{i}]")) {
                        return Some(d);
                    }
                }
                (x.len() != y.len()).then(|| format!("{at}: {} items, want {}", x.len(), y.len()))
            }
            _ if a == b => None,
            _ => {
                let short = |v: &Value| v.to_string().chars().take(200).collect::<String>();
                Some(format!("{at}: got {}, want {}", short(a), short(b)))
            }
        }
    }
    if let Some(d) = first_diff(got, want, String::new()) {
        panic!("snapshots differ at {d}");
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn default_project(data: &Path) -> String {
    cli_json(data, &["project", "list"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn usage(srv: &Server, key: &str) -> i64 {
    let (st, v) = srv.get("/v1/usage", Some(key));
    assert_eq!(st, 200, "{v}");
    v["data"]["credits_used"].as_i64().unwrap()
}

fn kb_count(srv: &Server, key: &str) -> usize {
    srv.list_all(key, "/v1/kb").len()
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = format!("{prefix}{}", e.file_name().to_str().unwrap());
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &format!("{name}/"), out);
            } else {
                out.push(name);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.sort();
    out
}

#[test]
fn export_then_import_gives_the_same_knowledge_base() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let srv = Server::start(&data);
    let key = srv.printed_key.clone().unwrap();
    let kb = build_tricky_kb(&srv, &key);
    let original = snapshot(&srv, &key, &kb);

    // A directory, found without naming the project.
    let out = tmp.path().join("export");
    let done = cli_json(&data, &["export", "--kb", &kb, "--out", p(&out)]);
    assert_eq!(done["format"], "directory");
    assert_eq!(
        done["counts"],
        json!({"categories": 5, "sections": 4, "articles": 8, "faqs": 4})
    );
    let manifest: Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], "tome-kb");
    assert_eq!(manifest["version"], 1);
    let folders: Vec<&str> = manifest["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["folder"].as_str().unwrap())
        .collect();
    assert_eq!(
        folders,
        [
            "日本語カテゴリ",
            "billing-payments",
            "getting-started",
            "getting-started-2",
            "empty"
        ]
    );
    assert!(
        out.join("empty").is_dir(),
        "empty categories keep their folder"
    );
    assert!(out.join("日本語カテゴリ/empty-section").is_dir());
    let files = files_under(&out);
    for expected in [
        // "Account" (sort 1) is listed after its namesake (sort 0), so it gets `account-2`.
        "getting-started/account-2/reset-your-password.md",
        "getting-started/account-2/reset-your-password-2.md",
        "getting-started/account-2/reset-your-password-3.md",
        "getting-started/account/tie-a.md",
        "getting-started/front-matter-chars.md",
        "billing-payments/invoices/ünïcödé-日本語.md",
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "{expected} not in {files:?}"
        );
    }
    let second =
        fs::read_to_string(out.join("getting-started/account-2/reset-your-password-2.md")).unwrap();
    assert!(
        second.starts_with("---\ntype: article\nid: \"kba_"),
        "{second}"
    );
    assert!(
        second.contains("\nexcerpt: \"\"\nstatus: draft\n"),
        "{second}"
    );
    assert!(second.ends_with(
        "---\n\n---\ntitle: fake front matter\nstatus: draft\n---\n\nStill the body.\n"
    ));
    for f in &files {
        let text = fs::read_to_string(out.join(f)).unwrap();
        assert!(!text.contains("psk_"), "{f} contains a site key");
    }

    // A tarball; an existing export is not overwritten by accident.
    let tarball = tmp.path().join("tricky.tar.gz");
    let project = default_project(&data);
    let done = cli_json(
        &data,
        &[
            "export",
            "--kb",
            &kb,
            "--project",
            &project,
            "--out",
            p(&tarball),
        ],
    );
    assert_eq!(done["format"], "tarball");
    assert!(cli_err(&data, &["export", "--kb", &kb, "--out", p(&out)]).contains("not empty"));
    assert!(cli_err(&data, &["export", "--kb", &kb, "--out", p(&tarball)]).contains("--force"));

    // Into another project, from each form.
    let (p2, key2) = project_with_key(&data, "Other", None);
    // The source KB is public and public slugs are unique instance-wide (hosted URLs carry no
    // project), so the same slug is refused even in another project, before anything is written.
    let taken = cli_err(&data, &["import", "--project", &p2, "--from", p(&out)]);
    assert!(
        taken.contains("already used by another public knowledge base"),
        "{taken}"
    );
    let from_dir = cli_json(
        &data,
        &[
            "import",
            "--project",
            &p2,
            "--from",
            p(&out),
            "--slug",
            "tricky-1",
        ],
    );
    assert_eq!(from_dir["knowledge_base"]["slug"], "tricky-1");
    assert_eq!(from_dir["credits"], 3 + 5 * 2 + 4 + 8 * 3 + 4);
    assert_eq!(from_dir["modified_files"], json!([]));
    let kb2 = from_dir["knowledge_base"]["id"].as_str().unwrap();
    assert_ne!(kb2, kb);
    assert_same(&snapshot(&srv, &key2, kb2), &original);

    let from_tar = cli_json(
        &data,
        &[
            "import",
            "--project",
            &p2,
            "--from",
            p(&tarball),
            "--slug",
            "tricky-2",
            "--title",
            "Copy",
        ],
    );
    let kb3 = from_tar["knowledge_base"]["id"].as_str().unwrap();
    let mut copy = snapshot(&srv, &key2, kb3);
    assert_eq!(copy["kb"]["title"], "Copy");
    copy["kb"]["title"] = original["kb"]["title"].clone();
    assert_same(&copy, &original);
    // A tarball of the export folder itself (`tar czf x.tgz export/`) is unwrapped.
    let wrapped = tmp.path().join("wrapped.tgz");
    let tarred = std::process::Command::new("tar")
        .arg("czf")
        .arg(&wrapped)
        .arg("-C")
        .arg(tmp.path())
        .arg("export")
        .status()
        .unwrap();
    assert!(tarred.success());
    let from_wrapped = cli_json(
        &data,
        &[
            "import",
            "--project",
            &p2,
            "--from",
            p(&wrapped),
            "--slug",
            "tricky-3",
        ],
    );
    let kb4 = from_wrapped["knowledge_base"]["id"].as_str().unwrap();
    assert_same(&snapshot(&srv, &key2, kb4), &original);
    assert_eq!(usage(&srv, &key2), 3 * (3 + 5 * 2 + 4 + 8 * 3 + 4));

    // The new site key is printed once and works on the public API.
    let site_key = from_dir["site_key"].as_str().unwrap();
    let (st, cats) = http(
        srv.port,
        "GET",
        "/v1/kb/public/tricky-1/categories",
        &[("X-Minolith-Site-Key", site_key.to_string())],
        None,
    );
    assert_eq!(st, 200, "{cats}");

    // Names are stable: exporting the copy gives the same files.
    let again = tmp.path().join("again");
    cli_json(&data, &["export", "--kb", kb2, "--out", p(&again)]);
    assert_eq!(files_under(&again), files);

    // --force replaces the previous export's files and nothing else.
    fs::write(out.join("NOTES.txt"), "mine").unwrap();
    fs::write(
        out.join("getting-started/stale.md"),
        "---\ntitle: Stale\n---\n",
    )
    .unwrap();
    let manifest_before = manifest;
    cli_json(&data, &["export", "--kb", kb2, "--out", p(&out), "--force"]);
    assert_eq!(fs::read_to_string(out.join("NOTES.txt")).unwrap(), "mine");
    assert!(
        out.join("getting-started/stale.md").exists(),
        "not ours, kept"
    );
    let manifest_after: Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest_after["knowledge_base"]["id"], kb2);
    assert_ne!(
        manifest_before["knowledge_base"]["id"],
        manifest_after["knowledge_base"]["id"]
    );
}

#[test]
fn edited_exports_import_with_the_edits() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let srv = Server::start(&data);
    let key = srv.printed_key.clone().unwrap();
    let kb = build_tricky_kb(&srv, &key);
    let out = tmp.path().join("export");
    cli_json(&data, &["export", "--kb", &kb, "--out", p(&out)]);

    // A person edits one file, deletes another and adds a hand-written one.
    let edited = out.join("getting-started/account-2/reset-your-password.md");
    let text = fs::read_to_string(&edited).unwrap();
    fs::write(
        &edited,
        text.replace("title: \"Reset your password\"", "title: Reset it, quickly"),
    )
    .unwrap();
    fs::remove_file(out.join("getting-started/account/tie-b.md")).unwrap();
    fs::write(
        out.join("billing-payments/refunds.md"),
        "---\ntitle: Refunds\ntags: [billing, 'money back']\nstatus: published\n\
         related_articles: [getting-started/account-2/reset-your-password.md]\n---\n\nWithin 30 days.\n",
    )
    .unwrap();

    let (p2, key2) = project_with_key(&data, "Other", None);
    let verify = cli_err(
        &data,
        &["import", "--project", &p2, "--from", p(&out), "--verify"],
    );
    assert!(
        verify.contains(
            "getting-started/account-2/reset-your-password.md: differs from the checksum"
        ),
        "{verify}"
    );
    assert!(
        verify.contains("getting-started/account/tie-b.md: is listed in manifest.json but missing"),
        "{verify}"
    );

    let done = cli_json(
        &data,
        &[
            "import",
            "--project",
            &p2,
            "--from",
            p(&out),
            "--slug",
            "edited",
        ],
    );
    assert_eq!(
        done["modified_files"],
        json!(["getting-started/account-2/reset-your-password.md"])
    );
    assert_eq!(
        done["missing_files"],
        json!(["getting-started/account/tie-b.md"])
    );
    assert_eq!(done["counts"]["articles"], 8);
    let kb2 = done["knowledge_base"]["id"].as_str().unwrap();
    let articles = srv.list_all(&key2, &format!("/v1/kb/{kb2}/articles"));
    let by_title = |t: &str| {
        articles
            .iter()
            .find(|a| a["title"] == t)
            .unwrap_or_else(|| panic!("no {t}"))
    };
    let refunds = by_title("Refunds");
    assert_eq!(refunds["tags"], json!(["billing", "money back"]));
    assert_eq!(refunds["status"], "published");
    assert_eq!(
        refunds["related_articles"],
        json!([by_title("Reset it, quickly")["id"]])
    );
    assert!(articles.iter().all(|a| a["title"] != "Tie B"));
}

#[test]
fn hand_written_folders_import() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let srv = Server::start(&data);
    let docs = tmp.path().join("product-docs");
    let write = |rel: &str, text: &str| {
        let path = docs.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write("index.md", "# Welcome\n\nHello.\n");
    write(
        "getting-started/reset-password.md",
        "---\ntitle: Reset your password\ntags: [account, \"sign in\"]\nstatus: published\n\
         related_articles:\n  - getting-started/install.mdx\n  - welcome\n---\n\nGo to settings.\n",
    );
    write(
        "getting-started/install.mdx",
        "---\ntitle: 'Install'\ndescription: Install it in a minute.\nsort_order: -1\n\
         keywords: [setup]\n---\n<Tip>MDX stays as written.</Tip>\n",
    );
    write(
        "getting-started/account/two-factor.md",
        "---\ndraft: false\n---\nUse an app.\n",
    );
    write(
        "faq/refunds.md",
        "---\ntype: faq\nquestion: Can I get a refund?\n---\nYes, within 30 days.\n",
    );
    write("notes.txt", "not markdown");
    write(".hidden/secret.md", "# Hidden\n");
    // A file can name itself for references with any `id`.
    let index = fs::read_to_string(docs.join("index.md")).unwrap();
    fs::write(
        docs.join("index.md"),
        format!("---\nid: welcome\n---\n{index}"),
    )
    .unwrap();

    let (project, key) = project_with_key(&data, "Docs", None);
    let done = cli_json(
        &data,
        &["import", "--project", &project, "--from", p(&docs)],
    );
    assert_eq!(done["knowledge_base"]["slug"], "product-docs");
    assert_eq!(done["knowledge_base"]["title"], "Product docs");
    assert_eq!(
        done["counts"],
        json!({"categories": 3, "sections": 1, "articles": 4, "faqs": 1})
    );
    assert_eq!(done["ignored_keys"], json!({"keywords": 1}));
    assert_eq!(done["skipped_files"], 1);
    let kb = done["knowledge_base"]["id"].as_str().unwrap();

    let categories = srv.list_all(&key, &format!("/v1/kb/{kb}/categories"));
    let names: Vec<&str> = categories
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["General", "Faq", "Getting started"]);
    let sections = srv.list_all(&key, &format!("/v1/kb/{kb}/sections"));
    assert_eq!(sections.len(), 1);
    assert_eq!(sections[0]["name"], "Account");
    assert_eq!(sections[0]["category_id"], categories[2]["id"]);

    let articles = srv.list_all(&key, &format!("/v1/kb/{kb}/articles"));
    let get = |title: &str| {
        let a = articles
            .iter()
            .find(|a| a["title"] == title)
            .unwrap_or_else(|| panic!("no {title}: {articles:?}"));
        let (_, full) = srv.get(
            &format!("/v1/kb/{kb}/articles/{}", a["id"].as_str().unwrap()),
            Some(&key),
        );
        full["data"].clone()
    };
    let welcome = get("Welcome");
    assert_eq!(welcome["body"], "# Welcome\n\nHello.\n");
    assert_eq!(welcome["category_id"], categories[0]["id"]);
    assert_eq!(
        welcome["status"], "draft",
        "no status: --default-status (draft)"
    );
    let install = get("Install");
    assert_eq!(install["excerpt"], "Install it in a minute.");
    assert_eq!(install["sort_order"], -1);
    assert_eq!(install["body"], "<Tip>MDX stays as written.</Tip>\n");
    let reset = get("Reset your password");
    assert_eq!(reset["tags"], json!(["account", "sign in"]));
    assert_eq!(reset["status"], "published");
    assert_eq!(
        reset["related_articles"],
        json!([install["id"], welcome["id"]])
    );
    let two_factor = get("Two factor");
    assert_eq!(two_factor["status"], "published", "draft: false publishes");
    assert_eq!(two_factor["section_id"], sections[0]["id"]);
    let faqs = srv.list_all(&key, &format!("/v1/kb/{kb}/faqs"));
    assert_eq!(faqs.len(), 1);
    assert_eq!(faqs[0]["question"], "Can I get a refund?");
    assert_eq!(faqs[0]["answer"], "Yes, within 30 days.\n");
    assert_eq!(faqs[0]["category_id"], categories[1]["id"]);

    // The same tree as a tarball made with `tar`, published by default this time.
    let tarball = tmp.path().join("docs.tgz");
    let status = std::process::Command::new("tar")
        .arg("czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&docs)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let done = cli_json(
        &data,
        &[
            "import",
            "--project",
            &project,
            "--from",
            p(&tarball),
            "--default-status",
            "published",
        ],
    );
    assert_eq!(done["knowledge_base"]["slug"], "docs");
    assert_eq!(
        done["counts"],
        json!({"categories": 3, "sections": 1, "articles": 4, "faqs": 1})
    );
    let kb = done["knowledge_base"]["id"].as_str().unwrap();
    let articles = srv.list_all(&key, &format!("/v1/kb/{kb}/articles"));
    let welcome = articles.iter().find(|a| a["title"] == "Welcome").unwrap();
    assert_eq!(welcome["status"], "published");

    // A dry run checks and prices without writing.
    let dry = cli_json(
        &data,
        &[
            "import",
            "--project",
            &project,
            "--from",
            p(&docs),
            "--slug",
            "dry",
            "--dry-run",
        ],
    );
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["credits"], 3 + 3 * 2 + 1 + 4 * 3 + 1);
    assert!(dry.get("site_key").is_none());
    assert_eq!(kb_count(&srv, &key), 2);
}

/// Writes `files` (path, text) into a new folder under `root`.
fn tree(root: &Path, name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = root.join(name);
    for (rel, text) in files {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn failed_imports_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let srv = Server::start(&data);
    let (project, key) = project_with_key(&data, "Careful", Some(40));
    let good = ("a/good.md", "---\ntitle: Good\n---\nFine.\n");
    let import_err = |dir: &Path| {
        let err = cli_err(&data, &["import", "--project", &project, "--from", p(dir)]);
        assert_eq!(kb_count(&srv, &key), 0, "{err}");
        assert_eq!(usage(&srv, &key), 0, "{err}");
        err
    };

    let bad_yaml = tree(
        tmp.path(),
        "bad-yaml",
        &[
            good,
            ("a/bad.md", "---\ntitle: Fine\ntags: [unclosed\n---\nbody\n"),
        ],
    );
    let err = import_err(&bad_yaml);
    assert!(err.contains("a/bad.md:4:"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");

    let long_title = format!("---\ntitle: {}\n---\nbody\n", "x".repeat(501));
    let too_long = tree(tmp.path(), "too-long", &[good, ("a/long.md", &long_title)]);
    let err = import_err(&too_long);
    assert!(
        err.contains("a/long.md:2: title: must be at most 500 characters (got 501)"),
        "{err}"
    );

    let unknown = tree(
        tmp.path(),
        "unknown-related",
        &[
            good,
            (
                "a/rel.md",
                "---\ntitle: R\nrelated_articles: [kba_doesnotexist]\n---\nbody\n",
            ),
        ],
    );
    let err = import_err(&unknown);
    assert!(
        err.contains("a/rel.md:3: related_articles[0]: no article in the archive has the id or path \"kba_doesnotexist\""),
        "{err}"
    );

    // Every problem is listed at once.
    let many = tree(
        tmp.path(),
        "many",
        &[
            ("a/one.md", "---\nstatus: live\n---\n"),
            ("a/two.md", "---\ntype: faq\nquestion: Q\n---\n"),
            ("a/three.md", "---\nsort_order: \"1\"\n---\n"),
            ("a/four.md", "---\ndescription: [a]\n---\n"),
        ],
    );
    let err = import_err(&many);
    assert!(err.contains("4 problems"), "{err}");
    assert!(
        err.contains("a/one.md:2: status: must be one of draft, published, archived"),
        "{err}"
    );
    assert!(
        err.contains("a/two.md:5: answer: must not be empty"),
        "{err}"
    );
    assert!(
        err.contains("a/three.md:2: sort_order: must be a whole number"),
        "{err}"
    );
    assert!(
        err.contains("a/four.md:2: description: must be a text, not a list"),
        "{err}"
    );

    // 3 (KB) + 2 (category) + 12 × 3 (articles) = 41 > 40: refused before any write.
    let files: Vec<(String, String)> = (0..12)
        .map(|i| (format!("a/{i}.md"), format!("# Article {i}\n")))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let over_cap = tree(tmp.path(), "over-cap", &refs);
    let err = import_err(&over_cap);
    assert!(err.contains("costs 41 credits"), "{err}");
    assert!(err.contains("40-credit monthly cap"), "{err}");

    // A write that fails halfway (here a database trigger refusing one FAQ) rolls back: the
    // new knowledge base and everything created in it are deleted again.
    let halfway = tree(
        tmp.path(),
        "halfway",
        &[
            good,
            ("a/faq.md", "---\ntype: faq\nquestion: boom\n---\nAnswer.\n"),
        ],
    );
    plant_trigger(
        &data,
        "CREATE TRIGGER boom BEFORE INSERT ON faqs WHEN NEW.question = 'boom' \
                         BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    );
    let err = cli_err(
        &data,
        &["import", "--project", &project, "--from", p(&halfway)],
    );
    assert!(err.contains("rolled back"), "{err}");
    assert_eq!(kb_count(&srv, &key), 0, "{err}");
    assert_eq!(count_rows(&data, &project), 0);
    // What it had created was charged like API creates and stays charged (docs/export-format.md).
    assert_eq!(usage(&srv, &key), 3 + 2 + 3);

    // A taken slug is refused before anything is written.
    let ok = tree(tmp.path(), "fine", &[good]);
    cli_json(&data, &["import", "--project", &project, "--from", p(&ok)]);
    let used = usage(&srv, &key);
    let err = cli_err(&data, &["import", "--project", &project, "--from", p(&ok)]);
    assert!(err.contains("slug \"fine\" is already used"), "{err}");
    assert!(err.contains("--slug"), "{err}");
    assert_eq!(kb_count(&srv, &key), 1);
    assert_eq!(usage(&srv, &key), used);

    // Not an archive at all.
    let err = cli_err(
        &data,
        &[
            "import",
            "--project",
            &project,
            "--from",
            p(&tmp.path().join("nope")),
        ],
    );
    assert!(err.contains("does not exist"), "{err}");
    let bogus = tmp.path().join("bogus.tgz");
    fs::write(&bogus, "not gzip").unwrap();
    assert!(
        !cli_err(
            &data,
            &["import", "--project", &project, "--from", p(&bogus)]
        )
        .is_empty()
    );
    let err = cli_err(
        &data,
        &["import", "--project", "prj_doesnotexist", "--from", p(&ok)],
    );
    assert!(err.contains("Project not found"), "{err}");
}

fn plant_trigger(data: &Path, sql: &'static str) {
    let url = format!("sqlite://{}", data.join("tome.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    });
}

/// Content rows of every kind in a project, straight from the database.
fn count_rows(data: &Path, project: &str) -> i64 {
    let url = format!("sqlite://{}", data.join("tome.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let mut total = 0;
        for sql in [
            "SELECT COUNT(*) FROM knowledge_bases WHERE project_id = ?",
            "SELECT COUNT(*) FROM categories WHERE project_id = ?",
            "SELECT COUNT(*) FROM sections WHERE project_id = ?",
            "SELECT COUNT(*) FROM articles WHERE project_id = ?",
            "SELECT COUNT(*) FROM faqs WHERE project_id = ?",
            "SELECT COUNT(*) FROM site_keys WHERE kb_id NOT IN (SELECT id FROM knowledge_bases) \
             OR kb_id IN (SELECT id FROM knowledge_bases WHERE project_id = ?)",
        ] {
            let n: i64 = sqlx::query_scalar(sql)
                .bind(project)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            total += n;
        }
        total
    })
}

/// The Mintlify corpus read as a plain folder of Markdown files (`--format tome`).
#[test]
fn a_real_docs_folder_imports() {
    let corpus =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/mintlify-docs");
    assert!(
        corpus.join("docs.json").exists(),
        "the mintlify-docs corpus is missing at {}",
        corpus.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let srv = Server::start(&data);
    let (project, key) = project_with_key(&data, "Mintlify", None);

    // One page is longer than an article may be; the whole import is refused and says which.
    let err = cli_err(
        &data,
        &[
            "import",
            "--project",
            &project,
            "--from",
            p(&corpus),
            "--format",
            "tome",
        ],
    );
    assert!(
        err.contains("changelog.mdx:8: body: must be at most 100000 characters"),
        "{err}"
    );
    assert_eq!(kb_count(&srv, &key), 0);

    let done = cli_json(
        &data,
        &[
            "import",
            "--project",
            &project,
            "--from",
            p(&corpus),
            "--format",
            "tome",
            "--exclude",
            "changelog.mdx",
            "--slug",
            "mintlify",
        ],
    );
    assert_eq!(
        done["counts"],
        json!({"categories": 27, "sections": 20, "articles": 318, "faqs": 0})
    );
    assert_eq!(done["ignored_keys"]["keywords"], 253);
    let kb = done["knowledge_base"]["id"].as_str().unwrap();
    let categories = srv.list_all(&key, &format!("/v1/kb/{kb}/categories"));
    let sections = srv.list_all(&key, &format!("/v1/kb/{kb}/sections"));
    let articles = srv.list_all(&key, &format!("/v1/kb/{kb}/articles"));
    assert_eq!(articles.len(), 318);
    let named = |list: &[Value], field: &str, value: &str| {
        list.iter()
            .find(|x| x[field] == value)
            .unwrap_or_else(|| panic!("no {field} {value:?}"))
            .clone()
    };
    let quickstart = named(&articles, "title", "Quickstart");
    assert_eq!(
        quickstart["category_id"],
        named(&categories, "name", "General")["id"]
    );
    assert!(
        quickstart["excerpt"]
            .as_str()
            .unwrap()
            .starts_with("Get started with Mintlify")
    );
    let job = named(&articles, "title", "Create agent job");
    assert_eq!(job["category_id"], named(&categories, "name", "Api")["id"]);
    assert_eq!(
        job["section_id"],
        named(&sections, "name", "Agent / V2")["id"]
    );
    // SKILL.md has no title: its first heading names it.
    assert!(
        articles
            .iter()
            .any(|a| a["title"] == "Mintlify best practices")
    );
    let (_, intro) = srv.get(
        &format!(
            "/v1/kb/{kb}/articles/{}",
            named(&articles, "title", "Introduction")["id"]
                .as_str()
                .unwrap()
        ),
        Some(&key),
    );
    let source = fs::read_to_string(corpus.join("index.mdx")).unwrap();
    let body = intro["data"]["body"].as_str().unwrap();
    assert!(
        source.ends_with(body),
        "the body is the file after its front matter, unchanged"
    );
    assert!(body.starts_with("{/* vale"));
}

/// The Mintlify corpus read as a Mintlify repository: the navigation places every page, MDX
/// becomes Markdown, links between pages point at the imported articles, the changelog is split.
#[test]
fn a_mintlify_repository_imports() {
    let corpus =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/mintlify-docs");
    assert!(
        corpus.join("docs.json").exists(),
        "the mintlify-docs corpus is missing at {}",
        corpus.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let srv = Server::start(&data);
    let (project, key) = project_with_key(&data, "Mintlify", None);

    // `auto` sees docs.json; a dry run writes nothing.
    let dry = cli_json(
        &data,
        &[
            "import",
            "--project",
            &project,
            "--from",
            p(&corpus),
            "--dry-run",
        ],
    );
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["counts"]["articles"], 247);
    assert_eq!(kb_count(&srv, &key), 0);
    assert!(
        dry["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().starts_with("changelog.mdx: "))
    );

    let done = cli_json(
        &data,
        &[
            "import",
            "--project",
            &project,
            "--from",
            p(&corpus),
            "--format",
            "mintlify",
            "--slug",
            "mintlify",
        ],
    );
    assert_eq!(
        done["counts"],
        json!({"categories": 26, "sections": 26, "articles": 247, "faqs": 64})
    );
    assert_eq!(done["knowledge_base"]["title"], "Mintlify");
    let kb = done["knowledge_base"]["id"].as_str().unwrap();
    let categories = srv.list_all(&key, &format!("/v1/kb/{kb}/categories"));
    let articles = srv.list_all(&key, &format!("/v1/kb/{kb}/articles"));
    assert_eq!(articles.len(), 247);
    let named = |list: &[Value], field: &str, value: &str| {
        list.iter()
            .find(|x| x[field] == value)
            .unwrap_or_else(|| panic!("no {field} {value:?}"))
            .clone()
    };
    let quickstart = named(&articles, "title", "Quickstart");
    assert_eq!(quickstart["status"], "published");
    assert_eq!(
        quickstart["category_id"],
        named(&categories, "name", "Get started")["id"]
    );
    let get = |id: &Value| {
        let (status, v) = srv.get(
            &format!("/v1/kb/{kb}/articles/{}", id.as_str().unwrap()),
            Some(&key),
        );
        assert_eq!(status, 200);
        v["data"].clone()
    };
    let first = get(&named(&articles, "title", "Product updates")["id"]);
    let second = get(&named(&articles, "title", "Product updates (2)")["id"]);
    assert_eq!(first["related_articles"], json!([second["id"]]));
    assert_eq!(second["related_articles"], json!([first["id"]]));
    let intro = get(&named(&articles, "title", "Introduction")["id"]);
    let body = intro["body"].as_str().unwrap();
    assert!(
        !body.contains("<Card") && !body.contains("import "),
        "{body}"
    );
    let quickstart_url = format!(
        "](/hc/mintlify/articles/{}-quickstart)",
        quickstart["id"].as_str().unwrap()
    );
    assert!(body.contains(&quickstart_url), "{body}");
    assert!(!body.contains("tome:page/"), "{body}");
    // Accordions that ask a question are FAQs too, their links rewritten the same way.
    let faqs = srv.list_all(&key, &format!("/v1/kb/{kb}/faqs"));
    assert_eq!(faqs.len(), 64);
    assert!(
        faqs.iter()
            .all(|f| f["question"].as_str().unwrap().ends_with('?'))
    );
    assert!(faqs.iter().any(|f| {
        f["answer"]
            .as_str()
            .unwrap()
            .contains("](/hc/mintlify/articles/kba_")
    }));
    assert!(
        !faqs
            .iter()
            .any(|f| f["answer"].as_str().unwrap().contains("tome:page/"))
    );
}
