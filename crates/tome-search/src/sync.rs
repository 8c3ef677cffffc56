//! Keeping the index in step with the database through the change feed.
//!
//! The index remembers, in each commit, the last feed `seq` it reflects. Catching up reads the
//! changes after it, loads the current rows of the articles and FAQs they name (a row that is
//! gone means a delete), applies them and commits the new position — all under one lock, so
//! concurrent writers share a single catch-up and commit (group commit). Rows read may be newer
//! than the changes that named them; any such newer change has a higher `seq` and is applied
//! again on the next catch-up, so the index converges on the database. A crash anywhere leaves
//! the index at its last committed position, from which the next start replays.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tome_core::model::Entity;
use tome_store::{DocKind, Store};

use crate::engine::{Engine, Opened, Position};
use crate::worker::IndexThread;
use crate::{Result, SearchRequest, SearchResults};

/// Changes read per query while catching up.
const FEED_BATCH: i64 = 1000;
/// Documents read per query while rebuilding.
const SCAN_BATCH: i64 = 500;
/// How often a follower commits a position that advanced without document changes.
const POSITION_FLUSH: Duration = Duration::from_secs(30);
/// How often a follower prunes the change feed.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How long the follower lets this process's writes gather before it indexes them together: one
/// index commit per this interval at most, however fast writes arrive (a search that needs them
/// sooner indexes them itself, see [`Search::ensure_current`]).
const LOCAL_WRITE_GATHER: Duration = Duration::from_millis(100);

/// How to open the index.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// The index directory; `None` keeps the index in memory (rebuilt at every start).
    pub dir: Option<PathBuf>,
    /// Changes older than this are pruned from the feed by the follower.
    pub change_retention: Duration,
    /// Rebuild from the database even if the index is valid and current (`tome reindex`).
    pub force_rebuild: bool,
    /// Index at normal CPU priority, for a command someone waits on (`tome reindex`); a server
    /// indexes in the background, at idle priority (see [`crate::worker`]).
    pub foreground: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            dir: None,
            change_retention: Duration::from_secs(7 * 24 * 3600),
            force_rebuild: false,
            foreground: false,
        }
    }
}

/// What a catch-up applied: where derived caches must be invalidated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// KBs with any change (content, settings, keys), each with the `seq` of its last change
    /// applied.
    pub kbs: BTreeMap<String, i64>,
    /// KBs whose own row (slug, settings, existence) or site keys changed: what the public
    /// gate checks.
    pub kb_access: BTreeSet<String>,
    /// Projects whose own row changed (name, allowed domains).
    pub projects: BTreeSet<String>,
    /// Whether any admin or assistant key was created or revoked.
    pub api_keys: bool,
    /// Articles and FAQs re-indexed or removed.
    pub docs: usize,
    /// Whether the index was rebuilt from scratch.
    pub rebuilt: bool,
}

impl Applied {
    pub fn is_empty(&self) -> bool {
        self.kbs.is_empty()
            && self.projects.is_empty()
            && !self.api_keys
            && self.docs == 0
            && !self.rebuilt
    }
}

/// The search engine kept in step with a store.
pub struct Search {
    engine: Arc<Engine>,
    /// Where every write to the engine runs (see `worker.rs`).
    index: IndexThread,
    store: Arc<dyn Store>,
    feed_id: String,
    /// Every change up to here is applied (some perhaps not yet committed).
    applied: AtomicI64,
    /// Every change up to here is committed to the index.
    committed: AtomicI64,
    /// Serialises catch-ups, rebuilds and commits.
    sync: tokio::sync::Mutex<()>,
    /// Counts this process's writes ([`Search::note_write`]).
    writes: AtomicU64,
    /// Every write counted up to here is applied to the index.
    writes_indexed: AtomicU64,
    /// Wakes the follower after a write.
    wake: Arc<tokio::sync::Notify>,
    healthy: AtomicBool,
    options: SearchOptions,
}

impl std::fmt::Debug for Search {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Search")
            .field("applied", &self.applied)
            .finish_non_exhaustive()
    }
}

