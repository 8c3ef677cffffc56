//! The wire formats of an answer: the AI SDK UI message stream (v5+, SSE), the AI SDK data
//! stream (v4), and one JSON object.
//!
//! Both streams emit only chunk types and keys that the AI SDK's own parsers accept, checked
//! against their sources:
//!
//! - **UI message stream** (`ai` 5, 6 and 7; `uiMessageChunkSchema` in
//!   `packages/ai/src/ui-message-stream/ui-message-chunks.ts`). From `ai@5.0.0` to `ai@5.0.216`
//!   every chunk object is a `z.strictObject`: an unknown key fails validation and the client
//!   reports an error. Later releases use `z.looseObject`. So chunks carry only the keys of the
//!   strict schema: `start` `{messageId}`, `text-start` `{id}`, `text-delta` `{id, delta}`,
//!   `text-end` `{id}`, `source-url` `{sourceId, url, title}`, `finish` `{messageMetadata}` (no
//!   `finishReason`, which the strict schema lacks), `error` `{errorText}`, then `data: [DONE]`.
//!   The thread ID travels as `messageMetadata: {"threadId": …}` on `finish`, which `useChat`
//!   exposes as `message.metadata.threadId`. It is deliberately *not* repeated as a top-level
//!   `threadId` key: that would break every client on a strict `ai@5.0.x`.
//! - **Data stream** (`ai` 4 / `@ai-sdk/ui-utils`, `packages/ui-utils/src/data-stream-parts.ts`
//!   at `ai@4.3.19`): `f:{messageId}` start step, `0:"…"` text, `h:{sourceType, id, url, title}`
//!   source, `8:[{threadId}]` message annotation, `e:{finishReason, usage, isContinued}` finish
//!   step, `d:{finishReason, usage}` finish message, `3:"…"` error. The v4 parser rebuilds the
//!   `d` value from `finishReason` and `usage` only, so a `threadId` there would be dropped: the
//!   annotation (`message.annotations[0].threadId`) is where v4 clients find it.
//!
//! Checked by hand against the npm parsers: `ai@5.0.0` (strict; it fails the stream on a
//! top-level `threadId` in `finish`), `ai@5.0.277` and `ai@7.0.185` (`DefaultChatTransport` +
//! `readUIMessageStream`), and `@ai-sdk/ui-utils@1` (`callChatApi`, data protocol): text,
//! sources, thread ID and errors all come through.
//!
//! A message's text is one text part (UI message stream): sources may arrive while it is open,
//! and it is closed only at the end, so the client's message reads as one Markdown text followed
//! by its `source-url` parts; splitting the text at each source would cut Markdown blocks apart.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::{Answer, Citation, Event};

/// Which stream a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `POST /v2/assistant/{domain}/message`: SSE, `x-vercel-ai-ui-message-stream: v1`.
    UiMessage,
    /// `POST /v1/assistant/{domain}/message`: `CODE:JSON` lines, `x-vercel-ai-data-stream: v1`.
    Data,
}

impl Format {
    /// The response headers that announce the stream (besides the status). `x-accel-buffering`
    /// keeps a reverse proxy (nginx) from holding the stream back until it completes.
    pub fn headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Format::UiMessage => &[
                ("content-type", "text/event-stream"),
                ("cache-control", "no-cache"),
                ("x-accel-buffering", "no"),
                ("x-vercel-ai-ui-message-stream", "v1"),
            ],
            Format::Data => &[
                ("content-type", "text/plain; charset=utf-8"),
                ("cache-control", "no-cache"),
                ("x-accel-buffering", "no"),
                ("x-vercel-ai-data-stream", "v1"),
            ],
        }
    }
}

/// Turns [`Event`]s into wire chunks of one format for one assistant message.
///
/// It keeps the stream well formed whatever order the events come in: the opening chunks are
/// sent before the first event if [`Encoder::start`] was not called, an open text part is
/// closed before `finish` or `error`, and nothing is sent once the stream is complete.
#[derive(Debug)]
pub struct Encoder {
    format: Format,
    message_id: String,
    started: bool,
    /// The ID of the UI message stream's open text part.
    open_text: Option<String>,
    /// Text parts opened so far (their IDs are `text-0`, `text-1`, …).
    text_parts: usize,
    done: bool,
}

impl Encoder {
    /// An encoder for the assistant message `message_id` (`msg_…`).
    pub fn new(format: Format, message_id: &str) -> Self {
        Encoder {
            format,
            message_id: message_id.to_string(),
            started: false,
            open_text: None,
            text_parts: 0,
            done: false,
        }
    }

    /// The chunks that open the message: `start` (UI message stream) or the `f:` start step
    /// (data stream). Empty if already sent.
    pub fn start(&mut self) -> Bytes {
        let mut out = String::new();
        self.open(&mut out);
        Bytes::from(out)
    }

