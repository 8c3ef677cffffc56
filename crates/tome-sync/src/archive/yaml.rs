//! Front matter as YAML: a reader that keeps line numbers, and the writer the exporter uses.
//!
//! Reading goes through `saphyr-parser` (a YAML 1.2 event parser) into a small tree. Values are
//! typed by the field that reads them, not by YAML's guessing: `title: 2024` is the text
//! `"2024"`, `sort_order: 2024` the number. Writing emits every text as a double-quoted scalar
//! that is both a JSON string and a YAML scalar, so exported files are valid YAML and read back
//! byte-for-byte.

use std::fmt::Write as _;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// A YAML value with its line (1-based, in the file it came from): for a mapping's value the
/// line of its key, where a person looks for it (a block list starts on the next line).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar; `plain` is false for quoted and block scalars, which are always text.
    Scalar {
        text: String,
        plain: bool,
    },
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// A syntax error: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

/// Parses `src` (front matter without its `---` lines) as one mapping of keys to values.
///
/// `first_line` is the file line `src` starts on, so errors and nodes carry file lines. Empty
/// front matter is an empty mapping.
pub fn parse_mapping(src: &str, first_line: usize) -> Result<Vec<(String, Node)>, YamlError> {
    let offset = first_line.saturating_sub(1);
    let mut events = Vec::new();
    for next in Parser::new_from_str(src) {
        match next {
            Ok((event, span)) => events.push((event, span.start.line() + offset)),
            Err(e) => {
                return Err(YamlError {
                    line: e.marker().line() + offset,
                    message: e.info().to_string(),
                });
            }
        }
    }
    let mut reader = Reader {
        events,
        pos: 0,
        last_line: first_line,
    };
    reader.document()
}

struct Reader<'a> {
    events: Vec<(Event<'a>, usize)>,
    pos: usize,
    last_line: usize,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Result<(Event<'a>, usize), YamlError> {
        let (event, line) = self.events.get(self.pos).cloned().ok_or(YamlError {
            line: self.last_line,
            message: "unexpected end of front matter".into(),
        })?;
        self.pos += 1;
        self.last_line = line;
        Ok((event, line))
    }

    fn document(&mut self) -> Result<Vec<(String, Node)>, YamlError> {
        let mut root = None;
        loop {
            let (event, line) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::DocumentStart(_) if root.is_none() => {
                    root = Some(self.node()?);
                }
                Event::DocumentStart(_) => {
                    return Err(YamlError {
                        line,
                        message: "front matter must be a single YAML document".into(),
                    });
                }
                Event::StreamEnd => break,
                _ => {
                    return Err(YamlError {
                        line,
                        message: "unexpected content in front matter".into(),
                    });
                }
            }
        }
        match root {
            None => Ok(Vec::new()),
            Some(Node {
                value: Value::Map(entries),
                ..
            }) => Ok(entries),
            Some(Node {
                value: Value::Scalar { text, plain: true },
                ..
            }) if is_null(&text) => Ok(Vec::new()),
            Some(node) => Err(YamlError {
                line: node.line,
                message: "front matter must be a mapping of `key: value` lines".into(),
            }),
        }
    }

    fn node(&mut self) -> Result<Node, YamlError> {
        let (event, line) = self.next()?;
        let value = match event {
            Event::Scalar(text, style, _, _) => Value::Scalar {
                text: text.into_owned(),
                plain: style == ScalarStyle::Plain,
            },
            Event::SequenceStart(..) => {
                let mut items = Vec::new();
                while !matches!(self.peek(), Some(Event::SequenceEnd)) {
                    items.push(self.node()?);
                }
                self.next()?;
                Value::List(items)
            }
            Event::MappingStart(..) => {
                let mut entries: Vec<(String, Node)> = Vec::new();
                while !matches!(self.peek(), Some(Event::MappingEnd)) {
                    let key = self.node()?;
                    let Value::Scalar { text: key_text, .. } = key.value else {
                        return Err(YamlError {
                            line: key.line,
                            message: "keys must be plain names, not lists or mappings".into(),
                        });
                    };
                    if entries.iter().any(|(k, _)| *k == key_text) {
                        return Err(YamlError {
                            line: key.line,
                            message: format!("duplicate key `{key_text}`"),
                        });
                    }
                    let mut value = self.node()?;
                    value.line = key.line;
                    entries.push((key_text, value));
                }
                self.next()?;
                Value::Map(entries)
            }
            Event::Alias(_) => {
                return Err(YamlError {
                    line,
                    message: "aliases (`*name`) are not supported in front matter".into(),
                });
            }
            _ => {
                return Err(YamlError {
                    line,
                    message: "unexpected content in front matter".into(),
                });
            }
        };
        Ok(Node { value, line })
    }

    fn peek(&self) -> Option<&Event<'a>> {
        self.events.get(self.pos).map(|(e, _)| e)
    }
}

/// Plain scalars that YAML reads as null.
fn is_null(plain: &str) -> bool {
    matches!(plain, "" | "~" | "null" | "Null" | "NULL")
}

impl Node {
    /// A text value; plain `null`/`~`/nothing is `None`.
    pub fn text(&self) -> Result<Option<String>, String> {
        match &self.value {
            Value::Scalar { text, plain: true } if is_null(text) => Ok(None),
            Value::Scalar { text, .. } => Ok(Some(text.clone())),
            Value::List(_) => Err("must be a text, not a list".into()),
            Value::Map(_) => Err("must be a text, not a mapping".into()),
        }
    }

