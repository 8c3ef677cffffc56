//! The assistant with a model endpoint: a local OpenAI-compatible server (`FakeModel`, real
//! sockets) that checks the request Tome sends and streams scripted replies — a good answer, a
//! broken stream, a slow first token, an error status, a failure part-way.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{Value, json};
use tome_assistant::provider::{Provider, ProviderConfig};
use tome_assistant::testing::{FakeModel, Reply};
use tome_core::keys::KeyKind;

use crate::support::{TestApp, TestResponse, test_config};

async fn app_with(model: &FakeModel) -> TestApp {
    let mut config = test_config();
    config.assistant.model = Some(
        Provider::new(ProviderConfig {
            url: model.url(),
            model: "test-model".into(),
            api_key: Some("sk-secret-test-key".into()),
            connect_timeout: Duration::from_secs(2),
            first_token_timeout: Duration::from_millis(600),
            idle_timeout: Duration::from_millis(600),
            total_timeout: Duration::from_secs(5),
        })
        .expect("provider"),
    );
    TestApp::with_config(config).await
}

/// A KB with one published article about installing, and a draft that must never be sent.
async fn content(app: &TestApp) -> (String, String) {
    let kb = app.create_kb("docs").await;
    let kb_id = kb["id"].as_str().unwrap().to_string();
    let cat = app.create_category(&kb_id, "Start").await;
    let article = app
        .create_article(
            &kb_id,
            &cat,
            json!({"title": "Install the CLI", "status": "published",
                   "body": "## On Linux\n\nRun the installer script with `curl` to install the command-line tool.\n\n## On Windows\n\nDownload the MSI installer and run it to install the command-line tool."}),
        )
        .await;
    app.create_article(
        &kb_id,
        &cat,
        json!({"title": "Install secrets", "status": "draft",
               "body": "DRAFTSECRET install the command-line tool with the secret installer."}),
    )
    .await;
    (kb_id, article["id"].as_str().unwrap().to_string())
}

async fn ask(app: &TestApp, key: &str, question: &str, accept: &str) -> TestResponse {
    let body = json!({"fp": "anonymous", "messages": [
        {"id": "m1", "role": "user", "parts": [{"type": "text", "text": question}]}]});
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v2/assistant/docs/message")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("accept", accept)
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(req).await
}

async fn assistant_credits(app: &TestApp) -> i64 {
    let u = app.get("/v1/usage").await;
    u.data()["by_action"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["action"] == "assistant_message")
        .map(|l| l["credits"].as_i64().unwrap())
        .unwrap()
}

#[tokio::test]
async fn a_generated_answer_cites_the_passages_it_was_sent() {
    let model = FakeModel::start(Reply::text([
        "Download the MSI ",
        "installer and run it [2]",
        ". Ignore this [9].",
    ]))
    .await
    .unwrap();
    let app = app_with(&model).await;
    let (_, article) = content(&app).await;
    let key = app.new_key(KeyKind::Assistant).await;

    let r = ask(
        &app,
        &key,
        "how do I install the command-line tool on Windows",
        "application/json",
    )
    .await;
    r.assert_status(200);
    let text = r.body["text"].as_str().unwrap();
    assert!(
        text.starts_with("Download the MSI installer and run it [1]"),
        "{text}"
    );
    assert!(!text.contains("[9]") && !text.contains("[2]"), "{text}");
    let sources = r.body["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 1, "{sources:?}");
    let url = sources[0]["url"].as_str().unwrap();
    assert!(url.contains(&article), "{url}");
    assert!(r.body["threadId"].as_str().unwrap().starts_with("thr_"));

    // The request Tome sent: the model, a stream, the numbered passages and the question —
    // never the draft.
    let sent = model.requests();
    assert_eq!(sent.len(), 1);
    let req = &sent[0];
    assert!(req.path.ends_with("/chat/completions"), "{}", req.path);
    assert_eq!(
        req.header("authorization"),
        Some("Bearer sk-secret-test-key")
    );
    assert_eq!(req.body["model"], "test-model");
    assert_eq!(req.body["stream"], true);
    let all: String = req.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        all.contains("[1]") && all.contains("Install the CLI"),
        "{all}"
    );
    assert!(all.contains("how do I install the command-line tool on Windows"));
    assert!(
        !all.contains("DRAFTSECRET"),
        "a draft was sent to the model"
    );
    assert_eq!(assistant_credits(&app).await, 1);
}

