//! Search relevance on small fixed corpora: `check(query, expected top IDs)`.

use serde_json::{Value, json};

use crate::support::{TestApp, ids};

/// A KB with named articles and FAQs.
struct Corpus {
    app: TestApp,
    kb: String,
    cat: String,
    names: Vec<(String, String)>,
}

impl Corpus {
    async fn new() -> Self {
        let app = TestApp::new().await;
        let kb = app.create_kb("rank").await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let cat = app.create_category(&kb, "General").await;
        Corpus {
            app,
            kb,
            cat,
            names: Vec::new(),
        }
    }

    async fn article(&mut self, name: &str, fields: Value) {
        let id = self.app.create_article(&self.kb, &self.cat, fields).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        self.names.push((name.to_string(), id));
    }

    async fn faq(&mut self, name: &str, fields: Value) {
        let id = self.app.create_faq(&self.kb, &self.cat, fields).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        self.names.push((name.to_string(), id));
    }

    fn name(&self, id: &str) -> String {
        self.names
            .iter()
            .find(|(_, i)| i == id)
            .map_or_else(|| id.to_string(), |(n, _)| n.clone())
    }

    async fn body(&self, q: &str, extra: &str) -> Value {
        let q: String = q
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let r = self
            .app
            .get(&format!("/v1/kb/{}/search?q={q}{extra}", self.kb))
            .await;
        r.assert_status(200);
        r.data().clone()
    }

    /// Names of the article hits, then the FAQ hits, in rank order.
    async fn ranked(&self, q: &str, extra: &str) -> Vec<String> {
        let d = self.body(q, extra).await;
        ids(&d["articles"])
            .iter()
            .chain(ids(&d["faqs"]).iter())
            .map(|id| self.name(id))
            .collect()
    }

    /// Asserts that the hits of `q` start with `expected`, in that order.
    async fn check(&self, q: &str, expected: &[&str]) {
        let got = self.ranked(q, "").await;
        assert!(
            got.len() >= expected.len() && got[..expected.len()] == *expected,
            "query {q:?}: expected {expected:?} first, got {got:?}"
        );
    }

    /// Asserts that `q` finds exactly `expected` (in any order).
    async fn check_set(&self, q: &str, extra: &str, expected: &[&str]) {
        let mut got = self.ranked(q, extra).await;
        got.sort();
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "query {q:?}{extra}");
    }
}

async fn help_centre() -> Corpus {
    let mut c = Corpus::new().await;
    c.article(
        "reset",
        json!({ "title": "Reset your password", "excerpt": "Forgot it? Get a new one.",
                "body": "Open the sign-in page and click the link we email you.", "status": "published",
                "tags": ["account"] }),
    )
    .await;
    c.article(
        "security",
        json!({ "title": "Account security", "excerpt": "Keep your account safe.",
                "body": "Choose a strong password and turn on two factor authentication. \
                         A password manager helps.", "status": "published" }),
    )
    .await;
    c.article(
        "publish",
        json!({ "title": "Publishing articles", "excerpt": "Make drafts visible.",
                "body": "Publish a draft from the editor; published articles appear at once.",
                "status": "published", "tags": ["editor"] }),
    )
    .await;
    c.article(
        "billing",
        json!({ "title": "Billing and invoices", "body": "Invoices are sent monthly. Change your plan \
                 under Settings.", "status": "published", "tags": ["payments"] }),
    )
    .await;
    c.article(
        "charge",
        json!({ "title": "Card charges", "body": "Why was my card charged twice? Pending charges \
                 disappear after a few days.", "status": "published" }),
    )
    .await;
    c.article(
        "factor",
        json!({ "title": "Factor two of the rollout", "body": "Phase notes for the second factor of \
                 growth.", "status": "draft" }),
    )
    .await;
    c.article(
        "cafe",
        json!({ "title": "Café opening hours", "body": "The café opens at eight.", "status": "published" }),
    )
    .await;
    c.faq(
        "faq-password",
        json!({ "question": "How do I change my password?", "answer": "Use the reset link.",
                "status": "published" }),
    )
    .await;
    c.faq(
        "faq-invoice",
        json!({ "question": "Where are my invoices?", "answer": "Billing sends them by email; your \
                 password is never included.", "status": "published" }),
    )
    .await;
    c
}

#[tokio::test]
async fn ranking_on_a_help_centre() {
    let c = help_centre().await;
    // Title beats body: "password" is in the title of `reset`, the body of `security`; the FAQ
    // question beats the FAQ answer.
    c.check(
        "password",
        &["reset", "security", "faq-password", "faq-invoice"],
    )
    .await;
    // Stemming: "publishing", "published", "publish" are one word.
    c.check("published", &["publish"]).await;
    // Typos: one edit in a 5+ letter word, two in a 9+ letter word.
    c.check("pasword", &["reset", "security"]).await;
    c.check("invoises", &["billing"]).await;
    c.check("authentcaiton", &["security"]).await;
    // A 4-letter word the KB lacks gets one edit ("card"); 3 letters are too few for typos.
    c.check("cRad", &["charge"]).await;
    c.check_set("crd", "", &[]).await;
    // Prefix of the last word, search-as-you-type.
    c.check("publ", &["publish"]).await;
    c.check("reset pass", &["reset"]).await;
    c.check("invo", &["billing"]).await;
    // Exact beats fuzzy: "charge" is exact in `charge`, a typo away from "change" in `billing`.
    c.check("charge", &["charge", "billing"]).await;
    c.check("change", &["billing", "charge"]).await;
    // Case and accents fold both ways.
    c.check("CAFE", &["cafe"]).await;
    c.check("café", &["cafe"]).await;
    // Phrases respect word order: "two factor" is in `security` and only in the other order in
    // the draft `factor`.
    c.check_set("\"two factor\"", "", &["security"]).await;
    c.check_set("\"factor two\"", "", &["factor"]).await;
    c.check_set("two factor", "", &["security", "factor"]).await;
    // A quoted word is exact: no typo or prefix matching.
    c.check_set("\"pasword\"", "", &[]).await;
    c.check_set("\"publ\"", "", &[]).await;
}

