//! Rendering each kind of hosted page from a KB's published tree.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, Uri};
use base64::Engine;
use minijinja::context;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tome_core::model::{KnowledgeBase, Theme};
use tome_store::StoreError;

use super::assets::assets;
use super::cache::Page;
use super::view::{
    self, ArticleLink, Crumb, article_link, category_url, faq_view, id_of, nav, section_url,
};
use super::{Site, search_published, seo, templates};
use crate::AppState;
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
/// style (by hash), images from here or HTTPS, and forms that submit here. No script at all.
fn csp(style: Option<&str>, embeddable: bool) -> HeaderValue {
    let style_src = match style {
        Some(css) => {
            let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css));
            format!("'self' 'sha256-{hash}'")
        }
        None => "'self'".to_string(),
    };
    let frame = if embeddable { "*" } else { "'none'" };
    let policy = format!(
        "default-src 'none'; style-src {style_src}; img-src 'self' https:; form-action 'self'; \
         base-uri 'none'; frame-ancestors {frame}"
    );
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'none'"))
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
}

#[derive(Debug, Serialize)]
struct PageMeta {
    kind: &'static str,
    /// The `<title>`.
    title: String,
    description: String,
    canonical: String,
    crumbs: Vec<Crumb>,
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

fn site_view<'a>(site: &'a Site) -> SiteView<'a> {
    let kb = &site.tree.kb;
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
    }
}

fn home_crumb(site: &Site) -> Crumb {
    Crumb {
        name: site.tree.kb.title.clone(),
        url: Some(site.root.clone()),
    }
}

/// Renders `template` (which extends the KB's theme layout) into a page.
fn html_page(
    site: &Site,
    status: StatusCode,
    template: &str,
    meta: PageMeta,
    extra: minijinja::Value,
) -> Page {
    let sv = site_view(site);
    let embeddable = site.tree.kb.theme == Theme::Bare;
    let csp = csp(sv.inline_style.as_deref(), embeddable);
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
        body: Arc::new(CachedBody::new(body.into_bytes())),
        content_type: HTML,
        csp,
        embeddable,
    }
}

pub(crate) fn text_page(content_type: &'static str, body: String) -> Page {
    Page {
        status: StatusCode::OK,
        body: Arc::new(CachedBody::new(body.into_bytes())),
        content_type,
        csp: HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        embeddable: false,
    }
}

/// Renders the page at `rest` (the path after the KB's root).
pub(crate) async fn render(s: &AppState, site: &Site, rest: &str, uri: &Uri) -> Page {
    let segments: Vec<&str> = rest.split('/').collect();
    let result = match segments.as_slice() {
        [""] => Ok(Some(home(site))),
        ["faq"] => Ok(faq(site)),
        ["search"] => search(s, site, uri).await.map(Some),
        ["sitemap.xml"] => Ok(Some(seo::sitemap(site))),
        ["robots.txt"] => Ok(Some(seo::robots(site))),
        ["llms.txt"] => Ok(Some(seo::llms(site))),
        ["llms-full.txt"] => seo::llms_full(s, site).await.map(Some),
        ["categories", seg] => Ok(category(site, id_of(seg))),
        ["sections", seg] => Ok(section(site, id_of(seg))),
        ["articles", seg] => match seg.strip_suffix(".md") {
            Some(seg) => seo::markdown(s, site, id_of(seg)).await,
            None => article(s, site, id_of(seg)).await,
        },
        _ => Ok(None),
    };
    match result {
        Ok(Some(page)) => page,
        Ok(None) => not_found(site),
        Err(e) => failure(&e, site.assets_root),
    }
}

