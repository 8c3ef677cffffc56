//! An OpenAI-compatible chat-completions endpoint (`POST {url}/chat/completions`, `stream: true`).
//!
//! The client is reqwest over HTTP/1.1 with rustls (the ring provider and the system's root
//! certificates). Redirects are not followed (a POST with a bearer key has no business being
//! redirected) and nothing is retried: a failure is reported at once so that the caller can fall
//! back to the extractive answer while the asker is still waiting.
//!
//! **Invariant:** the API key appears in no `Debug` or `Display` output, no log line and no error:
//! it only ever leaves the process in the `Authorization` header, which is marked sensitive.

mod sse;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use crate::Passage;

/// Where the model is and how long to wait for it.
#[derive(Clone)]
pub struct ProviderConfig {
    /// Base URL, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
    pub url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer …`; never logged, never in an error.
    pub api_key: Option<String>,
    pub connect_timeout: Duration,
    /// From the request to the first token.
    pub first_token_timeout: Duration,
    /// Longest silence between two chunks once streaming.
    pub idle_timeout: Duration,
    /// The whole answer.
    pub total_timeout: Duration,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// One chat message of the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: &'static str,
    pub content: String,
}

/// A turn of the conversation so far, for the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub from_user: bool,
    pub text: String,
}

/// Why the model gave no (complete) answer. Never contains the API key.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("could not reach the model endpoint: {0}")]
    Connect(String),
    #[error("the model endpoint answered HTTP {0}")]
    Status(u16),
    #[error("the model endpoint timed out ({0})")]
    Timeout(&'static str),
    #[error("the model endpoint sent a malformed stream: {0}")]
    Malformed(String),
    /// The configuration cannot work (not an http(s) URL, no TLS setup); found when the provider
    /// is built, so at start-up rather than on the first question.
    #[error("the model endpoint is misconfigured: {0}")]
    Config(String),
}

/// Most characters of one passage in the prompt: enough for a section, bounded so that a few
/// long pages cannot crowd out the rest (or the model's context).
const PASSAGE_CHARS: usize = 1_500;
/// Most characters of one earlier turn, and of all of them together (the most recent are kept).
const TURN_CHARS: usize = 2_000;
const HISTORY_CHARS: usize = 8_000;

const INSTRUCTIONS: &str = "\
You are the documentation assistant of a knowledge base. Answer the user's question using only \
the numbered passages below, taken from the published documentation.

- Use only what the passages say. Do not add outside knowledge and do not invent steps, options, \
commands, links, numbers or names.
- Cite the passage that supports each sentence as [n], its number, right after the sentence, for \
example: \"Run the installer [2].\" Cite several passages as [1][3]. Only cite numbers listed below.
- If the passages do not answer the question, say plainly that the documentation does not cover \
it, and do not guess. If they answer only part of it, answer that part and say what is not covered.
- Be concise. Use Markdown: short paragraphs, numbered lists for steps, code blocks for commands \
and code.
- Answer in the language of the question.";

/// The prompt: instructions to answer only from the numbered passages and cite them as `[n]`,
/// the passages, the conversation so far, and the question.
///
/// `history` is the conversation before `question` (oldest first); only its most recent turns are
/// kept, and consecutive turns of one side are merged since some chat templates insist that user
/// and assistant alternate.
pub fn prompt(question: &str, history: &[Turn], passages: &[Passage]) -> Vec<ChatMessage> {
    let mut system = String::from(INSTRUCTIONS);
    system.push_str("\n\nPassages:\n");
    if passages.is_empty() {
        system.push_str("\n(none: the documentation search found nothing relevant)\n");
    }
    for (i, passage) in passages.iter().enumerate() {
        system.push_str(&format!("\n[{}] {}", i + 1, passage.title));
        if !passage.heading.is_empty() {
            system.push_str(" › ");
            system.push_str(&passage.heading);
        }
        system.push_str(&format!(" ({})\n", passage.url));
        system.push_str(&truncate(passage.text.trim(), PASSAGE_CHARS));
        system.push('\n');
    }

    let mut kept = Vec::new();
    let mut budget = HISTORY_CHARS;
    for turn in history.iter().rev() {
        let text = truncate(turn.text.trim(), TURN_CHARS);
        if text.is_empty() {
            continue;
        }
        let len = text.chars().count();
        if len > budget {
            break;
        }
        budget -= len;
        kept.push((turn.from_user, text));
    }
    kept.reverse();
    kept.push((true, question.trim().to_string()));

    let mut messages = vec![ChatMessage {
        role: "system",
        content: system,
    }];
    for (from_user, text) in kept {
        let role = if from_user { "user" } else { "assistant" };
        match messages.last_mut() {
            Some(last) if last.role == role => {
                last.content.push_str("\n\n");
                last.content.push_str(&text);
            }
            _ => messages.push(ChatMessage {
                role,
                content: text,
            }),
        }
    }
    messages
}

/// `text` cut to at most `max` characters, at a word boundary when one is near, marked with `…`.
fn truncate(text: &str, max: usize) -> String {
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return text.to_string();
    };
    let head = &text[..cut];
    let head = match head.rfind(char::is_whitespace) {
        Some(space) if head.len() - space < 200 => &head[..space],
        _ => head,
    };
    format!("{}…", head.trim_end())
}

/// A configured model endpoint; cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Provider {
    config: Arc<ProviderConfig>,
    endpoint: reqwest::Url,
    client: reqwest::Client,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The model's answer as it streams: text deltas.
pub struct Deltas {
    /// For redacting the key out of what the server sends back.
    config: Arc<ProviderConfig>,
    /// The response body still to read; `None` once the stream is over (complete or failed).
    response: Option<reqwest::Response>,
    parser: sse::Parser,
    /// Deltas (and at most one error, last) parsed but not handed out yet.
    ready: VecDeque<Result<String, ProviderError>>,
    /// A `finish_reason` was seen: the answer is complete even if `[DONE]` never comes.
    finished: bool,
    got_token: bool,
    first_token_deadline: Instant,
    total_deadline: Instant,
    idle_timeout: Duration,
}

impl std::fmt::Debug for Deltas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deltas")
            .field("streaming", &self.response.is_some())
            .field("ready", &self.ready.len())
            .field("got_token", &self.got_token)
            .finish_non_exhaustive()
    }
}

/// One `data:` payload of a chat-completions stream (or a whole non-streamed completion).
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Content>,
    /// A non-streamed completion's whole answer.
    #[serde(default)]
    message: Option<Content>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    content: Option<String>,
}

impl Deltas {
    /// The next text delta; `None` at the end of a complete answer.
    ///
    /// After an error the stream is over: the following call returns `None`.
    pub async fn next(&mut self) -> Option<Result<String, ProviderError>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            let response = self.response.as_mut()?;
            let (deadline, which) = if self.got_token {
                (Instant::now() + self.idle_timeout, "idle")
            } else {
                (self.first_token_deadline, "first token")
            };
            let (deadline, which) = if self.total_deadline <= deadline {
                (self.total_deadline, "total")
            } else {
                (deadline, which)
            };
            let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
                // A server that sent its finish reason but keeps the connection open has
                // finished all the same.
                Err(_) if self.finished => {
                    self.response = None;
                    continue;
                }
                Err(_) => {
                    self.fail(ProviderError::Timeout(which));
                    continue;
                }
                Ok(Err(err)) => {
                    self.fail(ProviderError::Malformed(format!(
                        "the connection broke mid-stream ({})",
                        describe(err)
                    )));
                    continue;
                }
                Ok(Ok(chunk)) => chunk,
            };
            let mut payloads = Vec::new();
            let parsed = match &chunk {
                Some(bytes) => self.parser.feed(bytes, &mut payloads),
                None => self.parser.finish(&mut payloads),
            };
            for payload in payloads {
                if !self.handle(&payload) {
                    break;
                }
            }
            if self.response.is_none() {
                continue;
            }
            if let Err(err) = parsed {
                self.fail(ProviderError::Malformed(err.to_string()));
            } else if chunk.is_none() {
                if self.finished {
                    self.response = None;
                } else {
                    self.fail(ProviderError::Malformed(
                        "the stream ended before the answer was complete".into(),
                    ));
                }
            }
        }
    }

    /// Takes one event's data; `false` once the stream is over (`[DONE]` or an error).
    fn handle(&mut self, payload: &str) -> bool {
        let payload = payload.trim();
        if payload.is_empty() {
            return true;
        }
        if payload == "[DONE]" {
            self.response = None;
            return false;
        }
        let chunk: Chunk = match serde_json::from_str(payload) {
            Ok(chunk) => chunk,
            Err(err) => {
                // The category and position only: serde's message may quote the server's text.
                let kind = match err.classify() {
                    serde_json::error::Category::Data => "unexpected JSON",
                    serde_json::error::Category::Eof => "truncated JSON",
                    serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                        "not JSON"
                    }
                };
                self.fail(ProviderError::Malformed(format!(
                    "an event that is not a completion chunk ({kind} at line {}, column {})",
                    err.line(),
                    err.column()
                )));
                return false;
            }
        };
        if chunk.error.is_some() {
            tracing::debug!(
                event = %excerpt(&redact(payload, self.config.api_key.as_deref())),
                "the model endpoint reported an error mid-stream"
            );
            self.fail(ProviderError::Malformed(
                "the model endpoint reported an error mid-stream".into(),
            ));
            return false;
        }
        if let Some(choice) = chunk.choices.unwrap_or_default().into_iter().next() {
            let content = choice.delta.or(choice.message).and_then(|c| c.content);
            if let Some(text) = content.filter(|text| !text.is_empty()) {
                self.got_token = true;
                self.ready.push_back(Ok(text));
            }
            if choice.finish_reason.is_some() {
                self.finished = true;
            }
        }
        true
    }

    /// Ends the stream with `err`, after the deltas already parsed.
    fn fail(&mut self, err: ProviderError) {
        self.response = None;
        self.ready.push_back(Err(err));
    }
}

impl Provider {
    /// Checks the URL and sets up the HTTP client (TLS with the system's root certificates).
    pub fn new(config: ProviderConfig) -> Result<Self, ProviderError> {
        let mut endpoint = reqwest::Url::parse(config.url.trim())
            .map_err(|err| ProviderError::Config(format!("the URL does not parse ({err})")))?;
        // The path under the base URL's, which may or may not end in `/`; a query (Azure's
        // `api-version`) stays where it is.
        let path = format!("{}/chat/completions", endpoint.path().trim_end_matches('/'));
        endpoint.set_path(&path);
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(ProviderError::Config(
                "the URL must start with http:// or https://".into(),
            ));
        }
        if !endpoint.username().is_empty() || endpoint.password().is_some() {
            // Credentials in the URL would end up in logs and errors; the key has its own setting.
            return Err(ProviderError::Config(
                "the URL must not carry credentials (use the API key setting)".into(),
            ));
        }
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tome/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| ProviderError::Config(describe(err)))?;
        Ok(Provider {
            config: Arc::new(config),
            endpoint,
            client,
        })
    }

    /// Sends the prompt; returns once the response headers arrived (or failed).
    pub async fn stream(&self, messages: &[ChatMessage]) -> Result<Deltas, ProviderError> {
        let config = &*self.config;
        let started = Instant::now();
        let first_token_deadline = started + config.first_token_timeout;
        let total_deadline = started + config.total_timeout;
        let headers_deadline = first_token_deadline.min(total_deadline);
        let headers_timeout = if first_token_deadline <= total_deadline {
            "first token"
        } else {
            "total"
        };

        let messages: Vec<_> = messages
            .iter()
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect();
        let body = json!({
            "model": config.model,
            "messages": messages,
            "stream": true,
            "temperature": 0,
        });
        let mut request = self
            .client
            .post(self.endpoint.clone())
            .header(ACCEPT, "text/event-stream")
            .json(&body);
        if let Some(key) = config.api_key.as_deref().filter(|key| !key.is_empty()) {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                ProviderError::Config("the API key is not a valid header value".into())
            })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }

        let response = match tokio::time::timeout_at(headers_deadline, request.send()).await {
            Err(_) => return Err(ProviderError::Timeout(headers_timeout)),
            Ok(Err(err)) if err.is_connect() && err.is_timeout() => {
                return Err(ProviderError::Timeout("connect"));
            }
            // Built from the client's own errors (no headers, no URL): nothing the server sent.
            Ok(Err(err)) => return Err(ProviderError::Connect(describe(err))),
            Ok(Ok(response)) => response,
        };

        let status = response.status();
        if !status.is_success() {
            // The body may explain (a wrong model name, a quota); some proxies echo the request's
            // headers into it, so it is only logged at debug level, short and without the key.
            let body = tokio::time::timeout_at(
                total_deadline.min(Instant::now() + Duration::from_secs(1)),
                response.text(),
            )
            .await;
            if let Ok(Ok(body)) = body {
                tracing::debug!(
                    status = status.as_u16(),
                    body = %excerpt(&self.redact(&body)),
                    "the model endpoint refused the request"
                );
            }
            return Err(ProviderError::Status(status.as_u16()));
        }

        let mut deltas = Deltas {
            config: self.config.clone(),
            response: None,
            parser: sse::Parser::default(),
            ready: VecDeque::new(),
            finished: false,
            got_token: false,
            first_token_deadline,
            total_deadline,
            idle_timeout: config.idle_timeout,
        };
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if is_json {
            // A server that ignored `stream: true` and sent the whole completion at once.
            let body = match tokio::time::timeout_at(headers_deadline, read_limited(response)).await
            {
                Err(_) => return Err(ProviderError::Timeout(headers_timeout)),
                Ok(body) => body?,
            };
            let text = std::str::from_utf8(&body)
                .map_err(|_| ProviderError::Malformed("a body that is not UTF-8".into()))?;
            if !deltas.handle(text)
                && let Some(Err(err)) = deltas.ready.pop_back()
            {
                return Err(err);
            }
            if !deltas.finished && !deltas.got_token {
                return Err(ProviderError::Malformed(
                    "a completion without a choice".into(),
                ));
            }
            return Ok(deltas);
        }
        deltas.response = Some(response);
        Ok(deltas)
    }

    fn redact(&self, text: &str) -> String {
        redact(text, self.config.api_key.as_deref())
    }
}

/// `text` with the API key blotted out, for anything built from what a server sent back.
fn redact(text: &str, key: Option<&str>) -> String {
    match key {
        Some(key) if !key.is_empty() => text.replace(key, "<redacted>"),
        _ => text.to_string(),
    }
}

/// Longest non-streamed completion read.
const MAX_BODY: usize = 4 << 20;

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, ProviderError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) if body.len() + bytes.len() > MAX_BODY => {
                return Err(ProviderError::Malformed(format!(
                    "a completion longer than {MAX_BODY} bytes"
                )));
            }
            Ok(Some(bytes)) => body.extend_from_slice(&bytes),
            Ok(None) => return Ok(body),
            Err(err) => {
                return Err(ProviderError::Malformed(format!(
                    "the connection broke mid-body ({})",
                    describe(err)
                )));
            }
        }
    }
}

/// rustls with the ring provider (aws-lc-rs, reqwest's default, is a C build), TLS 1.2 and 1.3,
/// and the system's root certificates; HTTP/1.1 only.
fn tls_config() -> Result<rustls::ClientConfig, ProviderError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for err in &native.errors {
        tracing::debug!(error = %err, "could not read some of the system's root certificates");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        tracing::warn!(
            ignored,
            "no usable system root certificates: https model endpoints will fail (install ca-certificates)"
        );
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| ProviderError::Config(format!("TLS setup failed ({err})")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A reqwest error as one line, its causes included, without the URL (the caller knows it).
fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The start of a server's text, for a debug log line.
fn excerpt(text: &str) -> String {
    truncate(text, 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(n: usize, heading: &str, text: &str) -> Passage {
        Passage {
            article_id: format!("kba_{n}"),
            title: format!("Article {n}"),
            heading: heading.to_string(),
            url: format!("https://help.example.com/acme/articles/kba_{n}"),
            text: text.to_string(),
            about: String::new(),
            score: 0.5,
        }
    }

    #[test]
    fn the_prompt_numbers_the_passages_and_ends_with_the_question() {
        let passages = [
            passage(1, "Install › On Windows", "Run setup.exe."),
            passage(2, "", "Tome is a knowledge base."),
        ];
        let history = [
            Turn {
                from_user: true,
                text: "How do I install it?".into(),
            },
            Turn {
                from_user: false,
                text: "Run the installer [1].".into(),
            },
        ];
        let messages = prompt("And on Windows? ", &history, &passages);
        let roles: Vec<_> = messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, ["system", "user", "assistant", "user"]);
        let system = &messages[0].content;
        assert!(system.contains("only the numbered passages"));
        assert!(system.contains("as [n]"));
        assert!(system.contains("does not cover"));
        assert!(system.contains(
            "\n[1] Article 1 › Install › On Windows (https://help.example.com/acme/articles/kba_1)\nRun setup.exe.\n"
        ));
        assert!(system.contains(
            "\n[2] Article 2 (https://help.example.com/acme/articles/kba_2)\nTome is a knowledge base.\n"
        ));
        assert_eq!(messages[3].content, "And on Windows?");
    }

    #[test]
    fn long_passages_and_histories_are_bounded() {
        let long = "word ".repeat(2_000);
        let messages = prompt("q", &[], &[passage(1, "", &long)]);
        let system = &messages[0].content;
        let text = system.split("kba_1)\n").nth(1).unwrap_or_default();
        assert!(text.trim_end().ends_with('…'), "{text}");
        assert!(text.chars().count() <= PASSAGE_CHARS + 2);

        let history: Vec<Turn> = (0..40)
            .map(|i| Turn {
                from_user: i % 2 == 0,
                text: format!("turn {i} {}", "x".repeat(900)),
            })
            .collect();
        let messages = prompt("q", &history, &[]);
        let kept: usize = messages[1..].iter().map(|m| m.content.len()).sum();
        assert!(kept <= HISTORY_CHARS + 100, "{kept}");
        assert!(
            messages[1].content.starts_with("turn 32 "),
            "the most recent turns are kept"
        );
        assert!(messages.last().is_some_and(|m| m.content.ends_with("q")));
    }

    #[test]
    fn consecutive_turns_of_one_side_are_merged_and_empty_ones_dropped() {
        let history = [
            Turn {
                from_user: true,
                text: "first".into(),
            },
            Turn {
                from_user: false,
                text: "  ".into(),
            },
            Turn {
                from_user: true,
                text: "second".into(),
            },
        ];
        let messages = prompt("third", &history, &[]);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[1].role, "user");
        assert_eq!(messages[1].content, "first\n\nsecond\n\nthird");
        assert!(messages[0].content.contains("(none"));
    }

    #[test]
    fn truncation_respects_characters_and_words() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("ééééé", 3), "ééé…");
        assert_eq!(truncate("one two three", 9), "one two…");
    }

    fn config(url: &str, key: Option<&str>) -> ProviderConfig {
        ProviderConfig {
            url: url.to_string(),
            model: "m".into(),
            api_key: key.map(str::to_string),
            connect_timeout: Duration::from_secs(1),
            first_token_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            total_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_endpoint_is_the_base_url_with_or_without_its_slash() {
        for (url, endpoint) in [
            (
                "http://127.0.0.1:9/v1",
                "http://127.0.0.1:9/v1/chat/completions",
            ),
            (
                "http://127.0.0.1:9/v1/",
                "http://127.0.0.1:9/v1/chat/completions",
            ),
            (
                "https://llm.example.com",
                "https://llm.example.com/chat/completions",
            ),
            (
                "https://x.example.com/openai/deployments/d/?api-version=2024-10-21",
                "https://x.example.com/openai/deployments/d/chat/completions?api-version=2024-10-21",
            ),
        ] {
            let provider = Provider::new(config(url, None)).expect("valid config");
            assert_eq!(provider.endpoint.as_str(), endpoint);
        }
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_credentials() {
        for url in [
            "not a url",
            "ftp://example.com/v1",
            "https://user:sk-secret@example.com/v1",
        ] {
            let err = Provider::new(config(url, Some("sk-secret"))).expect_err(url);
            assert!(matches!(err, ProviderError::Config(_)), "{url}: {err:?}");
            assert!(!err.to_string().contains("sk-secret"));
        }
    }

    #[test]
    fn debug_output_hides_the_key() {
        let provider =
            Provider::new(config("https://example.com/v1", Some("sk-secret"))).expect("valid");
        let text = format!("{provider:?} {provider:#?} {:?}", provider.config);
        assert!(text.contains("<redacted>"));
        assert!(!text.contains("sk-secret"));
    }
}
