//! The allow-list every rendered article passes through, whatever its author wrote, and the
//! tokenizer that reads the raw HTML an author puts in Markdown.
//!
//! Nothing the author wrote reaches the page as markup unless it is rebuilt here: a tag is
//! written out again from its allow-listed name and allow-listed attributes (double-quoted and
//! escaped), text is escaped, and anything else — comments, declarations, unknown or dangerous
//! tags, a `<` that does not start a well-formed tag — is dropped or escaped. So however a browser
//! would have read the input, it reads the output as the allowed elements and text only.

/// Elements an article may contain: ammonia's default allow-list without page landmarks and
/// image maps (`nav`, `header`, `footer`, `area`, `map`), plus read-only checkboxes and
/// `section` (footnotes). None of them switches the HTML tokenizer out of its data state.
const TAGS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "blockquote",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hgroup",
    "hr",
    "i",
    "img",
    "input",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "rp",
    "rt",
    "rtc",
    "ruby",
    "s",
    "samp",
    "section",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "time",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
];

/// Elements with no end tag.
pub(crate) fn is_void(tag: &str) -> bool {
    matches!(tag, "br" | "col" | "hr" | "img" | "input" | "wbr")
}

/// Phrasing elements that, left open, would spread over whatever follows; an HTML block closes
/// them at its end.
pub(crate) fn is_inline(tag: &str) -> bool {
    matches!(
        tag,
        "a" | "abbr"
            | "acronym"
            | "b"
            | "bdi"
            | "bdo"
            | "cite"
            | "code"
            | "data"
            | "del"
            | "dfn"
            | "em"
            | "i"
            | "ins"
            | "kbd"
            | "mark"
            | "q"
            | "rp"
            | "rt"
            | "rtc"
            | "ruby"
            | "s"
            | "samp"
            | "small"
            | "span"
            | "strike"
            | "strong"
            | "sub"
            | "sup"
            | "time"
            | "tt"
            | "u"
            | "var"
    )
}

/// Elements whose content is dropped along with them, not just their tags.
pub(crate) fn drops_content(tag: &str) -> Option<&'static str> {
    ["script", "style"].into_iter().find(|t| *t == tag)
}

/// The allow-listed spelling of a tag name (so open elements can be kept as `&'static str`).
pub(crate) fn allowed_tag(name: &str) -> Option<&'static str> {
    TAGS.iter().copied().find(|t| *t == name)
}

/// Whether `attr` may appear on `tag` at all (its value is checked by [`filter_value`]).
pub(crate) fn attribute_allowed(tag: &str, attr: &str) -> bool {
    if matches!(attr, "lang" | "title" | "id" | "class") {
        return true;
    }
    let allowed: &[&str] = match tag {
        "a" => &["href", "hreflang", "aria-label"],
        "bdo" => &["dir"],
        "blockquote" | "q" => &["cite"],
        "col" | "colgroup" => &["align", "char", "charoff", "span"],
        "del" | "ins" => &["cite", "datetime"],
        "hr" => &["align", "size", "width"],
        "img" => &["align", "alt", "height", "src", "width", "loading"],
        "input" => &["type", "checked", "disabled"],
        "ol" => &["start"],
        "pre" => &["data-lang", "data-title"],
        "section" => &["aria-label"],
        "table" => &["align", "char", "charoff", "summary"],
        "tbody" | "thead" | "tr" => &["align", "char", "charoff"],
        "td" => &["align", "char", "charoff", "colspan", "headers", "rowspan"],
        "th" => &[
            "align", "char", "charoff", "colspan", "headers", "rowspan", "scope",
        ],
        "ul" => &["type"],
        _ => &[],
    };
    allowed.contains(&attr)
}

/// Classes the renderer itself emits; any other class an author writes is dropped.
const CLASSES: &[&str] = &[
    "anchor",
    "code",
    "footnotes",
    "footnote",
    "fnref",
    "fn-back",
    "align-left",
    "align-center",
    "align-right",
    "markdown-alert-note",
    "markdown-alert-tip",
    "markdown-alert-important",
    "markdown-alert-warning",
    "markdown-alert-caution",
    "table-wrap",
];

pub(crate) fn class_allowed(class: &str) -> bool {
    CLASSES.contains(&class)
        || class.strip_prefix("hl-").is_some_and(|rest| {
            rest.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        || class.strip_prefix("language-").is_some_and(|rest| {
            rest.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'+')
        })
}

/// What may stay of an allowed attribute's value as the author wrote it (character references
/// undecoded); `None` drops the attribute.
pub(crate) fn filter_value<'v>(tag: &str, attr: &str, value: &'v str) -> Option<Value<'v>> {
    match (tag, attr) {
        (_, "class") => {
            let mut kept = value.split_ascii_whitespace().filter(|c| class_allowed(c));
            let first = kept.next()?;
            let mut joined = first.to_string();
            for class in kept {
                joined.push(' ');
                joined.push_str(class);
            }
            Some(Value::Owned(joined))
        }
        // Ids become fragment targets; anything outside this alphabet is suspicious.
        (_, "id") => value
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
            .then_some(Value::Raw(value)),
        // Only the read-only checkboxes of task lists.
        ("input", "type") => (value == "checkbox").then_some(Value::Raw(value)),
        ("pre", "data-lang") => value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'+' || b == b'#')
            .then_some(Value::Raw(value)),
        (_, "href" | "src" | "cite") => url_allowed(value, true).then_some(Value::Raw(value)),
        _ => Some(Value::Raw(value)),
    }
}

