//! Rendering: the templates (embedded, parsed once), the page chrome every signed-in page shares,
//! the response headers every dashboard page carries, flash messages, redirects and error pages.

use std::sync::LazyLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Environment, Value, context};
use serde::Serialize;
use tome_http::AppState;
use tome_http::error::ApiError;
use tome_store::StoreError;

use crate::assets;
use crate::session::{Session, is_secure};

/// Every template, by name, embedded at compile time.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    ("overview.html", include_str!("../templates/overview.html")),
    ("error.html", include_str!("../templates/error.html")),
    (
        "content_macros.html",
        include_str!("../templates/content_macros.html"),
    ),
    (
        "content_tree.html",
        include_str!("../templates/content_tree.html"),
    ),
    (
        "content_articles.html",
        include_str!("../templates/content_articles.html"),
    ),
    (
        "category_form.html",
        include_str!("../templates/category_form.html"),
    ),
    (
        "section_form.html",
        include_str!("../templates/section_form.html"),
    ),
    (
        "confirm_delete.html",
        include_str!("../templates/confirm_delete.html"),
    ),
    (
        "article_form.html",
        include_str!("../templates/article_form.html"),
    ),
    ("faqs.html", include_str!("../templates/faqs.html")),
    ("faq_form.html", include_str!("../templates/faq_form.html")),
    ("search.html", include_str!("../templates/search.html")),
    ("kbs.html", include_str!("../templates/kbs.html")),
    ("kb_form.html", include_str!("../templates/kb_form.html")),
    (
        "kb_delete.html",
        include_str!("../templates/kb_delete.html"),
    ),
    (
        "preview_refused.html",
        include_str!("../templates/preview_refused.html"),
    ),
    ("site_key.html", include_str!("../templates/site_key.html")),
    ("keys.html", include_str!("../templates/keys.html")),
    ("project.html", include_str!("../templates/project.html")),
    ("source.html", include_str!("../templates/source.html")),
    ("update.html", include_str!("../templates/update.html")),
    (
        "conversations.html",
        include_str!("../templates/conversations.html"),
    ),
    (
        "conversation.html",
        include_str!("../templates/conversation.html"),
    ),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Pages look at optional context (`kb.title` outside a KB): missing values read as empty.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    // `.html` templates escape every value; nothing user-provided is ever marked `|safe` except
    // HTML that went through Tome's renderer and sanitiser (the article preview).
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    // The hosted pages' escaping (`& < > " '`, not `/`), so URLs stay readable.
    env.set_formatter(tome_http::hosted::templates::format_value);
    env.add_function("asset", |name: &str| -> String {
        format!("/dashboard/assets/{}", assets::assets().file(name))
    });
    env.add_filter("urlencode_component", |s: &str| encode_component(s));
    env.add_filter("count", count);
    for &(name, source) in TEMPLATES {
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "dashboard template does not parse");
        }
    }
    env
});

/// Adds templates of a page module to the environment. Each module lists its own; they are
/// registered once, on first use, before any rendering.
/// `{{ n|count("article") }}`: "1 article", "4 articles" (`{{ n|count("child", "children") }}`
/// where adding an s is wrong).
fn count(n: i64, one: &str, many: Option<&str>) -> String {
    match (n, many) {
        (1, _) => format!("1 {one}"),
        (_, Some(many)) => format!("{n} {many}"),
        (_, None) => format!("{n} {one}s"),
    }
}

pub fn env() -> &'static Environment<'static> {
    &ENV
}

/// The policy of every dashboard page: our own script and styles only, no inline script, forms
/// post only here, never framed. Theme previews (`frame-src 'self'`) are the one frame.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'";

/// Headers every dashboard response carries: private, never stored (the back button after
/// sign-out shows nothing), never framed, never sniffed.
pub fn protect(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
}

/// Renders `template` with `ctx` into a complete response with the dashboard's headers.
pub fn render(status: StatusCode, template: &str, ctx: Value) -> Response {
    let html = env().get_template(template).and_then(|t| t.render(ctx));
    let (status, body) = match html {
        Ok(body) => (status, body),
        Err(e) => {
            tracing::error!(template, error = %e, "dashboard page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Error</title><p>This page could not be rendered."
                    .to_string(),
            )
        }
    };
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    protect(resp.headers_mut());
    resp
}

/// Percent-encodes a URL component (query value or path segment).
pub fn encode_component(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `303 See Other` to `location`: where every successful form post goes (post/redirect/get).
pub fn see_other(location: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    protect(resp.headers_mut());
    resp
}

/// The kind of a flash message, for its colour and its ARIA role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Info,
    Error,
}

/// A one-time message shown on the next page (after a redirect): "Article published."
#[derive(Debug, Clone, Serialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

