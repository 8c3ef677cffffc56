//! `tome serve`: bootstrap, then serve HTTP until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use tome_core::keys::{self, KeyKind};
use tome_http::metrics::Metrics;
use tome_http::ratelimit::{MemoryRateLimiter, RateLimiter, RedisRateLimiter};
use tome_http::{AppState, HttpConfig};

use crate::cli::DbArgs;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TOME_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// How clients reach this server, for `public_url` (default: http://LISTEN).
    #[arg(long, env = "TOME_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// A dedicated host for hosted help centres, e.g. https://help.example.com.
    #[arg(long, env = "TOME_HOSTED_URL")]
    pub hosted_url: Option<String>,
    /// Requests per minute per admin key.
    #[arg(long, env = "TOME_ADMIN_RATE_LIMIT", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub admin_rate_limit: u64,
    /// Requests per minute per assistant key.
    #[arg(long, env = "TOME_ASSISTANT_RATE_LIMIT", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub assistant_rate_limit: u64,
    /// Proxies (IPs or CIDR ranges, comma-separated) whose X-Forwarded-For is trusted for the
    /// client address that public rate limits count.
    #[arg(long, env = "TOME_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<tome_http::client_ip::IpRange>,
    /// Hosted help-centre page requests per minute per client address.
    #[arg(long, env = "TOME_HOSTED_RATE_LIMIT", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub hosted_rate_limit: u64,
    /// Memory for cached public responses, in MiB.
    #[arg(long, env = "TOME_CACHE_SIZE_MB", default_value_t = 64)]
    pub cache_size_mb: u64,
    /// Redis for state shared by several nodes (rate limits), e.g. redis://127.0.0.1:6379.
    #[arg(long, env = "TOME_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Require `Authorization: Bearer TOKEN` on /metrics.
    #[arg(long, env = "TOME_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Threads serving HTTP, each with its own event loop (default: one per CPU).
    #[arg(long, env = "TOME_HTTP_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    pub http_threads: Option<u16>,
    /// Seconds a request head may take to arrive, from its first byte; then the connection closes.
    #[arg(long, env = "TOME_HEADER_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Seconds a request body may take to arrive once its head has; then 408 and close.
    #[arg(long, env = "TOME_BODY_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub body_timeout: u64,
    /// Whether Tome's own HTTP/1.1 loop answers the common requests (`off`: hyper reads
    /// every connection).
    #[arg(long, env = "TOME_HTTP_FAST_PATH", default_value = "on")]
    pub http_fast_path: Switch,
    /// Log format.
    #[arg(long, env = "TOME_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// Days the change feed keeps its rows; a search index (or node) away for longer rebuilds.
    #[arg(long, env = "TOME_CHANGE_RETENTION_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..))]
    pub change_retention_days: u64,
    /// Whether this node runs update jobs (docs-as-code). Every node can queue them; at least
    /// one must run them.
    #[arg(long, env = "TOME_SYNC_RUNNER", default_value = "on")]
    pub sync_runner: Switch,
    /// Push-webhook requests allowed per client address per minute.
    #[arg(long, env = "TOME_WEBHOOK_RATE_LIMIT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_rate_limit: u64,
    #[command(flatten)]
    pub sync: crate::update::SyncArgs,
    #[command(flatten)]
    pub assistant: AssistantArgs,
}

/// The assistant's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct AssistantArgs {
    /// An OpenAI-compatible chat-completions endpoint for generated answers, e.g.
    /// https://api.openai.com/v1 or http://127.0.0.1:11434/v1 (without it, answers are quoted
    /// from the documentation, with no model and no network). The key is read from
    /// TOME_LLM_API_KEY.
    #[arg(long, env = "TOME_LLM_URL")]
    pub llm_url: Option<String>,
    /// The model to ask (required with --llm-url).
    #[arg(long, env = "TOME_LLM_MODEL", requires = "llm_url")]
    pub llm_model: Option<String>,
    /// Seconds to wait for the model's first token before answering without it.
    #[arg(long, env = "TOME_LLM_FIRST_TOKEN_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub llm_first_token_timeout: u64,
    /// Seconds a whole generated answer may take.
    #[arg(long, env = "TOME_LLM_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub llm_timeout: u64,
    /// Documentation-search score (0–1) below which a passage is not relevant enough to answer
    /// from; with none above it, the assistant says the docs do not cover the question.
    #[arg(long, env = "TOME_ASSISTANT_MIN_SCORE", default_value_t = tome_http::state::AssistantConfig::default().min_score)]
    pub assistant_min_score: f32,
    /// Share (0–1) of a question's content words that a passage must contain to be quoted in
    /// an answer; with no such passage, the assistant says the docs do not cover the question.
    #[arg(long, env = "TOME_ASSISTANT_MIN_COVERAGE", default_value_t = tome_http::state::AssistantConfig::default().min_coverage)]
    pub assistant_min_coverage: f32,
    /// Credits charged per answered assistant message (0: free).
    #[arg(long, env = "TOME_ASSISTANT_MESSAGE_CREDITS", default_value_t = tome_core::credits::ASSISTANT_MESSAGE_CREDITS, value_parser = clap::value_parser!(i64).range(0..=1000))]
    pub assistant_message_credits: i64,
    /// Assistant messages per minute per client address for browsers: site-key callers of the
    /// message endpoints and visitors asking in a hosted help centre.
    #[arg(long, env = "TOME_ASSISTANT_CLIENT_RATE_LIMIT", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub assistant_client_rate_limit: u64,
    /// Days an assistant conversation is kept after its last message.
    #[arg(long, env = "TOME_ASSISTANT_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u64).range(1..))]
    pub assistant_retention_days: u64,
}

