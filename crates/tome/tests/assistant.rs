//! Grounding of the offline assistant on the two real corpora beside the repository
//! (`../shared/corpora`): the Mintlify docs (`tome import --format mintlify`) and the tldr pages
//! (written one folder per platform in Tome's layout and imported), in one `tome serve`.
//!
//! Every question of `tests/assistant/questions.json` is asked over HTTP as a client would
//! (`POST /v2/assistant/{slug}/message`, `Accept: application/json`, an assistant key; a
//! follow-up as the second message of its thread, with `threadId` and the earlier messages), with
//! the server's default relevance settings. Measured:
//!
//! - **hit rate**: the share of answerable questions (Mintlify, tldr, and the second question of
//!   each follow-up) whose expected page is among the cited `sources` (a source's URL holds its
//!   article's ID; the expected pages' IDs are looked up through the admin API);
//! - **answered**: the share of them that get `resolutionStatus: answered`;
//! - **unanswerable**: every question neither corpus answers, asked of each knowledge base, must
//!   get `unanswered` and no source at all (not even a "closest page").
//!
//! A table of every question (asked, expected, cited, ok) is printed, so a failure reads at a
//! glance (`cargo test -p tome --test assistant -- --nocapture` shows it on success too).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};
use support::{Server, cli_json, http, project_with_key};

/// The goal for the share of answerable questions whose expected page is cited. The
/// offline answerer reaches it by one question (80.4% measured, 74 of 92, see
/// docs/assistant.md, "Relevance threshold"): it is printed with the result, and
/// [`MIN_HIT_RATE`] guards what is reached.
const GOAL_HIT_RATE: f64 = 0.80;
/// Least share of answerable questions whose expected page must be cited: the measured level
/// (80.4%, 74 of 92) less a couple of questions (72 of 92 pass), so that a change that loses
/// answers fails here.
const MIN_HIT_RATE: f64 = 0.78;
/// Least share of answerable questions that must be `answered`: 97.8% (90 of 92) measured, less
/// a couple of questions (88 of 92 pass).
const MIN_ANSWERED: f64 = 0.95;

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
}

/// The tldr corpus (`tldr/pages-en.jsonl`) written under `dir` in Tome's layout: one folder per
/// platform, one Markdown file per page with its title and excerpt as front matter.
fn write_tldr(dir: &Path) -> usize {
    let corpus = corpora().join("tldr/pages-en.jsonl");
    let text = fs::read_to_string(&corpus)
        .unwrap_or_else(|e| panic!("the tldr corpus at {}: {e}", corpus.display()));
    let mut pages = 0;
    for line in text.lines() {
        let page: Value = serde_json::from_str(line).unwrap();
        let path = page["path"].as_str().unwrap().trim_start_matches("pages/");
        if path.rsplit('/').next().unwrap().starts_with('.') {
            // `common/..md` (the `..` command): a hidden file, which imports leave out.
            continue;
        }
        let file = format!(
            "---\ntitle: {}\nexcerpt: {}\n---\n\n{}",
            serde_json::to_string(page["title"].as_str().unwrap()).unwrap(),
            serde_json::to_string(page["excerpt"].as_str().unwrap_or("")).unwrap(),
            page["body"].as_str().unwrap()
        );
        let full = dir.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, file).unwrap();
        pages += 1;
    }
    pages
}

/// Letters and digits of `s`, lower-cased: a category name compared with its folder
/// (`Cisco ios` and `cisco-ios`).
fn folded(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The article IDs of one knowledge base by title, and by (folded category name, title).
struct Articles {
    by_title: BTreeMap<String, Vec<String>>,
    by_category: BTreeMap<(String, String), Vec<String>>,
}

impl Articles {
    fn load(srv: &Server, key: &str, kb: &str) -> Articles {
        let categories: BTreeMap<String, String> = srv
            .list_all(key, &format!("/v1/kb/{kb}/categories"))
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().to_string(),
                    folded(c["name"].as_str().unwrap()),
                )
            })
            .collect();
        let mut by_title: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut by_category: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for a in srv.list_all(key, &format!("/v1/kb/{kb}/articles")) {
            let id = a["id"].as_str().unwrap().to_string();
            let title = a["title"].as_str().unwrap().to_string();
            let category = categories[a["category_id"].as_str().unwrap()].clone();
            by_title.entry(title.clone()).or_default().push(id.clone());
            by_category.entry((category, title)).or_default().push(id);
        }
        Articles {
            by_title,
            by_category,
        }
    }

    /// The IDs of the expected pages: a Mintlify page by its title (`expect` is its file path,
    /// which the import does not keep), a tldr page by its platform folder and title (tldr
    /// titles repeat across platforms).
    fn expected(&self, corpus: &str, expect: &Value, titles: &Value) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for (path, title) in expect
            .as_array()
            .unwrap()
            .iter()
            .zip(titles.as_array().unwrap())
        {
            let (path, title) = (path.as_str().unwrap(), title.as_str().unwrap().to_string());
            let found = if corpus == "tldr" {
                let folder = folded(path.split('/').next().unwrap());
                self.by_category.get(&(folder, title))
            } else {
                self.by_title.get(&title)
            };
            let found = found.unwrap_or_else(|| panic!("no article for {corpus} page {path}"));
            ids.extend(found.iter().cloned());
        }
        ids
    }
}

