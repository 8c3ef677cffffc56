//! Highlighted passages: the part of a text with the most matched words, HTML-escaped, with
//! each match in `<mark>`.

use std::collections::HashSet;

use tantivy::tokenizer::{Language, RawTokenizer, Stemmer, TextAnalyzer};

use crate::schema::plain_analyzer;

/// Characters of context before the first match of a passage.
const LEAD: usize = 40;

/// A matched word: its byte range in the text and its stem.
struct Match {
    from: usize,
    to: usize,
    stem: String,
}

fn matches(text: &str, stems: &HashSet<String>) -> Vec<Match> {
    // Stemming never changes a word's first letter (Porter2 rewrites endings; even its
    // exceptional forms, dying → die, keep the first letter), so a word can reach one of `stems`
    // only if it starts like one. Words that do not are skipped before the stemmer runs: most
    // words of a passage, where stemming every word was a fifth of a search's time.
    let heads: HashSet<&str> = stems.iter().map(|s| head(s)).collect();
    let mut plain = plain_analyzer();
    let mut stemmer = stemmer();
    let mut stream = plain.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token();
        if !heads.contains(head(&t.text)) {
            continue;
        }
        let mut stemmed = stemmer.token_stream(&t.text);
        let Some(stem) = stemmed.next().map(|s| s.text.clone()) else {
            continue;
        };
        if stems.contains(&stem) {
            out.push(Match {
                from: t.offset_from,
                to: t.offset_to,
                stem,
            });
        }
    }
    out
}

/// The first character of a word.
fn head(word: &str) -> &str {
    word.char_indices().nth(1).map_or(word, |(i, _)| &word[..i])
}

/// The last step of the English analyzer alone: one folded word in, its stem out.
fn stemmer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(Stemmer::new(Language::English))
        .build()
}

/// How good a passage is: distinct matched words first, then matches.
fn passage_score(window: &[Match]) -> (usize, usize) {
    let distinct: HashSet<&str> = window.iter().map(|m| m.stem.as_str()).collect();
    (distinct.len(), window.len())
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
pub(crate) fn passage(
    text: &str,
    stems: &HashSet<String>,
    max_chars: usize,
) -> Option<(String, usize)> {
    let found = matches(text, stems);
    if found.is_empty() {
        return None;
    }
    // Each match may start a passage; keep the one covering the most distinct words.
    let mut best = (0, (0, 0));
    let mut end = 0;
    for start in 0..found.len() {
        let limit = shift(text, found[start].from, max_chars as isize - LEAD as isize);
        end = end.max(start);
        while end + 1 < found.len() && found[end + 1].to <= limit {
            end += 1;
        }
        let score = passage_score(&found[start..=end]);
        if score > best.1 {
            best = (start, score);
        }
    }
    let first = &found[best.0];
    let from = if text[..first.from].chars().count() <= LEAD {
        0
    } else {
        word_start(text, shift(text, first.from, -(LEAD as isize)))
    };
    let mut to = shift(text, from, max_chars as isize);
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

    fn stems(words: &[&str]) -> HashSet<String> {
        words.iter().map(|w| w.to_string()).collect()
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
        assert_eq!(matches(text, &all).len(), tokens);
        for stem in &all {
            let one: HashSet<String> = [stem.clone()].into();
            assert!(!matches(text, &one).is_empty(), "{stem}");
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
