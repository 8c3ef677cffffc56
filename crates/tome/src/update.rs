//! Docs-as-code on the command line: the update runner's settings (shared by `tome serve` and
//! `tome update`) and `tome update`, which queues an update and, with `--wait`, runs it (unless
//! a server takes it first) and follows it to its end.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::json;
use tome_core::source::{UpdateJob, UpdateStatus, UpdateTrigger};
use tome_store::{Store, StoreError, UpdateClaim};
use tome_sync::git::GitOptions;
use tome_sync::runner::{Runner, RunnerConfig};

use crate::cli::DbArgs;

/// How updates fetch and run.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// Allow sources on loopback, link-local and private addresses (refused by default: a
    /// source URL must not reach into the server's own network).
    #[arg(long, env = "TOME_SYNC_ALLOW_PRIVATE")]
    pub sync_allow_private: bool,
    /// Allow `folder` sources and `file://` URLs (folders on this server).
    #[arg(long, env = "TOME_SYNC_ALLOW_LOCAL")]
    pub sync_allow_local: bool,
    /// Seconds a fetch may take before the update fails.
    #[arg(long, env = "TOME_SYNC_FETCH_TIMEOUT", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub sync_fetch_timeout: u64,
    /// Largest repository (its fetched objects), in MiB.
    #[arg(long, env = "TOME_SYNC_MAX_REPO_MB", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub sync_max_repo_mb: u64,
    /// Seconds a running update's node keeps it without renewing; after that (a node that
    /// died) another node runs it again.
    #[arg(long, env = "TOME_SYNC_LEASE", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub sync_lease: u64,
}

impl SyncArgs {
    pub fn git_options(&self) -> GitOptions {
        GitOptions {
            fetch_timeout: Duration::from_secs(self.sync_fetch_timeout),
            allow_private: self.sync_allow_private,
            allow_local: self.sync_allow_local,
            max_repo_bytes: self.sync_max_repo_mb.saturating_mul(1024 * 1024),
            ..GitOptions::default()
        }
    }

    /// This process's runner.
    pub fn runner(
        &self,
        store: Arc<dyn Store>,
        db: &DbArgs,
        hosted_url: Option<String>,
        on_applied: Arc<dyn Fn() + Send + Sync>,
    ) -> Arc<Runner> {
        let git = self.git_options();
        Runner::new(
            store,
            RunnerConfig {
                node: tome_sync::runner::node_name(),
                lease: Duration::from_secs(self.sync_lease),
                work_root: db.sources_dir(),
                git,
                allow_local: self.sync_allow_local,
                page_root: Arc::new(move |slug| tome_http::page_root(hosted_url.as_deref(), slug)),
                on_applied,
            },
        )
    }
}

/// `tome update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The project (`prj_…`).
    #[arg(long)]
    pub project: String,
    /// Only this knowledge base (default: every one of the project with a source).
    #[arg(long)]
    pub kb: Option<String>,
    /// Run the update here (unless a running server takes it first) and follow it to its end;
    /// exits non-zero when it fails.
    #[arg(long)]
    pub wait: bool,
    /// The help centre's dedicated host, as `tome serve --hosted-url` has it (links between
    /// pages are written to hosted URLs).
    #[arg(long, env = "TOME_HOSTED_URL")]
    pub hosted_url: Option<String>,
    #[command(flatten)]
    pub sync: SyncArgs,
}

pub async fn run(db: DbArgs, args: UpdateArgs, as_json: bool) -> Result<()> {
    let store = db.open().await?;
    store
        .get_project(&args.project)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => anyhow::anyhow!("project {} not found", args.project),
            other => anyhow::Error::new(other),
        })?;
    let kbs = match &args.kb {
        Some(kb) => vec![kb.clone()],
        None => tome_sync::runner::sourced_kbs(&*store, &args.project).await?,
    };
    if kbs.is_empty() {
        bail!(
            "no knowledge base of project {} has a source; set one with PUT /v1/kb/KB_ID/source",
            args.project
        );
    }
    let mut jobs = Vec::new();
    for kb in &kbs {
        let (job, _) = store
            .enqueue_update(&args.project, kb, UpdateTrigger::Internal)
            .await
            .map_err(|e| match e {
                StoreError::NotFound(entity) => {
                    anyhow::anyhow!("knowledge base {kb}: {} not found", entity.label())
                }
                other => anyhow::Error::new(other),
            })?;
        if !as_json {
            println!("Queued update {} of {kb}.", job.id);
        }
        jobs.push(job);
    }
    if !args.wait {
        if as_json {
            let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
            println!("{}", json!({"statusIds": ids}));
        }
        return Ok(());
    }

    let runner = args
        .sync
        .runner(store.clone(), &db, args.hosted_url.clone(), Arc::new(|| {}));
    let mut finished = Vec::new();
    let mut failed = false;
    for job in jobs {
        let done = follow(&*store, &runner, &job, as_json).await?;
        failed |= done.status == UpdateStatus::Failure;
        finished.push(done);
    }
    if as_json {
        let list: Vec<serde_json::Value> = finished.iter().map(status_json).collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
    }
    if failed {
        bail!("the update failed");
    }
    Ok(())
}

/// Runs the job here if nobody has claimed it, printing its log lines as they come; returns
/// it at its end.
async fn follow(
    store: &dyn Store,
    runner: &Arc<Runner>,
    job: &UpdateJob,
    as_json: bool,
) -> Result<UpdateJob> {
    let mut here: Option<tokio::task::JoinHandle<Result<Option<UpdateJob>, StoreError>>> = None;
    let mut printed = 0;
    loop {
        if here.as_ref().is_some_and(|t| t.is_finished())
            && let Some(task) = here.take()
        {
            task.await?.context("running the update")?;
        }
        let now = store
            .get_update(&job.project_id, &job.id)
            .await
            .context("reading the update's status")?;
        if !as_json {
            for line in now.logs.iter().skip(printed) {
                println!("  {line}");
            }
        }
        printed = printed.max(now.logs.len());
        if now.status.is_final() {
            if !as_json {
                println!("{} {}: {}", now.id, now.status.as_str(), now.summary);
            }
            return Ok(now);
        }
        if here.is_none() {
            // Run it here unless a live server has it. A job that a dead process left running
            // (this one, or another of the same KB, which blocks it) is claimable once its lease
            // expires: `Any` takes it, and this one after it.
            let runner = runner.clone();
            let id = job.id.clone();
            here = Some(tokio::spawn(async move {
                match runner.run_next(UpdateClaim::Job(&id)).await? {
                    Some(done) => Ok(Some(done)),
                    None => runner.run_next(UpdateClaim::Any).await,
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn status_json(j: &UpdateJob) -> serde_json::Value {
    let commit = j.commit.clone().unwrap_or_default();
    json!({
        "_id": j.id, "projectId": j.project_id, "kbId": j.kb_id, "status": j.status.as_str(),
        "summary": j.summary, "logs": j.logs, "createdAt": j.created_at, "endedAt": j.ended_at,
        "subdomain": j.kb_slug, "author": j.author.clone().unwrap_or_default(),
        "commit": commit, "source": j.trigger.as_str(),
    })
}
