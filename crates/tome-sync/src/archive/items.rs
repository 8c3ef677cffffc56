//! One item file → the article or FAQ to create, validated by the same input types as the API;
//! then `related_articles` resolved across the archive.
//!
//! Front-matter keys Tome does not know are ignored (and counted), so files written for other
//! tools import as they are. `description` stands in for a missing `excerpt`, `draft: true` for
//! a missing `status`, and the first `# Heading` or the file name for a missing title.

use std::collections::HashMap;

use tome_core::Patch;
use tome_core::input::{ArticleInput, FaqInput, NewArticle, NewFaq};
use tome_core::model::Status;
use tome_core::validate::{self as v, ValidationError};

use super::Problem;
use super::front_matter;
use super::names;
use super::plan::{PLACEHOLDER_CATEGORY, Report};
use super::source::SourceFile;
use super::yaml::Node;

/// An article ready to create; `new.category_id`/`section_id` are set on import.
#[derive(Debug)]
pub struct PlannedArticle {
    pub path: String,
    /// The front matter's `id`, if any.
    pub id: Option<String>,
    pub category: usize,
    pub section: Option<usize>,
    pub new: NewArticle,
    /// Indices into the plan's articles; set after creation.
    pub related: Vec<usize>,
}

/// A FAQ ready to create; `new.category_id`/`section_id` are set on import.
#[derive(Debug)]
pub struct PlannedFaq {
    pub path: String,
    /// The front matter's `id`, if any.
    pub id: Option<String>,
    pub category: usize,
    pub section: Option<usize>,
    pub new: NewFaq,
}

/// A parsed file before `related_articles` are resolved.
#[derive(Debug)]
pub struct Item {
    path: String,
    /// The front matter's `id` and its line.
    id: Option<(String, usize)>,
    category: usize,
    section: Option<usize>,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Article {
        new: NewArticle,
        related: Vec<String>,
        related_line: Option<usize>,
    },
    Faq(NewFaq),
}

/// Collects problems for one file, with the line of each front-matter key.
struct FileCtx<'a> {
    path: &'a str,
    lines: HashMap<String, usize>,
    body_line: usize,
    problems: &'a mut Vec<Problem>,
    failed: bool,
}

impl FileCtx<'_> {
    fn fail(&mut self, key: &str, field: &str, message: impl Into<String>) {
        let mut p = Problem::new(self.path, message).field(field);
        p.line = self.lines.get(key).copied();
        self.problems.push(p);
        self.failed = true;
    }
}

/// Removes `key` from the front matter.
fn take(fields: &mut Vec<(String, Node)>, key: &str) -> Option<Node> {
    let i = fields.iter().position(|(k, _)| k == key)?;
    Some(fields.remove(i).1)
}

/// Where a text came from, for error messages.
enum Origin {
    Key(&'static str),
    Heading,
    FileName,
}

/// Parses one file placed in `category`/`section`; `None` after reporting its problems.
pub fn parse(
    file: &SourceFile,
    category: usize,
    section: Option<usize>,
    default_status: Status,
    report: &mut Report,
    problems: &mut Vec<Problem>,
) -> Option<Item> {
    let path = file.path.as_str();
    let Ok(text) = std::str::from_utf8(&file.bytes) else {
        problems.push(Problem::new(path, "is not valid UTF-8 text"));
        return None;
    };
    let parsed = match front_matter::parse(text) {
        Ok(p) => p,
        Err(e) => {
            problems.push(
                Problem::new(path, e.message)
                    .at(e.line)
                    .field("front matter"),
            );
            return None;
        }
    };
    let mut fields = parsed.fields;
    let mut cx = FileCtx {
        path,
        lines: fields.iter().map(|(k, n)| (k.clone(), n.line)).collect(),
        body_line: parsed.body_line,
        problems,
        failed: false,
    };
    let body = parsed.body;

    let text_of = |cx: &mut FileCtx, key: &'static str, node: Option<Node>| -> Option<String> {
        match node?.text() {
            Ok(t) => t,
            Err(e) => {
                cx.fail(key, key, e);
                None
            }
        }
    };

