//! What every hosted page shares: the theme's chrome and stylesheets, the KB's inline style and
//! the Content-Security-Policy that allows it, page metadata, and the error pages.

use axum::http::{HeaderValue, StatusCode};
use base64::Engine;
use minijinja::context;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tome_core::model::{KnowledgeBase, Theme};
use tome_store::StoreError;

use super::assets::assets;
use super::cache::Page;
use super::site::Site;
use super::templates;
use super::view::{Crumb, nav};
use crate::cache::CachedBody;

pub(crate) const HTML: &str = "text/html; charset=utf-8";

/// The KB's own CSS: its primary colour as a custom property, then its `custom_css`, made
/// unable to close the `<style>` element it is placed in.
fn inline_style(kb: &KnowledgeBase) -> Option<String> {
    let settings = kb.theme_settings.as_ref()?;
    let mut css = String::new();
    if let Some(color) = &settings.primary_color {
        // Validated as `#rgb`/`#rrggbb` on write; checked again because it lands in CSS.
        if color.starts_with('#') && color[1..].bytes().all(|b| b.is_ascii_hexdigit()) {
            css.push_str(&format!(":root{{--primary:{color}}}"));
        }
    }
    if let Some(custom) = settings
        .custom_css
        .as_deref()
        .filter(|c| !c.trim().is_empty())
    {
        css.push('\n');
        css.push_str(&tome_render::inert_css(custom));
    }
    (!css.is_empty()).then_some(css)
}

/// The page's Content-Security-Policy: nothing but our own stylesheets, the KB's one inline
/// style (by hash), images from here or HTTPS, and forms that submit here. No script at all,
/// unless the page has the Ask box (`ask`): then scripts from this origin only — the one
/// first-party asset, never an inline script or event handler — and requests back to it (the
/// answer stream). `frame` is who may frame the page (`frame-ancestors`).
fn csp(style: Option<&str>, frame: &str, ask: bool) -> HeaderValue {
    let style_src = match style {
        Some(css) => {
            let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css));
            format!("'self' 'sha256-{hash}'")
        }
        None => "'self'".to_string(),
    };
    let script = if ask {
        "script-src 'self'; connect-src 'self'; "
    } else {
        ""
    };
    let policy = format!(
        "default-src 'none'; {script}style-src {style_src}; img-src 'self' https:; \
         form-action 'self'; base-uri 'none'; frame-ancestors {frame}"
    );
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'none'"))
}

/// The policy of a dashboard theme preview of `kb`'s pages: the hosted page's own (the same
/// inline style hash, the same script rule), except that this site's own pages may frame it.
pub(crate) fn preview_csp(kb: &KnowledgeBase) -> HeaderValue {
    csp(
        inline_style(kb).as_deref(),
        "'self'",
        super::ask::enabled(kb),
    )
}

#[derive(Debug, Serialize)]
struct SiteView<'a> {
    title: &'a str,
    description: Option<&'a str>,
    slug: &'a str,
    theme: &'static str,
    mode: &'static str,
    logo: Option<&'a str>,
    root: &'a str,
    search_url: String,
    faq_url: Option<String>,
    css: Vec<String>,
    favicon: String,
    inline_style: Option<String>,
    /// Where the Ask box's form goes (`<root>/ask`); `None` when the KB turned the box off.
    ask_url: Option<String>,
    /// The Ask box's script (a hashed asset URL), with the box.
    ask_script: Option<String>,
    /// The article the page shows (its path below the root), sent with a question so retrieval
    /// leans toward it.
    ask_from: Option<String>,
}

/// What a page says about itself: `<title>`, meta description, canonical URL, breadcrumbs.
#[derive(Debug, Serialize)]
pub(crate) struct PageMeta {
    kind: &'static str,
    /// The `<title>`.
    title: String,
    description: String,
    canonical: String,
    pub crumbs: Vec<Crumb>,
}

fn css_urls(assets_root: &str, theme: Theme) -> Vec<String> {
    let a = assets();
    [
        "base.css",
        &format!("{}.css", theme.as_str()),
        "highlight.css",
    ]
    .iter()
    .map(|name| format!("{assets_root}/{}", a.file(name)))
    .collect()
}

fn site_view<'a>(site: &'a Site, meta: &PageMeta) -> SiteView<'a> {
    let kb = &site.tree.kb;
    let ask = super::ask::enabled(kb);
    let dark = kb
        .theme_settings
        .as_ref()
        .and_then(|t| t.dark_mode)
        .unwrap_or(false);
    SiteView {
        title: &kb.title,
        description: kb.description.as_deref(),
        slug: &kb.slug,
        theme: kb.theme.as_str(),
        mode: if dark { "dark" } else { "light" },
        logo: kb.logo_path.as_deref(),
        root: &site.root,
        search_url: format!("{}/search", site.root),
        faq_url: (!site.tree.faqs.is_empty()).then(|| format!("{}/faq", site.root)),
        css: css_urls(site.assets_root, kb.theme),
        favicon: format!("{}/{}", site.assets_root, assets().file("favicon.svg")),
        inline_style: inline_style(kb),
        ask_url: ask.then(|| format!("{}/ask", site.root)),
        ask_script: ask.then(|| format!("{}/{}", site.assets_root, assets().file("ask.js"))),
        ask_from: (ask && meta.kind == "article")
            .then(|| meta.canonical.strip_prefix(&site.canonical_root))
            .flatten()
            .map(str::to_string),
    }
}

