//! The offline answerer: no model, no network. Deterministic for the same passages and question.
//!
//! (Interface only; the helper building it replaces the body.)

use tome_core::assistant::{Resolution, ResponseType};

use crate::{Answer, Passage};

/// Settings of the extractive answerer.
#[derive(Debug, Clone)]
pub struct Options {
    /// Passages scoring below this (0–1, the documentation search's scale) are not relevant
    /// enough to answer from; with none above it the answer is `unanswered`.
    pub min_score: f32,
    /// Most sentences quoted in an answer.
    pub max_sentences: usize,
    /// Most pages suggested in an `unanswered` reply.
    pub max_suggestions: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_score: 0.3,
            max_sentences: 4,
            max_suggestions: 3,
        }
    }
}

/// Answers `question` (with `context`: earlier questions of the thread and any text the asker
/// selected, most recent last) from `passages` (best first).
pub fn answer(question: &str, context: &[String], passages: &[Passage], opts: &Options) -> Answer {
    let _ = (question, context, opts);
    Answer {
        text: String::new(),
        sources: Vec::new(),
        response_type: ResponseType::Answer,
        resolution: if passages.is_empty() {
            Resolution::Unanswered
        } else {
            Resolution::Answered
        },
    }
}
