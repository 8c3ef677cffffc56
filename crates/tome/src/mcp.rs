//! `tome mcp`: the MCP server on stdin/stdout, against the database like the other operator
//! commands, for MCP clients that start a local command (Claude Desktop, Cursor, VS Code).
//!
//! It acts as one API key (`--key` or `TOME_API_KEY`): an admin key gets every tool, an assistant
//! key the documentation search and page. Each tool call goes through the same REST router as
//! `tome serve` answers with, in process. The search index is kept in memory, built from the
//! database at start and kept current by the change feed, so a `tome serve` running on the same
//! database keeps its own index to itself; writes made here reach that server's index and caches
//! through the change feed, as another node's would.

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use tome_http::ratelimit::{MemoryRateLimiter, RateLimiter};
use tome_http::{AppState, HttpConfig};

use crate::cli::DbArgs;

#[derive(Debug, Args)]
pub struct McpArgs {
    /// The API key the session acts as: an admin key (every tool) or an assistant key
    /// (documentation search and page only).
    #[arg(long, env = "TOME_API_KEY", hide_env_values = true)]
    pub key: String,
    /// The server's public URL, for the links tools return (hosted pages, webhooks).
    #[arg(long, env = "TOME_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The help centre's own host, when `tome serve` has `--hosted-url`.
    #[arg(long, env = "TOME_HOSTED_URL")]
    pub hosted_url: Option<String>,
    /// Requests per minute per admin key (as `tome serve --admin-rate-limit`).
    #[arg(long, default_value_t = 1000)]
    pub admin_rate_limit: u64,
    /// Requests per minute per assistant key.
    #[arg(long, default_value_t = 1000)]
    pub assistant_rate_limit: u64,
}

pub async fn run(db: DbArgs, args: McpArgs) -> Result<()> {
    // Logs go to stderr: stdout is the protocol's.
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOME_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    let store = db.open().await?;
    let config = HttpConfig {
        admin_rate_limit: args.admin_rate_limit,
        assistant_rate_limit: args.assistant_rate_limit,
        base_url: args
            .public_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_string()),
        hosted_url: args.hosted_url.clone(),
        ..HttpConfig::default()
    };
    let search = tome_search::Search::open(store.clone(), tome_search::SearchOptions::default())
        .await
        .context("building the search index")?;
    let limiter: Arc<dyn RateLimiter> = Arc::new(MemoryRateLimiter::new());
    let metrics = Arc::new(tome_http::metrics::Metrics::new());
    let state = AppState::assemble(store, limiter, config, search, metrics).await?;
    tome_mcp::serve_stdio(state, args.key.trim()).await
}
