//! The state every handler shares ([`AppState`]) and the settings it is built from
//! ([`HttpConfig`]); it keeps the caches and the search index following the database.
//!
//! Below the routes, the public API and the hosted pages, above the caches and limiters it holds.

use std::sync::Arc;

use tome_core::cursor::CursorCodec;
use tome_store::Store;

use crate::cache::PublicCache;
use crate::client_ip::IpRange;
use crate::hosted::cache::HostedCache;
use crate::hosted::host::hosted_authority;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;

/// Settings the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Requests per minute per admin key.
    pub admin_rate_limit: u64,
    /// Requests per minute per assistant key.
    pub assistant_rate_limit: u64,
    /// This server's own address as clients reach it, for `public_url` (`http://127.0.0.1:8080`).
    pub base_url: String,
    /// A dedicated host for hosted help centres (`https://help.example.com`), if any.
    pub hosted_url: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed when finding the client's address.
    pub trusted_proxies: Vec<IpRange>,
    /// Refused public requests (bad key, origin) allowed per client address per minute.
    pub public_refusal_rate_limit: u64,
    /// Bytes of rendered public responses kept in memory (and as much again for hosted pages).
    pub cache_bytes: u64,
    /// When set, `/metrics` requires `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// Hosted help-centre requests allowed per client address per minute.
    pub hosted_rate_limit: u64,
    /// Whether `folder` sources and `file://` source URLs are allowed (`--sync-allow-local`).
    pub sync_allow_local: bool,
    /// Whether sources on private addresses, and so plain `http://` source URLs, are allowed
    /// (`--sync-allow-private`).
    pub sync_allow_private: bool,
    /// Push-webhook requests allowed per client address per minute.
    pub webhook_rate_limit: u64,
    /// The assistant's settings.
    pub assistant: AssistantConfig,
}

/// How the assistant answers, and what it costs.
#[derive(Debug, Clone)]
pub struct AssistantConfig {
    /// A model endpoint (`--llm-url`); `None` answers extractively, with no network.
    pub model: Option<tome_assistant::provider::Provider>,
    /// Passages below this documentation-search score (0–1) are not relevant enough to answer
    /// from (`--assistant-min-score`).
    pub min_score: f32,
    /// Share (0–1) of the question's content words a passage must contain to be quoted
    /// (`--assistant-min-coverage`); see [`tome_assistant::extractive::Options::min_coverage`].
    pub min_coverage: f32,
    /// Messages per minute per client address for browsers calling with a site key.
    pub client_message_limit: u64,
    /// Credits charged per answered message (`--assistant-message-credits`).
    pub message_credits: i64,
    /// Threads untouched for this many days are deleted.
    pub retention_days: u64,
}

impl Default for AssistantConfig {
    fn default() -> Self {
        AssistantConfig {
            model: None,
            min_score: tome_assistant::extractive::Options::default().min_score,
            min_coverage: tome_assistant::extractive::Options::default().min_coverage,
            client_message_limit: 20,
            message_credits: tome_core::credits::ASSISTANT_MESSAGE_CREDITS,
            retention_days: 90,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            admin_rate_limit: 100,
            assistant_rate_limit: 1000,
            base_url: "http://127.0.0.1:8080".to_string(),
            hosted_url: None,
            trusted_proxies: Vec::new(),
            public_refusal_rate_limit: 100,
            cache_bytes: 64 * 1024 * 1024,
            metrics_token: None,
            hosted_rate_limit: 600,
            sync_allow_local: false,
            sync_allow_private: false,
            webhook_rate_limit: 60,
            assistant: AssistantConfig::default(),
        }
    }
}

/// How often the search index looks for writes made by other processes (the CLI, other nodes).
pub const SEARCH_FOLLOW_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The search engine, kept level with the store (see `tome_search::Search`).
    pub search: Arc<tome_search::Search>,
    pub limiter: Arc<dyn RateLimiter>,
    pub config: Arc<HttpConfig>,
    pub cursors: Arc<CursorCodec>,
    pub public: Arc<PublicCache>,
    pub metrics: Arc<Metrics>,
    pub hosted: Arc<HostedCache>,
    /// The authority of `--hosted-url`, whose paths are all hosted pages.
    pub hosted_host: Option<Arc<str>>,
    /// This node's update runner, woken when an update is queued here (`None`: jobs wait for a
    /// node that runs one).
    pub runner: Option<Arc<tome_sync::runner::Runner>>,
}

impl AppState {
    /// Builds the state with an in-memory search index rebuilt from the store (tests, tools).
    pub async fn new(
        store: Arc<dyn Store>,
        limiter: Arc<dyn RateLimiter>,
        config: HttpConfig,
    ) -> Result<Self, tome_search::SearchError> {
        let search = tome_search::Search::open(store.clone(), Default::default()).await?;
        Self::with_search(store, limiter, config, search).await
    }

    /// Builds the state around an opened search index (see [`AppState::assemble`]).
    pub async fn with_search(
        store: Arc<dyn Store>,
        limiter: Arc<dyn RateLimiter>,
        config: HttpConfig,
        search: Arc<tome_search::Search>,
    ) -> Result<Self, tome_search::SearchError> {
        Self::assemble(store, limiter, config, search, Arc::default()).await
    }

