//! Tome's Markdown rendering for the hosted help centre.
//!
//! [`render`] turns an article body into HTML that is safe to put in a page: CommonMark with
//! tables, task lists, strikethrough, footnotes, GitHub-style alerts and heading anchors; fenced
//! code blocks highlighted with CSS classes (`hl-*`, see [`highlight::css`]); everything written
//! through an allow-list sanitiser in the same pass, so no script, event handler or
//! `javascript:`/`data:` URL can survive whatever the author wrote. [`excerpt`] gives the plain text for meta descriptions and
//! [`inert_css`] makes operator-supplied CSS unable to leave its `<style>` element.

pub mod highlight;
mod html;
#[cfg(test)]
mod legacy;
mod markdown;
mod sanitize;
mod text;

pub use markdown::{Rendered, TocEntry, render};
pub use text::{excerpt, plain_text, search_text, slugify};

/// Makes CSS safe to embed between `<style>` and `</style>`.
///
/// An HTML parser ends a style element at the first `</style` followed by whitespace, `/` or
/// `>`, in any letter case; CSS itself never needs a literal `<` outside strings and comments, so
/// every `<` becomes the CSS escape `\3c ` — identical inside strings, meaningless elsewhere —
/// and no byte sequence in the result can close the element.
pub fn inert_css(css: &str) -> String {
    css.replace('<', "\\3c ")
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
            inert_css(".a::before { content: \"<\" }"),
            ".a::before { content: \"\\3c \" }"
        );
    }
}
