//! A model's citations: it cites the passages it was sent as `[n]`; the asker sees the pages
//! numbered in order of first citation, with citations of passages it was not sent dropped.
//!
//! (Interface only; the helper building it replaces the body.)

use crate::{Citation, Event, Passage};

/// Rewrites a streamed answer's citations as it arrives.
#[derive(Debug)]
pub struct Citer {
    passages: Vec<Passage>,
    sources: Vec<Citation>,
    text: String,
}

impl Citer {
    pub fn new(passages: &[Passage]) -> Self {
        Citer {
            passages: passages.to_vec(),
            sources: Vec::new(),
            text: String::new(),
        }
    }

    /// Feeds a delta of the model's text; returns the events ready to send (text may be held
    /// back while a `[` could still start a citation).
    pub fn push(&mut self, delta: &str) -> Vec<Event> {
        self.text.push_str(delta);
        vec![Event::Text(delta.to_string())]
    }

    /// Flushes what is held back at the end of the answer.
    pub fn finish(&mut self) -> Vec<Event> {
        let _ = &self.passages;
        Vec::new()
    }

    /// The answer so far, citations renumbered.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cited pages so far, `[n]` = `sources()[n - 1]`.
    pub fn sources(&self) -> &[Citation] {
        &self.sources
    }
}