impl AssistantArgs {
    /// The assistant's settings, with its model endpoint when one is configured.
    pub fn config(&self) -> Result<tome_http::state::AssistantConfig> {
        if !(0.0..=1.0).contains(&self.assistant_min_score) {
            anyhow::bail!("--assistant-min-score must be between 0 and 1");
        }
        if !(0.0..=1.0).contains(&self.assistant_min_coverage) {
            anyhow::bail!("--assistant-min-coverage must be between 0 and 1");
        }
        let model = match &self.llm_url {
            None => None,
            Some(url) => {
                let Some(model) = self.llm_model.clone() else {
                    anyhow::bail!("--llm-url needs --llm-model");
                };
                let api_key = std::env::var("TOME_LLM_API_KEY")
                    .ok()
                    .filter(|k| !k.is_empty());
                Some(
                    tome_assistant::provider::Provider::new(
                        tome_assistant::provider::ProviderConfig {
                            url: url.clone(),
                            model,
                            api_key,
                            connect_timeout: std::time::Duration::from_secs(5),
                            first_token_timeout: std::time::Duration::from_secs(
                                self.llm_first_token_timeout,
                            ),
                            idle_timeout: std::time::Duration::from_secs(
                                self.llm_first_token_timeout,
                            ),
                            total_timeout: std::time::Duration::from_secs(self.llm_timeout),
                        },
                    )
                    .context("bad --llm-url")?,
                )
            }
        };
        Ok(tome_http::state::AssistantConfig {
            model,
            min_score: self.assistant_min_score,
            min_coverage: self.assistant_min_coverage,
            client_message_limit: self.assistant_client_rate_limit,
            message_credits: self.assistant_message_credits,
            retention_days: self.assistant_retention_days,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn init_logging(format: LogFormat) {
    // rmcp logs two INFO lines for every stateless MCP request ("input stream terminated",
    // "serve finished"): noise at best, and writing them cost ~30% of an MCP call's server CPU
    // (bench/README.md, "MCP").
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOME_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn,rmcp=warn")
    });
    // Colour only for a person at a terminal: in a file, a pipe or a journal the escape codes
    // are noise (and `NO_COLOR`, https://no-color.org, turns them off there too).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Turns transparent huge pages off for this process (and its children).
///
/// The allocator asks for huge pages on its arenas, so with THP the first touch of every 2 MiB of
/// heap has the kernel zero 2 MiB inside the request that touched it. That is the classic THP
/// latency hazard of servers (Redis, MongoDB and most databases say to turn it off): after a
/// restart, first reads took 6–20 ms instead of 1–2 ms while each thread's heap was faulted in,
/// and `clear_page_erms` under `folio_zero_user` was two thirds of the process's samples
/// (bench/README.md, "Huge pages"). Without THP the kernel zeroes 4 KiB pages as they are touched.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::warn!(error = %e, "cannot turn transparent huge pages off for this process");
    }
}

pub async fn run(db: DbArgs, args: ServeArgs) -> Result<()> {
    init_logging(args.log_format);
    disable_transparent_huge_pages();
    let store = db.open().await?;

    let admin_key = keys::generate_api_key(KeyKind::Admin);
    if let Some(boot) = store
        .bootstrap(&admin_key)
        .await
        .context("bootstrapping the database")?
    {
        // Printed once, on the first start against an empty database, so a newcomer can call the
        // API right away. Only its hash is stored.
        println!(
            "Created project \"default\" ({}) and its first admin key. It is shown only once:\n\n    {}\n",
            boot.project.id, admin_key.plaintext
        );
    }

    let config = HttpConfig {
        admin_rate_limit: args.admin_rate_limit,
        assistant_rate_limit: args.assistant_rate_limit,
        base_url: args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", args.listen)),
        hosted_url: args.hosted_url.clone(),
        trusted_proxies: args.trusted_proxies.clone(),
        cache_bytes: args.cache_size_mb.saturating_mul(1024 * 1024),
        metrics_token: args.metrics_token.clone(),
        hosted_rate_limit: args.hosted_rate_limit,
        sync_allow_local: args.sync.sync_allow_local,
        sync_allow_private: args.sync.sync_allow_private,
        webhook_rate_limit: args.webhook_rate_limit,
        assistant: args.assistant.config()?,
        ..HttpConfig::default()
    };
    let search_dir = db.search_dir();
    let search = tome_search::Search::open(
        store.clone(),
        tome_search::SearchOptions {
            dir: Some(search_dir.clone()),
            change_retention: std::time::Duration::from_secs(args.change_retention_days * 86_400),
            force_rebuild: false,
            foreground: false,
        },
    )
    .await
    .with_context(|| format!("opening the search index in {}", search_dir.display()))?;
    // Large cached bodies go out with `sendfile` from unnamed files on the node's own disk.
    tome_http::cache::BodyFile::keep_in(&search_dir);
    let metrics = Arc::new(Metrics::new());
    let limiter: Arc<dyn RateLimiter> = match &args.redis_url {
        Some(url) => {
            tracing::info!("rate limits are shared through redis");
            Arc::new(
                RedisRateLimiter::new(url, metrics.clone())
                    .context("bad --redis-url (expected redis://HOST:PORT)")?,
            )
        }
        None => Arc::new(MemoryRateLimiter::new()),
    };
    let mut state =
        AppState::assemble(store.clone(), limiter, config, search.clone(), metrics).await?;
    {
        // Assistant conversations older than the retention period go, hourly.
        let store = store.clone();
        let days = args.assistant.assistant_retention_days;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tick.tick().await;
                let cutoff = tome_core::time::iso_millis(
                    tome_core::time::unix_millis_now() - (days as i64) * 86_400_000,
                );
                match store.prune_threads(&cutoff).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(threads = n, before = %cutoff, "pruned assistant conversations")
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot prune assistant conversations"),
                }
            }
        });
    }
    if args.sync_runner == Switch::On {
        // Git sources need the git program (2.37 or later); say so now rather than at the first
        // update. Folder sources and the rest of the server work without it.
        match tome_sync::git::check_git(&args.sync.git_options()).await {
            Ok(version) => tracing::debug!(%version, "git found for update jobs"),
            Err(e) => tracing::warn!(error = %e, "updates from git sources will fail"),
        }
        let follower = search.clone();
        let runner = args.sync.runner(
            store.clone(),
            &db,
            args.hosted_url.clone(),
            // This node's index and caches catch up at once; the change feed carries the update
            // to the other nodes.
            Arc::new(move || follower.note_write()),
        );
        runner.spawn();
        state = state.with_runner(runner);
    }
    let extra = tome_mcp::routes(&state).merge(tome_dashboard::routes());
    let app = tome_http::service_with(state, extra);

    // Before the port accepts anything: a SIGTERM sent the moment it does is a graceful shutdown,
    // not the signal's default (an abrupt exit).
    let shutdown = shutdown_signal();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let threads = args.http_threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        usize::from,
    );
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let options = tome_http::server::ServeOptions {
        header_timeout: std::time::Duration::from_secs(args.header_timeout),
        body_timeout: std::time::Duration::from_secs(args.body_timeout),
        fast_path: args.http_fast_path == Switch::On,
        ..tome_http::server::ServeOptions::default()
    };
    let mut http =
        tome_http::server::spawn_threads(listener.into_std()?, app, options, threads, stopping)
            .context("starting the HTTP threads")?;
    tracing::info!(addr = %addr, threads, fast_path = options.fast_path, "Tome is listening");
    shutdown.await;
    let _ = stop.send(true);
    http.stopped().await;
    // Indexes the last writes and saves replaying the feed on the next start; nothing is lost
    // without it.
    if let Err(e) = search.catch_up().await {
        tracing::warn!(error = %e, "cannot bring the search index up to date");
    }
    if let Err(e) = search.flush().await {
        tracing::warn!(error = %e, "cannot commit the search index position");
    }
    http.join().await;
    // In-flight requests have finished; every acknowledged write is already committed.
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Resolves at Ctrl-C or SIGTERM. The handlers are installed when this is called, not when it is
/// first awaited.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let listen = |kind: tokio::signal::unix::SignalKind, name: &'static str| {
        let signal = tokio::signal::unix::signal(kind);
        async move {
            match signal {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for {name}");
                    std::future::pending::<()>().await;
                }
            }
        }
    };
    #[cfg(unix)]
    let (ctrl_c, term) = (
        listen(tokio::signal::unix::SignalKind::interrupt(), "Ctrl-C"),
        listen(tokio::signal::unix::SignalKind::terminate(), "SIGTERM"),
    );
    #[cfg(not(unix))]
    let (ctrl_c, term) = (
        async {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %e, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        },
        std::future::pending::<()>(),
    );
    async move {
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
    }
}
