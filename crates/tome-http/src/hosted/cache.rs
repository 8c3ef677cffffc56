//! The hosted pages' own caches: rendered pages per KB generation, and which KB a public slug
//! names.
//!
//! Pages are keyed by the KB's generation from [`crate::cache::PublicCache`], read before any
//! database read, so every write to the KB (which bumps it before responding) makes all of the
//! KB's cached pages unreachable at once. The slug map is only a hint: a hit is confirmed
//! against the KB's published tree *at the current generation* (still public, same slug), and
//! unknown slugs are never cached, so renames, `is_public` toggles, creation and deletion are
//! visible on the very next request.

use std::sync::{Arc, RwLock};

use axum::http::{HeaderValue, StatusCode};
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};

use crate::cache::{Cache, CachedBody, Hasher};

/// A rendered response: status, body (with gzip copy and ETag) and the headers that depend on
/// the page.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    pub body: Arc<CachedBody>,
    pub content_type: &'static str,
    pub csp: HeaderValue,
    /// Whether other sites may frame it (the `bare` theme is made for embedding).
    pub embeddable: bool,
}

/// Rendered pages, rendered Markdown and the slug → KB hint.
pub struct HostedCache {
    pages: Cache<String, Page>,
    /// Article HTML by the SHA-256 of its Markdown: rendering is a pure function of the body, so
    /// a write that leaves a body alone (a title, a theme, another article) costs no re-render.
    markdown: moka::future::Cache<[u8; 32], Arc<tome_render::Rendered>>,
    /// Confirmed slugs only (never what a client merely asked for).
    slugs: RwLock<FxHashMap<String, String>>,
}

impl std::fmt::Debug for HostedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedCache").finish_non_exhaustive()
    }
}

impl HostedCache {
    /// A cache holding at most about `max_bytes` of rendered pages.
    pub fn new(max_bytes: u64) -> Self {
        HostedCache {
            pages: moka::future::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|k: &String, p: &Page| {
                    let body = p.body.bytes();
                    u32::try_from(body + k.len() + 256).unwrap_or(u32::MAX)
                })
                .time_to_idle(crate::cache::IDLE_BODY)
                .build_with_hasher(Hasher::default()),
            markdown: moka::future::Cache::builder()
                .max_capacity(max_bytes / 2)
                .weigher(|_, r: &Arc<tome_render::Rendered>| {
                    u32::try_from(r.html.len() + 256).unwrap_or(u32::MAX)
                })
                .build(),
            slugs: RwLock::default(),
        }
    }

    /// The rendered form of an article body, from cache when the same Markdown was rendered
    /// before.
    pub async fn render(&self, markdown: &str) -> Arc<tome_render::Rendered> {
        let key: [u8; 32] = Sha256::digest(markdown.as_bytes()).into();
        self.markdown
            .get_with(key, async { Arc::new(tome_render::render(markdown)) })
            .await
    }

    pub async fn page(&self, key: &str) -> Option<Page> {
        self.pages.get(key).await
    }

    pub async fn insert_page(&self, key: String, page: Page) {
        self.pages.insert(key, page).await;
    }

    /// The KB id last seen for this public slug, unconfirmed.
    pub fn slug_hint(&self, slug: &str) -> Option<String> {
        // A poisoned lock only means a panic mid-insert elsewhere; the map is still usable.
        let map = self.slugs.read().unwrap_or_else(|p| p.into_inner());
        map.get(slug).cloned()
    }

    pub fn remember_slug(&self, slug: &str, kb_id: &str) {
        let mut map = self.slugs.write().unwrap_or_else(|p| p.into_inner());
        map.insert(slug.to_string(), kb_id.to_string());
    }

    pub fn forget_slug(&self, slug: &str) {
        let mut map = self.slugs.write().unwrap_or_else(|p| p.into_inner());
        map.remove(slug);
    }
}