impl Search {
    /// Opens the index, then brings it level with the database: a missing, damaged, foreign or
    /// too-old index is rebuilt; an index that is merely behind replays the feed.
    pub async fn open(store: Arc<dyn Store>, options: SearchOptions) -> Result<Arc<Search>> {
        let feed = store.feed_state().await?;
        let dir = options.dir.clone();
        let index = IndexThread::start(!options.foreground)?;
        let (engine, opened) = index.run(move || Engine::open(dir.as_deref())).await?;
        let search = Arc::new(Search {
            engine: Arc::new(engine),
            index,
            store,
            feed_id: feed.feed_id.clone(),
            applied: AtomicI64::new(0),
            committed: AtomicI64::new(0),
            sync: tokio::sync::Mutex::new(()),
            writes: AtomicU64::new(0),
            writes_indexed: AtomicU64::new(0),
            wake: Arc::new(tokio::sync::Notify::new()),
            healthy: AtomicBool::new(true),
            options,
        });
        let dir = search.options.dir.as_ref().map(|d| d.display().to_string());
        let rebuild_because = match opened {
            _ if search.options.force_rebuild => Some("requested".to_string()),
            Opened::Created if search.options.dir.is_none() => Some("in-memory index".to_string()),
            Opened::Created => Some("no index yet".to_string()),
            Opened::Replaced { reason } => {
                tracing::warn!(dir, %reason, "search index unusable; replacing it");
                Some(format!("the old index was unusable ({reason})"))
            }
            Opened::Existing(None) => Some("the index records no feed position".to_string()),
            Opened::Existing(Some(p)) if p.feed_id != feed.feed_id => {
                Some("the index was built from another database".to_string())
            }
            Opened::Existing(Some(p)) if p.seq > feed.last_seq => Some(format!(
                "the index (change {}) is ahead of the database (change {}): restored backup?",
                p.seq, feed.last_seq
            )),
            Opened::Existing(Some(p)) if p.seq < feed.pruned_through => Some(format!(
                "the index (change {}) is older than the retained change feed (from {})",
                p.seq, feed.pruned_through
            )),
            Opened::Existing(Some(p)) => {
                search.applied.store(p.seq, Ordering::SeqCst);
                search.committed.store(p.seq, Ordering::SeqCst);
                None
            }
        };
        match rebuild_because {
            Some(reason) => {
                let started = Instant::now();
                let n = search.rebuild().await?;
                tracing::info!(dir, %reason, docs = n, ms = started.elapsed().as_millis() as u64,
                    "rebuilt the search index from the database");
            }
            None => {
                let from = search.applied.load(Ordering::SeqCst);
                let behind = feed.last_seq - from;
                if behind > 0 {
                    let a = search.catch_up().await?;
                    tracing::info!(
                        dir,
                        from,
                        to = feed.last_seq,
                        changes = behind,
                        docs = a.docs,
                        "search index was behind the database; replayed the change feed"
                    );
                } else {
                    tracing::info!(dir, at = from, "search index is up to date");
                }
            }
        }
        Ok(search)
    }

