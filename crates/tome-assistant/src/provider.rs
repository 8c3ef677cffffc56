//! An OpenAI-compatible chat-completions endpoint (`POST {url}/chat/completions`, `stream: true`).
//!
//! (Interface only; the helper building it replaces the body.)

use std::time::Duration;

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
}

/// The prompt: instructions to answer only from the numbered passages and cite them as `[n]`,
/// the passages, the conversation so far, and the question.
pub fn prompt(question: &str, history: &[Turn], passages: &[Passage]) -> Vec<ChatMessage> {
    let _ = (history, passages);
    vec![ChatMessage {
        role: "user",
        content: question.to_string(),
    }]
}

/// A configured model endpoint; cheap to clone, shared by every request.
#[derive(Debug, Clone)]
pub struct Provider {
    config: ProviderConfig,
}

/// The model's answer as it streams: text deltas.
#[derive(Debug)]
pub struct Deltas {
    _private: (),
}

impl Deltas {
    /// The next text delta; `None` at the end of a complete answer.
    pub async fn next(&mut self) -> Option<Result<String, ProviderError>> {
        None
    }
}

impl Provider {
    pub fn new(config: ProviderConfig) -> Result<Self, ProviderError> {
        Ok(Provider { config })
    }

    /// Sends the prompt; returns once the response headers arrived (or failed).
    pub async fn stream(&self, messages: &[ChatMessage]) -> Result<Deltas, ProviderError> {
        let _ = (messages, &self.config);
        Err(ProviderError::Connect("not built yet".into()))
    }
}