/// One message of a conversation, as the AI SDK v5 sends it.
fn message(role: &str, text: &str) -> Value {
    json!({"role": role, "parts": [{"type": "text", "text": text}]})
}

/// Asks over the v2 endpoint in JSON mode; returns `{threadId, text, sources, …}`.
fn ask(srv: &Server, key: &str, slug: &str, messages: Vec<Value>, thread: Option<&str>) -> Value {
    let mut body = json!({"fp": "grounding-test", "messages": messages});
    if let Some(t) = thread {
        body["threadId"] = json!(t);
    }
    let headers = [
        ("Authorization", format!("Bearer {key}")),
        ("Accept", "application/json".to_string()),
    ];
    let (status, answer) = http(
        srv.port,
        "POST",
        &format!("/v2/assistant/{slug}/message"),
        &headers,
        Some(body),
    );
    assert_eq!(status, 200, "POST /v2/assistant/{slug}/message: {answer}");
    answer
}

/// The titles of an answer's sources.
fn cited(answer: &Value) -> Vec<String> {
    answer["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap().to_string())
        .collect()
}

fn answered(answer: &Value) -> bool {
    answer["resolutionStatus"] == "answered"
}

/// Whether one of the answer's sources is one of the `expected` articles.
fn cites(answer: &Value, expected: &BTreeSet<String>) -> bool {
    answer["sources"].as_array().unwrap().iter().any(|s| {
        let url = s["url"].as_str().unwrap();
        expected.iter().any(|id| url.contains(id.as_str()))
    })
}

/// A row of the printed table.
struct Row {
    set: &'static str,
    question: String,
    expected: String,
    answer: Value,
    ok: bool,
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<9} {:<4} {:<10} {:<60} {:<45} cited",
        "set", "ok", "status", "question", "expected"
    );
    for r in rows {
        println!(
            "{:<9} {:<4} {:<10} {:<60} {:<45} {}",
            r.set,
            if r.ok { "ok" } else { "MISS" },
            r.answer["resolutionStatus"].as_str().unwrap_or("?"),
            short(&r.question, 60),
            short(&r.expected, 45),
            short(&cited(&r.answer).join("; "), 90),
        );
    }
}

fn rate(rows: &[&Row], f: impl Fn(&Row) -> bool) -> f64 {
    rows.iter().filter(|r| f(r)).count() as f64 / rows.len().max(1) as f64
}

