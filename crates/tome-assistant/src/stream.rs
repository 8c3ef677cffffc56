//! The wire formats of an answer: the AI SDK UI message stream (v5+, SSE), the AI SDK data
//! stream (v4), and one JSON object.
//!
//! (Interface only; the helper building it replaces the body.)

use bytes::Bytes;

use crate::{Answer, Event};

/// Which stream a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `POST /v2/assistant/{domain}/message`: SSE, `x-vercel-ai-ui-message-stream: v1`.
    UiMessage,
    /// `POST /v1/assistant/{domain}/message`: `CODE:JSON` lines, `x-vercel-ai-data-stream: v1`.
    Data,
}

impl Format {
    /// The response headers that announce the stream (besides the status).
    pub fn headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Format::UiMessage => &[
                ("content-type", "text/event-stream"),
                ("cache-control", "no-cache"),
                ("x-vercel-ai-ui-message-stream", "v1"),
            ],
            Format::Data => &[
                ("content-type", "text/plain; charset=utf-8"),
                ("cache-control", "no-cache"),
                ("x-vercel-ai-data-stream", "v1"),
            ],
        }
    }
}

/// Turns [`Event`]s into wire chunks of one format for one assistant message.
#[derive(Debug)]
pub struct Encoder {
    format: Format,
    message_id: String,
}

impl Encoder {
    pub fn new(format: Format, message_id: &str) -> Self {
        Encoder {
            format,
            message_id: message_id.to_string(),
        }
    }

    /// The chunks that open the message (`start` …).
    pub fn start(&mut self) -> Bytes {
        let _ = (&self.format, &self.message_id);
        Bytes::new()
    }

    /// The chunks of one event. After [`Event::Finish`] or [`Event::Error`] the stream is
    /// complete (SSE: `data: [DONE]` included).
    pub fn encode(&mut self, event: &Event) -> Bytes {
        let _ = event;
        Bytes::new()
    }
}

/// `Accept: application/json`: `{"threadId", "text", "sources": [{"url", "title"}]}` (plus
/// `responseType` and `resolutionStatus`, Tome extras).
pub fn json_answer(thread_id: &str, answer: &Answer) -> serde_json::Value {
    serde_json::json!({
        "threadId": thread_id,
        "text": answer.text,
        "sources": answer.sources.iter().map(|c| serde_json::json!({"url": c.url, "title": c.title})).collect::<Vec<_>>(),
    })
}
