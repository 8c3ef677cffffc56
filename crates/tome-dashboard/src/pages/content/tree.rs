//! The content tree of a KB, the per-section article lists, and reordering.
//!
//! The tree is built from three reads whatever the KB's size: every category, every section, and
//! the article and FAQ counts grouped by category, section and status (`content_counts`). It
//! lists no articles itself — a KB may hold thousands — but links each section (and each
//! category's ungrouped articles) to a paginated list of its articles, where they are edited
//! and reordered.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};
use serde::Deserialize;
use serde_json::json;
use tome_core::input::{ArticleInput, CategoryInput, SectionInput};
use tome_core::model::{Article, Status};
use tome_http::AppState;
use tome_store::{ContentFilter, PageRequest, SectionFilter};

use super::{
    ALL_BATCH, action_failed, all_categories, all_sections, refuse_source_managed, tree_url,
    written,
};
use crate::guard::{Form, Posted};
use crate::pages::{self, FormError, input, kb_nav, load_kb};
use crate::view::{self, Dash, FlashKind};

/// Article counts of one place in the tree, by status.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
struct Counts {
    draft: i64,
    published: i64,
    archived: i64,
    total: i64,
}

impl Counts {
    fn add(&mut self, status: Status, n: i64) {
        match status {
            Status::Draft => self.draft += n,
            Status::Published => self.published += n,
            Status::Archived => self.archived += n,
        }
        self.total += n;
    }
}

