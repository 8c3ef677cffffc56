//! A Mintlify docs repository → the [`Desired`] content of a knowledge base.
//!
//! Placement comes from the navigation ([`nav`]): each top-level group is a category (named
//! `Group (Tab)` when another category already has its name), each group nested in it a section
//! (deeper groups too, named `Outer / Inner`), and each page an article, in navigation order
//! (`sort_order` counts up through the whole navigation). A group's `root` page is its first
//! article. Pages outside the navigation are skipped and named in the logs; a navigation entry
//! whose file is missing is a problem, and so fails the whole read.
//!
//! Front matter: `title` (else the first `# heading`, else the file name), `description` →
//! excerpt, `keywords` → tags (the first 20 that fit the tag limits; the rest are named in the
//! logs), `status` or `draft: true` (default `published`: a repository's merged state is live),
//! `id` (matched against the knowledge base's own IDs); `sidebarTitle` and Mintlify's other
//! keys are ignored. Bodies go through [`mdx::convert`]. A body over the article limit is split
//! at its `##` headings into `Title`, `Title (2)`, … (paths `page.mdx`, `page.mdx#2`, …),
//! related to each other; links between pages become `tome:page/N[#anchor]`. An accordion
//! titled with a question (`<Accordion title="How do I …?">`) also becomes an FAQ of the page's
//! category and section, so troubleshooting pages fill the FAQ page.

pub mod mdx;
pub mod nav;

use std::collections::{HashMap, HashSet};

use tome_core::Patch;
use tome_core::input::{ArticleInput, CategoryInput, FaqInput, SectionInput};
use tome_core::model::Status;
use tome_core::validate::{self as v, ValidationError};

use crate::archive::plan::PLACEHOLDER_CATEGORY;
use crate::archive::yaml::Value;
use crate::archive::{Problem, Problems, front_matter, names};
use crate::desired::{
    Desired, DesiredArticle, DesiredCategory, DesiredFaq, DesiredSection, page_link,
};
use crate::files::Files;
use crate::links;

/// What a link to an article may grow to when the planner turns `tome:page/N` into a hosted
/// URL (`/hc/{slug}/articles/{id}-{title slug}`). Split parts keep this room per link, so the
/// rewritten body still fits the limit.
const LINK_ALLOWANCE: usize = 120;

/// Reads the repository in `files`; pages without a `status`/`draft` are `published`.
pub fn read(files: &Files) -> Result<Desired, Problems> {
    read_with(files, Status::Published)
}

