//! MDX → Markdown that keeps its meaning.
//!
//! A small scanner, not a JavaScript parser: it knows fenced code (never touched), inline code
//! spans, JSX tags (multi-line, attributes in single or double quotes or `{…}` expressions,
//! self-closing), `{…}` expressions and comments, and top-level `import`/`export` statements.
//! Each component is turned into the Markdown that says the same thing:
//!
//! | MDX | Markdown |
//! |---|---|
//! | `<Note>`, `<Info>`, `<Tip>`, `<Check>`, `<Warning>`, `<Danger>`, `<Callout>` | GitHub alerts (`> [!NOTE]`, …) |
//! | `<Card title href>`, `<Tile>`, `<CardGroup>`, `<Columns>` | a bold link (or title) and the card's text |
//! | `<Steps>`/`<Step title>` | a numbered list, one item per step |
//! | `<Tabs>`/`<Tab title>`, `<View title>` | a bold label per tab, then its content |
//! | `<CodeGroup>`, `<RequestExample>`, `<ResponseExample>` | a bold label (the code block's title) before each code block |
//! | `<Accordion title>`, `<Expandable title>`, `<AccordionGroup>` | a bold label, then the content |
//! | `<Frame caption hint>` | the hint, its content, then the caption in italics |
//! | `<ParamField>`/`<ResponseField>` | a definition list: name, type, required, default; description |
//! | `<Update label description tags>` | a `##` heading, the description and tags in italics; headings inside move one level down |
//! | `<Tree>`, `<Color>`, `<Badge>`, `<Icon>`, `<Visibility>`, … | lists, text, nothing |
//! | `<Tooltip tip>` | `<abbr title="tip">` around the text |
//! | `import X from '/snippets/x.mdx'` then `<X a="b" />` | the snippet, inlined (props substituted) |
//!
//! Unknown components are unwrapped to their content (plus a `title`/`href`/`description` when
//! they have them) and named in the logs; `{…}` expressions that are not comments, strings or
//! snippet props are dropped and counted; images whose files live in the repository are dropped
//! and counted (Tome serves no repository files).

use std::collections::{BTreeMap, HashMap};

use crate::files::Files;

/// What converting one page noticed, for the logs.
#[derive(Debug, Default)]
pub struct Notes {
    /// Unknown components unwrapped, with how often.
    pub unknown: BTreeMap<String, usize>,
    pub dropped_expressions: usize,
    pub dropped_media: usize,
    /// Snippets that could not be inlined and limits reached, one sentence each.
    pub warnings: Vec<String>,
    pub inlined_snippets: usize,
    /// Accordions titled with a question: (question, converted answer), in page order.
    pub questions: Vec<(String, String)>,
}

/// Converts one page's body (front matter already removed). `path` is the page's path, for
/// relative snippet imports; `mdx` is false for `.md` pages, where `{` is plain text.
pub fn convert(files: &Files, path: &str, body: &str, mdx: bool) -> (String, Notes) {
    let mut c = Converter {
        files,
        notes: Notes::default(),
        stack: vec![path.to_string()],
        steps: Vec::new(),
        mdx,
        depth: 0,
        unclosed: 0,
        inlined_bytes: 0,
    };
    let scope = Scope {
        dir: parent(path).to_string(),
        ..Scope::default()
    };
    let out = c.block(body, &scope, true);
    (tidy(&out), c.notes)
}

#[derive(Debug, Default, Clone)]
struct Scope {
    /// Folder of the file being converted (for `./` imports).
    dir: String,
    /// Component name → snippet file, from `import X from "…"`.
    imports: HashMap<String, String>,
    /// A snippet's props (`<X word="bananas" />` → `{word}`).
    props: HashMap<String, String>,
}

struct Converter<'a> {
    files: &'a Files,
    notes: Notes,
    /// Files being converted, innermost last (the snippet cycle guard).
    stack: Vec<String>,
    /// Step counters of the `<Steps>` being rendered.
    steps: Vec<usize>,
    mdx: bool,
    /// How deep components nest at this point.
    depth: usize,
    /// Components whose closing tag was not found (each such search reads to the page's end).
    unclosed: usize,
    /// Bytes of snippets inlined so far.
    inlined_bytes: usize,
}

/// Deepest component nesting converted; deeper content is kept as written.
const MAX_DEPTH: usize = 64;
/// Unclosed components after which `<` is plain text for the rest of the page.
const MAX_UNCLOSED: usize = 100;
/// Most snippet text inlined into one page (a snippet may include others many times).
const MAX_INLINED_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
enum AttrValue {
    Str(String),
    Expr(String),
    Flag,
}

#[derive(Debug, Clone)]
struct Tag {
    name: String,
    attrs: Vec<(String, AttrValue)>,
    closing: bool,
    self_closing: bool,
    /// Byte just after the tag.
    end: usize,
}

impl Tag {
    fn attr(&self, key: &str) -> Option<String> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| match v {
                AttrValue::Str(s) => Some(s.clone()),
                AttrValue::Expr(e) => literal(e),
                AttrValue::Flag => None,
            })
    }

    fn flag(&self, key: &str) -> bool {
        self.attrs.iter().any(|(k, v)| {
            k == key
                && match v {
                    AttrValue::Flag => true,
                    AttrValue::Str(s) => s == "true",
                    AttrValue::Expr(e) => e.trim() == "true",
                }
        })
    }

    fn is_component(&self) -> bool {
        self.name.starts_with(|c: char| c.is_ascii_uppercase())
    }
}

