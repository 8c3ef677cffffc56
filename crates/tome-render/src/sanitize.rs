//! The allow-list every rendered article passes through, whatever its author wrote.

use std::collections::HashSet;
use std::sync::LazyLock;

use ammonia::Builder;

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

fn class_allowed(class: &str) -> bool {
    CLASSES.contains(&class)
        || class
            .strip_prefix("hl-")
            .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        || class.strip_prefix("language-").is_some_and(|rest| {
            rest.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'+')
        })
}

static CLEANER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut b = Builder::default();
    // Landmarks inside an article would confuse the page's own outline; image maps carry URLs
    // in places no one reviews.
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
                .filter(|c| class_allowed(c))
                .collect();
            (!kept.is_empty()).then(|| kept.join(" ").into())
        }
        // Ids become fragment targets; anything outside this alphabet is suspicious.
        (_, "id") => value
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
            .then_some(value.into()),
        // Only the read-only checkboxes of task lists.
        ("input", "type") => (value == "checkbox").then_some(value.into()),
        ("pre", "data-lang") => value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'+' || b == b'#')
            .then_some(value.into()),
        _ => Some(value.into()),
    });
    b
});

/// Sanitises HTML produced by the Markdown renderer (including any raw HTML the author wrote).
pub(crate) fn clean(html: &str) -> String {
    CLEANER.clean(html).to_string()
}

/// Inputs that are not read-only checkboxes are removed by giving them nothing to show:
/// the filter above drops a non-checkbox `type`, and a typeless input is a text box, so such
/// inputs are stripped here.
pub(crate) fn strip_editable_inputs(html: String) -> String {
    if !html.contains("<input") {
        return html;
    }
    let mut out = String::with_capacity(html.len());
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<input") {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find('>').map_or(tail.len(), |e| e + 1);
        let tag = &tail[..end];
        if tag.contains("type=\"checkbox\"") {
            // Task-list boxes are for reading, never for typing into.
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
