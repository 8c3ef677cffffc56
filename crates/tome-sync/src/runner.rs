//! The update job runner: claims persisted jobs (one node of a cluster per job), fetches the
//! source, reads it in its format, plans the writes and applies them in one transaction with the
//! job's final status.
//!
//! A job holds a lease that a side task renews every third of its length, carrying the logs
//! so far; a node that dies stops renewing, and once the lease runs out another node claims the
//! job again and runs it from the start. The apply checks, inside its transaction, that the job
//! is still this node's — so a node that lost its lease (paused, partitioned) cannot write over
//! the node that took over, and a job completes exactly once.
//!
//! Everything slow runs off the request path: git in child processes, reading and planning on
//! the blocking pool.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};
use tome_core::model::KnowledgeBase;
use tome_core::source::{CommitInfo, Source, SourceKind, UpdateJob, UpdateReport, UpdateTrigger};
use tome_core::time;
use tome_store::{ClaimedUpdate, PageRequest, Store, StoreError, SyncChanges, UpdateClaim};

use crate::archive::Problem;
use crate::files::{self, Files};
use crate::git::{self, GitOptions, KnownBlobs, Remote};
use crate::{formats, planner};

/// How long a claimed job is a node's before another may take it over.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// When a running job first saves its progress (then every third of its lease).
const FIRST_SAVE: Duration = Duration::from_millis(250);
/// How often an idle runner looks for queued jobs (a trigger on this node wakes it at once).
const IDLE_POLL: Duration = Duration::from_millis(500);
/// How often due polling sources are looked for.
const POLL_CHECK: Duration = Duration::from_secs(30);
/// Most bytes of file contents the runner keeps between updates (see `Runner::blobs`); past it
/// the kept trees are dropped, and a tree larger than this is not kept.
const BLOB_MEMORY: usize = 64 * 1024 * 1024;
/// Problems listed in a failed update's logs before the rest are counted.
const PROBLEMS_LOGGED: usize = 200;

/// Options of the runner.
#[derive(Clone)]
pub struct RunnerConfig {
    /// This node's name in leases (unique per process).
    pub node: String,
    pub lease: Duration,
    /// Where work copies live (`<data-dir>/sources`): derived data, re-creatable.
    pub work_root: PathBuf,
    pub git: GitOptions,
    /// Whether `folder` sources (and `file://` URLs) may be used.
    pub allow_local: bool,
    /// The hosted root of a KB's pages from its slug, for links between pages.
    pub page_root: Arc<dyn Fn(&str) -> String + Send + Sync>,
    /// Called on this node after an update has written content, so its search index and caches
    /// follow at once (other nodes follow the change feed).
    pub on_applied: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for RunnerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerConfig")
            .field("node", &self.node)
            .field("lease", &self.lease)
            .field("work_root", &self.work_root)
            .field("allow_local", &self.allow_local)
            .finish_non_exhaustive()
    }
}

/// A unique node name: host name, process ID and a random suffix.
pub fn node_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    format!(
        "{}:{}:{}",
        if host.is_empty() { "tome" } else { &host },
        std::process::id(),
        tome_core::id::random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 6)
    )
}

pub struct Runner {
    store: Arc<dyn Store>,
    cfg: RunnerConfig,
    wake: Notify,
    /// This node runs one job at a time: the loop of [`Runner::spawn`] holds this while it
    /// claims and runs a job, and so does a job claimed as it was queued ([`Runner::enqueue`]).
    slot: Arc<Semaphore>,
    /// Per KB, the file contents of the last tree read, by blob ID: the next update of the KB
    /// reads only the files whose blobs are new (a one-file commit reads one file).
    blobs: Mutex<HashMap<String, Arc<KnownBlobs>>>,
    /// Per KB, the commit this node last made it equal to and the KB's `updated_at` it read
    /// then: an exact "settings unchanged since" where the timestamps' one-second resolution
    /// cannot tell (an update in the same second as the KB's last change).
    synced: Mutex<HashMap<String, (String, String)>>,
}

