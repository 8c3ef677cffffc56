//! What the pages of one help centre share: where they live ([`Site`]) and how its search page
//! asks the engine.

use std::sync::Arc;

use tome_core::model::{KnowledgeBase, Status};
use tome_store::{PublishedTree, StoreError};

use crate::state::AppState;

/// Where a KB's pages live for this request.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub tree: Arc<PublishedTree>,
    /// Link prefix of the KB's pages on this host: `/hc/{slug}` or `/{slug}`.
    pub root: String,
    /// Link prefix of the assets on this host.
    pub assets_root: &'static str,
    /// Absolute URL of the KB's home page, for canonical links, sitemaps and llms.txt.
    pub canonical_root: String,
}

/// The one place the hosted search page asks for results: the search engine, published content
/// only, best first.
pub(crate) async fn search_published(
    s: &AppState,
    kb: &KnowledgeBase,
    text: &str,
) -> Result<tome_search::SearchResults, StoreError> {
    let request = tome_search::SearchRequest {
        project_id: kb.project_id.clone(),
        kb_id: kb.id.clone(),
        text: text.to_string(),
        filters: tome_search::Filters {
            statuses: vec![Status::Published],
            ..tome_search::Filters::default()
        },
        limit: 20,
    };
    s.run_search(&request).await.map_err(|e| {
        tracing::error!(error = %e, kb.id = %kb.id, "hosted search failed");
        StoreError::Internal(e.to_string().into())
    })
}
