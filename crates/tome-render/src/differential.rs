//! The sanitiser against ammonia, over real attacks: the 6,243 public XSS vectors of
//! `../shared/corpora/xss/corpus.json` in several Markdown contexts, plus Markdown-specific
//! vectors built here (dangerous schemes spelt every way in every link and image syntax,
//! autolinks, reference links, raw HTML in code, footnotes, SVG/MathML namespace confusion) and
//! `custom_css` break-outs.
//!
//! Tome's output is read with html5ever's tokenizer — the browser's tokenizer, switching to raw
//! text inside `<style>`, `<textarea>`, … as a browser's tree builder makes it — never with a
//! regular expression, and must hold:
//!
//! - ammonia, configured as the old pipeline was ([`crate::legacy`]), removes nothing from it:
//!   every start tag and every attribute (value as the browser decodes it) survives a pass of
//!   ammonia over Tome's output;
//! - no attribute is an event handler (`on*`);
//! - no URL-bearing attribute has a scheme other than http, https, mailto or tel, read as the
//!   browser's URL parser reads it (after entity decoding, leading controls and spaces skipped,
//!   tabs and newlines removed);
//! - every author id carries the `user-content-` prefix (no DOM clobbering).

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, CharacterTokens, NullCharacterToken, TagKind, TagToken, Token, TokenSink,
    TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// A start tag as the browser reads it: name and attributes, values decoded, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct StartTag {
    name: String,
    attrs: Vec<(String, String)>,
}

/// What the tokenizer saw: start tags, and the character data.
#[derive(Default)]
struct Seen {
    tags: Vec<StartTag>,
    text: String,
    end_tags: Vec<String>,
}