#[tokio::test]
async fn the_stream_carries_the_model_text_as_it_comes() {
    let model = FakeModel::start(
        Reply::text(["Run the ", "installer script [1]", "."]).paced(Duration::from_millis(20)),
    )
    .await
    .unwrap();
    let app = app_with(&model).await;
    content(&app).await;
    let key = app.new_key(KeyKind::Assistant).await;
    let r = ask(
        &app,
        &key,
        "install the command-line tool on Linux",
        "text/event-stream",
    )
    .await;
    r.assert_status(200);
    assert_eq!(
        r.header("x-vercel-ai-ui-message-stream"),
        Some("v1"),
        "{:?}",
        r.headers
    );
    let chunks: Vec<Value> = r
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter(|c| c["type"] == "text-delta")
        .map(|c| c["delta"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Run the installer script [1].");
    assert!(chunks.iter().any(|c| c["type"] == "source-url"));
    assert!(r.text.trim_end().ends_with("data: [DONE]"));
}

/// Provider down, slow, failing or broken before its first token: the extractive answer, with a
/// note, never a 500.
#[tokio::test]
async fn a_failing_model_falls_back_to_the_extractive_answer() {
    for reply in [
        Reply::status(500, "upstream exploded sk-secret-test-key"),
        Reply::status(401, "bad key"),
        Reply::text(["late"]).first_token_after(Duration::from_secs(3)),
        Reply::events(["data: {not json\n\n"]),
        Reply::text(["never"]).cut_after(0),
    ] {
        let model = FakeModel::start(reply).await.unwrap();
        let app = app_with(&model).await;
        let (_, article) = content(&app).await;
        let key = app.new_key(KeyKind::Assistant).await;
        let r = ask(
            &app,
            &key,
            "how do I install the command-line tool on Windows",
            "application/json",
        )
        .await;
        r.assert_status(200);
        let text = r.body["text"].as_str().unwrap();
        assert!(text.contains("model is unavailable"), "{text}");
        assert!(!text.contains("sk-secret"), "{text}");
        let sources = r.body["sources"].as_array().unwrap();
        assert!(
            sources
                .iter()
                .any(|s| s["url"].as_str().unwrap().contains(&article)),
            "{sources:?}"
        );
        assert_eq!(assistant_credits(&app).await, 1);
    }
}

/// A model that fails part-way: the stream ends with an `error` chunk (never cut short), and the
/// message costs nothing.
#[tokio::test]
async fn a_model_failing_part_way_ends_the_stream_with_an_error() {
    let model = FakeModel::start(Reply::text(["Run the ", "installer", " and"]).cut_after(2))
        .await
        .unwrap();
    let app = app_with(&model).await;
    content(&app).await;
    let key = app.new_key(KeyKind::Assistant).await;
    let r = ask(
        &app,
        &key,
        "install the command-line tool on Linux",
        "text/event-stream",
    )
    .await;
    r.assert_status(200);
    let chunks: Vec<Value> = r
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(chunks.iter().any(|c| c["type"] == "error"), "{}", r.text);
    assert!(!chunks.iter().any(|c| c["type"] == "finish"), "{}", r.text);
    assert!(r.text.trim_end().ends_with("data: [DONE]"), "{}", r.text);
    assert_eq!(assistant_credits(&app).await, 0);
}

/// Nothing relevant: the model is not asked, and the answer says the docs do not cover it.
#[tokio::test]
async fn an_unrelated_question_never_reaches_the_model() {
    let model = FakeModel::start(Reply::text(["Paris [1]."])).await.unwrap();
    let app = app_with(&model).await;
    content(&app).await;
    let key = app.new_key(KeyKind::Assistant).await;
    let r = ask(
        &app,
        &key,
        "what is the capital of France",
        "application/json",
    )
    .await;
    r.assert_status(200);
    assert!(model.requests().is_empty());
    assert_eq!(r.body["sources"], json!([]));
    assert!(!r.body["text"].as_str().unwrap().contains("Paris"));
}
