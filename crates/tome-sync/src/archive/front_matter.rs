//! Item files: front matter between `---` lines, then the body.
//!
//! The body starts after the closing `---` line. One empty line directly after it belongs to
//! the format, not to the body: the exporter always writes it, the reader drops it when present.
//! So `---\n\nText` and `---\nText` both have the body `Text`, and any body, even one that
//! starts with empty lines or `---`, round-trips byte for byte.

use std::fmt::Write as _;

use tome_core::model::{Article, Faq};

use super::yaml::{self, Node, YamlError};

/// An item file taken apart.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// Keys in file order with their values and lines.
    pub fields: Vec<(String, Node)>,
    pub body: &'a str,
    /// The file line the body starts on.
    pub body_line: usize,
}

/// Splits `text` into front matter and body. A file that does not start with a `---` line has
/// no front matter: all of it is the body.
pub fn parse(text: &str) -> Result<Parsed<'_>, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = LineIter { text, pos: 0 };
    let Some((first, _)) = lines.next() else {
        return Ok(Parsed {
            fields: Vec::new(),
            body: text,
            body_line: 1,
        });
    };
    if !is_delimiter(first, false) {
        return Ok(Parsed {
            fields: Vec::new(),
            body: text,
            body_line: 1,
        });
    }
    let yaml_start = lines.pos;
    let mut line_no = 1;
    loop {
        let line_start = lines.pos;
        let Some((line, _)) = lines.next() else {
            return Err(YamlError {
                line: 1,
                message: "the front matter opened here is never closed by a `---` line".into(),
            });
        };
        line_no += 1;
        if is_delimiter(line, true) {
            let fields = yaml::parse_mapping(&text[yaml_start..line_start], 2)?;
            let mut body = &text[lines.pos..];
            let mut body_line = line_no + 1;
            if let Some(rest) = body
                .strip_prefix("\r\n")
                .or_else(|| body.strip_prefix('\n'))
            {
                body = rest;
                body_line += 1;
            }
            return Ok(Parsed {
                fields,
                body,
                body_line,
            });
        }
    }
}

/// A `---` line (or `...`, which YAML also accepts to close a document), ignoring trailing
/// blanks and a carriage return.
fn is_delimiter(line: &str, closing: bool) -> bool {
    let t = line.trim_end_matches([' ', '\t', '\r']);
    t == "---" || (closing && t == "...")
}

/// Lines without their `\n`; `pos` is the byte offset after the last line returned.
struct LineIter<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for LineIter<'a> {
    type Item = (&'a str, usize);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.text.len() {
            return None;
        }
        let rest = &self.text[self.pos..];
        let start = self.pos;
        match rest.find('\n') {
            Some(i) => {
                self.pos += i + 1;
                Some((&rest[..i], start))
            }
            None => {
                self.pos = self.text.len();
                Some((rest, start))
            }
        }
    }
}

/// The first line of `body` if it is a level-1 ATX heading (`# Title`), for a title fallback.
pub fn first_heading(body: &str) -> Option<String> {
    let line = body.lines().find(|l| !l.trim().is_empty())?;
    let title = line.strip_prefix("# ")?.trim().trim_end_matches('#').trim();
    (!title.is_empty()).then(|| title.to_string())
}

/// Writes one `key: value` line.
fn field(out: &mut String, key: &str, value: &str) {
    // `write!` to a String cannot fail.
    let _ = writeln!(out, "{key}: {value}");
}

fn opt(value: Option<&String>) -> String {
    value.map_or_else(|| "null".to_string(), |v| yaml::quote(v))
}

