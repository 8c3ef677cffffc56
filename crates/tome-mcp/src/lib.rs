//! Tome's MCP server (Model Context Protocol): every management operation of the REST API as a
//! tool, articles as resources, over Streamable HTTP (`/mcp`) and stdio (`tome mcp`); and a
//! read-only server per public help centre (`/hc/{slug}/mcp`).
//!
//! The protocol is the official Rust SDK's (`rmcp`): both revisions Tome speaks — the stateless
//! 2026-07-28 and the handshake of 2025-11-25 — are negotiated by it per request. What Tome adds:
//!
//! - [`catalog`]: the tools, built from the OpenAPI document (itself built from the REST input
//!   types and their validation constants), so a tool's schema is the REST operation's;
//! - [`dispatch`]: a tool call becomes the REST request it stands for and is answered by the REST
//!   router in process — the same key check, rate limit, validation, credits, `source_managed`
//!   and cache/search catch-up as the REST call, by construction;
//! - [`server`]: the MCP handler (tools, resources, resource templates);
//! - [`docs`]: documentation search and page, and the public help centre's server;
//! - [`http`]: the endpoints, their gates (origin, key, public KB, rate limit) and the OAuth
//!   protected-resource metadata;
//! - [`inline`]: stateless 2026-07-28 `tools/call` requests answered by the same rmcp handler in
//!   the request's own task, without rmcp's per-request service loop (checked against it).

pub mod catalog;
pub mod dispatch;
pub mod docs;
pub mod http;
pub mod inline;
pub mod prompts;
pub mod server;

pub use http::{routes, routes_with};
pub use server::{Shared, TomeServer};

/// Serves the management MCP server on stdin/stdout as `key`'s caller, until stdin closes.
pub async fn serve_stdio(state: tome_http::AppState, key: &str) -> anyhow::Result<()> {
    use rmcp::ServiceExt;
    let cached = state
        .public
        .api_key(state.store.as_ref(), key)
        .await?
        .filter(|c| c.key.revoked_at.is_none())
        .ok_or_else(|| anyhow::anyhow!("the key is unknown or revoked"))?;
    let shared = Shared::new(state);
    let server = TomeServer::for_caller(shared, http::stdio_identity(key, &cached));
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}
