//! Integration tests through the HTTP surface. One binary; one module per area.
#![allow(clippy::unwrap_used)]

mod support;

mod articles;
mod assistant;
mod assistant_model;
mod auth;
mod backends;
mod content;
mod credits;
mod framing;
mod hosted;
mod hosted_ask;
mod kb;
mod layering;
mod openapi;
mod ops;
mod pagination;
mod public;
mod public_cached;
mod ranking;
mod redis;
mod sanitiser;
mod search;
mod search_sync;
mod server;
mod smoke;
mod snippets;
mod sources;
mod validation;