#[tokio::test]
async fn typos_late_in_a_long_question_are_corrected() {
    let mut c = Corpus::new().await;
    c.article(
        "reset",
        json!({ "title": "Reset your password", "body": "Open the sign-in page and follow the reset link." }),
    )
    .await;
    c.article(
        "invoices",
        json!({ "title": "Download invoices", "body": "Invoices are in Billing." }),
    )
    .await;
    // Thirteen words (most of them stop words) before the typo: stop words neither get typo
    // expansion nor use up the words that do, so "pasword" still finds "password".
    let q = "what should i do when i have to get into it again after my pasword is lost";
    c.check_set(q, "", &["reset"]).await;
    c.check_set("wht shuld i do abut my pasword", "", &["reset"])
        .await;
}

#[tokio::test]
async fn filters_on_management_search() {
    let mut c = Corpus::new().await;
    let other_cat = c.app.create_category(&c.kb, "Other").await;
    let sec = c.app.create_section(&c.kb, &c.cat, "Sec").await;
    c.article(
        "a-sec",
        json!({ "title": "Otter guide", "section_id": sec, "tags": ["animals"] }),
    )
    .await;
    c.article(
        "a-cat",
        json!({ "title": "Otter care", "status": "published", "tags": ["animals", "care"] }),
    )
    .await;
    c.article(
        "a-other",
        json!({ "title": "Otter facts", "category_id": other_cat, "status": "archived" }),
    )
    .await;
    c.faq("f-sec", json!({ "question": "Otter?", "section_id": sec }))
        .await;
    c.faq(
        "f-other",
        json!({ "question": "Otter food?", "category_id": other_cat, "status": "published" }),
    )
    .await;

    c.check_set(
        "otter",
        "",
        &["a-sec", "a-cat", "a-other", "f-sec", "f-other"],
    )
    .await;
    c.check_set(
        "otter",
        &format!("&category_id={}", c.cat),
        &["a-sec", "a-cat", "f-sec"],
    )
    .await;
    c.check_set("otter", &format!("&section_id={sec}"), &["a-sec", "f-sec"])
        .await;
    c.check_set(
        "otter",
        "&section_id=null",
        &["a-cat", "a-other", "f-other"],
    )
    .await;
    c.check_set(
        "otter",
        "&status=published,archived",
        &["a-cat", "a-other", "f-other"],
    )
    .await;
    c.check_set("otter", "&tag=animals", &["a-sec", "a-cat"])
        .await;
    c.check_set("otter", "&tag=Animals", &[]).await;
    c.check_set("otter", "&type=faq", &["f-sec", "f-other"])
        .await;
    c.check_set("otter", "&type=article&tag=care", &["a-cat"])
        .await;
    c.check_set("otter", "&category_id=kbc_000000000000", &[])
        .await;
    let r = c
        .app
        .get(&format!("/v1/kb/{}/search?q=otter&type=video", c.kb))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "type");
}

#[tokio::test]
async fn highlights_mark_matches_and_escape_everything_else() {
    let mut c = Corpus::new().await;
    c.article(
        "html",
        json!({ "title": "Embedding", "body": "Paste `<script>alert('x')</script>` & the embed code \
                 into your page. The Embed code is in Settings." }),
    )
    .await;
    c.faq(
        "faq",
        json!({ "question": "Embeds?", "answer": "Yes, &lt;b&gt;**embedding**&lt;/b&gt; works." }),
    )
    .await;
    let d = c.body("embed", "").await;
    assert_eq!(
        d["articles"][0]["highlight"],
        "Paste &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; the <mark>embed</mark> code \
         into your page. The <mark>Embed</mark> code is in Settings."
    );
    assert_eq!(
        d["faqs"][0]["highlight"],
        "Yes, &lt;b&gt;<mark>embedding</mark>&lt;/b&gt; works."
    );
    // Scores are positive and descending.
    let d = c.body("embed code", "").await;
    assert!(d["articles"][0]["score"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn long_bodies_highlight_the_best_passage() {
    let mut c = Corpus::new().await;
    let body = format!(
        "{} Refunds arrive in five days. {} Refunds for annual plans are prorated. {}",
        "Intro text. ".repeat(30),
        "Middle text. ".repeat(30),
        "Tail text. ".repeat(30)
    );
    c.article("long", json!({ "title": "Money back", "body": body }))
        .await;
    let d = c.body("annual refunds", "").await;
    let h = d["articles"][0]["highlight"].as_str().unwrap();
    assert!(
        h.contains("<mark>Refunds</mark> for <mark>annual</mark> plans"),
        "{h}"
    );
    assert!(h.starts_with('…') && h.ends_with('…'), "{h}");
    assert!(h.chars().count() < 260, "{h}");
}