/// [`read`] with another status for pages whose front matter sets none.
pub fn read_with(files: &Files, default_status: Status) -> Result<Desired, Problems> {
    let navigation = nav::read(files).map_err(|p| Problems(vec![p]))?;
    let mut problems = Vec::new();
    let mut desired = Desired {
        logs: navigation.logs.clone(),
        ..Desired::default()
    };

    // Categories and sections, and the pages in navigation order.
    let mut refs: Vec<PageRef> = Vec::new();
    let mut used_names: HashSet<String> = HashSet::new();
    for group in &navigation.groups {
        let mut name = group.name.clone();
        if !used_names.insert(name.to_lowercase())
            && let Some(tab) = &group.tab
        {
            name = format!("{} ({tab})", group.name);
            used_names.insert(name.to_lowercase());
        }
        let input = CategoryInput {
            name: Patch::Value(name.clone()),
            sort_order: Patch::Value(desired.categories.len() as i64),
            ..CategoryInput::default()
        };
        match input.into_new() {
            Ok(new) => desired.categories.push(DesiredCategory { id: None, new }),
            Err(e) => {
                problems.push(
                    Problem::new(&navigation.file, format!("group {name:?}: {}", e.reason))
                        .field("group"),
                );
                continue;
            }
        }
        let category = desired.categories.len() - 1;
        collect(
            &group.entries,
            category,
            None,
            &[],
            &mut desired.sections,
            &mut refs,
            &navigation.file,
            &mut problems,
        );
    }

    // Each navigation entry → a file; once each.
    let mut pages: Vec<Page> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in refs {
        let p = r.path.trim();
        if is_generated(p) {
            desired.logs.push(format!(
                "{}: {p:?} skipped: a page generated from an OpenAPI or AsyncAPI file has no \
                 file to import",
                navigation.file
            ));
            continue;
        }
        let Some(file) = resolve_page(files, p) else {
            problems.push(
                Problem::new(
                    &navigation.file,
                    format!(
                        "the navigation lists page {p:?}, but the repository has no {0}.mdx or \
                         {0}.md",
                        p.trim_start_matches('/')
                    ),
                )
                .at(r.line)
                .field("navigation"),
            );
            continue;
        };
        if seen.contains_key(&file) {
            desired.logs.push(format!(
                "{}: {file} is listed more than once in the navigation; it is imported once, \
                 where it is first listed",
                navigation.file
            ));
            continue;
        }
        seen.insert(file.clone(), pages.len());
        pages.push(Page {
            file,
            category: r.category,
            section: r.section,
            parts: Vec::new(),
            meta: None,
            questions: Vec::new(),
        });
    }

    // Files outside the navigation.
    let snippets = files
        .files
        .keys()
        .filter(|p| is_page_file(p) && p.starts_with("snippets/"))
        .count();
    for path in files.files.keys() {
        if is_page_file(path) && !path.starts_with("snippets/") && !seen.contains_key(path) {
            desired
                .logs
                .push(format!("{path} skipped: it is not in the navigation"));
        }
    }
    if snippets > 0 {
        desired.logs.push(format!(
            "{snippets} files under snippets/ are snippets: they are inlined where pages import \
             them, not imported as pages"
        ));
    }

    // Front matter and bodies.
    for page in &mut pages {
        convert_page(
            files,
            page,
            default_status,
            &mut desired.logs,
            &mut problems,
        );
    }

    // Article indices, then links between pages.
    let mut targets: HashMap<String, Vec<(usize, HashSet<String>)>> = HashMap::new();
    let mut next = 0;
    for page in &pages {
        let parts: Vec<(usize, HashSet<String>)> = page
            .parts
            .iter()
            .enumerate()
            .map(|(k, body)| (next + k, heading_slugs(body)))
            .collect();
        next += page.parts.len();
        targets.insert(page_key(&page.file), parts);
    }
    // Each page's neighbours in navigation order within its category: (previous, next) as
    // article indices, the default `related` (Mintlify's previous/next footer).
    let mut neighbours: HashMap<String, (Option<usize>, Option<usize>)> = HashMap::new();
    let mut starts = Vec::with_capacity(pages.len());
    let mut at = 0;
    for page in &pages {
        starts.push(at);
        at += page.parts.len();
    }
    for (n, page) in pages.iter().enumerate() {
        let prev = n
            .checked_sub(1)
            .filter(|&m| pages[m].category == page.category && !pages[m].parts.is_empty())
            .map(|m| starts[m]);
        let next = pages
            .get(n + 1)
            .filter(|p| p.category == page.category && !p.parts.is_empty())
            .map(|_| starts[n + 1]);
        neighbours.insert(page.file.clone(), (prev, next));
    }
    for page in &pages {
        let Some(meta) = &page.meta else { continue };
        let first = targets
            .get(&page_key(&page.file))
            .and_then(|t| t.first())
            .map_or(0, |t| t.0);
        let count = page.parts.len();
        for (k, body) in page.parts.iter().enumerate() {
            let body = rewrite_links(body, &page.file, k, &targets);
            let index = first + k;
            let (title, path) = if k == 0 {
                (meta.title.clone(), page.file.clone())
            } else {
                (
                    format!("{} ({})", meta.title, k + 1),
                    format!("{}#{}", page.file, k + 1),
                )
            };
            let input = ArticleInput {
                category_id: Patch::Value(PLACEHOLDER_CATEGORY.into()),
                title: Patch::Value(title),
                body: Patch::Value(body),
                excerpt: meta.excerpt.clone().map_or(Patch::Absent, Patch::Value),
                status: Patch::Value(meta.status.clone()),
                tags: Patch::Value(meta.tags.clone()),
                sort_order: Patch::Value(index as i64),
                ..ArticleInput::default()
            };
            match input.into_new() {
                Ok(new) => {
                    let mut related = related_parts(first, count, index);
                    for r in page_related(
                        page,
                        meta,
                        first,
                        count,
                        &neighbours,
                        &targets,
                        &mut desired.logs,
                    ) {
                        if r != index && !related.contains(&r) && related.len() < v::RELATED_MAX {
                            related.push(r);
                        }
                    }
                    desired.articles.push(DesiredArticle {
                        path,
                        id: if k == 0 { meta.id.clone() } else { None },
                        category: page.category,
                        section: page.section,
                        new,
                        related,
                    });
                }
                Err(e) => problems.push(invalid(&page.file, meta, e)),
            }
        }
        // Accordions that ask a question are FAQs too (they also stay in the article).
        for (k, (question, answer)) in page.questions.iter().enumerate() {
            if cost(answer) > v::FAQ_ANSWER_MAX {
                desired.logs.push(format!(
                    "{}: the accordion {question:?} is not also an FAQ: its answer is longer \
                     than an FAQ's {} characters",
                    page.file,
                    v::FAQ_ANSWER_MAX
                ));
                continue;
            }
            let input = FaqInput {
                category_id: Patch::Value(PLACEHOLDER_CATEGORY.into()),
                question: Patch::Value(question.clone()),
                answer: Patch::Value(rewrite_links(answer, &page.file, usize::MAX, &targets)),
                status: Patch::Value(meta.status.clone()),
                sort_order: Patch::Value(desired.faqs.len() as i64),
                ..FaqInput::default()
            };
            match input.into_new() {
                Ok(new) => desired.faqs.push(DesiredFaq {
                    path: format!("{}#faq{}", page.file, k + 1),
                    id: None,
                    category: page.category,
                    section: page.section,
                    new,
                }),
                Err(e) => desired.logs.push(format!(
                    "{}: the accordion {question:?} is not also an FAQ: {}: {}",
                    page.file, e.field, e.reason
                )),
            }
        }
    }

    if problems.is_empty() {
        Ok(desired)
    } else {
        Err(Problems(problems))
    }
}

