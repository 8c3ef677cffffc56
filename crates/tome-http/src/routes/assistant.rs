//! The assistant message (`POST /v2/assistant/{domain}/message`, AI SDK v5+ UI message stream;
//! `POST /v1/assistant/{domain}/message`, AI SDK v4 data stream; either with
//! `Accept: application/json` for one JSON object) and the assistant analytics
//! (`GET /v1/analytics/{projectId}/assistant[/threads/{threadId}]`).
//!
//! A message: validate → per-client limit (site-key callers) → charge the credit (402 at the cap,
//! before any work) → retrieve passages (the question, the conversation before it when it reads
//! as a follow-up, the page the asker is on) → answer (a model when one is configured, else the
//! extractive answerer; a model that fails falls back to it) → stream → record the exchange in
//! its thread → `finish` with the thread ID. A message that produced nothing is refunded.
//!
//! The hosted help centre's Ask box answers with the same code: [`ask`] (its answer page, whole,
//! no stream) and [`hosted_message`] (its script: the v2 stream plus the answer's sanitised HTML
//! before `finish`), both for anonymous visitors (`fp` [`ANONYMOUS_FP`]) under the per-client
//! message limit ([`limit_client`]) that site-key callers have.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tome_assistant::provider::{Turn, prompt};
use tome_assistant::stream::{Encoder, Format, json_answer};
use tome_assistant::{Answer, Event, Passage, extractive};
use tome_core::assistant::{NewExchange, Resolution, ResponseType, SourceRef};
use tome_core::credits::{Action, Charge};
use tome_core::model::KnowledgeBase;
use tome_search::PassageRequest;
use tome_store::{DateRange, Reservation};
use utoipa::ToSchema;

use crate::docs::{Caller, DocsCtx};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, Params};
use crate::routes::docs::{DOMAIN_PARAM, DocsFilter, article_id_in, article_path, hosted_root};
use crate::state::AppState;

/// Most messages a request may carry.
pub const MAX_MESSAGES: usize = 100;
/// Most bytes of message text (all messages together) a request may carry.
pub const MAX_TEXT_BYTES: usize = 32 * 1024;
/// Longest `currentPath`, in characters.
pub const MAX_CURRENT_PATH: usize = 200;
/// Longest `fp`, in characters.
pub const MAX_FP: usize = 200;
/// Passages retrieved unless `retrievalPageSize` says otherwise, and the most it may ask for.
pub const DEFAULT_RETRIEVAL: i64 = 5;
pub const MAX_RETRIEVAL: i64 = 20;

/// The body of both message endpoints (v1 messages carry `content`, v2 ones `parts`). Unknown
/// fields are ignored: the AI SDK's transports add their own (`id`, `trigger`, `messageId`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageBody {
    #[serde(default)]
    pub fp: Option<String>,
    #[serde(default)]
    pub messages: Option<Vec<Value>>,
    #[serde(default)]
    pub thread_id: Option<String>,
    #[serde(default)]
    pub retrieval_page_size: Option<i64>,
    #[serde(default)]
    pub filter: Option<DocsFilter>,
    #[serde(default)]
    pub context: Option<Vec<Value>>,
    #[serde(default)]
    pub current_path: Option<String>,
}

/// One message of the request, reduced to what answering needs.
#[derive(Debug, Clone)]
struct Msg {
    role: String,
    text: String,
}

/// A validated message request.
#[derive(Debug)]
struct Request {
    fp: String,
    /// Earlier turns (user and assistant), oldest first; the last user message is `question`.
    history: Vec<Msg>,
    question: String,
    thread_id: Option<String>,
    retrieval: usize,
    tag: Option<String>,
    /// Text the asker selected or pasted (`context[].value`).
    context: Vec<String>,
    current_path: Option<String>,
}

/// The text of one request message: v2 `parts[].text` of `text` parts, v1 `content` (or its
/// parts).
fn message_text(m: &Value, i: usize) -> Result<Msg, ApiError> {
    let field = |f: &str| format!("messages[{i}].{f}");
    let obj = m
        .as_object()
        .ok_or_else(|| ApiError::validation(format!("messages[{i}]"), "must be an object"))?;
    let role = obj
        .get("role")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::validation(field("role"), "is required"))?;
    if !matches!(role, "system" | "assistant" | "user" | "data") {
        return Err(ApiError::validation(
            field("role"),
            "must be one of system, assistant, user, data",
        ));
    }
    let mut text = String::new();
    match obj.get("parts") {
        Some(Value::Array(parts)) => {
            for (j, p) in parts.iter().enumerate() {
                let kind = p.get("type").and_then(Value::as_str).ok_or_else(|| {
                    ApiError::validation(format!("messages[{i}].parts[{j}].type"), "is required")
                })?;
                if kind == "text" {
                    let t = p.get("text").and_then(Value::as_str).ok_or_else(|| {
                        ApiError::validation(
                            format!("messages[{i}].parts[{j}].text"),
                            "must be a string",
                        )
                    })?;
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(t);
                }
            }
        }
        Some(Value::Null) | None => {}
        Some(_) => return Err(ApiError::validation(field("parts"), "must be an array")),
    }
    if text.is_empty() {
        match obj.get("content") {
            Some(Value::String(s)) => text.push_str(s),
            Some(Value::Null) | None => {}
            Some(_) => return Err(ApiError::validation(field("content"), "must be a string")),
        }
    }
    Ok(Msg {
        role: role.to_string(),
        text,
    })
}

