//! Tests for openapi (being written).
use crate::support::TestApp;
#[tokio::test]
async fn placeholder_app_starts() {
    let app = TestApp::new().await;
    let r = app.get("/v1/openapi.json").await;
    std::fs::write("/tmp/openapi_probe.json", &r.text).unwrap();
    app.get("/v1/project").await.assert_status(200);
}
