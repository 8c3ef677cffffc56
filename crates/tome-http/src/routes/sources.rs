//! Docs-as-code sources (`/v1/kb/{kb_id}/source`), updates (`/v1/project/update…`, the
//! docs-platform wire format) and the push webhook (`/v1/hooks/git/{kb_id}`). Thin: validation is
//! `tome_core::source`, storage `tome_store::SyncStore`, the work `tome_sync::runner`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tome_core::input::schema::SourceSet;
use tome_core::source::{Source, SourceInput, UpdateJob, UpdateStatus, UpdateTrigger};
use tome_store::StoreError;
use utoipa::ToSchema;

use crate::client_ip::{client_bucket, client_ip};
use crate::dto::{Data, List, data};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, Params};
use crate::ratelimit::with_rate_headers;
use crate::state::AppState;

/// The routes behind the admin key.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/kb/{kb_id}/source",
            get(get_source).put(put_source).delete(delete_source),
        )
        .route("/v1/project/update/{project_id}", post(trigger_update))
        .route("/v1/project/update-status/{status_id}", get(update_status))
        .route("/v1/project/updates", get(list_updates))
}

/// The push webhook: signed, not keyed.
pub fn hooks() -> Router<AppState> {
    Router::new().route("/v1/hooks/git/{kb_id}", post(push_hook))
}

// ---------------------------------------------------------------- sources

/// A KB's source as returned: the write-only token and webhook secret only as `has_*`.
#[derive(Serialize, ToSchema)]
pub struct SourceResponse {
    pub kb_id: String,
    /// `git` or `folder`.
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    /// Null: the remote's default branch.
    pub branch: Option<String>,
    /// Sub-folder of the repository; empty for the root.
    pub path: String,
    /// `auto`, `tome` or `mintlify`.
    pub format: String,
    pub has_token: bool,
    pub has_webhook_secret: bool,
    pub poll_interval_minutes: Option<i64>,
    /// The commit the content was last made equal to.
    pub last_commit: Option<String>,
    pub last_synced_at: Option<String>,
    /// Where a git host sends push events (`POST`, signed with `webhook_secret`).
    pub webhook_url: String,
    pub created_at: String,
    pub updated_at: String,
}