fn validate(body: MessageBody) -> Result<Request, ApiError> {
    let fp = match body.fp {
        None => return Err(ApiError::validation("fp", "is required")),
        Some(fp) if fp.trim().is_empty() => {
            return Err(ApiError::validation(
                "fp",
                "must not be blank (send `anonymous` when there is no fingerprint)",
            ));
        }
        Some(fp) if fp.contains('\0') => {
            return Err(ApiError::validation(
                "fp",
                "must not contain NUL characters",
            ));
        }
        Some(fp) if fp.chars().count() > MAX_FP => {
            return Err(ApiError::validation(
                "fp",
                format!("must be at most {MAX_FP} characters"),
            ));
        }
        Some(fp) => fp,
    };
    let Some(raw) = body.messages else {
        return Err(ApiError::validation("messages", "is required"));
    };
    if raw.is_empty() {
        return Err(ApiError::validation("messages", "must not be empty"));
    }
    if raw.len() > MAX_MESSAGES {
        return Err(ApiError::validation(
            "messages",
            format!("must have at most {MAX_MESSAGES} messages"),
        ));
    }
    let mut msgs = Vec::with_capacity(raw.len());
    let mut bytes = 0;
    for (i, m) in raw.iter().enumerate() {
        let msg = message_text(m, i)?;
        bytes += msg.text.len();
        msgs.push(msg);
    }
    if bytes > MAX_TEXT_BYTES {
        return Err(ApiError::validation(
            "messages",
            format!("must hold at most {MAX_TEXT_BYTES} bytes of text in all"),
        ));
    }
    let last = msgs.pop().unwrap_or(Msg {
        role: String::new(),
        text: String::new(),
    });
    let last_field = format!("messages[{}]", msgs.len());
    if last.role != "user" {
        return Err(ApiError::validation(
            format!("{last_field}.role"),
            "the last message must be the user's",
        ));
    }
    if last.text.trim().is_empty() {
        return Err(ApiError::validation(
            last_field,
            "the last message must have non-empty text",
        ));
    }
    if last.text.contains('\0') {
        return Err(ApiError::validation(
            last_field,
            "must not contain NUL characters",
        ));
    }
    let retrieval = body.retrieval_page_size.unwrap_or(DEFAULT_RETRIEVAL);
    if !(1..=MAX_RETRIEVAL).contains(&retrieval) {
        return Err(ApiError::validation(
            "retrievalPageSize",
            format!("must be between 1 and {MAX_RETRIEVAL}"),
        ));
    }
    if let Some(p) = &body.current_path
        && p.contains('\0')
    {
        return Err(ApiError::validation(
            "currentPath",
            "must not contain NUL characters",
        ));
    }
    if let Some(p) = &body.current_path
        && p.chars().count() > MAX_CURRENT_PATH
    {
        return Err(ApiError::validation(
            "currentPath",
            format!("must be at most {MAX_CURRENT_PATH} characters"),
        ));
    }
    let mut context = Vec::new();
    for (i, c) in body.context.unwrap_or_default().iter().enumerate() {
        let kind = c.get("type").and_then(Value::as_str);
        if !matches!(kind, Some("code" | "textSelection")) {
            return Err(ApiError::validation(
                format!("context[{i}].type"),
                "must be code or textSelection",
            ));
        }
        let Some(value) = c.get("value").and_then(Value::as_str) else {
            return Err(ApiError::validation(
                format!("context[{i}].value"),
                "must be a string",
            ));
        };
        if kind == Some("textSelection") && !value.trim().is_empty() {
            context.push(value.chars().take(500).collect());
        }
    }
    let thread_id = body.thread_id.filter(|t| !t.is_empty());
    Ok(Request {
        fp,
        history: msgs
            .into_iter()
            .filter(|m| matches!(m.role.as_str(), "user" | "assistant") && !m.text.is_empty())
            .collect(),
        question: last.text,
        thread_id,
        retrieval: retrieval as usize,
        tag: body.filter.and_then(|f| f.tag),
        context,
        current_path: body.current_path.filter(|p| !p.is_empty()),
    })
}

/// Connectives that open a question continuing the one before it ("and on Windows?").
const FOLLOW_UP_OPENERS: &[&str] = &[
    "and", "also", "but", "or", "so", "then", "same", "instead", "plus",
];

/// Words that refer back to the conversation ("does that still work?", "bring them over from
/// there", "how do I make one"): a question holding one leans on what was said before.
const REFERRING_WORDS: &[&str] = &[
    "it", "its", "that", "this", "those", "these", "them", "they", "there", "still", "again",
    "instead", "too", "one", "ones", "else",
];

/// Most words of a question that may still read as a follow-up because of a referring word;
/// longer ones are taken to say what they are about.
const MAX_FOLLOW_UP_WORDS: usize = 16;

/// Whether `question` reads as a follow-up of the conversation before it: short, opening with
/// a connective or "what about", or holding a word that refers back ("and on Windows?", "what
/// about its flags?", "we run our own server, does that still work?").
fn is_follow_up(question: &str) -> bool {
    let words: Vec<String> = question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let opener = words.first().map(String::as_str).unwrap_or_default();
    let about = words.get(1).map(String::as_str) == Some("about");
    words.len() <= 4
        || FOLLOW_UP_OPENERS.contains(&opener)
        || (matches!(opener, "what" | "how") && about)
        || (words.len() <= MAX_FOLLOW_UP_WORDS
            && words.iter().any(|w| REFERRING_WORDS.contains(&w.as_str())))
}

