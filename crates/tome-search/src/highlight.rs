//! Highlighted passages: the part of a text with the most matched words, HTML-escaped, with
//! each match in `<mark>`.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use tantivy::tokenizer::{Language, RawTokenizer, Stemmer, TextAnalyzer};

use crate::schema::plain_analyzer;

/// Characters of context before the first match of a passage.
const LEAD: usize = 40;

/// A matched word: its byte range in the text and which of the marked stems it is.
struct Match {
    from: usize,
    to: usize,
    stem: usize,
}

/// The stems a search highlights, ready to match many texts: a handful of words, so lists
/// scanned in order (no hashing), plus each stem's first letter.
pub(crate) struct Marks {
    stems: Vec<String>,
    heads: Vec<char>,
}

impl Marks {
    pub(crate) fn new(stems: &HashSet<String>) -> Self {
        let mut stems: Vec<String> = stems.iter().cloned().collect();
        stems.sort();
        let mut heads: Vec<char> = stems.iter().filter_map(|s| s.chars().next()).collect();
        heads.sort_unstable();
        heads.dedup();
        Marks { stems, heads }
    }

    fn position(&self, stem: &str) -> Option<usize> {
        self.stems.iter().position(|s| s == stem)
    }
}

/// The per-text memo of stemmed words: short keys from one stored text, living for one call,
/// so a fast non-keyed hash is fine.
type Memo<'t> = HashMap<&'t str, Option<usize>, BuildHasherDefault<rustc_hash::FxHasher>>;

fn matches(text: &str, marks: &Marks) -> Vec<Match> {
    // Stemming never changes a word's first letter (Porter2 rewrites endings; even its
    // exceptional forms, dying → die, keep the first letter), so a word can reach one of the
    // stems only if it starts like one. Words that do not are skipped before the stemmer runs:
    // most words of a passage. Those that remain repeat (a page about `git` says it on every
    // line), so each distinct spelling is stemmed once per text.
    let mut plain = plain_analyzer();
    let mut stemmer = stemmer();
    let mut stream = plain.token_stream(text);
    let mut memo = Memo::default();
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token();
        if !t
            .text
            .chars()
            .next()
            .is_some_and(|c| marks.heads.contains(&c))
        {
            continue;
        }
        let raw = &text[t.offset_from..t.offset_to];
        let stem = match memo.get(raw) {
            Some(known) => *known,
            None => {
                let mut stemmed = stemmer.token_stream(&t.text);
                let found = stemmed.next().and_then(|s| marks.position(&s.text));
                memo.insert(raw, found);
                found
            }
        };
        if let Some(stem) = stem {
            out.push(Match {
                from: t.offset_from,
                to: t.offset_to,
                stem,
            });
        }
    }
    out
}

/// The last step of the English analyzer alone: one folded word in, its stem out.
fn stemmer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(Stemmer::new(Language::English))
        .build()
}

