//! Tome's Markdown rendering for the hosted help centre.
//!
//! [`render`] turns an article body into HTML that is safe to put in a page: CommonMark with
//! tables, task lists, strikethrough, footnotes, GitHub-style alerts and heading anchors; fenced
//! code blocks highlighted with CSS classes (`hl-*`, see [`highlight::css`]); everything written
//! through an allow-list sanitiser in the same pass, so no script, event handler or
//! `javascript:`/`data:` URL can survive whatever the author wrote. [`excerpt`] gives the plain text for meta descriptions and
//! [`inert_css`] makes operator-supplied CSS unable to leave its `<style>` element.

#[cfg(test)]
mod differential;
pub mod highlight;
mod html;
#[cfg(test)]
mod legacy;
mod markdown;
mod sanitize;
mod text;

pub use markdown::{Rendered, TocEntry, render};
pub use text::{Passage, excerpt, passages, plain_text, search_text, slugify};

/// Makes CSS safe to embed between `<style>` and `</style>`, spelt exactly as the browser will
/// hold it, so a Content-Security-Policy hash of the result matches the element.
///
/// An HTML parser ends a style element at the first `</style` followed by whitespace, `/` or
/// `>`, in any letter case; CSS itself never needs a literal `<` outside strings and comments, so
/// every `<` becomes the CSS escape `\3c ` — identical inside strings, meaningless elsewhere —
/// and no byte sequence in the result can close the element.
///
/// The browser hashes the element's text as parsed, after the HTML input stream's
/// preprocessing: CR LF and lone CR become LF and NUL becomes U+FFFD. The same is done here, so
/// CSS typed on Windows (CR LF) is not blocked whole by the page's own policy.
pub fn inert_css(css: &str) -> String {
    let mut out = String::with_capacity(css.len() + 16);
    let mut chars = css.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => out.push_str("\\3c "),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_cannot_close_its_style_element() {
        for attack in [
            "</style><script>alert(1)</script>",
            "</STYLE ><img src=x onerror=alert(1)>",
            "</sTyLe\n><svg onload=alert(1)>",
            "a{} </style/><script>alert(1)</script>",
            "<!--</style>-->",
        ] {
            let out = inert_css(attack);
            assert!(!out.contains('<'), "{attack:?} -> {out:?}");
        }
        assert_eq!(
            inert_css("a{}\r\nb{}\rc{}\n\r\nd{content:\"\0\"}"),
            "a{}\nb{}\nc{}\n\nd{content:\"\u{fffd}\"}"
        );
        assert_eq!(
            inert_css(".a::before { content: \"<\" }"),
            ".a::before { content: \"\\3c \" }"
        );
    }
}