impl SourceResponse {
    fn new(s: Source, base_url: &str) -> Self {
        SourceResponse {
            webhook_url: format!(
                "{}/v1/hooks/git/{}",
                base_url.trim_end_matches('/'),
                s.kb_id
            ),
            kb_id: s.kb_id,
            kind: s.kind.as_str().into(),
            url: s.url,
            branch: s.branch,
            path: s.path,
            format: s.format.as_str().into(),
            has_token: s.has_token,
            has_webhook_secret: s.has_webhook_secret,
            poll_interval_minutes: s.poll_interval_minutes,
            last_commit: s.last_commit,
            last_synced_at: s.last_synced_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// Get the knowledge base's source.
#[utoipa::path(get, path = "/v1/kb/{kb_id}/source", tag = "Sources", params(("kb_id" = String, Path)),
    responses((status = 200, body = Data<SourceResponse>), (status = 404, body = ErrorBody, description = "`kb_not_found` or `source_not_found`")))]
pub async fn get_source(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
) -> ApiResult<axum::Json<Data<SourceResponse>>> {
    let source = s.store.get_source(&auth.project_id, &kb_id).await?;
    Ok(data(SourceResponse::new(source, &s.config.base_url)))
}

/// Set the knowledge base's source.
///
/// A git repository, or a server folder where the operator allows it. From then on the KB's content is managed by updates: content writes through the
/// API answer 409 `source_managed`. `token` and `webhook_secret` are write-only.
#[utoipa::path(put, path = "/v1/kb/{kb_id}/source", tag = "Sources", params(("kb_id" = String, Path)),
    request_body = SourceSet,
    responses((status = 200, body = Data<SourceResponse>), (status = 201, body = Data<SourceResponse>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_source(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    ApiJson(input): ApiJson<SourceInput>,
) -> ApiResult<(StatusCode, axum::Json<Data<SourceResponse>>)> {
    let (source, created) = set_source(&s, &auth.project_id, &kb_id, input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        data(SourceResponse::new(source, &s.config.base_url)),
    ))
}

/// Sets a KB's source from a request body (the API's `PUT` and the dashboard's form): returns
/// the source and whether it was created.
pub async fn set_source(
    s: &AppState,
    project_id: &str,
    kb_id: &str,
    input: SourceInput,
) -> ApiResult<(Source, bool)> {
    let update = input.into_new_with(s.config.sync_allow_local, s.config.sync_allow_private)?;
    // Secrets omitted from the body are kept only while the repository stays the same: a token
    // must never follow a source to another host.
    let keep = match s.store.get_source(project_id, kb_id).await {
        Ok(old) => old.url == update.source.url,
        Err(StoreError::NotFound(_)) => false,
        Err(e) => return Err(e.into()),
    };
    let mut new = update.source;
    let keep_secrets = keep && update.keep_token && update.keep_webhook_secret;
    if keep && !keep_secrets {
        // One of them was given: merge the other from the stored values.
        if let Some((_, secrets)) = s.store.source_by_kb(kb_id).await? {
            if update.keep_token {
                new.token = secrets.token;
            }
            if update.keep_webhook_secret {
                new.webhook_secret = secrets.webhook_secret;
            }
        }
    }
    let (source, created) = s
        .store
        .put_source(project_id, kb_id, new, keep_secrets)
        .await?;
    tracing::info!(kb.id = %kb_id, url = %source.url, "source set");
    Ok((source, created))
}

/// Detach the source.
///
/// The content stays as it is and becomes editable through the API again;
/// queued updates end as failures.
#[utoipa::path(delete, path = "/v1/kb/{kb_id}/source", tag = "Sources", params(("kb_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_source(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
) -> ApiResult<StatusCode> {
    s.store.delete_source(&auth.project_id, &kb_id).await?;
    tracing::info!(kb.id = %kb_id, "source removed");
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- updates

/// An update's status, in the docs-platform format (camelCase, ISO 8601 timestamps).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStatusResponse {
    #[serde(rename = "_id")]
    pub id: String,
    pub project_id: String,
    /// `queued`, `in_progress`, `success` or `failure`.
    pub status: String,
    pub summary: String,
    pub logs: Vec<String>,
    pub created_at: String,
    pub ended_at: Option<String>,
    /// The knowledge base's slug.
    pub subdomain: String,
    /// The commit's author; empty until the source is fetched.
    pub author: String,
    #[schema(value_type = Object)]
    pub commit: Value,
    /// `api`, `dashboard`, `github` (push webhook) or `internal` (CLI, polling).
    pub source: String,
    /// Tome's additions.
    pub kb_id: String,
    pub started_at: Option<String>,
    pub attempts: i64,
}

impl From<UpdateJob> for UpdateStatusResponse {
    fn from(j: UpdateJob) -> Self {
        let commit = j.commit.unwrap_or_default();
        UpdateStatusResponse {
            id: j.id,
            project_id: j.project_id,
            status: j.status.as_str().into(),
            summary: j.summary,
            logs: j.logs,
            created_at: j.created_at,
            ended_at: j.ended_at,
            subdomain: j.kb_slug,
            author: j.author.unwrap_or_default(),
            commit: json!({
                "sha": commit.sha,
                "ref": commit.ref_name,
                "message": commit.message,
                "filesChanged": commit.files_changed,
            }),
            source: j.trigger.as_str().into(),
            kb_id: j.kb_id,
            started_at: j.started_at,
            attempts: j.attempts,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TriggerResponse {
    pub status_id: String,
    /// Every queued update when the project has several sourced knowledge bases (Tome's
    /// addition; `statusId` is the first).
    pub status_ids: Vec<String>,
}

/// Queue an update of the project's docs from their sources.
///
/// Every knowledge base with a source, or only `?kb_id=`. A knowledge base that already has an update waiting gets that one's ID.
#[utoipa::path(post, path = "/v1/project/update/{projectId}", tag = "Updates",
    params(("projectId" = String, Path), ("kb_id" = Option<String>, Query)),
    responses((status = 202, body = TriggerResponse),
        (status = 400, body = ErrorBody, description = "`invalid_request`: not the key's project, or no knowledge base with a source"),
        (status = 404, body = ErrorBody, description = "`kb_not_found`/`source_not_found` for `?kb_id=`")))]
pub async fn trigger_update(
    State(s): State<AppState>,
    auth: Auth,
    Path(project_id): Path<String>,
    params: Params,
) -> ApiResult<(StatusCode, axum::Json<TriggerResponse>)> {
    if project_id != auth.project_id {
        return Err(ApiError::bad_request("Project not found.")
            .with_details(json!({"field": "projectId", "reason": "Project not found"})));
    }
    let kbs = match params.get("kb_id") {
        Some(kb) => vec![kb.to_string()],
        None => tome_sync::runner::sourced_kbs(&*s.store, &auth.project_id).await?,
    };
    if kbs.is_empty() {
        return Err(ApiError::bad_request(
            "The project has no knowledge base with a source; set one with PUT \
             /v1/kb/{kb_id}/source.",
        )
        .with_details(json!({
            "field": "projectId",
            "reason": "No knowledge base of the project has a source",
        })));
    }
    let mut ids = Vec::with_capacity(kbs.len());
    for kb in &kbs {
        let (job, new) = enqueue(&s, &auth.project_id, kb, UpdateTrigger::Api).await?;
        if new {
            tracing::info!(update.id = %job.id, kb.id = %kb, "update queued");
        }
        ids.push(job.id);
    }
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(TriggerResponse {
            status_id: ids[0].clone(),
            status_ids: ids,
        }),
    ))
}

