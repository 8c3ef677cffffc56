//! Integration tests of the MCP endpoints through the real router (`tome_http::service_with` with
//! `tome_mcp::routes`), on both protocol revisions and both database backends. One binary; one
//! module per area.
#![allow(clippy::unwrap_used)]

mod support;

mod gate;
mod inline;
mod isolation;
mod limits;
mod parity;
mod public;