/// An attribute value to write: the author's text, or one rebuilt here.
pub(crate) enum Value<'v> {
    Raw(&'v str),
    Owned(String),
}

impl Value<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Value::Raw(v) => v,
            Value::Owned(v) => v,
        }
    }
}

/// Whether a link or image URL may be kept: a relative URL, or one whose scheme is http, https,
/// mailto or tel.
///
/// The scheme is read the way a browser's URL parser reads it: leading spaces and control
/// characters skipped, tabs and newlines ignored anywhere. `encoded` says the value is still
/// HTML-encoded (an attribute as written in raw HTML): a character reference before the end of
/// the scheme (`&#106;avascript:`, `javascript&colon;`) could spell anything once decoded, so
/// such a URL is refused outright.
pub(crate) fn url_allowed(url: &str, encoded: bool) -> bool {
    // The longest allowed scheme is six letters; anything longer before a `:` is refused.
    let mut scheme = [0u8; 7];
    let mut len = 0;
    for b in url.trim_start_matches(|c: char| c <= ' ').bytes() {
        match b {
            b'\t' | b'\n' | b'\r' => {}
            b':' => return matches!(&scheme[..len], b"http" | b"https" | b"mailto" | b"tel"),
            b'/' | b'?' | b'#' => return true,
            b'&' if encoded => return false,
            _ if len < scheme.len() => {
                scheme[len] = b.to_ascii_lowercase();
                len += 1;
            }
            // Too long for an allowed scheme: fine only if it turns out to be a path.
            _ => {}
        }
    }
    true
}

/// One piece of raw HTML, as [`next`] reads it.
pub(crate) enum Token<'s> {
    /// Text to escape and keep.
    Text(&'s str),
    /// `<name attrs…>`; `attrs` is the source between the name and the closing `>`.
    Start {
        name: String,
        attrs: &'s str,
    },
    End {
        name: String,
    },
    /// A comment, declaration or processing instruction: dropped.
    Skip,
}

/// Reads the token at `at` in `html`; returns it and where the next one starts.
///
/// Tags follow the HTML tokenizer's rules for names, attributes and quoting. A `<` that does not
/// start a complete tag within `html` is text.
pub(crate) fn next(html: &str, at: usize) -> (Token<'_>, usize) {
    let bytes = html.as_bytes();
    if bytes[at] != b'<' {
        let end = memchr(b'<', &bytes[at + 1..]).map_or(bytes.len(), |i| at + 1 + i);
        return (Token::Text(&html[at..end]), end);
    }
    let text = || (Token::Text(&html[at..at + 1]), at + 1);
    match bytes.get(at + 1) {
        Some(b'!') => {
            let end = if html[at..].starts_with("<!--") {
                let body = at + 4;
                if html[body..].starts_with('>') {
                    body + 1
                } else if html[body..].starts_with("->") {
                    body + 2
                } else {
                    let close = html[body..].find("-->").map(|i| body + i + 3);
                    let bang = html[body..].find("--!>").map(|i| body + i + 4);
                    match (close, bang) {
                        (Some(a), Some(b)) => a.min(b),
                        (a, b) => a.or(b).unwrap_or(bytes.len()),
                    }
                }
            } else {
                to_gt(bytes, at + 2)
            };
            (Token::Skip, end)
        }
        Some(b'?') => (Token::Skip, to_gt(bytes, at + 2)),
        Some(b'/') => match bytes.get(at + 2) {
            Some(b'>') => (Token::Skip, at + 3),
            Some(c) if c.is_ascii_alphabetic() => match tag(html, at + 2) {
                Some((name, _, end)) => (Token::End { name }, end),
                None => text(),
            },
            Some(_) => (Token::Skip, to_gt(bytes, at + 2)),
            None => text(),
        },
        Some(c) if c.is_ascii_alphabetic() => match tag(html, at + 1) {
            Some((name, attrs, end)) => (Token::Start { name, attrs }, end),
            None => text(),
        },
        _ => text(),
    }
}

