//! Plain text from Markdown: excerpts for meta descriptions and slugs for anchors and URLs.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use crate::markdown::options;

/// The visible text of a Markdown document, with block boundaries as single spaces and code
/// blocks left out (they read badly in a summary).
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::new();
    let mut in_code_block = false;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(TagEnd::CodeBlock) => in_code_block = false,
            Event::Text(t) | Event::Code(t) if !in_code_block => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::BlockQuote(_),
            ) => out.push(' '),
            _ => {}
        }
    }
    collapse_whitespace(&out)
}

/// At most `max_chars` characters of the document's text, cut at a word boundary with an
/// ellipsis when shortened.
pub fn excerpt(markdown: &str, max_chars: usize) -> String {
    truncate_words(&plain_text(markdown), max_chars)
}

pub(crate) fn truncate_words(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let keep = max_chars.saturating_sub(1);
    let cut: String = text.chars().take(keep).collect();
    // A cut that falls just before a space already ends on a whole word.
    let at_boundary = text.chars().nth(keep).is_some_and(char::is_whitespace);
    let cut = match cut.rfind(' ') {
        Some(i) if !at_boundary && i > cut.len() / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([' ', ',', ';', ':', '.']))
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A URL- and id-friendly form of `text`: lowercase letters and digits (any script) joined by
/// single hyphens. Empty when `text` has no letters or digits.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_hyphen = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if pending_hyphen && !out.is_empty() {
                out.push('-');
            }
            pending_hyphen = false;
            out.extend(c.to_lowercase());
        } else if c != '\'' && c != '’' {
            pending_hyphen = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_drops_markup_and_code() {
        let md = "# Title\n\nSome **bold** and `code`.\n\n```rust\nfn x() {}\n```\n\n- one\n- two";
        assert_eq!(plain_text(md), "Title Some bold and code. one two");
    }

    #[test]
    fn excerpts_cut_at_words() {
        let md = "The quick brown fox jumps over the lazy dog";
        assert_eq!(excerpt(md, 100), md);
        assert_eq!(excerpt(md, 20), "The quick brown fox…");
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Hello, World!"), "hello-world");
        assert_eq!(slugify("  What's new in v2.0?  "), "whats-new-in-v2-0");
        assert_eq!(slugify("Über Größe"), "über-größe");
        assert_eq!(slugify("!!!"), "");
    }
}