fn push_escaped(out: &mut String, text: &str) {
    let mut last_space = out.ends_with(' ');
    for c in text.chars() {
        if c.is_whitespace() {
            // Line breaks and runs of spaces read as one space in a one-line passage.
            if !last_space {
                out.push(' ');
            }
            last_space = true;
            continue;
        }
        last_space = false;
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// The byte index `chars` characters before (negative) or after `at`, on a char boundary.
fn shift(text: &str, at: usize, chars: isize) -> usize {
    if chars < 0 {
        text[..at]
            .char_indices()
            .rev()
            .nth((-chars) as usize - 1)
            .map_or(0, |(i, _)| i)
    } else {
        text[at..]
            .char_indices()
            .nth(chars as usize)
            .map_or(text.len(), |(i, _)| at + i)
    }
}

/// Moves `at` back to the start of the word it is in.
fn word_start(text: &str, at: usize) -> usize {
    text[..at]
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// Moves `at` back to the end of the previous whole word.
fn word_end(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    text[..at]
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(at, |(i, _)| i)
}

/// The best passage of `text` of about `max_chars` characters for `stems`, or `None` if no word
/// of `text` matches. Returns the passage and its number of distinct matched words.
pub(crate) fn passage(text: &str, marks: &Marks, max_chars: usize) -> Option<(String, usize)> {
    let found = matches(text, marks);
    if found.is_empty() {
        return None;
    }
    // Most help text is ASCII, where characters are bytes: no walking the text to count them.
    let ascii = text.is_ascii();
    let shift = |at: usize, chars: isize| {
        if !ascii {
            shift(text, at, chars)
        } else if chars < 0 {
            at.saturating_sub(chars.unsigned_abs())
        } else {
            (at + chars as usize).min(text.len())
        }
    };
    // Each match may start a passage; keep the one covering the most distinct words, then the
    // most matches. `seen[stem]` holds the last window that counted the stem.
    let mut seen = vec![usize::MAX; marks.stems.len()];
    let mut best = (0, (0, 0));
    let mut end = 0;
    for start in 0..found.len() {
        let limit = shift(found[start].from, max_chars as isize - LEAD as isize);
        end = end.max(start);
        while end + 1 < found.len() && found[end + 1].to <= limit {
            end += 1;
        }
        let mut distinct = 0;
        for m in &found[start..=end] {
            if seen[m.stem] != start {
                seen[m.stem] = start;
                distinct += 1;
            }
        }
        let score = (distinct, end + 1 - start);
        if score > best.1 {
            best = (start, score);
        }
    }
    let first = &found[best.0];
    let lead = if ascii {
        first.from
    } else {
        text[..first.from].chars().count()
    };
    let from = if lead <= LEAD {
        0
    } else {
        word_start(text, shift(first.from, -(LEAD as isize)))
    };
    let mut to = shift(from, max_chars as isize);
    if to < text.len() {
        to = word_end(text, to).max(first.to);
    }
    let mut out = String::with_capacity(max_chars + 64);
    if from > 0 {
        out.push('…');
    }
    let mut at = from;
    for m in found.iter().filter(|m| m.from >= from && m.to <= to) {
        push_escaped(&mut out, &text[at..m.from]);
        out.push_str("<mark>");
        push_escaped(&mut out, &text[m.from..m.to]);
        out.push_str("</mark>");
        at = m.to;
    }
    push_escaped(&mut out, &text[at..to]);
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    if to < text.len() {
        out.push('…');
    }
    Some((out, best.1.0))
}

/// The start of `text`, escaped, with no marks: for hits whose match is elsewhere.
pub(crate) fn plain_start(text: &str, max_chars: usize) -> String {
    let mut to = shift(text, 0, max_chars as isize);
    if to < text.len() {
        to = word_end(text, to);
    }
    let mut out = String::new();
    push_escaped(&mut out, &text[..to]);
    let trimmed = out.trim().to_string();
    if to < text.len() {
        format!("{trimmed}…")
    } else {
        trimmed
    }
}

/// The first `max` characters of `text` on one line, cut at a word, `...` when cut (the API's
/// excerpt of a body or answer, not HTML).
pub(crate) fn preview(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(words: &[&str]) -> Marks {
        Marks::new(&words.iter().map(|w| w.to_string()).collect())
    }

    #[test]
    fn skipping_unlike_words_finds_what_stemming_every_word_finds() {
        // Irregular stems (skies, dying, lying, early, news), a leading y, short words, accents,
        // digits and a word that stems to fewer letters than it has.
        let text = "The skies were dying, lying early; yelling yields news of ies, Ied and IDLY \
                    generously agreed: a cafe, Café, 2 GB, x86 ok? Singly, gently, ugly, only.";
        let mut en = crate::schema::en_analyzer();
        let mut stream = en.token_stream(text);
        let (mut all, mut tokens) = (HashSet::new(), 0);
        while stream.advance() {
            all.insert(stream.token().text.clone());
            tokens += 1;
        }
        // Every word's own stem is in the set, so every word must be found.
        assert_eq!(matches(text, &Marks::new(&all)).len(), tokens);
        for stem in &all {
            let one: HashSet<String> = [stem.clone()].into();
            assert!(!matches(text, &Marks::new(&one)).is_empty(), "{stem}");
        }
    }

    #[test]
    fn marks_matches_and_escapes_the_rest() {
        let (p, n) = passage(
            "Use <b>Reset</b> & \"reset\" passwords.",
            &stems(&["reset", "password"]),
            160,
        )
        .expect("a match");
        assert_eq!(
            p,
            "Use &lt;b&gt;<mark>Reset</mark>&lt;/b&gt; &amp; &quot;<mark>reset</mark>&quot; <mark>passwords</mark>."
        );
        assert_eq!(n, 2);
    }

    #[test]
    fn picks_the_passage_with_most_distinct_words() {
        let text = format!(
            "{} billing once. {} billing and refunds together here. {}",
            "filler ".repeat(40),
            "more ".repeat(40),
            "tail ".repeat(40)
        );
        let (p, n) = passage(&text, &stems(&["bill", "refund"]), 80).expect("a match");
        assert_eq!(n, 2);
        assert!(p.starts_with('…') && p.ends_with('…'), "{p}");
        assert!(
            p.contains("<mark>billing</mark> and <mark>refunds</mark>"),
            "{p}"
        );
        assert!(p.chars().count() < 140, "{p}");
    }

    #[test]
    fn accents_fold_in_highlights() {
        let (p, _) = passage("Le café est prêt.", &stems(&["cafe"]), 160).expect("a match");
        assert_eq!(p, "Le <mark>café</mark> est prêt.");
        assert!(passage("nothing here", &stems(&["cafe"]), 160).is_none());
    }
}