/// The text searched for a question: the question, preceded by the asker's previous question when
/// this one reads as its follow-up, and by any text they selected; at most the engine's query
/// length, the question always whole.
fn retrieval_text(question: &str, previous: Option<&str>, context: &[String]) -> String {
    let mut prefix = String::new();
    if let Some(p) = previous.filter(|_| is_follow_up(question)) {
        prefix.push_str(p);
        prefix.push(' ');
    }
    for c in context {
        prefix.push_str(c);
        prefix.push(' ');
    }
    let room = tome_search::MAX_QUERY_CHARS.saturating_sub(question.chars().count());
    let kept: String = prefix
        .chars()
        .rev()
        .take(room)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let q: String = question
        .chars()
        .take(tome_search::MAX_QUERY_CHARS)
        .collect();
    format!("{kept}{q}")
}

/// A body fed from a channel: the answer's chunks as they are produced.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// Where an answer's events go: a stream's encoder and channel, or (for JSON) nowhere until the
/// end.
struct Sink {
    encoder: Option<Encoder>,
    tx: Option<mpsc::Sender<Bytes>>,
    /// Wire chunks sent just before `finish`, made from the finished answer (the hosted help
    /// centre's sanitised HTML of it).
    finale: Option<Finale>,
}

/// Makes the chunks a stream carries between a finished answer and its `finish` event.
pub type Finale = fn(&Answer) -> Bytes;

impl Sink {
    /// A sink that streams nothing: the answer is wanted whole, at the end.
    fn silent() -> Self {
        Sink {
            encoder: None,
            tx: None,
            finale: None,
        }
    }

    async fn send(&mut self, event: &Event) {
        if let Some(enc) = self.encoder.as_mut() {
            let bytes = enc.encode(event);
            self.send_bytes(bytes).await;
        }
    }

    async fn send_bytes(&mut self, bytes: Bytes) {
        if let Some(tx) = self.tx.as_ref()
            && !bytes.is_empty()
            && tx.send(bytes).await.is_err()
        {
            // The client went away; the answer is still finished and recorded.
            self.tx = None;
        }
    }
}

/// What one message's answering needs, owned (it runs in its own task).
struct Job {
    state: AppState,
    project_id: String,
    kb: Arc<KnowledgeBase>,
    req: Request,
    reservation: Option<Reservation>,
}

/// Hosted URL of a hit: the article's page with the heading's fragment.
fn passage_url(root: &str, hit: &tome_search::PassageHit) -> String {
    let path = article_path(&hit.article_id, &hit.title);
    match &hit.anchor {
        Some(a) => format!("{root}{path}#{a}"),
        None => format!("{root}{path}"),
    }
}

