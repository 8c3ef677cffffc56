//! Management search: `GET /v1/kb/:kb_id/search?q=`.

use axum::http::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, ids};

struct Fixture {
    app: TestApp,
    kb: String,
    cat: String,
}

impl Fixture {
    async fn new() -> Self {
        let app = TestApp::new().await;
        let kb = app.create_kb("help").await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let cat = app.create_category(&kb, "General").await;
        Fixture { app, kb, cat }
    }

    async fn article(&self, extra: Value) -> String {
        self.app.create_article(&self.kb, &self.cat, extra).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn faq(&self, extra: Value) -> String {
        self.app.create_faq(&self.kb, &self.cat, extra).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Searches with the raw query `q` (encoded here) plus `extra` query parameters.
    async fn search(&self, q: &str, extra: &str) -> Value {
        let r = self
            .app
            .get(&format!("/v1/kb/{}/search?q={}{extra}", self.kb, encode(q)))
            .await;
        r.assert_status(200);
        r.body.clone()
    }

    /// `(article ids, faq ids)` of a search.
    async fn hits(&self, q: &str, extra: &str) -> (Vec<String>, Vec<String>) {
        let b = self.search(q, extra).await;
        (ids(&b["data"]["articles"]), ids(&b["data"]["faqs"]))
    }
}

/// Percent-encodes everything but ASCII letters and digits.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ------------------------------------------------------------------------- matched fields

#[tokio::test]
async fn matches_article_titles() {
    let f = Fixture::new().await;
    let hit = f
        .article(json!({ "title": "Grooming your zebra", "body": "Brush daily." }))
        .await;
    f.article(json!({ "title": "Feeding horses", "body": "Hay." }))
        .await;
    f.faq(json!({ "question": "Horses?", "answer": "Yes." }))
        .await;
    assert_eq!(f.hits("zebra", "").await, (vec![hit], vec![]));
}

#[tokio::test]
async fn matches_article_excerpts() {
    let f = Fixture::new().await;
    let hit = f
        .article(
            json!({ "title": "Grooming", "excerpt": "All about quagga care.", "body": "Brush." }),
        )
        .await;
    f.article(json!({ "title": "Feeding", "excerpt": "Hay and oats.", "body": "Hay." }))
        .await;
    assert_eq!(f.hits("quagga", "").await, (vec![hit], vec![]));
}

#[tokio::test]
async fn matches_article_bodies() {
    let f = Fixture::new().await;
    let hit = f
        .article(json!({ "title": "Grooming", "body": "Use a curry comb on the okapi." }))
        .await;
    f.article(json!({ "title": "Feeding", "body": "Hay." }))
        .await;
    assert_eq!(f.hits("okapi", "").await, (vec![hit], vec![]));
}

#[tokio::test]
async fn matches_faq_questions() {
    let f = Fixture::new().await;
    let hit = f
        .faq(json!({ "question": "Can I import a tapir?", "answer": "Yes, via CSV." }))
        .await;
    f.faq(json!({ "question": "Can I export?", "answer": "Yes." }))
        .await;
    f.article(json!({ "title": "Exporting", "body": "Click export." }))
        .await;
    assert_eq!(f.hits("tapir", "").await, (vec![], vec![hit]));
}

#[tokio::test]
async fn matches_faq_answers() {
    let f = Fixture::new().await;
    let hit = f.faq(json!({ "question": "Which animals?", "answer": "Horses, donkeys and the odd capybara." })).await;
    f.faq(json!({ "question": "Which plans?", "answer": "Free and paid." }))
        .await;
    assert_eq!(f.hits("capybara", "").await, (vec![], vec![hit]));
}

#[tokio::test]
async fn response_shape() {
    let f = Fixture::new().await;
    let sec = f.app.create_section(&f.kb, &f.cat, "Account").await;
    let article = f
        .article(json!({
            "section_id": sec,
            "title": "How to reset your password",
            "excerpt": "Reset a forgotten password.",
            "body": "# Reset\n\nLong body about the password reset flow.",
            "status": "published",
            "tags": ["account"],
        }))
        .await;
    let faq = f
        .faq(json!({
            "question": "How do I reset my password?",
            "answer": "Click **Forgot password** on the login page and check your inbox.",
        }))
        .await;
    let body = f.search("password", "").await;
    let d = &body["data"];
    assert_eq!(d["articles"][0]["id"], article.as_str());
    assert_eq!(d["articles"][0]["type"], "article");
    assert_eq!(d["articles"][0]["category_id"], f.cat.as_str());
    assert_eq!(d["articles"][0]["section_id"], sec.as_str());
    assert!(d["articles"][0].get("body").is_none(), "hits carry no body");
    assert_eq!(d["faqs"][0]["id"], faq.as_str());
    assert_eq!(d["faqs"][0]["type"], "faq");
    assert_eq!(d["faqs"][0]["category_id"], f.cat.as_str());
    assert_eq!(d["faqs"][0]["section_id"], Value::Null);
    assert!(d["articles"][0]["score"].as_f64().unwrap() > 0.0);
    assert_eq!(
        d["articles"][0]["highlight"],
        "Reset a forgotten <mark>password</mark>."
    );
    insta::assert_json_snapshot!("search_response", body, {
        ".data.*[].score" => "[score]",
        ".data.articles[].id" => "[id]",
        ".data.articles[].category_id" => "[id]",
        ".data.articles[].section_id" => "[id]",
        ".data.faqs[].id" => "[id]",
        ".data.faqs[].category_id" => "[id]",
    });
}

#[tokio::test]
async fn no_hits_is_two_empty_lists() {
    let f = Fixture::new().await;
    f.article(json!({ "title": "Something" })).await;
    let body = f.search("nothingmatchesthis", "").await;
    assert_eq!(body, json!({ "data": { "articles": [], "faqs": [] } }));
}

// --------------------------------------------------------------------------- status filter

#[tokio::test]
async fn drafts_are_included_by_default_and_status_filters() {
    let f = Fixture::new().await;
    let draft = f.article(json!({ "title": "Llama draft" })).await;
    let published = f
        .article(json!({ "title": "Llama published", "status": "published" }))
        .await;
    let archived = f
        .article(json!({ "title": "Llama archived", "status": "archived" }))
        .await;
    let faq_draft = f.faq(json!({ "question": "Llama draft?" })).await;
    let faq_published = f
        .faq(json!({ "question": "Llama published?", "status": "published" }))
        .await;
    let faq_archived = f
        .faq(json!({ "question": "Llama archived?", "status": "archived" }))
        .await;

    let (a, q) = f.hits("llama", "").await;
    assert_eq!(
        sorted(a),
        sorted(vec![draft.clone(), published.clone(), archived.clone()])
    );
    assert_eq!(
        sorted(q),
        sorted(vec![
            faq_draft.clone(),
            faq_published.clone(),
            faq_archived.clone()
        ])
    );
    let b = f.search("llama", "").await;
    let mut statuses: Vec<&str> = b["data"]["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["archived", "draft", "published"]);

    assert_eq!(
        f.hits("llama", "&status=published").await,
        (vec![published.clone()], vec![faq_published.clone()])
    );
    let (a, q) = f.hits("llama", "&status=draft,archived").await;
    assert_eq!(sorted(a), sorted(vec![draft.clone(), archived.clone()]));
    assert_eq!(
        sorted(q),
        sorted(vec![faq_draft.clone(), faq_archived.clone()])
    );

    // Publishing a draft makes it show up under status=published.
    f.app
        .post_empty(&format!("/v1/kb/{}/articles/{draft}/publish", f.kb))
        .await
        .assert_status(200);
    assert_eq!(
        sorted(f.hits("llama", "&status=published").await.0),
        sorted(vec![draft, published])
    );

    let r = f
        .app
        .get(&format!("/v1/kb/{}/search?q=llama&status=bogus", f.kb))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "status");
}

// ------------------------------------------------------------------------------- matching

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn hits_with_every_word_come_first() {
    let f = Fixture::new().await;
    let both = f
        .article(json!({ "title": "Import horses", "body": "From a spreadsheet." }))
        .await;
    let split = f
        .article(json!({ "title": "Horses", "excerpt": "How to import them." }))
        .await;
    f.article(json!({ "title": "Import cattle", "body": "From a spreadsheet." }))
        .await;
    f.article(json!({ "title": "Horses", "body": "Feeding." }))
        .await;
    let faq_both = f
        .faq(json!({ "question": "Can I import horses?", "answer": "Yes." }))
        .await;
    let faq_split = f
        .faq(json!({ "question": "Horses?", "answer": "You can import them." }))
        .await;
    f.faq(json!({ "question": "Import?", "answer": "Yes." }))
        .await;

    // Hits with both words first; hits with one of them after.
    let (a, q) = f.hits("import horses", "").await;
    assert_eq!(a.len(), 4, "{a:?}");
    assert_eq!(
        sorted(a[..2].to_vec()),
        sorted(vec![both.clone(), split.clone()])
    );
    assert_eq!(q.len(), 3, "{q:?}");
    assert_eq!(sorted(q[..2].to_vec()), sorted(vec![faq_both, faq_split]));
    // Extra whitespace between words changes nothing.
    assert_eq!(f.hits("  import   horses  ", "").await.0, a);
    // A word that occurs nowhere does not hide what matches the other words.
    let (a2, _) = f.hits("import horses zebras", "").await;
    assert_eq!(sorted(a2), sorted(a));
}

#[tokio::test]
async fn title_matches_rank_first() {
    let f = Fixture::new().await;
    let in_body = f
        .article(json!({ "title": "Getting started", "body": "Setting up billing is easy." }))
        .await;
    let in_excerpt = f
        .article(json!({ "title": "Plans", "excerpt": "Billing plans explained." }))
        .await;
    let in_title = f
        .article(json!({ "title": "Billing", "body": "Invoices." }))
        .await;
    let (a, _) = f.hits("billing", "").await;
    assert_eq!(a.len(), 3);
    assert_eq!(a[0], in_title, "the title match comes first: {a:?}");
    assert!(a.contains(&in_body) && a.contains(&in_excerpt));

    let faq_answer = f
        .faq(json!({ "question": "How do I pay?", "answer": "Billing happens monthly." }))
        .await;
    let faq_question = f
        .faq(json!({ "question": "Billing questions?", "answer": "Ask us." }))
        .await;
    let (_, q) = f.hits("billing", "").await;
    assert_eq!(q, vec![faq_question, faq_answer]);

    // With two words, the hit with both in the title beats the one with one.
    let one = f
        .article(json!({ "title": "Billing", "body": "Refund policy." }))
        .await;
    let two = f
        .article(json!({ "title": "Billing refund", "body": "Details." }))
        .await;
    let (a, _) = f.hits("billing refund", "").await;
    assert_eq!(a[..2], [two, one], "{a:?}");
}

#[tokio::test]
async fn matching_is_case_insensitive() {
    let f = Fixture::new().await;
    let a = f
        .article(json!({ "title": "Password Reset", "body": "Use the LOGIN page." }))
        .await;
    let q = f
        .faq(json!({ "question": "Forgot my PASSWORD?", "answer": "Reset it." }))
        .await;
    for term in ["password", "PASSWORD", "PaSsWoRd"] {
        assert_eq!(
            f.hits(term, "").await,
            (vec![a.clone()], vec![q.clone()]),
            "for {term}"
        );
    }
    assert_eq!(f.hits("login", "").await.0, vec![a.clone()]);
}

#[tokio::test]
async fn partial_words_match() {
    let f = Fixture::new().await;
    let a = f.article(json!({ "title": "Registering animals" })).await;
    assert_eq!(f.hits("regist", "").await.0, vec![a]);
}

#[tokio::test]
async fn punctuation_separates_words_and_matches_nothing_alone() {
    let f = Fixture::new().await;
    let percent = f
        .article(json!({ "title": "100% uptime", "body": "Always on." }))
        .await;
    let underscore = f
        .article(json!({ "title": "The a_c setting", "body": "Config." }))
        .await;
    let backslash = f
        .article(json!({ "title": "Path C:\\temp", "body": "Windows." }))
        .await;
    // LIKE wildcards and other punctuation are not words: alone they find nothing, and no
    // query can match everything.
    for q in ["%", "_", "\\", "%%", "*", "\"\""] {
        assert_eq!(f.hits(q, "").await, (vec![], vec![]), "for {q:?}");
    }
    // Around punctuation, the words still match.
    assert_eq!(f.hits("100%", "").await.0, vec![percent]);
    assert_eq!(f.hits("a_c", "").await.0[0], underscore);
    assert_eq!(f.hits("C:\\temp", "").await.0[0], backslash);
}

// ---------------------------------------------------------------------------- validation

#[tokio::test]
async fn missing_or_blank_q_is_422() {
    let f = Fixture::new().await;
    f.article(json!({ "title": "Anything" })).await;
    let base = format!("/v1/kb/{}/search", f.kb);
    for url in [
        base.clone(),
        format!("{base}?q="),
        format!("{base}?q=%20%20%20"),
        format!("{base}?status=draft"),
    ] {
        let r = f.app.get(&url).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), "q", "for {url}");
    }
    let long = "a".repeat(501);
    let r = f.app.get(&format!("{base}?q={long}")).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "q");
    let ok = "a".repeat(500);
    f.app
        .get(&format!("{base}?q={ok}"))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn limit_caps_each_list() {
    let f = Fixture::new().await;
    let mut articles = Vec::new();
    let mut faqs = Vec::new();
    for i in 0..25 {
        articles.push(f.article(json!({ "title": format!("Walrus {i}") })).await);
        faqs.push(f.faq(json!({ "question": format!("Walrus {i}?") })).await);
    }
    // Every hit scores the same: older content first.
    let (a, q) = f.hits("walrus", "").await;
    assert_eq!((a.len(), q.len()), (20, 20), "default 20 per type");
    assert!(a.iter().all(|id| articles.contains(id)));
    assert!(q.iter().all(|id| faqs.contains(id)));
    let (a, q) = f.hits("walrus", "&limit=3").await;
    assert_eq!((a.len(), q.len()), (3, 3));
    let (a, q) = f.hits("walrus", "&limit=100").await;
    assert_eq!((a.len(), q.len()), (25, 25));
    for bad in ["0", "101", "x"] {
        let r = f
            .app
            .get(&format!("/v1/kb/{}/search?q=walrus&limit={bad}", f.kb))
            .await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), "limit");
    }
}