impl Runner {
    pub fn new(store: Arc<dyn Store>, cfg: RunnerConfig) -> Arc<Self> {
        Arc::new(Runner {
            store,
            cfg,
            wake: Notify::new(),
            slot: Arc::new(Semaphore::new(1)),
            blobs: Mutex::new(HashMap::new()),
            synced: Mutex::new(HashMap::new()),
        })
    }

    /// A job was queued: look now rather than at the next idle poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Queues an update of the KB on this node's behalf (a trigger or a push received here).
    ///
    /// When this node's runner is idle, the job is created already claimed by it in the same
    /// transaction ([`SyncStore::enqueue_and_claim_update`]) and starts at once, without a
    /// second commit for the claim or a wait for the runner's loop; otherwise it is queued and
    /// the loop woken. Either way the result is the job's status ID and whether it is new, as
    /// [`SyncStore::enqueue_update`] returns them.
    ///
    /// [`SyncStore::enqueue_and_claim_update`]: tome_store::SyncStore::enqueue_and_claim_update
    /// [`SyncStore::enqueue_update`]: tome_store::SyncStore::enqueue_update
    pub async fn enqueue(
        self: &Arc<Self>,
        project_id: &str,
        kb_id: &str,
        trigger: UpdateTrigger,
    ) -> Result<(UpdateJob, bool), StoreError> {
        let Ok(permit) = self.slot.clone().try_acquire_owned() else {
            let queued = self.store.enqueue_update(project_id, kb_id, trigger).await;
            self.wake();
            return queued;
        };
        let (job, new, claimed) = self
            .store
            .enqueue_and_claim_update(
                project_id,
                kb_id,
                trigger,
                &self.cfg.node,
                self.cfg.lease.as_millis() as i64,
            )
            .await?;
        match claimed {
            Some(claimed) => {
                let this = self.clone();
                tokio::spawn(async move {
                    this.run(claimed).await;
                    drop(permit);
                    // Whatever was queued meanwhile is the loop's.
                    this.wake();
                });
            }
            None => {
                drop(permit);
                self.wake();
            }
        }
        Ok((job, new))
    }