impl Job {
    /// The asker's previous question, when the new one reads as its follow-up.
    fn previous_question(&self) -> Option<&str> {
        self.req
            .history
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.text.as_str())
            .filter(|_| is_follow_up(&self.req.question))
    }

    /// What the extractive answerer weighs besides the question: the previous question of a
    /// follow-up, and the text the asker selected.
    fn answer_context(&self) -> Vec<String> {
        self.previous_question()
            .map(str::to_string)
            .into_iter()
            .chain(self.req.context.iter().cloned())
            .collect()
    }

    /// Retrieves the passages the answer is grounded in.
    async fn retrieve(&self) -> Result<Vec<Passage>, ApiError> {
        let previous = self
            .req
            .history
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.text.as_str());
        let text = retrieval_text(&self.req.question, previous, &self.req.context);
        let near = self
            .req
            .current_path
            .as_deref()
            .and_then(article_id_in)
            .map(str::to_string);
        let hits = self
            .state
            .run_passage_search(&PassageRequest {
                project_id: self.project_id.clone(),
                kb_id: self.kb.id.clone(),
                text,
                tag: self.req.tag.clone(),
                limit: self.req.retrieval,
                near_article: near,
                places: super::docs::places(&self.state, &self.kb.id).await?,
                whole_articles: true,
                // A follow-up is searched with the question before it: feedback from that
                // search would pull the answer back to the earlier question's pages.
                feedback: self.previous_question().is_none(),
            })
            .await?;
        let root = hosted_root(&self.state, &self.kb);
        Ok(hits
            .iter()
            .map(|h| Passage {
                article_id: h.article_id.clone(),
                title: h.title.clone(),
                heading: h.heading.clone(),
                url: passage_url(&root, h),
                text: h.text.clone(),
                about: std::iter::once(h.excerpt.as_str())
                    .chain(h.tags.iter().map(String::as_str))
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n"),
                score: h.score,
            })
            .collect())
    }

    /// Answers and streams; returns the finished answer, or `None` when nothing usable was
    /// produced (an error event was sent).
    async fn answer(&self, sink: &mut Sink) -> Option<Answer> {
        let passages = match self.retrieve().await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = ?e, "assistant retrieval failed");
                sink.send(&Event::Error(
                    "The documentation search is unavailable.".into(),
                ))
                .await;
                return None;
            }
        };
        let opts = extractive::Options {
            min_score: self.state.config.assistant.min_score,
            min_coverage: self.state.config.assistant.min_coverage,
            ..extractive::Options::default()
        };
        let relevant = passages.iter().any(|p| p.score >= opts.min_score);
        if let (Some(model), true) = (&self.state.config.assistant.model, relevant) {
            match self.generated(model, &passages, sink).await {
                Generated::Done(answer) => return Some(answer),
                Generated::Failed => return None,
                Generated::Unavailable(why) => {
                    tracing::warn!(error = %why, "the model failed before answering; answering extractively");
                    let mut answer = extractive::answer(
                        &self.req.question,
                        &self.answer_context(),
                        &passages,
                        &opts,
                    );
                    answer.text = format!(
                        "{}\n\n_(The assistant's model is unavailable; this answer is quoted from the documentation.)_",
                        answer.text.trim_end()
                    );
                    self.stream_whole(&answer, sink).await;
                    return Some(answer);
                }
            }
        }
        let answer =
            extractive::answer(&self.req.question, &self.answer_context(), &passages, &opts);
        self.stream_whole(&answer, sink).await;
        Some(answer)
    }

    /// Streams a finished answer a paragraph at a time, each source after the paragraph that
    /// first cites it.
    async fn stream_whole(&self, answer: &Answer, sink: &mut Sink) {
        for event in tome_assistant::stream::events(answer) {
            sink.send(&event).await;
        }
    }

    async fn generated(
        &self,
        model: &tome_assistant::provider::Provider,
        passages: &[Passage],
        sink: &mut Sink,
    ) -> Generated {
        let history: Vec<Turn> = self
            .req
            .history
            .iter()
            .map(|m| Turn {
                from_user: m.role == "user",
                text: m.text.clone(),
            })
            .collect();
        let messages = prompt(&self.req.question, &history, passages);
        let mut deltas = match model.stream(&messages).await {
            Ok(d) => d,
            Err(e) => return Generated::Unavailable(e.to_string()),
        };
        let mut citer = tome_assistant::cite::Citer::new(passages);
        let mut sent_any = false;
        loop {
            match deltas.next().await {
                Some(Ok(delta)) => {
                    for ev in citer.push(&delta) {
                        sent_any = true;
                        sink.send(&ev).await;
                    }
                }
                Some(Err(e)) if !sent_any => return Generated::Unavailable(e.to_string()),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "the model failed part-way through an answer");
                    sink.send(&Event::Error(
                        "The assistant's model failed part-way through the answer.".into(),
                    ))
                    .await;
                    return Generated::Failed;
                }
                None => break,
            }
        }
        for ev in citer.finish() {
            sink.send(&ev).await;
        }
        if citer.text().trim().is_empty() {
            return Generated::Unavailable("the model sent an empty answer".into());
        }
        let sources = citer.sources().to_vec();
        Generated::Done(Answer {
            text: citer.text().to_string(),
            resolution: if sources.is_empty() {
                Resolution::Unanswered
            } else {
                Resolution::Answered
            },
            sources,
            response_type: ResponseType::Answer,
        })
    }

    /// Records the exchange in its thread (created now if new); returns the thread ID.
    async fn record(&self, answer: &Answer) -> Result<String, ApiError> {
        let store = &self.state.store;
        let thread_id = match &self.req.thread_id {
            Some(id) => id.clone(),
            None => {
                store
                    .create_thread(&self.project_id, &self.kb.id, &self.req.fp)
                    .await?
                    .id
            }
        };
        store
            .append_exchange(
                &self.project_id,
                &thread_id,
                NewExchange {
                    question: self.req.question.clone(),
                    page_url: self.req.current_path.clone(),
                    answer: answer.text.clone(),
                    sources: answer
                        .sources
                        .iter()
                        .map(|c| SourceRef {
                            title: c.title.clone(),
                            url: c.url.clone(),
                        })
                        .collect(),
                    response_type: answer.response_type,
                    resolution: answer.resolution,
                },
            )
            .await?;
        Ok(thread_id)
    }

    async fn refund(&self) {
        if let Some(r) = &self.reservation
            && let Err(e) = self.state.store.refund_credits(&self.project_id, r).await
        {
            tracing::error!(error = %e, "could not refund an assistant message's credit");
        }
    }

    /// Answers, records and finishes; the whole life of one message after validation.
    async fn run(self, mut sink: Sink) -> Option<(String, Answer)> {
        let Some(answer) = self.answer(&mut sink).await else {
            self.refund().await;
            return None;
        };
        match self.record(&answer).await {
            Ok(thread_id) => {
                if let Some(finale) = sink.finale {
                    sink.send_bytes(finale(&answer)).await;
                }
                sink.send(&Event::Finish {
                    thread_id: thread_id.clone(),
                })
                .await;
                Some((thread_id, answer))
            }
            Err(e) => {
                tracing::error!(error = ?e, "could not record an assistant message");
                sink.send(&Event::Error("The answer could not be saved.".into()))
                    .await;
                self.refund().await;
                None
            }
        }
    }
}

enum Generated {
    Done(Answer),
    /// Nothing was sent: answer another way.
    Unavailable(String),
    /// Part of an answer was sent, then the model failed: an error event went out.
    Failed,
}

/// Whether the caller asked for one JSON object instead of a stream.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            let a = a.to_ascii_lowercase();
            a.contains("application/json") && !a.contains("text/event-stream")
        })
}

/// The `fp` recorded for askers who send none: hosted help-centre visitors.
pub const ANONYMOUS_FP: &str = "anonymous";

