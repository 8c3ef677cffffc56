//! Search snippets and excerpts are plain text: the management API, the public API and the
//! hosted search page show the words of an article or answer, never its Markdown or raw HTML,
//! with the matched words still marked.

use axum::http::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, id_of};

/// What a reader must never see in a snippet: Markdown syntax and raw tags.
const SYNTAX: [&str; 9] = [
    "**",
    "# ",
    "](",
    "![",
    "`",
    "|---|",
    "| ---",
    "&lt;div",
    "&lt;b&gt;",
];

/// An article body with one of every kind of Markdown a help article uses.
const BODY: &str = "# Reset your **Forgot password**\n\n\
    Open [the *account* settings](https://example.com/settings/zebra) and press \
    **Forgot password** — ![a padlock icon](lock.png) shows when the reset password mail is sent.\n\n\
    ```sh\ntome password-reset --user ann\n```\n\n\
    | Step | Password state |\n|---|---|\n| `request` | pending |\n| confirm | done |\n\n\
    <div class=\"note\"><b>Caf&eacute;</b> owners: the password &amp; PIN differ.</div>\n";

/// An FAQ answer in Markdown.
const ANSWER: &str = "## Short answer\n\nUse **Forgot password** on the [sign-in page](/signin); \
    the `reset` link in the mail expires.\n\n- one\n- two";

struct Site {
    app: TestApp,
    kb: String,
    slug: String,
    key: String,
}

impl Site {
    async fn new() -> Site {
        let app = TestApp::new().await;
        let r = app
            .post(
                "/v1/kb",
                json!({ "title": "Help", "slug": "snip", "is_public": true }),
            )
            .await;
        r.assert_status(201);
        let kb = id_of(&r);
        let key = r.data()["site_key"].as_str().unwrap().to_string();
        let cat = app.create_category(&kb, "Account").await;
        app.create_article(
            &kb,
            &cat,
            json!({ "title": "Account access", "body": BODY, "status": "published" }),
        )
        .await;
        app.create_faq(
            &kb,
            &cat,
            json!({ "question": "Locked out?", "answer": ANSWER, "status": "published" }),
        )
        .await;
        Site {
            app,
            kb,
            slug: "snip".into(),
            key,
        }
    }

    async fn management(&self, q: &str) -> Value {
        let r = self
            .app
            .get(&format!("/v1/kb/{}/search?q={q}", self.kb))
            .await;
        r.assert_status(200);
        r.data().clone()
    }

    async fn public(&self, q: &str) -> Value {
        let req = axum::http::Request::builder()
            .uri(format!("/v1/kb/public/{}/search?q={q}", self.slug))
            .header("x-minolith-site-key", &self.key)
            .body(axum::body::Body::empty())
            .unwrap();
        let r = self.app.send(req).await;
        r.assert_status(200);
        r.data().clone()
    }
}

#[track_caller]
fn assert_plain(text: &str) {
    for s in SYNTAX {
        assert!(!text.contains(s), "{s:?} in {text:?}");
    }
}

/// Every highlight and excerpt of a search response: plain, and each highlight marks `word`.
#[track_caller]
fn assert_plain_hits(data: &Value, word: &str) {
    let articles = data["articles"].as_array().unwrap();
    let faqs = data["faqs"].as_array().unwrap();
    assert_eq!((articles.len(), faqs.len()), (1, 1), "{data}");
    for hit in articles.iter().chain(faqs) {
        let highlight = hit["highlight"].as_str().unwrap();
        assert_plain(highlight);
        assert!(
            highlight
                .to_lowercase()
                .contains(&format!("<mark>{word}</mark>")),
            "{highlight}"
        );
        assert_plain(hit["excerpt"].as_str().unwrap());
    }
}

#[tokio::test]
async fn management_search_shows_plain_text() {
    let s = Site::new().await;
    let d = s.management("password").await;
    assert_plain_hits(&d, "password");
    let article = &d["articles"][0];
    // The heading's text leads the article's auto-excerpt; the link's text is there, not its URL.
    let excerpt = article["excerpt"].as_str().unwrap();
    assert!(
        excerpt.starts_with("Reset your Forgot password Open the account settings and press"),
        "{excerpt}"
    );
    assert!(!excerpt.contains("example.com"), "{excerpt}");
    let faq = &d["faqs"][0];
    assert!(
        faq["excerpt"]
            .as_str()
            .unwrap()
            .starts_with("Short answer Use Forgot password on the sign-in page; the reset link"),
        "{faq}"
    );

    // Code, table cells and raw HTML text are found and shown as text; entities decoded.
    for (q, shown) in [
        ("tome", "<mark>tome</mark> password-reset --user ann"),
        ("pending", "<mark>pending</mark> confirm done"),
        (
            "cafe",
            "<mark>Café</mark> owners: the password &amp; PIN differ.",
        ),
    ] {
        let d = s.management(q).await;
        let hits = d["articles"].as_array().unwrap();
        assert_eq!(hits.len(), 1, "{q}: {d}");
        let highlight = hits[0]["highlight"].as_str().unwrap();
        assert!(highlight.contains(shown), "{q}: {highlight}");
        assert_plain(highlight);
    }
    // A word only in a link's URL or an image's file name is not the article's text.
    for q in ["zebra", "png"] {
        let d = s.management(q).await;
        assert_eq!(d["articles"], json!([]), "{q}: {d}");
    }
}

#[tokio::test]
async fn public_search_shows_plain_text() {
    let s = Site::new().await;
    let d = s.public("forgot%20password").await;
    assert_plain_hits(&d, "password");
    assert!(
        d["articles"][0]["highlight"]
            .as_str()
            .unwrap()
            .contains("<mark>Forgot</mark> <mark>password</mark>"),
        "{d}"
    );
}

#[tokio::test]
async fn hosted_search_page_shows_plain_text() {
    let s = Site::new().await;
    let uri = format!("/hc/{}/search?q=reset%20password", s.slug);
    let r = s.app.call(Method::GET, &uri, None, None).await;
    r.assert_status(200);
    let marker = "<span class=\"al-excerpt al-highlight\">";
    let at = r.text.find(marker).expect("a highlighted result") + marker.len();
    let snippet = &r.text[at..at + r.text[at..].find("</span>").unwrap()];
    assert_plain(snippet);
    assert!(
        snippet.contains("the <mark>reset</mark> <mark>password</mark> mail is sent."),
        "{snippet}"
    );
}