/// A page as the navigation lists it, placed.
struct PageRef {
    path: String,
    line: usize,
    category: usize,
    section: Option<usize>,
}

/// A page file to import.
struct Page {
    file: String,
    category: usize,
    section: Option<usize>,
    /// The converted body, in parts under the article limit.
    parts: Vec<String>,
    /// `None` when the page had problems.
    meta: Option<Meta>,
    /// Accordions titled with a question, which also become FAQs.
    questions: Vec<(String, String)>,
}

struct Meta {
    id: Option<String>,
    title: String,
    title_line: Option<usize>,
    excerpt: Option<String>,
    excerpt_line: Option<usize>,
    status: String,
    status_line: Option<usize>,
    tags: Vec<String>,
    body_line: usize,
    /// The front matter's `related` pages (as written), `Some(empty)` for `related: false`,
    /// `None` when it has none.
    related: Option<Vec<String>>,
    related_line: Option<usize>,
}

/// Walks a group's entries: pages in order, nested groups as sections.
#[allow(clippy::too_many_arguments)]
fn collect(
    entries: &[nav::Entry],
    category: usize,
    section: Option<usize>,
    section_path: &[String],
    sections: &mut Vec<DesiredSection>,
    refs: &mut Vec<PageRef>,
    nav_file: &str,
    problems: &mut Vec<Problem>,
) {
    for entry in entries {
        match entry {
            nav::Entry::Page { path, line } => refs.push(PageRef {
                path: path.clone(),
                line: *line,
                category,
                section,
            }),
            nav::Entry::Group {
                name,
                root,
                entries,
            } => {
                if root.is_none() && entries.is_empty() {
                    continue;
                }
                let mut path = section_path.to_vec();
                path.push(name.clone());
                let input = SectionInput {
                    category_id: Patch::Value(PLACEHOLDER_CATEGORY.into()),
                    name: Patch::Value(path.join(" / ")),
                    sort_order: Patch::Value(sections.len() as i64),
                    ..SectionInput::default()
                };
                let index = match input.into_new() {
                    Ok(new) => {
                        sections.push(DesiredSection {
                            id: None,
                            category,
                            new,
                        });
                        sections.len() - 1
                    }
                    Err(e) => {
                        problems.push(
                            Problem::new(nav_file, format!("group {name:?}: {}", e.reason))
                                .field("group"),
                        );
                        continue;
                    }
                };
                if let Some((root, line)) = root {
                    refs.push(PageRef {
                        path: root.clone(),
                        line: *line,
                        category,
                        section: Some(index),
                    });
                }
                collect(
                    entries,
                    category,
                    Some(index),
                    &path,
                    sections,
                    refs,
                    nav_file,
                    problems,
                );
            }
        }
    }
}

