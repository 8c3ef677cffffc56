//! The content words of a text: lower-cased, lightly stemmed, stop words left out.

use std::collections::BTreeMap;

/// Common English words, and the filler of questions ("what is the best way to …"), that say
/// nothing about the topic.
#[rustfmt::skip]
const STOP_WORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "anyone",
    "are", "as", "at", "be", "been", "before", "being", "best", "between", "both", "but", "by",
    "can", "cannot", "could", "did", "do", "does", "doing", "done", "during", "each", "either", "else",
    "ever", "every", "few", "for", "from", "further", "get", "gets", "getting", "going", "good", "got",
    "had", "has", "have", "having", "he", "her", "here", "him", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "itself", "just", "know", "let", "like", "many", "may", "me",
    "might", "more", "most", "much", "must", "my", "need", "needs", "no", "nor", "not", "now", "of",
    "off", "on", "once", "one", "only", "or", "other", "our", "out", "over", "own", "please",
    "possible", "same", "see", "shall", "she", "should", "so", "some", "something", "such", "tell",
    "than", "thank", "thanks", "that", "the", "their", "them", "then", "there", "these", "they",
    "thing", "things", "this", "those", "through", "to", "too", "under", "until", "up", "us", "use",
    "used", "using", "very", "want", "wanted", "was", "way", "we", "well", "were", "what", "when",
    "where", "whether", "which", "while", "who", "whom", "why", "will", "with", "would", "yes",
    "you", "your", "yours",
];

/// Whether `word` (lower-cased) is a stop word.
fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// The content words of a text, each with its presence: 1, or [`PLACEHOLDER_WEIGHT`] if it
/// occurs only inside `{{…}}` placeholders.
pub(crate) type Words = BTreeMap<String, f32>;

/// Presence of a word seen only inside a `{{…}}` placeholder: tldr pages write example values
/// so (`llm "{{What is the capital of France?}}"`); they hint at what a command takes
/// (`{{archive.tar.gz}}`) but are not what the page is about.
pub(crate) const PLACEHOLDER_WEIGHT: f32 = 0.5;

/// Adds the content words of `text` to `words`, keeping each word's highest presence.
pub(crate) fn add_words(text: &str, words: &mut Words) {
    let mut add = |segment: &str, presence: f32| {
        for word in content_words(segment) {
            let entry = words.entry(word).or_insert(0.0);
            *entry = entry.max(presence);
        }
    };
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        add(&rest[..open], 1.0);
        let inside = &rest[open + 2..];
        let Some(close) = inside.find("}}") else {
            rest = inside;
            break;
        };
        add(&inside[..close], PLACEHOLDER_WEIGHT);
        rest = &inside[close + 2..];
    }
    add(rest, 1.0);
}

/// The content words of `text`: lower-cased, stop words and one-letter words left out, lightly
/// stemmed ([`stem`]), in order of appearance with repeats. URLs (`https://…`, and the target of
/// a Markdown link) are skipped: their words are not what the text says.
pub(crate) fn content_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        // Skip a URL up to the next whitespace, `)` or `>`.
        if let Some(at) = rest.find("://") {
            let scheme_start = rest[..at]
                .rfind(|c: char| !c.is_ascii_alphanumeric())
                .map_or(0, |i| i + 1);
            push_words(&rest[..scheme_start], &mut out);
            let tail = &rest[at + 3..];
            let end = tail
                .find(|c: char| c.is_whitespace() || c == ')' || c == '>')
                .unwrap_or(tail.len());
            rest = &tail[end..];
        } else {
            push_words(rest, &mut out);
            break;
        }
    }
    out
}

fn push_words(text: &str, out: &mut Vec<String>) {
    let text = unbracket_letters(text);
    for word in text.split(|c: char| !(c.is_alphanumeric() || is_apostrophe(c))) {
        // Contractions: `don't`, `won't` are negated auxiliaries (stop words); `user's` is
        // `user`.
        let word = word.trim_matches(is_apostrophe);
        let word = match word.split_once(is_apostrophe) {
            Some((_, "t" | "T")) => continue,
            Some((base, _)) => base,
            None => word,
        };
        if word.is_empty() {
            continue;
        }
        let lower = word.to_lowercase();
        if lower.chars().count() < 2 || is_stop_word(&lower) {
            continue;
        }
        let stemmed = stem(&lower);
        out.push(canonical(&stemmed).unwrap_or(&stemmed).to_string());
    }
}

/// Words that documentation and the people asking about it use for the same thing, each group
/// read as its first word: mostly abbreviations (`docs`, `repo`, `config`) and pairs that differ
/// between platforms or communities (`folder`/`directory`). The documentation search expands a
/// question's words with the same groups (`tome_search`'s passage queries).
const SYNONYMS: &[&[&str]] = &[
    &["directory", "folder", "dir"],
    &["documentation", "docs", "doc"],
    &["repository", "repo"],
    &["configuration", "config"],
    &["application", "app"],
    &["remove", "delete"],
    &["authentication", "auth"],
    &["environment", "env"],
    &["information", "info"],
    &["administrator", "admin"],
    &["memory", "ram"],
    &["database", "db"],
    &["package", "pkg"],
    &["message", "msg"],
    &["image", "picture", "pic", "img"],
    &["site", "website"],
    &["macos", "osx", "mac", "macbook"],
    &["extract", "unpack", "decompress", "uncompress"],
    &["resume", "continue"],
    &["kill", "terminate"],
    &["color", "colour"],
];

