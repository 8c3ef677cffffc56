#![allow(clippy::unwrap_used)]
use super::*;

fn files(list: &[(&str, &str)]) -> Files {
    let mut f = Files::default();
    for (p, t) in list {
        f.files.insert((*p).to_string(), t.as_bytes().to_vec());
    }
    f
}

fn corpus_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/mintlify-docs")
}

fn corpus() -> Files {
    let root = corpus_root();
    assert!(
        root.join("docs.json").exists(),
        "the mintlify-docs corpus is missing at {}",
        root.display()
    );
    Files::read_dir(&root, &[]).unwrap()
}

const NAV: &str = r#"{
  "navigation": {"tabs": [
    {"tab": "Docs", "groups": [
      {"group": "Start", "pages": ["index", "guide",
        {"group": "CLI", "root": "cli/index", "pages": ["cli/install", {"group": "Deep", "pages": ["cli/deep"]}]}]},
      {"group": "More", "pages": ["guide", "more"]}
    ]},
    {"tab": "API", "groups": [{"group": "Start", "pages": ["api/one", "GET /users"]}]}
  ]}
}"#;

fn small() -> Vec<(&'static str, &'static str)> {
    vec![
        ("docs.json", NAV),
        (
            "index.mdx",
            "---\ntitle: Home\ndescription: The start\nkeywords: [a, b, A]\n---\n\nSee [the guide](/guide#setup) and [deep](./cli/deep.mdx), [out](https://x.test/guide), [none](/nowhere).\n",
        ),
        (
            "guide.mdx",
            "---\nsidebarTitle: G\n---\n# Guide heading\n\n## Setup\n\n<Tip>Hi</Tip>\n",
        ),
        (
            "cli/index.mdx",
            "---\ntitle: CLI\nstatus: draft\n---\nBack [home](../index)\n",
        ),
        (
            "cli/install.md",
            "---\ntitle: Install\ndraft: true\n---\nText {braces}\n",
        ),
        ("cli/deep.mdx", "Deep page\n"),
        (
            "more.mdx",
            "---\ntitle: More\nrelated:\n  - /index\n  - Guide: ./guide.mdx\n  - https://x.test\n  - /nope\n---\nx\n",
        ),
        ("api/one.mdx", "---\ntitle: One\nopenapi: POST /one\n---\n"),
        ("orphan.mdx", "---\ntitle: Orphan\n---\n"),
        ("snippets/s.mdx", "snippet\n"),
        ("README.md", "# Readme\n"),
    ]
}

#[test]
fn navigation_order_and_placement() {
    let d = read(&files(&small())).unwrap_or_else(|p| panic!("{p}"));
    let cats: Vec<&str> = d.categories.iter().map(|c| c.new.name.as_str()).collect();
    assert_eq!(cats, ["Start", "More", "Start (API)"]);
    let secs: Vec<(&str, usize)> = d
        .sections
        .iter()
        .map(|s| (s.new.name.as_str(), s.category))
        .collect();
    assert_eq!(secs, [("CLI", 0), ("CLI / Deep", 0)]);
    let arts: Vec<(&str, &str, usize, Option<usize>, i64)> = d
        .articles
        .iter()
        .map(|a| {
            (
                a.path.as_str(),
                a.new.title.as_str(),
                a.category,
                a.section,
                a.new.sort_order,
            )
        })
        .collect();
    assert_eq!(
        arts,
        [
            ("index.mdx", "Home", 0, None, 0),
            ("guide.mdx", "Guide heading", 0, None, 1),
            ("cli/index.mdx", "CLI", 0, Some(0), 2),
            ("cli/install.md", "Install", 0, Some(0), 3),
            ("cli/deep.mdx", "Deep", 0, Some(1), 4),
            ("more.mdx", "More", 1, None, 5),
            ("api/one.mdx", "One", 2, None, 6),
        ]
    );
    let a = &d.articles;
    assert_eq!(a[0].new.excerpt.as_deref(), Some("The start"));
    assert_eq!(a[0].new.tags, ["a", "b"]);
    assert_eq!(a[0].new.status.as_str(), "published");
    assert_eq!(a[2].new.status.as_str(), "draft");
    assert_eq!(a[3].new.status.as_str(), "draft");
    assert_eq!(
        a[0].new.body,
        "See [the guide](tome:page/1#setup) and [deep](tome:page/4), [out](https://x.test/guide), [none](/nowhere).\n"
    );
    assert_eq!(a[2].new.body, "Back [home](tome:page/0)\n");
    assert_eq!(a[3].new.body, "Text {braces}\n");
    assert!(a[1].new.body.contains("> [!TIP]"));
    assert_eq!(a[6].new.body, "**API:** `POST /one`\n");
    // `related` from the front matter, else the previous and next page of the category.
    let related: Vec<&[usize]> = a.iter().map(|a| a.related.as_slice()).collect();
    assert_eq!(
        related,
        [&[1][..], &[0, 2], &[1, 3], &[2, 4], &[3], &[0, 1], &[]]
    );
    let logs = d.logs.join("\n");
    for expected in [
        "guide.mdx is listed more than once",
        "\"GET /users\" skipped",
        "orphan.mdx skipped: it is not in the navigation",
        "README.md skipped",
        "1 files under snippets/",
        "more.mdx:3: related: \"/nope\" is not a page",
    ] {
        assert!(logs.contains(expected), "{expected:?} not in\n{logs}");
    }
}