const FLASH_COOKIE: &str = "tome_flash";

/// Attaches a flash message to a response (a short-lived cookie the next page reads and clears).
pub fn set_flash(resp: &mut Response, message: &str, kind: FlashKind) {
    let tag = match kind {
        FlashKind::Success => 's',
        FlashKind::Info => 'i',
        FlashKind::Error => 'e',
    };
    let value = format!(
        "{FLASH_COOKIE}={tag}{}; Path=/dashboard; HttpOnly; SameSite=Lax; Max-Age=60",
        encode_component(message)
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Removes a flash message the page has shown.
pub fn clear_flash(resp: &mut Response) {
    resp.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("tome_flash=; Path=/dashboard; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
}

/// A redirect carrying a flash message.
pub fn redirect_with(location: &str, message: &str, kind: FlashKind) -> Response {
    let mut resp = see_other(location);
    set_flash(&mut resp, message, kind);
    resp
}

/// The flash message a request's cookie carries, if any.
pub fn flash_of(headers: &HeaderMap) -> Option<Flash> {
    let raw = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(n, _)| *n == FLASH_COOKIE)
        .map(|(_, v)| v.to_string())?;
    let mut chars = raw.chars();
    let kind = match chars.next()? {
        's' => FlashKind::Success,
        'e' => FlashKind::Error,
        _ => FlashKind::Info,
    };
    let message: String = url::form_urlencoded::parse(format!("m={}", chars.as_str()).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())?;
    // A flash is one line of our own making; anything longer was not.
    (!message.is_empty() && message.chars().count() <= 300).then_some(Flash { kind, message })
}

/// What a signed-in page renders with: the session and a pending flash message.
pub struct Dash {
    pub session: Session,
    pub flash: Option<Flash>,
}

impl FromRequestParts<AppState> for Dash {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state).await?;
        Ok(Dash {
            session,
            flash: flash_of(&parts.headers),
        })
    }
}

/// Where in the navigation a page sits, so the chrome marks it (`aria-current`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Nav {
    /// The top-level section: `overview`, `kbs`, `keys`, `project`, `assistant`.
    pub section: &'static str,
    /// Inside a KB: the KB (`{id, title, slug}`) and its tab: `content`, `faqs`, `search`,
    /// `settings`, `site-key`, `source`.
    pub kb: Option<Value>,
    pub tab: &'static str,
}

impl Dash {
    /// Renders a signed-in page: the chrome (navigation, the sign-out form with the CSRF token,
    /// the flash message) around `template` with `ctx`.
    pub fn page(&self, template: &str, title: &str, nav: Nav, ctx: Value) -> Response {
        self.page_status(StatusCode::OK, template, title, nav, ctx)
    }

    /// [`Dash::page`] with another status (422 for a form shown again with its errors).
    pub fn page_status(
        &self,
        status: StatusCode,
        template: &str,
        title: &str,
        nav: Nav,
        ctx: Value,
    ) -> Response {
        let chrome = context! {
            title => title,
            csrf => self.session.csrf,
            key_prefix => self.session.key_prefix,
            project_id => self.session.project_id,
            flash => self.flash,
            nav => nav,
        };
        let mut resp = render(status, template, context! { ..chrome, ..ctx });
        if self.flash.is_some() {
            clear_flash(&mut resp);
        }
        resp
    }
}

/// The page for a refused or failed request: 404 for anything not found (another project's IDs
/// included: no existence leak), 503 when the database is unreachable.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    render(
        status,
        "error.html",
        context! { status => status.as_u16(), reason => status.canonical_reason(), message },
    )
}

/// [`error_page`] for a store error, mapped as the REST API maps it.
pub fn store_error_page(e: StoreError, _parts: &Parts) -> Response {
    api_error_page(ApiError::from(e))
}

/// [`error_page`] for an API error.
pub fn api_error_page(e: ApiError) -> Response {
    error_page(e.status, &e.message)
}

/// 429 with `Retry-After`.
pub fn too_many_requests(retry_after: u64) -> Response {
    let mut resp = error_page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests. Wait a moment and try again.",
    );
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// Whether the request came over https (for cookies set outside [`Session`]).
pub fn secure(state: &AppState, parts: &Parts) -> bool {
    is_secure(state, parts)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_as_english() {
        let env = super::env();
        let render = |n: i64| {
            env.render_str(
                "{{ n|count(\"article\") }}, {{ n|count(\"entry\", \"entries\") }}",
                minijinja::context! { n },
            )
            .expect("the template renders")
        };
        assert_eq!(render(1), "1 article, 1 entry");
        assert_eq!(render(0), "0 articles, 0 entries");
        assert_eq!(render(4), "4 articles, 4 entries");
    }
}