    /// Runs index work on the index thread.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let engine = self.engine.clone();
        self.index.run(move || f(&engine)).await
    }

    /// The engine, for callers that search directly.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Searches one KB (see [`Engine::search`]).
    pub fn query(&self, req: &SearchRequest) -> Result<SearchResults> {
        self.engine.search(req)
    }

    /// Searches one KB's published passages (see [`Engine::search_passages`]).
    pub fn passages(&self, req: &crate::PassageRequest) -> Result<Vec<crate::PassageHit>> {
        self.engine.search_passages(req)
    }

    /// The feed position the index reflects.
    pub fn applied_seq(&self) -> i64 {
        self.applied.load(Ordering::SeqCst)
    }

    /// Whether the last attempt to update the index succeeded.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::SeqCst)
    }

    /// Rebuilds the index from the database; returns the number of documents indexed.
    pub async fn rebuild(&self) -> Result<u64> {
        let guard = self.sync.lock().await;
        let n = self.rebuild_locked().await;
        drop(guard);
        let n = n?;
        self.catch_up().await?;
        Ok(n)
    }

    async fn rebuild_locked(&self) -> Result<u64> {
        // Read before scanning: anything that changes during the scan has a later `seq` and is
        // replayed afterwards.
        let start = self.store.last_change_seq().await?;
        let result = self.rebuild_from(start).await;
        if result.is_err() {
            let _ = self.blocking(|e| e.rollback()).await;
        }
        let n = result?;
        self.applied.store(start, Ordering::SeqCst);
        self.committed.store(start, Ordering::SeqCst);
        Ok(n)
    }

    async fn rebuild_from(&self, start: i64) -> Result<u64> {
        self.blocking(|e| e.clear()).await?;
        let mut n = 0u64;
        for kind in [DocKind::Article, DocKind::Faq] {
            let mut after = 0;
            loop {
                let page = self.store.scan_docs(kind, after, SCAN_BATCH).await?;
                let Some((last, _)) = page.last() else { break };
                after = *last;
                n += page.len() as u64;
                let docs: Vec<_> = page.into_iter().map(|(_, d)| d).collect();
                self.blocking(move |e| e.upsert(&docs)).await?;
            }
        }
        let position = Position {
            feed_id: self.feed_id.clone(),
            seq: start,
        };
        self.blocking(move |e| e.commit(&position)).await?;
        Ok(n)
    }

    /// Records that this process has just committed a write to the database. The write is not
    /// indexed here: the follower indexes it within [`LOCAL_WRITE_GATHER`], together with
    /// whatever else was written meanwhile, and any search that starts before then indexes it
    /// first ([`Search::ensure_current`]). Writers so never wait for an index commit, and a
    /// burst of writes costs one commit, not one each. Call it after the database commit and
    /// before the write is acknowledged.
    pub fn note_write(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Brings the index level with every write this process has acknowledged (see
    /// [`Search::note_write`]); costs two atomic loads when there is none outstanding. Writes
    /// made by other processes are the follower's: they appear within its interval. Returns
    /// what was applied, if anything was.
    pub async fn ensure_current(&self) -> Result<Option<Applied>> {
        if self.writes_indexed.load(Ordering::SeqCst) >= self.writes.load(Ordering::SeqCst) {
            return Ok(None);
        }
        self.catch_up().await.map(Some)
    }

    /// Applies every change committed to the database so far. Concurrent callers share one
    /// catch-up: whoever gets the lock applies what everyone before it wrote.
    pub async fn catch_up(&self) -> Result<Applied> {
        // Every write counted before this load committed before it, so before the feed position
        // that the catch-up reads next: once it succeeds, they are all applied.
        let writes = self.writes.load(Ordering::SeqCst);
        let result = self.catch_up_inner().await;
        self.healthy.store(result.is_ok(), Ordering::SeqCst);
        if result.is_ok() {
            self.writes_indexed.fetch_max(writes, Ordering::SeqCst);
        }
        result
    }

    async fn catch_up_inner(&self) -> Result<Applied> {
        let target = self.store.last_change_seq().await?;
        if self.applied.load(Ordering::SeqCst) >= target {
            return Ok(Applied::default());
        }
        let _guard = self.sync.lock().await;
        let mut at = self.applied.load(Ordering::SeqCst);
        if at >= target {
            return Ok(Applied::default());
        }
        let feed = self.store.feed_state().await?;
        if at < feed.pruned_through {
            tracing::warn!(
                at,
                pruned_through = feed.pruned_through,
                "search index fell behind the retained change feed; rebuilding"
            );
            self.rebuild_locked().await?;
            return Ok(Applied {
                rebuilt: true,
                ..Applied::default()
            });
        }
        let mut applied = Applied::default();
        let mut articles = HashSet::new();
        let mut faqs = HashSet::new();
        loop {
            let batch = self.store.changes_since(at, FEED_BATCH).await?;
            for c in &batch {
                at = c.seq;
                if let Some(kb) = &c.kb_id {
                    // `seq` only grows along the feed: the last one is the highest.
                    applied.kbs.insert(kb.clone(), c.seq);
                }
                match c.entity {
                    Entity::Article => {
                        articles.insert(c.entity_id.clone());
                    }
                    Entity::Faq => {
                        faqs.insert(c.entity_id.clone());
                    }
                    Entity::Project => {
                        applied.projects.insert(c.project_id.clone());
                    }
                    Entity::ApiKey => applied.api_keys = true,
                    Entity::KnowledgeBase | Entity::SiteKey => {
                        if let Some(kb) = &c.kb_id {
                            applied.kb_access.insert(kb.clone());
                        }
                    }
                    Entity::Category
                    | Entity::Section
                    | Entity::Source
                    | Entity::Update
                    | Entity::Thread => {}
                }
            }
            if (batch.len() as i64) < FEED_BATCH {
                break;
            }
        }
        applied.docs = articles.len() + faqs.len();
        if applied.docs > 0 {
            let articles: Vec<String> = articles.into_iter().collect();
            let faqs: Vec<String> = faqs.into_iter().collect();
            let docs = self.store.index_docs(&articles, &faqs).await?;
            let present: HashSet<&str> = docs.iter().map(|d| d.id()).collect();
            let gone: Vec<String> = articles
                .iter()
                .chain(&faqs)
                .filter(|id| !present.contains(id.as_str()))
                .cloned()
                .collect();
            let position = Position {
                feed_id: self.feed_id.clone(),
                seq: at,
            };
            let result = self
                .blocking(move |e| {
                    e.delete(&gone);
                    e.upsert(&docs)?;
                    e.commit(&position)
                })
                .await;
            if let Err(e) = result {
                let _ = self.blocking(|e| e.rollback()).await;
                return Err(e);
            }
            self.committed.store(at, Ordering::SeqCst);
        }
        self.applied.store(at, Ordering::SeqCst);
        Ok(applied)
    }

    /// Commits the applied position if it ran ahead of the last commit (changes that touched
    /// no article or FAQ advance it without a commit), so a restart replays less.
    pub async fn flush(&self) -> Result<()> {
        let _guard = self.sync.lock().await;
        let at = self.applied.load(Ordering::SeqCst);
        if at <= self.committed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let position = Position {
            feed_id: self.feed_id.clone(),
            seq: at,
        };
        self.blocking(move |e| e.commit(&position)).await?;
        self.committed.store(at, Ordering::SeqCst);
        Ok(())
    }

    /// Follows the feed in the background: every `every`, applies what other processes (the
    /// CLI, other nodes) committed and reports it to `on_applied`; [`LOCAL_WRITE_GATHER`] after
    /// a write of this process, indexes it (and everything written meanwhile); also flushes the
    /// position and prunes old changes. Stops when the last other reference to `self` is
    /// dropped.
    pub fn spawn_follower(
        self: &Arc<Self>,
        every: Duration,
        on_applied: impl Fn(&Applied) + Send + Sync + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Search> = Arc::downgrade(self);
        let wake = self.wake.clone();
        tokio::spawn(async move {
            let mut last_flush = Instant::now();
            let mut last_prune: Option<Instant> = None;
            let mut failing = false;
            loop {
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    () = wake.notified() => tokio::time::sleep(LOCAL_WRITE_GATHER).await,
                }
                let Some(search) = weak.upgrade() else { return };
                match search.catch_up().await {
                    Ok(a) => {
                        if failing {
                            tracing::info!("search index is following the database again");
                            failing = false;
                        }
                        if !a.is_empty() {
                            on_applied(&a);
                        }
                    }
                    Err(e) => {
                        if !failing {
                            tracing::error!(error = %e, "cannot update the search index; retrying");
                            failing = true;
                        }
                        continue;
                    }
                }
                if last_flush.elapsed() >= POSITION_FLUSH {
                    last_flush = Instant::now();
                    if let Err(e) = search.flush().await {
                        tracing::warn!(error = %e, "cannot commit the search index position");
                    }
                }
                if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                    last_prune = Some(Instant::now());
                    search.prune().await;
                }
            }
        })
    }

    async fn prune(&self) {
        let cutoff = tome_core::time::format_unix(
            tome_core::time::unix_now() - self.options.change_retention.as_secs() as i64,
        );
        match self.store.prune_changes(&cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, before = %cutoff, "pruned the change feed"),
            Err(e) => tracing::warn!(error = %e, "cannot prune the change feed"),
        }
    }
}
