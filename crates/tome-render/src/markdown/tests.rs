use super::*;

fn html(md: &str) -> String {
    render(md).html
}

#[test]
fn commonmark_and_extensions() {
    let out =
        html("# Title\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n~~gone~~\n");
    assert!(out.contains("<table>"), "{out}");
    assert!(out.contains("<th class=\"align-left\">a</th>"), "{out}");
    assert!(out.contains("<td class=\"align-right\">2</td>"), "{out}");
    assert!(out.contains("<div class=\"table-wrap\">"), "{out}");
    assert!(out.contains("type=\"checkbox\""), "{out}");
    assert!(out.contains("checked"), "{out}");
    assert!(out.contains("<del>gone</del>"), "{out}");
    assert!(!out.contains("style="), "{out}");
}

#[test]
fn headings_get_unique_anchors_and_a_toc() {
    let r = render("## Install\n\ntext\n\n### Install\n\n## `cargo` *build*\n\n#### Deep");
    assert!(
        r.html
            .contains("<h2 id=\"install\">Install<a class=\"anchor\" href=\"#install\"")
    );
    assert!(r.html.contains("<h3 id=\"install-1\">"));
    assert_eq!(
        r.toc,
        vec![
            TocEntry {
                level: 2,
                id: "install".into(),
                text: "Install".into()
            },
            TocEntry {
                level: 3,
                id: "install-1".into(),
                text: "Install".into()
            },
            TocEntry {
                level: 2,
                id: "cargo-build".into(),
                text: "cargo build".into()
            },
        ]
    );
}

#[test]
fn footnotes_are_numbered_and_collected() {
    let out = html("First[^b] and second[^a].\n\n[^a]: Note A.\n[^b]: Note B.\n");
    assert!(
        out.contains("<sup class=\"fnref\" id=\"fnref-b\"><a href=\"#fn-b\""),
        "{out}"
    );
    assert!(out.contains(">1</a></sup> and second"), "{out}");
    let b = out.find("id=\"fn-b\"").unwrap_or(usize::MAX);
    let a = out.find("id=\"fn-a\"").unwrap_or(0);
    assert!(b < a, "footnotes in reference order: {out}");
    assert!(out.contains("class=\"footnotes\""), "{out}");
}

#[test]
fn code_blocks_are_highlighted() {
    let out = html("```rust\nfn main() {}\n```\n\n```\nplain <b>\n```\n");
    assert!(
        out.contains("<pre class=\"code\" data-lang=\"rust\"><code class=\"language-rust\">"),
        "{out}"
    );
    assert!(out.contains("hl-"), "{out}");
    assert!(out.contains("plain &lt;b&gt;"), "{out}");
}

#[test]
fn code_block_titles_are_kept_as_data() {
    let out = html("```bash npm \"x\" <b>\nnpm i -g mint\n```\n");
    assert!(out.contains("data-lang=\"bash\""), "{out}");
    assert!(
        out.contains("data-title=\"npm &quot;x&quot; &lt;b&gt;\""),
        "{out}"
    );
}

#[test]
fn alerts_keep_their_class() {
    let out = html("> [!TIP]\n> Use the CLI.\n");
    assert!(out.contains("markdown-alert-tip"), "{out}");
}

/// Each of these must come out with no way to run script.
const ATTACKS: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"javascript:alert(1)\">",
    "<img src=\"data:image/svg+xml;base64,PHN2Zz4=\">",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "<a href=\" javascript:alert(1)\">x</a>",
    "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "![x](javascript:alert(1))",
    "![x](data:image/png;base64,AAAA)",
    "[x]: javascript:alert(1)\n\n[x]",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<object data=\"x.swf\"></object>",
    "<embed src=\"x.swf\">",
    "<form action=\"https://evil\"><input name=q></form>",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)><summary>x</summary></details>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<style>body{display:none}</style>",
    "<link rel=stylesheet href=//evil/x.css>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"https://evil/\">",
    "<body onload=alert(1)>",
    "<p onclick=\"alert(1)\">x</p>",
    "<a href=\"#\" onmouseover=\"alert(1)\">x</a>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<table background=\"javascript:alert(1)\"><tr><td>x</td></tr></table>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<!--><script>alert(1)</script>-->",
    "<textarea></textarea><script>alert(1)</script>",
    "```html\n</code></pre><script>alert(1)</script>\n```",
    "```\"><script>alert(1)</script>\nx\n```",
    "`<script>alert(1)</script>`",
    "<a href=\"https://ok.example\" target=\"_blank\" onclick=\"alert(1)\">ok</a>",
    "<img src=\"https://ok.example/a.png\" srcset=\"javascript:alert(1) 1x\">",
    "<a href=\"java\nscript:alert(1)\">x</a>",
    "<a href=\"java&#x09;script:alert(1)\">x</a>",
    "<h2 id=\"x\" onmouseover=alert(1)>T</h2>",
    "<span class=\"x\" style=\"position:fixed;inset:0\">overlay</span>",
    "[^a]\n\n[^a]: <img src=x onerror=alert(1)>",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    "- [ ] <script>alert(1)</script>",
    "# <script>alert(1)</script>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
];