    let is_faq = match take(&mut fields, "type") {
        Some(node) => match node.text() {
            Ok(Some(t)) if t == "article" => false,
            Ok(Some(t)) if t == "faq" => true,
            Ok(None) => cx.lines.contains_key("question"),
            Ok(Some(t)) => {
                cx.fail(
                    "type",
                    "type",
                    format!("must be article or faq (got {t:?})"),
                );
                false
            }
            Err(e) => {
                cx.fail("type", "type", e);
                false
            }
        },
        None => cx.lines.contains_key("question"),
    };
    let id_line = cx.lines.get("id").copied().unwrap_or(1);
    let id = text_of(&mut cx, "id", take(&mut fields, "id")).map(|id| (id, id_line));
    // Timestamps are the exported KB's history; a create stamps its own (see the format doc).
    for key in ["published_at", "created_at", "updated_at"] {
        take(&mut fields, key);
    }
    let (status, status_key) = match take(&mut fields, "status") {
        Some(node) => (text_of(&mut cx, "status", Some(node)), "status"),
        None => match take(&mut fields, "draft").map(|n| n.boolean()) {
            Some(Ok(Some(true))) => (Some("draft".to_string()), "draft"),
            Some(Ok(Some(false))) => (Some("published".to_string()), "draft"),
            Some(Ok(None)) | None => (None, "status"),
            Some(Err(e)) => {
                cx.fail("draft", "draft", e);
                (None, "draft")
            }
        },
    };
    let status = status.unwrap_or_else(|| default_status.as_str().to_string());
    let sort_order = match take(&mut fields, "sort_order").map(|n| n.integer()) {
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            cx.fail("sort_order", "sort_order", e);
            None
        }
        None => None,
    };
    let patch = |v: Option<String>| v.map_or(Patch::Absent, Patch::Value);

    let title_key = if is_faq { "question" } else { "title" };
    let mut title_origin = Origin::Key(title_key);
    let mut title = text_of(&mut cx, title_key, take(&mut fields, title_key));
    if title.is_none() && is_faq {
        title_origin = Origin::Key("title");
        title = text_of(&mut cx, "title", take(&mut fields, "title"));
    }
    let title = title.unwrap_or_else(|| match front_matter::first_heading(body) {
        Some(h) => {
            title_origin = Origin::Heading;
            h
        }
        None => {
            title_origin = Origin::FileName;
            let name = path.rsplit('/').next().unwrap_or(path);
            names::humanize(name.rsplit_once('.').map_or(name, |(stem, _)| stem))
        }
    });

    let kind = if is_faq {
        for key in ["excerpt", "tags", "related_articles"] {
            if take(&mut fields, key).is_some() {
                cx.fail(key, key, "FAQs have no such field");
            }
        }
        let input = FaqInput {
            category_id: Patch::Value(PLACEHOLDER_CATEGORY.into()),
            question: Patch::Value(title),
            answer: Patch::Value(body.to_string()),
            status: Patch::Value(status),
            sort_order: sort_order.map_or(Patch::Absent, Patch::Value),
            ..FaqInput::default()
        };
        match input.into_new() {
            Ok(new) => Some(Kind::Faq(new)),
            Err(e) => {
                invalid(&mut cx, e, &title_origin, status_key, "description");
                None
            }
        }
    } else {
        let (excerpt, excerpt_key) = match take(&mut fields, "excerpt") {
            Some(n) => (text_of(&mut cx, "excerpt", Some(n)), "excerpt"),
            None => (
                text_of(&mut cx, "description", take(&mut fields, "description")),
                "description",
            ),
        };
        let tags = list(&mut cx, "tags", take(&mut fields, "tags"));
        let related_line = cx.lines.get("related_articles").copied();
        let related = list(
            &mut cx,
            "related_articles",
            take(&mut fields, "related_articles"),
        );
        let input = ArticleInput {
            category_id: Patch::Value(PLACEHOLDER_CATEGORY.into()),
            title: Patch::Value(title),
            body: Patch::Value(body.to_string()),
            excerpt: patch(excerpt),
            status: Patch::Value(status),
            tags: tags.map_or(Patch::Absent, Patch::Value),
            sort_order: sort_order.map_or(Patch::Absent, Patch::Value),
            ..ArticleInput::default()
        };
        match input.into_new() {
            Ok(new) => Some(Kind::Article {
                new,
                related: related.unwrap_or_default(),
                related_line,
            }),
            Err(e) => {
                invalid(&mut cx, e, &title_origin, status_key, excerpt_key);
                None
            }
        }
    };

    for (key, _) in fields {
        *report.ignored_keys.entry(key).or_default() += 1;
    }
    match kind {
        Some(kind) if !cx.failed => Some(Item {
            path: path.to_string(),
            id,
            category,
            section,
            kind,
        }),
        _ => None,
    }
}

fn list(cx: &mut FileCtx, key: &'static str, node: Option<Node>) -> Option<Vec<String>> {
    match node?.text_list() {
        Ok(l) => l,
        Err((index, e)) => {
            let field = index.map_or(key.to_string(), |i| format!("{key}[{i}]"));
            cx.fail(key, &field, e);
            None
        }
    }
}

