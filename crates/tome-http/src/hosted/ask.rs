//! The hosted help centre's "Ask" box: a question answered from the KB's published articles, by
//! the same code as the assistant API (`routes::assistant`).
//!
//! - Without JavaScript the box is a `GET <root>/ask?q=…` form: [`page`] answers it with a page
//!   in the KB's theme — the question, the answer rendered from Markdown through the article
//!   sanitiser, the numbered sources linking to the hosted pages (or "the documentation doesn't
//!   cover this" with the closest pages).
//! - With JavaScript, `ask.js` posts the question to the same URL and [`stream`] answers with
//!   the v2 endpoint's UI message stream, plus the answer's sanitised HTML just before `finish`
//!   (a `data-tome-answer` part) so the script never has to turn model text into markup.
//!
//! Visitors are anonymous: each question counts against the hosted rate limit (by the caller)
//! and the assistant's per-client message limit, costs the same credits as an API message, and is
//! recorded with `fp` `anonymous`. Answers are never cached.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Serialize;
use tome_assistant::{Answer, Citation};
use tome_core::assistant::Resolution;
use tome_core::model::KnowledgeBase;

use super::layout::{home_crumb, html_page, meta};
use super::site::Site;
use super::view::Crumb;
use crate::error::ApiError;
use crate::routes::assistant::{self, HostedMessage, MessageBody};
use crate::routes::docs::article_id_in;
use crate::state::AppState;

/// Longest question the Ask box takes, in characters.
pub const MAX_QUESTION: usize = 500;

/// The name of the stream part carrying the answer's sanitised HTML.
pub const HTML_PART: &str = "data-tome-answer";

/// Whether the KB's hosted pages show the Ask box: on unless its theme settings turn it off.
pub fn enabled(kb: &KnowledgeBase) -> bool {
    kb.theme_settings
        .as_ref()
        .and_then(|t| t.assistant)
        .unwrap_or(true)
}

/// `[n]` citations of `markdown` that name one of `sources` (`1..=sources.len()`), made links
/// to their pages (`[\[n\]](<url>)`); `\[n]`, code spans and fenced code are left alone.
fn link_citations(markdown: &str, sources: &[Citation]) -> String {
    let mut out = String::with_capacity(markdown.len() + sources.len() * 64);
    let mut fence: Option<(u8, usize)> = None;
    for line in markdown.split_inclusive('\n') {
        let trimmed = line.trim_start_matches(' ');
        let marker = trimmed.bytes().next().filter(|b| matches!(b, b'`' | b'~'));
        let run = marker.map_or(0, |m| trimmed.bytes().take_while(|b| *b == m).count());
        match (fence, marker) {
            (None, Some(m)) if run >= 3 => {
                fence = Some((m, run));
                out.push_str(line);
                continue;
            }
            (Some((m, n)), Some(got))
                if got == m && run >= n && trimmed[run..].trim().is_empty() =>
            {
                fence = None;
                out.push_str(line);
                continue;
            }
            (Some(_), _) => {
                out.push_str(line);
                continue;
            }
            _ => {}
        }
        link_line(line, sources, &mut out);
    }
    out
}

/// [`link_citations`] for one line outside fenced code.
fn link_line(line: &str, sources: &[Citation], out: &mut String) {
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'`' => {
                // A code span: from a run of backticks to the next run of the same length.
                let run = bytes[i..].iter().take_while(|b| **b == b'`').count();
                let mut j = i + run;
                let mut closed = None;
                while j < bytes.len() {
                    if bytes[j] == b'`' {
                        let r = bytes[j..].iter().take_while(|b| **b == b'`').count();
                        if r == run {
                            closed = Some(j + r);
                            break;
                        }
                        j += r;
                    } else {
                        j += 1;
                    }
                }
                i = closed.unwrap_or(i + run);
            }
            b'[' => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let close = i + 1 + digits;
                let followed = bytes.get(close + 1).copied();
                let n: usize = line[i + 1..close].parse().unwrap_or(0);
                let target = (digits > 0
                    && digits < 4
                    && bytes.get(close) == Some(&b']')
                    && !matches!(followed, Some(b'(' | b'[' | b':')))
                .then(|| sources.get(n.wrapping_sub(1)))
                .flatten()
                .filter(|c| linkable(&c.url));
                match target {
                    Some(c) => {
                        out.push_str(&line[copied..i]);
                        out.push_str(&format!("[\\[{n}\\]](<{}>)", c.url));
                        i = close + 1;
                        copied = i;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    out.push_str(&line[copied.min(line.len())..]);
}

/// Whether a citation's URL can go into a Markdown link as is: an absolute HTTP(S) URL or a
/// path, with nothing that could end the `<…>` destination.
fn linkable(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/'))
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '\\'))
}