#[derive(Default)]
struct Sink(RefCell<Seen>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut seen = self.0.borrow_mut();
        match token {
            TagToken(tag) if tag.kind == TagKind::StartTag => {
                let name = tag.name.to_string();
                let mut attrs: Vec<(String, String)> = tag
                    .attrs
                    .iter()
                    .map(|a| (a.name.local.to_string(), a.value.to_string()))
                    .collect();
                attrs.sort();
                seen.tags.push(StartTag {
                    name: name.clone(),
                    attrs,
                });
                // What the tree builder would switch the tokenizer to, in HTML content (the
                // output never contains `svg` or `math`: they are not on the allow-list).
                return match name.as_str() {
                    "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
                    "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                        TokenSinkResult::RawData(RawKind::Rawtext)
                    }
                    "script" => TokenSinkResult::RawData(RawKind::ScriptData),
                    "plaintext" => TokenSinkResult::Plaintext,
                    _ => TokenSinkResult::Continue,
                };
            }
            TagToken(tag) => seen.end_tags.push(tag.name.to_string()),
            CharacterTokens(t) => seen.text.push_str(&t),
            NullCharacterToken => seen.text.push('\0'),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Tokenizes `html` as a browser would, from the data state.
fn tokenize(html: &str) -> Seen {
    let tokenizer = Tokenizer::new(Sink::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.take()
}

/// Attributes whose value a browser loads or navigates to.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "cite",
    "action",
    "formaction",
    "xlink:href",
    "background",
    "poster",
    "data",
    "srcset",
    "lowsrc",
    "dynsrc",
    "longdesc",
    "ping",
    "manifest",
    "codebase",
    "usemap",
    "icon",
];

/// The scheme of a (decoded) URL as the WHATWG URL parser finds it, lower-cased; `None` for a
/// relative URL.
fn scheme(url: &str) -> Option<String> {
    let url: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let end = url.find(':')?;
    let scheme = &url[..end];
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

/// Why Tome's output for one input is unsafe, if it is.
fn problems(out: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let seen = tokenize(out);
    for tag in &seen.tags {
        for (name, value) in &tag.attrs {
            if name.starts_with("on") {
                problems.push(format!("event handler {name} on <{}>", tag.name));
            }
            if URL_ATTRIBUTES.contains(&name.as_str())
                && let Some(s) = scheme(value)
                && !matches!(s.as_str(), "http" | "https" | "mailto" | "tel")
            {
                problems.push(format!("{s}: URL in {name} of <{}>", tag.name));
            }
            if name == "id" && !value.starts_with("user-content-") && !is_renderer_id(tag, value) {
                problems.push(format!("unprefixed author id {value:?} on <{}>", tag.name));
            }
            if name == "name" {
                problems.push(format!("name attribute on <{}>", tag.name));
            }
        }
    }
    // ammonia removes nothing: every start tag of Tome's output, with all its attributes, is in
    // ammonia's cleaning of that output.
    let mut kept = tokenize(&crate::legacy::clean(out)).tags;
    kept.sort();
    for tag in seen.tags {
        match kept.binary_search(&tag) {
            Ok(at) => {
                kept.remove(at);
            }
            Err(_) if kept_in_its_table(&tag) => {}
            Err(_) => problems.push(format!("ammonia strips {}: {tag:?}", tag.name)),
        }
    }
    problems
}

/// A table part outside a table is dropped by the HTML tree builder, ammonia's and the
/// browser's alike (harmless, and not ammonia's allow-list at work); such a tag is checked
/// against ammonia in a table of its own.
fn kept_in_its_table(tag: &StartTag) -> bool {
    let context = match tag.name.as_str() {
        "caption" | "colgroup" | "tbody" | "thead" | "tfoot" => "<table>",
        "col" => "<table><colgroup>",
        "tr" => "<table><tbody>",
        "td" | "th" => "<table><tbody><tr>",
        _ => return false,
    };
    let mut html = format!("{context}<{}", tag.name);
    for (name, value) in &tag.attrs {
        let value = value
            .replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;");
        html.push_str(&format!(" {name}=\"{value}\""));
    }
    html.push('>');
    tokenize(&crate::legacy::clean(&html)).tags.contains(tag)
}

/// Ids the renderer itself writes: headings' slugs and footnotes' `fn-`/`fnref-` ids.
fn is_renderer_id(tag: &StartTag, id: &str) -> bool {
    matches!(tag.name.as_str(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
        || (tag.name == "li" && id.starts_with("fn-"))
        || (tag.name == "sup" && id.starts_with("fnref-"))
}

/// The public corpus's payloads.
fn corpus() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/xss/corpus.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the XSS corpus is missing at {}: {e}", path.display()));
    let items: Vec<serde_json::Value> = serde_json::from_str(&text).expect("corpus.json");
    let payloads: Vec<String> = items
        .iter()
        .filter_map(|i| i["payload"].as_str().map(str::to_string))
        .collect();
    assert_eq!(payloads.len(), 6243, "corpus.json changed");
    payloads
}

/// Dangerous URLs, each spelt many ways: letter case, character references (decimal, hex,
/// named, without `;`), whitespace and control characters before and inside the scheme,
/// percent-encoding.
fn dangerous_urls() -> Vec<String> {
    let mut urls = Vec::new();
    for (scheme, rest) in [
        ("javascript", "alert(1)"),
        ("vbscript", "msgbox(1)"),
        ("data", "text/html,<script>alert(1)</script>"),
        (
            "data",
            "text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        ),
        ("data", "image/svg+xml,<svg onload=alert(1)>"),
    ] {
        let first = scheme.chars().next().unwrap_or('j');
        let tail = &scheme[1..];
        let mid = scheme.len() / 2;
        let (a, b) = scheme.split_at(mid);
        let mixed: String = scheme
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        let spellings = [
            format!("{scheme}:{rest}"),
            format!("{}:{rest}", scheme.to_ascii_uppercase()),
            format!("{mixed}:{rest}"),
            format!("&#{};{tail}:{rest}", first as u32),
            format!("&#{}{tail}:{rest}", first as u32),
            format!("&#x{:x};{tail}:{rest}", first as u32),
            format!("&#X{:X}{tail}:{rest}", first as u32),
            format!("&#0000{};{tail}:{rest}", first as u32),
            format!("{scheme}&#58;{rest}"),
            format!("{scheme}&#x3a;{rest}"),
            format!("{scheme}&colon;{rest}"),
            format!("{a}&Tab;{b}:{rest}"),
            format!("{a}&NewLine;{b}:{rest}"),
            format!("{a}&#9;{b}:{rest}"),
            format!("{a}&#x0A;{b}:{rest}"),
            format!("{a}&#13;{b}:{rest}"),
            format!("{a}\t{b}:{rest}"),
            format!("{a}\u{b}{b}:{rest}"),
            format!("{a}\0{b}:{rest}"),
            format!("{a}\u{1}{b}:{rest}"),
            format!(" {scheme}:{rest}"),
            format!("\u{1}{scheme}:{rest}"),
            format!("\u{c}{scheme}:{rest}"),
            format!("\u{a0}{scheme}:{rest}"),
            format!("\u{feff}{scheme}:{rest}"),
            format!("&#32;{scheme}:{rest}"),
            format!("&#x1;{scheme}:{rest}"),
            format!("{scheme}%3a{rest}"),
            format!("{a}%09{b}:{rest}"),
            format!("{a}\\{b}:{rest}"),
            format!("{scheme}\\:{rest}"),
            format!("{scheme}://%0a{rest}"),
            format!("{scheme}:/*x*/{rest}"),
        ];
        urls.extend(spellings);
    }
    urls
}

/// Markdown-specific vectors: each dangerous URL in every link and image syntax, raw HTML in
/// code, footnotes, headings, tables, alerts, and SVG/MathML namespace confusion.
fn markdown_vectors() -> Vec<String> {
    let mut v = Vec::new();
    for url in dangerous_urls() {
        let line = url.replace('\n', " ");
        v.extend([
            format!("[x]({url})"),
            format!("[x](<{url}>)"),
            format!("[x]({url} \"t\")"),
            format!("![x]({url})"),
            format!("![x](<{url}>)"),
            format!("[![i]({url})]({url})"),
            format!("<{line}>"),
            format!("[x][r]\n\n[r]: {line}"),
            format!("[r]\n\n[r]: <{line}> \"t\""),
            format!("![x][r]\n\n[r]: {line}"),
            format!("[x]\n\n[X]: {line}"),
            format!("<a href=\"{url}\">x</a>"),
            format!("<a href='{url}'>x</a>"),
            format!("<a href={line}>x</a>"),
            format!("<img src=\"{url}\">"),
            format!("<a href=\"{url}\">\n\n[after](/ok)\n"),
            format!("<blockquote cite=\"{url}\">q</blockquote>"),
            format!("- [x]({url})\n- [ ] <a href=\"{url}\">t</a>"),
            format!("| a |\n|---|\n| [x]({line}) |"),
            format!("x[^n]\n\n[^n]: [x]({line})"),
            format!("> [!NOTE]\n> [x]({line})"),
            format!("# [x]({line})"),
        ]);
    }
    let handlers = [
        "<img src=x onerror=alert(1)>",
        "<svg onload=alert(1)>",
        "<script>alert(1)</script>",
        "<a href=\"#\" onclick=\"alert(1)\">x</a>",
    ];
    for h in handlers {
        v.extend([
            format!("`{h}`"),
            format!("``{h}`"),
            format!("```\n{h}\n```"),
            format!("```html\n</code></pre>{h}\n```"),
            format!("    {h}\n"),
            format!("~~~\n{h}\n~~~"),
            format!("```{h}\nx\n```"),
            format!("x[^n]\n\n[^n]: {h}"),
            format!("[^{h}]\n\n[^{h}]: x"),
            format!("# {h}"),
            format!("## x {h}\n\n## x {h}"),
            format!("| {h} |\n|---|\n| {h} |"),
            format!("> [!WARNING]\n> {h}"),
            format!("- [ ] {h}"),
            format!("*{h}*"),
            format!("[{h}](/ok)"),
            format!("![{h}](/ok.png)"),
            format!("[x](/ok \"{h}\")"),
            format!("<details><summary>{h}</summary>\n\n{h}\n\n</details>"),
            format!("<!-- {h} -->{h}"),
        ]);
    }
    v.extend(
        [
            // Attribute break-outs through Markdown's own attributes.
            "[x](/a \"\\\" onmouseover=\\\"alert(1)\")",
            "![x\" onerror=\"alert(1)](/a.png)",
            "```js\" onmouseover=\"alert(1)\nx\n```",
            "```\" class=\"x\nx\n```",
            "# x\" onmouseover=\"alert(1)",
            "x[^a\"onmouseover=alert(1)]\n\n[^a\"onmouseover=alert(1)]: y",
            // SVG and MathML namespace confusion (mXSS).
            "<svg><style><img src=x onerror=alert(1)></style></svg>",
            "<svg></p><style><a id=\"</style><img src=1 onerror=alert(1)>\">",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            "<math><mtext><table><mglyph><svg><mtext><style><path id=\"</style><img onerror=alert(1) src>\">",
            "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
            "<math><annotation-xml encoding=\"text/html\"><img src=x onerror=alert(1)></annotation-xml></math>",
            "<svg><foreignObject><img src=x onerror=alert(1)></foreignObject></svg>",
            "<svg><![CDATA[><img src=x onerror=alert(1)>]]></svg>",
            "<svg><title><img src=x onerror=alert(1)></title></svg>",
            "<math><style><img src=x onerror=alert(1)></style></math>",
            "<svg><a xlink:href=\"javascript:alert(1)\"><text x=1 y=1>x</text></a></svg>",
            "<svg><animate attributeName=href to=javascript:alert(1) /><a><text>x</text></a></svg>",
            "<svg><use href=\"data:image/svg+xml,<svg id=x onload=alert(1)>\"/></svg>",
            "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
            "<noembed><img title=\"</noembed><img src onerror=alert(1)>\"></noembed>",
            "<xmp><img title=\"</xmp><img src onerror=alert(1)>\"></xmp>",
            "<textarea><img title=\"</textarea><img src onerror=alert(1)>\"></textarea>",
            "<title><img title=\"</title><img src onerror=alert(1)>\"></title>",
            "<style><img title=\"</style><img src onerror=alert(1)>\"></style>",
            "<table><caption><svg><style><img src=x onerror=alert(1)>",
            "<select><template><style><img src=x onerror=alert(1)>",
            // DOM clobbering and `name`.
            "<img id=\"createElement\" name=\"cookie\" src=\"/a.png\">",
            "<a id=\"location\" name=\"defaultView\" href=\"/x\">x</a>",
            "<form id=\"x\"><input name=\"attributes\"></form>",
            // Inline elements left open by an HTML block.
            "<b>\n\nbold?\n\n[x](javascript:alert(1))",
            "<a href=\"/x\">\n\n<img src=x onerror=alert(1)>\n",
        ]
        .map(str::to_string),
    );
    v
}

/// Runs `problems` over every vector; the failures, at most `limit` of them, are reported.
fn check(vectors: impl Iterator<Item = (String, String)>) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, md) in vectors {
        count += 1;
        let out = crate::render(&md).html;
        for p in problems(&out) {
            failures.push(format!("{name}: {p}\n  in: {md:?}\n  out: {out:?}"));
        }
    }
    (count, failures)
}

/// The failures counted by kind, then the first few in full.
fn report(failures: &[String]) -> String {
    let mut kinds = std::collections::BTreeMap::new();
    for f in failures {
        let kind = f.split(": ").nth(1).unwrap_or_default();
        let kind: String = kind
            .chars()
            .take_while(|c| *c != '"' && *c != '{')
            .collect();
        *kinds.entry(kind).or_insert(0) += 1;
    }
    let mut out = format!("{} failures\n", failures.len());
    for (kind, n) in kinds {
        out.push_str(&format!("{n:6} {kind}\n"));
    }
    out.push_str(&failures[..failures.len().min(12)].join("\n"));
    out
}

#[test]
fn public_xss_corpus_against_ammonia() {
    let corpus = corpus();
    // Each payload as a block of its own, inside a paragraph, and in a list item.
    let vectors = corpus.iter().enumerate().flat_map(|(i, p)| {
        [
            (format!("corpus {i}"), p.clone()),
            (format!("corpus {i} inline"), format!("Text {p} after.")),
            (format!("corpus {i} item"), format!("- {p}\n- next")),
        ]
    });
    let (count, failures) = check(vectors);
    assert_eq!(count, 6243 * 3);
    assert!(failures.is_empty(), "{}", report(&failures));
}

#[test]
fn markdown_vectors_against_ammonia() {
    let vectors = markdown_vectors();
    assert_eq!(vectors.len(), 3742);
    let (_, failures) = check(
        vectors
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("markdown {i}"), v)),
    );
    assert!(failures.is_empty(), "{}", report(&failures));
}