/// Stemmed synonym → the stem of its group's first word.
static CANONICAL: std::sync::LazyLock<BTreeMap<String, String>> = std::sync::LazyLock::new(|| {
    let mut map = BTreeMap::new();
    for group in SYNONYMS {
        let first = stem(group[0]);
        for word in &group[1..] {
            map.insert(stem(word), first.clone());
        }
    }
    map
});

/// The word a stemmed synonym is read as, if it is one.
fn canonical(stemmed: &str) -> Option<&'static str> {
    CANONICAL.get(stemmed).map(String::as_str)
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '’'
}

/// `E[x]tract` → `Extract`: a single letter in brackets is a mnemonic (tldr pages mark option
/// letters so), not a word boundary. `[1]` (digits) and longer bracketed text are left alone.
fn unbracket_letters(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('[') {
        return std::borrow::Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '[' && chars.get(i + 2) == Some(&']') && chars[i + 1].is_alphabetic() {
            out.push(chars[i + 1]);
            i += 3;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Folds a lower-cased word's plural, `-ing`, `-ed` and final `e` so that `install`,
/// `installs`, `installing` and `installed` meet, as do `file`/`files`/`filed` and
/// `cache`/`caches`/`cached`. Much lighter than Porter: it never merges unrelated words it
/// would not also merge with a human's reading.
pub(crate) fn stem(word: &str) -> String {
    if word.chars().count() <= 3 || !word.chars().all(|c| c.is_ascii_alphabetic()) {
        return word.to_string();
    }
    let mut w = word.to_string();
    // Plurals; `-es` needs no rule of its own: `caches` → `cache` → `cach` (final `e` below).
    if let Some(base) = w.strip_suffix("ies").filter(|b| b.len() >= 2) {
        w = format!("{base}y");
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.truncate(w.len() - 1);
    }
    // `-ing` and `-ed`, when a vowel is left.
    let has_vowel = |s: &str| s.chars().any(|c| "aeiouy".contains(c));
    if let Some(base) = w
        .strip_suffix("ing")
        .filter(|b| b.len() >= 2 && has_vowel(b))
    {
        w = undouble(base);
    } else if w.ends_with("eed") {
        if w.len() > 4 {
            w.truncate(w.len() - 1);
        }
    } else if let Some(base) = w.strip_suffix("ied").filter(|b| b.len() >= 2) {
        w = format!("{base}y");
    } else if let Some(base) = w
        .strip_suffix("ed")
        .filter(|b| b.len() >= 2 && has_vowel(b))
    {
        w = undouble(base);
    }
    if w.len() >= 3 && w.ends_with('e') {
        w.truncate(w.len() - 1);
    }
    w
}

/// `runn` → `run`, `embedd` → `embed`; not after `l`, `s` or `z` (`install`, `pass`, `buzz`),
/// nor when it would leave fewer than three letters (`add`).
fn undouble(base: &str) -> String {
    let bytes = base.as_bytes();
    let n = bytes.len();
    if n >= 4
        && bytes[n - 1] == bytes[n - 2]
        && !b"lsz".contains(&bytes[n - 1])
        && !b"aeiou".contains(&bytes[n - 1])
    {
        base[..n - 1].to_string()
    } else {
        base.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn stem_folds_inflections_together() {
        for group in [
            &["install", "installs", "installing", "installed"][..],
            &["file", "files", "filed"],
            &["cache", "caches", "cached", "caching"],
            &["run", "runs", "running"],
            &["library", "libraries"],
            &["configure", "configured", "configuring", "configures"],
            // Like Porter, `embed` itself loses its `ed`: only the inflections meet.
            &["embedded", "embedding"],
            &["need", "needed"],
            &["process", "processes"],
            &["add", "adding", "added"],
            &["deploy", "deploys", "deployed"],
            &["search", "searches", "searched"],
            &["class", "classes"],
        ] {
            let stems: Vec<String> = group.iter().map(|w| stem(w)).collect();
            assert!(
                stems.windows(2).all(|s| s[0] == s[1]),
                "{group:?} → {stems:?}"
            );
        }
        for (a, b) in [
            ("string", "str"),
            ("status", "stat"),
            ("thing", "th"),
            ("red", "r"),
        ] {
            assert_ne!(stem(a), stem(b));
        }
        assert_eq!(stem("status"), "status");
        assert_eq!(stem("analysis"), "analysis");
        assert_eq!(stem("v20"), "v20");
    }

    #[test]
    fn placeholder_words_count_half() {
        let mut words = Words::new();
        add_words(
            "Run a prompt: `llm \"{{What is the capital of France?}}\"` with llm {{model",
            &mut words,
        );
        assert_eq!(words.get("capital"), Some(&PLACEHOLDER_WEIGHT));
        assert_eq!(words.get("prompt"), Some(&1.0));
        assert_eq!(words.get("llm"), Some(&1.0));
        assert_eq!(words.get("model"), Some(&1.0), "an unclosed `{{{{` is text");
        add_words("The capital letter.", &mut words);
        assert_eq!(words.get("capital"), Some(&1.0));
    }

    #[test]
    fn content_words_skip_stop_words_and_urls() {
        assert_eq!(
            content_words(
                "How do I install the CLI on Windows? See https://nodejs.org/en and [docs](https://x.dev/a-b)."
            ),
            ["install", "cli", "window", "documentation"],
            "`docs` is read as its synonym `documentation`"
        );
        assert_eq!(
            content_words("Why won't the user’s docs build? It doesn't ‘work’."),
            ["user", "documentation", "build", "work"]
        );
        assert_eq!(
            content_words("What is the capital of France?"),
            ["capital", "franc"]
        );
        assert_eq!(
            content_words("E[x]tract a (compressed) archive [f]ile, g[z]ipped [1]"),
            ["extract", "compress", "archiv", "fil", "gzip"]
        );
    }
}
