//! Assistant conversations: threads (`thr_…`) and their messages, as stored and as the analytics
//! endpoints report them (`spec/docs-platform-api.md`, "Assistant message" and "Analytics").

use serde::{Deserialize, Serialize};

/// Who wrote a stored message. Requests may carry `system` or `data` messages too; only the
/// asker's and the assistant's turns are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            _ => None,
        }
    }
}

/// `responseType` of an assistant message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    Answer,
    ClarifyingQuestion,
}

impl ResponseType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Answer => "answer",
            ResponseType::ClarifyingQuestion => "clarifying_question",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "answer" => Some(ResponseType::Answer),
            "clarifying_question" => Some(ResponseType::ClarifyingQuestion),
            _ => None,
        }
    }
}

/// `resolutionStatus` of an assistant message: whether the docs covered the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Answered,
    Unanswered,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Answered => "answered",
            Resolution::Unanswered => "unanswered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "answered" => Some(Resolution::Answered),
            "unanswered" => Some(Resolution::Unanswered),
            _ => None,
        }
    }
}

/// A page an answer cites: its hosted URL and title (the analytics' `sources` items).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    pub title: String,
    pub url: String,
}

/// A conversation with the assistant about one knowledge base.
#[derive(Debug, Clone, PartialEq)]
pub struct Thread {
    /// `thr_…`.
    pub id: String,
    pub project_id: String,
    pub kb_id: String,
    /// The asker's fingerprint as the client sent it (`anonymous` if none).
    pub fp: String,
    /// ISO 8601 UTC with milliseconds (`time::iso_millis`), as the analytics report it.
    pub created_at: String,
    pub updated_at: String,
}

/// One stored message of a thread.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadMessage {
    /// `msg_…`.
    pub id: String,
    pub thread_id: String,
    pub role: Role,
    /// The user's question, or the assistant's answer as Markdown with `[n]` citations.
    pub content: String,
    /// The pages the answer cites, in citation order (empty for user messages).
    pub sources: Vec<SourceRef>,
    /// Assistant messages only.
    pub response_type: Option<ResponseType>,
    /// Assistant messages only.
    pub resolution: Option<Resolution>,
    /// The page the asker was on (`currentPath`), user messages only.
    pub page_url: Option<String>,
    /// ISO 8601 UTC with milliseconds.
    pub created_at: String,
}

/// One answered exchange to record: the question and the answer, appended to a thread together.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExchange {
    pub question: String,
    pub page_url: Option<String>,
    pub answer: String,
    pub sources: Vec<SourceRef>,
    pub response_type: ResponseType,
    pub resolution: Resolution,
}

/// One row of `GET /v1/analytics/{projectId}/assistant`: a question and the answer it got.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// The assistant message's ID.
    pub id: String,
    pub thread_id: String,
    /// When the answer was recorded (ISO 8601 UTC with milliseconds).
    pub timestamp: String,
    pub query: String,
    pub response: String,
    pub response_type: ResponseType,
    pub sources: Vec<SourceRef>,
    pub resolution: Resolution,
    /// Not classified yet: always `None` (the field exists in the wire format).
    pub query_category: Option<String>,
    pub page_url: Option<String>,
}
