//! Field rules and the spec's Limits table. Lengths count characters, not bytes.

use std::fmt;

pub const SLUG_MAX: usize = 200;
pub const KB_TITLE_MAX: usize = 500;
pub const DESCRIPTION_MAX: usize = 10_000;
pub const CATEGORY_NAME_MAX: usize = 200;
pub const SECTION_NAME_MAX: usize = 200;
pub const ICON_MAX: usize = 100;
pub const ARTICLE_TITLE_MAX: usize = 500;
pub const ARTICLE_BODY_MAX: usize = 100_000;
pub const ARTICLE_EXCERPT_MAX: usize = 500;
pub const TAGS_MAX: usize = 20;
pub const TAG_MAX: usize = 100;
pub const RELATED_MAX: usize = 10;
pub const FAQ_QUESTION_MAX: usize = 500;
pub const FAQ_ANSWER_MAX: usize = 10_000;
pub const SITE_KEY_RATE_MIN: i64 = 1;
pub const SITE_KEY_RATE_MAX: i64 = 1000;
pub const SITE_KEY_RATE_DEFAULT: i64 = 100;
pub const BULK_MAX: usize = 20;
pub const CUSTOM_CSS_MAX: usize = 50_000;
pub const LOGO_PATH_MAX: usize = 2048;
pub const PROJECT_NAME_MAX: usize = 200;
pub const ALLOWED_DOMAINS_MAX: usize = 100;
pub const DOMAIN_MAX: usize = 253;
/// `sort_order` must fit in a 32-bit integer, which every client language can represent.
pub const SORT_ORDER_RANGE: std::ops::RangeInclusive<i64> = i32::MIN as i64..=i32::MAX as i64;

/// A field-level validation failure: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub field: String,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Prefixes the field with a bulk item position: `title` → `articles[3].title`.
    pub fn in_item(mut self, list: &str, index: usize) -> Self {
        self.field = format!("{list}[{index}].{}", self.field);
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for ValidationError {}

pub type Result<T> = std::result::Result<T, ValidationError>;

pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// A required, non-blank text of at most `max` characters.
pub fn text(field: &str, value: String, max: usize) -> Result<String> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    max_len(field, &value, max)?;
    Ok(value)
}

/// An optional text of at most `max` characters (may be empty). No text may contain U+0000:
/// it is never content, and PostgreSQL cannot store it, so an instance stays portable between
/// backends.
pub fn max_len(field: &str, value: &str, max: usize) -> Result<()> {
    if value.contains('\0') {
        return Err(ValidationError::new(
            field,
            "must not contain the NUL character (U+0000)",
        ));
    }
    let n = char_len(value);
    if n > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters (got {n})"),
        ));
    }
    Ok(())
}

pub fn required<T>(field: &str, value: Option<T>) -> Result<T> {
    value.ok_or_else(|| ValidationError::new(field, "is required"))
}

pub fn slug(value: String) -> Result<String> {
    if value.is_empty() {
        return Err(ValidationError::new("slug", "must not be empty"));
    }
    max_len("slug", &value, SLUG_MAX)?;
    if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(ValidationError::new(
            "slug",
            "may contain only lowercase letters a-z, digits 0-9 and hyphens",
        ));
    }
    Ok(value)
}

pub fn sort_order(field: &str, value: i64) -> Result<i64> {
    if !SORT_ORDER_RANGE.contains(&value) {
        return Err(ValidationError::new(field, "must be a 32-bit integer"));
    }
    Ok(value)
}

pub fn hex_color(field: &str, value: &str) -> Result<()> {
    let ok = value
        .strip_prefix('#')
        .is_some_and(|h| matches!(h.len(), 3 | 6) && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            "must be a hex colour like #4f46e5 or #fff",
        ))
    }
}

