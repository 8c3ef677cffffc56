//! Writes the renderer's events as sanitised HTML in one pass.
//!
//! Markdown structure is written from fixed markup, text is escaped, link and image URLs are
//! checked ([`sanitize::url_allowed`]), and raw HTML the author wrote goes through
//! [`sanitize`]'s tokenizer and allow-list. Raw elements are kept well nested: each lives inside
//! the Markdown container it was opened in (a paragraph, list item, table cell, …) and is closed
//! when that container ends, so no author-written end tag can close an element of the page
//! around the article, and whatever is left open at the end is closed there. Inline elements an
//! HTML block leaves open are closed at the end of that block, so they cannot spread over the
//! Markdown that follows.
//!
//! Author ids are written with the prefix [`ID_PREFIX`], as GitHub writes them, so no id from an
//! article can name (clobber) a global the page's scripts or the browser look up by id
//! (`document.location`, `window.createElement`, …); the author's in-page links to those ids
//! (`href="#x"` in raw HTML, `[x](#x)` in Markdown) are rewritten to match.

use std::collections::HashSet;

use pulldown_cmark::{Alignment, BlockQuoteKind, Event, LinkType, Tag, TagEnd};

use crate::sanitize::{self, Token};

/// What the renderer hands the writer.
pub(crate) enum Piece<'a> {
    /// A Markdown event.
    Event(Event<'a>),
    /// Markup the renderer built from escaped parts, written as is.
    Trusted(String),
    /// Trusted markup that opens a container (closed by a later [`Piece::Leave`]).
    Enter(String),
    /// Trusted markup that closes the container of the matching [`Piece::Enter`].
    Leave(String),
}

/// An open element.
enum Open {
    /// A Markdown or renderer container: raw elements opened inside it are closed with it.
    Container,
    /// An element the author opened in raw HTML.
    Raw(&'static str),
}

/// What every id from raw HTML is prefixed with.
pub(crate) const ID_PREFIX: &str = "user-content-";

/// Writes `pieces` as sanitised HTML; `own_ids` are the ids the renderer gave headings and
/// footnotes, which author links may reach as they are.
pub(crate) fn write(pieces: Vec<Piece<'_>>, own_ids: &HashSet<String>, capacity: usize) -> String {
    let mut w = Writer {
        author_ids: author_ids(&pieces),
        own_ids,
        out: String::with_capacity(capacity),
        end_newline: true,
        stack: Vec::new(),
        skip: None,
        alignments: Vec::new(),
        in_head: false,
        cell: 0,
        html_block: None,
        hidden: 0,
    };
    let mut pieces = pieces.into_iter();
    while let Some(piece) = pieces.next() {
        match piece {
            Piece::Event(Event::Start(Tag::Image {
                dest_url, title, ..
            })) => w.image(&dest_url, &title, &mut pieces),
            Piece::Event(event) => w.event(event),
            Piece::Trusted(html) => w.write(&html),
            Piece::Enter(html) => {
                w.write(&html);
                w.stack.push(Open::Container);
            }
            Piece::Leave(html) => {
                w.leave();
                w.write(&html);
            }
        }
    }
    w.close_raw();
    w.out
}

struct Writer<'i> {
    /// The ids written in raw HTML (unprefixed), which fragment links are rewritten to reach.
    author_ids: HashSet<String>,
    own_ids: &'i HashSet<String>,
    out: String,
    /// Whether the output ends with a newline (pulldown-cmark's spacing between blocks).
    end_newline: bool,
    stack: Vec<Open>,
    /// Inside `<script>` or `<style>`: their end tag, and the depth of `stack` they began at.
    skip: Option<(&'static str, usize)>,
    alignments: Vec<Alignment>,
    in_head: bool,
    cell: usize,
    /// The raw HTML of the HTML block being read (its lines arrive as separate events).
    html_block: Option<String>,
    /// Depth inside a metadata block, which is not written.
    hidden: usize,
}

impl Writer<'_> {
    fn write(&mut self, s: &str) {
        if !s.is_empty() {
            self.out.push_str(s);
            self.end_newline = s.ends_with('\n');
        }
    }

    /// Writes `s` on a new line.
    fn block(&mut self, s: &str) {
        if !self.end_newline {
            self.out.push('\n');
        }
        self.write(s);
    }

    fn enter(&mut self, s: &str) {
        self.write(s);
        self.stack.push(Open::Container);
    }

