//! Markdown → sanitised HTML, with heading anchors, a table of contents, highlighted code and
//! footnotes gathered at the end.

use std::collections::{HashMap, HashSet};

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::highlight::highlight;
use crate::html::{self, Piece};
use crate::text::slugify;

/// One heading of an article, for an on-page table of contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TocEntry {
    /// 2 or 3.
    pub level: u8,
    /// The heading's `id`, unique in the document.
    pub id: String,
    pub text: String,
}

/// A rendered article body.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// Sanitised HTML, safe to embed in a page as is.
    pub html: String,
    /// Level-2 and level-3 headings in document order.
    pub toc: Vec<TocEntry>,
}

/// The Markdown dialect: CommonMark plus the GitHub extensions help content relies on.
pub(crate) fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM
}

/// Renders an article body. Whatever the input, the output carries no script, event handler,
/// inline style or `javascript:`/`data:` URL.
pub fn render(markdown: &str) -> Rendered {
    let (pieces, toc, ids) = pieces(markdown);
    Rendered {
        html: html::write(pieces, &ids, markdown.len() * 3 / 2),
        toc,
    }
}

/// The document as the writer takes it: Markdown events with headings, code blocks, footnotes
/// and table wrappers already turned into trusted markup, footnotes gathered at the end; with the
/// ids the renderer gave headings and footnotes (author links to them are never rewritten).
pub(crate) fn pieces(markdown: &str) -> (Vec<Piece<'_>>, Vec<TocEntry>, HashSet<String>) {
    let mut r = Renderer::default();
    for event in Parser::new_ext(markdown, options()) {
        r.event(event);
    }
    let mut ids = std::mem::take(&mut r.ids);
    for label in r.numbers.keys().chain(r.footnotes.iter().map(|(l, _)| l)) {
        let slug = footnote_slug(label);
        ids.insert(format!("fn-{slug}"));
        ids.insert(format!("fnref-{slug}"));
    }
    let mut pieces = r.out;
    if !r.footnotes.is_empty() {
        let mut notes = r.footnotes;
        // In the order they are first referred to, as their numbers say; unreferenced last.
        notes.sort_by_key(|(label, _)| r.numbers.get(label).copied().unwrap_or(usize::MAX));
        pieces.push(Piece::Enter(
            "<section class=\"footnotes\" aria-label=\"Footnotes\"><ol>".into(),
        ));
        for (_, body) in notes {
            pieces.extend(body);
        }
        pieces.push(Piece::Leave("</ol></section>".into()));
    }
    (pieces, r.toc, ids)
}