/// A logo is a site-relative path (`/logo.png`) or an `http(s)` URL; nothing that could run.
pub fn logo_path(value: &str) -> Result<()> {
    max_len("logo_path", value, LOGO_PATH_MAX)?;
    let lower = value.to_ascii_lowercase();
    let ok =
        (lower.starts_with("https://") || lower.starts_with("http://") || value.starts_with('/'))
            && !value.starts_with("//")
            && !value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>'));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            "logo_path",
            "must be an http(s) URL or a path starting with /",
        ))
    }
}

/// Normalises and checks an allowed domain: a bare host name or IP, optionally with a port.
pub fn domain(field: &str, value: &str) -> Result<String> {
    let v = value.trim().to_ascii_lowercase();
    let bad = || {
        ValidationError::new(
            field,
            "must be a bare host name such as example.com or localhost:5173 (no scheme, path or wildcard)",
        )
    };
    if v.is_empty() || v.len() > DOMAIN_MAX {
        return Err(bad());
    }
    let (host, port) = match v.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (v.as_str(), None),
    };
    let port_ok = |p: &str| {
        p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
    };
    if port.is_some_and(|p| !port_ok(p)) {
        return Err(bad());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if host.is_empty() || !host.split('.').all(label_ok) {
        return Err(bad());
    }
    Ok(v)
}

/// Checks and de-duplicates a list of IDs with one prefix.
pub fn id_list(field: &str, ids: Vec<String>, prefix: &str, max: usize) -> Result<Vec<String>> {
    if ids.len() > max {
        return Err(ValidationError::new(
            field,
            format!("must contain at most {max} items (got {})", ids.len()),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for (i, id) in ids.into_iter().enumerate() {
        if !crate::id::is_id(prefix, &id) {
            return Err(ValidationError::new(
                format!("{field}[{i}]"),
                format!("is not a valid ID (expected {prefix}…)"),
            ));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_rule() {
        assert!(slug("studbook-help".into()).is_ok());
        assert!(slug("a".repeat(200)).is_ok());
        assert!(slug("a".repeat(201)).is_err());
        assert!(slug("Upper".into()).is_err());
        assert!(slug("with space".into()).is_err());
        assert!(slug("ümlaut".into()).is_err());
        assert!(slug(String::new()).is_err());
    }

    #[test]
    fn lengths_count_characters() {
        assert!(max_len("t", &"é".repeat(500), 500).is_ok());
        assert!(max_len("t", &"é".repeat(501), 500).is_err());
    }

    #[test]
    fn no_text_holds_nul() {
        assert_eq!(
            max_len("body", "a\0b", 500).map_err(|e| e.field),
            Err("body".to_string())
        );
        assert!(text("title", "\0".into(), 10).is_err());
        assert!(
            max_len("t", "\u{1}\t\n", 10).is_ok(),
            "other control characters stay"
        );
    }

    #[test]
    fn colours_and_domains() {
        assert!(hex_color("c", "#4f46e5").is_ok());
        assert!(hex_color("c", "#FFF").is_ok());
        assert!(hex_color("c", "4f46e5").is_err());
        assert!(hex_color("c", "#12345").is_err());
        assert_eq!(domain("d", "Studbook.Farm").as_deref(), Ok("studbook.farm"));
        assert!(domain("d", "localhost:5173").is_ok());
        assert!(domain("d", "127.0.0.2").is_ok());
        assert!(domain("d", "https://x.com").is_err());
        assert!(domain("d", "*.x.com").is_err());
        assert!(domain("d", "x.com/path").is_err());
        assert!(domain("d", "x.com:0").is_err());
    }

    #[test]
    fn logo_paths() {
        assert!(logo_path("/static/logo.png").is_ok());
        assert!(logo_path("https://cdn.example.com/l.svg").is_ok());
        assert!(logo_path("javascript:alert(1)").is_err());
        assert!(logo_path("//evil.com/x").is_err());
        assert!(logo_path("data:image/png;base64,xx").is_err());
    }
}