// ----------------------------------------------------------------------------- isolation

#[tokio::test]
async fn other_kbs_and_projects_are_never_returned() {
    let f = Fixture::new().await;
    let mine = f.article(json!({ "title": "Narwhal guide" })).await;
    let my_faq = f.faq(json!({ "question": "Narwhal?" })).await;

    // Another KB in the same project.
    let other_kb = f.app.create_kb("other").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other_cat = f.app.create_category(&other_kb, "C").await;
    let theirs = f
        .app
        .create_article(&other_kb, &other_cat, json!({ "title": "Narwhal guide" }))
        .await;
    f.app
        .create_faq(&other_kb, &other_cat, json!({ "question": "Narwhal?" }))
        .await;

    // Another project, its KB with the same content.
    let (_, key) = f.app.new_project("tenant two").await;
    let k = Some(key.as_str());
    let r = f
        .app
        .call(
            Method::POST,
            "/v1/kb",
            k,
            Some(json!({ "title": "T", "slug": "help" })),
        )
        .await;
    r.assert_status(201);
    let foreign_kb = r.data()["id"].as_str().unwrap().to_string();
    let r = f
        .app
        .call(
            Method::POST,
            &format!("/v1/kb/{foreign_kb}/categories"),
            k,
            Some(json!({ "name": "C" })),
        )
        .await;
    let foreign_cat = r.data()["id"].as_str().unwrap().to_string();
    let r = f
        .app
        .call(
            Method::POST,
            &format!("/v1/kb/{foreign_kb}/articles"),
            k,
            Some(json!({ "category_id": foreign_cat, "title": "Narwhal guide" })),
        )
        .await;
    r.assert_status(201);
    let foreign_article = r.data()["id"].as_str().unwrap().to_string();

    assert_eq!(
        f.hits("narwhal", "").await,
        (vec![mine.clone()], vec![my_faq])
    );
    let r = f
        .app
        .get(&format!("/v1/kb/{other_kb}/search?q=narwhal"))
        .await;
    assert_eq!(
        ids(&r.data()["articles"]),
        vec![theirs["id"].as_str().unwrap().to_string()]
    );

    // The other tenant sees only its own content, and cannot search our KB at all.
    let r = f
        .app
        .call(
            Method::GET,
            &format!("/v1/kb/{foreign_kb}/search?q=narwhal"),
            k,
            None,
        )
        .await;
    r.assert_status(200);
    assert_eq!(ids(&r.data()["articles"]), vec![foreign_article]);
    assert_eq!(ids(&r.data()["faqs"]), Vec::<String>::new());
    let r = f
        .app
        .call(
            Method::GET,
            &format!("/v1/kb/{}/search?q=narwhal", f.kb),
            k,
            None,
        )
        .await;
    r.assert_error(404, "kb_not_found");
    // And we cannot search theirs.
    f.app
        .get(&format!("/v1/kb/{foreign_kb}/search?q=narwhal"))
        .await
        .assert_error(404, "kb_not_found");
}

