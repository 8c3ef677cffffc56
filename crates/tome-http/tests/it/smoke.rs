use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn create_kb_category_article_publish_search() {
    let app = TestApp::new().await;
    let kb = app.create_kb("help").await;
    let kb_id = kb["id"].as_str().unwrap_or_default();
    let cat = app.create_category(kb_id, "Getting Started").await;
    let a = app
        .create_article(kb_id, &cat, json!({ "title": "Reset your password" }))
        .await;
    assert_eq!(a["status"], "draft");
    let id = a["id"].as_str().unwrap_or_default();
    let r = app
        .post_empty(&format!("/v1/kb/{kb_id}/articles/{id}/publish"))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["status"], "published");
    let r = app
        .get(&format!(
            "/v1/kb/{kb_id}/search?q=password&status=published"
        ))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["articles"][0]["id"], id);
}