/// Counts a message against the per-client message limit of a browser caller (a site-key
/// caller, or a hosted help-centre visitor: both share one bucket per KB and client address);
/// 429 when over it.
pub async fn limit_client(state: &AppState, kb_id: &str, client: &str) -> Result<(), ApiError> {
    let d = state
        .limiter
        .hit(
            &format!("assistant:{kb_id}:{client}"),
            state.config.assistant.client_message_limit,
        )
        .await;
    if d.allowed {
        return Ok(());
    }
    state.metrics.rate_limited("assistant_client");
    Err(ApiError::rate_limited(d.retry_after))
}

/// Reserves one message's credits (402 `spending_cap_exceeded` at the cap, before any work);
/// `None` when messages are free.
async fn reserve(state: &AppState, project_id: &str) -> Result<Option<Reservation>, ApiError> {
    let price = state.config.assistant.message_credits;
    if price <= 0 {
        return Ok(None);
    }
    Ok(Some(
        state
            .store
            .reserve_credits(
                project_id,
                Charge::priced(Action::AssistantMessage, 1, price),
            )
            .await?,
    ))
}

/// Everything a validated message passes before any work: the per-client limit (browser
/// callers), its thread (unknown, another project's or another KB's: 404), its credit (402).
async fn admit(state: AppState, ctx: DocsCtx, req: Request) -> Result<Job, ApiError> {
    if let Caller::Site { client } = &ctx.caller {
        limit_client(&state, &ctx.kb.id, client).await?;
    }
    let mut req = req;
    if let Some(thread) = &req.thread_id {
        state
            .store
            .get_thread(&ctx.project_id, &ctx.kb.id, thread)
            .await?;
        if !req.history.iter().any(|m| m.role == "user") {
            // The client sent only the new question: the conversation is the stored one.
            let (_, messages) = state.store.thread_messages(&ctx.project_id, thread).await?;
            req.history = messages
                .into_iter()
                .map(|m| Msg {
                    role: m.role.as_str().to_string(),
                    text: m.content,
                })
                .collect();
        }
    }
    let reservation = reserve(&state, &ctx.project_id).await?;
    Ok(Job {
        state,
        project_id: ctx.project_id,
        kb: ctx.kb,
        req,
        reservation,
    })
}

/// The answer when nothing usable was produced (the credit was refunded).
fn could_not_answer() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
        "The assistant could not answer. Retry shortly.",
    )
}

/// Runs `job` in its own task, streaming its answer in `format` as it is produced; `finale`
/// adds chunks before `finish`.
fn stream(job: Job, format: Format, finale: Option<Finale>) -> Response {
    let message_id = tome_core::id::new_id(tome_core::id::MESSAGE);
    let mut encoder = Encoder::new(format, &message_id);
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let start = encoder.start();
    let sink = Sink {
        encoder: Some(encoder),
        tx: Some(tx),
        finale,
    };
    if !start.is_empty()
        && let Some(tx) = &sink.tx
    {
        // The channel is empty and has room: this cannot wait.
        let _ = tx.try_send(start);
    }
    tokio::spawn(job.run(sink));
    let mut resp = Response::new(Body::new(ChannelBody(rx)));
    for (name, value) in format.headers() {
        resp.headers_mut()
            .insert(*name, HeaderValue::from_static(value));
    }
    resp
}

async fn message(
    state: AppState,
    ctx: DocsCtx,
    headers: HeaderMap,
    body: MessageBody,
    format: Format,
) -> ApiResult<Response> {
    let req = validate(body)?;
    let job = admit(state, ctx, req).await?;
    if wants_json(&headers) {
        return match job.run(Sink::silent()).await {
            Some((thread_id, answer)) => Ok(Json(json_answer(&thread_id, &answer)).into_response()),
            None => Err(could_not_answer()),
        };
    }
    Ok(stream(job, format, None))
}

/// An answered question: the answer and the thread it was recorded in.
#[derive(Debug, Clone)]
pub struct Asked {
    pub thread_id: String,
    pub answer: Answer,
}

/// Answers one question exactly as the message endpoints do — the credit (402 at the cap), the
/// retrieval (biased to `current_path`, reading `history` for a follow-up), the model or the
/// extractive answerer, a new thread recorded with `fp` [`ANONYMOUS_FP`] — but whole, without a
/// stream: for the hosted help centre's answer page. `question` must be non-blank; the caller
/// does its own rate limiting ([`limit_client`]).
pub async fn ask(
    state: &AppState,
    project_id: &str,
    kb: Arc<KnowledgeBase>,
    question: &str,
    history: &[Turn],
    current_path: Option<&str>,
) -> Result<Asked, ApiError> {
    let req = Request {
        fp: ANONYMOUS_FP.to_string(),
        history: history
            .iter()
            .filter(|t| !t.text.is_empty())
            .map(|t| Msg {
                role: if t.from_user { "user" } else { "assistant" }.to_string(),
                text: t.text.clone(),
            })
            .collect(),
        question: question.to_string(),
        thread_id: None,
        retrieval: DEFAULT_RETRIEVAL as usize,
        tag: None,
        context: Vec::new(),
        current_path: current_path.filter(|p| !p.is_empty()).map(str::to_string),
    };
    let reservation = reserve(state, project_id).await?;
    let job = Job {
        state: state.clone(),
        project_id: project_id.to_string(),
        kb,
        req,
        reservation,
    };
    match job.run(Sink::silent()).await {
        Some((thread_id, answer)) => Ok(Asked { thread_id, answer }),
        None => Err(could_not_answer()),
    }
}

