//! File and folder names derived from titles, and titles derived from file names.

use std::collections::HashSet;

/// Longest name (in characters) that a derived file or folder name gets, before any suffix.
const NAME_MAX: usize = 80;

/// A name safe on every common file system: lowercase letters and digits (any script) joined by
/// single hyphens, at most 80 characters; `fallback` when nothing is left.
pub fn slugify(text: &str, fallback: &str) -> String {
    let mut out = String::new();
    let mut pending_hyphen = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if pending_hyphen && !out.is_empty() {
                out.push('-');
            }
            pending_hyphen = false;
            out.push(c);
            if out.chars().count() >= NAME_MAX {
                break;
            }
        } else {
            pending_hyphen = true;
        }
    }
    if out.is_empty() {
        return fallback.to_string();
    }
    // Windows cannot create files with these names, whatever the extension.
    const RESERVED: [&str; 22] = [
        "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
        "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
    ];
    if RESERVED.contains(&out.as_str()) {
        out.push_str("-1");
    }
    out
}

/// A slug for a knowledge base: like [`slugify`] but ASCII only (the API's slug rule).
pub fn kb_slug(text: &str) -> String {
    let ascii: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    slugify(&ascii, "")
}

/// Hands out names unique within one folder, case-insensitively: `a`, `a-2`, `a-3`, …
#[derive(Debug, Default)]
pub struct UniqueNames {
    used: HashSet<String>,
}

impl UniqueNames {
    /// The first free name among `base`, `base-2`, `base-3`, … (before `ext`, e.g. `.md`).
    pub fn claim(&mut self, base: &str, ext: &str) -> String {
        let mut n = 1;
        loop {
            let name = if n == 1 {
                format!("{base}{ext}")
            } else {
                format!("{base}-{n}{ext}")
            };
            if self.used.insert(name.to_lowercase()) {
                return name;
            }
            n += 1;
        }
    }
}

/// A readable title from a file or folder name: `reset-your_password` → `Reset your password`.
pub fn humanize(name: &str) -> String {
    let spaced: String = name
        .chars()
        .map(|c| if c == '-' || c == '_' { ' ' } else { c })
        .collect();
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let joined = words.join(" ");
    let mut chars = joined.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("Reset your password!", "x"), "reset-your-password");
        assert_eq!(slugify("  Über   uns — FAQ ", "x"), "über-uns-faq");
        assert_eq!(slugify("日本語のページ", "x"), "日本語のページ");
        assert_eq!(slugify("???", "untitled"), "untitled");
        assert_eq!(slugify("CON", "x"), "con-1");
        assert_eq!(slugify(&"a".repeat(300), "x").len(), NAME_MAX);
        assert_eq!(kb_slug("Help Centre (EN)"), "help-centre-en");
        assert_eq!(kb_slug("日本"), "");
    }

    #[test]
    fn unique_names() {
        let mut u = UniqueNames::default();
        assert_eq!(u.claim("a", ".md"), "a.md");
        assert_eq!(u.claim("a", ".md"), "a-2.md");
        assert_eq!(u.claim("A", ".md"), "A-3.md");
        assert_eq!(u.claim("a-2", ""), "a-2");
    }

    #[test]
    fn titles_from_names() {
        assert_eq!(humanize("reset-your_password"), "Reset your password");
        assert_eq!(humanize("api"), "Api");
        assert_eq!(humanize("ünicode"), "Ünicode");
    }
}
