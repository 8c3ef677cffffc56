//! The gate in front of the docs-platform read endpoints — documentation search, page content and
//! the assistant message (`/v1/search/{domain}`, `/v1/page/{domain}`,
//! `/v{1,2}/assistant/{domain}/message`).
//!
//! `{domain}` names a knowledge base: its slug, or `<slug>.<hosted host>` when a hosted host is
//! configured. Two kinds of caller pass:
//! - an **assistant key** (`Authorization: Bearer tome_dsc_…`) of the KB's project — a KB of
//!   another project is 404 like an unknown one; an admin key is 403; counted against the
//!   assistant key's rate limit;
//! - a **browser with the KB's site key** (`X-Minolith-Site-Key`) for a *public* KB, with the
//!   public API's checks: the origin must be allowed, every refusal is the same 403, requests are
//!   counted per client against the site key's limit, and answers carry CORS headers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tome_core::keys::{self, KeyKind};
use tome_core::model::KnowledgeBase;

use crate::client_ip::{client_bucket, client_ip};
use crate::error::ApiError;
use crate::public::{
    SITE_KEY_HEADER, cors_origin, count, decorate, denied, origin_allowed, over_limit,
    preflight_allowed, refuse, request_origin,
};
use crate::ratelimit::with_rate_headers;
use crate::state::AppState;

/// Who is calling a docs-platform endpoint, once the gate let them through.
#[derive(Debug, Clone)]
pub enum Caller {
    /// An assistant key (`key_…` is its ID).
    Key { key_id: String },
    /// A browser with the KB's site key; `client` is its address bucket (for per-client limits).
    Site { client: String },
}

/// What a docs-platform handler knows about its request.
#[derive(Debug, Clone)]
pub struct DocsCtx {
    pub project_id: String,
    pub kb: Arc<KnowledgeBase>,
    pub caller: Caller,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for DocsCtx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        parts.extensions.get::<DocsCtx>().cloned().ok_or_else(|| {
            tracing::error!("docs-platform handler reached without the gate");
            ApiError::internal()
        })
    }
}

/// The `{domain}` segment of a docs-platform path (`/v1/search/{domain}`,
/// `/v2/assistant/{domain}/message`).
fn domain_of(path: &str) -> &str {
    path.split('/').nth(3).unwrap_or_default()
}

/// The KB slug a `{domain}` names: the slug itself, or `<slug>.<hosted host>`.
pub fn slug_of_domain<'d>(domain: &'d str, hosted_url: Option<&str>) -> Option<&'d str> {
    if !domain.contains('.') {
        return (!domain.is_empty()).then_some(domain);
    }
    let host = hosted_url?
        .split_once("://")
        .map_or(hosted_url?, |(_, rest)| rest)
        .split(['/', ':'])
        .next()?;
    let slug = domain
        .strip_suffix(host)?
        .strip_suffix('.')
        .filter(|s| !s.is_empty() && !s.contains('.'))?;
    Some(slug)
}

pub fn kb_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "kb_not_found",
        "Knowledge base not found.",
    )
}

