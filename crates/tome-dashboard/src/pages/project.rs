//! The project: its allowed domains (`PUT /v1/project`'s `allowed_domains`), and what the
//! operator sets (name, credit cap) shown read-only.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use minijinja::{Value, context};
use serde_json::json;
use std::collections::BTreeMap;
use tome_core::input::ProjectInput;
use tome_core::model::Project;
use tome_http::AppState;

use crate::guard::Posted;
use crate::pages::{self, FormError};
use crate::view::{self, Dash, FlashKind, Nav};

pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard/project", get(show).post(save))
}

fn render(
    dash: &Dash,
    status: StatusCode,
    project: &Project,
    domains: &str,
    errors: Value,
) -> Response {
    dash.page_status(
        status,
        "project.html",
        "Project",
        Nav {
            section: "project",
            ..Nav::default()
        },
        context! {
            project => context! {
                id => project.id, name => project.name, credit_cap => project.credit_cap,
                created_at => project.created_at, allowed_domains => project.allowed_domains,
            },
            domains, errors,
            max => tome_core::validate::ALLOWED_DOMAINS_MAX,
        },
    )
}

/// `GET /dashboard/project`.
async fn show(State(state): State<AppState>, dash: Dash) -> Response {
    match state.store.get_project(&dash.session.project_id).await {
        Ok(p) => {
            let domains = p.allowed_domains.join("\n");
            render(&dash, StatusCode::OK, &p, &domains, context! {})
        }
        Err(e) => view::api_error_page(e.into()),
    }
}

/// The textarea's lines as the API's list: one domain a line, blank lines skipped.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// An error on `allowed_domains[i]` belongs to the textarea: said with its line and value.
fn on_textarea(e: FormError, list: &[String]) -> FormError {
    let FormError::Fields(status, map) = e else {
        return e;
    };
    let mut out = BTreeMap::new();
    for (field, message) in map {
        let item = field
            .strip_prefix("allowed_domains[")
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|i| i.parse::<usize>().ok());
        match item {
            Some(i) => {
                let value = list.get(i).map(String::as_str).unwrap_or_default();
                let reason = message
                    .strip_prefix("Allowed domains[")
                    .and_then(|m| m.split_once("] "))
                    .map_or(message.as_str(), |(_, r)| r);
                out.insert(
                    "allowed_domains".to_string(),
                    format!("Domain {} ({value}): {reason}", i + 1),
                );
            }
            None => {
                out.insert(field, message);
            }
        }
    }
    FormError::Fields(status, out)
}

/// `POST /dashboard/project`: `PUT /v1/project` with `allowed_domains`.
async fn save(State(state): State<AppState>, posted: Posted) -> Response {
    let dash = Dash {
        session: posted.session,
        flash: None,
    };
    let project = dash.session.project_id.clone();
    let text = posted.form.text("allowed_domains");
    let list = lines(text);
    let result = async {
        let patch =
            pages::input::<ProjectInput>(json!({ "allowed_domains": list }))?.into_patch()?;
        Ok::<_, FormError>(state.store.update_project(&project, patch).await?)
    }
    .await
    .map_err(|e| on_textarea(e, &list));
    match result {
        Ok(_) => {
            state.after_write(None, false, Some(&project), true).await;
            view::redirect_with(
                "/dashboard/project",
                "Allowed domains saved.",
                FlashKind::Success,
            )
        }
        Err(FormError::Page(resp)) => resp,
        Err(e) => match state.store.get_project(&project).await {
            Ok(p) => render(&dash, super::kbs::status_of(&e), &p, text, e.errors()),
            Err(e) => view::api_error_page(e.into()),
        },
    }
}