/// A message from the hosted help centre's Ask box (its script, with JavaScript on): the v2
/// endpoint's body and validation, for an anonymous visitor of a public KB's hosted pages.
#[derive(Debug)]
pub struct HostedMessage {
    /// The visitor's address bucket, for the per-client message limit.
    pub client: String,
    /// The longest question accepted, in characters (the hosted form's limit).
    pub max_question_chars: usize,
    /// Chunks sent before `finish` (the answer's sanitised HTML).
    pub finale: Finale,
}

/// Answers a hosted visitor's message as a UI message stream (the v2 endpoint's format and
/// rules: per-client limit, credit, thread), with `fp` [`ANONYMOUS_FP`] whatever the body says.
pub async fn hosted_message(
    state: AppState,
    kb: Arc<KnowledgeBase>,
    hosted: HostedMessage,
    mut body: MessageBody,
) -> ApiResult<Response> {
    body.fp = Some(ANONYMOUS_FP.to_string());
    let req = validate(body)?;
    if req.question.chars().count() > hosted.max_question_chars {
        return Err(ApiError::validation(
            "messages",
            format!(
                "the last message must be at most {} characters",
                hosted.max_question_chars
            ),
        ));
    }
    let ctx = DocsCtx {
        project_id: kb.project_id.clone(),
        kb,
        caller: Caller::Site {
            client: hosted.client,
        },
    };
    let job = admit(state, ctx, req).await?;
    Ok(stream(job, Format::UiMessage, Some(hosted.finale)))
}

// ---------------------------------------------------------------- OpenAPI
//
// The response types below describe, for the document only, what the handlers build with
// `json!`; tests/it/openapi.rs checks the server's real responses against them.

/// The 402 of a message, for the OpenAPI document.
const SPENDING_CAP: &str = "`spending_cap_exceeded`: the message would take the project past its monthly spending cap. Refused before any work; nothing is charged.";
/// The 404 of a message, for the OpenAPI document.
const MESSAGE_NOT_FOUND: &str = "`kb_not_found`: no knowledge base `{domain}` in the assistant key's project (another project's is not found either); or `thread_not_found`: `threadId` names no thread of this knowledge base.";
/// The 429 of a message, for the OpenAPI document.
const MESSAGE_RATE_LIMIT: &str = "Rate limit exceeded (`rate_limit_exceeded`): the assistant key's; from a browser, the site key's per-client limit or the per-client message limit. See `Retry-After`.";
/// The 503 of a message, for the OpenAPI document.
const MESSAGE_UNAVAILABLE: &str = "The database or the search index is unavailable, or (with `Accept: application/json`) no answer could be produced (`service_unavailable`); retry shortly.";
/// The 400 of an analytics endpoint, for the OpenAPI document.
const FOREIGN_PROJECT: &str = "`invalid_request`: `projectId` is not the key's project (`details.field` is `projectId`), or the request is malformed.";
/// The `{projectId}` path parameter of the analytics endpoints, for the OpenAPI document.
const PROJECT_PARAM: &str = "The admin key's project (`prj_…`, as `GET /v1/project` gives it).";

/// The answer to a message asked with `Accept: application/json` (Tome's addition to the wire
/// format).
// The shape `tome_assistant::stream::json_answer` builds.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssistantAnswer {
    /// The thread the exchange was recorded in (`thr_…`): send it back to ask a follow-up.
    pub thread_id: String,
    /// The answer as Markdown, citing its sources as `[1]`, `[2]`, … in the order of `sources`.
    pub text: String,
    pub sources: Vec<AssistantSource>,
    pub response_type: AssistantResponseType,
    pub resolution_status: AssistantResolution,
}

/// A page an answer cites.
#[derive(Serialize, ToSchema)]
pub struct AssistantSource {
    /// The page on the hosted help centre, with the cited heading's fragment if any.
    pub url: String,
    /// The article's title.
    pub title: String,
}

/// What kind of reply an assistant message is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssistantResponseType {
    Answer,
    ClarifyingQuestion,
}

/// Whether the documentation answered the question: `unanswered` when nothing relevant was found
/// (the reply says so and suggests the closest pages).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssistantResolution {
    Answered,
    Unanswered,
}

/// A page of `GET /v1/analytics/{projectId}/assistant`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssistantConversations {
    /// Newest first.
    pub conversations: Vec<AssistantConversation>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// One answer of the assistant with the question it answered.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssistantConversation {
    /// The answer's message ID (`msg_…`).
    pub id: String,
    /// Its thread (`thr_…`; Tome's addition): `GET …/assistant/threads/{threadId}` has the whole
    /// conversation.
    pub thread_id: String,
    /// When the answer was given (ISO 8601 UTC with milliseconds).
    pub timestamp: String,
    /// The question.
    pub query: String,
    /// The answer as Markdown.
    pub response: String,
    pub response_type: AssistantResponseType,
    pub sources: Vec<AssistantSource>,
    pub resolution_status: AssistantResolution,
    /// Not classified yet: always null.
    #[schema(required = true)]
    pub query_category: Option<String>,
    /// The page the asker was on (`currentPath`), if they said.
    #[schema(required = true)]
    pub page_url: Option<String>,
}