#[test]
fn no_attack_survives() {
    for attack in ATTACKS {
        let out = html(attack).to_ascii_lowercase();
        for bad in [
            "<script",
            "javascript:",
            "vbscript:",
            "data:",
            " on",
            "<iframe",
            "<object",
            "<embed",
            "<form",
            "<style",
            "<link",
            "<meta",
            "<base",
            "<svg",
            "<math",
            "style=",
            "srcset",
        ] {
            if bad == " on" {
                // Event handler attributes, not words in text or attribute values.
                let names = attribute_names(&out);
                assert!(
                    !names.iter().any(|n| n.starts_with("on")),
                    "{attack:?} -> {out}"
                );
                continue;
            }
            assert!(!out.contains(bad), "{attack:?} kept {bad:?}: {out}");
        }
    }
}

/// The names of the attributes in `html`'s tags (the writer double-quotes every value and
/// escapes `<` and `>` everywhere else, so tags and values are easy to tell apart).
fn attribute_names(html: &str) -> Vec<String> {
    let mut names = Vec::new();
    let (mut in_tag, mut in_value, mut name) = (false, false, String::new());
    for c in html.chars() {
        match c {
            '<' if !in_value => in_tag = true,
            '>' if in_tag && !in_value => {
                in_tag = false;
                name.clear();
            }
            '"' if in_tag => in_value = !in_value,
            _ if in_tag && !in_value => {
                if c == '=' || c == ' ' {
                    if c == '=' && !name.is_empty() {
                        names.push(std::mem::take(&mut name));
                    }
                    name.clear();
                } else {
                    name.push(c);
                }
            }
            _ => {}
        }
    }
    names
}

#[test]
fn editable_inputs_are_removed() {
    let out = html("<input type=\"text\" value=\"x\"> <input type=\"checkbox\">");
    assert!(!out.contains("type=\"text\""), "{out}");
    assert!(
        out.contains("<input disabled=\"\" type=\"checkbox\">") || out.contains("disabled"),
        "{out}"
    );
}

#[test]
fn safe_links_and_images_remain() {
    let out = html(
        "[docs](https://example.com/a) [rel](/hc/x) ![alt](https://example.com/i.png) <details><summary>More</summary>Body</details>",
    );
    assert!(out.contains("href=\"https://example.com/a\""), "{out}");
    assert!(out.contains("href=\"/hc/x\""), "{out}");
    assert!(out.contains("src=\"https://example.com/i.png\""), "{out}");
    assert!(out.contains("<details><summary>More</summary>"), "{out}");
    assert!(out.contains("rel=\"noopener noreferrer\""), "{out}");
}

/// Every `.mdx` page of the Mintlify corpus (raw Markdown full of JSX-style HTML) and a slice
/// of the tldr pages, plus the attacks above.
fn corpus() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    let mintlify = root.join("mintlify-docs");
    assert!(
        mintlify.join("docs.json").exists(),
        "the mintlify-docs corpus is missing at {}",
        mintlify.display()
    );
    let mut docs = Vec::new();
    let mut dirs = vec![mintlify];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("corpus folder") {
            let path = entry.expect("corpus entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "mdx" || e == "md") {
                let text = std::fs::read_to_string(&path).expect("corpus page");
                docs.push((path.display().to_string(), text));
            }
        }
    }
    let tldr = std::fs::read_to_string(root.join("tldr/pages-en.jsonl")).expect("tldr corpus");
    for (i, line) in tldr.lines().step_by(25).enumerate() {
        let start = line.find("\"body\":").map_or(0, |s| s + 7);
        docs.push((format!("tldr line {i}"), line[start..].to_string()));
    }
    for (i, attack) in ATTACKS.iter().enumerate() {
        docs.push((format!("attack {i}"), attack.to_string()));
    }
    docs
}

