//! Plain text from Markdown: excerpts for meta descriptions, the text search indexes and cuts
//! its highlights from, and slugs for anchors and URLs.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use crate::markdown::options;
use crate::sanitize::{self, Token};

/// The visible text of a Markdown document, with block boundaries as single spaces and code
/// blocks left out (they read badly in a summary).
pub fn plain_text(markdown: &str) -> String {
    text_of(markdown, false, ' ')
}

/// The words a reader sees in a Markdown document, as one line of plain text: what search
/// indexes, highlights and shows as an excerpt. Headings, emphasis and links become their text,
/// images their alt text, code spans and fenced code their code, tables their cells; raw HTML
/// keeps only its text (tags dropped, `script`/`style` with their content, entities decoded).
pub fn search_text(markdown: &str) -> String {
    text_of(markdown, true, ' ')
}

/// A part of an article under one heading, for documentation search and the assistant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// The headings above the passage, outermost first (empty for the text before the first
    /// heading).
    pub trail: Vec<String>,
    /// The `id` the rendered page gives the passage's heading (its URL fragment); `None` for the
    /// text before the first heading.
    pub anchor: Option<String>,
    /// The words a reader sees ([`search_text`]'s rules), one block (paragraph, list item, code
    /// line, table row…) per line.
    pub text: String,
}

/// Headings of these levels start a passage; deeper ones stay inside their passage's text.
const PASSAGE_LEVELS: std::ops::RangeInclusive<u8> = 1..=3;
/// A passage longer than this (in characters) is cut, at line ends, into parts of about this size,
/// so that a long section does not outweigh the short ones around it.
const PASSAGE_MAX_CHARS: usize = 1_500;

/// The article split at its headings of levels 1–3 into passages, each with its heading trail and
/// the anchor the rendered page gives that heading ([`crate::render`]'s ids), in document order.
/// Passages with no text are left out; long ones are cut into parts that share their heading.
pub fn passages(markdown: &str) -> Vec<Passage> {
    struct Heading {
        level: u8,
        text: String,
        id: String,
        start: usize,
        end: usize,
    }
    let mut headings: Vec<Heading> = Vec::new();
    let mut ids = std::collections::HashSet::new();
    let mut open: Option<(u8, usize, String)> = None;
    for (event, range) in Parser::new_ext(markdown, options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                open = Some((level as u8, range.start, String::new()));
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, _, text)) = open.as_mut() {
                    text.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let Some((level, start, text)) = open.take() else {
                    continue;
                };
                // The renderer's rule (markdown.rs, `finish_heading`), so anchors match its ids.
                let base = match slugify(&text) {
                    s if s.is_empty() => "section".to_string(),
                    s => s.chars().take(80).collect(),
                };
                let mut id = base.clone();
                let mut n = 1;
                while !ids.insert(id.clone()) {
                    id = format!("{base}-{n}");
                    n += 1;
                }
                headings.push(Heading {
                    level,
                    text: text.trim().to_string(),
                    id,
                    start,
                    end: range.end,
                });
            }
            _ => {}
        }
    }
    let splits: Vec<&Heading> = headings
        .iter()
        .filter(|h| PASSAGE_LEVELS.contains(&h.level))
        .collect();
    let mut out = Vec::new();
    let mut push = |trail: &[String], anchor: Option<&str>, slice: &str| {
        let text = text_of(slice, true, '\n');
        for part in cut_lines(&text, PASSAGE_MAX_CHARS) {
            out.push(Passage {
                trail: trail.to_vec(),
                anchor: anchor.map(str::to_string),
                text: part,
            });
        }
    };
    let first = splits.first().map_or(markdown.len(), |h| h.start);
    push(&[], None, &markdown[..first]);
    let mut stack: Vec<(u8, String)> = Vec::new();
    for (i, h) in splits.iter().enumerate() {
        while stack.last().is_some_and(|(l, _)| *l >= h.level) {
            stack.pop();
        }
        stack.push((h.level, h.text.clone()));
        let trail: Vec<String> = stack.iter().map(|(_, t)| t.clone()).collect();
        let end = splits.get(i + 1).map_or(markdown.len(), |n| n.start);
        push(&trail, Some(&h.id), &markdown[h.end.min(end)..end]);
    }
    out
}

/// `text` in parts of at most about `max` characters, cut at line ends (a single longer line is
/// its own part); no empty parts.
fn cut_lines(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = 0;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let n = line.chars().count();
        if chars > 0 && chars + n > max {
            parts.push(std::mem::take(&mut current));
            chars = 0;
        }
        if chars > 0 {
            current.push('\n');
            chars += 1;
        }
        current.push_str(line);
        chars += n;
    }
    if chars > 0 {
        parts.push(current);
    }
    parts
}

/// The document's text; blocks end with `block_end` (a space, or a newline to keep them apart).
fn text_of(markdown: &str, with_code_blocks: bool, block_end: char) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut in_code_block = false;
    let mut html = HtmlText::default();
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                out.push(block_end);
            }
            Event::Text(t) if in_code_block && with_code_blocks => out.push_str(&t),
            Event::Text(_) if in_code_block => {}
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t)
                if !html.skipping() =>
            {
                out.push_str(&t)
            }
            Event::Html(h) | Event::InlineHtml(h) => html.push(&h, &mut out),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::BlockQuote(_)
                | TagEnd::HtmlBlock
                | TagEnd::FootnoteDefinition
                | TagEnd::DefinitionListTitle
                | TagEnd::DefinitionListDefinition,
            ) => {
                // Raw elements end with the Markdown block they were opened in.
                html.skip_to = None;
                out.push(block_end);
            }
            _ => {}
        }
    }
    if block_end == '\n' {
        // Code keeps its own lines; every line's spacing collapses.
        out.lines()
            .map(collapse_whitespace)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        collapse_whitespace(&out)
    }
}

