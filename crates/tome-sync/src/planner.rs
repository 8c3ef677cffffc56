//! From what a source says ([`Desired`]) and what the knowledge base holds ([`KbContent`] and
//! its path map) to the exact writes of one update ([`SyncChanges`]).
//!
//! Matching keeps IDs stable: a category or section by the ID the source names, else by name
//! (a section within its category); an article or FAQ by the front matter's `id` when it is one
//! of the KB's own, else by its path in the map, else — a moved or renamed file — by identical
//! content among the items whose files are gone. On a KB's first update (no map yet), articles
//! and FAQs the API created are matched by title or question, so attaching a repository to an
//! existing KB keeps its IDs. What matches and has not changed is not written at all, so it
//! keeps `updated_at`; what matches nothing is created; what nothing matches is deleted.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use sha2::{Digest, Sha256};
use tome_core::id;
use tome_core::input::set_status;
use tome_core::model::{Article, Category, Entity, Faq, Section, Status};
use tome_core::validate as v;
use tome_store::{KbContent, SourceItem, SyncChanges};

use crate::archive::Problem;
use crate::desired::{Desired, PAGE_LINK_PREFIX};
use crate::links::{article_url, rewrite_page_links};

/// What a plan needs besides the content.
#[derive(Debug, Clone)]
pub struct PlanContext<'a> {
    pub kb_id: &'a str,
    /// The hosted root of the KB's pages, for links between pages (see [`article_url`]).
    pub page_root: &'a str,
    /// Wire timestamp of the update.
    pub now: &'a str,
    pub commit: Option<&'a str>,
}

/// Counts per kind, for the summary and the logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub changes: SyncChanges,
    pub categories: Tally,
    pub sections: Tally,
    pub articles: Tally,
    pub faqs: Tally,
    /// Notable decisions (renames followed), one line each.
    pub logs: Vec<String>,
}

impl Plan {
    /// `3 articles created, 1 updated, 1 deleted, 120 unchanged; …` (kinds with nothing to say
    /// are left out), or `no changes`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (tally, one, many) in [
            (&self.categories, "category", "categories"),
            (&self.sections, "section", "sections"),
            (&self.articles, "article", "articles"),
            (&self.faqs, "FAQ", "FAQs"),
        ] {
            let changed = tally.created + tally.updated + tally.deleted;
            if changed == 0 {
                continue;
            }
            let total = changed + tally.unchanged;
            let mut s = format!("{total} {}: ", if total == 1 { one } else { many });
            let mut bits = Vec::new();
            for (n, what) in [
                (tally.created, "created"),
                (tally.updated, "updated"),
                (tally.deleted, "deleted"),
                (tally.unchanged, "unchanged"),
            ] {
                if n > 0 {
                    bits.push(format!("{n} {what}"));
                }
            }
            s.push_str(&bits.join(", "));
            parts.push(s);
        }
        if parts.is_empty() {
            "no changes".into()
        } else {
            parts.join("; ")
        }
    }
}