/// The checks themselves catch what they are for (so a pass above means something).
#[test]
fn the_checks_catch_unsafe_html() {
    for unsafe_html in [
        "<img src=x onerror=alert(1)>",
        "<a href=\"&#106;avascript:alert(1)\">x</a>",
        "<a href=\" java&#x09;script:alert(1)\">x</a>",
        "<img src=\"data:image/png,x\">",
        "<svg><a>x</a></svg>",
        "<div id=\"location\">x</div>",
        "<span class=\"evil\">x</span>",
        "<script>alert(1)</script>",
        "<p style=\"color:red\">x</p>",
    ] {
        assert!(!problems(unsafe_html).is_empty(), "{unsafe_html}");
    }
    for safe in [
        "<p><a href=\"https://x.example/\" rel=\"noopener noreferrer\">x</a></p>",
        "<h2 id=\"install\">Install</h2>",
        "<span id=\"user-content-x\">x</span>",
    ] {
        assert_eq!(problems(safe), Vec::<String>::new(), "{safe}");
    }
    // The tokenizer reads raw text as a browser does: this is one style element's text.
    let seen = tokenize("<style>a{}</p><img src=x onerror=alert(1)></style><p>");
    assert_eq!(seen.tags.len(), 2);
    assert_eq!(seen.text, "a{}</p><img src=x onerror=alert(1)>");
}