#[test]
fn broken_navigation_and_bad_front_matter_are_problems() {
    let mut list = small();
    list.retain(|(p, _)| *p != "more.mdx");
    list.push(("cli/deep.mdx", "---\ntitle: [unclosed\n---\n"));
    list.push((
        "guide.mdx",
        Box::leak(format!("---\ndescription: {}\n---\nx\n", "d".repeat(501)).into_boxed_str()),
    ));
    let err = read(&files(&list)).unwrap_err();
    let text: Vec<String> = err.0.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 3, "{text:?}");
    assert!(
        text[0].starts_with("docs.json:6: navigation: the navigation lists page \"more\""),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("cli/deep.mdx:") && t.contains(": front matter: ")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("guide.mdx:2: description: must be at most 500")),
        "{text:?}"
    );
}

#[test]
fn long_pages_are_split_at_headings() {
    let section = |n: usize| format!("## Part {n}\n\n{}\n\n", "word ".repeat(9_000));
    let body: String = (1..=5).map(section).collect();
    let page = format!("---\ntitle: Log\n---\nIntro [self](#part-5)\n\n{body}");
    let d = read(&files(&[
        (
            "docs.json",
            r#"{"navigation": [{"group": "G", "pages": ["log", "after"]}]}"#,
        ),
        ("log.mdx", &page),
        ("after.mdx", "[to part 5](/log#part-5)"),
    ]))
    .unwrap_or_else(|p| panic!("{p}"));
    let titles: Vec<&str> = d.articles.iter().map(|a| a.new.title.as_str()).collect();
    assert_eq!(titles, ["Log", "Log (2)", "Log (3)", "After"]);
    let paths: Vec<&str> = d.articles.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["log.mdx", "log.mdx#2", "log.mdx#3", "after.mdx"]);
    // The other parts, then the next page of the category.
    assert_eq!(d.articles[0].related, [1, 2, 3]);
    assert_eq!(d.articles[1].related, [0, 2, 3]);
    assert_eq!(d.articles[3].related, [0]);
    assert!(
        d.articles[..3]
            .iter()
            .all(|a| a.new.body.chars().count() <= v::ARTICLE_BODY_MAX)
    );
    let joined: String = d.articles[..3]
        .iter()
        .map(|a| a.new.body.as_str())
        .collect();
    for n in 1..=5 {
        assert!(
            joined.contains(&section(n).trim_end().to_string()),
            "part {n} lost"
        );
    }
    assert!(
        d.articles[0]
            .new
            .body
            .starts_with("Intro [self](tome:page/2#part-5)")
    );
    assert_eq!(d.articles[3].new.body, "[to part 5](tome:page/2#part-5)\n");
    assert!(
        d.logs
            .iter()
            .any(|l| l.contains("split at its headings into 3 articles"))
    );
}

#[test]
fn a_section_longer_than_an_article_is_cut_further() {
    let para = format!("{}\n\n", "word ".repeat(1_000));
    let body = format!("## Only\n\n{}", para.repeat(50));
    let parts = split(&body, v::ARTICLE_BODY_MAX);
    assert!(parts.len() >= 3, "{}", parts.len());
    assert!(parts.iter().all(|p| cost(p) <= v::ARTICLE_BODY_MAX));
    let words: usize = parts.iter().map(|p| p.matches("word").count()).sum();
    assert_eq!(words, 50_000);
}

