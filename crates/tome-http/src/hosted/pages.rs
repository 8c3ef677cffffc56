//! Rendering each kind of hosted page from a KB's published tree.

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::{StatusCode, Uri};
use minijinja::context;
use serde::Serialize;
use tome_store::StoreError;

use super::cache::Page;
use super::layout::{failure, home_crumb, html_page, meta, not_found};
use super::seo;
use super::site::{Site, search_published};
use super::view::{
    self, ArticleLink, Crumb, article_link, category_url, faq_view, id_of, nav, section_url,
};
use crate::state::AppState;

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

pub(crate) fn home(site: &Site) -> Page {
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
    let rendered = s.hosted.render(&a.body).await;
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
        body_html: rendered.html.clone(),
        toc: rendered
            .toc
            .iter()
            .map(|t| TocItem {
                level: t.level,
                id: t.id.clone(),
                text: t.text.clone(),
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
        // Only what the hosted tree shows (published, in an existing category) is linked, in the
        // engine's order.
        let articles: Vec<ArticleLink> = hits
            .articles
            .iter()
            .filter_map(|hit| {
                let a = site.tree.articles.iter().find(|t| t.id == hit.id)?;
                let mut link = article_link(&site.root, a);
                link.highlight = Some(hit.highlight.clone()).filter(|h| !h.is_empty());
                if link.excerpt.is_empty() {
                    link.excerpt = hit.excerpt.clone().unwrap_or_default();
                }
                Some(link)
            })
            .collect();
        let faqs: Vec<_> = hits
            .faqs
            .iter()
            .filter_map(|hit| site.tree.faqs.iter().find(|t| t.id == hit.id))
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