/// `GET /dashboard/kb/{kb_id}`: categories → sections with their article counts.
pub async fn tree(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
) -> Response {
    let session = &dash.session;
    let kb = match load_kb(&state, session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let (categories, sections, counts, source) = tokio::join!(
        all_categories(&state, session, &kb_id),
        all_sections(&state, session, &kb_id, None),
        state.store.content_counts(&session.project_id, &kb_id),
        state.store.get_source(&session.project_id, &kb_id),
    );
    let (categories, sections, counts) = match (categories, sections, counts) {
        (Ok(c), Ok(s), Ok(n)) => (c, s, n),
        (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => return view::api_error_page(e.into()),
    };
    // No source is the common case; any other failure to read it is a failure of the page.
    let managed = match source {
        Ok(s) => Some(s.url),
        Err(tome_store::StoreError::NotFound(_)) => None,
        Err(e) => return view::api_error_page(e.into()),
    };
    let mut by_place: HashMap<(&str, Option<&str>), Counts> = HashMap::new();
    let mut by_category: HashMap<&str, Counts> = HashMap::new();
    let mut kb_counts = Counts::default();
    for (category, section, status, n) in &counts.articles {
        by_place
            .entry((category.as_str(), section.as_deref()))
            .or_default()
            .add(*status, *n);
        by_category
            .entry(category.as_str())
            .or_default()
            .add(*status, *n);
        kb_counts.add(*status, *n);
    }
    let faqs: HashMap<&str, i64> = counts.faqs.iter().map(|(c, n)| (c.as_str(), *n)).collect();
    let last_category = categories.len().saturating_sub(1);
    let categories: Vec<Value> = categories
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let own: Vec<_> = sections.iter().filter(|s| s.category_id == c.id).collect();
            let last_section = own.len().saturating_sub(1);
            let sections: Vec<Value> = own
                .iter()
                .enumerate()
                .map(|(j, s)| {
                    context! {
                        id => s.id, name => s.name, description => s.description,
                        counts => by_place.get(&(c.id.as_str(), Some(s.id.as_str()))).copied().unwrap_or_default(),
                        first => j == 0, last => j == last_section,
                    }
                })
                .collect();
            context! {
                id => c.id, name => c.name, description => c.description, icon => c.icon,
                sections,
                ungrouped => by_place.get(&(c.id.as_str(), None)).copied().unwrap_or_default(),
                counts => by_category.get(c.id.as_str()).copied().unwrap_or_default(),
                faqs => faqs.get(c.id.as_str()).copied().unwrap_or(0),
                first => i == 0, last => i == last_category,
            }
        })
        .collect();
    dash.page(
        "content_tree.html",
        &kb.title,
        kb_nav(&kb, "content"),
        context! {
            kb => context! { id => kb.id, title => kb.title, slug => kb.slug },
            categories,
            counts => kb_counts,
            managed,
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    category_id: Option<String>,
    section_id: Option<String>,
    cursor: Option<String>,
}

/// `GET /dashboard/kb/{kb_id}/articles?category_id=&section_id=`: one section's articles (or a
/// category's ungrouped ones, `section_id=ungrouped`), paginated, in their order.
pub async fn articles(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let session = &dash.session;
    let kb = match load_kb(&state, session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let Some(category_id) = q.category_id.filter(|c| !c.is_empty()) else {
        return view::error_page(
            StatusCode::NOT_FOUND,
            "Choose a category in the content tree to see its articles.",
        );
    };
    let category = match state
        .store
        .get_category(&session.project_id, &kb_id, &category_id)
        .await
    {
        Ok(c) => c,
        Err(e) => return view::api_error_page(e.into()),
    };
    let section_key = q
        .section_id
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "ungrouped".to_string());
    let section = if section_key == "ungrouped" {
        None
    } else {
        match state
            .store
            .get_section(&session.project_id, &kb_id, &section_key)
            .await
        {
            Ok(s) if s.category_id == category.id => Some(s),
            Ok(_) => return view::error_page(StatusCode::NOT_FOUND, "No such section here."),
            Err(e) => return view::api_error_page(e.into()),
        }
    };
    let list = format!("dash-articles:{kb_id}:{}:{section_key}", category.id);
    let page = match pages::page_request(&state, q.cursor.as_deref(), &list) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let filter = ContentFilter {
        category_id: Some(category.id.clone()),
        section: match &section {
            Some(s) => SectionFilter::Is(s.id.clone()),
            None => SectionFilter::Ungrouped,
        },
        ..ContentFilter::default()
    };
    let result = match state
        .store
        .list_articles(&session.project_id, &kb_id, &filter, page)
        .await
    {
        Ok(r) => r,
        Err(e) => return view::api_error_page(e.into()),
    };
    let base = format!(
        "/dashboard/kb/{kb_id}/articles?category_id={}&section_id={}",
        view::encode_component(&category.id),
        view::encode_component(&section_key)
    );
    let pager = pages::pager(&state, &base, &list, q.cursor.as_deref(), result.next);
    let first_page = q.cursor.as_deref().is_none_or(str::is_empty);
    let count = result.items.len();
    let more = result.next.is_some();
    let articles: Vec<Value> = result
        .items
        .iter()
        .enumerate()
        .map(|(i, a)| {
            context! {
                id => a.id, title => a.title, status => a.status.as_str(),
                tags => a.tags, updated_at => a.updated_at,
                // Up is offered unless this is the very first article of the list, down
                // unless it is the very last (which is only known on the last page).
                first => first_page && i == 0, last => !more && i + 1 == count,
            }
        })
        .collect();
    let place = match &section {
        Some(s) => format!("{} › {}", category.name, s.name),
        None => format!("{} (directly in the category)", category.name),
    };
    dash.page(
        "content_articles.html",
        &place,
        kb_nav(&kb, "content"),
        context! {
            kb => context! { id => kb.id, title => kb.title },
            category => context! { id => category.id, name => category.name },
            section => section.as_ref().map(|s| context! { id => s.id, name => s.name }),
            section_key,
            place,
            articles,
            // Drag and drop sends a position counted from the start of the list, which only the
            // first page knows; later pages keep the Up/Down buttons.
            first_page,
            back => base,
            page => pager,
        },
    )
}

/// Where an item moves: one place `up`/`down`, or to `position` (0-based, among its siblings;
/// what drag and drop sends).
enum Move {
    Up,
    Down,
    To(usize),
}

fn requested_move(form: &Form) -> Result<Move, FormError> {
    if let Some(p) = form.get("position").filter(|p| !p.is_empty()) {
        return p.trim().parse::<usize>().map(Move::To).map_err(|_| {
            FormError::form(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Position must be a whole number from 0.",
            )
        });
    }
    match form.text("direction") {
        "up" => Ok(Move::Up),
        "down" => Ok(Move::Down),
        _ => Err(FormError::form(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Direction must be up or down.",
        )),
    }
}

/// The new `sort_order`s that carry out `m` on `siblings` (`(id, sort_order)` in their current
/// order): the changed ones only. Two neighbours with different sort orders swap them, as two
/// REST updates would; otherwise (ties — every item created without a `sort_order` has 0 — or
/// a move by several places) the list is renumbered 0, 1, 2… in its new order, which writes
/// only the items whose number changes.
fn reorder(siblings: &[(String, i64)], id: &str, m: &Move) -> Option<Vec<(String, i64)>> {
    let from = siblings.iter().position(|(s, _)| s == id)?;
    let to = match m {
        Move::Up => from.checked_sub(1)?,
        Move::Down => Some(from + 1).filter(|t| *t < siblings.len())?,
        Move::To(p) => (*p).min(siblings.len().saturating_sub(1)),
    };
    if to == from {
        return Some(Vec::new());
    }
    if from.abs_diff(to) == 1 && siblings[from].1 != siblings[to].1 {
        return Some(vec![
            (siblings[from].0.clone(), siblings[to].1),
            (siblings[to].0.clone(), siblings[from].1),
        ]);
    }
    let mut order: Vec<&(String, i64)> = siblings.iter().collect();
    let item = order.remove(from);
    order.insert(to, item);
    Some(
        order
            .iter()
            .enumerate()
            .filter(|(k, (_, sort))| *sort != *k as i64)
            .map(|(k, (id, _))| (id.clone(), k as i64))
            .collect(),
    )
}

/// The flash after a move that could not happen (already first or last).
fn nowhere(back: &str) -> Response {
    view::redirect_with(back, "It is already at that end.", FlashKind::Info)
}

/// `POST /dashboard/kb/{kb_id}/categories/{id}/move`.
pub async fn move_category(
    State(state): State<AppState>,
    Path((kb_id, id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let back = tree_url(&kb_id);
    let session = &posted.session;
    let result: Result<Option<()>, FormError> = async {
        let m = requested_move(&posted.form)?;
        let categories = all_categories(&state, session, &kb_id).await?;
        let siblings: Vec<_> = categories
            .iter()
            .map(|c| (c.id.clone(), c.sort_order))
            .collect();
        let Some(changes) = reorder(&siblings, &id, &m) else {
            // Not one of this KB's categories: the same 404 as REST.
            state
                .store
                .get_category(&session.project_id, &kb_id, &id)
                .await?;
            return Ok(None);
        };
        refuse_source_managed(&state, session, &kb_id).await?;
        for (cid, sort_order) in changes {
            let patch =
                input::<CategoryInput>(json!({ "sort_order": sort_order }))?.into_patch()?;
            state
                .store
                .update_category(&session.project_id, &kb_id, &cid, patch)
                .await?;
        }
        written(&state, &kb_id).await;
        Ok(Some(()))
    }
    .await;
    match result {
        Ok(Some(())) => view::redirect_with(&back, "Category moved.", FlashKind::Success),
        Ok(None) => nowhere(&back),
        Err(e) => action_failed(e, &back),
    }
}

/// `POST /dashboard/kb/{kb_id}/sections/{id}/move`: within its category.
pub async fn move_section(
    State(state): State<AppState>,
    Path((kb_id, id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let back = tree_url(&kb_id);
    let session = &posted.session;
    let result: Result<Option<()>, FormError> = async {
        let m = requested_move(&posted.form)?;
        let section = state
            .store
            .get_section(&session.project_id, &kb_id, &id)
            .await?;
        let sections = all_sections(&state, session, &kb_id, Some(&section.category_id)).await?;
        let siblings: Vec<_> = sections
            .iter()
            .map(|s| (s.id.clone(), s.sort_order))
            .collect();
        let Some(changes) = reorder(&siblings, &id, &m) else {
            return Ok(None);
        };
        refuse_source_managed(&state, session, &kb_id).await?;
        for (sid, sort_order) in changes {
            let patch = input::<SectionInput>(json!({ "sort_order": sort_order }))?.into_patch()?;
            state
                .store
                .update_section(&session.project_id, &kb_id, &sid, patch)
                .await?;
        }
        written(&state, &kb_id).await;
        Ok(Some(()))
    }
    .await;
    match result {
        Ok(Some(())) => view::redirect_with(&back, "Section moved.", FlashKind::Success),
        Ok(None) => nowhere(&back),
        Err(e) => action_failed(e, &back),
    }
}

/// Every article of the article's place (its section, or its category's ungrouped ones).
async fn article_siblings(
    state: &AppState,
    project_id: &str,
    article: &Article,
) -> Result<Vec<(String, i64)>, tome_store::StoreError> {
    let filter = ContentFilter {
        category_id: Some(article.category_id.clone()),
        section: match &article.section_id {
            Some(s) => SectionFilter::Is(s.clone()),
            None => SectionFilter::Ungrouped,
        },
        ..ContentFilter::default()
    };
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .list_articles(
                project_id,
                &article.kb_id,
                &filter,
                PageRequest {
                    limit: ALL_BATCH,
                    after,
                },
            )
            .await?;
        out.extend(page.items.into_iter().map(|a| (a.id, a.sort_order)));
        match page.next {
            Some(p) => after = Some(p),
            None => return Ok(out),
        }
    }
}

/// `POST /dashboard/kb/{kb_id}/articles/{id}/move`: within its section (or its category's
/// ungrouped articles). Every renumbered article is written in one update, all or nothing.
pub async fn move_article(
    State(state): State<AppState>,
    Path((kb_id, id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    let article = match state
        .store
        .get_article(&session.project_id, &kb_id, &id)
        .await
    {
        Ok(a) => a,
        Err(e) => return view::api_error_page(e.into()),
    };
    let back = format!(
        "/dashboard/kb/{kb_id}/articles?category_id={}&section_id={}",
        view::encode_component(&article.category_id),
        view::encode_component(article.section_id.as_deref().unwrap_or("ungrouped"))
    );
    let result: Result<Option<()>, FormError> = async {
        let m = requested_move(&posted.form)?;
        let siblings = article_siblings(&state, &session.project_id, &article).await?;
        let Some(changes) = reorder(&siblings, &id, &m) else {
            return Ok(None);
        };
        refuse_source_managed(&state, session, &kb_id).await?;
        if changes.is_empty() {
            return Ok(Some(()));
        }
        let patches = changes
            .into_iter()
            .map(|(aid, sort_order)| {
                let (_, patch) = input::<ArticleInput>(json!({ "sort_order": sort_order }))?
                    .into_patch(false)?;
                Ok((aid, patch))
            })
            .collect::<Result<Vec<_>, FormError>>()?;
        state
            .store
            .update_articles(&session.project_id, &kb_id, patches, false)
            .await?;
        written(&state, &kb_id).await;
        Ok(Some(()))
    }
    .await;
    match result {
        Ok(Some(())) => view::redirect_with(&back, "Article moved.", FlashKind::Success),
        Ok(None) => nowhere(&back),
        Err(e) => action_failed(e, &back),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(orders: &[i64]) -> Vec<(String, i64)> {
        orders
            .iter()
            .enumerate()
            .map(|(i, o)| (format!("x{i}"), *o))
            .collect()
    }

    #[test]
    fn distinct_neighbours_swap_their_orders() {
        let changes = reorder(&list(&[1, 5, 9]), "x1", &Move::Up).expect("moves");
        assert_eq!(changes, vec![("x1".into(), 1), ("x0".into(), 5)]);
    }

    #[test]
    fn ties_are_renumbered_in_the_new_order() {
        let changes = reorder(&list(&[0, 0, 0]), "x2", &Move::Up).expect("moves");
        assert_eq!(changes, vec![("x2".into(), 1), ("x1".into(), 2)]);
    }

    #[test]
    fn ends_do_not_move_and_positions_are_clamped() {
        assert!(reorder(&list(&[0, 1]), "x0", &Move::Up).is_none());
        assert!(reorder(&list(&[0, 1]), "x1", &Move::Down).is_none());
        let changes = reorder(&list(&[0, 1, 2]), "x0", &Move::To(99)).expect("moves");
        assert_eq!(
            changes,
            vec![("x1".into(), 0), ("x2".into(), 1), ("x0".into(), 2)]
        );
    }
}