/// Reports a validation error from the input types against the key or body it came from.
fn invalid(
    cx: &mut FileCtx,
    e: ValidationError,
    title_origin: &Origin,
    status_key: &str,
    excerpt_key: &str,
) {
    let base = e
        .field
        .split(['[', '.'])
        .next()
        .unwrap_or_default()
        .to_string();
    match base.as_str() {
        "body" | "answer" => {
            let mut p = Problem::new(cx.path, e.reason)
                .field(e.field)
                .at(cx.body_line);
            if base == "answer" {
                p.message
                    .push_str(" (the answer is the text after the front matter)");
            }
            cx.problems.push(p);
            cx.failed = true;
        }
        "title" | "question" => match title_origin {
            Origin::Key(key) => cx.fail(key, key, e.reason),
            Origin::Heading => {
                let reason = format!("{} (taken from the first heading)", e.reason);
                let mut p = Problem::new(cx.path, reason).field(e.field);
                p.line = Some(cx.body_line);
                cx.problems.push(p);
                cx.failed = true;
            }
            Origin::FileName => {
                let reason = format!("{} (taken from the file name)", e.reason);
                cx.problems
                    .push(Problem::new(cx.path, reason).field(e.field));
                cx.failed = true;
            }
        },
        "status" => cx.fail(status_key, status_key, e.reason),
        "excerpt" => {
            let field = e.field.replacen("excerpt", excerpt_key, 1);
            cx.fail(excerpt_key, &field, e.reason);
        }
        _ => {
            let key = base.clone();
            cx.fail(&key, &e.field, e.reason);
        }
    }
}

/// Resolves each article's `related_articles` (an `id` from another file's front matter, or a
/// file path from the archive root) to article indices, and splits the items by kind.
pub fn resolve(
    items: Vec<Item>,
    problems: &mut Vec<Problem>,
) -> (Vec<PlannedArticle>, Vec<PlannedFaq>) {
    // (is article, index among its kind) by ID and by path.
    let mut by_id: HashMap<String, (bool, usize, &str)> = HashMap::new();
    let mut by_path: HashMap<&str, (bool, usize)> = HashMap::new();
    let (mut n_articles, mut n_faqs) = (0, 0);
    for item in &items {
        let is_article = matches!(item.kind, Kind::Article { .. });
        let index = if is_article {
            &mut n_articles
        } else {
            &mut n_faqs
        };
        if let Some((id, line)) = &item.id {
            if let Some((_, _, other)) = by_id.get(id) {
                problems.push(
                    Problem::new(&item.path, format!("{id:?} is also the id of {other}"))
                        .at(*line)
                        .field("id"),
                );
            } else {
                by_id.insert(id.clone(), (is_article, *index, &item.path));
            }
        }
        by_path.insert(&item.path, (is_article, *index));
        *index += 1;
    }
    let lookup = |r: &str| {
        by_id.get(r).map(|(a, i, _)| (*a, *i)).or_else(|| {
            by_path
                .get(r.trim_start_matches("./").trim_start_matches('/'))
                .copied()
        })
    };

    let mut related_lists: Vec<Vec<usize>> = Vec::with_capacity(n_articles);
    let mut faqs = Vec::with_capacity(n_faqs);
    for item in &items {
        let Kind::Article {
            related,
            related_line,
            ..
        } = &item.kind
        else {
            continue;
        };
        let self_index = by_path.get(item.path.as_str()).map(|(_, i)| *i);
        let mut resolved: Vec<usize> = Vec::new();
        for (i, r) in related.iter().enumerate() {
            let fail = |msg: String| {
                let mut p = Problem::new(&item.path, msg).field(format!("related_articles[{i}]"));
                p.line = *related_line;
                p
            };
            match lookup(r) {
                Some((true, index)) if Some(index) == self_index => {
                    problems.push(fail("an article cannot be related to itself".into()));
                }
                Some((true, index)) => {
                    if !resolved.contains(&index) {
                        resolved.push(index);
                    }
                }
                Some((false, _)) => problems.push(fail(format!("{r:?} is a FAQ, not an article"))),
                None => problems.push(fail(format!(
                    "no article in the archive has the id or path {r:?}"
                ))),
            }
        }
        if resolved.len() > v::RELATED_MAX {
            let mut p = Problem::new(
                &item.path,
                format!(
                    "must contain at most {} items (got {})",
                    v::RELATED_MAX,
                    resolved.len()
                ),
            )
            .field("related_articles");
            p.line = *related_line;
            problems.push(p);
        }
        related_lists.push(resolved);
    }

    let mut related = related_lists.into_iter();
    let mut planned_articles = Vec::with_capacity(n_articles);
    for item in items {
        match item.kind {
            Kind::Article { new, .. } => planned_articles.push(PlannedArticle {
                path: item.path,
                id: item.id.map(|(id, _)| id),
                category: item.category,
                section: item.section,
                new,
                related: related.next().unwrap_or_default(),
            }),
            Kind::Faq(new) => faqs.push(PlannedFaq {
                path: item.path,
                id: item.id.map(|(id, _)| id),
                category: item.category,
                section: item.section,
                new,
            }),
        }
    }
    (planned_articles, faqs)
}