/// HTML elements recognised as tags (anything else after `<` is text).
const HTML: &[&str] = &[
    "a",
    "abbr",
    "article",
    "aside",
    "audio",
    "b",
    "blockquote",
    "br",
    "button",
    "center",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "i",
    "iframe",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "li",
    "main",
    "mark",
    "nav",
    "ol",
    "p",
    "picture",
    "pre",
    "s",
    "script",
    "section",
    "small",
    "source",
    "span",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "svg",
    "table",
    "tbody",
    "td",
    "template",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
    "video",
];

/// HTML kept as HTML (the renderer sanitises it); children converted.
const HTML_KEPT: &[&str] = &[
    "abbr",
    "b",
    "blockquote",
    "code",
    "dd",
    "del",
    "details",
    "dl",
    "dt",
    "em",
    "i",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "pre",
    "s",
    "small",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
];

/// HTML dropped with everything in it.
const HTML_DROPPED: &[&str] = &["script", "style", "template", "input", "svg", "picture"];

/// Components rendered inline (inside a line of text) even when they start a line.
const INLINE: &[&str] = &[
    "Badge", "Icon", "Tooltip", "a", "abbr", "b", "br", "code", "del", "em", "i", "img", "ins",
    "kbd", "mark", "s", "small", "span", "strong", "sub", "sup", "u",
];

/// Components rendered as blocks wherever they are.
const BLOCK: &[&str] = &[
    "Accordion",
    "AccordionGroup",
    "Card",
    "CardGroup",
    "CodeGroup",
    "Columns",
    "Expandable",
    "Frame",
    "ParamField",
    "RequestExample",
    "ResponseExample",
    "ResponseField",
    "Step",
    "Steps",
    "Tab",
    "Tabs",
    "Tile",
    "Update",
];

fn alert_kind(name: &str) -> Option<&'static str> {
    Some(match name {
        "Note" | "Info" | "Callout" => "NOTE",
        "Tip" | "Check" => "TIP",
        "Warning" => "WARNING",
        "Danger" => "CAUTION",
        _ => return None,
    })
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The value of a JS literal expression: `"a"`, `'a'`, `` `a` `` (no `${}`), numbers, `true`.
fn literal(expr: &str) -> Option<String> {
    let e = expr.trim();
    for q in ['"', '\'', '`'] {
        if e.len() >= 2 && e.starts_with(q) && e.ends_with(q) {
            let inner = &e[1..e.len() - 1];
            if q == '`' && inner.contains("${") {
                return None;
            }
            if q == '"'
                && let Ok(s) = serde_json::from_str::<String>(e)
            {
                return Some(s);
            }
            return Some(inner.replace(&format!("\\{q}"), &q.to_string()));
        }
    }
    (e.parse::<f64>().is_ok()).then(|| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Scanning helpers.

/// `(fence char, run length)` when `line` (already without its indentation) opens a fence.
fn fence_open(trimmed: &str) -> Option<(u8, usize)> {
    for c in [b'`', b'~'] {
        let n = trimmed.bytes().take_while(|b| *b == c).count();
        if n >= 3 {
            if c == b'`' && trimmed[n..].contains('`') {
                return None;
            }
            return Some((c, n));
        }
    }
    None
}

fn line_end(s: &str, i: usize) -> usize {
    s[i..].find('\n').map_or(s.len(), |e| i + e)
}

fn next_line(s: &str, i: usize) -> usize {
    s[i..].find('\n').map_or(s.len(), |e| i + e + 1)
}

/// The byte after the fenced block whose opening line starts at `i`.
fn fence_end(s: &str, i: usize, c: u8, n: usize) -> usize {
    let mut j = next_line(s, i);
    while j < s.len() {
        let le = line_end(s, j);
        let t = s[j..le].trim();
        if t.bytes().take_while(|b| *b == c).count() >= n && t.bytes().all(|b| b == c) {
            return next_line(s, j);
        }
        j = next_line(s, j);
    }
    s.len()
}

/// The byte after a balanced `{…}` starting at `i` (JS strings, template literals and comments
/// respected), or `None` when it never closes.
fn expr_end(s: &str, i: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            q @ (b'"' | b'\'' | b'`') => {
                j += 1;
                while j < b.len() && b[j] != q {
                    if b[j] == b'\\' {
                        j += 1;
                    } else if q != b'`' && b[j] == b'\n' {
                        break;
                    }
                    j += 1;
                }
            }
            b'/' if b.get(j + 1) == Some(&b'*') => {
                j = s[j + 2..].find("*/").map_or(b.len(), |e| j + 2 + e + 1);
            }
            _ => {}
        }
        j += 1;
    }
    None
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':')
}

