//! The hosted help centre's "Ask" box: on every page unless the theme turns it off, the answer
//! page without JavaScript (`GET <root>/ask?q=…`), the stream its script reads
//! (`POST <root>/ask`), and the rules they share with the assistant API — sanitised answers,
//! no drafts, one credit per question, per-client limits, the Content-Security-Policy.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use serde_json::{Value, json};
use tome_http::HttpConfig;

use crate::support::{TestApp, TestResponse, id_of, test_config};

const THEMES: [&str; 5] = ["minimal", "developer", "brand", "docs", "bare"];

/// A public KB whose articles answer a few questions, with a draft that matches one of them
/// better than anything published, and an article body carrying script.
struct Kb {
    id: String,
    slug: String,
    category: String,
    section: String,
    password: String,
    widget: String,
    draft: String,
}

impl Kb {
    async fn new(app: &TestApp, slug: &str) -> Kb {
        let r = app
            .post(
                "/v1/kb",
                json!({ "title": "Acme Help", "slug": slug, "is_public": true }),
            )
            .await;
        r.assert_status(201);
        let id = id_of(&r);
        let category = app.create_category(&id, "Account").await;
        let section = app.create_section(&id, &category, "Security").await;
        let password = app
            .create_article(
                &id,
                &category,
                json!({
                    "section_id": section,
                    "title": "Reset your password",
                    "status": "published",
                    "body": "## Reset a forgotten password\n\nOpen **Settings → Security** and choose *Reset password*. We email you a reset link that works for one hour.\n\n## Change your password\n\nSigned in, open your profile and pick a new password.",
                }),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.create_article(
            &id,
            &category,
            json!({
                "title": "Invite your team",
                "status": "published",
                "body": "Open **Settings → Team** and send invitations by email to your colleagues.",
            }),
        )
        .await;
        let widget = app
            .create_article(
                &id,
                &category,
                json!({
                    "title": "Embed the chat widget",
                    "status": "published",
                    "body": "To embed the chat widget, paste the widget snippet before the closing body tag <script>alert(1)</script> of every page.\n\n<img src=x onerror=alert(2)> The chat widget snippet loads the widget <b onmouseover=alert(3)>asynchronously</b> on every page.\n\n[click](javascript:alert(4)) to test the chat widget embed.",
                }),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let draft = app
            .create_article(
                &id,
                &category,
                json!({
                    "title": "Reset your password with the master key",
                    "status": "draft",
                    "body": "DRAFTSECRET: reset your password with the master key. Reset your password, reset your password, forgotten password reset.",
                }),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.settle().await;
        Kb {
            id,
            slug: slug.to_string(),
            category,
            section,
            password,
            widget,
            draft,
        }
    }

    fn url(&self, rest: &str) -> String {
        format!("/hc/{}{rest}", self.slug)
    }

    fn ask_url(&self, q: &str) -> String {
        self.url(&format!("/ask?q={}", encode(q)))
    }
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn get(app: &TestApp, uri: &str) -> TestResponse {
    app.call(Method::GET, uri, None, None).await
}

async fn get_from(app: &TestApp, uri: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut b = Request::builder().uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    app.send(b.body(Body::empty()).unwrap()).await
}

/// `POST <root>/ask` as the Ask box's script sends it.
async fn post_ask(app: &TestApp, uri: &str, body: Value, headers: &[(&str, &str)]) -> TestResponse {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/json")
        .header("accept", "text/event-stream");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    app.send(b.body(Body::from(body.to_string())).unwrap())
        .await
}

fn question(text: &str) -> Value {
    json!({ "messages": [{ "role": "user", "parts": [{ "type": "text", "text": text }] }] })
}

/// The chunks of a UI message stream, `[DONE]` left out.
fn chunks(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}")))
        .collect()
}

async fn assistant_credits(app: &TestApp) -> i64 {
    let u = app.get("/v1/usage").await;
    u.data()["by_action"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["action"] == "assistant_message")
        .map_or(0, |l| l["credits"].as_i64().unwrap())
}

/// The page without the Ask box's own script element: what remains must hold no script.
fn without_ask_script(html: &str) -> String {
    let start = html
        .find("<script src=\"/hc/_assets/ask.")
        .or_else(|| html.find("<script src=\"/_assets/ask."))
        .unwrap_or_else(|| panic!("no Ask script: {html}"));
    let end = start + html[start..].find("</script>").unwrap() + "</script>".len();
    let tag = &html[start..end];
    assert!(
        tag.ends_with(".js\" defer></script>"),
        "the Ask script is external and empty: {tag}"
    );
    format!("{}{}", &html[..start], &html[end..])
}

/// The security headers of a page with the Ask box: scripts from this origin only.
#[track_caller]
fn assert_ask_csp(r: &TestResponse) {
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(csp.starts_with("default-src 'none'; "), "{csp}");
    assert!(csp.contains("; script-src 'self'; "), "{csp}");
    assert!(csp.contains("; connect-src 'self'; "), "{csp}");
    assert!(csp.contains("form-action 'self'"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let rest = without_ask_script(&r.text).to_ascii_lowercase();
    assert!(!rest.contains("<script"), "a second script: {}", r.text);
    for handler in [
        " onerror=",
        " onload=",
        " onclick=",
        " onsubmit=",
        "javascript:",
    ] {
        assert!(!rest.contains(handler), "{handler} in {}", r.text);
    }
}

#[tokio::test]
async fn the_box_is_on_every_page_until_the_theme_turns_it_off() {
    let app = TestApp::new().await;
    let kb = Kb::new(&app, "acme").await;
    let pages = [
        String::new(),
        format!("/categories/{}", kb.category),
        format!("/sections/{}", kb.section),
        format!("/articles/{}", kb.password),
        "/search?q=password".to_string(),
        "/articles/kba_000000000000".to_string(),
    ];
    for theme in THEMES {
        app.put(&format!("/v1/kb/{}", kb.id), json!({ "theme": theme }))
            .await
            .assert_status(200);
        for rest in &pages {
            let r = get(&app, &kb.url(rest)).await;
            assert!(r.status == 200 || r.status == 404, "{theme}{rest}");
            let html = &r.text;
            assert!(
                html.contains(
                    "<form class=\"ask-form\" action=\"/hc/acme/ask\" method=\"get\" data-ask>"
                ),
                "{theme}{rest}: {html}"
            );
            // A labelled input, and a live region for the script's answer.
            assert!(html.contains("<label class=\"ask-label\" for=\"tome-ask-q\">"));
            assert!(html.contains("id=\"tome-ask-q\" name=\"q\""));
            assert!(html.contains("aria-live=\"polite\""));
            assert!(html.contains("<section class=\"ask-box\" aria-labelledby=\"tome-ask-h\">"));
            assert_ask_csp(&r);
        }
        // An article page tells the form which article the question is asked on.
        let article = get(&app, &kb.url(&format!("/articles/{}", kb.password))).await;
        assert!(
            article.text.contains(&format!(
                "<input type=\"hidden\" name=\"from\" value=\"/articles/{}",
                kb.password
            )),
            "{}",
            article.text
        );
    }
    // The script itself: served under its hashed name, cacheable for a year, as JavaScript.
    let home = get(&app, &kb.url("")).await;
    let src = home
        .text
        .split("<script src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let js = get(&app, &src).await;
    js.assert_status(200);
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(js.header("cache-control").unwrap().contains("immutable"));
    assert!(js.text.contains("data-tome-answer"));

    // Off: no box, no script, no script in the policy, and no /ask.
    let r = app
        .put(
            &format!("/v1/kb/{}", kb.id),
            json!({ "theme_settings": { "assistant": false } }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["theme_settings"]["assistant"], false);
    for rest in &pages {
        let r = get(&app, &kb.url(rest)).await;
        assert!(!r.text.contains("data-ask"), "{rest}");
        assert!(!r.text.contains("<script"), "{rest}");
        let csp = r.header("content-security-policy").unwrap();
        assert!(!csp.contains("script-src"), "{csp}");
        assert!(!csp.contains("connect-src"), "{csp}");
    }
    get(&app, &kb.ask_url("how do I reset my password"))
        .await
        .assert_status(404);
    post_ask(&app, &kb.url("/ask"), question("reset my password"), &[])
        .await
        .assert_status(404);
    assert_eq!(assistant_credits(&app).await, 0);

    // Other settings leave it as it is; `null` turns it back on (the default).
    app.put(
        &format!("/v1/kb/{}", kb.id),
        json!({ "theme_settings": { "primary_color": "#0e7c66" } }),
    )
    .await
    .assert_status(200);
    assert!(!get(&app, &kb.url("")).await.text.contains("data-ask"));
    app.put(
        &format!("/v1/kb/{}", kb.id),
        json!({ "theme_settings": { "assistant": null } }),
    )
    .await
    .assert_status(200);
    assert!(get(&app, &kb.url("")).await.text.contains("data-ask"));
    // The setting is validated like the others.
    let r = app
        .put(
            &format!("/v1/kb/{}", kb.id),
            json!({ "theme_settings": { "assistant": "yes" } }),
        )
        .await;
    r.assert_status(422);
    assert_eq!(r.field(), "theme_settings.assistant");
}

#[tokio::test]
async fn the_answer_page_cites_the_hosted_pages() {
    let app = TestApp::new().await;
    let kb = Kb::new(&app, "acme").await;
    for theme in THEMES {
        app.put(&format!("/v1/kb/{}", kb.id), json!({ "theme": theme }))
            .await
            .assert_status(200);
        let r = get(&app, &kb.ask_url("How can I reset a forgotten password?")).await;
        r.assert_status(200);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(r.text.contains(&format!("data-theme=\"{theme}\"")));
        // Never cached, never indexed.
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert!(r.header("etag").is_none());
        assert!(
            r.text
                .contains("<meta name=\"robots\" content=\"noindex\">")
        );
        assert_ask_csp(&r);
        // The question, the quoted answer and its numbered sources, linking to hosted pages.
        assert!(
            r.text
                .contains("<h2 id=\"tome-ask-question\" class=\"ask-question\">How can I reset a forgotten password?</h2>"),
            "{}",
            r.text
        );
        assert!(
            r.text
                .contains("Open Settings → Security and choose Reset password."),
            "{}",
            r.text
        );
        let hosted = format!("http://127.0.0.1:8080/hc/acme/articles/{}", kb.password);
        assert!(
            r.text.contains(&format!("<a href=\"{hosted}")),
            "{}",
            r.text
        );
        assert!(r.text.contains("<ol class=\"ask-sources\""), "{}", r.text);
        assert!(
            r.text.contains(">Reset your password</a></li>"),
            "{}",
            r.text
        );
        // `[1]` in the text links to its page too.
        assert!(r.text.contains("\">[1]</a>"), "{}", r.text);
        assert!(!r.text.contains("doesn’t cover"), "{}", r.text);
        // The question stays in the box, to edit or follow up; the search box stays empty.
        assert!(
            r.text.contains(
                "name=\"q\" type=\"text\" value=\"How can I reset a forgotten password?\""
            )
        );
        assert!(
            r.text.contains("type=\"search\" name=\"q\" value=\"\""),
            "{}",
            r.text
        );
    }

    // An article's page as the place of the question is accepted (it biases retrieval).
    let r = get(
        &app,
        &format!(
            "{}&from=%2Farticles%2F{}",
            kb.ask_url("and how do I change it"),
            kb.password
        ),
    )
    .await;
    r.assert_status(200);
    assert!(r.text.contains(&kb.password), "{}", r.text);

    // Every question was recorded, anonymously, in a thread of its own.
    let conversations = app
        .get(&format!("/v1/analytics/{}/assistant", app.project_id))
        .await;
    conversations.assert_status(200);
    let list = conversations.body["conversations"].as_array().unwrap();
    assert_eq!(list.len(), THEMES.len() + 1, "{list:?}");
    let thread = list[0]["threadId"].as_str().unwrap();
    let t = app
        .store
        .get_thread(&app.project_id, &kb.id, thread)
        .await
        .unwrap();
    assert_eq!(t.fp, "anonymous");
}

#[tokio::test]
async fn an_uncovered_question_says_so() {
    let app = TestApp::new().await;
    let kb = Kb::new(&app, "acme").await;
    let r = get(&app, &kb.ask_url("what is the capital of France")).await;
    r.assert_status(200);
    assert!(
        r.text.contains(
            "<p class=\"ask-uncovered\">The documentation doesn’t cover this question.</p>"
        ),
        "{}",
        r.text
    );
    assert!(!r.text.contains("<ol class=\"ask-sources\""), "{}", r.text);
    // A question near the docs but not answered by them lists the closest pages: with the bars
    // set so that a page holding part of the question is near but not an answer.
    let mut config = crate::support::test_config();
    config.assistant.min_coverage = 0.9;
    config.assistant.min_score = 0.1;
    let app = TestApp::with_config(config).await;
    let kb = Kb::new(&app, "acme").await;
    let r = get(
        &app,
        &kb.ask_url("how do I invite my team to the Slack workspace channel"),
    )
    .await;
    r.assert_status(200);
    assert!(r.text.contains("<p class=\"ask-uncovered\">"), "{}", r.text);
    assert!(r.text.contains(">Closest pages</h3>"), "{}", r.text);
    assert!(r.text.contains(">Invite your team</a></li>"), "{}", r.text);
}

#[tokio::test]
async fn a_blank_or_overlong_question_is_a_422_page() {
    let app = TestApp::new().await;
    let kb = Kb::new(&app, "acme").await;
    // No question at all: the form alone.
    let r = get(&app, &kb.url("/ask")).await;
    r.assert_status(200);
    assert!(r.text.contains("<h1>Ask a question</h1>"));
    assert!(!r.text.contains("ask-result"));
    for q in [String::new(), "   ".to_string(), "x".repeat(501)] {
        let r = get(&app, &kb.url(&format!("/ask?q={}", encode(&q)))).await;
        r.assert_status(422);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(r.text.contains("aria-invalid=\"true\""), "{}", r.text);
        assert!(
            r.text
                .contains("aria-describedby=\"tome-ask-error tome-ask-hint\""),
            "{}",
            r.text
        );
        assert!(
            r.text
                .contains("<p class=\"ask-error\" id=\"tome-ask-error\">")
        );
        assert!(!r.text.contains("ask-result"));
        assert_ask_csp(&r);
    }
    // Exactly 500 characters is a question.
    let r = get(&app, &kb.ask_url(&"password ".repeat(56)[..500])).await;
    r.assert_status(200);
    // The stream refuses the same with the API's 422.
    let r = post_ask(&app, &kb.url("/ask"), question(&"x".repeat(501)), &[]).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "messages");
    let r = post_ask(&app, &kb.url("/ask"), question("  "), &[]).await;
    r.assert_error(422, "validation_error");
    // A HEAD asks nothing; crawlers are told to keep out.
    let head = Request::builder()
        .method(Method::HEAD)
        .uri(kb.ask_url("reset my password"))
        .body(Body::empty())
        .unwrap();
    app.send(head).await.assert_status(200);
    let robots = get(&app, &kb.url("/robots.txt")).await;
    assert!(
        robots.text.contains("Disallow: /hc/acme/ask\n"),
        "{}",
        robots.text
    );
    // Only the one good question was charged.
    assert_eq!(assistant_credits(&app).await, 1);
}

#[tokio::test]
async fn drafts_are_never_cited() {
    let app = TestApp::new().await;
    let kb = Kb::new(&app, "acme").await;
    let r = get(&app, &kb.ask_url("reset your password with the master key")).await;
    r.assert_status(200);
    assert!(!r.text.contains("DRAFTSECRET"), "{}", r.text);
    assert!(!r.text.contains(&kb.draft), "{}", r.text);
    assert!(!r.text.contains("master key</a>"), "{}", r.text);
    let r = post_ask(
        &app,
        &kb.url("/ask"),
        question("reset your password with the master key"),
        &[],
    )
    .await;
    r.assert_status(200);
    assert!(!r.text.contains("DRAFTSECRET"), "{}", r.text);
    assert!(!r.text.contains(&kb.draft), "{}", r.text);
}

#[tokio::test]
async fn script_in_an_article_never_reaches_an_answer() {
    let app = TestApp::new().await;
    let kb = Kb::new(&app, "acme").await;
    let q = "how do I embed the chat widget snippet on every page";
    let r = get(&app, &kb.ask_url(q)).await;
    r.assert_status(200);
    assert!(
        r.text.contains(&kb.widget),
        "the widget page answers: {}",
        r.text
    );
    assert_ask_csp(&r);
    let lower = without_ask_script(&r.text).to_ascii_lowercase();
    for bad in [
        "<script",
        "onerror=",
        "onmouseover=",
        "javascript:",
        "<img src=x",
    ] {
        assert!(!lower.contains(bad), "{bad}: {}", r.text);
    }

    // The stream's rendered answer is sanitised the same way; its raw text may carry the words,
    // which the script only ever inserts as text.
    let r = post_ask(&app, &kb.url("/ask"), question(q), &[]).await;
    r.assert_status(200);
    let parts = chunks(&r.text);
    let html = parts
        .iter()
        .find(|c| c["type"] == "data-tome-answer")
        .map(|c| c["data"]["html"].as_str().unwrap().to_ascii_lowercase())
        .expect("the answer's HTML");
    for bad in ["<script", "onerror=", "onmouseover=", "javascript:"] {
        assert!(!html.contains(bad), "{bad}: {html}");
    }
}

#[tokio::test]
async fn the_stream_answers_as_the_v2_endpoint_does() {
    let app = TestApp::new().await;
    let kb = Kb::new(&app, "acme").await;
    let mut body = question("How can I reset a forgotten password?");
    // Whatever the page sends as `fp`, a visitor is anonymous.
    body["fp"] = json!("someone-else");
    body["currentPath"] = json!(format!("/hc/acme/articles/{}", kb.password));
    let r = post_ask(&app, &kb.url("/ask"), body, &[]).await;
    r.assert_status(200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!(r.header("x-vercel-ai-ui-message-stream"), Some("v1"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.text.trim_end().ends_with("data: [DONE]"), "{}", r.text);
    let parts = chunks(&r.text);
    let kinds: Vec<&str> = parts.iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"start"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"finish"), "{kinds:?}");
    let text: String = parts
        .iter()
        .filter(|c| c["type"] == "text-delta")
        .map(|c| c["delta"].as_str().unwrap())
        .collect();
    assert!(text.contains("choose Reset password"), "{text}");
    let sources: Vec<&Value> = parts.iter().filter(|c| c["type"] == "source-url").collect();
    assert!(!sources.is_empty(), "{kinds:?}");
    assert!(
        sources[0]["url"].as_str().unwrap().starts_with(&format!(
            "http://127.0.0.1:8080/hc/acme/articles/{}",
            kb.password
        )),
        "{sources:?}"
    );
    // The rendered answer comes just before `finish`, whose metadata names the thread.
    let html_at = kinds.iter().position(|k| *k == "data-tome-answer").unwrap();
    assert!(html_at > kinds.iter().rposition(|k| *k == "text-delta").unwrap());
    let html = parts[html_at]["data"]["html"].as_str().unwrap();
    assert!(html.contains("choose Reset password"), "{html}");
    assert!(html.contains(&format!(
        "href=\"http://127.0.0.1:8080/hc/acme/articles/{}",
        kb.password
    )));
    assert_eq!(parts[html_at]["data"]["unanswered"], false);
    let thread = parts.last().unwrap()["messageMetadata"]["threadId"]
        .as_str()
        .unwrap()
        .to_string();
    let t = app
        .store
        .get_thread(&app.project_id, &kb.id, &thread)
        .await
        .unwrap();
    assert_eq!(t.fp, "anonymous");

    // A follow-up continues the thread.
    let follow = json!({
        "threadId": thread,
        "messages": [
            { "role": "user", "parts": [{ "type": "text", "text": "How can I reset a forgotten password?" }] },
            { "role": "assistant", "parts": [{ "type": "text", "text": text }] },
            { "role": "user", "parts": [{ "type": "text", "text": "and how do I change it?" }] },
        ],
    });
    let r = post_ask(&app, &kb.url("/ask"), follow, &[]).await;
    r.assert_status(200);
    let (_, messages) = app
        .store
        .thread_messages(&app.project_id, &thread)
        .await
        .unwrap();
    assert_eq!(messages.len(), 4);
    // Another KB's thread is not this one's.
    let other = Kb::new(&app, "other").await;
    let r = post_ask(
        &app,
        &other.url("/ask"),
        json!({ "threadId": thread, "messages": [{ "role": "user", "parts": [{ "type": "text", "text": "hi there" }] }] }),
        &[],
    )
    .await;
    r.assert_error(404, "thread_not_found");
    // Not JSON: the API's 400.
    let req = Request::builder()
        .method(Method::POST)
        .uri(kb.url("/ask"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("q=hello"))
        .unwrap();
    app.send(req).await.assert_status(400);
    assert_eq!(assistant_credits(&app).await, 2);
}

#[tokio::test]
async fn each_question_costs_one_credit_and_the_cap_is_a_402_page() {
    let app = TestApp::new().await;
    let kb = Kb::new(&app, "acme").await;
    assert_eq!(assistant_credits(&app).await, 0);
    get(&app, &kb.ask_url("How can I reset a forgotten password?"))
        .await
        .assert_status(200);
    assert_eq!(assistant_credits(&app).await, 1);
    // The same question again is asked again: answers are not cached.
    get(&app, &kb.ask_url("How can I reset a forgotten password?"))
        .await
        .assert_status(200);
    assert_eq!(assistant_credits(&app).await, 2);
    post_ask(
        &app,
        &kb.url("/ask"),
        question("how do I invite my team"),
        &[],
    )
    .await
    .assert_status(200);
    assert_eq!(assistant_credits(&app).await, 3);
    // Browsing costs nothing.
    get(&app, &kb.url("")).await.assert_status(200);
    assert_eq!(assistant_credits(&app).await, 3);

    // At the cap: a friendly page, 402, nothing answered or charged.
    let used = app.get("/v1/usage").await.data()["credits_used"]
        .as_i64()
        .unwrap();
    app.store
        .update_project(
            &app.project_id,
            tome_core::input::ProjectPatch {
                credit_cap: Some(Some(used)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let r = get(&app, &kb.ask_url("How can I reset a forgotten password?")).await;
    r.assert_status(402);
    assert!(r.text.contains("The assistant is resting"), "{}", r.text);
    assert!(r.text.contains("role=\"alert\""));
    assert!(
        r.text
            .contains("href=\"/hc/acme/search?q=How%20can%20I%20reset"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("ask-result"));
    assert_ask_csp(&r);
    let r = post_ask(&app, &kb.url("/ask"), question("reset my password"), &[]).await;
    r.assert_error(402, "spending_cap_exceeded");
    assert_eq!(assistant_credits(&app).await, 3);
}

#[tokio::test]
async fn questions_are_limited_per_client() {
    let mut config = test_config();
    config.assistant.client_message_limit = 2;
    let app = TestApp::with_config(config).await;
    let kb = Kb::new(&app, "acme").await;
    // Fresh minute window so the test does not straddle a boundary.
    let now = tome_core::time::unix_now();
    if now % 60 > 55 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - (now % 60) as u64)).await;
    }
    get(&app, &kb.ask_url("reset my password"))
        .await
        .assert_status(200);
    // The page and the stream share the client's allowance.
    post_ask(&app, &kb.url("/ask"), question("reset my password"), &[])
        .await
        .assert_status(200);
    let r = get(&app, &kb.ask_url("reset my password")).await;
    r.assert_status(429);
    assert!(r.header("retry-after").is_some());
    assert!(r.text.contains("Too many questions"), "{}", r.text);
    assert_ask_csp(&r);
    post_ask(&app, &kb.url("/ask"), question("reset my password"), &[])
        .await
        .assert_error(429, "rate_limit_exceeded");
    // Another client still may ask; browsing is not limited by it.
    let mut req = Request::builder()
        .uri(kb.ask_url("reset my password"))
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 2], 40000))));
    app.send(req).await.assert_status(200);
    get(&app, &kb.url("")).await.assert_status(200);
    assert_eq!(assistant_credits(&app).await, 3);
}

#[tokio::test]
async fn the_hosted_host_answers_too() {
    let app = TestApp::with_config(HttpConfig {
        hosted_url: Some("https://help.example.test".to_string()),
        ..test_config()
    })
    .await;
    let kb = Kb::new(&app, "acme").await;
    let host = [("host", "help.example.test")];
    let home = get_from(&app, "/acme", &host).await;
    home.assert_status(200);
    assert!(
        home.text
            .contains("<form class=\"ask-form\" action=\"/acme/ask\" method=\"get\" data-ask>"),
        "{}",
        home.text
    );
    assert!(home.text.contains("<script src=\"/_assets/ask."));
    let r = get_from(
        &app,
        &format!(
            "/acme/ask?q={}",
            encode("How can I reset a forgotten password?")
        ),
        &host,
    )
    .await;
    r.assert_status(200);
    assert_ask_csp(&r);
    // Sources are the hosted host's pages.
    let hosted = format!("https://help.example.test/acme/articles/{}", kb.password);
    assert!(
        r.text.contains(&format!("<a href=\"{hosted}")),
        "{}",
        r.text
    );
    let r = post_ask(
        &app,
        "/acme/ask",
        question("How can I reset a forgotten password?"),
        &host,
    )
    .await;
    r.assert_status(200);
    assert!(r.text.contains(&hosted), "{}", r.text);
    assert_eq!(assistant_credits(&app).await, 2);
}