    fn enter_block(&mut self, s: &str) {
        self.block(s);
        self.stack.push(Open::Container);
    }

    /// Closes the raw elements left open in the innermost container, then the container.
    fn leave(&mut self) {
        self.close_raw();
        self.stack.pop();
        if self.skip.is_some_and(|(_, depth)| self.stack.len() < depth) {
            self.skip = None;
        }
    }

    /// Whether a link to the fragment `id` means an author's element (whose id was prefixed)
    /// rather than one of the renderer's headings or footnotes.
    fn to_author_id(&self, id: &str) -> bool {
        !self.author_ids.is_empty()
            && self.author_ids.contains(id)
            && !self.own_ids.contains(id)
            && !id.starts_with(ID_PREFIX)
    }

    /// At the end of an HTML block: closes the outermost raw inline element still open above the
    /// innermost container, and everything opened inside it; raw block elements (`div`,
    /// `details`, …) opened outside any inline one stay open to wrap the Markdown that follows.
    fn close_inline_raw(&mut self) {
        let mut from = None;
        for (i, open) in self.stack.iter().enumerate().rev() {
            match open {
                Open::Container => break,
                Open::Raw(tag) if sanitize::is_inline(tag) => from = Some(i),
                Open::Raw(_) => {}
            }
        }
        if let Some(from) = from {
            while self.stack.len() > from {
                if let Some(Open::Raw(tag)) = self.stack.pop() {
                    self.end_tag(tag);
                }
            }
        }
    }

    /// Closes the raw elements open above the innermost container.
    fn close_raw(&mut self) {
        while let Some(Open::Raw(tag)) = self.stack.last() {
            let tag = *tag;
            self.stack.pop();
            self.end_tag(tag);
        }
    }

    fn end_tag(&mut self, tag: &str) {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self.end_newline = false;
    }