fn is_page_file(path: &str) -> bool {
    path.ends_with(".mdx") || path.ends_with(".md")
}

/// `GET /users`, `openapi.yaml POST /x`, `asyncapi.json channel`: pages Mintlify generates.
fn is_generated(p: &str) -> bool {
    const METHODS: [&str; 9] = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "WEBHOOK",
    ];
    let words: Vec<&str> = p.split_whitespace().collect();
    match words.as_slice() {
        [m, _] | [_, m, _] => METHODS.contains(&m.to_ascii_uppercase().as_str()),
        _ => false,
    }
}

/// The file a navigation entry names.
fn resolve_page(files: &Files, p: &str) -> Option<String> {
    let p = p.trim_start_matches("./").trim_start_matches('/');
    let p = p.trim_end_matches('/');
    if is_page_file(p) && files.get(p).is_some() {
        return Some(p.to_string());
    }
    [
        format!("{p}.mdx"),
        format!("{p}.md"),
        format!("{p}/index.mdx"),
        format!("{p}/index.md"),
    ]
    .into_iter()
    .find(|c| files.get(c).is_some())
}

/// A page file's key for links: its path without extension.
fn page_key(file: &str) -> String {
    let stem = file
        .strip_suffix(".mdx")
        .or_else(|| file.strip_suffix(".md"))
        .unwrap_or(file);
    stem.to_string()
}

/// The anchors of a body's headings (outside code), as the renderer makes them.
fn heading_slugs(body: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut in_fence = false;
    for line in body.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence && t.starts_with('#') {
            let text = t.trim_start_matches('#');
            if text.starts_with(' ') {
                out.insert(tome_render::slugify(text.trim()));
            }
        }
    }
    out
}

/// Rewrites links to other pages of the navigation (`/a/b`, `./b`, `../b`, with or without an
/// extension or `#anchor`) to `tome:page/N[#anchor]`; `part` is which part of `file` `body` is.
fn rewrite_links(
    body: &str,
    file: &str,
    part: usize,
    targets: &HashMap<String, Vec<(usize, HashSet<String>)>>,
) -> String {
    let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
    links::map_destinations(body, |dest| {
        let (path, anchor) = match dest.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (dest, None),
        };
        let key = if path.is_empty() {
            // `#anchor`: only worth a rewrite when the page was split and the heading is in
            // another part.
            page_key(file)
        } else {
            if path.contains(':') || path.starts_with("//") || path.contains('?') {
                return None;
            }
            let resolved = if let Some(abs) = path.strip_prefix('/') {
                mdx::normalize("", abs)
            } else {
                mdx::normalize(dir, path)
            };
            page_key(resolved.trim_end_matches('/'))
        };
        let parts = targets
            .get(&key)
            .or_else(|| targets.get(&format!("{key}/index")))
            .filter(|p| !p.is_empty())?;
        let chosen = match anchor {
            Some(a) => parts
                .iter()
                .position(|(_, slugs)| slugs.contains(a))
                .unwrap_or(0),
            None => 0,
        };
        if path.is_empty() && chosen == part {
            return None;
        }
        let mut link = page_link(parts[chosen].0);
        if let Some(a) = anchor.filter(|a| !a.is_empty()) {
            link.push('#');
            link.push_str(a);
        }
        Some(link)
    })
}

