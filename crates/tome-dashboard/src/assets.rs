//! The dashboard's stylesheet, scripts and icon, embedded in the binary and served at
//! content-hashed URLs (`dashboard.3f2a….css`) so browsers may keep them for a year.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Logical name → source. Scripts are progressive enhancement only: every page works without
/// them.
const SOURCES: &[(&str, &str)] = &[
    ("dashboard.css", include_str!("../assets/dashboard.css")),
    ("dashboard.js", include_str!("../assets/dashboard.js")),
    ("favicon.svg", include_str!("../assets/favicon.svg")),
    ("content.js", include_str!("../assets/content.js")),
    ("settings.js", include_str!("../assets/settings.js")),
];

struct Asset {
    file: String,
    body: &'static str,
    content_type: &'static str,
}

/// Every asset by logical name and by hashed file name.
pub struct Assets {
    by_name: HashMap<&'static str, Asset>,
    by_file: HashMap<String, &'static str>,
}

static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let by_name: HashMap<&'static str, Asset> = SOURCES
        .iter()
        .map(|&(name, body)| {
            let digest = Sha256::digest(body.as_bytes());
            let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            let content_type = match ext {
                "svg" => "image/svg+xml",
                "js" => "text/javascript; charset=utf-8",
                _ => "text/css; charset=utf-8",
            };
            let asset = Asset {
                file: format!("{stem}.{hash}.{ext}"),
                body,
                content_type,
            };
            (name, asset)
        })
        .collect();
    let by_file = by_name
        .iter()
        .map(|(name, a)| (a.file.clone(), *name))
        .collect();
    Assets { by_name, by_file }
});

/// The asset table, built on first use.
pub fn assets() -> &'static Assets {
    &ASSETS
}

impl Assets {
    /// The hashed file name of a logical asset.
    pub fn file(&self, name: &str) -> &str {
        self.by_name.get(name).map_or("", |a| a.file.as_str())
    }
}

/// `GET /dashboard/assets/{file}`: public (the sign-in page needs them), immutable.
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS
        .by_file
        .get(&file)
        .and_then(|n| ASSETS.by_name.get(n))
    else {
        return crate::view::error_page(StatusCode::NOT_FOUND, "No such file.");
    };
    let mut resp = asset.body.into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}