/// The middleware in front of every docs-platform read route.
pub async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let client = client_bucket(client_ip(&req, &state.config.trusted_proxies));
    let domain = domain_of(req.uri().path()).to_string();
    let slug = slug_of_domain(&domain, state.config.hosted_url.as_deref()).map(str::to_string);

    if req.method() == Method::OPTIONS {
        let origin = request_origin(req.headers());
        let origin_header = req.headers().get(header::ORIGIN).cloned();
        return preflight(&state, slug.as_deref(), origin, origin_header, &client).await;
    }

    if req.headers().contains_key(header::AUTHORIZATION)
        || !req.headers().contains_key(SITE_KEY_HEADER)
    {
        let (cached, decision) =
            match crate::auth::authenticate(&state, req.headers(), &client).await {
                Ok(found) => found,
                Err(refusal) => return refusal,
            };
        let key = &cached.key;
        if key.kind != KeyKind::Assistant {
            let err = ApiError::forbidden(
                "This endpoint takes an assistant key (tome_dsc_…), or a site key from a browser.",
            );
            return with_rate_headers(err.into_response(), &decision);
        }
        let kb = match slug {
            Some(slug) => state.store.kb_by_slug(&key.project_id, &slug).await,
            None => Ok(None),
        };
        let kb = match kb {
            Ok(Some(kb)) => kb,
            Ok(None) => return with_rate_headers(kb_not_found().into_response(), &decision),
            Err(e) => return with_rate_headers(ApiError::from(e).into_response(), &decision),
        };
        req.extensions_mut().insert(DocsCtx {
            project_id: key.project_id.clone(),
            kb: Arc::new(kb),
            caller: Caller::Key {
                key_id: key.id.clone(),
            },
        });
        return with_rate_headers(next.run(req).await, &decision);
    }

    // A browser with a site key: the public API's checks, and a public KB only.
    let origin = request_origin(req.headers());
    let origin_header = req.headers().get(header::ORIGIN).cloned();
    let presented = req
        .headers()
        .get(SITE_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| keys::is_site_key_shaped(k));
    let access = match presented {
        Some(k) => match state.public.site_access(state.store.as_ref(), k).await {
            Ok(a) => a,
            Err(e) => return decorate(ApiError::from(e).into_response(), None),
        },
        None => None,
    };
    let access = access.filter(|a| {
        slug.as_deref() == Some(a.slug.as_str())
            && origin_allowed(&a.allowed_domains, origin.as_ref())
    });
    let kb = match &access {
        Some(a) => match state.store.public_kb_by_slug(&a.slug).await {
            Ok(kb) => kb.filter(|kb| kb.id == a.kb_id),
            Err(e) => return decorate(ApiError::from(e).into_response(), None),
        },
        None => None,
    };
    let (Some(access), Some(kb)) = (access, kb) else {
        return refuse(&state, &client).await;
    };
    let cors = cors_origin(
        origin_header.as_ref().map(HeaderValue::as_bytes),
        origin.as_ref(),
        &access,
    )
    .and_then(|o| HeaderValue::from_bytes(o).ok());
    let d = count(&state, &access, &client).await;
    if !d.allowed {
        return over_limit(&state, &d, cors.as_ref());
    }
    req.extensions_mut().insert(DocsCtx {
        project_id: access.project_id.clone(),
        kb: Arc::new(kb),
        caller: Caller::Site { client },
    });
    let resp = next.run(req).await;
    decorate(with_rate_headers(resp, &d), cors.as_ref())
}

/// A CORS preflight: allowed when the origin is allowed by the project of the public KB the
/// domain names.
async fn preflight(
    state: &AppState,
    slug: Option<&str>,
    origin: Option<Result<crate::public::Origin, ()>>,
    origin_header: Option<HeaderValue>,
    client: &str,
) -> Response {
    let d = state
        .limiter
        .hit(
            &format!("preflight:{client}"),
            state.config.public_refusal_rate_limit.max(1000),
        )
        .await;
    if !d.allowed {
        state.metrics.rate_limited("preflight");
        return decorate(ApiError::rate_limited(d.retry_after).into_response(), None);
    }
    let (Some(Ok(_)), Some(origin_value), Some(slug)) = (&origin, origin_header, slug) else {
        return decorate(denied().into_response(), None);
    };
    let allowed = match state.store.public_kb_by_slug(slug).await {
        Ok(Some(kb)) => match state.store.get_project(&kb.project_id).await {
            Ok(p) => origin_allowed(&p.allowed_domains, origin.as_ref()),
            Err(e) => return decorate(ApiError::from(e).into_response(), None),
        },
        Ok(None) => false,
        Err(e) => return decorate(ApiError::from(e).into_response(), None),
    };
    if !allowed {
        return decorate(denied().into_response(), None);
    }
    preflight_allowed(
        &origin_value,
        "POST, OPTIONS",
        "X-Minolith-Site-Key, Content-Type, Accept",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_name_slugs() {
        assert_eq!(slug_of_domain("acme", None), Some("acme"));
        assert_eq!(slug_of_domain("", None), None);
        assert_eq!(slug_of_domain("acme.help.example.com", None), None);
        let hosted = Some("https://help.example.com");
        assert_eq!(
            slug_of_domain("acme.help.example.com", hosted),
            Some("acme")
        );
        assert_eq!(slug_of_domain("acme", hosted), Some("acme"));
        assert_eq!(slug_of_domain("a.b.help.example.com", hosted), None);
        assert_eq!(slug_of_domain("help.example.com", hosted), None);
        assert_eq!(slug_of_domain("acme.evil.com", hosted), None);
        assert_eq!(
            slug_of_domain(
                "acme.help.example.com",
                Some("https://help.example.com:8443/")
            ),
            Some("acme")
        );
    }
}
