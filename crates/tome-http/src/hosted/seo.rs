//! What machines read: `sitemap.xml`, `robots.txt`, `llms.txt`, `llms-full.txt` and each
//! article as Markdown at its URL plus `.md`.

use std::fmt::Write;

use tome_core::model::Article;
use tome_store::StoreError;

use super::cache::Page;
use super::layout::text_page;
use super::site::Site;
use super::view::{article_url, category_url, section_url};
use crate::state::AppState;

const MARKDOWN: &str = "text/markdown; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Every page of the KB with an absolute URL; articles with their last change.
pub(crate) fn sitemap(site: &Site) -> Page {
    let root = &site.canonical_root;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let mut url = |loc: String, lastmod: Option<&str>| {
        let _ = write!(out, "  <url><loc>{}</loc>", xml_escape(&loc));
        if let Some(d) = lastmod.and_then(|d| d.get(..10)) {
            let _ = write!(out, "<lastmod>{d}</lastmod>");
        }
        out.push_str("</url>\n");
    };
    url(root.clone(), None);
    for c in &site.tree.categories {
        url(category_url(root, c), None);
    }
    for s in &site.tree.sections {
        url(section_url(root, s), None);
    }
    for a in &site.tree.articles {
        url(article_url(root, a), Some(&a.updated_at));
    }
    if !site.tree.faqs.is_empty() {
        url(format!("{root}/faq"), None);
    }
    out.push_str("</urlset>\n");
    text_page("application/xml; charset=utf-8", out)
}

pub(crate) fn robots(site: &Site) -> Page {
    text_page(
        TEXT,
        format!(
            "User-agent: *\nAllow: /\nDisallow: {root}/search\nDisallow: {root}/ask\n\nSitemap: {canonical}/sitemap.xml\n",
            root = site.root,
            canonical = site.canonical_root
        ),
    )
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The llms.txt index: the KB, then each category's articles as links to their Markdown.
pub(crate) fn llms(site: &Site) -> Page {
    let tree = &site.tree;
    let root = &site.canonical_root;
    let mut out = format!("# {}\n\n", one_line(&tree.kb.title));
    if let Some(d) = tree
        .kb
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        let _ = writeln!(out, "> {}\n", one_line(d));
    }
    let _ = writeln!(
        out,
        "Every article is also available as Markdown at its URL plus `.md`; the full text of all \
         articles is at {root}/llms-full.txt. Agents can search and read this help centre through \
         its MCP server (Streamable HTTP, no key): {root}/mcp\n"
    );
    for c in &tree.categories {
        let articles: Vec<&Article> = tree
            .articles
            .iter()
            .filter(|a| a.category_id == c.id)
            .collect();
        if articles.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {}\n", one_line(&c.name));
        for a in articles {
            let _ = write!(
                out,
                "- [{}]({}.md)",
                one_line(&a.title),
                article_url(root, a)
            );
            match a.excerpt.as_deref().filter(|e| !e.trim().is_empty()) {
                Some(e) => {
                    let _ = writeln!(out, ": {}", one_line(e));
                }
                None => out.push('\n'),
            }
        }
        out.push('\n');
    }
    text_page(TEXT, out)
}

fn article_markdown(a: &Article) -> String {
    let body = a.body.trim_start();
    if body.starts_with("# ") {
        format!("{}\n", a.body.trim_end())
    } else {
        format!("# {}\n\n{}\n", a.title, a.body.trim_end())
    }
}

/// Every published article's Markdown in one file, in navigation order.
pub(crate) async fn llms_full(s: &AppState, site: &Site) -> Result<Page, StoreError> {
    let tree = &site.tree;
    let mut out = format!("# {}\n\n", one_line(&tree.kb.title));
    if let Some(d) = tree
        .kb
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        let _ = writeln!(out, "> {}\n", one_line(d));
    }
    for listed in &tree.articles {
        let Some(a) = s.store.published_article(&tree.kb.id, &listed.id).await? else {
            continue;
        };
        let _ = write!(
            out,
            "---\n\nSource: {}\n\n{}\n",
            article_url(&site.canonical_root, &a),
            article_markdown(&a)
        );
    }
    Ok(text_page(TEXT, out))
}

/// One published article as raw Markdown, titled.
pub(crate) async fn markdown(
    s: &AppState,
    site: &Site,
    id: &str,
) -> Result<Option<Page>, StoreError> {
    if !site.tree.articles.iter().any(|a| a.id == id) {
        return Ok(None);
    }
    let article = s.store.published_article(&site.tree.kb.id, id).await?;
    Ok(article.map(|a| text_page(MARKDOWN, article_markdown(&a))))
}