    fn text(&mut self, text: &str) {
        if self.skip.is_none() && self.hidden == 0 {
            escape(&mut self.out, text, false);
            self.end_newline = text.ends_with('\n');
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(text) => {
                if self.skip.is_none() {
                    self.write("<code>");
                    self.text(&text);
                    self.write("</code>");
                }
            }
            Event::InlineMath(text) | Event::DisplayMath(text) => self.text(&text),
            Event::Html(html) => match &mut self.html_block {
                Some(block) => block.push_str(&html),
                None => self.raw(&html),
            },
            Event::InlineHtml(html) => self.raw(&html),
            Event::SoftBreak => self.write("\n"),
            Event::HardBreak => self.write("<br>\n"),
            Event::Rule => self.block("<hr>\n"),
            Event::TaskListMarker(true) => {
                self.write("<input disabled=\"\" type=\"checkbox\" checked=\"\">\n")
            }
            Event::TaskListMarker(false) => self.write("<input disabled=\"\" type=\"checkbox\">\n"),
            // The renderer turns references into trusted markup; a stray one is just its label.
            Event::FootnoteReference(label) => self.text(&label),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::HtmlBlock => self.html_block = Some(String::new()),
            Tag::Paragraph => self.enter_block("<p>"),
            Tag::Heading { level, .. } => self.enter_block(&format!("<{level}>")),
            Tag::Table(alignments) => {
                self.alignments = alignments;
                self.enter("<table>");
            }
            Tag::TableHead => {
                self.in_head = true;
                self.cell = 0;
                self.enter("<thead><tr>");
            }
            Tag::TableRow => {
                self.cell = 0;
                self.enter("<tr>");
            }
            Tag::TableCell => {
                let cell = if self.in_head { "<th" } else { "<td" };
                let align = match self.alignments.get(self.cell) {
                    Some(Alignment::Left) => " class=\"align-left\">",
                    Some(Alignment::Center) => " class=\"align-center\">",
                    Some(Alignment::Right) => " class=\"align-right\">",
                    _ => ">",
                };
                self.write(cell);
                self.enter(align);
            }
            Tag::BlockQuote(kind) => self.enter_block(match kind {
                None => "<blockquote>\n",
                Some(BlockQuoteKind::Note) => "<blockquote class=\"markdown-alert-note\">\n",
                Some(BlockQuoteKind::Tip) => "<blockquote class=\"markdown-alert-tip\">\n",
                Some(BlockQuoteKind::Important) => {
                    "<blockquote class=\"markdown-alert-important\">\n"
                }
                Some(BlockQuoteKind::Warning) => "<blockquote class=\"markdown-alert-warning\">\n",
                Some(BlockQuoteKind::Caution) => "<blockquote class=\"markdown-alert-caution\">\n",
            }),
            // The renderer highlights code blocks itself; this is the plain fallback.
            Tag::CodeBlock(_) => self.enter_block("<pre><code>"),
            Tag::List(Some(1)) => self.enter_block("<ol>\n"),
            Tag::List(Some(start)) => self.enter_block(&format!("<ol start=\"{start}\">\n")),
            Tag::List(None) => self.enter_block("<ul>\n"),
            Tag::Item => self.enter_block("<li>"),
            Tag::DefinitionList => self.enter_block("<dl>\n"),
            Tag::DefinitionListTitle => self.enter_block("<dt>"),
            Tag::DefinitionListDefinition => self.enter_block("<dd>"),
            Tag::Subscript => self.enter("<sub>"),
            Tag::Superscript => self.enter("<sup>"),
            Tag::Emphasis => self.enter("<em>"),
            Tag::Strong => self.enter("<strong>"),
            Tag::Strikethrough => self.enter("<del>"),
            Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            } => {
                self.out.push_str("<a");
                let mailto = link_type == LinkType::Email;
                if sanitize::url_allowed(&dest_url, false) {
                    self.out.push_str(if mailto {
                        " href=\"mailto:"
                    } else {
                        " href=\""
                    });
                    if let Some(id) = dest_url.strip_prefix('#')
                        && self.to_author_id(id)
                    {
                        self.out.push('#');
                        self.out.push_str(ID_PREFIX);
                        escape_href(&mut self.out, id);
                    } else {
                        escape_href(&mut self.out, &dest_url);
                    }
                    self.out.push('"');
                }
                if !title.is_empty() {
                    self.out.push_str(" title=\"");
                    escape(&mut self.out, &title, true);
                    self.out.push('"');
                }
                self.enter(" rel=\"noopener noreferrer\">");
            }
            // Written whole by `image`; never reached.
            Tag::Image { .. } => {}
            // The renderer turns definitions into trusted markup; this is the plain fallback.
            Tag::FootnoteDefinition(_) => self.enter_block("<div>"),
            Tag::MetadataBlock(_) => self.hidden += 1,
        }
    }

    fn end(&mut self, tag: TagEnd) {
        let html = match tag {
            TagEnd::HtmlBlock => {
                if let Some(block) = self.html_block.take() {
                    self.raw(&block);
                    self.close_inline_raw();
                }
                return;
            }
            TagEnd::MetadataBlock(_) => {
                self.hidden = self.hidden.saturating_sub(1);
                return;
            }
            TagEnd::Image => return,
            TagEnd::Paragraph => "</p>\n",
            TagEnd::Heading(level) => {
                self.leave();
                self.write(&format!("</{level}>\n"));
                return;
            }
            TagEnd::Table => "</tbody></table>\n",
            TagEnd::TableHead => {
                self.in_head = false;
                "</tr></thead><tbody>\n"
            }
            TagEnd::TableRow => "</tr>\n",
            TagEnd::TableCell => {
                self.cell += 1;
                if self.in_head { "</th>" } else { "</td>" }
            }
            TagEnd::BlockQuote(_) => "</blockquote>\n",
            TagEnd::CodeBlock => "</code></pre>\n",
            TagEnd::List(true) => "</ol>\n",
            TagEnd::List(false) => "</ul>\n",
            TagEnd::Item => "</li>\n",
            TagEnd::DefinitionList => "</dl>\n",
            TagEnd::DefinitionListTitle => "</dt>\n",
            TagEnd::DefinitionListDefinition => "</dd>\n",
            TagEnd::Emphasis => "</em>",
            TagEnd::Superscript => "</sup>",
            TagEnd::Subscript => "</sub>",
            TagEnd::Strong => "</strong>",
            TagEnd::Strikethrough => "</del>",
            TagEnd::Link => "</a>",
            TagEnd::FootnoteDefinition => "</div>\n",
        };
        self.leave();
        self.write(html);
    }

    /// An image: its alt text is the plain text of the events up to its end.
    fn image<'a>(&mut self, url: &str, title: &str, pieces: &mut impl Iterator<Item = Piece<'a>>) {
        let mut alt = String::new();
        let mut nest = 0;
        for piece in pieces.by_ref() {
            match piece {
                Piece::Event(Event::Start(_)) => nest += 1,
                Piece::Event(Event::End(_)) => {
                    if nest == 0 {
                        break;
                    }
                    nest -= 1;
                }
                Piece::Event(
                    Event::Text(t) | Event::Code(t) | Event::InlineHtml(t) | Event::InlineMath(t),
                ) => alt.push_str(&t),
                Piece::Event(Event::SoftBreak | Event::HardBreak) => alt.push(' '),
                _ => {}
            }
        }
        if self.skip.is_some() {
            return;
        }
        self.out.push_str("<img");
        if sanitize::url_allowed(url, false) {
            self.out.push_str(" src=\"");
            escape_href(&mut self.out, url);
            self.out.push('"');
        }
        self.out.push_str(" alt=\"");
        escape(&mut self.out, &alt, true);
        self.out.push('"');
        if !title.is_empty() {
            self.out.push_str(" title=\"");
            escape(&mut self.out, title, true);
            self.out.push('"');
        }
        self.out.push('>');
        self.end_newline = false;
    }

    /// Raw HTML the author wrote: allow-listed elements and attributes rebuilt, text escaped,
    /// everything else dropped.
    fn raw(&mut self, html: &str) {
        let mut at = 0;
        while at < html.len() {
            if let Some((tag, _)) = self.skip {
                match sanitize::find_end_tag(html, at, tag) {
                    Some(end) => {
                        self.skip = None;
                        at = end;
                    }
                    None => return,
                }
            }
            let (token, next) = sanitize::next(html, at);
            at = next;
            match token {
                Token::Text(text) => {
                    escape_raw(&mut self.out, text, false);
                    self.end_newline = text.ends_with('\n');
                }
                Token::Start { name, attrs } => self.raw_start(&name, attrs),
                Token::End { name } => self.raw_end(&name),
                Token::Skip => {}
            }
        }
    }

    fn raw_start(&mut self, name: &str, attrs: &str) {
        if let Some(tag) = sanitize::drops_content(name) {
            self.skip = Some((tag, self.stack.len()));
            return;
        }
        let Some(tag) = sanitize::allowed_tag(name) else {
            return;
        };
        let attributes = sanitize::attributes(attrs);
        let start = self.out.len();
        self.out.push('<');
        self.out.push_str(tag);
        if tag == "input" {
            // Only read-only task-list checkboxes.
            let checkbox = attributes
                .iter()
                .any(|(n, v)| n == "type" && *v == "checkbox");
            if !checkbox {
                self.out.truncate(start);
                return;
            }
            self.out.push_str(" disabled=\"\"");
        }
        for (name, value) in &attributes {
            if tag == "input" && name == "disabled" {
                continue;
            }
            if !sanitize::attribute_allowed(tag, name) {
                continue;
            }
            if let Some(value) = sanitize::filter_value(tag, name, value) {
                let value = value.as_str();
                self.out.push(' ');
                self.out.push_str(name);
                self.out.push_str("=\"");
                if name == "id" && !value.starts_with(ID_PREFIX) {
                    self.out.push_str(ID_PREFIX);
                } else if name == "href"
                    && let Some(id) = value.strip_prefix('#')
                    && self.to_author_id(id)
                {
                    self.out.push('#');
                    self.out.push_str(ID_PREFIX);
                    escape_raw(&mut self.out, id, true);
                    self.out.push('"');
                    continue;
                }
                escape_raw(&mut self.out, value, true);
                self.out.push('"');
            }
        }
        if tag == "a" {
            self.out.push_str(" rel=\"noopener noreferrer\"");
        }
        self.out.push('>');
        self.end_newline = false;
        if !sanitize::is_void(tag) {
            self.stack.push(Open::Raw(tag));
        }
    }

    /// An end tag closes the matching raw element of the innermost container (and any raw
    /// element still open inside it); any other end tag is dropped.
    fn raw_end(&mut self, name: &str) {
        let mut depth = None;
        for (i, open) in self.stack.iter().enumerate().rev() {
            match open {
                Open::Container => break,
                Open::Raw(tag) if *tag == name => {
                    depth = Some(i);
                    break;
                }
                Open::Raw(_) => {}
            }
        }
        if let Some(depth) = depth {
            while self.stack.len() > depth {
                if let Some(Open::Raw(tag)) = self.stack.pop() {
                    self.end_tag(tag);
                }
            }
        }
    }
}

