//! The hosted help centre: `/hc/{slug}/…` on any host, and `/{slug}/…` on the host of
//! `--hosted-url`.
//!
//! A request is counted against its client's hosted rate limit, its slug resolved to a public
//! KB (see `cache.rs` for why that is never stale), and its page served from the per-KB page
//! cache or rendered from the KB's published tree with the KB's theme (`pages.rs`,
//! `templates.rs`). Every response carries a strict Content-Security-Policy. Pages work with
//! JavaScript off; their only script is the Ask box's first-party asset (`ask.rs`), which the
//! policy allows by origin while it still forbids inline script.

mod ask;
pub mod assets;
pub(crate) mod cache;
pub(crate) mod host;
mod layout;
mod pages;
mod seo;
mod site;
pub mod templates;
pub(crate) mod view;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tome_store::{PublishedTree, StoreError};

pub use cache::{HostedCache, Page};
pub use host::hosted_authority;
use host::is_hosted_host;
use site::Site;

use crate::answer::{Answer, BodyAnswer, FixedPart};
use crate::cache::{CachedBody, Negotiated};
use crate::client_ip::{client_bucket, client_ip, client_ip_from};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::assistant::MessageBody;
use crate::state::AppState;
use crate::wire::{Headers, RequestView};

/// Marks a request that arrived on the `--hosted-url` host (and was rewritten under `/hc`).
#[derive(Debug, Clone, Copy)]
pub struct OnHostedHost;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hc/_assets/{file}", get(asset))
        .route("/hc", get(page))
        .route("/hc/{slug}", get(page))
        .route("/hc/{slug}/ask", get(page).post(ask_post))
        .route("/hc/{slug}/{*rest}", get(page))
}

fn request_authority(req: &Request) -> Option<String> {
    authority(req.uri(), req.headers())
}

fn authority(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    uri.authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .map(|a| a.to_ascii_lowercase())
}