/// An article as a file. `related` are the IDs to write (already limited to exported ones).
pub fn render_article(a: &Article, related: &[String]) -> String {
    let mut out = String::with_capacity(a.body.len() + 512);
    out.push_str("---\n");
    field(&mut out, "type", "article");
    field(&mut out, "id", &yaml::quote(&a.id));
    field(&mut out, "title", &yaml::quote(&a.title));
    field(&mut out, "excerpt", &opt(a.excerpt.as_ref()));
    field(&mut out, "status", a.status.as_str());
    field(&mut out, "tags", &yaml::quote_list(&a.tags));
    field(&mut out, "related_articles", &yaml::quote_list(related));
    field(&mut out, "sort_order", &a.sort_order.to_string());
    field(&mut out, "published_at", &opt(a.published_at.as_ref()));
    field(&mut out, "created_at", &yaml::quote(&a.created_at));
    field(&mut out, "updated_at", &yaml::quote(&a.updated_at));
    out.push_str("---\n\n");
    out.push_str(&a.body);
    out
}

/// A FAQ as a file: the answer is the body.
pub fn render_faq(f: &Faq) -> String {
    let mut out = String::with_capacity(f.answer.len() + 384);
    out.push_str("---\n");
    field(&mut out, "type", "faq");
    field(&mut out, "id", &yaml::quote(&f.id));
    field(&mut out, "question", &yaml::quote(&f.question));
    field(&mut out, "status", f.status.as_str());
    field(&mut out, "sort_order", &f.sort_order.to_string());
    field(&mut out, "published_at", &opt(f.published_at.as_ref()));
    field(&mut out, "created_at", &yaml::quote(&f.created_at));
    field(&mut out, "updated_at", &yaml::quote(&f.updated_at));
    out.push_str("---\n\n");
    out.push_str(&f.answer);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tome_core::model::Status;

    fn article(body: &str, title: &str) -> Article {
        Article {
            id: "kba_aaaaaaaaaaaa".into(),
            kb_id: "kb_bbbbbbbbbbbb".into(),
            category_id: "kbc_cccccccccccc".into(),
            section_id: None,
            title: title.into(),
            body: body.into(),
            excerpt: None,
            status: Status::Archived,
            tags: vec!["a\"b".into(), "日本".into()],
            related_articles: vec![],
            sort_order: -3,
            published_at: None,
            created_at: "2024-01-02 03:04:05".into(),
            updated_at: "2024-01-02 03:04:05".into(),
        }
    }

    #[test]
    fn bodies_round_trip_byte_for_byte() {
        let bodies = [
            "",
            "plain",
            "\n\nstarts with blank lines",
            "---\ntitle: not front matter\n---\n",
            "\r\nCRLF\r\nbody\r\n",
            "ends without newline ---",
            "...\n",
        ];
        for body in bodies {
            let text = render_article(&article(body, "T: --- #x"), &[]);
            let parsed = parse(&text).unwrap();
            assert_eq!(parsed.body, body, "{text:?}");
            let title = parsed.fields.iter().find(|(k, _)| k == "title").unwrap();
            assert_eq!(title.1.text().unwrap().unwrap(), "T: --- #x");
            assert_eq!(parsed.body_line, 15);
        }
    }

    #[test]
    fn hand_written_files() {
        let p = parse("---\ntitle: Hi\n---\nBody\n").unwrap();
        assert_eq!(p.body, "Body\n");
        assert_eq!(p.body_line, 4);
        let p = parse("\u{feff}---\r\ntitle: Hi\r\n---\r\n\r\nBody").unwrap();
        assert_eq!(p.body, "Body");
        let p = parse("# Just markdown\n\ntext").unwrap();
        assert!(p.fields.is_empty());
        assert_eq!(p.body, "# Just markdown\n\ntext");
        assert_eq!(first_heading(p.body).as_deref(), Some("Just markdown"));
        let p = parse("---\n---\n").unwrap();
        assert!(p.fields.is_empty() && p.body.is_empty());
        assert_eq!(parse("---\ntitle: x\n").unwrap_err().line, 1);
        assert_eq!(
            parse("---\ntitle: x\nbad: [\n---\nbody").unwrap_err().line,
            4
        );
    }
}