#[tokio::test]
async fn unknown_kb_is_404() {
    let f = Fixture::new().await;
    for kb in ["kb_000000000000", "nope"] {
        f.app
            .get(&format!("/v1/kb/{kb}/search?q=anything"))
            .await
            .assert_error(404, "kb_not_found");
    }
}

// -------------------------------------------------------------------- follows every write

#[tokio::test]
async fn results_follow_updates_deletes_cascades_and_bulk() {
    let f = Fixture::new().await;
    let a = f.article(json!({ "title": "Ocelot care" })).await;
    let faq = f.faq(json!({ "question": "Ocelot?" })).await;
    assert_eq!(
        f.hits("ocelot", "").await,
        (vec![a.clone()], vec![faq.clone()])
    );

    // Renamed: old word gone, new word found.
    let r = f
        .app
        .put(
            &format!("/v1/kb/{}/articles/{a}", f.kb),
            json!({ "title": "Margay care" }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(f.hits("ocelot", "").await.0, Vec::<String>::new());
    assert_eq!(f.hits("margay", "").await.0, vec![a.clone()]);

    // Deleted article and FAQ are gone.
    f.app
        .delete(&format!("/v1/kb/{}/articles/{a}", f.kb))
        .await
        .assert_status(204);
    f.app
        .delete(&format!("/v1/kb/{}/faqs/{faq}", f.kb))
        .await
        .assert_status(204);
    assert_eq!(f.hits("margay", "").await, (vec![], vec![]));
    assert_eq!(f.hits("ocelot", "").await, (vec![], vec![]));

    // Bulk-created articles are found.
    let r = f
        .app
        .post(
            &format!("/v1/kb/{}/articles/bulk", f.kb),
            json!({ "articles": [
                { "category_id": f.cat, "title": "Serval one" },
                { "category_id": f.cat, "title": "Serval two" },
            ] }),
        )
        .await;
    r.assert_status(201);
    assert_eq!(sorted(f.hits("serval", "").await.0), sorted(ids(r.data())));

    // Deleting the category removes its content from results.
    let doomed_cat = f.app.create_category(&f.kb, "Doomed").await;
    f.app
        .create_article(&f.kb, &doomed_cat, json!({ "title": "Caracal" }))
        .await;
    f.app
        .create_faq(&f.kb, &doomed_cat, json!({ "question": "Caracal?" }))
        .await;
    let (a, q) = f.hits("caracal", "").await;
    assert_eq!((a.len(), q.len()), (1, 1));
    f.app
        .delete(&format!("/v1/kb/{}/categories/{doomed_cat}", f.kb))
        .await
        .assert_status(204);
    assert_eq!(f.hits("caracal", "").await, (vec![], vec![]));
}

#[tokio::test]
async fn every_word_counts_even_in_long_queries() {
    let f = Fixture::new().await;
    let a = f
        .article(json!({ "title": "a b c d e f g h i j k l m n o p q r s t" }))
        .await;
    let words = "a b c d e f g h i j k l m n o p q r s t";
    assert_eq!(f.hits(words, "").await.0, vec![a.clone()]);
    // A 21st word that occurs nowhere leaves it as a partial match.
    assert_eq!(
        f.hits(&format!("{words} zzzzzz"), "").await.0,
        vec![a.clone()]
    );
    // The longest allowed query (250 one-letter words) still works.
    let longest = vec!["a"; 250].join(" ");
    assert_eq!(longest.chars().count(), 499);
    assert_eq!(f.hits(&longest, "").await.0, vec![a]);
}
