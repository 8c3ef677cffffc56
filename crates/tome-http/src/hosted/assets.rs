//! The hosted pages' stylesheets and the Ask box's script, embedded in the binary and served at
//! content-hashed URLs (`base.3f2a….css`, `ask.9c1d….js`) so browsers may keep them for a year:
//! a new build changes the name.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use sha2::{Digest, Sha256};

use crate::cache::CachedBody;

/// One asset: its hashed file name and its bytes (with a gzip copy).
pub struct Asset {
    pub file: String,
    pub body: Arc<CachedBody>,
    pub content_type: &'static str,
}

/// Every asset by its logical name (`base.css`, `docs.css`, `highlight.css`, `ask.js`).
pub struct Assets {
    by_name: HashMap<&'static str, Asset>,
    by_file: HashMap<String, &'static str>,
}

const SOURCES: &[(&str, &str)] = &[
    (
        "favicon.svg",
        include_str!("../../assets/hosted/favicon.svg"),
    ),
    ("base.css", include_str!("../../assets/hosted/base.css")),
    (
        "minimal.css",
        include_str!("../../assets/hosted/minimal.css"),
    ),
    (
        "developer.css",
        include_str!("../../assets/hosted/developer.css"),
    ),
    ("brand.css", include_str!("../../assets/hosted/brand.css")),
    ("docs.css", include_str!("../../assets/hosted/docs.css")),
    ("bare.css", include_str!("../../assets/hosted/bare.css")),
    ("ask.js", include_str!("../../assets/hosted/ask.js")),
];

fn asset(name: &'static str, text: String) -> Asset {
    let digest = Sha256::digest(text.as_bytes());
    let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    Asset {
        file: format!("{stem}.{hash}.{ext}"),
        body: CachedBody::shared(text.into_bytes()),
        content_type: match ext {
            "svg" => "image/svg+xml",
            "js" => "text/javascript; charset=utf-8",
            _ => "text/css; charset=utf-8",
        },
    }
}

static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let mut by_name = HashMap::new();
    for &(name, text) in SOURCES {
        by_name.insert(name, asset(name, text.to_string()));
    }
    // Token colours come from the highlighter's own themes, dark ones scoped to dark pages.
    by_name.insert(
        "highlight.css",
        asset(
            "highlight.css",
            tome_render::highlight::css(&["[data-mode=\"dark\"]", "[data-theme=\"developer\"]"]),
        ),
    );
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
    /// The hashed file name of a logical asset (`docs.css` → `docs.1a2b3c4d5e6f.css`).
    pub fn file(&self, name: &str) -> &str {
        self.by_name.get(name).map_or("", |a| a.file.as_str())
    }

    /// The asset served under a hashed file name.
    pub fn by_file(&self, file: &str) -> Option<&Asset> {
        self.by_file.get(file).and_then(|n| self.by_name.get(n))
    }
}
