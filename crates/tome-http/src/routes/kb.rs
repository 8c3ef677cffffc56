//! Knowledge bases, site keys, the project and its usage.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use tome_core::input::schema::{KbCreate, KbUpdate, ProjectUpdate, SiteKeyUpdate};
use tome_core::input::{KbInput, ProjectInput, SiteKeyInput};
use tome_core::keys;
use tome_core::validate::SITE_KEY_RATE_DEFAULT;

use crate::dto::{
    Data, KbResponse, List, NewSiteKeyResponse, Pagination, ProjectResponse, SiteKeyResponse,
    UsageResponse, data,
};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, Params};
use crate::state::AppState;

type Json<T> = axum::Json<Data<T>>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/kb", get(list_kbs).post(create_kb))
        .route(
            "/v1/kb/{kb_id}",
            get(get_kb).put(update_kb).delete(delete_kb),
        )
        .route(
            "/v1/kb/{kb_id}/site-key",
            get(get_site_key).put(update_site_key),
        )
        .route("/v1/kb/{kb_id}/site-key/revoke", post(revoke_site_key))
        .route("/v1/project", get(get_project).put(update_project))
        .route("/v1/usage", get(get_usage))
}

async fn allowed_domains(s: &AppState, auth: &Auth) -> ApiResult<Vec<String>> {
    Ok(s.store.get_project(&auth.project_id).await?.allowed_domains)
}

/// Create a knowledge base (3 credits). The response carries the site key, shown only once.
#[utoipa::path(post, path = "/v1/kb", tag = "Knowledge bases", request_body = KbCreate,
    responses((status = 201, body = Data<KbResponse>), (status = 402, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_kb(
    State(s): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<KbInput>,
) -> ApiResult<(StatusCode, Json<KbResponse>)> {
    let new = input.into_new()?;
    let site_key = keys::generate_site_key();
    let created = s
        .store
        .create_kb(&auth.project_id, new, &site_key, SITE_KEY_RATE_DEFAULT)
        .await?;
    tracing::info!(kb.id = %created.kb.id, "created knowledge base");
    let domains = allowed_domains(&s, &auth).await?;
    let url = s.public_url(&created.kb);
    let mut resp = KbResponse::new(created.kb, &domains, url);
    resp.site_key = Some(site_key.plaintext);
    Ok((StatusCode::CREATED, data(resp)))
}

/// List knowledge bases with their content counts.
#[utoipa::path(get, path = "/v1/kb", tag = "Knowledge bases",
    params(("is_public" = Option<bool>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = List<KbResponse>)))]
pub async fn list_kbs(
    State(s): State<AppState>,
    auth: Auth,
    params: Params,
) -> ApiResult<axum::Json<List<KbResponse>>> {
    let page = params.page(&s.cursors, &format!("kb:{}", auth.project_id))?;
    let is_public = params.bool("is_public")?;
    let result = s.store.list_kbs(&auth.project_id, is_public, page).await?;
    let domains = allowed_domains(&s, &auth).await?;
    let items = result
        .items
        .into_iter()
        .map(|(kb, counts)| {
            let url = s.public_url(&kb);
            let mut r = KbResponse::new(kb, &domains, url);
            r.counts = Some(counts.into());
            r
        })
        .collect();
    Ok(axum::Json(List {
        data: items,
        pagination: s.pagination(&format!("kb:{}", auth.project_id), result.next),
    }))
}

/// Get a knowledge base.
#[utoipa::path(get, path = "/v1/kb/{kb_id}", tag = "Knowledge bases", params(("kb_id" = String, Path)),
    responses((status = 200, body = Data<KbResponse>), (status = 404, body = ErrorBody)))]
pub async fn get_kb(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
) -> ApiResult<Json<KbResponse>> {
    let kb = s.store.get_kb(&auth.project_id, &kb_id).await?;
    let domains = allowed_domains(&s, &auth).await?;
    let url = s.public_url(&kb);
    Ok(data(KbResponse::new(kb, &domains, url)))
}

/// Update a knowledge base; every field is optional. A new slug applies everywhere at once.
#[utoipa::path(put, path = "/v1/kb/{kb_id}", tag = "Knowledge bases", params(("kb_id" = String, Path)), request_body = KbUpdate,
    responses((status = 200, body = Data<KbResponse>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_kb(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    ApiJson(input): ApiJson<KbInput>,
) -> ApiResult<Json<KbResponse>> {
    let patch = input.into_patch()?;
    let kb = s.store.update_kb(&auth.project_id, &kb_id, patch).await?;
    let domains = allowed_domains(&s, &auth).await?;
    let url = s.public_url(&kb);
    Ok(data(KbResponse::new(kb, &domains, url)))
}

/// Delete a knowledge base with all its categories, sections, articles, FAQs and site keys.
#[utoipa::path(delete, path = "/v1/kb/{kb_id}", tag = "Knowledge bases", params(("kb_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_kb(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
) -> ApiResult<StatusCode> {
    s.store.delete_kb(&auth.project_id, &kb_id).await?;
    tracing::info!(kb.id = %kb_id, "deleted knowledge base");
    Ok(StatusCode::NO_CONTENT)
}

/// The active site key's metadata (never the plaintext).
#[utoipa::path(get, path = "/v1/kb/{kb_id}/site-key", tag = "Site keys", params(("kb_id" = String, Path)),
    responses((status = 200, body = Data<SiteKeyResponse>), (status = 404, body = ErrorBody)))]