/// A page's related articles besides its own parts: the front matter's `related` pages, or by
/// default the previous and next page of its category.
fn page_related(
    page: &Page,
    meta: &Meta,
    first: usize,
    count: usize,
    neighbours: &HashMap<String, (Option<usize>, Option<usize>)>,
    targets: &HashMap<String, Vec<(usize, HashSet<String>)>>,
    logs: &mut Vec<String>,
) -> Vec<usize> {
    let Some(list) = &meta.related else {
        let (prev, next) = neighbours.get(&page.file).copied().unwrap_or_default();
        return prev.into_iter().chain(next).collect();
    };
    let mut out = Vec::new();
    let dir = page.file.rsplit_once('/').map_or("", |(d, _)| d);
    for target in list {
        if target.contains("://") {
            continue;
        }
        let path = target.split('#').next().unwrap_or_default();
        let resolved = match path.strip_prefix('/') {
            Some(abs) => mdx::normalize("", abs),
            None => mdx::normalize(dir, path),
        };
        let key = page_key(&resolved);
        match targets.get(&key).and_then(|p| p.first()) {
            Some(&(i, _)) if !(first..first + count).contains(&i) => out.push(i),
            Some(_) => {}
            None => logs.push(format!(
                "{}:{}: related: {target:?} is not a page of the navigation; left out",
                page.file,
                meta.related_line.unwrap_or(1)
            )),
        }
    }
    out
}

/// The parts of one split page related to each other: all of them when they fit the limit,
/// else the neighbours.
fn related_parts(first: usize, count: usize, index: usize) -> Vec<usize> {
    if count < 2 {
        return Vec::new();
    }
    if count <= v::RELATED_MAX + 1 {
        return (first..first + count).filter(|&i| i != index).collect();
    }
    let mut out = Vec::new();
    if index > first {
        out.push(index - 1);
    }
    if index + 1 < first + count {
        out.push(index + 1);
    }
    out
}

/// A validation error of one page, against the front-matter key or body it came from.
fn invalid(file: &str, meta: &Meta, e: ValidationError) -> Problem {
    let base = e.field.split(['[', '.']).next().unwrap_or_default();
    let (key, line) = match base {
        "title" => ("title", meta.title_line),
        "excerpt" => ("description", meta.excerpt_line),
        "status" => ("status", meta.status_line),
        "body" => ("body", Some(meta.body_line)),
        "tags" => ("keywords", None),
        other => (other, None),
    };
    let mut p = Problem::new(file, e.reason).field(key);
    p.line = line;
    p
}

fn node_text(
    file: &str,
    fields: &[(String, crate::archive::yaml::Node)],
    key: &str,
    problems: &mut Vec<Problem>,
) -> (Option<String>, Option<usize>) {
    let Some((_, node)) = fields.iter().find(|(k, _)| k == key) else {
        return (None, None);
    };
    match node.text() {
        Ok(t) => (t, Some(node.line)),
        Err(e) => {
            problems.push(Problem::new(file, e).at(node.line).field(key));
            (None, Some(node.line))
        }
    }
}

