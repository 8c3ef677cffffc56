//! The pipeline the writer replaced — pulldown-cmark's HTML writer, then the ammonia allow-list
//! over the whole page — kept for tests only: it is the reference the writer's output is
//! compared with, and its sanitiser checks that the writer emits nothing it would remove.

use std::collections::HashSet;
use std::sync::LazyLock;

use ammonia::Builder;
use pulldown_cmark::Event;

use crate::html::Piece;

/// The allow-list as it was configured for rendered articles.
static CLEANER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut b = Builder::default();
    b.rm_tags(["nav", "header", "footer", "area", "map"]);
    b.add_tags(["input", "section"]);
    b.url_schemes(HashSet::from(["http", "https", "mailto", "tel"]));
    b.add_generic_attributes(["id", "class"]);
    b.add_tag_attributes("input", ["type", "checked", "disabled"]);
    b.add_tag_attributes("pre", ["data-lang", "data-title"]);
    b.add_tag_attributes("img", ["width", "height", "loading"]);
    b.add_tag_attributes("a", ["aria-label"]);
    b.add_tag_attributes("section", ["aria-label"]);
    b.attribute_filter(|element, attribute, value| match (element, attribute) {
        (_, "class") => {
            let kept: Vec<&str> = value
                .split_whitespace()
                .filter(|c| crate::sanitize::class_allowed(c))
                .collect();
            (!kept.is_empty()).then(|| kept.join(" ").into())
        }
        (_, "id") => value
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
            .then_some(value.into()),
        ("input", "type") => (value == "checkbox").then_some(value.into()),
        ("pre", "data-lang") => value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'+' || b == b'#')
            .then_some(value.into()),
        _ => Some(value.into()),
    });
    b
});

/// Runs the old allow-list over `html`.
pub(crate) fn clean(html: &str) -> String {
    CLEANER.clean(html).to_string()
}

/// Renders `markdown` the old way.
pub(crate) fn render(markdown: &str) -> String {
    let (pieces, _, _) = crate::markdown::pieces(markdown);
    let events = pieces.into_iter().map(|p| match p {
        Piece::Event(e) => e,
        Piece::Trusted(h) | Piece::Enter(h) | Piece::Leave(h) => Event::Html(h.into()),
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    for side in ["left", "center", "right"] {
        html = html.replace(
            &format!(" style=\"text-align: {side}\""),
            &format!(" class=\"align-{side}\""),
        );
    }
    strip_editable_inputs(clean(&html))
}

fn strip_editable_inputs(html: String) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<input") {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find('>').map_or(tail.len(), |e| e + 1);
        let tag = &tail[..end];
        if tag.contains("type=\"checkbox\"") {
            if tag.contains("disabled") {
                out.push_str(tag);
            } else {
                out.push_str(&tag.replacen("<input", "<input disabled=\"\"", 1));
            }
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}