/// The old sanitiser (ammonia over the whole page) finds nothing to remove in the writer's
/// output: every element, attribute and URL the writer lets through is one it allowed too.
/// (Its parser may add elements — `tbody`, or a `p` its tree rules imply — but none of ours may
/// go missing.)
#[test]
fn the_old_allow_list_finds_nothing_to_remove() {
    let mut failures = Vec::new();
    for (name, md) in corpus() {
        let new = html(&md);
        let mut kept = start_tags(&crate::legacy::clean(&new));
        for tag in start_tags(&new) {
            match kept.iter().position(|k| *k == tag) {
                Some(at) => {
                    kept.swap_remove(at);
                }
                None => failures.push(format!("{name}: removed {tag}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Start tags with their attributes (values decoded the way html5ever re-encodes them).
fn start_tags(html: &str) -> Vec<String> {
    let mut tags = Vec::new();
    let mut at = 0;
    while at < html.len() {
        let (token, next) = crate::sanitize::next(html, at);
        at = next;
        if let crate::sanitize::Token::Start { name, attrs } = token {
            let mut tag = name;
            for (attr, value) in crate::sanitize::attributes(attrs) {
                let value = value
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&nbsp;", "\u{a0}")
                    .replace("&amp;", "&");
                tag.push_str(&format!(" {attr}={value:?}"));
            }
            tags.push(tag);
        }
    }
    tags
}

/// On documents without raw HTML the writer renders what the old pipeline rendered, byte for
/// byte. (With raw HTML the two differ where the old parser restructured the author's markup or
/// dropped the content of unknown elements; the test above covers those documents.)
#[test]
fn matches_the_old_pipeline() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, md) in corpus() {
        let raw_html = Parser::new_ext(&md, options())
            .any(|e| matches!(e, Event::Html(_) | Event::InlineHtml(_)));
        if raw_html {
            continue;
        }
        compared += 1;
        let new = html(&md);
        let old = crate::legacy::render(&md);
        if old != new {
            failures.push(format!("{name}:\n{}", first_difference(&new, &old)));
        }
    }
    assert!(
        compared >= 300,
        "only {compared} documents without raw HTML"
    );
    assert!(
        failures.is_empty(),
        "{} of {compared} differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn first_difference(a: &str, b: &str) -> String {
    let at = a
        .bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let from = at.saturating_sub(80);
    let show = |s: &str| {
        let lo = (0..=from.min(s.len()))
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        let hi = ((at + 80).min(s.len())..=s.len())
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(s.len());
        s[lo..hi].to_string()
    };
    format!("  new: {:?}\n  old: {:?}", show(a), show(b))
}

#[test]
fn raw_elements_stay_inside_their_block() {
    // An element left open is closed with the list item it was opened in…
    assert_eq!(
        html("- a <span>b\n- c\n"),
        "<ul>\n<li>a <span>b</span></li>\n<li>c</li>\n</ul>\n"
    );
    // …end tags with nothing to close are dropped, so they cannot close the page's elements…
    assert_eq!(html("x</div></article></main>\n"), "<p>x</p>\n");
    assert_eq!(html("<p>a</p></div>\n\nb\n"), "<p>a</p>\n<p>b</p>\n");
    // …and an element open at the end of the document is closed there.
    assert_eq!(html("<div>\n\ntext\n"), "<div>\n<p>text</p>\n</div>");
    // Raw elements may span Markdown blocks at the same level.
    assert_eq!(
        html("<details><summary>More</summary>\n\nBody\n\n</details>\n"),
        "<details><summary>More</summary>\n<p>Body</p>\n</details>\n"
    );
    // An end tag closes what was opened inside the element.
    assert_eq!(
        html("<div><b><i>x</div>y\n"),
        "<div><b><i>x</i></b></div>y\n"
    );
}

#[test]
fn raw_tags_are_rebuilt_from_the_allow_list() {
    // Attributes are re-quoted; unknown ones and event handlers go; a tag may span lines.
    assert_eq!(
        html(
            "<div\n  class=\"table-wrap evil\" data-x=1 onclick=alert(1)\n  title='a \"b\"'>x</div>\n"
        ),
        "<div class=\"table-wrap\" title=\"a &quot;b&quot;\">x</div>\n"
    );
    // Disallowed tags go but their content stays; script and style content goes too.
    assert_eq!(
        html("<custom><b>kept</b></custom><script>gone()</script><style>p{}</style>\n"),
        "<p><b>kept</b></p>\n"
    );
    assert_eq!(
        html("<script>\nif (a < b) { document.write('</p>') }\n</script>\n\nafter\n"),
        "\n<p>after</p>\n"
    );
    assert_eq!(html("a <script>gone</script> b\n"), "<p>a  b</p>\n");
    // Comments, declarations and processing instructions are dropped; a stray `<` is text.
    assert_eq!(
        html("a <!-- c --> b <?x?> c <!X> d < e\n"),
        "<p>a  b  c  d &lt; e</p>\n"
    );
    // Character references stay as written; a bare `&` is escaped.
    assert_eq!(
        html("<p title=\"&amp;&#x41;\">&copy; &amp; & x</p>\n"),
        "<p title=\"&amp;&#x41;\">&copy; &amp; &amp; x</p>\n"
    );
    // A reference where a URL's scheme could be loses the URL; after it, it is fine.
    assert_eq!(
        html("<a href=\"jav&#x61;script:alert(1)\">x</a> <a href=\"/a?b=1&amp;c=2\">y</a>\n"),
        "<p><a rel=\"noopener noreferrer\">x</a> <a href=\"/a?b=1&amp;c=2\" rel=\"noopener noreferrer\">y</a></p>\n"
    );
    // Only read-only checkboxes survive as inputs.
    assert_eq!(
        html("<input type=checkbox checked><input type=text><input>\n"),
        "<p><input disabled=\"\" type=\"checkbox\" checked=\"\"></p>\n"
    );
}

#[test]
fn author_ids_are_prefixed_and_their_links_follow() {
    // An id from raw HTML cannot name a global of the page (DOM clobbering)…
    let out = html("<img id=\"createElement\" src=\"/a.png\"> <a id=\"location\">x</a>\n");
    assert!(
        out.contains("<img id=\"user-content-createElement\""),
        "{out}"
    );
    assert!(out.contains("<a id=\"user-content-location\""), "{out}");
    assert!(!out.contains("id=\"location\""), "{out}");
    // …already prefixed ids stay as they are, and `name` never survives.
    let out = html("<span id=\"user-content-x\">x</span><img name=\"cookie\" src=\"/a.png\">\n");
    assert!(out.contains("<span id=\"user-content-x\">"), "{out}");
    assert!(!out.contains("name="), "{out}");
    // In-page links to an author id, in raw HTML and in Markdown, before or after it, follow it.
    let out = html(
        "[down](#target) <a href=\"#target\">raw</a>\n\n<div id=\"target\">here</div>\n\n[up](#target)\n",
    );
    assert_eq!(
        out.matches("href=\"#user-content-target\"").count(),
        3,
        "{out}"
    );
    assert!(out.contains("<div id=\"user-content-target\">"), "{out}");
    // Links to the renderer's own headings and footnotes, and to ids no author wrote, are kept.
    let out = html(
        "## Install\n\n<a id=\"install\"></a>[h](#install) [f](#fn-n) [t](#top) x[^n]\n\n[^n]: note\n",
    );
    assert!(out.contains("<h2 id=\"install\">"), "{out}");
    assert!(out.contains("<a id=\"user-content-install\""), "{out}");
    assert!(
        out.contains("href=\"#install\" rel=\"noopener noreferrer\">h</a>"),
        "{out}"
    );
    assert!(
        out.contains("href=\"#fn-n\" rel=\"noopener noreferrer\">f</a>"),
        "{out}"
    );
    assert!(out.contains("href=\"#top\""), "{out}");
    assert!(out.contains("id=\"fn-n\""), "{out}");
    assert!(out.contains("id=\"fnref-n\""), "{out}");
}

#[test]
fn inline_elements_end_with_their_html_block() {
    // A `<b>` alone in an HTML block no longer bolds the rest of the article.
    assert_eq!(
        html("<b>\n\nplain\n\nmore\n"),
        "<b>\n</b>\n<p>plain</p>\n<p>more</p>\n"
    );
    // Inside a block element the inline one is closed and the block stays open around the
    // Markdown that follows; one opened around a block element closes it too.
    assert_eq!(
        html("<div><span>\n\ntext\n\n</div>\n"),
        "<div><span>\n</span>\n<p>text</p>\n</div>\n"
    );
    assert_eq!(
        html("<div><b><div>\n\ntext\n"),
        "<div><b><div>\n</div></b>\n<p>text</p>\n</div>"
    );
    // Inline elements opened and closed in the block, and raw inline HTML in a paragraph, are
    // untouched.
    assert_eq!(
        html("<p><b>x</b></p>\n\ny\n"),
        "<p><b>x</b></p>\n<p>y</p>\n"
    );
    assert_eq!(html("a <b>b\n\nc\n"), "<p>a <b>b</b></p>\n<p>c</p>\n");
}