/// The text of raw HTML, fed in pieces as the Markdown parser finds them (an inline element's
/// start and end tags arrive as separate events).
#[derive(Default)]
struct HtmlText {
    /// Inside `<script>` or `<style>`: text is dropped up to this end tag.
    skip_to: Option<&'static str>,
}

impl HtmlText {
    fn skipping(&self) -> bool {
        self.skip_to.is_some()
    }

    fn push(&mut self, html: &str, out: &mut String) {
        let mut at = 0;
        while at < html.len() {
            let (token, next) = sanitize::next(html, at);
            match token {
                Token::Text(t) if self.skip_to.is_none() => decode_entities(t, out),
                Token::Start { name, .. } if self.skip_to.is_none() => {
                    self.skip_to = sanitize::drops_content(&name);
                    if !is_inline(&name) {
                        out.push(' ');
                    }
                }
                Token::End { name } => {
                    if self.skip_to == Some(name.as_str()) {
                        self.skip_to = None;
                    }
                    if !is_inline(&name) {
                        out.push(' ');
                    }
                }
                _ => {}
            }
            at = next;
        }
    }
}

/// Elements that sit inside a line of text: their tags do not separate words (the phrasing
/// elements the sanitiser knows, and the obsolete `font`, which it drops but text keeps).
fn is_inline(tag: &str) -> bool {
    crate::sanitize::is_inline(tag) || tag == "font"
}

/// Appends `text` with its character references (`&amp;`, `&#233;`, `&eacute;`) decoded; a `&`
/// that starts none is kept as it is.
fn decode_entities(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // The longest named reference (`&CounterClockwiseContourIntegral;`) is 33 bytes.
        let end = rest
            .char_indices()
            .take(40)
            .skip(1)
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '#'))
            .filter(|(_, c)| *c == ';')
            .map(|(i, _)| i);
        match end.and_then(|e| htmlescape::decode_html(&rest[..=e]).ok().map(|d| (e, d))) {
            Some((e, decoded)) => {
                out.push_str(&decoded);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
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
    fn search_text_keeps_the_words_and_drops_the_syntax() {
        let md = "# Reset your **Forgot password**\n\n\
                  Open [the *settings* page](https://example.com/s \"t\") and ![a key icon](k.png).\n\n\
                  ```sh\ntome reset --user ann\n```\n\n\
                  | Field | Value |\n|---|---|\n| `name` | ~~old~~ new |\n\n\
                  > Note: see[^1].\n\n\
                  - [x] done\n\n\
                  <div class=\"x\"><p>Caf&eacute; &amp; bar &#233; &#x41; AT&T &bogus;</p>\n\
                  <script>alert(1)</script></div>\n\n\
                  A <b>bold</b> <style>p{}</style>word &lt;tag&gt;.\n\n\
                  [^1]: The footnote.";
        assert_eq!(
            search_text(md),
            "Reset your Forgot password Open the settings page and a key icon. \
             tome reset --user ann Field Value name old new Note: see. done \
             Café & bar é A AT&T &bogus; A bold word <tag>. The footnote."
        );
    }

    #[test]
    fn an_unclosed_raw_script_hides_only_its_own_block() {
        assert_eq!(search_text("before <script>x\n\nafter"), "before after");
        assert_eq!(plain_text("```\ncode\n```\n\ntext"), "text");
    }

    #[test]
    fn passages_follow_the_headings_and_their_anchors() {
        let md = "Intro text.\n\n# Install\n\nRun the installer.\n\n## On Windows\n\n\
                  - Open **PowerShell**.\n- Run `setup.exe`.\n\n#### Detail\n\nDeep.\n\n\
                  ## On Windows\n\nAgain.\n\n# Use\n\n```sh\ntome serve\ntome update\n```\n";
        let p = passages(md);
        let view: Vec<(Vec<&str>, Option<&str>, &str)> = p
            .iter()
            .map(|p| {
                (
                    p.trail.iter().map(String::as_str).collect(),
                    p.anchor.as_deref(),
                    p.text.as_str(),
                )
            })
            .collect();
        assert_eq!(
            view,
            vec![
                (vec![], None, "Intro text."),
                (vec!["Install"], Some("install"), "Run the installer."),
                (
                    vec!["Install", "On Windows"],
                    Some("on-windows"),
                    "Open PowerShell.\nRun setup.exe.\nDetail\nDeep."
                ),
                (
                    vec!["Install", "On Windows"],
                    Some("on-windows-1"),
                    "Again."
                ),
                (vec!["Use"], Some("use"), "tome serve\ntome update"),
            ]
        );
        // The anchors are the rendered page's heading ids.
        let html = crate::render(md).html;
        for p in &p {
            if let Some(a) = &p.anchor {
                assert!(html.contains(&format!("id=\"{a}\"")), "{a}");
            }
        }
    }

    #[test]
    fn long_passages_are_cut_at_line_ends() {
        let para = "word ".repeat(100);
        let md = format!("## Long\n\n{para}\n\n{para}\n\n{para}\n\n{para}\n");
        let p = passages(&md);
        assert_eq!(p.len(), 2);
        assert!(p.iter().all(|p| p.anchor.as_deref() == Some("long")));
        assert!(
            p.iter()
                .all(|p| p.text.chars().count() <= PASSAGE_MAX_CHARS)
        );
        assert!(passages("").is_empty());
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