/// The answer as HTML safe to put in a page: its Markdown, with citations linked to their pages,
/// through the same renderer and sanitiser as article bodies.
pub fn answer_html(answer: &Answer) -> String {
    tome_render::render(&link_citations(&answer.text, &answer.sources)).html
}

/// The stream's chunk before `finish`: the answer's sanitised HTML, and whether the
/// documentation covered the question.
pub fn finale(answer: &Answer) -> Bytes {
    let part = serde_json::json!({
        "type": HTML_PART,
        "data": {
            "html": answer_html(answer),
            "unanswered": answer.resolution == Resolution::Unanswered,
        },
    });
    Bytes::from(format!("data: {part}\n\n"))
}

#[derive(Debug, Serialize)]
struct SourceView {
    url: String,
    title: String,
}

#[derive(Debug, Serialize)]
struct AnswerView {
    html: String,
    sources: Vec<SourceView>,
    unanswered: bool,
}

/// Something other than an answer, in place of one.
#[derive(Debug, Serialize)]
struct Notice {
    heading: &'static str,
    message: &'static str,
}

/// What `GET <root>/ask` was asked.
enum Asked {
    /// No `q`: the form alone.
    Nothing,
    /// A `q` the form would not send: why (422).
    Invalid(String, &'static str),
    Question(String),
}

fn read_question(uri: &Uri) -> (Asked, Option<String>) {
    let params = Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default();
    // The page the question was asked on, when it names an article.
    let from = params
        .get("from")
        .filter(|f| {
            f.chars().count() <= assistant::MAX_CURRENT_PATH
                && !f.contains('\0')
                && article_id_in(f).is_some()
        })
        .cloned();
    let asked = match params.get("q") {
        None => Asked::Nothing,
        Some(q) if q.trim().is_empty() => {
            Asked::Invalid(String::new(), "Type a question, then press Ask.")
        }
        Some(q) if q.chars().count() > MAX_QUESTION => Asked::Invalid(
            q.chars().take(MAX_QUESTION).collect(),
            "Questions can be at most 500 characters long. Please shorten yours.",
        ),
        Some(q) if q.contains('\0') => Asked::Invalid(
            q.replace('\0', ""),
            "Your question contains a character that cannot be sent. Please retype it.",
        ),
        Some(q) => Asked::Question(q.trim().to_string()),
    };
    (asked, from)
}

/// `text` as a query-string value: everything but unreserved characters percent-encoded.
fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The notice for a question that could not be answered, by the assistant's refusal.
fn notice_for(e: &ApiError) -> Notice {
    match e.status {
        StatusCode::PAYMENT_REQUIRED => Notice {
            heading: "The assistant is resting",
            message: "This help centre cannot answer more questions right now. Please search \
                      the articles instead, or try again later.",
        },
        StatusCode::TOO_MANY_REQUESTS => Notice {
            heading: "Too many questions",
            message: "You have asked a lot of questions in a short time. Please wait a minute \
                      and try again.",
        },
        _ => Notice {
            heading: "No answer right now",
            message: "The assistant could not answer just now. Please try again in a moment, \
                      or search the articles.",
        },
    }
}

/// `GET <root>/ask[?q=…]`: the answer page (or the form alone, or a 422 for a blank or
/// overlong question), never cached. `client` is the visitor's address bucket; without
/// `may_ask` (a `HEAD`) the question is not asked.
pub(crate) async fn page(
    s: &AppState,
    site: &Site,
    uri: &Uri,
    client: &str,
    may_ask: bool,
) -> Response {
    let (asked, from) = read_question(uri);
    let asked = match asked {
        Asked::Question(_) if !may_ask => Asked::Nothing,
        other => other,
    };
    let kb = &site.tree.kb;
    let mut status = StatusCode::OK;
    let mut retry_after = None;
    let (q, error, notice, answer) = match asked {
        Asked::Nothing => (String::new(), None, None, None),
        Asked::Invalid(q, why) => {
            status = StatusCode::UNPROCESSABLE_ENTITY;
            (q, Some(why), None, None)
        }
        Asked::Question(q) => {
            let asked = match assistant::limit_client(s, &kb.id, client).await {
                Ok(()) => {
                    assistant::ask(
                        s,
                        &kb.project_id,
                        Arc::new(kb.clone()),
                        &q,
                        &[],
                        from.as_deref(),
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            match asked {
                Ok(asked) => {
                    let a = &asked.answer;
                    let view = AnswerView {
                        html: answer_html(a),
                        sources: a
                            .sources
                            .iter()
                            .map(|c| SourceView {
                                url: c.url.clone(),
                                title: c.title.clone(),
                            })
                            .collect(),
                        unanswered: a.resolution == Resolution::Unanswered,
                    };
                    (q, None, None, Some(view))
                }
                Err(e) => {
                    if e.status.is_server_error() {
                        tracing::error!(error = ?e, "a hosted question could not be answered");
                    }
                    status = e.status;
                    retry_after = e.retry_after;
                    (q, None, Some(notice_for(&e)), None)
                }
            }
        }
    };
    let title = if answer.is_some() || notice.is_some() {
        q.clone()
    } else {
        "Ask a question".to_string()
    };
    let mut m = meta(
        site,
        "ask",
        &title,
        "Answers from the help centre's articles.",
        "/ask",
    );
    m.crumbs = vec![
        home_crumb(site),
        Crumb {
            name: "Ask".into(),
            url: None,
        },
    ];
    let search_href = format!("{}/search?q={}", site.root, query_escape(&q));
    let page = html_page(
        site,
        status,
        "ask.html",
        m,
        // Not `q`: the layout's search box would show it.
        context! { question => q, error, notice, answer, search_href },
    );
    let mut resp = super::page_response(&page, false);
    let h = resp.headers_mut();
    // Each answer is asked (and paid for) once: no copy anywhere, no revalidation.
    h.remove(header::ETAG);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(v) = retry_after.and_then(|r| HeaderValue::from_str(&r.to_string()).ok()) {
        h.insert(header::RETRY_AFTER, v);
    }
    resp
}

/// `POST <root>/ask` from `ask.js`: the answer as the v2 endpoint's UI message stream.
pub(crate) async fn stream(
    s: AppState,
    kb: Arc<KnowledgeBase>,
    client: String,
    body: MessageBody,
) -> Response {
    let hosted = HostedMessage {
        client,
        max_question_chars: MAX_QUESTION,
        finale,
    };
    let mut resp = match assistant::hosted_message(s, kb, hosted, body).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cite(n: usize) -> Vec<Citation> {
        (1..=n)
            .map(|i| Citation {
                url: format!("https://help.example.com/acme/articles/kba_{i}#s"),
                title: format!("Page {i}"),
            })
            .collect()
    }

    #[test]
    fn citations_become_links_outside_code() {
        let md = "Open **Settings** [1]. Then `arr[1]` and \\[2] stay [2].\n\n```\nx[1]\n```\n- [Page](https://e.com/p) [3]\n[9] is no source; [1](x) is a link.\n";
        let out = link_citations(md, &cite(3));
        assert!(out.contains(
            "Open **Settings** [\\[1\\]](<https://help.example.com/acme/articles/kba_1#s>)."
        ));
        assert!(out.contains("`arr[1]`"), "{out}");
        assert!(out.contains("\\[2] stay [\\[2\\]]"), "{out}");
        assert!(out.contains("```\nx[1]\n```"), "{out}");
        assert!(out.contains("- [Page](https://e.com/p) [\\[3\\]]"), "{out}");
        assert!(out.contains("[9] is no source; [1](x) is a link."), "{out}");
    }

    #[test]
    fn unsafe_urls_are_not_linked() {
        let sources = vec![Citation {
            url: "javascript:alert(1)".into(),
            title: "x".into(),
        }];
        assert_eq!(link_citations("See [1].", &sources), "See [1].");
        let sources = vec![Citation {
            url: "https://e.com/a b".into(),
            title: "x".into(),
        }];
        assert_eq!(link_citations("See [1].", &sources), "See [1].");
    }

    #[test]
    fn answer_html_is_sanitised_and_linked() {
        let answer = Answer {
            text: "From the documentation:\n\nClick <img src=x onerror=alert(1)> <script>alert(1)</script> here [1].".into(),
            sources: cite(1),
            response_type: tome_core::assistant::ResponseType::Answer,
            resolution: Resolution::Answered,
        };
        let html = answer_html(&answer);
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "{html}");
        assert!(!lower.contains("onerror"), "{html}");
        assert!(
            html.contains("href=\"https://help.example.com/acme/articles/kba_1#s\""),
            "{html}"
        );
        let chunk = finale(&answer);
        let text = std::str::from_utf8(&chunk).unwrap_or_default();
        assert!(text.starts_with("data: {"), "{text}");
        assert!(text.ends_with("}\n\n"), "{text}");
        let v: serde_json::Value =
            serde_json::from_str(text.trim_start_matches("data: ").trim()).unwrap_or_default();
        assert_eq!(v["type"], HTML_PART);
        assert_eq!(v["data"]["unanswered"], false);
        assert_eq!(v["data"]["html"], html);
    }
}
