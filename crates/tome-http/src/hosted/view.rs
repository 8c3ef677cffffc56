//! What templates see: the KB's published tree turned into linked, counted view models.

use serde::Serialize;
use tome_core::model::{Article, Category, Faq, Section};
use tome_render::slugify;
use tome_store::PublishedTree;

/// A link to an article.
#[derive(Debug, Clone, Serialize)]
pub struct ArticleLink {
    pub id: String,
    pub title: String,
    pub excerpt: String,
    pub url: String,
    /// On search results: the passage that matched, HTML-escaped by the search engine with the
    /// matched words in `<mark>` (so it is rendered as HTML, not text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highlight: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SectionView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub url: String,
    pub articles: Vec<ArticleLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub url: String,
    pub article_count: usize,
    pub faq_count: usize,
    pub sections: Vec<SectionView>,
    /// Articles that sit directly in the category.
    pub articles: Vec<ArticleLink>,
}

/// One breadcrumb; the last has no link.
#[derive(Debug, Clone, Serialize)]
pub struct Crumb {
    pub name: String,
    pub url: Option<String>,
}

/// `{id}-{slug}`: readable URLs whose id part alone is what lookups use.
pub fn id_slug(id: &str, name: &str) -> String {
    let slug: String = slugify(name).chars().take(60).collect();
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        id.to_string()
    } else {
        format!("{id}-{slug}")
    }
}

/// The id part of an `{id}-{slug}` path segment (IDs are `prefix_` + alphanumerics).
pub fn id_of(segment: &str) -> &str {
    match segment.split_once('_') {
        Some((prefix, rest)) => {
            let end = rest
                .find('-')
                .map_or(segment.len(), |i| prefix.len() + 1 + i);
            &segment[..end]
        }
        None => segment,
    }
}

pub fn article_url(root: &str, a: &Article) -> String {
    format!("{root}/articles/{}", id_slug(&a.id, &a.title))
}

pub fn category_url(root: &str, c: &Category) -> String {
    format!("{root}/categories/{}", id_slug(&c.id, &c.name))
}

pub fn section_url(root: &str, s: &Section) -> String {
    format!("{root}/sections/{}", id_slug(&s.id, &s.name))
}

pub fn article_link(root: &str, a: &Article) -> ArticleLink {
    ArticleLink {
        id: a.id.clone(),
        title: a.title.clone(),
        excerpt: a.excerpt.clone().unwrap_or_default(),
        url: article_url(root, a),
        highlight: None,
    }
}

/// The navigation tree of a KB: categories in order, with their sections and articles.
pub fn nav(tree: &PublishedTree, root: &str) -> Vec<CategoryView> {
    tree.categories
        .iter()
        .map(|c| {
            let in_cat = |a: &&Article| a.category_id == c.id;
            let sections = tree
                .sections
                .iter()
                .filter(|s| s.category_id == c.id)
                .map(|s| SectionView {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    description: s.description.clone(),
                    url: section_url(root, s),
                    articles: tree
                        .articles
                        .iter()
                        .filter(in_cat)
                        .filter(|a| a.section_id.as_deref() == Some(s.id.as_str()))
                        .map(|a| article_link(root, a))
                        .collect(),
                })
                .collect();
            CategoryView {
                id: c.id.clone(),
                name: c.name.clone(),
                description: c.description.clone(),
                icon: c.icon.clone(),
                url: category_url(root, c),
                article_count: tree.articles.iter().filter(in_cat).count(),
                faq_count: tree.faqs.iter().filter(|f| f.category_id == c.id).count(),
                sections,
                articles: tree
                    .articles
                    .iter()
                    .filter(in_cat)
                    .filter(|a| a.section_id.is_none())
                    .map(|a| article_link(root, a))
                    .collect(),
            }
        })
        .collect()
}

/// A FAQ with its answer rendered (answers are Markdown too).
#[derive(Debug, Clone, Serialize)]
pub struct FaqView {
    pub id: String,
    pub question: String,
    pub answer_html: String,
}

pub fn faq_view(f: &Faq) -> FaqView {
    FaqView {
        id: f.id.clone(),
        question: f.question.clone(),
        answer_html: tome_render::render(&f.answer).html,
    }
}

/// `2026-04-22 14:00:00` → `22 April 2026`.
pub fn human_date(timestamp: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let mut parts = timestamp.get(..10).unwrap_or_default().split('-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return timestamp.to_string();
    };
    let month = m
        .parse::<usize>()
        .ok()
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)));
    match (month, d.parse::<u32>()) {
        (Some(month), Ok(day)) => format!("{day} {month} {y}"),
        _ => timestamp.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_slugs_round_trip() {
        assert_eq!(
            id_slug("kba_abc123def456", "How to: Export CSV?"),
            "kba_abc123def456-how-to-export-csv"
        );
        assert_eq!(
            id_of("kba_abc123def456-how-to-export-csv"),
            "kba_abc123def456"
        );
        assert_eq!(id_of("kba_abc123def456"), "kba_abc123def456");
        assert_eq!(id_of("nonsense"), "nonsense");
        assert_eq!(id_slug("kbc_x", "!!!"), "kbc_x");
    }

    #[test]
    fn dates_read_well() {
        assert_eq!(human_date("2026-04-02 14:00:00"), "2 April 2026");
        assert_eq!(human_date("garbage"), "garbage");
    }
}
