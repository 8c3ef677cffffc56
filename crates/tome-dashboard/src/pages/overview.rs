//! The overview: the project's knowledge bases, this month's credits against the cap (an inline
//! SVG chart drawn here, no script), and the latest docs updates.

use axum::extract::State;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;
use tome_core::credits::Action;
use tome_core::time;
use tome_http::AppState;
use tome_store::PageRequest;

use crate::view::{self, Dash, Nav};

/// How many KBs and updates the overview lists (the full lists are paginated on their pages).
const LISTED: i64 = 10;

/// One bar of the credits chart, laid out in SVG user units.
#[derive(Debug, Serialize)]
struct Bar {
    label: &'static str,
    items: i64,
    credits: i64,
    y: u32,
    width: f64,
}

/// The chart: one bar per action, scaled to the cap (or to the largest bar without one), and the
/// total against the cap.
#[derive(Debug, Serialize)]
struct Chart {
    bars: Vec<Bar>,
    used: i64,
    cap: Option<i64>,
    /// Share of the cap used, 0–100 (rounded), when there is a cap.
    percent: Option<i64>,
    /// The x of the cap line when the chart is scaled to the cap.
    cap_x: Option<f64>,
    height: u32,
    width: u32,
    label_width: u32,
    bar_width: u32,
}

fn label(action: Action) -> &'static str {
    match action {
        Action::KbCreated => "Knowledge bases",
        Action::CategoryCreated => "Categories",
        Action::SectionCreated => "Sections",
        Action::ArticleCreated => "Articles",
        Action::FaqCreated => "FAQs",
        Action::AssistantMessage => "Assistant messages",
    }
}

fn chart(usage: &tome_core::model::Usage) -> Chart {
    const ROW: u32 = 30;
    const LABEL: u32 = 170;
    const BAR: u32 = 380;
    let used = usage.credits_used();
    let largest = usage
        .by_action
        .iter()
        .map(|(_, _, c)| *c)
        .max()
        .unwrap_or(0);
    let scale = usage.credit_cap.unwrap_or(largest).max(largest).max(1) as f64;
    let bars = Action::ALL
        .iter()
        .enumerate()
        .map(|(i, &action)| {
            let (items, credits) = usage
                .by_action
                .iter()
                .find(|(a, _, _)| *a == action)
                .map_or((0, 0), |(_, n, c)| (*n, *c));
            Bar {
                label: label(action),
                items,
                credits,
                y: i as u32 * ROW,
                width: (credits as f64 / scale * f64::from(BAR)).round(),
            }
        })
        .collect::<Vec<_>>();
    Chart {
        height: bars.len() as u32 * ROW,
        bars,
        used,
        cap: usage.credit_cap,
        percent: usage
            .credit_cap
            .filter(|c| *c > 0)
            .map(|c| (used * 100 + c / 2) / c),
        cap_x: usage
            .credit_cap
            .map(|c| f64::from(LABEL) + c as f64 / scale * f64::from(BAR)),
        width: LABEL + BAR + 60,
        label_width: LABEL,
        bar_width: BAR,
    }
}

/// `GET /dashboard`.
pub async fn overview(State(state): State<AppState>, dash: Dash) -> Response {
    let project = &dash.session.project_id;
    let first = PageRequest {
        limit: LISTED,
        after: None,
    };
    let month = time::month_of(&time::now()).to_string();
    let (kbs, usage, updates, project_row) = tokio::join!(
        state.store.list_kbs(project, None, first),
        state.store.usage(project, &month),
        state.store.list_updates(project, first),
        state.store.get_project(project),
    );
    let (kbs, usage, updates, project_row) = match (kbs, usage, updates, project_row) {
        (Ok(k), Ok(u), Ok(up), Ok(p)) => (k, u, up, p),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => {
            return view::api_error_page(e.into());
        }
    };
    let kbs: Vec<_> = kbs
        .items
        .iter()
        .map(|(kb, counts)| {
            context! {
                id => kb.id, title => kb.title, slug => kb.slug, is_public => kb.is_public,
                articles => counts.articles, categories => counts.categories,
                sections => counts.sections, faqs => counts.faqs,
            }
        })
        .collect();
    let updates: Vec<_> = updates
        .items
        .iter()
        .map(|u| {
            context! {
                id => u.id, kb_id => u.kb_id, kb_slug => u.kb_slug, status => u.status.as_str(),
                trigger => u.trigger.as_str(), summary => u.summary, created_at => u.created_at,
            }
        })
        .collect();
    dash.page(
        "overview.html",
        "Overview",
        Nav {
            section: "overview",
            ..Nav::default()
        },
        context! {
            project => context! { id => project_row.id, name => project_row.name },
            kbs,
            more_kbs => kbs.len() as i64 == LISTED,
            month,
            chart => chart(&usage),
            updates,
        },
    )
}
