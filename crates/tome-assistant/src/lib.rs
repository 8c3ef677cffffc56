//! Tome's assistant, without HTTP or storage: answers grounded in passages that the caller
//! retrieved, and the wire formats they stream in.
//!
//! - [`extractive`]: the offline answerer (no model, no network) — the best sentences of the best
//!   passages, quoted and attributed, or "the docs don't cover this" when nothing is relevant.
//! - [`provider`]: an OpenAI-compatible chat-completions endpoint, streamed; its `[n]` citations
//!   mapped to the passages sent ([`cite`]).
//! - [`stream`]: the AI SDK's UI message stream (v5+, SSE) and data stream (v4), and the one-JSON
//!   answer, all encoded from the same [`Event`]s.

pub mod cite;
pub mod extractive;
pub mod provider;
pub mod stream;
#[cfg(feature = "testing")]
pub mod testing;

use tome_core::assistant::{Resolution, ResponseType};

/// A passage retrieved to ground an answer: one heading's worth of a published article.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    pub article_id: String,
    /// The article's title.
    pub title: String,
    /// The heading trail down to the passage (`Install › On Windows`); empty for the article's
    /// opening passage.
    pub heading: String,
    /// The hosted page URL, with the heading's fragment (`https://help.example.com/acme/articles/kba_…#on-windows`).
    pub url: String,
    /// The passage's plain text (what search indexed).
    pub text: String,
    /// What the whole page is about, in its author's words: the article's excerpt and tags, one
    /// per line (empty if it has none). The extractive answerer counts its words as the
    /// passage's when judging whether it answers, but never quotes it.
    pub about: String,
    /// Relevance, 0–1 (the documentation search's `score`).
    pub score: f32,
}

/// A page an answer cites, numbered in the answer's text as `[n]` (`n` = position + 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    pub url: String,
    pub title: String,
}

/// A complete answer (the extractive answerer's, or a model's once it has finished).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Markdown with `[n]` citations.
    pub text: String,
    /// `[n]` is `sources[n - 1]`.
    pub sources: Vec<Citation>,
    pub response_type: ResponseType,
    pub resolution: Resolution,
}

/// One step of an answer as it streams; the encoders in [`stream`] turn these into wire chunks.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// More answer text.
    Text(String),
    /// A cited page, sent when it is first cited; `id` is its number as a string (`"1"`).
    Source { id: String, citation: Citation },
    /// The answer is complete.
    Finish { thread_id: String },
    /// The answer failed part-way; the stream ends after this.
    Error(String),
}