pub async fn get_site_key(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
) -> ApiResult<Json<SiteKeyResponse>> {
    Ok(data(
        s.store
            .active_site_key(&auth.project_id, &kb_id)
            .await?
            .into(),
    ))
}

/// Revoke the current site key at once and issue a new one, returned in plaintext once.
#[utoipa::path(post, path = "/v1/kb/{kb_id}/site-key/revoke", tag = "Site keys", params(("kb_id" = String, Path)),
    responses((status = 200, body = Data<NewSiteKeyResponse>), (status = 404, body = ErrorBody)))]
pub async fn revoke_site_key(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
) -> ApiResult<Json<NewSiteKeyResponse>> {
    let key = keys::generate_site_key();
    let sk = s
        .store
        .rotate_site_key(&auth.project_id, &kb_id, &key, SITE_KEY_RATE_DEFAULT)
        .await?;
    tracing::info!(kb.id = %kb_id, "rotated site key");
    Ok(data(NewSiteKeyResponse {
        id: sk.id,
        kb_id: sk.kb_id,
        site_key: key.plaintext,
        key_prefix: sk.key_prefix,
        rate_limit: sk.rate_limit,
        created_at: sk.created_at,
    }))
}

/// Set the site key's rate limit (1–1000 requests per minute).
#[utoipa::path(put, path = "/v1/kb/{kb_id}/site-key", tag = "Site keys", params(("kb_id" = String, Path)), request_body = SiteKeyUpdate,
    responses((status = 200, body = Data<SiteKeyResponse>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_site_key(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    ApiJson(input): ApiJson<SiteKeyInput>,
) -> ApiResult<Json<SiteKeyResponse>> {
    let rate_limit = input.into_rate_limit()?;
    Ok(data(
        s.store
            .set_site_key_rate_limit(&auth.project_id, &kb_id, rate_limit)
            .await?
            .into(),
    ))
}

/// The caller's project, including the allowed domains shared by every knowledge base.
#[utoipa::path(get, path = "/v1/project", tag = "Project", responses((status = 200, body = Data<ProjectResponse>)))]
pub async fn get_project(
    State(s): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<ProjectResponse>> {
    Ok(data(s.store.get_project(&auth.project_id).await?.into()))
}

/// Update the project's name or allowed domains.
#[utoipa::path(put, path = "/v1/project", tag = "Project", request_body = ProjectUpdate,
    responses((status = 200, body = Data<ProjectResponse>), (status = 422, body = ErrorBody)))]
pub async fn update_project(
    State(s): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<ProjectInput>,
) -> ApiResult<Json<ProjectResponse>> {
    let patch = input.into_patch()?;
    Ok(data(
        s.store
            .update_project(&auth.project_id, patch)
            .await?
            .into(),
    ))
}

/// This month's credit use by action, and the cap.
#[utoipa::path(get, path = "/v1/usage", tag = "Project", responses((status = 200, body = Data<UsageResponse>)))]
pub async fn get_usage(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<UsageResponse>> {
    let now = tome_core::time::now();
    let month = tome_core::time::month_of(&now);
    let mut usage: UsageResponse = s.store.usage(&auth.project_id, month).await?.into();
    // The assistant's price is the operator's setting, not the table's default.
    for line in &mut usage.by_action {
        if line.action == tome_core::credits::Action::AssistantMessage.as_str() {
            line.price = s.config.assistant.message_credits;
        }
    }
    Ok(data(usage))
}

impl AppState {
    /// Where the KB's hosted help centre lives, or `None` while it is not public.
    pub fn public_url(&self, kb: &tome_core::model::KnowledgeBase) -> Option<String> {
        if !kb.is_public {
            return None;
        }
        Some(match &self.config.hosted_url {
            Some(host) => format!("{}/{}", host.trim_end_matches('/'), kb.slug),
            None => format!(
                "{}/hc/{}",
                self.config.base_url.trim_end_matches('/'),
                kb.slug
            ),
        })
    }

    pub fn pagination(&self, list: &str, next: Option<tome_core::cursor::Position>) -> Pagination {
        Pagination {
            has_more: next.is_some(),
            next_cursor: next.map(|p| self.cursors.encode(list, p)),
        }
    }
}