fn meta(site: &Site, kind: &'static str, title: &str, description: &str, path: &str) -> PageMeta {
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

fn home(site: &Site) -> Page {
    let kb = &site.tree.kb;
    let description = kb.description.clone().unwrap_or_default();
    let m = meta(site, "home", &kb.title, &description, "");
    let faqs: Vec<_> = site.tree.faqs.iter().take(6).map(faq_view).collect();
    html_page(site, StatusCode::OK, "home.html", m, context! { faqs })
}

fn category(site: &Site, id: &str) -> Option<Page> {
    let categories = nav(&site.tree, &site.root);
    let c = categories.into_iter().find(|c| c.id == id)?;
    let mut m = meta(
        site,
        "category",
        &c.name,
        c.description.as_deref().unwrap_or(&c.name),
        &c.url[site.root.len()..],
    );
    m.crumbs = vec![
        home_crumb(site),
        Crumb {
            name: c.name.clone(),
            url: None,
        },
    ];
    let faqs: Vec<_> = site
        .tree
        .faqs
        .iter()
        .filter(|f| f.category_id == id)
        .map(faq_view)
        .collect();
    Some(html_page(
        site,
        StatusCode::OK,
        "category.html",
        m,
        context! { category => c, faqs },
    ))
}

fn section(site: &Site, id: &str) -> Option<Page> {
    let sec = site.tree.sections.iter().find(|s| s.id == id)?;
    let cat = site
        .tree
        .categories
        .iter()
        .find(|c| c.id == sec.category_id)?;
    let view = nav(&site.tree, &site.root)
        .into_iter()
        .find(|c| c.id == cat.id)?
        .sections
        .into_iter()
        .find(|s| s.id == id)?;
    let mut m = meta(
        site,
        "section",
        &sec.name,
        sec.description.as_deref().unwrap_or(&sec.name),
        &section_url("", sec),
    );
    m.crumbs = vec![
        home_crumb(site),
        Crumb {
            name: cat.name.clone(),
            url: Some(category_url(&site.root, cat)),
        },
        Crumb {
            name: sec.name.clone(),
            url: None,
        },
    ];
    let faqs: Vec<_> = site
        .tree
        .faqs
        .iter()
        .filter(|f| f.section_id.as_deref() == Some(id))
        .map(faq_view)
        .collect();
    Some(html_page(
        site,
        StatusCode::OK,
        "section.html",
        m,
        context! { section => view, faqs },
    ))
}

#[derive(Debug, Serialize)]
struct ArticleView {
    id: String,
    title: String,
    body_html: String,
    toc: Vec<TocItem>,
    tags: Vec<String>,
    updated: String,
    updated_iso: String,
    related: Vec<ArticleLink>,
    markdown_url: String,
}

#[derive(Debug, Serialize)]
struct TocItem {
    level: u8,
    id: String,
    text: String,
}

async fn article(s: &AppState, site: &Site, id: &str) -> Result<Option<Page>, StoreError> {
    let tree = &site.tree;
    // The tree lists exactly the published articles; anything else is not found.
    let Some(listed) = tree.articles.iter().find(|a| a.id == id) else {
        return Ok(None);
    };
    let Some(a) = s.store.published_article(&tree.kb.id, &listed.id).await? else {
        return Ok(None);
    };
    let rendered = tome_render::render(&a.body);
    let url = view::article_url("", &a);
    let description = match a.excerpt.as_deref().filter(|e| !e.trim().is_empty()) {
        Some(e) => e.to_string(),
        None => tome_render::excerpt(&a.body, 160),
    };
    let mut m = meta(site, "article", &a.title, &description, &url);
    m.crumbs = vec![home_crumb(site)];
    if let Some(c) = tree.categories.iter().find(|c| c.id == a.category_id) {
        m.crumbs.push(Crumb {
            name: c.name.clone(),
            url: Some(category_url(&site.root, c)),
        });
    }
    if let Some(sec) = a
        .section_id
        .as_deref()
        .and_then(|sid| tree.sections.iter().find(|x| x.id == sid))
    {
        m.crumbs.push(Crumb {
            name: sec.name.clone(),
            url: Some(section_url(&site.root, sec)),
        });
    }
    m.crumbs.push(Crumb {
        name: a.title.clone(),
        url: None,
    });
    let related = a
        .related_articles
        .iter()
        .filter_map(|rid| tree.articles.iter().find(|x| &x.id == rid))
        .map(|x| article_link(&site.root, x))
        .collect();
    let view = ArticleView {
        markdown_url: format!("{}{url}.md", site.root),
        id: a.id.clone(),
        title: a.title.clone(),
        body_html: rendered.html,
        toc: rendered
            .toc
            .into_iter()
            .map(|t| TocItem {
                level: t.level,
                id: t.id,
                text: t.text,
            })
            .collect(),
        tags: a.tags.clone(),
        updated: view::human_date(&a.updated_at),
        updated_iso: a.updated_at.replace(' ', "T") + "Z",
        related,
    };
    Ok(Some(html_page(
        site,
        StatusCode::OK,
        "article.html",
        m,
        context! { article => view, category_id => a.category_id.clone() },
    )))
}

fn faq(site: &Site) -> Option<Page> {
    if site.tree.faqs.is_empty() {
        return None;
    }
    #[derive(Serialize)]
    struct Group {
        name: String,
        faqs: Vec<view::FaqView>,
    }
    let groups: Vec<Group> = site
        .tree
        .categories
        .iter()
        .map(|c| Group {
            name: c.name.clone(),
            faqs: site
                .tree
                .faqs
                .iter()
                .filter(|f| f.category_id == c.id)
                .map(faq_view)
                .collect(),
        })
        .filter(|g| !g.faqs.is_empty())
        .collect();
    let mut m = meta(
        site,
        "faq",
        "Frequently asked questions",
        &format!("Answers to common questions about {}.", site.tree.kb.title),
        "/faq",
    );
    m.crumbs = vec![
        home_crumb(site),
        Crumb {
            name: "FAQ".into(),
            url: None,
        },
    ];
    Some(html_page(
        site,
        StatusCode::OK,
        "faq.html",
        m,
        context! { groups },
    ))
}

async fn search(s: &AppState, site: &Site, uri: &Uri) -> Result<Page, StoreError> {
    let params = Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default();
    // Long queries are cut rather than refused: a reader gets results, not an error.
    let q: String = params
        .get("q")
        .map(|q| q.trim().chars().take(500).collect())
        .unwrap_or_default();
    let (articles, faqs) = if q.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let hits = search_published(s, &site.tree.kb, &q).await?;
        // Only what the hosted tree shows (published, in an existing category) is linked.
        let articles: Vec<ArticleLink> = hits
            .articles
            .iter()
            .filter(|a| site.tree.articles.iter().any(|t| t.id == a.id))
            .map(|a| {
                let mut link = article_link(&site.root, a);
                if link.excerpt.is_empty() {
                    link.excerpt = tome_render::excerpt(&a.body, 200);
                }
                link
            })
            .collect();
        let faqs: Vec<_> = hits
            .faqs
            .iter()
            .filter(|f| site.tree.faqs.iter().any(|t| t.id == f.id))
            .map(faq_view)
            .collect();
        (articles, faqs)
    };
    let title = if q.is_empty() {
        "Search".to_string()
    } else {
        format!("Search results for “{q}”")
    };
    let mut m = meta(site, "search", &title, &title, "/search");
    m.crumbs = vec![
        home_crumb(site),
        Crumb {
            name: "Search".into(),
            url: None,
        },
    ];
    let count = articles.len() + faqs.len();
    Ok(html_page(
        site,
        StatusCode::OK,
        "search.html",
        m,
        context! { q, articles, faqs, count },
    ))
}

/// A missing page inside a KB, in the KB's theme.
fn not_found(site: &Site) -> Page {
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
        body: Arc::new(CachedBody::new(body.into_bytes())),
        content_type: HTML,
        csp: csp(None, false),
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
        let p = csp(Some("a{}"), false);
        let p = p.to_str().unwrap_or_default();
        assert!(p.contains("style-src 'self' 'sha256-"), "{p}");
        assert!(p.contains("frame-ancestors 'none'"));
        assert!(!p.contains("script-src"));
        assert!(p.starts_with("default-src 'none'"));
    }
}