/// The ids allow-listed elements get in the raw HTML of `pieces` (read with the writer's
/// tokenizer; an id that only looks like one, inside a dropped `<script>`, does no harm here: it
/// only makes a link to it point at the prefixed id that does not exist either way). Only HTML
/// blocks and inline tags that may hold an `id=` are read.
fn author_ids(pieces: &[Piece<'_>]) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut block: Option<String> = None;
    for piece in pieces {
        match piece {
            Piece::Event(Event::Start(Tag::HtmlBlock)) => block = Some(String::new()),
            Piece::Event(Event::End(TagEnd::HtmlBlock)) => {
                if let Some(html) = block.take() {
                    collect_ids(&html, &mut ids);
                }
            }
            Piece::Event(Event::Html(h)) => match &mut block {
                Some(html) => html.push_str(h),
                None => collect_ids(h, &mut ids),
            },
            Piece::Event(Event::InlineHtml(h)) => collect_ids(h, &mut ids),
            _ => {}
        }
    }
    ids
}

fn collect_ids(html: &str, ids: &mut HashSet<String>) {
    if !may_have_id(html.as_bytes()) {
        return;
    }
    let mut at = 0;
    while at < html.len() {
        let (token, next) = sanitize::next(html, at);
        at = next;
        if let Token::Start { name, attrs } = token
            && let Some(tag) = sanitize::allowed_tag(&name)
        {
            for (attr, value) in sanitize::attributes(attrs) {
                if attr == "id" && sanitize::filter_value(tag, "id", value).is_some() {
                    ids.insert(value.to_string());
                }
            }
        }
    }
}

/// Whether `html` has `id` (any case) before an `=`, spaces allowed between: a cheap test that
/// skips the tokenizer for the raw HTML of almost every document.
fn may_have_id(html: &[u8]) -> bool {
    html.iter().enumerate().any(|(i, &b)| {
        if b != b'=' {
            return false;
        }
        let mut end = i;
        while end > 0 && html[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        end >= 2 && html[end - 2..end].eq_ignore_ascii_case(b"id")
    })
}

/// Escapes text (`attribute`: an attribute value) the way html5ever serialises it, so the output
/// matches what the allow-list sanitiser used to produce.
pub(crate) fn escape(out: &mut String, text: &str, attribute: bool) {
    let bytes = text.as_bytes();
    escape_with(out, text, |i| match bytes[i] {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'"' if attribute => Some("&quot;"),
        _ => None,
    });
}

/// Escapes text or (`attribute`) a double-quoted attribute value of raw HTML. What may be a
/// character reference (`&` before a letter, digit or `#`) stays as written: in the output it
/// sits in the same state it was written in (data, or an attribute value), so it decodes to the
/// same text, never to markup. A bare `&` is written `&amp;`.
fn escape_raw(out: &mut String, text: &str, attribute: bool) {
    let bytes = text.as_bytes();
    escape_with(out, text, |i| match bytes[i] {
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'"' if attribute => Some("&quot;"),
        b'&' if !starts_reference(bytes, i) => Some("&amp;"),
        _ => None,
    });
}

fn starts_reference(bytes: &[u8], amp: usize) -> bool {
    bytes
        .get(amp + 1)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'#')
}

/// Copies `text`, replacing the ASCII bytes `rep` names (given their index) and every no-break
/// space (`&nbsp;`).
fn escape_with(out: &mut String, text: &str, rep: impl Fn(usize) -> Option<&'static str>) {
    let bytes = text.as_bytes();
    let mut from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (replacement, len) = if b == 0xc2 && bytes.get(i + 1) == Some(&0xa0) {
            ("&nbsp;", 2)
        } else if let Some(r) = rep(i) {
            (r, 1)
        } else {
            i += 1;
            continue;
        };
        // `i` is at an ASCII byte or the lead byte of U+00A0: a character boundary.
        out.push_str(&text[from..i]);
        out.push_str(replacement);
        i += len;
        from = i;
    }
    out.push_str(&text[from..]);
}

/// Bytes that stay as they are in a URL (pulldown-cmark's table); the rest are percent-encoded,
/// except `&`, which is written as `&amp;`.
#[rustfmt::skip]
static HREF_SAFE: [u8; 128] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
];

/// Writes a (decoded) Markdown URL into a double-quoted attribute.
fn escape_href(out: &mut String, url: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut from = 0;
    for (i, c) in url.char_indices() {
        if c.is_ascii() && HREF_SAFE[c as usize] == 1 {
            continue;
        }
        out.push_str(&url[from..i]);
        if c == '&' {
            out.push_str("&amp;");
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
        from = i + c.len_utf8();
    }
    out.push_str(&url[from..]);
}