    /// Builds the state around an opened search index and a metrics registry (which the limiter
    /// may share), reading the instance secret that signs pagination cursors, and starts
    /// following the change feed for writes made elsewhere.
    pub async fn assemble(
        store: Arc<dyn Store>,
        limiter: Arc<dyn RateLimiter>,
        config: HttpConfig,
        search: Arc<tome_search::Search>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, tome_search::SearchError> {
        let secret = store.instance_secret().await?;
        let public = Arc::new(PublicCache::new(config.cache_bytes));
        let caches = public.clone();
        search.spawn_follower(SEARCH_FOLLOW_INTERVAL, move |applied| {
            invalidate_applied(&caches, applied);
        });
        Ok(AppState {
            metrics,
            public,
            hosted: Arc::new(HostedCache::new(config.cache_bytes)),
            hosted_host: hosted_authority(config.hosted_url.as_deref()),
            store,
            search,
            limiter,
            config: Arc::new(config),
            cursors: Arc::new(CursorCodec::new(secret)),
            runner: None,
        })
    }

    /// The state with this node's update runner.
    pub fn with_runner(mut self, runner: Arc<tome_sync::runner::Runner>) -> Self {
        self.runner = Some(runner);
        self
    }

    /// Brings search and the caches level with the database now (writes made on other nodes or
    /// by an update job), rather than at the follower's next tick.
    pub async fn catch_up(&self) -> Result<(), tome_search::SearchError> {
        let applied = self.search.catch_up().await?;
        invalidate_applied(&self.public, &applied);
        Ok(())
    }
}

/// The hosted root of a KB's pages, for links written into synced content: `/hc/{slug}` on the
/// main address (root-relative, so it holds whatever name clients use), or `{hosted-url}/{slug}`.
pub fn page_root(hosted_url: Option<&str>, slug: &str) -> String {
    match hosted_url {
        Some(host) => format!("{}/{slug}", host.trim_end_matches('/')),
        None => format!("/hc/{slug}"),
    }
}

/// Marks everything a batch of changes touched as stale in the caches.
fn invalidate_applied(public: &PublicCache, applied: &tome_search::Applied) {
    if applied.rebuilt {
        // Rebuilt from the database because the feed no longer reached back far enough: what
        // changed in between is unknown.
        public.invalidate_all();
        return;
    }
    for (kb, &seq) in &applied.kbs {
        public.invalidate_kb_change(kb, seq);
    }
    for kb in &applied.kb_access {
        public.invalidate_kb_access(kb);
    }
    for project in &applied.projects {
        public.invalidate_project(project);
    }
    if applied.api_keys {
        public.invalidate_api_keys();
    }
}

impl AppState {
    /// What every management write does before its response leaves, whoever made it (the REST
    /// API's `invalidate_after_write` layer, the dashboard): mark the search index dirty and bump
    /// the cache generations of the KB it touched (`touches_access`: the KB's own row or its site
    /// key, which the public gate checks) and of the project (`project`: allowed domains).
    /// `succeeded` is false for a 5xx that may have come after a commit: the bump is made anyway,
    /// without the feed position.
    pub async fn after_write(
        &self,
        kb_id: Option<&str>,
        touches_access: bool,
        project: Option<&str>,
        succeeded: bool,
    ) {
        // The index follows in the background, and any search that starts before it has catches
        // up first (`run_search`): no search after this write misses it.
        self.search.note_write();
        if let Some(kb_id) = kb_id {
            // Read after the write committed and before the bump (`invalidate_kb_through`); a
            // failed read only costs the follower's second bump.
            let through = if succeeded {
                self.store.last_change_seq().await.ok()
            } else {
                None
            };
            match through {
                Some(through) => self.public.invalidate_kb_through(kb_id, through),
                None => self.public.invalidate_kb(kb_id),
            }
            if touches_access {
                self.public.invalidate_kb_access(kb_id);
            }
        }
        if let Some(project_id) = project {
            self.public.invalidate_project(project_id);
        }
    }

    /// Runs a search on the engine, timing it for the metrics. First brings the index level
    /// with every write this node has acknowledged, so a search never misses one.
    pub async fn run_search(
        &self,
        request: &tome_search::SearchRequest,
    ) -> Result<tome_search::SearchResults, tome_search::SearchError> {
        let started = std::time::Instant::now();
        if let Some(applied) = self.search.ensure_current().await? {
            invalidate_applied(&self.public, &applied);
        }
        let results = self.search.query(request);
        self.metrics
            .search_duration
            .observe(started.elapsed().as_secs_f64());
        results
    }

    /// Documentation search: the published passages of one KB, after catching the index up
    /// like [`AppState::run_search`].
    pub async fn run_passage_search(
        &self,
        request: &tome_search::PassageRequest,
    ) -> Result<Vec<tome_search::PassageHit>, tome_search::SearchError> {
        let started = std::time::Instant::now();
        if let Some(applied) = self.search.ensure_current().await? {
            invalidate_applied(&self.public, &applied);
        }
        let results = self.search.passages(request);
        self.metrics
            .search_duration
            .observe(started.elapsed().as_secs_f64());
        results
    }
}