/// Queues an update: through this node's runner when it has one (an idle runner takes the job
/// in the same transaction and starts it at once), else only in the store.
pub async fn enqueue(
    s: &AppState,
    project_id: &str,
    kb_id: &str,
    trigger: UpdateTrigger,
) -> Result<(UpdateJob, bool), StoreError> {
    match &s.runner {
        Some(runner) => runner.enqueue(project_id, kb_id, trigger).await,
        None => s.store.enqueue_update(project_id, kb_id, trigger).await,
    }
}

/// An update's status.
///
/// Once it reports `success`, search, the public API and the hosted pages
/// answered by this node show the new content.
#[utoipa::path(get, path = "/v1/project/update-status/{statusId}", tag = "Updates",
    params(("statusId" = String, Path)),
    responses((status = 200, body = UpdateStatusResponse), (status = 404, body = ErrorBody, description = "`update_not_found`")))]
pub async fn update_status(
    State(s): State<AppState>,
    auth: Auth,
    Path(status_id): Path<String>,
) -> ApiResult<axum::Json<UpdateStatusResponse>> {
    let job = s.store.get_update(&auth.project_id, &status_id).await?;
    if job.status == UpdateStatus::Success {
        // The job may have run on another node: do not let this one answer from a stale index
        // or cache after saying `success`.
        s.catch_up().await?;
    }
    Ok(axum::Json(job.into()))
}