/// `GET /v1/analytics/{projectId}/assistant/threads/{threadId}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssistantThread {
    /// `thr_…`.
    pub thread_id: String,
    /// ISO 8601 UTC with milliseconds.
    pub created_at: String,
    /// Oldest first: each question, then its answer.
    pub messages: Vec<AssistantThreadMessage>,
}

/// One message of a thread.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssistantThreadMessage {
    /// `msg_…`.
    pub id: String,
    pub role: AssistantRole,
    /// The question, or the answer as Markdown.
    pub content: String,
    /// ISO 8601 UTC with milliseconds.
    pub created_at: String,
}

/// Who wrote a thread's message.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AssistantRole {
    User,
    Assistant,
}

/// Ask the assistant (AI SDK v5 and later).
///
/// An answer grounded in the knowledge base's published articles, streamed as it is produced as
/// an AI SDK UI message stream (`useChat` with `DefaultChatTransport`): citations `[n]` in the
/// text are `source-url` parts with the hosted page's URL and title, `finish` carries the
/// thread's ID (`messageMetadata.threadId`), and a failure part-way is an `error` chunk. With
/// `Accept: application/json` (and not `text/event-stream`), one JSON object instead. Costs the
/// operator's price per message (1 credit by default), refunded when no answer is produced.
#[utoipa::path(post, path = "/v2/assistant/{domain}/message", tag = "Assistant",
    operation_id = "assistant_message_v2",
    params(("domain" = String, Path, description = DOMAIN_PARAM)),
    request_body(content = Value, description = "The conversation to answer: `fp` and `messages` are required, the last message is the user's question. A `threadId` from an earlier answer continues that thread (with only the new question in `messages`, the stored conversation is used). `filter.tag` keeps passages of articles with that tag; `filter.version`, `filter.language` and `filter.groups` are accepted and ignored. Messages are AI SDK v5 UI messages (`parts`; a `content` string is read when there are no text parts)."),
    responses((status = 200, description = "The answer: Server-Sent Events, each `data:` line one JSON chunk (`start`, `text-start`, `text-delta`, `text-end`, `source-url`, `finish` with `messageMetadata.threadId`, `error`), closed by `data: [DONE]`; or, with `Accept: application/json`, one object.",
            headers(("x-vercel-ai-ui-message-stream" = String, description = "`v1`, on the stream")),
            content((String = "text/event-stream"), (AssistantAnswer = "application/json"))),
        (status = 402, body = ErrorBody, description = SPENDING_CAP),
        (status = 404, body = ErrorBody, description = MESSAGE_NOT_FOUND),
        (status = 429, body = ErrorBody, description = MESSAGE_RATE_LIMIT),
        (status = 503, body = ErrorBody, description = MESSAGE_UNAVAILABLE)))]
pub async fn message_v2(
    State(state): State<AppState>,
    ctx: DocsCtx,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MessageBody>,
) -> ApiResult<Response> {
    message(state, ctx, headers, body, Format::UiMessage).await
}

/// Ask the assistant (AI SDK v4).
///
/// The same answer as `POST /v2/assistant/{domain}/message`, streamed as an AI SDK v4 data
/// stream (`useChat` of `ai@4`, `processDataStream`): one part a line, `CODE:JSON` — `f:` start
/// step, `0:` text, `h:` source, `8:` message annotation (`[{threadId}]`), `e:` finish step, `d:`
/// finish message, `3:` error. With `Accept: application/json` (and not `text/event-stream`),
/// one JSON object instead. Costs the operator's price per message (1 credit by default),
/// refunded when no answer is produced.
#[utoipa::path(post, path = "/v1/assistant/{domain}/message", tag = "Assistant",
    operation_id = "assistant_message_v1",
    params(("domain" = String, Path, description = DOMAIN_PARAM)),
    request_body(content = Value, description = "The conversation to answer: `fp` and `messages` are required, the last message is the user's question. A `threadId` from an earlier answer continues that thread (with only the new question in `messages`, the stored conversation is used). `filter.tag` keeps passages of articles with that tag; `filter.version`, `filter.language` and `filter.groups` are accepted and ignored. Messages are AI SDK v4 messages (`content`, or `parts`)."),
    responses((status = 200, description = "The answer: an AI SDK v4 data stream, one `CODE:JSON` part a line; or, with `Accept: application/json`, one object.",
            headers(("x-vercel-ai-data-stream" = String, description = "`v1`, on the stream")),
            content((String = "text/plain"), (AssistantAnswer = "application/json"))),
        (status = 402, body = ErrorBody, description = SPENDING_CAP),
        (status = 404, body = ErrorBody, description = MESSAGE_NOT_FOUND),
        (status = 429, body = ErrorBody, description = MESSAGE_RATE_LIMIT),
        (status = 503, body = ErrorBody, description = MESSAGE_UNAVAILABLE)))]
pub async fn message_v1(
    State(state): State<AppState>,
    ctx: DocsCtx,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MessageBody>,
) -> ApiResult<Response> {
    message(state, ctx, headers, body, Format::Data).await
}

// ---------------------------------------------------------------- analytics

fn foreign_project() -> ApiError {
    ApiError::bad_request("Project not found.")
        .with_details(json!({"field": "projectId", "reason": "Project not found"}))
}

/// A `dateFrom`/`dateTo` query parameter: `YYYY-MM-DD`.
fn date_param(params: &Params, name: &str) -> Result<Option<String>, ApiError> {
    let Some(raw) = params.get(name) else {
        return Ok(None);
    };
    let ok = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
        && raw[5..7].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
        && raw[8..10]
            .parse::<u8>()
            .is_ok_and(|d| (1..=31).contains(&d));
    if !ok {
        return Err(ApiError::validation(name, "must be a date (YYYY-MM-DD)"));
    }
    Ok(Some(raw.to_string()))
}

