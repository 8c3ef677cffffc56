//! Syntax highlighting of fenced code blocks with CSS classes (no inline styles, so pages keep a
//! strict Content-Security-Policy), using syntect's bundled Sublime grammars.

use std::sync::LazyLock;

use syntect::html::{ClassStyle, ClassedHTMLGenerator, css_for_theme_with_class_style};
use syntect::parsing::{SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

/// Class prefix of every highlighted token (`hl-keyword`, `hl-string`, …).
const STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };

/// Code longer than this is shown unhighlighted: grammars are backtracking regexes, and one
/// enormous block must not cost a reader's request hundreds of milliseconds.
const MAX_HIGHLIGHT_BYTES: usize = 32 * 1024;

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// Loads the grammars now rather than on the first article with code.
pub fn warm_up() {
    LazyLock::force(&SYNTAXES);
}

/// Names commonly written after a fence that the bundled grammars know by another token.
fn alias(lang: &str) -> &str {
    match lang {
        "ts" | "typescript" | "tsx" | "jsx" | "mjs" | "cjs" | "javascript" | "node" => "js",
        "shell" | "console" | "zsh" | "sh" | "terminal" => "bash",
        "py" | "python3" => "python",
        "yml" => "yaml",
        "golang" => "go",
        "rs" => "rust",
        "c++" => "cpp",
        "csharp" | "c#" => "cs",
        "html" | "xml" | "svg" | "vue" => "html",
        "jsonc" | "json5" => "json",
        "rb" => "ruby",
        "kt" => "java",
        other => other,
    }
}

fn syntax_for(lang: &str) -> Option<&'static SyntaxReference> {
    if lang.is_empty() {
        return None;
    }
    let lower = lang.to_ascii_lowercase();
    SYNTAXES.find_syntax_by_token(alias(&lower))
}

/// The HTML of a code block's contents: highlighted spans when the language is known, escaped
/// text otherwise. The caller wraps it in `<pre><code>`.
pub fn highlight(code: &str, lang: &str) -> String {
    let syntax = if code.len() <= MAX_HIGHLIGHT_BYTES {
        syntax_for(lang)
    } else {
        None
    };
    let Some(syntax) = syntax else {
        return escape_text(code);
    };
    let mut generator = ClassedHTMLGenerator::new_with_class_style(syntax, &SYNTAXES, STYLE);
    for line in LinesWithEndings::from(code) {
        if generator
            .parse_html_for_line_which_includes_newline(line)
            .is_err()
        {
            // A grammar error is not the reader's problem: show the code plainly.
            return escape_text(code);
        }
    }
    let html = generator.finalize();
    // syntect also escapes quotes, which element content does not need; written plainly, the
    // output is byte for byte what an HTML serialiser writes for the same tree.
    if html.contains("&quot;") || html.contains("&#39;") {
        html.replace("&quot;", "\"").replace("&#39;", "'")
    } else {
        html
    }
}

/// Escapes text for element content.
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    crate::html::escape(&mut out, s, false);
    out
}

/// The stylesheet for highlighted code: light colours, plus dark ones under each of
/// `dark_scopes` (selectors of the elements inside which code is shown dark).
pub fn css(dark_scopes: &[&str]) -> String {
    let themes = syntect::highlighting::ThemeSet::load_defaults();
    let mut out = String::new();
    if let Some(light) = themes.themes.get("InspiredGitHub")
        && let Ok(css) = css_for_theme_with_class_style(light, STYLE)
    {
        out.push_str(&css);
    }
    if let Some(dark) = themes.themes.get("base16-ocean.dark")
        && let Ok(css) = css_for_theme_with_class_style(dark, STYLE)
    {
        // Scope every rule of the dark theme under the selector that switches pages to dark.
        for rule in css.split_inclusive('}') {
            let rule = rule.trim();
            if rule.is_empty() || rule.starts_with("/*") && !rule.contains('{') {
                continue;
            }
            let Some((selectors, body)) = rule.split_once('{') else {
                continue;
            };
            let selectors = strip_comments(selectors);
            let scoped: Vec<String> = dark_scopes
                .iter()
                .flat_map(|scope| {
                    selectors
                        .split(',')
                        .map(move |s| format!("{scope} {}", s.trim()))
                })
                .collect();
            out.push_str(&scoped.join(", "));
            out.push_str(" {");
            out.push_str(body);
            out.push('\n');
        }
    }
    out
}

fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        match rest[start..].find("*/") {
            Some(end) => rest = &rest[start + end + 2..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_get_classes() {
        let html = highlight("fn main() { let x = \"hi\"; }\n", "rust");
        assert!(html.contains("hl-"), "{html}");
        assert!(html.contains("hi") && !html.contains("<script"));
        let ts = highlight("const a: number = 1;\n", "TypeScript");
        assert!(ts.contains("hl-"), "{ts}");
    }

    #[test]
    fn unknown_languages_are_escaped_text() {
        assert_eq!(highlight("<b>&</b>", "nope"), "&lt;b&gt;&amp;&lt;/b&gt;");
        assert_eq!(highlight("<x>", ""), "&lt;x&gt;");
    }

    #[test]
    fn highlighted_code_cannot_inject_markup() {
        let html = highlight("</span><script>alert(1)</script>\n", "html");
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn stylesheet_has_light_and_scoped_dark_rules() {
        let css = css(&["[data-mode=dark]"]);
        assert!(css.contains(".hl-"));
        assert!(css.contains("[data-mode=dark] .hl-"));
    }
}