/// Front matter and body of one page; sets `page.parts` and `page.meta`.
fn convert_page(
    files: &Files,
    page: &mut Page,
    default_status: Status,
    logs: &mut Vec<String>,
    problems: &mut Vec<Problem>,
) {
    let file = page.file.clone();
    let Some(text) = files.text(&file) else {
        problems.push(Problem::new(&file, "is not valid UTF-8 text"));
        return;
    };
    let parsed = match front_matter::parse(text) {
        Ok(p) => p,
        Err(e) => {
            problems.push(
                Problem::new(&file, e.message)
                    .at(e.line)
                    .field("front matter"),
            );
            return;
        }
    };
    let before = problems.len();
    let fields = parsed.fields;
    let (id, _) = node_text(&file, &fields, "id", problems);
    let (title, title_line) = node_text(&file, &fields, "title", problems);
    let (excerpt, excerpt_line) = node_text(&file, &fields, "description", problems);
    let (mut status, mut status_line) = node_text(&file, &fields, "status", problems);
    if status.is_none()
        && let Some((_, node)) = fields.iter().find(|(k, _)| k == "draft")
    {
        status_line = Some(node.line);
        match node.boolean() {
            Ok(Some(true)) => status = Some("draft".into()),
            Ok(_) => {}
            Err(e) => problems.push(Problem::new(&file, e).at(node.line).field("draft")),
        }
    }
    let mut tags = Vec::new();
    if let Some((_, node)) = fields.iter().find(|(k, _)| k == "keywords") {
        match node.text_list() {
            Ok(list) => {
                let mut seen = HashSet::new();
                let mut left_out = Vec::new();
                for k in list.unwrap_or_default() {
                    let k = k.trim().to_string();
                    let n = k.chars().count();
                    if k.is_empty() || !seen.insert(k.to_lowercase()) {
                        continue;
                    }
                    if n > v::TAG_MAX || tags.len() >= v::TAGS_MAX {
                        left_out.push(k);
                    } else {
                        tags.push(k);
                    }
                }
                if !left_out.is_empty() {
                    logs.push(format!(
                        "{file}:{}: keywords: {} not kept as tags (at most {} tags of at most {} \
                         characters): {}",
                        node.line,
                        left_out.len(),
                        v::TAGS_MAX,
                        v::TAG_MAX,
                        left_out.join(", ")
                    ));
                }
            }
            Err((i, e)) => {
                let field = i.map_or("keywords".to_string(), |i| format!("keywords[{i}]"));
                problems.push(Problem::new(&file, e).at(node.line).field(field));
            }
        }
    }
    let mut related = None;
    let mut related_line = None;
    if let Some((_, node)) = fields.iter().find(|(k, _)| k == "related") {
        related_line = Some(node.line);
        match &node.value {
            Value::List(items) => {
                let mut list = Vec::new();
                for item in items {
                    // `- /path` or `- Title: /path`.
                    let target = match &item.value {
                        Value::Map(m) => m.first().and_then(|(_, n)| n.text().ok().flatten()),
                        _ => item.text().ok().flatten(),
                    };
                    list.extend(target);
                }
                related = Some(list);
            }
            _ => match node.boolean() {
                Ok(Some(false)) => related = Some(Vec::new()),
                _ => problems.push(
                    Problem::new(&file, "must be a list of pages, or false")
                        .at(node.line)
                        .field("related"),
                ),
            },
        }
    }
    if problems.len() > before {
        return;
    }

    let mdx = file.ends_with(".mdx");
    let (mut body, notes) = mdx::convert(files, &file, parsed.body, mdx);
    // An API page whose playground Mintlify builds from an OpenAPI/AsyncAPI file: the
    // operation it documents stays visible.
    for key in ["openapi", "asyncapi", "api"] {
        if let (Some(op), _) = node_text(&file, &fields, key, &mut Vec::new()) {
            body = format!("**API:** `{}`\n\n{body}", op.replace('`', "'"))
                .trim_end()
                .to_string()
                + "\n";
            break;
        }
    }
    let title = title.unwrap_or_else(|| {
        front_matter::first_heading(&body).unwrap_or_else(|| {
            let name = file.rsplit('/').next().unwrap_or(&file);
            names::humanize(name.rsplit_once('.').map_or(name, |(stem, _)| stem))
        })
    });
    let mut said = Vec::new();
    if !notes.unknown.is_empty() {
        let list: Vec<String> = notes
            .unknown
            .iter()
            .map(|(n, c)| {
                if *c > 1 {
                    format!("<{n}> ×{c}")
                } else {
                    format!("<{n}>")
                }
            })
            .collect();
        said.push(format!(
            "unknown components unwrapped to their content: {}",
            list.join(", ")
        ));
    }
    if notes.dropped_expressions > 0 {
        said.push(format!(
            "{} JSX expressions dropped",
            notes.dropped_expressions
        ));
    }
    if notes.dropped_media > 0 {
        said.push(format!(
            "images, videos or icons with repository paths dropped (Tome does not serve \
             repository files): {}",
            notes.dropped_media
        ));
    }
    said.extend(notes.warnings.iter().cloned());
    if !said.is_empty() {
        logs.push(format!("{file}: {}", said.join("; ")));
    }
    let parts = split(&body, v::ARTICLE_BODY_MAX);
    if parts.len() > 1 {
        logs.push(format!(
            "{file}: {} characters, more than an article's {}; split at its headings into {} \
             articles ({title:?} to {:?}), related to each other",
            body.chars().count(),
            v::ARTICLE_BODY_MAX,
            parts.len(),
            format!("{title} ({})", parts.len())
        ));
    }
    page.parts = parts;
    page.questions = notes.questions;
    page.meta = Some(Meta {
        id,
        title,
        title_line,
        excerpt,
        excerpt_line,
        status: status.unwrap_or_else(|| default_status.as_str().to_string()),
        status_line,
        tags,
        body_line: parsed.body_line,
        related,
        related_line,
    });
}