/// `custom_css` cannot leave its `<style>` element, and the element's text — what the browser
/// hashes for the page's CSP — is exactly what the server emitted and hashed.
#[test]
fn custom_css_stays_inert() {
    let mut vectors: Vec<String> = [
        "</style><script>alert(1)</script>",
        "</STYLE><img src=x onerror=alert(1)>",
        "</style ><img src=x onerror=alert(1)>",
        "</style\t><svg onload=alert(1)>",
        "</style\n><svg onload=alert(1)>",
        "</style\r\n><svg onload=alert(1)>",
        "</sTyLe/><iframe srcdoc=\"<script>alert(1)</script>\">",
        "<!--</style><script>alert(1)</script>-->",
        "<![CDATA[</style><script>alert(1)</script>]]>",
        "</style\0><script>alert(1)</script>",
        "</st\0yle><script>alert(1)</script>",
        "body { background: url(\"javascript:alert(1)\") }",
        "body { background: url(javascript:alert(1)) }",
        "body { background-image: url(data:image/svg+xml,<svg onload=alert(1)>) }",
        "a { x: expression(alert(1)) }",
        "a { width: expression(alert(document.cookie)) }",
        "@import url(\"javascript:alert(1)\");",
        "@import 'javascript:alert(1)';",
        "@import url(https://evil.example/x.css);",
        "div { behavior: url(x.htc); -moz-binding: url(x.xml#xss) }",
        ".kb-content::before { content: \"</style><script>alert(1)</script>\" }",
        "a{}\r\nb{color:red}\r\n\rc{}\n\r",
    ]
    .map(str::to_string)
    .to_vec();
    vectors.extend(corpus().into_iter().step_by(7));
    for css in vectors {
        let inert = crate::inert_css(&css);
        let page = format!("<style>{inert}</style><p id=\"after\">");
        let seen = tokenize(&page);
        let names: Vec<&str> = seen.tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["style", "p"], "{css:?} -> {inert:?}");
        assert_eq!(seen.end_tags, ["style"], "{css:?} -> {inert:?}");
        assert_eq!(seen.text, inert, "the browser's text differs: {css:?}");
    }
}