#[test]
fn answers_are_grounded_in_the_expected_pages_and_unanswerable_questions_get_no_citation() {
    let corpora = corpora();
    assert!(
        corpora.join("mintlify-docs/docs.json").exists(),
        "the corpora are missing at {}",
        corpora.display()
    );
    let questions: Value = serde_json::from_str(
        &fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/assistant/questions.json"),
        )
        .unwrap(),
    )
    .unwrap();

    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (project, admin) = project_with_key(&data, "Grounding", None);
    let assistant = cli_json(
        &data,
        &[
            "key",
            "create",
            "--project",
            &project,
            "--kind",
            "assistant",
        ],
    )["key"]
        .as_str()
        .unwrap()
        .to_string();
    let p = |path: &Path| path.to_str().unwrap().to_string();
    let mint = cli_json(
        &data,
        &[
            "import",
            "--project",
            &project,
            "--from",
            &p(&corpora.join("mintlify-docs")),
            "--format",
            "mintlify",
            "--slug",
            "mint",
        ],
    );
    let tldr_dir = tmp.path().join("tldr");
    let pages = write_tldr(&tldr_dir);
    let tldr = cli_json(
        &data,
        &[
            "import",
            "--project",
            &project,
            "--from",
            &p(&tldr_dir),
            "--format",
            "tome",
            "--default-status",
            "published",
            "--slug",
            "tldr",
        ],
    );
    assert_eq!(tldr["counts"]["articles"], pages);
    let imported = started.elapsed();
    // The index is built before the server starts (`tome reindex`), so that it answers from all
    // of it at once.
    cli_json(&data, &["reindex"]);
    let indexed = started.elapsed();
    let srv = Server::start(&data);
    let kb_id = |v: &Value| v["knowledge_base"]["id"].as_str().unwrap().to_string();
    let articles: BTreeMap<&str, Articles> = [
        ("mintlify", Articles::load(&srv, &admin, &kb_id(&mint))),
        ("tldr", Articles::load(&srv, &admin, &kb_id(&tldr))),
    ]
    .into_iter()
    .collect();
    let slug = |corpus: &str| if corpus == "tldr" { "tldr" } else { "mint" };

    let mut rows: Vec<Row> = Vec::new();
    for set in ["mintlify", "tldr"] {
        for q in questions[set].as_array().unwrap() {
            let question = q["q"].as_str().unwrap();
            let expected = articles[set].expected(set, &q["expect"], &q["title"]);
            let answer = ask(
                &srv,
                &assistant,
                slug(set),
                vec![message("user", question)],
                None,
            );
            rows.push(Row {
                set,
                question: question.to_string(),
                expected: q["expect"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join(", "),
                ok: cites(&answer, &expected),
                answer,
            });
        }
    }
    for q in questions["followups"].as_array().unwrap() {
        let corpus = q["corpus"].as_str().unwrap();
        let (first, then) = (q["first"].as_str().unwrap(), q["then"].as_str().unwrap());
        let one = ask(
            &srv,
            &assistant,
            slug(corpus),
            vec![message("user", first)],
            None,
        );
        let thread = one["threadId"].as_str().unwrap().to_string();
        let two = ask(
            &srv,
            &assistant,
            slug(corpus),
            vec![
                message("user", first),
                message("assistant", one["text"].as_str().unwrap()),
                message("user", then),
            ],
            Some(&thread),
        );
        assert_eq!(
            two["threadId"],
            thread.as_str(),
            "the follow-up stays in its thread"
        );
        let expected = articles[corpus].expected(corpus, &q["then_expect"], &q["then_title"]);
        rows.push(Row {
            set: "followup",
            question: format!("{first} → {then}"),
            expected: q["then_expect"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(", "),
            ok: cites(&two, &expected),
            answer: two,
        });
    }
    let mut unanswerable: Vec<Row> = Vec::new();
    for q in questions["unanswerable"].as_array().unwrap() {
        let question = q["q"].as_str().unwrap();
        for kb in ["mint", "tldr"] {
            let answer = ask(&srv, &assistant, kb, vec![message("user", question)], None);
            unanswerable.push(Row {
                set: if kb == "mint" {
                    "unans/mint"
                } else {
                    "unans/tldr"
                },
                question: question.to_string(),
                expected: "unanswered, no source".to_string(),
                ok: !answered(&answer) && cited(&answer).is_empty(),
                answer,
            });
        }
    }
    let asked = started.elapsed();

    print_table(&rows);
    print_table(&unanswerable);
    let all: Vec<&Row> = rows.iter().collect();
    let of = |set: &str| rows.iter().filter(|r| r.set == set).collect::<Vec<_>>();
    let hit = rate(&all, |r| r.ok);
    let answered_share = rate(&all, |r| answered(&r.answer));
    let clean = rate(&unanswerable.iter().collect::<Vec<_>>(), |r| r.ok);
    println!(
        "\nhit rate {:.1}% (goal {:.0}%; mintlify {:.1}%, tldr {:.1}%, follow-ups {:.1}%) of {} \
         answerable; answered {:.1}%; unanswerable clean {:.1}% of {}",
        hit * 100.0,
        GOAL_HIT_RATE * 100.0,
        rate(&of("mintlify"), |r| r.ok) * 100.0,
        rate(&of("tldr"), |r| r.ok) * 100.0,
        rate(&of("followup"), |r| r.ok) * 100.0,
        all.len(),
        answered_share * 100.0,
        clean * 100.0,
        unanswerable.len(),
    );
    println!(
        "time: imports {:.1}s, index {:.1}s, {} questions {:.1}s, total {:.1}s",
        imported.as_secs_f64(),
        (indexed - imported).as_secs_f64(),
        all.len() + questions["followups"].as_array().unwrap().len() + unanswerable.len(),
        (asked - indexed).as_secs_f64(),
        asked.as_secs_f64(),
    );

    let failed: Vec<&str> = unanswerable
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.question.as_str())
        .collect();
    assert!(
        failed.is_empty(),
        "unanswerable questions answered or cited: {failed:?}"
    );
    assert!(
        hit >= MIN_HIT_RATE,
        "expected page cited for {:.1}% of answerable questions, want ≥ {:.0}%",
        hit * 100.0,
        MIN_HIT_RATE * 100.0
    );
    assert!(
        answered_share >= MIN_ANSWERED,
        "{:.1}% of answerable questions answered, want ≥ {:.0}%",
        answered_share * 100.0,
        MIN_ANSWERED * 100.0
    );
}