    /// A whole number written without quotes; plain null is `None`.
    pub fn integer(&self) -> Result<Option<i64>, String> {
        match &self.value {
            Value::Scalar { text, plain: true } if is_null(text) => Ok(None),
            Value::Scalar { text, plain: true } => text
                .strip_prefix('+')
                .unwrap_or(text)
                .parse::<i64>()
                .map(Some)
                .map_err(|_| format!("must be a whole number (got `{text}`)")),
            _ => Err("must be a whole number without quotes".into()),
        }
    }

    /// `true` or `false` written without quotes; plain null is `None`.
    pub fn boolean(&self) -> Result<Option<bool>, String> {
        match &self.value {
            Value::Scalar { text, plain: true } if is_null(text) => Ok(None),
            Value::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Ok(Some(true)),
                "false" | "False" | "FALSE" => Ok(Some(false)),
                _ => Err(format!("must be true or false (got `{text}`)")),
            },
            _ => Err("must be true or false without quotes".into()),
        }
    }

    /// A list of texts (`[a, b]` or `- a` lines). A single text is a list of one; null is
    /// `None`. Errors name the element (`[2]: ...`).
    pub fn text_list(&self) -> Result<Option<Vec<String>>, (Option<usize>, String)> {
        match &self.value {
            Value::List(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item.text() {
                    Ok(Some(t)) => Ok(t),
                    Ok(None) => Err((Some(i), "must not be empty".to_string())),
                    Err(e) => Err((Some(i), e)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Value::Map(_) => Err((None, "must be a list like [a, b], not a mapping".into())),
            Value::Scalar { .. } => self
                .text()
                .map(|t| t.map(|t| vec![t]))
                .map_err(|e| (None, e)),
        }
    }
}

/// A text as a double-quoted scalar that is valid JSON and valid YAML and reads back unchanged.
///
/// Beyond JSON's required escapes this escapes everything YAML does not allow raw in a document
/// or that some parsers treat as a line break (C1 controls, U+2028/9, BOM, non-characters).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                // `write!` to a String cannot fail.
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_escape(c: char) -> bool {
    let n = c as u32;
    n < 0x20
        || (0x7f..=0x9f).contains(&n)
        || matches!(n, 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff)
}

/// A list of texts as a flow sequence of quoted scalars: `["a", "b"]`.
pub fn quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn get<'a>(m: &'a [(String, Node)], k: &str) -> &'a Node {
        &m.iter().find(|(key, _)| key == k).unwrap().1
    }

    #[test]
    fn hand_written_scalars_and_lists() {
        let src = "title: Reset your password\nquoted: 'it''s'\ndq: \"a\\tb\"\n\
                   tags: [a, \"b c\"]\nblock:\n  - x\n  - y\nn: 42\nyear: 2024\nnothing:\n\
                   folded: >\n  one\n  two\n";
        let m = parse_mapping(src, 2).unwrap();
        assert_eq!(
            get(&m, "title").text().unwrap().unwrap(),
            "Reset your password"
        );
        assert_eq!(get(&m, "title").line, 2);
        assert_eq!(get(&m, "quoted").text().unwrap().unwrap(), "it's");
        assert_eq!(get(&m, "dq").text().unwrap().unwrap(), "a\tb");
        assert_eq!(get(&m, "tags").text_list().unwrap().unwrap(), ["a", "b c"]);
        assert_eq!(get(&m, "block").text_list().unwrap().unwrap(), ["x", "y"]);
        assert_eq!(get(&m, "n").integer().unwrap(), Some(42));
        assert_eq!(get(&m, "year").text().unwrap().unwrap(), "2024");
        assert_eq!(get(&m, "nothing").text().unwrap(), None);
        assert_eq!(get(&m, "folded").text().unwrap().unwrap(), "one two\n");
        assert_eq!(get(&m, "block").line, 6);
        assert_eq!(get(&m, "folded").line, 12);
    }

    #[test]
    fn errors_carry_file_lines() {
        let e = parse_mapping("a: 1\nb: [unclosed\n", 2).unwrap_err();
        assert!(e.line >= 3, "{e:?}");
        let e = parse_mapping("a: 1\na: 2\n", 2).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("duplicate"));
        assert!(parse_mapping("- a\n- b\n", 2).is_err());
        assert!(parse_mapping("a: &x 1\nb: *x\n", 2).is_err());
        assert_eq!(parse_mapping("", 2).unwrap(), vec![]);
        let m = parse_mapping("n: \"7\"\n", 2).unwrap();
        assert!(get(&m, "n").integer().is_err());
    }

    #[test]
    fn quoted_texts_read_back_unchanged() {
        let tricky = [
            "",
            "plain",
            "with \"quotes\" and \\ backslash",
            "line\nbreaks\r\nand\ttabs",
            "unicode: héllo — 日本語 🎉",
            "controls \u{0} \u{1f} \u{7f} \u{85} \u{9f}",
            "separators \u{2028} \u{2029} bom \u{feff} \u{fffe}",
            "---",
            "key: value # not a comment",
            "null",
            "  leading and trailing  ",
            "- looks like a list",
        ];
        for s in tricky {
            let src = format!("v: {}\nl: {}\n", quote(s), quote_list(&[s.to_string()]));
            let m = parse_mapping(&src, 1).unwrap();
            assert_eq!(get(&m, "v").text().unwrap().as_deref(), Some(s), "{src}");
            assert_eq!(get(&m, "l").text_list().unwrap().unwrap(), [s]);
            let json: String = serde_json::from_str(&quote(s)).unwrap();
            assert_eq!(json, s);
        }
    }
}