#[test]
fn corpus_every_nav_page_in_order_without_residue() {
    let files = corpus();
    let t = std::time::Instant::now();
    let d = read(&files).unwrap_or_else(|p| panic!("{p}"));
    eprintln!(
        "{} articles, {} categories, {} sections in {:?}",
        d.articles.len(),
        d.categories.len(),
        d.sections.len(),
        t.elapsed()
    );

    // The pages of docs.json (first language), in order, with roots before their pages.
    let json: serde_json::Value = serde_json::from_str(files.text("docs.json").unwrap()).unwrap();
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("root").and_then(|r| r.as_str()) {
                    out.push(r.to_string());
                }
                for (k, x) in m {
                    if k == "pages" {
                        for p in x.as_array().unwrap() {
                            match p.as_str() {
                                Some(s) => out.push(s.to_string()),
                                None => walk(p, out),
                            }
                        }
                    } else if k != "root" {
                        walk(x, out);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut expected = Vec::new();
    walk(&json["navigation"]["languages"][0], &mut expected);
    let got: Vec<String> = d
        .articles
        .iter()
        .filter(|a| !a.path.contains('#'))
        .map(|a| page_key(&a.path))
        .collect();
    assert_eq!(got, expected);
    let orders: Vec<i64> = d.articles.iter().map(|a| a.new.sort_order).collect();
    assert!(orders.windows(2).all(|w| w[0] < w[1]));

    for a in &d.articles {
        if let Some(line) = mdx::residue(&a.new.body) {
            panic!("{}: MDX left in the body: {line:?}", a.path);
        }
        // What a reader sees on the hosted page: no component tag or import as text, once
        // code (where the docs show components on purpose) is taken out.
        let html = tome_render::render(&a.new.body).html;
        let text = without_code(&html);
        // Repository files are not served: no image may point at one.
        assert!(
            !text.contains("src=\"/"),
            "{}: an image with a repository path",
            a.path
        );
        for bad in [
            "&lt;Note",
            "&lt;Card",
            "&lt;Step",
            "&lt;Tab",
            "&lt;Accordion",
            "<p>import ",
            "<p>export ",
        ] {
            assert!(
                !text.contains(bad),
                "{}: {bad:?} in the rendered page",
                a.path
            );
        }
        let tag = text
            .match_indices("&lt;")
            .find(|(i, _)| text[i + 4..].starts_with(|c: char| c.is_ascii_uppercase()));
        assert!(
            tag.is_none(),
            "{}: {:?}",
            a.path,
            &text[tag.unwrap().0..][..40.min(text.len() - tag.unwrap().0)]
        );
    }

    // The changelog is split, and every one of its dated entries survives.
    let parts: Vec<&DesiredArticle> = d
        .articles
        .iter()
        .filter(|a| a.path.starts_with("changelog.mdx"))
        .collect();
    assert!(parts.len() >= 2, "{}", parts.len());
    assert_eq!(parts[1].new.title, "Product updates (2)");
    let all: String = parts.iter().map(|a| a.new.body.as_str()).collect();
    let source = files.text("changelog.mdx").unwrap();
    let labels: Vec<&str> = source
        .lines()
        .filter_map(|l| l.split("<Update label=\"").nth(1))
        .map(|l| l.split('"').next().unwrap())
        .collect();
    assert!(labels.len() > 50);
    for label in &labels {
        assert!(all.contains(&format!("## {label}\n")), "{label} lost");
    }
    // The last entry's last words are there: nothing was truncated.
    let tail = source.trim_end().trim_end_matches("</Update>").trim_end();
    let last_line = tail.lines().last().unwrap().trim();
    assert!(all.contains(last_line), "{last_line:?}");
}

#[test]
fn question_accordions_are_also_faqs() {
    let d = read(&files(&[
        ("docs.json", r#"{"navigation": [{"group": "Help", "pages": ["help/faq", "other"]}]}"#),
        (
            "help/faq.mdx",
            "---\ntitle: Troubleshooting\n---\n<AccordionGroup>\n  <Accordion title=\"Why does the build fail?\">\n    See [the other page](../other).\n  </Accordion>\n  <Accordion title=\"Details\">\n    Not a question.\n  </Accordion>\n</AccordionGroup>\n",
        ),
        ("other.mdx", "Other"),
    ]))
    .unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(d.faqs.len(), 1);
    let faq = &d.faqs[0];
    assert_eq!(faq.new.question, "Why does the build fail?");
    assert_eq!(faq.new.answer, "See [the other page](tome:page/1).\n");
    assert_eq!((faq.path.as_str(), faq.category), ("help/faq.mdx#faq1", 0));
    assert!(
        d.articles[0]
            .new
            .body
            .contains("**Why does the build fail?**")
    );
}

/// `html` without its `<code>…</code>` and `<pre>…</pre>` elements.
fn without_code(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    loop {
        let next = ["<code", "<pre"]
            .iter()
            .filter_map(|t| rest.find(t).map(|i| (i, *t)))
            .min();
        let Some((i, t)) = next else { break };
        out.push_str(&rest[..i]);
        let close = if t == "<code" { "</code>" } else { "</pre>" };
        rest = rest[i..]
            .find(close)
            .map_or("", |e| &rest[i + e + close.len()..]);
    }
    out.push_str(rest);
    out
}

/// `DUMP=a.mdx,b.mdx cargo test -p tome-sync dump -- --ignored --nocapture` prints what the
/// corpus's pages become.
#[test]
#[ignore]
fn dump() {
    let d = read(&corpus()).unwrap();
    let want = std::env::var("DUMP").unwrap_or_default();
    for a in &d.articles {
        if want.split(',').any(|w| a.path == w) {
            println!(
                "===== {} | {} | {:?}\n{}",
                a.path, a.new.title, a.new.tags, a.new.body
            );
        }
    }
}