#[derive(Default)]
struct Renderer<'a> {
    out: Vec<Piece<'a>>,
    /// Footnote definitions by label, rendered at the end of the document.
    footnotes: Vec<(String, Vec<Piece<'a>>)>,
    in_footnote: bool,
    /// Footnote label → its number, in order of first reference.
    numbers: HashMap<String, usize>,
    referenced: HashSet<String>,
    ids: HashSet<String>,
    toc: Vec<TocEntry>,
    heading: Option<(HeadingLevel, Vec<Event<'a>>)>,
    code: Option<(String, String)>,
    /// The title of the code block being collected (after its language in the info string).
    code_title: String,
}

impl<'a> Renderer<'a> {
    fn emit(&mut self, event: Event<'a>) {
        self.put(Piece::Event(event));
    }

    fn put(&mut self, piece: Piece<'a>) {
        if self.in_footnote
            && let Some((_, body)) = self.footnotes.last_mut()
        {
            body.push(piece);
        } else {
            self.out.push(piece);
        }
    }

    fn event(&mut self, event: Event<'a>) {
        if let Some((_, text)) = &mut self.code {
            match event {
                Event::Text(t) => text.push_str(&t),
                Event::End(TagEnd::CodeBlock) => self.finish_code(),
                _ => {}
            }
            return;
        }
        if let Some((_, inner)) = &mut self.heading {
            match event {
                Event::End(TagEnd::Heading(_)) => self.finish_heading(),
                other => inner.push(other),
            }
            return;
        }
        match event {
            Event::Start(Tag::Heading { level, .. }) => self.heading = Some((level, Vec::new())),
            Event::Start(Tag::CodeBlock(kind)) => {
                // Info strings are `lang [title] [{attributes}]`, e.g. ```bash npm```.
                let (lang, title) = match kind {
                    CodeBlockKind::Fenced(info) => {
                        let info = info.split('{').next().unwrap_or_default().trim();
                        let (lang, title) =
                            info.split_once(char::is_whitespace).unwrap_or((info, ""));
                        (
                            lang.trim_end_matches(',').to_string(),
                            title.trim().to_string(),
                        )
                    }
                    CodeBlockKind::Indented => (String::new(), String::new()),
                };
                self.code = Some((lang, String::new()));
                self.code_title = title.chars().take(80).collect();
            }
            Event::FootnoteReference(label) => {
                let next = self.numbers.len() + 1;
                let n = *self.numbers.entry(label.to_string()).or_insert(next);
                let slug = footnote_slug(&label);
                // Only the first reference gets the id the back-link points to.
                let id = if self.referenced.insert(label.to_string()) {
                    format!(" id=\"fnref-{slug}\"")
                } else {
                    String::new()
                };
                self.put(Piece::Trusted(format!(
                    "<sup class=\"fnref\"{id}><a href=\"#fn-{slug}\" rel=\"noopener noreferrer\">{n}</a></sup>"
                )));
            }
            Event::Start(Tag::FootnoteDefinition(label)) => {
                let slug = footnote_slug(&label);
                self.footnotes.push((
                    label.to_string(),
                    vec![Piece::Enter(format!(
                        "<li class=\"footnote\" id=\"fn-{slug}\">"
                    ))],
                ));
                self.in_footnote = true;
            }
            Event::End(TagEnd::FootnoteDefinition) => {
                let slug = self
                    .footnotes
                    .last()
                    .map(|(l, _)| footnote_slug(l))
                    .unwrap_or_default();
                self.put(Piece::Leave(format!(
                    "<a class=\"fn-back\" href=\"#fnref-{slug}\" aria-label=\"Back to the text\" rel=\"noopener noreferrer\">↩</a></li>"
                )));
                self.in_footnote = false;
            }
            Event::Start(Tag::Table(a)) => {
                // A wrapper lets wide tables scroll on phones instead of widening the page.
                self.put(Piece::Enter("<div class=\"table-wrap\">".into()));
                self.emit(Event::Start(Tag::Table(a)));
            }
            Event::End(TagEnd::Table) => {
                self.emit(Event::End(TagEnd::Table));
                self.put(Piece::Leave("</div>".into()));
            }
            other => self.emit(other),
        }
    }

    fn finish_code(&mut self) {
        let Some((lang, code)) = self.code.take() else {
            return;
        };
        let lang: String = lang
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '#'))
            .take(32)
            .collect();
        let body = highlight(&code, &lang);
        let title = std::mem::take(&mut self.code_title);
        let title = if title.is_empty() {
            String::new()
        } else {
            let mut attr = String::from(" data-title=\"");
            html::escape(&mut attr, &title, true);
            attr.push('"');
            attr
        };
        let html = if lang.is_empty() {
            format!("<pre class=\"code\"{title}><code>{body}</code></pre>\n")
        } else {
            // Only ASCII letters, digits and `-+#` are left: nothing to escape.
            let l = lang.to_ascii_lowercase();
            format!(
                "<pre class=\"code\" data-lang=\"{l}\"{title}><code class=\"language-{l}\">{body}</code></pre>\n"
            )
        };
        self.put(Piece::Trusted(html));
    }

    fn finish_heading(&mut self) {
        let Some((level, inner)) = self.heading.take() else {
            return;
        };
        let mut text = String::new();
        for e in &inner {
            if let Event::Text(t) | Event::Code(t) = e {
                text.push_str(t);
            }
        }
        let base = match slugify(&text) {
            s if s.is_empty() => "section".to_string(),
            s => s.chars().take(80).collect(),
        };
        let mut id = base.clone();
        let mut n = 1;
        while !self.ids.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        let tag = level as u8;
        if (2..=3).contains(&tag) && !self.in_footnote {
            self.toc.push(TocEntry {
                level: tag,
                id: id.clone(),
                text: text.trim().to_string(),
            });
        }
        self.put(Piece::Enter(format!("<h{tag} id=\"{id}\">")));
        for e in inner {
            self.emit(e);
        }
        self.put(Piece::Leave(format!(
            "<a class=\"anchor\" href=\"#{id}\" aria-label=\"Link to this section\" rel=\"noopener noreferrer\">#</a></h{tag}>\n"
        )));
    }
}

fn footnote_slug(label: &str) -> String {
    match slugify(label) {
        s if s.is_empty() => "note".to_string(),
        s => s,
    }
}

#[cfg(test)]
mod tests;
