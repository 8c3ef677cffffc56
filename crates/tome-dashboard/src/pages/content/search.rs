//! The search tester: the management search of a KB (drafts included unless filtered), with
//! the engine's highlighted passages, as `GET /v1/kb/{kb_id}/search` returns them.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};
use tome_core::model::Status;
use tome_http::AppState;
use tome_http::error::ApiError;
use tome_search::{Filters, SearchRequest};
use tome_store::{DocKind, SectionFilter};

use crate::guard::Form;
use crate::pages::{FormError, kb_nav, load_kb};
use crate::view::{self, Dash};

/// Hits per kind, REST's default.
const LIMIT: usize = 20;
/// REST's limit on `q`.
const SEARCH_TEXT_MAX: usize = 500;

/// The engine's passage as HTML that can carry nothing but text and `<mark>`: the engine
/// escapes the text and wraps matches in `<mark>`…`</mark>`; here the text between the markers
/// is unescaped and escaped again (whatever it holds stays text) and only balanced markers
/// become elements, so a passage could not inject markup even if the engine let some through.
pub fn safe_highlight(highlight: &str) -> Value {
    let mut out = String::with_capacity(highlight.len() + 16);
    let mut open = false;
    let mut rest = highlight;
    loop {
        let next = [("<mark>", true), ("</mark>", false)]
            .iter()
            .filter_map(|(tag, opens)| rest.find(tag).map(|at| (at, *tag, *opens)))
            .min_by_key(|(at, ..)| *at);
        let (text, marker) = match next {
            Some((at, tag, opens)) => (&rest[..at], Some((tag, opens))),
            None => (rest, None),
        };
        escape_into(&mut out, &unescape(text));
        match marker {
            Some((tag, opens)) => {
                if opens && !open {
                    out.push_str("<mark>");
                    open = true;
                } else if !opens && open {
                    out.push_str("</mark>");
                    open = false;
                }
                rest = &rest[text.len() + tag.len()..];
            }
            None => break,
        }
    }
    if open {
        out.push_str("</mark>");
    }
    Value::from_safe_string(out)
}

/// Reverses the engine's escaping (`highlight.rs`: `& < > " '`).
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `GET /dashboard/kb/{kb_id}/search?q=&status=…&type=`.
pub async fn search(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let session = &dash.session;
    let kb = match load_kb(&state, session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let query = Form::parse(raw.unwrap_or_default().as_bytes());
    let q = query.text("q").trim().to_string();
    let statuses: Vec<&str> = query
        .all("status")
        .into_iter()
        .filter(|s| Status::parse(s).is_some())
        .collect();
    let kind = query.text("type");
    let form = context! {
        q, statuses => statuses.clone(), kind,
    };
    let render = |status: StatusCode, results: Value, errors: Value| {
        dash.page_status(
            status,
            "search.html",
            "Search",
            kb_nav(&kb, "search"),
            context! {
                kb => context! { id => kb.id, title => kb.title },
                form => form.clone(), results, errors,
                all_statuses => Status::NAMES,
            },
        )
    };
    if q.is_empty() {
        return render(StatusCode::OK, Value::from(()), context! {});
    }
    if q.chars().count() > SEARCH_TEXT_MAX {
        let e = FormError::from(ApiError::validation(
            "q",
            format!("must be at most {SEARCH_TEXT_MAX} characters"),
        ));
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            Value::from(()),
            e.errors(),
        );
    }
    let kind = match kind {
        "article" => Some(DocKind::Article),
        "faq" => Some(DocKind::Faq),
        _ => None,
    };
    let request = SearchRequest {
        project_id: session.project_id.clone(),
        kb_id: kb_id.clone(),
        text: q.clone(),
        filters: Filters {
            statuses: statuses.iter().filter_map(|s| Status::parse(s)).collect(),
            category_id: None,
            section: SectionFilter::Any,
            tag: None,
            kind,
        },
        limit: LIMIT,
    };
    let results = match state.run_search(&request).await {
        Ok(r) => r,
        Err(e) => return view::api_error_page(ApiError::from(e)),
    };
    let articles: Vec<Value> = results
        .articles
        .iter()
        .map(|h| {
            context! {
                id => h.id, title => h.title, status => h.status.as_str(),
                highlight => safe_highlight(&h.highlight), score => format!("{:.2}", h.score),
            }
        })
        .collect();
    let faqs: Vec<Value> = results
        .faqs
        .iter()
        .map(|h| {
            context! {
                id => h.id, question => h.question, status => h.status.as_str(),
                highlight => safe_highlight(&h.highlight), score => format!("{:.2}", h.score),
            }
        })
        .collect();
    render(StatusCode::OK, context! { articles, faqs }, context! {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_engines_marks_become_elements() {
        let h = safe_highlight("Use &lt;b&gt;<mark>Reset</mark>&lt;/b&gt; &amp; <img src=x>");
        assert_eq!(
            h.to_string(),
            "Use &lt;b&gt;<mark>Reset</mark>&lt;/b&gt; &amp; &lt;img src=x&gt;"
        );
        let unbalanced = safe_highlight("</mark>a<mark>b");
        assert_eq!(unbalanced.to_string(), "a<mark>b</mark>");
    }
}