/// On the hosted host every path is a help-centre path: `/{slug}/…` is served as
/// `/hc/{slug}/…` (health checks excepted, so load balancers can probe any host).
pub async fn rewrite_hosted_host(
    State(configured): State<Arc<str>>,
    mut req: Request,
    next: Next,
) -> Response {
    let on_host = request_authority(&req).is_some_and(|got| is_hosted_host(&configured, &got));
    let path = req.uri().path();
    if on_host && path != "/healthz" && path != "/readyz" {
        let rewritten = match req.uri().query() {
            Some(q) => format!("/hc{}?{q}", path.trim_end_matches('/')),
            None => format!("/hc{}", path.trim_end_matches('/')),
        };
        if let Ok(uri) = rewritten.parse::<Uri>() {
            *req.uri_mut() = uri;
            req.extensions_mut().insert(OnHostedHost);
        }
    }
    next.run(req).await
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(a) = assets::assets().by_file(&file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let page = Page {
        status: StatusCode::OK,
        body: a.body.clone(),
        content_type: a.content_type,
        csp: HeaderValue::from_static("default-src 'none'"),
        embeddable: true,
    };
    let mut resp = respond(&page, &headers);
    // The name changes whenever the content does, so a copy never needs checking again.
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    resp
}

/// The page cache key: the KB, its generation, the host kind, the slug and the rest of the path.
/// Pages are keyed by the slug too: a page exists under the KB's current generation only if the
/// slug was confirmed at that generation, and any change to the KB bumps it.
fn page_key(kb_id: &str, generation: u64, on_host: bool, slug: &str, rest: &str) -> String {
    // Built on every cached page view: pushed into one allocation, without `format!`'s machinery.
    let mut key = String::with_capacity(kb_id.len() + slug.len() + rest.len() + 26);
    key.push_str(kb_id);
    key.push(':');
    key.push_str(itoa::Buffer::new().format(generation));
    key.push_str(if on_host { ":1:" } else { ":0:" });
    key.push_str(slug);
    key.push('/');
    key.push_str(rest);
    key
}

/// Counts a hosted request against its client's limit; the themed 429 when over it.
async fn over_limit<H: Headers + ?Sized>(
    s: &AppState,
    headers: &H,
    client: Option<std::net::IpAddr>,
    assets_root: &'static str,
) -> Option<Response> {
    let decision = s
        .limiter
        .hit(
            &format!("hosted:{}", client_bucket(client)),
            s.config.hosted_rate_limit,
        )
        .await;
    if decision.allowed {
        return None;
    }
    s.metrics.rate_limited("hosted");
    let page = layout::too_many_requests(assets_root);
    let mut resp = respond(&page, headers);
    if let Ok(v) = HeaderValue::from_str(&decision.retry_after.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Some(resp)
}

/// Answers a hosted page from the page cache without the router, when the slug's KB is known
/// and its page at the current generation is cached; `None` (before any side effect — the rate
/// limit is counted only once the answer is certain) sends the request through the router, whose
/// [`page`] handler produces the same response.
pub async fn serve_cached<'r, R: RequestView>(
    s: &AppState,
    req: &'r R,
) -> Option<Answer<'r, Page>> {
    let started = std::time::Instant::now();
    let on_host = s.hosted_host.as_deref().is_some_and(|configured| {
        req.authority()
            .is_some_and(|got| is_hosted_host(configured, got))
    });
    let path = req.path();
    let rest = if on_host {
        path.strip_prefix('/')?
    } else {
        path.strip_prefix("/hc/")?
    };
    if rest.ends_with('/') {
        return None;
    }
    let (slug, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let reserved = if on_host {
        matches!(slug, "_assets" | "healthz" | "readyz" | "hc")
    } else {
        slug == "_assets"
    };
    if reserved || slug.is_empty() || rest == "search" || rest == "ask" {
        return None;
    }
    let kb_id = s.hosted.slug_hint(slug)?;
    let generation = s.public.kb_generation(&kb_id);
    let page = s
        .hosted
        .page(&page_key(&kb_id, generation, on_host, slug, rest))
        .await?;
    s.metrics.cache_lookup("hosted", true);
    let client = client_ip_from(req, req.peer(), &s.config.trusted_proxies);
    let assets_root = if on_host { "/_assets" } else { "/hc/_assets" };
    let answer = match over_limit(s, req, client, assets_root).await {
        Some(refused) => Answer::Response(refused),
        None => {
            let negotiated = page.body.negotiate(req);
            let gzip = negotiated.gzip;
            if negotiated.fresh && page.status == StatusCode::OK {
                Answer::Response(respond_to(&page, negotiated))
            } else {
                Answer::Body(BodyAnswer {
                    body: page.body.clone(),
                    gzip,
                    kind: page,
                    rate: None,
                    cors: None,
                })
            }
        }
    };
    let route = if rest.is_empty() {
        "/hc/{slug}"
    } else {
        "/hc/{slug}/{*rest}"
    };
    s.metrics
        .record_route(route, "GET", answer.status(), started);
    Some(answer)
}

async fn page(State(s): State<AppState>, req: Request) -> Response {
    let on_host = req.extensions().get::<OnHostedHost>().is_some();
    let assets_root = if on_host { "/_assets" } else { "/hc/_assets" };
    let client = client_ip(&req, &s.config.trusted_proxies);
    if let Some(refused) = over_limit(&s, req.headers(), client, assets_root).await {
        return refused;
    }

    let path = req.uri().path();
    let rest = path
        .strip_prefix("/hc")
        .unwrap_or(path)
        .trim_start_matches('/');
    let (slug, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let headers = req.headers();
    // Search results depend on the query, which anyone can vary at will: they are rendered
    // each time rather than let to crowd pages out of the cache. Answers are asked each time.
    let cacheable = rest != "search" && rest != "ask";
    let page_key = |kb_id: &str, generation: u64| page_key(kb_id, generation, on_host, slug, rest);
    if cacheable && let Some(kb_id) = s.hosted.slug_hint(slug) {
        let generation = s.public.kb_generation(&kb_id);
        if let Some(p) = s.hosted.page(&page_key(&kb_id, generation)).await {
            s.metrics.cache_lookup("hosted", true);
            return respond(&p, headers);
        }
    }
    let (tree, generation) = match resolve(&s, slug).await {
        Ok(Some(found)) => found,
        Ok(None) => return respond(&layout::unknown_site(assets_root), headers),
        Err(e) => return respond(&layout::failure(&e, assets_root), headers),
    };
    let key = page_key(&tree.kb.id, generation);
    if cacheable && let Some(p) = s.hosted.page(&key).await {
        s.metrics.cache_lookup("hosted", true);
        return respond(&p, headers);
    }
    if cacheable {
        s.metrics.cache_lookup("hosted", false);
    }
    let root = if on_host {
        format!("/{slug}")
    } else {
        format!("/hc/{slug}")
    };
    let site = Site {
        canonical_root: s.public_url(&tree.kb).unwrap_or_else(|| root.clone()),
        tree,
        root,
        assets_root,
    };
    if rest == "ask" {
        if !ask::enabled(&site.tree.kb) {
            return respond(&layout::not_found(&site), headers);
        }
        // A HEAD (a link checker's, a crawler's) gets the page without asking: no credit spent.
        let may_ask = req.method() != axum::http::Method::HEAD;
        return ask::page(&s, &site, req.uri(), &client_bucket(client), may_ask).await;
    }
    let page = pages::render(&s, &site, rest, req.uri()).await;
    if cacheable && page.status == StatusCode::OK {
        s.hosted.insert_page(key, page.clone()).await;
    }
    respond(&page, headers)
}

/// `POST <root>/ask`: the Ask box's script asking a question; the answer streams back in the
/// v2 assistant endpoint's format (see `ask.rs`).
async fn ask_post(State(s): State<AppState>, req: Request) -> Response {
    let on_host = req.extensions().get::<OnHostedHost>().is_some();
    let assets_root = if on_host { "/_assets" } else { "/hc/_assets" };
    let client = client_ip(&req, &s.config.trusted_proxies);
    if let Some(refused) = over_limit(&s, req.headers(), client, assets_root).await {
        return refused;
    }
    let path = req.uri().path();
    let slug = path
        .strip_prefix("/hc/")
        .and_then(|rest| rest.strip_suffix("/ask"))
        .unwrap_or_default()
        .to_string();
    let kb = match resolve(&s, &slug).await {
        Ok(Some((tree, _))) if ask::enabled(&tree.kb) => Arc::new(tree.kb.clone()),
        Ok(_) => return ApiError::not_found().into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let body = match ApiJson::<MessageBody>::from_request(req, &s).await {
        Ok(ApiJson(body)) => body,
        Err(e) => return e.into_response(),
    };
    ask::stream(s, kb, client_bucket(client), body).await
}

/// The home page of `kb` as it would look with its settings as given — theme, theme settings,
/// custom CSS, title — without saving them: the dashboard's live theme preview. `kb` is the
/// stored KB with the unsaved values applied; its content is the KB's published tree, public
/// or not (the caller has checked that the KB is its session's). The page's policy is the
/// hosted page's except `frame-ancestors 'self'`, so only this site's dashboard may frame it;
/// it is never cached, here or in a browser.
pub async fn preview_home(s: &AppState, kb: tome_core::model::KnowledgeBase) -> Response {
    const ASSETS: &str = "/hc/_assets";
    let generation = s.public.kb_generation(&kb.id);
    let stored = match s.public.tree(s.store.as_ref(), &kb.id, generation).await {
        Ok(tree) => tree,
        Err(e) => return page_response(&layout::failure(&e, ASSETS), false),
    };
    let root = format!("/hc/{}", kb.slug);
    let csp = layout::preview_csp(&kb);
    let tree = PublishedTree {
        kb,
        categories: stored.categories.clone(),
        sections: stored.sections.clone(),
        articles: stored.articles.clone(),
        faqs: stored.faqs.clone(),
    };
    let site = Site {
        canonical_root: root.clone(),
        tree: Arc::new(tree),
        root,
        assets_root: ASSETS,
    };
    let mut page = pages::home(&site);
    page.csp = csp;
    // The policy above says who may frame it; `X-Frame-Options` below says the same to browsers
    // that only read that.
    page.embeddable = true;
    let mut resp = page_response(&page, false);
    let h = resp.headers_mut();
    h.remove(header::ETAG);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    resp
}

/// The public KB a slug names, with its published tree at the current generation.
async fn resolve(
    s: &AppState,
    slug: &str,
) -> Result<Option<(Arc<PublishedTree>, u64)>, StoreError> {
    if tome_core::validate::slug(slug.to_string()).is_err() {
        return Ok(None);
    }
    let confirmed = |tree: &PublishedTree| tree.kb.is_public && tree.kb.slug == slug;
    if let Some(kb_id) = s.hosted.slug_hint(slug) {
        let generation = s.public.kb_generation(&kb_id);
        match s.public.tree(s.store.as_ref(), &kb_id, generation).await {
            Ok(tree) if confirmed(&tree) => return Ok(Some((tree, generation))),
            // Renamed, made private or deleted since (a deleted KB's tree is an error): look the
            // slug up afresh, which also surfaces a real database failure.
            Ok(_) | Err(_) => s.hosted.forget_slug(slug),
        }
    }
    let Some(kb) = s.store.public_kb_by_slug(slug).await? else {
        return Ok(None);
    };
    let generation = s.public.kb_generation(&kb.id);
    let tree = match s.public.tree(s.store.as_ref(), &kb.id, generation).await {
        Ok(t) => t,
        // Deleted or unpublished between the two reads: the slug names nothing now.
        Err(e) => match s.store.public_kb_by_slug(slug).await? {
            None => return Ok(None),
            Some(_) => return Err(e),
        },
    };
    if !confirmed(&tree) {
        return Ok(None);
    }
    s.hosted.remember_slug(slug, &kb.id);
    Ok(Some((tree, generation)))
}

/// Sends a page: gzip when accepted, 304 when the client's copy is current, security headers
/// always.
pub(crate) fn respond<H: Headers + ?Sized>(page: &Page, headers: &H) -> Response {
    respond_to(page, page.body.negotiate(headers))
}

/// [`respond`] once the representation is known.
fn respond_to(page: &Page, negotiated: Negotiated<'_>) -> Response {
    let Negotiated { gzip, fresh, .. } = negotiated;
    if fresh && page.status == StatusCode::OK {
        with_page_headers(page, CachedBody::not_modified(), gzip)
    } else {
        page_response(page, gzip)
    }
}

/// The page in full, in representation `gzip`.
pub(crate) fn page_response(page: &Page, gzip: bool) -> Response {
    with_page_headers(page, page.body.body_response(page.status, gzip), gzip)
}

/// A cached page's answer is the page's.
impl FixedPart for Page {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn response(&self, _body: &CachedBody, gzip: bool) -> Response {
        page_response(self, gzip)
    }
}

fn with_page_headers(page: &Page, mut resp: Response, gzip: bool) -> Response {
    let body = &page.body;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(page.content_type),
    );
    if page.status == StatusCode::OK {
        let etag = if gzip { &body.etag_gzip } else { &body.etag };
        h.insert(header::ETAG, etag.clone());
    }
    // Pages change on every write; browsers revalidate with the ETag, which costs a 304.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if body.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    h.insert(header::CONTENT_SECURITY_POLICY, page.csp.clone());
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if !page.embeddable {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    resp
}
