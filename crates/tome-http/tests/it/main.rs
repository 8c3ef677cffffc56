//! Integration tests through the HTTP surface. One binary; one module per area.
#![allow(clippy::unwrap_used)]

mod support;

mod articles;
mod auth;
mod content;
mod credits;
mod kb;
mod openapi;
mod pagination;
mod public;
mod ranking;
mod search;
mod search_sync;
mod smoke;
mod validation;