/// What a part costs against the limit: its characters, plus room for every link to grow.
fn cost(s: &str) -> usize {
    s.chars().count() + LINK_ALLOWANCE * s.matches("](").count()
}

#[derive(Clone, Copy)]
enum Cut {
    H2,
    H3,
    Paragraph,
    Line,
}

/// Splits `body` into parts that each fit `max`: at `##` headings, then (for a section still
/// too long) at `###` headings, blank lines, and lines. Nothing is dropped: the parts joined
/// are the body.
pub fn split(body: &str, max: usize) -> Vec<String> {
    if cost(body) <= max {
        return vec![body.to_string()];
    }
    let mut parts = Vec::new();
    pack(body, max, Cut::H2, &mut parts);
    parts
        .into_iter()
        .map(|p| p.trim().to_string() + "\n")
        .filter(|p| !p.trim().is_empty())
        .collect()
}

fn pack(body: &str, max: usize, cut: Cut, parts: &mut Vec<String>) {
    let pieces = cut_points(body, cut);
    let finer = match cut {
        Cut::H2 => Some(Cut::H3),
        Cut::H3 => Some(Cut::Paragraph),
        Cut::Paragraph => Some(Cut::Line),
        Cut::Line => None,
    };
    let mut current = String::new();
    for piece in pieces {
        if cost(piece) > max {
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
            match finer {
                Some(f) => pack(piece, max, f, parts),
                // One line longer than an article: it cannot be cut without breaking it.
                None => parts.push(piece.to_string()),
            }
            continue;
        }
        if !current.is_empty() && cost(&current) + cost(piece) > max {
            parts.push(std::mem::take(&mut current));
        }
        current.push_str(piece);
    }
    if !current.is_empty() {
        parts.push(current);
    }
}

/// `body` cut before each boundary of kind `cut` outside code blocks.
fn cut_points(body: &str, cut: Cut) -> Vec<&str> {
    let mut starts = vec![0];
    let mut fence: Option<(char, usize)> = None;
    let mut pos = 0;
    let mut prev_blank = false;
    for line in body.split_inclusive('\n') {
        let t = line.trim_start();
        let at = pos;
        pos += line.len();
        if let Some((c, n)) = fence {
            let run = t.chars().take_while(|x| *x == c).count();
            if run >= n && t.trim().chars().all(|x| x == c) {
                fence = None;
            }
            prev_blank = false;
            continue;
        }
        let boundary = match cut {
            Cut::H2 => line.starts_with("## "),
            Cut::H3 => line.starts_with("### "),
            Cut::Paragraph => prev_blank && !t.trim().is_empty(),
            Cut::Line => true,
        };
        if boundary && at > 0 {
            starts.push(at);
        }
        for c in ['`', '~'] {
            let run = t.chars().take_while(|x| *x == c).count();
            if run >= 3 {
                fence = Some((c, run));
            }
        }
        prev_blank = t.trim().is_empty();
    }
    starts.dedup();
    let mut out = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let e = starts.get(k + 1).copied().unwrap_or(body.len());
        out.push(&body[s..e]);
    }
    out
}

#[cfg(test)]
mod tests;