/// List the assistant's conversations.
///
/// Every answer of the project's assistant with the question it answered, newest first, in
/// pages (`nextCursor`). `dateFrom` and `dateTo` keep answers given on those days (UTC, both
/// inclusive); a `dateTo` before `dateFrom` is an empty window, answered with no conversations.
#[utoipa::path(get, path = "/v1/analytics/{projectId}/assistant", tag = "Analytics",
    operation_id = "assistant_conversations",
    params(("projectId" = String, Path, description = PROJECT_PARAM),
        ("dateFrom" = Option<String>, Query, pattern = "^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$", description = "The first day, `YYYY-MM-DD` (UTC); empty is no bound."),
        ("dateTo" = Option<String>, Query, pattern = "^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$", description = "The last day, `YYYY-MM-DD` (UTC); empty is no bound. Before `dateFrom`, the window is empty."),
        ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = AssistantConversations, description = "A page of conversations"),
        (status = 400, body = ErrorBody, description = FOREIGN_PROJECT)))]
pub async fn conversations(
    State(s): State<AppState>,
    auth: Auth,
    Path(project_id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    if project_id != auth.project_id {
        return Err(foreign_project());
    }
    let range = DateRange {
        from: date_param(&params, "dateFrom")?,
        to: date_param(&params, "dateTo")?,
    };
    let list = format!(
        "conv:{}:{}:{}",
        auth.project_id,
        range.from.as_deref().unwrap_or_default(),
        range.to.as_deref().unwrap_or_default()
    );
    let page = params.page(&s.cursors, &list)?;
    let result = s
        .store
        .list_conversations(&auth.project_id, &range, page)
        .await?;
    let pagination = s.pagination(&list, result.next);
    let conversations: Vec<Value> = result
        .items
        .into_iter()
        .map(|c| {
            json!({
                "id": c.id,
                "threadId": c.thread_id,
                "timestamp": c.timestamp,
                "query": c.query,
                "response": c.response,
                "responseType": c.response_type.as_str(),
                "sources": c.sources.iter().map(|s| json!({"title": s.title, "url": s.url})).collect::<Vec<_>>(),
                "resolutionStatus": c.resolution.as_str(),
                "queryCategory": c.query_category,
                "pageUrl": c.page_url,
            })
        })
        .collect();
    Ok(Json(json!({
        "conversations": conversations,
        "nextCursor": pagination.next_cursor,
        "hasMore": pagination.has_more,
    })))
}

/// Read an assistant thread.
///
/// Every message of one conversation with the assistant, oldest first.
#[utoipa::path(get, path = "/v1/analytics/{projectId}/assistant/threads/{threadId}", tag = "Analytics",
    operation_id = "assistant_thread",
    params(("projectId" = String, Path, description = PROJECT_PARAM),
        ("threadId" = String, Path, description = "`thr_…`, as a message's answer and the conversations give it.")),
    responses((status = 200, body = AssistantThread, description = "The thread and its messages"),
        (status = 400, body = ErrorBody, description = FOREIGN_PROJECT),
        (status = 404, body = ErrorBody, description = "`thread_not_found`: no such thread in the project.")))]
pub async fn thread(
    State(s): State<AppState>,
    auth: Auth,
    Path((project_id, thread_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    if project_id != auth.project_id {
        return Err(foreign_project());
    }
    let (thread, messages) = s
        .store
        .thread_messages(&auth.project_id, &thread_id)
        .await?;
    Ok(Json(json!({
        "threadId": thread.id,
        "createdAt": thread.created_at,
        "messages": messages.iter().map(|m| json!({
            "id": m.id,
            "role": m.role.as_str(),
            "content": m.content,
            "createdAt": m.created_at,
        })).collect::<Vec<_>>(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_ups_carry_the_previous_question() {
        assert!(is_follow_up("and on Windows?"));
        assert!(is_follow_up("what about the flags?"));
        assert!(is_follow_up(
            "and how do I preview my docs locally with it?"
        ));
        assert!(!is_follow_up(
            "how do I configure a custom domain for my documentation site"
        ));
        // A word that refers back, wherever it stands.
        assert!(is_follow_up(
            "we run our own instance on our own server, does that still work?"
        ));
        assert!(is_follow_up(
            "can I still leave a few pages open to everyone?"
        ));
        assert!(is_follow_up(
            "how do we bring our OpenAPI specs over from there?"
        ));
        assert!(is_follow_up("and how do I make one from a folder?"));
        assert!(!is_follow_up("our domain is on cloudflare today"));
        assert!(!is_follow_up(
            "is there a way to hide a page that only admins should see from the sidebar and the search results"
        ));
        assert_eq!(
            retrieval_text("and on Windows?", Some("install the CLI"), &[]),
            "install the CLI and on Windows?"
        );
        assert_eq!(
            retrieval_text(
                "how do I configure a custom domain for my site",
                Some("install the CLI"),
                &[]
            ),
            "how do I configure a custom domain for my site"
        );
        let long = "x".repeat(600);
        assert_eq!(
            retrieval_text(&long, Some("prev"), &[]).chars().count(),
            tome_search::MAX_QUERY_CHARS
        );
    }
}