/// Just past the next `>` from `from`, or the end.
fn to_gt(bytes: &[u8], from: usize) -> usize {
    memchr(b'>', &bytes[from.min(bytes.len())..]).map_or(bytes.len(), |i| from + i + 1)
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// A tag's lower-cased name, the source of its attributes and the index just past its `>`;
/// `None` if the input ends inside the tag.
fn tag(html: &str, from: usize) -> Option<(String, &str, usize)> {
    let bytes = html.as_bytes();
    let mut i = from;
    while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'/' && bytes[i] != b'>' {
        i += 1;
    }
    let name = html[from..i].to_ascii_lowercase();
    let attrs_start = i;
    // Attribute values may hold `>` inside quotes.
    while i < bytes.len() {
        match bytes[i] {
            b'>' => return Some((name, &html[attrs_start..i], i + 1)),
            b'=' => {
                i += 1;
                while i < bytes.len() && is_space(bytes[i]) {
                    i += 1;
                }
                if let Some(&q @ (b'"' | b'\'')) = bytes.get(i) {
                    i = i + 1 + memchr(q, &bytes[i + 1..])?;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// The attributes in the source of a tag, as `(lower-cased name, raw value)`; a name without a
/// value has an empty one. Later duplicates of a name are skipped, as browsers skip them.
pub(crate) fn attributes(src: &str) -> Vec<(String, &str)> {
    let bytes = src.as_bytes();
    let mut out: Vec<(String, &str)> = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && (is_space(bytes[i]) || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return out;
        }
        let start = i;
        // A name may begin with `=`; it ends at space, `/`, `>` or `=`.
        i += 1;
        while i < bytes.len() && !is_space(bytes[i]) && !matches!(bytes[i], b'/' | b'=') {
            i += 1;
        }
        let name = src[start..i].to_ascii_lowercase();
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        let mut value = "";
        if bytes.get(i) == Some(&b'=') {
            i += 1;
            while i < bytes.len() && is_space(bytes[i]) {
                i += 1;
            }
            match bytes.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let end = memchr(q, &bytes[i + 1..]).map_or(bytes.len(), |e| i + 1 + e);
                    value = &src[i + 1..end];
                    i = end + 1;
                }
                Some(_) => {
                    let start = i;
                    while i < bytes.len() && !is_space(bytes[i]) {
                        i += 1;
                    }
                    value = &src[start..i];
                }
                None => {}
            }
        }
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, value));
        }
    }
}

/// Where the end tag `</tag` (followed by space, `/` or `>`, any letter case) begins in `html`
/// from `from`.
pub(crate) fn find_end_tag(html: &str, from: usize, tag: &str) -> Option<usize> {
    let bytes = html.as_bytes();
    let mut i = from;
    while let Some(at) = memchr(b'<', &bytes[i..]).map(|p| i + p) {
        let name = at + 2;
        if bytes.get(at + 1) == Some(&b'/')
            && bytes
                .get(name..name + tag.len())
                .is_some_and(|n| n.eq_ignore_ascii_case(tag.as_bytes()))
            && bytes
                .get(name + tag.len())
                .is_none_or(|&b| is_space(b) || b == b'/' || b == b'>')
        {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for ok in [
            "https://example.com",
            "http://x",
            "HTTPS://X",
            "mailto:a@b.c",
            "tel:+1",
            "/hc/x",
            "#fn-1",
            "a/b:c",
            "?q=a:b",
            "page",
            "averyveryverylongrelativepath",
            "",
        ] {
            assert!(url_allowed(ok, true), "{ok:?}");
        }
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:x",
            " javascript:x",
            "\x01javascript:x",
            "java\nscript:x",
            "java\tscript:x",
            "data:text/html,x",
            "vbscript:x",
            "&#106;avascript:x",
            "javascript&colon;x",
            "averyveryverylongscheme:x",
            "ftp://x",
        ] {
            assert!(!url_allowed(bad, true), "{bad:?}");
        }
        // Decoded (Markdown) URLs may hold `&` freely.
        assert!(url_allowed("?a=1&b=2", false));
        assert!(url_allowed("https://x/?a=1&b=2", true));
    }

    #[test]
    fn tokens() {
        let html = "a<b class='x>y' c=d e>t</b ><!-- c --><? p ><!x>< b<";
        let mut at = 0;
        let mut seen = Vec::new();
        while at < html.len() {
            let (token, next) = next(html, at);
            seen.push(match token {
                Token::Text(t) => format!("T({t})"),
                Token::Start { name, attrs } => format!("S({name}|{attrs})"),
                Token::End { name } => format!("E({name})"),
                Token::Skip => "K".to_string(),
            });
            at = next;
        }
        assert_eq!(
            seen,
            [
                "T(a)",
                "S(b| class='x>y' c=d e)",
                "T(t)",
                "E(b)",
                "K",
                "K",
                "K",
                "T(<)",
                "T( b)",
                "T(<)"
            ]
        );
        assert_eq!(
            attributes(" class='x>y' C=d e =f =g h = \"i j\" c=dup k/"),
            [
                ("class".to_string(), "x>y"),
                ("c".to_string(), "d"),
                ("e".to_string(), "f"),
                ("=g".to_string(), ""),
                ("h".to_string(), "i j"),
                ("k".to_string(), ""),
            ]
        );
        assert_eq!(find_end_tag("x</scripty></SCRIPT >", 0, "script"), Some(11));
        assert_eq!(find_end_tag("x</script", 0, "script"), Some(1));
        assert_eq!(find_end_tag("x</scrip>", 0, "script"), None);
    }
}
