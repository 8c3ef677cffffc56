//! Integration tests through the HTTP surface. One binary; one module per area.
#![allow(clippy::unwrap_used)]

mod support;

mod articles;
mod auth;
mod content;
mod credits;
mod hosted;
mod kb;
mod openapi;
mod pagination;
mod public;
mod search;
mod smoke;
mod validation;