/// Parses the tag starting with `<` at `i`. `None` when it is not a tag (`a < b`, `<your-id>`).
fn parse_tag(s: &str, i: usize) -> Option<Tag> {
    let b = s.as_bytes();
    let mut j = i + 1;
    let closing = b.get(j) == Some(&b'/');
    if closing {
        j += 1;
    }
    let start = j;
    if !b.get(j)?.is_ascii_alphabetic() {
        // `<>` fragments.
        if b.get(j) == Some(&b'>') {
            return Some(Tag {
                name: String::new(),
                attrs: Vec::new(),
                closing,
                self_closing: false,
                end: j + 1,
            });
        }
        return None;
    }
    while j < b.len() && is_name_char(b[j]) {
        j += 1;
    }
    let name = &s[start..j];
    let component = name.starts_with(|c: char| c.is_ascii_uppercase());
    if !component && !HTML.contains(&name.to_ascii_lowercase().as_str()) {
        return None;
    }
    let mut attrs = Vec::new();
    loop {
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= b.len() || j - i > 20_000 {
            return None;
        }
        match b[j] {
            b'>' => {
                return Some(Tag {
                    name: name.to_string(),
                    attrs,
                    closing,
                    self_closing: false,
                    end: j + 1,
                });
            }
            b'/' if b.get(j + 1) == Some(&b'>') => {
                return Some(Tag {
                    name: name.to_string(),
                    attrs,
                    closing,
                    self_closing: true,
                    end: j + 2,
                });
            }
            b'{' => {
                // `{...props}`
                j = expr_end(s, j)?;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'@' => {
                let k0 = j;
                while j < b.len() && (is_name_char(b[j]) || b[j] == b'@') {
                    j += 1;
                }
                let key = s[k0..j].to_string();
                let mut k = j;
                while k < b.len() && b[k].is_ascii_whitespace() {
                    k += 1;
                }
                if b.get(k) != Some(&b'=') {
                    attrs.push((key, AttrValue::Flag));
                    continue;
                }
                k += 1;
                while k < b.len() && b[k].is_ascii_whitespace() {
                    k += 1;
                }
                match *b.get(k)? {
                    q @ (b'"' | b'\'') => {
                        let close = s[k + 1..].find(q as char)? + k + 1;
                        attrs.push((key, AttrValue::Str(s[k + 1..close].to_string())));
                        j = close + 1;
                    }
                    b'{' => {
                        let end = expr_end(s, k)?;
                        attrs.push((key, AttrValue::Expr(s[k + 1..end - 1].to_string())));
                        j = end;
                    }
                    _ => {
                        let k0 = k;
                        while k < b.len() && !b[k].is_ascii_whitespace() && b[k] != b'>' {
                            k += 1;
                        }
                        attrs.push((key, AttrValue::Str(s[k0..k].to_string())));
                        j = k;
                    }
                }
            }
            _ => return None,
        }
    }
}

/// Skips code at `i`: a fenced block when `i` is at a line start, or an inline code span.
/// Returns the byte after it, or `None` when there is no code at `i`.
fn skip_code(s: &str, i: usize, at_line_start: bool) -> Option<usize> {
    let b = s.as_bytes();
    if at_line_start {
        let ws = s[i..]
            .bytes()
            .take_while(|c| *c == b' ' || *c == b'\t')
            .count();
        if let Some((c, n)) = fence_open(&s[i + ws..line_end(s, i)]) {
            return Some(fence_end(s, i, c, n));
        }
    }
    if b.get(i) == Some(&b'`') {
        let n = s[i..].bytes().take_while(|c| *c == b'`').count();
        return Some(match crate::links::find_backtick_run(s, i + n, n) {
            Some(e) => e + n,
            None => i + n,
        });
    }
    None
}

/// Finds the `</name>` closing the element whose opening tag ends at `from`:
/// `(start of the closing tag, byte after it)`.
fn find_close(s: &str, from: usize, name: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    let mut line_start = i == 0 || b[i - 1] == b'\n';
    while i < b.len() {
        if let Some(after) = skip_code(s, i, line_start) {
            line_start = after > 0 && b[after - 1] == b'\n';
            i = after;
            continue;
        }
        let c = b[i];
        if c == b'<'
            && let Some(tag) = parse_tag(s, i)
        {
            if tag.name == name {
                if tag.closing {
                    if depth == 0 {
                        return Some((i, tag.end));
                    }
                    depth -= 1;
                } else if !tag.self_closing {
                    depth += 1;
                }
            }
            line_start = false;
            i = tag.end;
            continue;
        }
        // Only a fence at the start of a line (after its indentation) counts.
        line_start = c == b'\n' || (line_start && (c == b' ' || c == b'\t'));
        i += 1;
    }
    None
}

/// The end of a top-level `import`/`export` statement starting at `i` (a line start).
fn esm_end(s: &str, i: usize) -> usize {
    let b = s.as_bytes();
    let mut depth = 0i32;
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth -= 1,
            q @ (b'"' | b'\'' | b'`') => {
                j += 1;
                while j < b.len() && b[j] != q {
                    if b[j] == b'\\' {
                        j += 1;
                    } else if q != b'`' && b[j] == b'\n' {
                        break;
                    }
                    j += 1;
                }
            }
            b'/' if b.get(j + 1) == Some(&b'/') => {
                j = line_end(s, j) - 1;
            }
            b'/' if b.get(j + 1) == Some(&b'*') => {
                j = s[j + 2..].find("*/").map_or(b.len(), |e| j + 2 + e + 1);
            }
            b'\n' if depth <= 0 => {
                let line = s[i..j].rsplit('\n').next().unwrap_or("").trim_end();
                let continues = [
                    "=", "=>", ",", "(", "[", "{", "+", "-", "*", "?", ":", "&&", "||",
                ]
                .iter()
                .any(|t| line.ends_with(t));
                let next = &s[j + 1..line_end(s, j + 1)];
                let next_continues = next
                    .trim_start()
                    .starts_with(['.', ')', '}', ']', '?', ':'])
                    && !next.trim().is_empty();
                if !continues && !next_continues {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    s.len()
}

/// Removes the indentation the lines of a component's content share (code-block contents
/// do not count, as they keep their own). The first line, which follows the opening tag, is
/// only trimmed.
fn dedent(s: &str) -> String {
    let mut lines: Vec<&str> = s.split('\n').collect();
    let first = lines.first().map(|l| l.trim()).unwrap_or_default();
    let mut min = usize::MAX;
    let mut fence: Option<(u8, usize)> = None;
    for (n, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if let Some((c, k)) = fence {
            if t.bytes().take_while(|b| *b == c).count() >= k && t.trim().bytes().all(|b| b == c) {
                fence = None;
            }
            continue;
        }
        if n > 0 && !t.is_empty() {
            min = min.min(line.len() - t.len());
        }
        if let Some(f) = fence_open(t) {
            fence = Some(f);
        }
    }
    if min == usize::MAX {
        min = 0;
    }
    let mut out = String::with_capacity(s.len());
    if !first.is_empty() {
        out.push_str(first);
        out.push('\n');
    }
    for line in lines.iter_mut().skip(1) {
        let ws = line.len() - line.trim_start_matches([' ', '\t']).len();
        out.push_str(&line[ws.min(min)..]);
        out.push('\n');
    }
    out
}

/// A Markdown image `![alt](dest "title")` at `i`: (the byte after it, its destination).
fn markdown_image(s: &str, i: usize) -> Option<(usize, &str)> {
    let line = &s[i..line_end(s, i)];
    let mut depth = 0usize;
    let mut close = None;
    for (k, c) in line.char_indices().skip(1) {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(k);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close?;
    let rest = line[close + 1..].strip_prefix('(')?;
    let end = rest.find(')')?;
    let dest = rest[..end].split_whitespace().next().unwrap_or("");
    let dest = dest.trim_start_matches('<').trim_end_matches('>');
    Some((i + close + 2 + end + 1, dest))
}

/// Prefixes every line of `block` (blank lines get the prefix trimmed).
fn prefix_lines(block: &str, first: &str, rest: &str) -> String {
    let mut out = String::with_capacity(block.len() + 16);
    for (n, line) in block.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let p = if n == 0 { first } else { rest };
        if line.is_empty() {
            out.push_str(p.trim_end());
        } else {
            out.push_str(p);
            out.push_str(line);
        }
    }
    out
}

/// Collapses runs of blank lines outside code and trims the ends.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    let mut fence: Option<(u8, usize)> = None;
    for line in s.split('\n') {
        let t = line.trim_start();
        if let Some((c, k)) = fence {
            if t.bytes().take_while(|b| *b == c).count() >= k && t.trim().bytes().all(|b| b == c) {
                fence = None;
            }
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() && blank > 0 {
            out.push('\n');
        }
        blank = 0;
        if let Some(f) = fence_open(t) {
            fence = Some(f);
        }
        // Trailing spaces stay: two of them are a line break.
        out.push_str(line);
        out.push('\n');
    }
    let trimmed = out.trim_end();
    let mut result = trimmed.to_string();
    if !result.is_empty() {
        result.push('\n');
    }
    result
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Markdown on one line: runs of whitespace (newlines included) become one space.
fn md_inline(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Plain text (an attribute: a title, a label) as Markdown that shows it as written.
fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in md_inline(s).chars() {
        if matches!(c, '\\' | '*' | '_' | '[' | ']' | '<' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Moves ATX headings outside code one level down (`##` → `###`), at most to level 6.
fn demote_headings(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 64);
    let mut fence: Option<(u8, usize)> = None;
    for line in s.split('\n') {
        let t = line.trim_start();
        if let Some((c, k)) = fence {
            if t.bytes().take_while(|b| *b == c).count() >= k && t.trim().bytes().all(|b| b == c) {
                fence = None;
            }
        } else if let Some(f) = fence_open(t) {
            fence = Some(f);
        } else {
            let hashes = line.bytes().take_while(|b| *b == b'#').count();
            if (1..6).contains(&hashes) && line[hashes..].starts_with(' ') {
                out.push('#');
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out.pop();
    out
}

/// Puts a bold label before each code block that has a title (or language) in its info
/// string: `` ```bash npm `` → `**npm**`. The code blocks themselves stay as they are.
fn label_code_blocks(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 64);
    let mut fence: Option<(u8, usize)> = None;
    for line in s.split('\n') {
        let t = line.trim_start();
        if let Some((c, k)) = fence {
            if t.bytes().take_while(|b| *b == c).count() >= k && t.trim().bytes().all(|b| b == c) {
                fence = None;
            }
        } else if let Some((c, k)) = fence_open(t) {
            fence = Some((c, k));
            let info = t[k..].trim();
            let mut words = info.split_whitespace();
            let lang = words.next().unwrap_or("");
            let lang = lang.split('{').next().unwrap_or(lang);
            let title: Vec<&str> = words
                .take_while(|w| !w.contains('=') && !w.starts_with('{'))
                .collect();
            let label = if title.is_empty() {
                lang.to_string()
            } else {
                title.join(" ")
            };
            if !label.is_empty() {
                let indent = &line[..line.len() - t.len()];
                out.push_str(&format!("{indent}**{}**\n\n", md_text(&label)));
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out.pop();
    out
}

// ---------------------------------------------------------------------------------------------
// The converter.

impl Converter<'_> {
    /// Converts a run of block content.
    fn block(&mut self, src: &str, scope: &Scope, top: bool) -> String {
        let mut scope = scope.clone();
        let mut out = String::with_capacity(src.len() + src.len() / 8);
        let mut i = 0;
        while i < src.len() {
            let le = line_end(src, i);
            let line = &src[i..le];
            let trimmed = line.trim_start_matches([' ', '\t']);
            let indent = &line[..line.len() - trimmed.len()];
            if let Some((c, n)) = fence_open(trimmed) {
                let end = fence_end(src, i, c, n);
                out.push_str(&src[i..end]);
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                i = end;
                continue;
            }
            if top
                && self.mdx
                && indent.is_empty()
                && (trimmed.starts_with("import ") || trimmed.starts_with("export "))
            {
                let end = esm_end(src, i);
                self.record_import(&src[i..end], &mut scope);
                i = end;
                continue;
            }
            i = self.line(src, i, indent, &scope, &mut out);
        }
        out
    }

    /// Records `import X from "/snippets/x.mdx"` (default imports of Markdown snippets).
    fn record_import(&mut self, stmt: &str, scope: &mut Scope) {
        let s = stmt.trim();
        let Some(rest) = s.strip_prefix("import ") else {
            return;
        };
        let Some((what, from)) = rest.rsplit_once(" from ") else {
            return;
        };
        let what = what.trim();
        let from = from.trim().trim_end_matches(';').trim();
        let Some(path) = literal(from) else { return };
        let default_name = what.split(',').next().unwrap_or("").trim();
        if default_name.is_empty()
            || default_name.starts_with('{')
            || default_name.starts_with('*')
            || !(path.ends_with(".mdx") || path.ends_with(".md"))
        {
            return;
        }
        let resolved = if let Some(abs) = path.strip_prefix('/') {
            abs.to_string()
        } else {
            normalize(&scope.dir, &path)
        };
        scope.imports.insert(default_name.to_string(), resolved);
    }

    /// Converts from `i` to the end of the line (or further, when an element spans lines);
    /// returns where to continue.
    fn line(
        &mut self,
        src: &str,
        start: usize,
        indent: &str,
        scope: &Scope,
        out: &mut String,
    ) -> usize {
        let b = src.as_bytes();
        let mut i = start + indent.len();
        let content_start = i;
        let mut pushed_indent = false;
        while i < b.len() {
            let c = b[i];
            if c == b'\n' {
                out.push('\n');
                return i + 1;
            }
            if !pushed_indent {
                out.push_str(indent);
                pushed_indent = true;
            }
            if c == b'`' {
                let end = skip_code(src, i, false).unwrap_or(i + 1);
                out.push_str(&src[i..end]);
                i = end;
                continue;
            }
            if c == b'!'
                && b.get(i + 1) == Some(&b'[')
                && let Some((end, dest)) = markdown_image(src, i)
            {
                if dest.starts_with("https://") || dest.starts_with("http://") {
                    out.push_str(&src[i..end]);
                } else {
                    self.notes.dropped_media += 1;
                }
                i = end;
                continue;
            }
            if c == b'\\' {
                let end =
                    (i + 1 + src[i + 1..].chars().next().map_or(0, char::len_utf8)).min(src.len());
                out.push_str(&src[i..end]);
                i = end;
                continue;
            }
            if c == b'{'
                && self.mdx
                && let Some(end) = expr_end(src, i)
            {
                let expr = &src[i + 1..end - 1];
                out.push_str(&self.expression(expr, scope));
                i = end;
                continue;
            }
            if c == b'<' {
                if src[i..].starts_with("<!--") {
                    i = src[i..].find("-->").map_or(src.len(), |e| i + e + 3);
                    continue;
                }
                if let Some(tag) = parse_tag(src, i) {
                    let at_line_start = i == content_start;
                    match self.element(src, tag, at_line_start, indent, scope, out) {
                        Some((next, true)) => return next,
                        Some((next, false)) => {
                            i = next;
                            continue;
                        }
                        None => {}
                    }
                }
            }
            let ch = src[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&src[i..i + ch]);
            i += ch;
        }
        i
    }

    fn expression(&mut self, expr: &str, scope: &Scope) -> String {
        let e = expr.trim();
        // Comments, and `{#custom-id}` after a heading (Tome makes its own heading IDs).
        if e.is_empty() || (e.starts_with("/*") && e.ends_with("*/")) || e.starts_with('#') {
            return String::new();
        }
        if let Some(s) = literal(e) {
            return s;
        }
        let ident = e.strip_prefix("props.").unwrap_or(e);
        if let Some(v) = scope.props.get(ident) {
            return v.clone();
        }
        self.notes.dropped_expressions += 1;
        String::new()
    }

    /// Handles the tag at `i`; returns where to continue and whether the line is done, or
    /// `None` to treat `<` as text.
    #[allow(clippy::too_many_arguments)]
    fn element(
        &mut self,
        src: &str,
        tag: Tag,
        at_line_start: bool,
        indent: &str,
        scope: &Scope,
        out: &mut String,
    ) -> Option<(usize, bool)> {
        if tag.closing {
            // A stray closing tag (its opening was not found): drop it.
            return Some((tag.end, false));
        }
        let (inner, after) = if tag.self_closing {
            (None, tag.end)
        } else {
            if self.unclosed >= MAX_UNCLOSED {
                return None;
            }
            match find_close(src, tag.end, &tag.name) {
                Some((cs, ce)) => (Some(&src[tag.end..cs]), ce),
                // An unclosed lowercase tag (`<br>`, `<img …>`) has no content.
                None if !tag.is_component() => {
                    self.unclosed += 1;
                    (None, tag.end)
                }
                None => {
                    // MDX would refuse this page; keep the text rather than lose it.
                    self.unclosed += 1;
                    if self.unclosed == MAX_UNCLOSED {
                        self.notes.warnings.push(format!(
                            "{MAX_UNCLOSED} components are never closed; the rest of the page is \
                             kept as written"
                        ));
                    }
                    return None;
                }
            }
        };
        let rest_blank = src[after..line_end(src, after)].trim().is_empty();
        let inline_only = INLINE.contains(&tag.name.as_str());
        let block = !inline_only
            && (BLOCK.contains(&tag.name.as_str())
                || alert_kind(&tag.name).is_some()
                || (at_line_start && (rest_blank || inner.is_some_and(|s| s.contains('\n')))));
        if block {
            let rendered = self.render_block(&tag, inner, scope);
            // The indentation was already written; replace it with the block's own.
            if out.ends_with(indent) {
                out.truncate(out.len() - indent.len());
            }
            if !rendered.trim().is_empty() {
                if !out.is_empty() && !out.ends_with("\n\n") {
                    out.push('\n');
                    if !out.ends_with("\n\n") {
                        out.push('\n');
                    }
                }
                out.push_str(&prefix_lines(rendered.trim_matches('\n'), indent, indent));
                out.push_str("\n\n");
            }
            if rest_blank {
                return Some((next_line(src, after), true));
            }
            out.push_str(indent);
            return Some((after, false));
        }
        let rendered = self.render_inline(&tag, inner, scope);
        out.push_str(&rendered);
        Some((after, false))
    }

    fn children_block(&mut self, inner: Option<&str>, scope: &Scope) -> String {
        let Some(s) = inner else {
            return String::new();
        };
        let d = dedent(s);
        if self.depth >= MAX_DEPTH {
            if self.depth == MAX_DEPTH {
                self.notes.warnings.push(format!(
                    "components nest more than {MAX_DEPTH} deep; the deepest are kept as written"
                ));
                self.depth += 1;
            }
            return d.trim_matches('\n').to_string();
        }
        self.depth += 1;
        let out = self.block(&d, scope, false).trim_matches('\n').to_string();
        self.depth -= 1;
        out
    }

    fn children_inline(&mut self, inner: Option<&str>, scope: &Scope) -> String {
        let text = self.children_block(inner, scope);
        md_inline(&text)
    }

    fn unknown(&mut self, name: &str) {
        *self.notes.unknown.entry(name.to_string()).or_default() += 1;
    }

    fn render_inline(&mut self, tag: &Tag, inner: Option<&str>, scope: &Scope) -> String {
        let name = tag.name.as_str();
        let text = self.children_inline(inner, scope);
        match name {
            "Icon" => String::new(),
            "Badge" => {
                if text.is_empty() {
                    String::new()
                } else {
                    format!("<mark>{text}</mark>")
                }
            }
            "Tooltip" => {
                let text = match tag.attr("href") {
                    Some(href) if !text.is_empty() => format!("[{text}]({href})"),
                    _ => text,
                };
                match tag.attr("tip") {
                    Some(tip) if !text.is_empty() => {
                        format!(
                            "<abbr title=\"{}\">{text}</abbr>",
                            html_escape(&md_inline(&tip))
                        )
                    }
                    _ => text,
                }
            }
            "br" => "<br>".into(),
            "a" => match tag.attr("href") {
                Some(href) => format!("[{}]({href})", if text.is_empty() { &href } else { &text }),
                None => text,
            },
            "img" => self.image(tag),
            "iframe" | "video" | "audio" | "source" => self.media_link(tag),
            "span" | "div" | "p" | "label" | "button" | "center" => text,
            n if HTML_DROPPED.contains(&n) => {
                if n == "svg" {
                    self.notes.dropped_media += 1;
                }
                String::new()
            }
            n if HTML_KEPT.contains(&n) => {
                let verbatim = matches!(n, "code" | "pre");
                let body = if verbatim {
                    inner.unwrap_or("").to_string()
                } else {
                    text
                };
                format!("<{n}{}>{body}</{n}>", html_attrs(tag))
            }
            _ if scope.imports.contains_key(name) => {
                let block = self.snippet(tag, scope);
                md_inline(&block)
            }
            _ => {
                if tag.is_component() {
                    self.unknown(name);
                }
                let mut s = text;
                if s.is_empty() {
                    s = tag
                        .attr("title")
                        .or_else(|| tag.attr("label"))
                        .unwrap_or_default();
                }
                match tag.attr("href") {
                    Some(href) if !s.is_empty() => format!("[{s}]({href})"),
                    _ => s,
                }
            }
        }
    }

    fn image(&mut self, tag: &Tag) -> String {
        let src = tag.attr("src").unwrap_or_default();
        if src.starts_with("https://") || src.starts_with("http://") {
            let alt = tag.attr("alt").unwrap_or_default();
            format!("![{}]({src})", md_text(&alt))
        } else {
            self.notes.dropped_media += 1;
            String::new()
        }
    }

    fn media_link(&mut self, tag: &Tag) -> String {
        let src = tag.attr("src").unwrap_or_default();
        if src.starts_with("https://") || src.starts_with("http://") {
            let title = tag.attr("title").unwrap_or_else(|| {
                if tag.name == "iframe" {
                    "Embedded content"
                } else {
                    "Video"
                }
                .into()
            });
            format!("[{}]({src})", md_text(&title))
        } else {
            self.notes.dropped_media += 1;
            String::new()
        }
    }

    /// A bold label, linked when there is an `href`.
    fn label(title: &str, href: Option<&str>) -> String {
        let title = md_text(title);
        match (title.is_empty(), href) {
            (false, Some(h)) => format!("**[{title}]({h})**"),
            (true, Some(h)) => format!("[{h}]({h})"),
            (false, None) => format!("**{title}**"),
            (true, None) => String::new(),
        }
    }

    fn join(parts: &[String]) -> String {
        parts
            .iter()
            .map(|p| p.trim_matches('\n'))
            .filter(|p| !p.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    fn render_block(&mut self, tag: &Tag, inner: Option<&str>, scope: &Scope) -> String {
        let name = tag.name.as_str();
        if let Some(kind) = alert_kind(name) {
            let mut parts = Vec::new();
            if let Some(t) = tag.attr("title") {
                parts.push(format!("**{}**", md_text(&t)));
            }
            parts.push(self.children_block(inner, scope));
            let body = Self::join(&parts);
            return if body.is_empty() {
                format!("> [!{kind}]")
            } else {
                format!("> [!{kind}]\n{}", prefix_lines(&body, "> ", "> "))
            };
        }
        match name {
            "Card" | "Tile" => {
                let title = tag.attr("title").unwrap_or_default();
                let mut parts = vec![Self::label(&title, tag.attr("href").as_deref())];
                if let Some(d) = tag.attr("description") {
                    parts.push(md_text(&d));
                }
                parts.push(self.children_block(inner, scope));
                Self::join(&parts)
            }
            "CardGroup" | "Columns" | "Column" | "AccordionGroup" | "Tabs" | "Panel" | "Color"
            | "div" | "span" | "p" | "center" | "section" | "main" | "article" | "header"
            | "footer" | "nav" | "aside" | "figure" | "label" | "button" | "" => {
                self.children_block(inner, scope)
            }
            "Steps" => {
                self.steps.push(0);
                let body = self.children_block(inner, scope);
                self.steps.pop();
                body
            }
            "Step" => {
                let n = match self.steps.last_mut() {
                    Some(k) => {
                        *k += 1;
                        *k
                    }
                    None => 1,
                };
                let n = tag
                    .attr("stepNumber")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(n);
                let title = tag.attr("title").map(|t| md_text(&t)).unwrap_or_default();
                let content = self.children_block(inner, scope);
                let marker = format!("{n}. ");
                let pad = " ".repeat(marker.len());
                if title.is_empty() {
                    if content.is_empty() {
                        return marker.trim_end().to_string();
                    }
                    return prefix_lines(&content, &marker, &pad);
                }
                let head = format!("{marker}**{title}**");
                if content.is_empty() {
                    head
                } else {
                    format!("{head}\n\n{}", prefix_lines(&content, &pad, &pad))
                }
            }
            "Tab" | "View" | "Accordion" | "Expandable" | "Color.Row" | "Prompt" => {
                let title = tag
                    .attr("title")
                    .or_else(|| tag.attr("description").filter(|_| name == "Prompt"))
                    .unwrap_or_else(|| match name {
                        "Expandable" => "Properties".into(),
                        "Prompt" => "Prompt".into(),
                        _ => String::new(),
                    });
                let mut parts = vec![Self::label(&title, None)];
                if name == "Accordion"
                    && let Some(d) = tag.attr("description")
                {
                    parts.push(md_text(&d));
                }
                let content = self.children_block(inner, scope);
                if name == "Accordion" && title.trim_end().ends_with('?') && !content.is_empty() {
                    let mut answer = parts[1..].to_vec();
                    answer.push(content.clone());
                    self.notes
                        .questions
                        .push((md_inline(&title), tidy(&Self::join(&answer))));
                }
                parts.push(content);
                Self::join(&parts)
            }
            "CodeGroup" | "RequestExample" | "ResponseExample" => {
                let body = self.children_block(inner, scope);
                label_code_blocks(&body)
            }
            "Frame" => {
                let mut parts = tag.attr("hint").into_iter().collect::<Vec<_>>();
                parts.push(self.children_block(inner, scope));
                if let Some(c) = tag.attr("caption") {
                    parts.push(format!("*{}*", md_inline(&c)));
                }
                Self::join(&parts)
            }
            "ParamField" | "ResponseField" => self.field(tag, inner, scope),
            "Update" => {
                let label = tag.attr("label").unwrap_or_else(|| "Update".into());
                let mut parts = vec![format!("## {}", md_text(&label))];
                if let Some(d) = tag.attr("description") {
                    parts.push(format!("*{}*", md_text(&d)));
                }
                // `tags={["New releases", "Bug fixes"]}`.
                let tags = tag.attrs.iter().find_map(|(k, v)| match (k.as_str(), v) {
                    ("tags", AttrValue::Expr(e)) => serde_json::from_str::<Vec<String>>(e).ok(),
                    _ => None,
                });
                if let Some(tags) = tags.filter(|t| !t.is_empty()) {
                    let tags: Vec<String> = tags.iter().map(|t| md_text(t)).collect();
                    parts.push(format!("*{}*", tags.join(" · ")));
                }
                let body = self.children_block(inner, scope);
                parts.push(demote_headings(&body));
                Self::join(&parts)
            }
            "Visibility" => {
                if tag.attr("for").as_deref() == Some("agents") {
                    String::new()
                } else {
                    self.children_block(inner, scope)
                }
            }
            "Tree" | "FileTree" => self.children_block(inner, scope),
            "Tree.Folder" => {
                let folder = tag.attr("name").unwrap_or_default();
                let body = self.children_block(inner, scope);
                let body: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
                let mut out = format!("- {}/", md_text(&folder));
                for l in body {
                    out.push_str("\n  ");
                    out.push_str(l);
                }
                out
            }
            "Tree.File" => format!("- {}", md_text(&tag.attr("name").unwrap_or_default())),
            "Color.Item" => {
                let n = tag.attr("name").unwrap_or_default();
                let v = tag.attr("value").unwrap_or_default();
                format!("- **{}**: `{}`", md_text(&n), v.replace('`', "'"))
            }
            "Heading" => {
                let level: usize = tag
                    .attr("level")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(2)
                    .clamp(1, 6);
                format!(
                    "{} {}",
                    "#".repeat(level),
                    self.children_inline(inner, scope)
                )
            }
            "GitHub.Repo" => {
                let repo = tag.attr("repo").unwrap_or_default();
                format!("**[{repo}](https://github.com/{repo})**")
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level: usize = name[1..].parse().unwrap_or(2);
                format!(
                    "{} {}",
                    "#".repeat(level),
                    self.children_inline(inner, scope)
                )
            }
            "hr" => "---".into(),
            "img" => self.image(tag),
            "iframe" | "video" | "audio" | "source" => self.media_link(tag),
            n if HTML_DROPPED.contains(&n) => {
                if n == "svg" {
                    self.notes.dropped_media += 1;
                }
                String::new()
            }
            "pre" => format!("<pre>{}</pre>", inner.unwrap_or("")),
            n if HTML_KEPT.contains(&n) => {
                let body = self.children_block(inner, scope);
                format!("<{n}{}>\n\n{body}\n\n</{n}>", html_attrs(tag))
            }
            n if scope.imports.contains_key(n) => self.snippet(tag, scope),
            _ => {
                if tag.is_component() {
                    self.unknown(name);
                }
                let title = tag
                    .attr("title")
                    .or_else(|| tag.attr("label"))
                    .unwrap_or_default();
                let mut parts = vec![Self::label(&title, tag.attr("href").as_deref())];
                if let Some(d) = tag.attr("description") {
                    parts.push(md_text(&d));
                }
                parts.push(self.children_block(inner, scope));
                Self::join(&parts)
            }
        }
    }

    /// `<ParamField>`/`<ResponseField>` as a definition list.
    fn field(&mut self, tag: &Tag, inner: Option<&str>, scope: &Scope) -> String {
        let (kind, name) = ["query", "path", "body", "header", "name"]
            .iter()
            .find_map(|k| tag.attr(k).map(|n| (*k, n)))
            .unwrap_or(("name", String::new()));
        let mut term = format!("<code>{}</code>", html_escape(&name));
        if let Some(t) = tag.attr("type") {
            term.push_str(&format!(" <em><code>{}</code></em>", html_escape(&t)));
        }
        if kind != "name" {
            term.push_str(&format!(" · {kind}"));
        }
        if tag.flag("required") {
            term.push_str(" · required");
        }
        if tag.flag("deprecated") {
            term.push_str(" · deprecated");
        }
        if let Some(d) = tag.attr("default") {
            term.push_str(&format!(" · default: <code>{}</code>", html_escape(&d)));
        }
        let body = self.children_block(inner, scope);
        if body.is_empty() {
            format!("<dl>\n<dt>{term}</dt>\n</dl>")
        } else {
            format!("<dl>\n<dt>{term}</dt>\n<dd>\n\n{body}\n\n</dd>\n</dl>")
        }
    }

    /// Inlines a snippet imported from a Markdown file, with the element's props.
    fn snippet(&mut self, tag: &Tag, scope: &Scope) -> String {
        let Some(path) = scope.imports.get(&tag.name).cloned() else {
            return String::new();
        };
        let top = self.stack.last().cloned().unwrap_or_default();
        if self.stack.contains(&path) {
            self.notes.warnings.push(format!(
                "{path} includes itself (through {top}); not inlined again"
            ));
            return String::new();
        }
        let Some(text) = self.files.text(&path) else {
            self.notes.warnings.push(format!(
                "<{}> imports {path}, which is not in the repository; left out",
                tag.name
            ));
            return String::new();
        };
        let body = match crate::archive::front_matter::parse(text) {
            Ok(p) => p.body.to_string(),
            Err(_) => text.to_string(),
        };
        self.inlined_bytes += body.len();
        if self.inlined_bytes > MAX_INLINED_BYTES || self.depth >= MAX_DEPTH {
            self.notes.warnings.push(format!(
                "<{}> ({path}) not inlined: the page's snippets add up to more than {} MB or \
                 nest too deeply",
                tag.name,
                MAX_INLINED_BYTES >> 20
            ));
            return String::new();
        }
        let mut props = HashMap::new();
        for (k, v) in &tag.attrs {
            let value = match v {
                AttrValue::Str(s) => Some(s.clone()),
                AttrValue::Expr(e) => literal(e),
                AttrValue::Flag => Some("true".into()),
            };
            if let Some(v) = value {
                props.insert(k.clone(), v);
            }
        }
        let inner_scope = Scope {
            dir: parent(&path).to_string(),
            imports: HashMap::new(),
            props,
        };
        self.notes.inlined_snippets += 1;
        self.stack.push(path);
        let mdx = self.mdx;
        self.mdx = true;
        self.depth += 1;
        let out = self.block(&body, &inner_scope, true);
        self.depth -= 1;
        self.mdx = mdx;
        self.stack.pop();
        out
    }
}

/// An HTML element's string attributes, rewritten for HTML (`className` → `class`).
fn html_attrs(tag: &Tag) -> String {
    let mut s = String::new();
    for (k, v) in &tag.attrs {
        if let AttrValue::Str(v) = v {
            let k = if k == "className" {
                "class"
            } else {
                k.as_str()
            };
            s.push_str(&format!(" {k}=\"{}\"", html_escape(v)));
        }
    }
    s
}

pub use crate::links::normalize;

/// Whether `body` (converted Markdown) still holds MDX: a component tag or an `import`/`export`
/// line outside code. Returns the first offending line.
pub fn residue(body: &str) -> Option<String> {
    let mut fence: Option<(u8, usize)> = None;
    for line in body.lines() {
        let t = line.trim_start();
        if let Some((c, k)) = fence {
            if t.bytes().take_while(|b| *b == c).count() >= k && t.trim().bytes().all(|b| b == c) {
                fence = None;
            }
            continue;
        }
        if let Some(f) = fence_open(t.trim_start_matches(['>', ' '])) {
            fence = Some(f);
            continue;
        }
        if t.starts_with("import ") || t.starts_with("export ") {
            return Some(line.to_string());
        }
        // Inline code spans hold component names as text, on purpose.
        let mut i = 0;
        let b = line.as_bytes();
        while i < b.len() {
            if b[i] == b'`' {
                i = skip_code(line, i, false).unwrap_or(i + 1);
                continue;
            }
            if b[i] == b'\\' {
                i += 2;
                continue;
            }
            if b[i] == b'<' && b.get(i + 1).is_some_and(|c| c.is_ascii_uppercase()) {
                return Some(line.to_string());
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests;