    /// The chunks of one event. After [`Event::Finish`] or [`Event::Error`] the stream is
    /// complete (SSE: `data: [DONE]` included) and later events encode to nothing.
    pub fn encode(&mut self, event: &Event) -> Bytes {
        if self.done {
            return Bytes::new();
        }
        let mut out = String::new();
        self.open(&mut out);
        match (self.format, event) {
            (_, Event::Text(delta)) if delta.is_empty() => {}
            (Format::UiMessage, Event::Text(delta)) => {
                let id = match &self.open_text {
                    Some(id) => id.clone(),
                    None => {
                        let id = format!("text-{}", self.text_parts);
                        self.text_parts += 1;
                        sse(&mut out, &json!({"type": "text-start", "id": id}));
                        self.open_text = Some(id.clone());
                        id
                    }
                };
                sse(
                    &mut out,
                    &json!({"type": "text-delta", "id": id, "delta": delta}),
                );
            }
            (Format::Data, Event::Text(delta)) => part(&mut out, '0', &json!(delta)),
            (Format::UiMessage, Event::Source { id, citation }) => sse(
                &mut out,
                &json!({
                    "type": "source-url",
                    "sourceId": id,
                    "url": citation.url,
                    "title": citation.title,
                }),
            ),
            (Format::Data, Event::Source { id, citation }) => part(
                &mut out,
                'h',
                &json!({
                    "sourceType": "url",
                    "id": id,
                    "url": citation.url,
                    "title": citation.title,
                }),
            ),
            (Format::UiMessage, Event::Finish { thread_id }) => {
                self.close_text(&mut out);
                sse(
                    &mut out,
                    &json!({"type": "finish", "messageMetadata": {"threadId": thread_id}}),
                );
                out.push_str("data: [DONE]\n\n");
                self.done = true;
            }
            (Format::Data, Event::Finish { thread_id }) => {
                let usage = json!({"promptTokens": 0, "completionTokens": 0});
                part(&mut out, '8', &json!([{"threadId": thread_id}]));
                part(
                    &mut out,
                    'e',
                    &json!({"finishReason": "stop", "usage": usage, "isContinued": false}),
                );
                part(
                    &mut out,
                    'd',
                    &json!({"finishReason": "stop", "usage": usage}),
                );
                self.done = true;
            }
            (Format::UiMessage, Event::Error(message)) => {
                self.close_text(&mut out);
                sse(&mut out, &json!({"type": "error", "errorText": message}));
                out.push_str("data: [DONE]\n\n");
                self.done = true;
            }
            (Format::Data, Event::Error(message)) => {
                part(&mut out, '3', &json!(message));
                self.done = true;
            }
        }
        Bytes::from(out)
    }

    fn open(&mut self, out: &mut String) {
        if self.started {
            return;
        }
        self.started = true;
        match self.format {
            Format::UiMessage => sse(out, &json!({"type": "start", "messageId": self.message_id})),
            Format::Data => part(out, 'f', &json!({"messageId": self.message_id})),
        }
    }

    fn close_text(&mut self, out: &mut String) {
        if let Some(id) = self.open_text.take() {
            sse(out, &json!({"type": "text-end", "id": id}));
        }
    }
}

/// One Server-Sent Event carrying a JSON chunk. `serde_json` escapes every control character,
/// so the JSON is a single line and cannot end the event early.
fn sse(out: &mut String, chunk: &Value) {
    out.push_str("data: ");
    out.push_str(&chunk.to_string());
    out.push_str("\n\n");
}

/// One data stream part: `CODE:JSON` and a newline.
fn part(out: &mut String, code: char, value: &Value) {
    out.push(code);
    out.push(':');
    out.push_str(&value.to_string());
    out.push('\n');
}

/// A complete answer as the events that stream it (without the closing [`Event::Finish`], which
/// needs the thread): its text a paragraph at a time, each source right after the paragraph
/// that first cites it as `[n]`, and sources the text never cites at the end.
pub fn events(answer: &Answer) -> Vec<Event> {
    let mut out = Vec::new();
    let mut sent = vec![false; answer.sources.len()];
    let mut send = |n: usize, out: &mut Vec<Event>| {
        if let Some(citation) = answer.sources.get(n.wrapping_sub(1))
            && !sent[n - 1]
        {
            sent[n - 1] = true;
            out.push(source_event(n, citation));
        }
    };
    for paragraph in answer.text.split_inclusive("\n\n") {
        out.push(Event::Text(paragraph.to_string()));
        for n in citations_in(paragraph) {
            send(n, &mut out);
        }
    }
    for n in 1..=answer.sources.len() {
        send(n, &mut out);
    }
    out
}

fn source_event(n: usize, citation: &Citation) -> Event {
    Event::Source {
        id: n.to_string(),
        citation: citation.clone(),
    }
}

/// The numbers of the `[n]` citations in `text`, in order (with repeats). A bracket escaped as
/// `\[` is literal text, not a citation.
pub fn citations_in(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'[' && (i == 0 || bytes[i - 1] != b'\\') {
            let digits = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let close = i + 1 + digits;
            if digits > 0 && digits <= 3 && bytes.get(close) == Some(&b']') {
                // At most three ASCII digits: the slice is valid UTF-8 and fits a usize.
                if let Ok(n) = text[i + 1..close].parse::<usize>() {
                    out.push(n);
                }
                i = close + 1;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// `Accept: application/json`: `{"threadId", "text", "sources": [{"url", "title"}]}` plus
/// `responseType` (`answer`|`clarifying_question`) and `resolutionStatus`
/// (`answered`|`unanswered`), Tome extras with the analytics' names and values.
pub fn json_answer(thread_id: &str, answer: &Answer) -> Value {
    json!({
        "threadId": thread_id,
        "text": answer.text,
        "sources": answer
            .sources
            .iter()
            .map(|c| json!({"url": c.url, "title": c.title}))
            .collect::<Vec<_>>(),
        "responseType": answer.response_type.as_str(),
        "resolutionStatus": answer.resolution.as_str(),
    })
}

#[cfg(test)]
mod tests;