/// Plans the update, or returns the problems that make it impossible (a body that the link
/// rewrite pushed over the limit).
pub fn plan(
    desired: &Desired,
    current: &KbContent,
    items: &[SourceItem],
    cx: &PlanContext<'_>,
) -> Result<Plan, Vec<Problem>> {
    let mut out = Plan::default();
    let now = cx.now;

    // Categories.
    let mut cat_ids = Vec::with_capacity(desired.categories.len());
    let mut taken: HashSet<&str> = HashSet::new();
    for want in &desired.categories {
        let found = want
            .id
            .as_deref()
            .and_then(|i| current.categories.iter().find(|c| c.id == i))
            .filter(|c| !taken.contains(c.id.as_str()))
            .or_else(|| {
                current
                    .categories
                    .iter()
                    .find(|c| c.name == want.new.name && !taken.contains(c.id.as_str()))
            });
        let n = &want.new;
        match found {
            Some(old) => {
                taken.insert(&old.id);
                cat_ids.push(old.id.clone());
                let new = Category {
                    name: n.name.clone(),
                    description: n.description.clone(),
                    icon: n.icon.clone(),
                    sort_order: n.sort_order,
                    ..old.clone()
                };
                if new == *old {
                    out.categories.unchanged += 1;
                } else {
                    out.categories.updated += 1;
                    out.changes.update_categories.push(Category {
                        updated_at: now.into(),
                        ..new
                    });
                }
            }
            None => {
                let id = id::new_id(id::CATEGORY);
                cat_ids.push(id.clone());
                out.categories.created += 1;
                out.changes.create_categories.push(Category {
                    id,
                    kb_id: cx.kb_id.into(),
                    name: n.name.clone(),
                    description: n.description.clone(),
                    icon: n.icon.clone(),
                    sort_order: n.sort_order,
                    created_at: now.into(),
                    updated_at: now.into(),
                });
            }
        }
    }
    for c in &current.categories {
        if !taken.contains(c.id.as_str()) {
            out.categories.deleted += 1;
            out.changes.delete_categories.push(c.id.clone());
        }
    }

    // Sections.
    let mut sec_ids = Vec::with_capacity(desired.sections.len());
    let mut taken: HashSet<&str> = HashSet::new();
    for want in &desired.sections {
        let category_id = &cat_ids[want.category];
        let found = want
            .id
            .as_deref()
            .and_then(|i| current.sections.iter().find(|s| s.id == i))
            .filter(|s| !taken.contains(s.id.as_str()))
            .or_else(|| {
                current.sections.iter().find(|s| {
                    s.name == want.new.name
                        && s.category_id == *category_id
                        && !taken.contains(s.id.as_str())
                })
            });
        let n = &want.new;
        match found {
            Some(old) => {
                taken.insert(&old.id);
                sec_ids.push(old.id.clone());
                let new = Section {
                    category_id: category_id.clone(),
                    name: n.name.clone(),
                    description: n.description.clone(),
                    sort_order: n.sort_order,
                    ..old.clone()
                };
                if new == *old {
                    out.sections.unchanged += 1;
                } else {
                    out.sections.updated += 1;
                    out.changes.update_sections.push(Section {
                        updated_at: now.into(),
                        ..new
                    });
                }
            }
            None => {
                let id = id::new_id(id::SECTION);
                sec_ids.push(id.clone());
                out.sections.created += 1;
                out.changes.create_sections.push(Section {
                    id,
                    kb_id: cx.kb_id.into(),
                    category_id: category_id.clone(),
                    name: n.name.clone(),
                    description: n.description.clone(),
                    sort_order: n.sort_order,
                    created_at: now.into(),
                    updated_at: now.into(),
                });
            }
        }
    }
    for s in &current.sections {
        if !taken.contains(s.id.as_str()) {
            out.sections.deleted += 1;
            out.changes.delete_sections.push(s.id.clone());
        }
    }

    let desired_paths: HashSet<&str> = desired
        .articles
        .iter()
        .map(|a| a.path.as_str())
        .chain(desired.faqs.iter().map(|f| f.path.as_str()))
        .collect();
    let first_sync = items.is_empty();

    // Articles: IDs first (links and related lists need every one), then the rows.
    let article_hashes: Vec<String> = desired
        .articles
        .iter()
        .map(|a| {
            let body = rewrite_page_links(&a.new.body, |i| {
                desired.articles.get(i).map(|t| format!("path:{}", t.path))
            });
            content_hash(&[&a.new.title, &body])
        })
        .collect();
    let by_id: HashMap<&str, &Article> = current
        .articles
        .iter()
        .map(|a| (a.id.as_str(), a))
        .collect();
    let matcher = Matcher::new(items, Entity::Article, &desired_paths);
    let mut taken: HashSet<&str> = HashSet::new();
    let mut matched: Vec<Option<&Article>> = Vec::with_capacity(desired.articles.len());
    // Pass 1: front-matter IDs and paths; pass 2: content (renames) and, on a first update,
    // titles — so a rename never takes an item that a later file claims by path.
    for want in &desired.articles {
        let found = want
            .id
            .as_deref()
            .and_then(|i| by_id.get(i).copied())
            .or_else(|| {
                matcher
                    .by_path(&want.path)
                    .and_then(|i| by_id.get(i).copied())
            })
            .filter(|a| taken.insert(a.id.as_str()));
        matched.push(found);
    }
    for (k, want) in desired.articles.iter().enumerate() {
        if matched[k].is_some() {
            continue;
        }
        let renamed = matcher
            .by_content(&article_hashes[k], &taken)
            .and_then(|(path, i)| Some((path, *by_id.get(i)?)));
        let found = match renamed {
            Some((old_path, a)) => {
                out.logs.push(format!(
                    "{} was {old_path} (same content): article {} kept",
                    want.path, a.id
                ));
                Some(a)
            }
            None if first_sync => current
                .articles
                .iter()
                .find(|a| a.title == want.new.title && !taken.contains(a.id.as_str())),
            None => None,
        };
        if let Some(a) = found {
            taken.insert(a.id.as_str());
        }
        matched[k] = found;
    }
    let article_ids: Vec<String> = matched
        .iter()
        .map(|m| m.map_or_else(|| id::new_id(id::ARTICLE), |a| a.id.clone()))
        .collect();
    let url_of = |i: usize| -> Option<String> {
        let id = article_ids.get(i)?;
        Some(article_url(
            cx.page_root,
            id,
            &desired.articles[i].new.title,
        ))
    };

    let mut problems = Vec::new();
    for (k, want) in desired.articles.iter().enumerate() {
        let n = &want.new;
        let body = if n.body.contains(PAGE_LINK_PREFIX) {
            rewrite_page_links(&n.body, url_of)
        } else {
            n.body.clone()
        };
        if body.chars().count() > v::ARTICLE_BODY_MAX {
            problems.push(
                Problem::new(
                    &want.path,
                    format!(
                        "must be at most {} characters once links to other pages are written \
                         out",
                        v::ARTICLE_BODY_MAX
                    ),
                )
                .field("body"),
            );
        }
        let category_id = cat_ids[want.category].clone();
        let section_id = want.section.map(|s| sec_ids[s].clone());
        let related_articles: Vec<String> = want
            .related
            .iter()
            .map(|&r| article_ids[r].clone())
            .collect();
        out.changes.items.push(SourceItem {
            path: want.path.clone(),
            entity: Entity::Article,
            entity_id: article_ids[k].clone(),
            sha256: article_hashes[k].clone(),
        });
        match matched[k] {
            Some(old) => {
                let mut new = Article {
                    category_id,
                    section_id,
                    title: n.title.clone(),
                    body,
                    excerpt: n.excerpt.clone(),
                    tags: n.tags.clone(),
                    related_articles,
                    sort_order: n.sort_order,
                    ..old.clone()
                };
                set_status(&mut new.status, &mut new.published_at, n.status, now);
                if new == *old {
                    out.articles.unchanged += 1;
                } else {
                    out.articles.updated += 1;
                    new.updated_at = now.into();
                    out.changes.update_articles.push(new);
                }
            }
            None => {
                out.articles.created += 1;
                out.changes.create_articles.push(Article {
                    id: article_ids[k].clone(),
                    kb_id: cx.kb_id.into(),
                    category_id,
                    section_id,
                    title: n.title.clone(),
                    body,
                    excerpt: n.excerpt.clone(),
                    status: n.status,
                    tags: n.tags.clone(),
                    related_articles,
                    sort_order: n.sort_order,
                    published_at: (n.status == Status::Published).then(|| now.to_string()),
                    created_at: now.into(),
                    updated_at: now.into(),
                });
            }
        }
    }
    for a in &current.articles {
        if !taken.contains(a.id.as_str()) {
            out.articles.deleted += 1;
            out.changes.delete_articles.push(a.id.clone());
        }
    }

    // FAQs.
    let faq_hashes: Vec<String> = desired
        .faqs
        .iter()
        .map(|f| content_hash(&[&f.new.question, &f.new.answer]))
        .collect();
    let faq_by_id: HashMap<&str, &Faq> = current.faqs.iter().map(|f| (f.id.as_str(), f)).collect();
    let matcher = Matcher::new(items, Entity::Faq, &desired_paths);
    let mut taken: HashSet<&str> = HashSet::new();
    let mut matched: Vec<Option<&Faq>> = Vec::with_capacity(desired.faqs.len());
    for want in &desired.faqs {
        let found = want
            .id
            .as_deref()
            .and_then(|i| faq_by_id.get(i).copied())
            .or_else(|| {
                matcher
                    .by_path(&want.path)
                    .and_then(|i| faq_by_id.get(i).copied())
            })
            .filter(|f| taken.insert(f.id.as_str()));
        matched.push(found);
    }
    for (k, want) in desired.faqs.iter().enumerate() {
        if matched[k].is_some() {
            continue;
        }
        let found = match matcher
            .by_content(&faq_hashes[k], &taken)
            .and_then(|(path, i)| Some((path, *faq_by_id.get(i)?)))
        {
            Some((old_path, f)) => {
                out.logs.push(format!(
                    "{} was {old_path} (same content): FAQ {} kept",
                    want.path, f.id
                ));
                Some(f)
            }
            None if first_sync => current
                .faqs
                .iter()
                .find(|f| f.question == want.new.question && !taken.contains(f.id.as_str())),
            None => None,
        };
        if let Some(f) = found {
            taken.insert(f.id.as_str());
        }
        matched[k] = found;
    }
    for (k, want) in desired.faqs.iter().enumerate() {
        let n = &want.new;
        let answer = if n.answer.contains(PAGE_LINK_PREFIX) {
            rewrite_page_links(&n.answer, url_of)
        } else {
            n.answer.clone()
        };
        if answer.chars().count() > v::FAQ_ANSWER_MAX {
            problems.push(
                Problem::new(
                    &want.path,
                    format!(
                        "must be at most {} characters once links to other pages are written \
                         out",
                        v::FAQ_ANSWER_MAX
                    ),
                )
                .field("answer"),
            );
        }
        let category_id = cat_ids[want.category].clone();
        let section_id = want.section.map(|s| sec_ids[s].clone());
        let id = matched[k].map_or_else(|| id::new_id(id::FAQ), |f| f.id.clone());
        out.changes.items.push(SourceItem {
            path: want.path.clone(),
            entity: Entity::Faq,
            entity_id: id.clone(),
            sha256: faq_hashes[k].clone(),
        });
        match matched[k] {
            Some(old) => {
                let mut new = Faq {
                    category_id,
                    section_id,
                    question: n.question.clone(),
                    answer,
                    sort_order: n.sort_order,
                    ..old.clone()
                };
                set_status(&mut new.status, &mut new.published_at, n.status, now);
                if new == *old {
                    out.faqs.unchanged += 1;
                } else {
                    out.faqs.updated += 1;
                    new.updated_at = now.into();
                    out.changes.update_faqs.push(new);
                }
            }
            None => {
                out.faqs.created += 1;
                out.changes.create_faqs.push(Faq {
                    id,
                    kb_id: cx.kb_id.into(),
                    category_id,
                    section_id,
                    question: n.question.clone(),
                    answer,
                    status: n.status,
                    sort_order: n.sort_order,
                    published_at: (n.status == Status::Published).then(|| now.to_string()),
                    created_at: now.into(),
                    updated_at: now.into(),
                });
            }
        }
    }
    for f in &current.faqs {
        if !taken.contains(f.id.as_str()) {
            out.faqs.deleted += 1;
            out.changes.delete_faqs.push(f.id.clone());
        }
    }

    out.changes.commit = cx.commit.map(str::to_string);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// SHA-256 (hex) of the parts, each length-prefixed so no two part lists collide.
fn content_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let mut hex = String::with_capacity(64);
    for b in h.finalize() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// The KB's path map for one kind of item.
struct Matcher<'a> {
    by_path: HashMap<&'a str, &'a str>,
    /// Content hash → (path, ID) of items whose path is no longer in the source.
    orphans: HashMap<&'a str, Vec<(&'a str, &'a str)>>,
}

