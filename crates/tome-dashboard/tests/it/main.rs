//! The dashboard's integration tests: HTTP requests through the real router on a real database.

mod auth;
mod content;
mod settings;
// Shared by every module; not each uses all of it.
#[allow(dead_code)]
mod support;
