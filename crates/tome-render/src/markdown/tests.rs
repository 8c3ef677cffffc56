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
                // Event handler attributes, not words in text: ` onerror=`, ` onload=`.
                let has_handler = out.match_indices(" on").any(|(i, _)| {
                    out[i + 3..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphabetic())
                        .count()
                        > 0
                        && out[i + 3..]
                            .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                            .starts_with('=')
                });
                assert!(!has_handler, "{attack:?} -> {out}");
                continue;
            }
            assert!(!out.contains(bad), "{attack:?} kept {bad:?}: {out}");
        }
    }
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