impl<'a> Matcher<'a> {
    fn new(items: &'a [SourceItem], entity: Entity, desired_paths: &HashSet<&str>) -> Self {
        let mut by_path = HashMap::new();
        let mut orphans: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
        for item in items.iter().filter(|i| i.entity == entity) {
            by_path.insert(item.path.as_str(), item.entity_id.as_str());
            if !desired_paths.contains(item.path.as_str()) {
                orphans
                    .entry(item.sha256.as_str())
                    .or_default()
                    .push((item.path.as_str(), item.entity_id.as_str()));
            }
        }
        Matcher { by_path, orphans }
    }

    fn by_path(&self, path: &str) -> Option<&'a str> {
        self.by_path.get(path).copied()
    }

    /// An item whose file is gone and whose content was exactly this, not yet taken.
    fn by_content(&self, hash: &str, taken: &HashSet<&str>) -> Option<(&'a str, &'a str)> {
        self.orphans
            .get(hash)?
            .iter()
            .find(|(_, id)| !taken.contains(id))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use tome_core::input::{NewArticle, NewCategory, NewFaq, NewSection};

    use super::*;
    use crate::desired::{DesiredArticle, DesiredCategory, DesiredFaq, DesiredSection, page_link};

    const NOW: &str = "2026-12-06 10:00:00";
    const LATER: &str = "2026-12-06 11:00:00";

    fn cx(now: &str) -> PlanContext<'_> {
        PlanContext {
            kb_id: "kb_test00000000",
            page_root: "/hc/docs",
            now,
            commit: Some("abc"),
        }
    }

    fn article(path: &str, title: &str, body: &str) -> DesiredArticle {
        DesiredArticle {
            path: path.into(),
            id: None,
            category: 0,
            section: None,
            new: NewArticle {
                category_id: String::new(),
                section_id: None,
                title: title.into(),
                body: body.into(),
                excerpt: None,
                status: Status::Published,
                tags: vec![],
                related_articles: vec![],
                sort_order: 0,
            },
            related: vec![],
        }
    }

    fn desired(articles: Vec<DesiredArticle>) -> Desired {
        Desired {
            categories: vec![DesiredCategory {
                id: None,
                new: NewCategory {
                    name: "Guides".into(),
                    description: None,
                    icon: None,
                    sort_order: 0,
                },
            }],
            sections: vec![DesiredSection {
                id: None,
                category: 0,
                new: NewSection {
                    category_id: String::new(),
                    name: "Basics".into(),
                    description: None,
                    sort_order: 0,
                },
            }],
            articles,
            faqs: vec![DesiredFaq {
                path: "faq/refunds.md".into(),
                id: None,
                category: 0,
                section: Some(0),
                new: NewFaq {
                    category_id: String::new(),
                    section_id: None,
                    question: "Refunds?".into(),
                    answer: "Within 30 days.".into(),
                    status: Status::Published,
                    sort_order: 0,
                },
            }],
            logs: vec![],
        }
    }

    /// What the store would hold after applying `plan` to `before`.
    fn apply(before: &KbContent, plan: &Plan) -> KbContent {
        fn merge<T: Clone>(
            old: &[T],
            id: impl Fn(&T) -> &str,
            create: &[T],
            update: &[T],
            delete: &[String],
        ) -> Vec<T> {
            let mut out: Vec<T> = old
                .iter()
                .filter(|x| !delete.iter().any(|d| d == id(x)))
                .map(|x| {
                    update
                        .iter()
                        .find(|u| id(u) == id(x))
                        .cloned()
                        .unwrap_or_else(|| x.clone())
                })
                .collect();
            out.extend(create.iter().cloned());
            out
        }
        let c = &plan.changes;
        KbContent {
            categories: merge(
                &before.categories,
                |x| &x.id,
                &c.create_categories,
                &c.update_categories,
                &c.delete_categories,
            ),
            sections: merge(
                &before.sections,
                |x| &x.id,
                &c.create_sections,
                &c.update_sections,
                &c.delete_sections,
            ),
            articles: merge(
                &before.articles,
                |x| &x.id,
                &c.create_articles,
                &c.update_articles,
                &c.delete_articles,
            ),
            faqs: merge(
                &before.faqs,
                |x| &x.id,
                &c.create_faqs,
                &c.update_faqs,
                &c.delete_faqs,
            ),
        }
    }

    #[test]
    fn a_first_update_creates_everything_and_a_second_changes_nothing() {
        let want = desired(vec![
            article("a.md", "Alpha", "See [beta](tome:page/1#setup)."),
            article("b.md", "Beta", "Beta body"),
        ]);
        let first = plan(&want, &KbContent::default(), &[], &cx(NOW)).expect("plan");
        assert_eq!(first.articles.created, 2);
        assert_eq!(first.categories.created, 1);
        assert_eq!(first.sections.created, 1);
        assert_eq!(first.faqs.created, 1);
        let beta = &first.changes.create_articles[1];
        assert_eq!(
            first.changes.create_articles[0].body,
            format!("See [beta](/hc/docs/articles/{}-beta#setup).", beta.id)
        );
        assert_eq!(
            first.changes.create_faqs[0].section_id.as_deref(),
            Some(first.changes.create_sections[0].id.as_str())
        );
        assert_eq!(beta.published_at.as_deref(), Some(NOW));

        let state = apply(&KbContent::default(), &first);
        let again = plan(&want, &state, &first.changes.items, &cx(LATER)).expect("plan");
        assert_eq!(again.changes.change_count(), 0, "{}", again.summary());
        assert_eq!(again.summary(), "no changes");
        assert_eq!(again.changes.items, first.changes.items);
    }

    #[test]
    fn edits_renames_and_removals_keep_ids_and_timestamps() {
        let v1 = desired(vec![
            article("a.md", "Alpha", "Alpha body"),
            article("b.md", "Beta", "Beta body"),
            article("c.md", "Gamma", "Gamma body"),
        ]);
        let first = plan(&v1, &KbContent::default(), &[], &cx(NOW)).expect("plan");
        let state = apply(&KbContent::default(), &first);
        let id = |path: &str| {
            first
                .changes
                .items
                .iter()
                .find(|i| i.path == path)
                .map(|i| i.entity_id.clone())
                .expect("item")
        };
        // a.md edited, b.md renamed to moved/b.md, c.md removed, d.md added.
        let v2 = desired(vec![
            article("a.md", "Alpha", "Alpha body, edited"),
            article("moved/b.md", "Beta", "Beta body"),
            article("d.md", "Delta", "Delta body"),
        ]);
        let second = plan(&v2, &state, &first.changes.items, &cx(LATER)).expect("plan");
        assert_eq!(
            second.articles,
            Tally {
                created: 1,
                updated: 1,
                deleted: 1,
                unchanged: 1
            }
        );
        assert_eq!(second.changes.delete_articles, vec![id("c.md")]);
        let edited = second
            .changes
            .update_articles
            .iter()
            .find(|a| a.id == id("a.md"))
            .expect("a.md updated");
        assert_eq!(edited.created_at, NOW);
        assert_eq!(edited.updated_at, LATER);
        assert_eq!(edited.published_at.as_deref(), Some(NOW));
        let after = apply(&state, &second);
        let renamed = after
            .articles
            .iter()
            .find(|a| a.title == "Beta")
            .expect("beta");
        assert_eq!(renamed.id, id("b.md"), "a renamed file keeps its article");
        assert_eq!(
            renamed.updated_at, NOW,
            "a rename alone changes nothing in the article"
        );
        assert!(
            second
                .logs
                .iter()
                .any(|l| l.contains("moved/b.md was b.md"))
        );
        // The FAQ and the category did not change.
        assert_eq!(second.faqs.unchanged, 1);
        assert_eq!(second.categories.unchanged, 1);
    }

    #[test]
    fn front_matter_ids_match_the_kbs_own_items() {
        let v1 = desired(vec![article("a.md", "Alpha", "Alpha body")]);
        let first = plan(&v1, &KbContent::default(), &[], &cx(NOW)).expect("plan");
        let state = apply(&KbContent::default(), &first);
        let kept = first.changes.create_articles[0].id.clone();
        let mut moved = article("elsewhere/x.md", "Alpha renamed", "New body");
        moved.id = Some(kept.clone());
        let second = plan(
            &desired(vec![moved]),
            &state,
            &first.changes.items,
            &cx(LATER),
        )
        .expect("plan");
        assert_eq!(second.changes.update_articles[0].id, kept);
        assert!(second.changes.delete_articles.is_empty());
    }

    #[test]
    fn a_first_update_adopts_api_content_by_title() {
        let v1 = desired(vec![article("a.md", "Alpha", "Alpha body")]);
        let first = plan(&v1, &KbContent::default(), &[], &cx(NOW)).expect("plan");
        let state = apply(&KbContent::default(), &first);
        // The same KB, but nothing in the path map (content made through the API).
        let adopted = plan(&v1, &state, &[], &cx(LATER)).expect("plan");
        assert_eq!(adopted.changes.change_count(), 0, "{}", adopted.summary());
    }

    #[test]
    fn links_that_push_a_body_over_the_limit_are_a_problem() {
        let filler = "x".repeat(v::ARTICLE_BODY_MAX - page_link(1).len() - 4);
        let body = format!("{filler}[b]({})", page_link(1));
        let want = desired(vec![
            article("a.md", "Alpha", &body),
            article("b.md", "Beta", "b"),
        ]);
        let problems = plan(&want, &KbContent::default(), &[], &cx(NOW)).expect_err("too long");
        assert_eq!(problems[0].file, "a.md");
        assert_eq!(problems[0].field.as_deref(), Some("body"));
    }

    #[test]
    fn a_removed_category_is_deleted_after_its_items_move_out() {
        let v1 = desired(vec![article("a.md", "Alpha", "Alpha body")]);
        let first = plan(&v1, &KbContent::default(), &[], &cx(NOW)).expect("plan");
        let state = apply(&KbContent::default(), &first);
        let mut v2 = desired(vec![article("a.md", "Alpha", "Alpha body")]);
        v2.categories[0].new.name = "Handbook".into();
        let second = plan(&v2, &state, &first.changes.items, &cx(LATER)).expect("plan");
        assert_eq!(second.categories.created, 1);
        assert_eq!(second.categories.deleted, 1);
        let moved = &second.changes.update_articles[0];
        assert_eq!(moved.category_id, second.changes.create_categories[0].id);
        assert_eq!(
            second.changes.delete_categories,
            vec![first.changes.create_categories[0].id.clone()]
        );
    }
}
