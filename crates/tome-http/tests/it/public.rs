//! Tests for the public site-key API (being written).
use crate::support::TestApp;

#[tokio::test]
async fn placeholder_app_starts() {
    let app = TestApp::new().await;
    app.get("/v1/project").await.assert_status(200);
}
