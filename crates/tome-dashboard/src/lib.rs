//! Tome's dashboard: `/dashboard` on the main address, server-rendered pages to manage a project
//! from a browser.
//!
//! Sign-in takes an admin key and makes a server-side session ([`session`]). Every page reads
//! and writes through the same application code as the REST API — the `Store`, the input types
//! and validation of `tome-core`, the search engine, Tome's own renderer and sanitiser — and
//! calls [`tome_http::AppState::after_write`] after a write, as the API's write layer does; it
//! never calls the API over the network. Every state-changing request is a POST checked by
//! [`guard::Posted`] (same origin, live session, CSRF token). Templates are minijinja with HTML
//! autoescape; assets are embedded; the policy allows no inline script.

// A refusal is a finished `Response`, as axum's own extractors return: boxing it buys nothing.
#![allow(clippy::result_large_err)]

pub mod assets;
pub mod guard;
pub mod pages;
pub mod session;
pub mod view;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{any, get, post};
use tome_http::AppState;

use crate::pages::{auth, overview};

/// The dashboard's routes, to merge into the application router (`tome_http::service_with`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(overview::overview))
        .route(
            "/dashboard/sign-in",
            get(auth::sign_in_page).post(auth::sign_in),
        )
        .route("/dashboard/sign-out", post(auth::sign_out))
        .merge(pages::content::routes())
        .merge(pages::kbs::routes())
        .merge(pages::site_key::routes())
        .merge(pages::keys::routes())
        .merge(pages::project::routes())
        .merge(pages::sources::routes())
        .merge(pages::conversations::routes())
        .route("/dashboard/assets/{file}", get(assets::serve))
        .route("/dashboard/{*rest}", any(not_found))
}

/// Any other path under `/dashboard`: the dashboard's own 404 page.
async fn not_found() -> Response {
    view::error_page(
        StatusCode::NOT_FOUND,
        "There is no such page in the dashboard.",
    )
}
