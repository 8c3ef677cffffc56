//! The page templates, embedded at compile time and parsed once.

use std::sync::LazyLock;

use minijinja::Environment;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html",
        include_str!("../../templates/hosted/base.html"),
    ),
    (
        "macros.html",
        include_str!("../../templates/hosted/macros.html"),
    ),
    (
        "layout_minimal.html",
        include_str!("../../templates/hosted/layout_minimal.html"),
    ),
    (
        "layout_developer.html",
        include_str!("../../templates/hosted/layout_developer.html"),
    ),
    (
        "layout_brand.html",
        include_str!("../../templates/hosted/layout_brand.html"),
    ),
    (
        "layout_docs.html",
        include_str!("../../templates/hosted/layout_docs.html"),
    ),
    (
        "layout_bare.html",
        include_str!("../../templates/hosted/layout_bare.html"),
    ),
    (
        "home.html",
        include_str!("../../templates/hosted/home.html"),
    ),
    (
        "category.html",
        include_str!("../../templates/hosted/category.html"),
    ),
    (
        "section.html",
        include_str!("../../templates/hosted/section.html"),
    ),
    (
        "article.html",
        include_str!("../../templates/hosted/article.html"),
    ),
    (
        "search.html",
        include_str!("../../templates/hosted/search.html"),
    ),
    ("faq.html", include_str!("../../templates/hosted/faq.html")),
    ("ask.html", include_str!("../../templates/hosted/ask.html")),
    (
        "error.html",
        include_str!("../../templates/hosted/error.html"),
    ),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Pages share layouts that look at optional context (`category.id` on a home page): missing
    // values read as empty rather than failing the page.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env.set_formatter(format_value);
    // `.html` templates escape every value unless a template marks it `|safe` (only sanitised
    // article HTML is).
    for &(name, source) in TEMPLATES {
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "hosted template does not parse");
        }
    }
    env
});

/// minijinja's HTML escaping also escapes `/`, which is not needed inside quoted attributes or
/// text and makes every URL unreadable; this escapes exactly `& < > " '`.
pub fn format_value(
    out: &mut minijinja::Output<'_>,
    state: &minijinja::State<'_, '_>,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    let html = matches!(state.auto_escape(), minijinja::AutoEscape::Html);
    if !html || value.is_safe() || value.is_undefined() || value.is_none() {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = value.to_string();
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    out.write_str(&escaped)
        .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write failed"))
}

/// Renders the named template with `ctx`.
pub fn render(name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
    ENV.get_template(name)?.render(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for &(name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                panic!("{name}: {e:#}");
            }
        }
    }
}