    /// Runs jobs until the process ends: claims what is queued (or abandoned), and queues
    /// updates of sources whose poll interval has passed.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut last_poll_check = Instant::now() - POLL_CHECK;
            loop {
                if last_poll_check.elapsed() >= POLL_CHECK {
                    last_poll_check = Instant::now();
                    this.queue_due_polls().await;
                }
                let next = {
                    let Ok(_running) = this.slot.acquire().await else {
                        return;
                    };
                    this.run_next(UpdateClaim::Any).await
                };
                match next {
                    Ok(Some(_)) => continue,
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "update runner: claiming a job failed"),
                }
                let _ = tokio::time::timeout(IDLE_POLL, this.wake.notified()).await;
            }
        })
    }

    async fn queue_due_polls(&self) {
        match self.store.take_due_polls(time::unix_now()).await {
            Ok(due) => {
                for (project_id, kb_id) in due {
                    if let Err(e) = self
                        .store
                        .enqueue_update(&project_id, &kb_id, UpdateTrigger::Internal)
                        .await
                    {
                        tracing::warn!(kb_id, error = %e, "queueing a polled update failed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "looking for sources to poll failed"),
        }
    }

    /// Claims one job and runs it to its end; `None` when nothing was claimable.
    pub async fn run_next(&self, which: UpdateClaim<'_>) -> Result<Option<UpdateJob>, StoreError> {
        let Some(claimed) = self
            .store
            .claim_update(&self.cfg.node, self.cfg.lease.as_millis() as i64, which)
            .await?
        else {
            return Ok(None);
        };
        let id = claimed.job.id.clone();
        let project = claimed.job.project_id.clone();
        self.run(claimed).await;
        self.store.get_update(&project, &id).await.map(Some)
    }

    async fn run(&self, claimed: ClaimedUpdate) {
        let job = &claimed.job;
        let started = Instant::now();
        let progress = Arc::new(Mutex::new(UpdateReport {
            logs: job.logs.clone(),
            ..UpdateReport::default()
        }));
        let lost = Arc::new(AtomicBool::new(false));
        let log = |line: String| {
            let at = started.elapsed().as_secs_f64();
            if let Ok(mut p) = progress.lock() {
                p.logs.push(format!("[{at:6.2}s] {line}"));
            }
        };
        tracing::info!(update_id = %job.id, kb_id = %job.kb_id, attempt = job.attempts, "update started");
        log(format!(
            "update {} of knowledge base {} ({}), attempt {}, on node {}",
            job.id, job.kb_id, job.kb_slug, job.attempts, self.cfg.node
        ));
        // The renewer saves this first line soon (FIRST_SAVE), so the status names the node.
        let renewer = self.spawn_renewer(&job.id, progress.clone(), lost.clone());

        let outcome = self.execute(&claimed, &log, &progress, &lost).await;
        renewer.abort();
        let mut report = progress.lock().map(|p| p.clone()).unwrap_or_default();
        let result = match outcome {
            Ok(Outcome::Applied { summary }) => {
                tracing::info!(update_id = %job.id, %summary, "update succeeded");
                Ok(())
            }
            Ok(Outcome::Lost) => {
                tracing::warn!(update_id = %job.id, "update abandoned: another node took it over");
                return;
            }
            Err(message) => {
                report.logs.push(format!(
                    "[{:6.2}s] failed: {message}",
                    started.elapsed().as_secs_f64()
                ));
                report.summary = message;
                Err(())
            }
        };
        if result.is_err() {
            tracing::warn!(update_id = %job.id, summary = %report.summary, "update failed");
            if let Err(e) = self
                .store
                .fail_update(&job.id, &self.cfg.node, &report)
                .await
            {
                tracing::error!(update_id = %job.id, error = %e, "recording a failed update failed");
            }
        }
    }

    fn spawn_renewer(
        &self,
        update_id: &str,
        progress: Arc<Mutex<UpdateReport>>,
        lost: Arc<AtomicBool>,
    ) -> tokio::task::JoinHandle<()> {
        let store = self.store.clone();
        let node = self.cfg.node.clone();
        let lease = self.cfg.lease;
        let id = update_id.to_string();
        tokio::spawn(async move {
            // The first save comes soon, so a running job's status names its node and shows
            // progress early; not at once, so a job that ends within it (an update with no
            // changes) never waits for that write.
            let mut wait = FIRST_SAVE.min(lease / 3);
            loop {
                tokio::time::sleep(wait).await;
                wait = lease / 3;
                let report = progress.lock().map(|p| p.clone()).unwrap_or_default();
                match store
                    .renew_update(&id, &node, lease.as_millis() as i64, &report)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(update_id = %id, error = %e, "renewing a lease failed")
                    }
                }
            }
        })
    }

    /// Everything between the claim and the end; `Err` is the failure's one-line summary (the
    /// details are already in the logs).
    async fn execute(
        &self,
        claimed: &ClaimedUpdate,
        log: &(dyn Fn(String) + Sync),
        progress: &Mutex<UpdateReport>,
        lost: &AtomicBool,
    ) -> Result<Outcome, String> {
        let job = &claimed.job;
        let source = &claimed.source;
        let kb = self
            .store
            .get_kb(&job.project_id, &job.kb_id)
            .await
            .map_err(|e| format!("reading the knowledge base: {e}"))?;

        let (files, commit, author) = match source.kind {
            SourceKind::Git => match self.fetch_git(claimed, &kb, log).await? {
                Fetch::Files(files, commit, author) => (files, commit, author),
                Fetch::AlreadyThere(commit, author) => {
                    return self
                        .finish_unchanged(claimed, &kb.slug, commit, author, log, progress, lost)
                        .await;
                }
            },
            SourceKind::Folder => self.read_folder(source, log).await?,
        };
        if let Ok(mut p) = progress.lock() {
            p.commit = Some(commit.clone());
            p.author = author.clone();
        }
        let fc = &commit.files_changed;
        log(format!(
            "{} files read; changed since the last update: {} added, {} modified, {} removed",
            files.files.len(),
            fc.added.len(),
            fc.modified.len(),
            fc.removed.len()
        ));

        let format = source.format;
        let (format, desired) =
            tokio::task::spawn_blocking(move || formats::read(&files, format).map_err(|p| p.0))
                .await
                .map_err(|e| format!("reading the files panicked: {e}"))?
                .map_err(|problems| {
                    log_problems(log, &problems);
                    problem_summary(&problems)
                })?;
        log(format!(
            "read as {}: {} categories, {} sections, {} articles, {} FAQs",
            format.as_str(),
            desired.categories.len(),
            desired.sections.len(),
            desired.articles.len(),
            desired.faqs.len()
        ));
        for line in &desired.logs {
            log(line.clone());
        }

        let content = self
            .store
            .kb_content(&job.project_id, &job.kb_id)
            .await
            .map_err(|e| format!("reading the knowledge base: {e}"))?;
        let items = self
            .store
            .source_items(&job.project_id, &job.kb_id)
            .await
            .map_err(|e| format!("reading the knowledge base: {e}"))?;
        log(format!(
            "the knowledge base now: {} categories, {} sections, {} articles, {} FAQs, {} \
             source paths",
            content.categories.len(),
            content.sections.len(),
            content.articles.len(),
            content.faqs.len(),
            items.len()
        ));
        let page_root = (self.cfg.page_root)(&kb.slug);
        let kb_id = job.kb_id.clone();
        let sha = commit.sha.clone();
        let plan = tokio::task::spawn_blocking(move || {
            let now = time::now();
            planner::plan(
                &desired,
                &content,
                &items,
                &planner::PlanContext {
                    kb_id: &kb_id,
                    page_root: &page_root,
                    now: &now,
                    commit: Some(&sha),
                },
            )
        })
        .await
        .map_err(|e| format!("planning panicked: {e}"))?
        .map_err(|problems| {
            log_problems(log, &problems);
            problem_summary(&problems)
        })?;
        for line in &plan.logs {
            log(line.clone());
        }
        let summary = plan.summary();
        log(format!("applying: {summary}"));
        if lost.load(Ordering::SeqCst) {
            return Ok(Outcome::Lost);
        }
        // Save the progress and take a fresh lease right before the apply: lease renewals wait
        // while the apply's transaction holds the store's write lock (PostgreSQL), so without
        // this the status would not say `applying` until the apply had ended.
        let saved = progress.lock().map(|p| p.clone()).unwrap_or_default();
        match self
            .store
            .renew_update(
                &job.id,
                &self.cfg.node,
                self.cfg.lease.as_millis() as i64,
                &saved,
            )
            .await
        {
            Ok(true) => {}
            Ok(false) => return Ok(Outcome::Lost),
            Err(e) => tracing::warn!(update_id = %job.id, error = %e, "renewing a lease failed"),
        }

        let mut report = progress.lock().map(|p| p.clone()).unwrap_or_default();
        report.summary = format!("Updated {} to {}: {summary}", kb.slug, short(&commit.sha));
        report.logs.push(format!("done: {summary}"));
        match self
            .store
            .apply_update(
                &job.id,
                &self.cfg.node,
                &job.project_id,
                &job.kb_id,
                &plan.changes,
                &report,
            )
            .await
        {
            Ok(true) => {
                if plan.changes.change_count() > 0 {
                    (self.cfg.on_applied)();
                }
                self.remember_synced(&job.kb_id, &commit.sha, &kb.updated_at);
                Ok(Outcome::Applied { summary })
            }
            Ok(false) => Ok(Outcome::Lost),
            Err(StoreError::SpendingCap { cap, used, price }) => {
                let message = format!(
                    "the update's creates cost {price} credits and the project has used {used} of \
                     its {cap}-credit monthly cap; nothing was changed"
                );
                log(message.clone());
                Err(message)
            }
            Err(e) => Err(format!(
                "writing the update failed: {e}; nothing was changed"
            )),
        }
    }

    async fn fetch_git(
        &self,
        claimed: &ClaimedUpdate,
        kb: &KnowledgeBase,
        log: &(dyn Fn(String) + Sync),
    ) -> Result<Fetch, String> {
        let source = &claimed.source;
        let work = self.work_dir(&source.kb_id);
        // One git at a time in a work copy, also across processes sharing the data directory
        // (`tome update` beside `tome serve`); released when this update ends.
        let _lock = lock_work_copy(&work, self.cfg.git.fetch_timeout).await?;
        let remote = Remote {
            url: source.url.clone(),
            branch: source.branch.clone(),
            token: claimed.secrets.token.clone(),
        };
        let mut opts = self.cfg.git.clone();
        opts.allow_local = self.cfg.allow_local;
        log(format!(
            "fetching {} ({})",
            source.url,
            source
                .branch
                .as_deref()
                .map_or_else(|| "default branch".to_string(), |b| format!("branch {b}"))
        ));
        // The branch may still be at the commit the KB equals: then one listing is all an
        // update needs (author and message from the update that applied it, else from the work
        // copy, which has that commit).
        let mut listed = None;
        if source.last_commit.is_some() && self.settings_unchanged(source, kb) {
            // The author and message of the commit the KB equals are looked up while the
            // remote is listed: the branch has usually not moved.
            let last = source.last_commit.as_deref().unwrap_or_default();
            let (listing, recorded) = tokio::join!(
                git::list_remote(&remote, &opts),
                self.recorded_commit(claimed, last)
            );
            let listing = listing.map_err(|e| e.to_string())?;
            let branch = listing.branch.clone();
            if let Some(tip) = listing
                .tip
                .clone()
                .filter(|t| source.last_commit.as_deref() == Some(t.as_str()))
                && let Some((author, message)) = match recorded {
                    Some(known) => Some(known),
                    None => git::commit_of(&work, &tip, &opts).await.ok(),
                }
            {
                log(format!(
                    "at commit {} by {author}: {}",
                    short(&tip),
                    message.lines().next().unwrap_or_default()
                ));
                let commit = CommitInfo {
                    sha: tip,
                    ref_name: format!("refs/heads/{branch}"),
                    message,
                    files_changed: Default::default(),
                };
                return Ok(Fetch::AlreadyThere(commit, Some(author)));
            }
            // The tip moved: fetch what was just listed, without listing again.
            listed = Some(listing);
        }
        let fetched = match listed {
            Some(listing) => git::fetch_listed(&work, &remote, &opts, listing).await,
            None => git::fetch(&work, &remote, &opts).await,
        }
        .map_err(|e| e.to_string())?;
        log(format!(
            "at commit {} by {}: {}",
            short(&fetched.sha),
            fetched.author,
            fetched.message.lines().next().unwrap_or_default()
        ));
        if source.last_commit.as_deref() == Some(fetched.sha.as_str())
            && self.settings_unchanged(source, kb)
        {
            let commit = CommitInfo {
                sha: fetched.sha,
                ref_name: fetched.ref_name,
                message: fetched.message,
                files_changed: Default::default(),
            };
            return Ok(Fetch::AlreadyThere(commit, Some(fetched.author)));
        }
        // The commit the content equals may not be here (another node ran the last update):
        // fetch it, so that the files changed are exact.
        if let Some(old) = source
            .last_commit
            .as_deref()
            .filter(|old| *old != fetched.sha)
            && let Err(e) = git::fetch_commit(&work, &remote, old, &opts).await
        {
            tracing::info!(error = %e, "fetching the previous commit failed");
        }
        let changed = git::changed_files(
            &work,
            source.last_commit.as_deref(),
            &fetched.sha,
            &source.path,
            &opts,
        )
        .await
        .map_err(|e| e.to_string())?;
        if let Some(why) = &changed.all_added {
            log(why.clone());
        }
        let known = self.known_blobs(&source.kb_id);
        let tree = git::read_tree_with(
            &work,
            &fetched.sha,
            &source.path,
            &git::TreeLimits::default(),
            &opts,
            &known,
        )
        .await
        .map_err(|e| e.to_string())?;
        drop(known);
        self.remember_blobs(&source.kb_id, &tree);
        for line in tree.skipped {
            log(line);
        }
        let files = tree.files;
        let commit = CommitInfo {
            sha: fetched.sha,
            ref_name: fetched.ref_name,
            message: fetched.message,
            files_changed: changed.files,
        };
        Ok(Fetch::Files(files, commit, Some(fetched.author)))
    }

    /// Whether the KB's settings — its slug, which links between pages are written with — have
    /// not changed since its last successful update, so an update to the commit it already
    /// equals can end without reading a file: the KB's `updated_at` is strictly before
    /// `last_synced_at`, or (the same second) is the very `updated_at` this node read when it
    /// made the KB equal to that commit. Content writes other than updates are refused on a
    /// sourced KB (409 `source_managed`), and replacing the source's URL, branch, path or
    /// format forgets `last_commit`, so nothing else can have made it differ. A server whose
    /// `--hosted-url` or Tome version changed applies that with the next commit.
    fn settings_unchanged(&self, source: &Source, kb: &KnowledgeBase) -> bool {
        if source
            .last_synced_at
            .as_deref()
            .is_some_and(|synced| kb.updated_at.as_str() < synced)
        {
            return true;
        }
        let synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        synced.get(&kb.id).is_some_and(|(sha, updated_at)| {
            source.last_commit.as_deref() == Some(sha.as_str()) && *updated_at == kb.updated_at
        })
    }

    fn remember_synced(&self, kb_id: &str, sha: &str, kb_updated_at: &str) {
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        synced.insert(
            kb_id.to_string(),
            (sha.to_string(), kb_updated_at.to_string()),
        );
    }

    /// Author and message of `sha` as the KB's last successful update to it recorded them
    /// (among the project's recent updates), so a no-change update needs no git process.
    async fn recorded_commit(
        &self,
        claimed: &ClaimedUpdate,
        sha: &str,
    ) -> Option<(String, String)> {
        let job = &claimed.job;
        match self
            .store
            .applied_commit(&job.project_id, &job.kb_id, sha)
            .await
        {
            Ok(Some((Some(author), message))) => Some((author, message)),
            _ => None,
        }
    }

    /// Ends a job whose commit the knowledge base already equals (see [`Runner::settings_unchanged`]):
    /// success with no changes, the path map as it is, no file read.
    #[allow(clippy::too_many_arguments)]
    async fn finish_unchanged(
        &self,
        claimed: &ClaimedUpdate,
        kb_slug: &str,
        commit: CommitInfo,
        author: Option<String>,
        log: &(dyn Fn(String) + Sync),
        progress: &Mutex<UpdateReport>,
        lost: &AtomicBool,
    ) -> Result<Outcome, String> {
        let job = &claimed.job;
        log(format!(
            "the knowledge base already equals commit {} (updated to it on {} UTC, settings \
             unchanged since): no files read",
            short(&commit.sha),
            claimed.source.last_synced_at.as_deref().unwrap_or("?"),
        ));
        if lost.load(Ordering::SeqCst) {
            return Ok(Outcome::Lost);
        }
        let summary = "no changes".to_string();
        let mut report = progress.lock().map(|p| p.clone()).unwrap_or_default();
        report.commit = Some(commit.clone());
        report.author = author;
        report.summary = format!("Updated {kb_slug} to {}: {summary}", short(&commit.sha));
        report.logs.push(format!("done: {summary}"));
        let changes = SyncChanges {
            keep_items: true,
            commit: Some(commit.sha),
            ..SyncChanges::default()
        };
        match self
            .store
            .apply_update(
                &job.id,
                &self.cfg.node,
                &job.project_id,
                &job.kb_id,
                &changes,
                &report,
            )
            .await
        {
            Ok(true) => Ok(Outcome::Applied { summary }),
            Ok(false) => Ok(Outcome::Lost),
            Err(e) => Err(format!(
                "writing the update failed: {e}; nothing was changed"
            )),
        }
    }

    async fn read_folder(
        &self,
        source: &Source,
        log: &(dyn Fn(String) + Sync),
    ) -> Result<(Files, CommitInfo, Option<String>), String> {
        if !self.cfg.allow_local {
            return Err("folder sources are disabled on this server (--sync-allow-local)".into());
        }
        let root = PathBuf::from(&source.url).join(&source.path);
        log(format!("reading folder {}", root.display()));
        let state = self.work_dir(&source.kb_id).with_extension("folder");
        let last = source.last_commit.clone();
        let (files, changed, sha) = tokio::task::spawn_blocking(move || {
            let files = Files::read_dir(&root, &[]).map_err(|e| format!("{e:#}"))?;
            let (changed, sha) = files::diff_with_state(&files, &state, last.as_deref())?;
            Ok::<_, String>((files, changed, sha))
        })
        .await
        .map_err(|e| format!("reading the folder panicked: {e}"))??;
        let commit = CommitInfo {
            sha,
            ref_name: String::new(),
            message: String::new(),
            files_changed: changed,
        };
        Ok((files, commit, None))
    }

    /// The blobs of the KB's last tree read (none yet: empty).
    fn known_blobs(&self, kb_id: &str) -> Arc<KnownBlobs> {
        self.blobs
            .lock()
            .ok()
            .and_then(|m| m.get(kb_id).cloned())
            .unwrap_or_default()
    }

    /// Keeps the blobs of a tree just read for the KB's next update (see [`BLOB_MEMORY`]).
    fn remember_blobs(&self, kb_id: &str, tree: &git::TreeFiles) {
        let Ok(mut all) = self.blobs.lock() else {
            return;
        };
        all.remove(kb_id);
        let bytes: usize = tree.files.files.values().map(Vec::len).sum();
        if bytes > BLOB_MEMORY {
            return;
        }
        let held: usize = all
            .values()
            .map(|b| b.values().map(Vec::len).sum::<usize>())
            .sum();
        if held + bytes > BLOB_MEMORY {
            all.clear();
        }
        let known: KnownBlobs = tree
            .blobs
            .iter()
            .filter_map(|(path, object)| {
                Some((object.clone(), tree.files.files.get(path)?.clone()))
            })
            .collect();
        all.insert(kb_id.to_string(), Arc::new(known));
    }

    fn work_dir(&self, kb_id: &str) -> PathBuf {
        work_dir(&self.cfg.work_root, kb_id)
    }
}

/// The work copy of a KB's source: `<work_root>/<kb_id>.git`.
pub fn work_dir(root: &Path, kb_id: &str) -> PathBuf {
    root.join(format!("{kb_id}.git"))
}

/// What fetching a git source found.
enum Fetch {
    /// The commit's files, to read and plan.
    Files(Files, CommitInfo, Option<String>),
    /// The commit the knowledge base already equals (nothing to read).
    AlreadyThere(CommitInfo, Option<String>),
}

/// An exclusive `flock` on `<work copy>.lock`, waited for up to `wait`.
async fn lock_work_copy(work: &Path, wait: Duration) -> Result<std::fs::File, String> {
    use rustix::fs::{FlockOperation, flock};
    let path = work.with_extension("lock");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("opening {}: {e}", path.display()))?;
    let started = Instant::now();
    loop {
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(file),
            Err(rustix::io::Errno::WOULDBLOCK) if started.elapsed() < wait => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                return Err(format!(
                    "the work copy {} is busy with another update ({e})",
                    work.display()
                ));
            }
        }
    }
}

enum Outcome {
    Applied { summary: String },
    Lost,
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn log_problems(log: &(dyn Fn(String) + Sync), problems: &[Problem]) {
    for p in problems.iter().take(PROBLEMS_LOGGED) {
        log(format!("error: {p}"));
    }
    if problems.len() > PROBLEMS_LOGGED {
        log(format!(
            "… and {} more problems",
            problems.len() - PROBLEMS_LOGGED
        ));
    }
}

fn problem_summary(problems: &[Problem]) -> String {
    match problems {
        [] => "the source could not be read".into(),
        [one] => format!("{one}; nothing was changed"),
        [first, rest @ ..] => format!(
            "{first} (and {} more problems); nothing was changed",
            rest.len()
        ),
    }
}

/// Every knowledge base of the project that has a source, oldest first.
pub async fn sourced_kbs(store: &dyn Store, project_id: &str) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_kbs(project_id, None, PageRequest { limit: 100, after })
            .await?;
        for (kb, _) in &page.items {
            match store.get_source(project_id, &kb.id).await {
                Ok(_) => out.push(kb.id.clone()),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}