pub(crate) fn home_crumb(site: &Site) -> Crumb {
    Crumb {
        name: site.tree.kb.title.clone(),
        url: Some(site.root.clone()),
    }
}

/// Renders `template` (which extends the KB's theme layout) into a page.
pub(crate) fn html_page(
    site: &Site,
    status: StatusCode,
    template: &str,
    meta: PageMeta,
    extra: minijinja::Value,
) -> Page {
    let sv = site_view(site, &meta);
    let embeddable = site.tree.kb.theme == Theme::Bare;
    let csp = csp(
        sv.inline_style.as_deref(),
        if embeddable { "*" } else { "'none'" },
        sv.ask_script.is_some(),
    );
    let ctx = context! {
        layout => format!("layout_{}.html", sv.theme),
        site => sv,
        page => meta,
        nav => nav(&site.tree, &site.root),
        ..extra
    };
    let body = match templates::render(template, ctx) {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(template, error = %format!("{e:#}"), "hosted page failed to render");
            return failure_page(site.assets_root, StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    Page {
        status,
        body: CachedBody::shared(body.into_bytes()),
        content_type: HTML,
        csp,
        embeddable,
    }
}

pub(crate) fn text_page(content_type: &'static str, body: String) -> Page {
    Page {
        status: StatusCode::OK,
        body: CachedBody::shared(body.into_bytes()),
        content_type,
        csp: HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        embeddable: false,
    }
}

pub(crate) fn meta(
    site: &Site,
    kind: &'static str,
    title: &str,
    description: &str,
    path: &str,
) -> PageMeta {
    let kb = &site.tree.kb;
    PageMeta {
        kind,
        title: if title == kb.title {
            title.to_string()
        } else {
            format!("{title} · {}", kb.title)
        },
        description: tome_render::excerpt(description, 160),
        canonical: format!("{}{path}", site.canonical_root),
        crumbs: Vec::new(),
    }
}

/// A missing page inside a KB, in the KB's theme.
pub(crate) fn not_found(site: &Site) -> Page {
    let mut m = meta(site, "error", "Page not found", "Page not found", "");
    m.crumbs = vec![home_crumb(site)];
    html_page(
        site,
        StatusCode::NOT_FOUND,
        "error.html",
        m,
        context! {
            error => context! {
                status => 404,
                heading => "We couldn’t find that page",
                message => "It may have been moved or unpublished. Try searching, or start from the home page.",
            }
        },
    )
}

/// A page outside any KB (unknown or private slug, a failure, a refusal): Tome's own plain
/// look, saying nothing about whether a private KB exists.
fn standalone(assets_root: &str, status: StatusCode, heading: &str, message: &str) -> Page {
    let ctx = context! {
        layout => "layout_minimal.html",
        site => context! {
            title => "Help centre",
            theme => "minimal",
            mode => "light",
            css => css_urls(assets_root, Theme::Minimal),
            favicon => format!("{assets_root}/{}", assets().file("favicon.svg")),
        },
        page => context! { kind => "error", title => heading, description => message },
        nav => Vec::<()>::new(),
        error => context! { status => status.as_u16(), heading, message },
    };
    let body = templates::render("error.html", ctx).unwrap_or_else(|e| {
        tracing::error!(error = %format!("{e:#}"), "hosted error page failed to render");
        heading.to_string()
    });
    Page {
        status,
        body: CachedBody::shared(body.into_bytes()),
        content_type: HTML,
        csp: csp(None, "'none'", false),
        embeddable: false,
    }
}

pub(crate) fn unknown_site(assets_root: &str) -> Page {
    standalone(
        assets_root,
        StatusCode::NOT_FOUND,
        "We couldn’t find that help centre",
        "Check the address, or ask the team that sent you here for the right link.",
    )
}

pub(crate) fn too_many_requests(assets_root: &str) -> Page {
    standalone(
        assets_root,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests",
        "You have loaded a lot of pages in a short time. Please wait a minute and try again.",
    )
}

fn failure_page(assets_root: &str, status: StatusCode) -> Page {
    standalone(
        assets_root,
        status,
        "Something went wrong",
        "This page could not be loaded right now. Please try again in a moment.",
    )
}

pub(crate) fn failure(e: &StoreError, assets_root: &str) -> Page {
    let status = match e {
        StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    tracing::error!(error = %e, "hosted page failed");
    failure_page(assets_root, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_hashes_the_inline_style() {
        let p = csp(Some("a{}"), "'none'", false);
        let p = p.to_str().unwrap_or_default();
        assert!(p.contains("style-src 'self' 'sha256-"), "{p}");
        assert!(p.contains("frame-ancestors 'none'"));
        assert!(!p.contains("script-src"));
        assert!(!p.contains("connect-src"));
        assert!(p.starts_with("default-src 'none'"));
    }

    #[test]
    fn csp_allows_only_first_party_script_with_the_ask_box() {
        let p = csp(Some("a{}"), "'none'", true);
        let p = p.to_str().unwrap_or_default();
        assert!(p.starts_with("default-src 'none'; "), "{p}");
        assert!(p.contains("; script-src 'self'; "), "{p}");
        assert!(p.contains("; connect-src 'self'; "), "{p}");
        // Only the stylesheet's hash: no inline script, no eval, no other origin.
        assert!(!p.contains("unsafe"), "{p}");
        assert_eq!(p.matches("'sha256-").count(), 1, "{p}");
        assert!(!p.contains("://"), "{p}");
    }
}