/// The project's updates, newest first (Tome's addition).
#[utoipa::path(get, path = "/v1/project/updates", tag = "Updates",
    params(("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = List<UpdateStatusResponse>), (status = 400, body = ErrorBody)))]
pub async fn list_updates(
    State(s): State<AppState>,
    auth: Auth,
    params: Params,
) -> ApiResult<axum::Json<List<UpdateStatusResponse>>> {
    let list = format!("upd:{}", auth.project_id);
    let page = params.page(&s.cursors, &list)?;
    let result = s.store.list_updates(&auth.project_id, page).await?;
    Ok(axum::Json(List {
        data: result.items.into_iter().map(Into::into).collect(),
        pagination: s.pagination(&list, result.next),
    }))
}

// ---------------------------------------------------------------- the push webhook

/// Push webhook: a signed push queues an update.
///
/// GitHub, Gitea and Forgejo sign the body
/// (`X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the source's
/// webhook_secret>`), GitLab sends the secret as `X-Gitlab-Token`. A push to the source's
/// branch queues an update (202, `statusId`); other events and branches are acknowledged (200)
/// and ignored. A missing or wrong signature — or a knowledge base without a source or secret,
/// which looks the same so nothing is revealed — is 401 and queues nothing.
#[utoipa::path(post, path = "/v1/hooks/git/{kb_id}", tag = "Updates", params(("kb_id" = String, Path)),
    request_body(content = Object, description = "The git host's event payload, as sent."),
    responses((status = 202, body = TriggerResponse), (status = 200, description = "ping, or an event that does not update"),
        (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(()))]
pub async fn push_hook(
    State(s): State<AppState>,
    Path(kb_id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let bucket = client_bucket(client_ip(&req, &s.config.trusted_proxies));
    let decision = s
        .limiter
        .hit(&format!("hook:{bucket}"), s.config.webhook_rate_limit)
        .await;
    if !decision.allowed {
        s.metrics.rate_limited("webhook");
        return with_rate_headers(
            ApiError::rate_limited(decision.retry_after).into_response(),
            &decision,
        );
    }
    let (parts, body) = req.into_parts();
    let body: Bytes = match axum::body::to_bytes(body, crate::BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return with_rate_headers(ApiError::payload_too_large().into_response(), &decision);
        }
    };
    let answer = match hook(&s, &kb_id, &parts.headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    with_rate_headers(answer, &decision)
}

async fn hook(s: &AppState, kb_id: &str, headers: &HeaderMap, body: &[u8]) -> ApiResult<Response> {
    let refused = || ApiError::unauthorized("Missing or invalid webhook signature.");
    let found = s.store.source_by_kb(kb_id).await?;
    let Some((source, secrets)) = found else {
        return Err(refused());
    };
    let Some(secret) = secrets.webhook_secret.as_deref() else {
        return Err(refused());
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = if let Some(sig) = header("x-hub-signature-256") {
        verify_hub_signature(secret, body, sig)
    } else if let Some(token) = header("x-gitlab-token") {
        same_secret(secret, token)
    } else {
        false
    };
    if !signed {
        tracing::warn!(kb.id = %kb_id, "push webhook with a missing or wrong signature");
        return Err(refused());
    }
    let event = header("x-github-event")
        .or_else(|| header("x-gitea-event"))
        .or_else(|| header("x-forgejo-event"))
        .or_else(|| header("x-gogs-event"))
        .or_else(|| header("x-gitlab-event"))
        .unwrap_or("push")
        .to_ascii_lowercase();
    let ignored = |reason: &str| {
        (
            StatusCode::OK,
            axum::Json(json!({"queued": false, "reason": reason})),
        )
            .into_response()
    };
    if event == "ping" || event == "system hook" {
        return Ok(ignored("ping"));
    }
    if event != "push" && event != "push hook" {
        return Ok(ignored("not a push event"));
    }
    let payload: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request("The webhook body is not JSON."))?;
    let pushed = payload.get("ref").and_then(Value::as_str).unwrap_or("");
    let default_branch = payload
        .pointer("/repository/default_branch")
        .or_else(|| payload.pointer("/project/default_branch"))
        .and_then(Value::as_str);
    let branch = source.branch.as_deref().or(default_branch);
    let matches = match branch {
        Some(b) => pushed == format!("refs/heads/{b}"),
        // The default branch is unknown: any branch push may be it; an update of an unchanged
        // branch changes nothing.
        None => pushed.starts_with("refs/heads/"),
    };
    if !matches {
        return Ok(ignored("push to another branch"));
    }
    if payload.get("deleted").and_then(Value::as_bool) == Some(true) {
        return Ok(ignored("branch deleted"));
    }
    let (job, _) = enqueue(s, &source.project_id, kb_id, UpdateTrigger::Webhook).await?;
    tracing::info!(update.id = %job.id, kb.id = %kb_id, "update queued by push webhook");
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(TriggerResponse {
            status_id: job.id.clone(),
            status_ids: vec![job.id],
        }),
    )
        .into_response())
}

/// `sha256=<hex>` against HMAC-SHA256(secret, body), compared in constant time.
fn verify_hub_signature(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(sig) = decode_hex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Compares two secrets in constant time (through their digests, so lengths leak nothing).
fn same_secret(a: &str, b: &str) -> bool {
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The check behind `source_managed`: content writes (categories, sections, articles, FAQs) to a
/// knowledge base whose content a source manages are refused with 409, naming the source. Used by
/// the REST layer in front of content writes and by the dashboard's content forms. A KB that is
/// not the caller's (or has no source) passes: the write's own lookup answers its 404.
pub async fn refuse_if_managed(
    state: &AppState,
    project_id: &str,
    kb_id: &str,
) -> Result<(), ApiError> {
    match state.store.get_source(project_id, kb_id).await {
        Ok(source) => {
            let branch = source.branch.as_deref().unwrap_or("its default branch");
            Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "source_managed",
                format!(
                    "This knowledge base's content is managed by its source ({}, {branch}): \
                     change the repository and trigger an update, or detach the source with \
                     DELETE /v1/kb/{kb_id}/source.",
                    source.url
                ),
            )
            .with_details(serde_json::json!({
                "source": {"type": source.kind.as_str(), "url": source.url, "branch": source.branch},
            })))
        }
        Err(tome_store::StoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(ApiError::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_signatures_are_checked() {
        // GitHub's documented example (docs.github.com, "Validating webhook deliveries").
        let secret = "It's a Secret to Everybody";
        let body = b"Hello, World!";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(verify_hub_signature(secret, body, good));
        assert!(!verify_hub_signature("wrong", body, good));
        assert!(!verify_hub_signature(secret, b"Hello, World?", good));
        assert!(!verify_hub_signature(secret, body, "sha256=zz"));
        assert!(!verify_hub_signature(secret, body, &good[7..]));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
    }
}
