//! `manifest.json`: the knowledge base's settings, its categories and sections with the folder
//! each maps to, and the list of item files, each list in creation order.

use serde::{Deserialize, Serialize};
use tome_core::model::ThemeSettings;

/// The `format` value of every manifest.
pub const FORMAT: &str = "tome-kb";
/// The newest format version this build reads and the one it writes.
pub const VERSION: u32 = 1;
/// The manifest's file name at the archive root.
pub const FILE_NAME: &str = "manifest.json";

/// The whole manifest. Only `format` and `version` are required, so a person can write a small
/// one by hand to name categories; everything else has a default.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// Informational: when and by what the archive was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    #[serde(default)]
    pub knowledge_base: Option<KbEntry>,
    /// In creation order.
    #[serde(default)]
    pub categories: Vec<CategoryEntry>,
    /// In creation order (across categories, which decides the order of equal `sort_order`s).
    #[serde(default)]
    pub sections: Vec<SectionEntry>,
    /// Informational: how many of each kind the export holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    /// Item files in creation order; files not listed are imported after them, by path.
    #[serde(default)]
    pub files: Vec<FileEntry>,
}

/// The knowledge base's settings.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KbEntry {
    /// Informational: the exported KB's ID. An import always creates a new KB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub title: Option<String>,
    pub slug: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub is_public: Option<bool>,
    #[serde(default)]
    pub theme: Option<String>,
    #[serde(default)]
    pub theme_settings: Option<ThemeSettings>,
    #[serde(default)]
    pub logo_path: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryEntry {
    /// Informational: the exported category's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    /// The top-level folder holding the category's files.
    pub folder: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    /// `category-folder/section-folder`; the first part names the section's category.
    pub folder: String,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub categories: usize,
    pub sections: usize,
    pub articles: usize,
    pub faqs: usize,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    /// Informational: `article` or `faq` (the file's front matter decides).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Informational: the item's ID in the exported KB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Lowercase hex SHA-256 of the file as exported; lets `--verify` tell edited files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Reads a manifest, naming the JSON path of any problem (`categories[2].folder: ...`).
pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let manifest: Manifest = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at = format!("line {}", inner.line());
        if path == "." {
            format!("{at}: {inner}")
        } else {
            format!("{at}: {path}: {inner}")
        }
    })?;
    if manifest.format != FORMAT {
        return Err(format!(
            "format: must be \"{FORMAT}\" (got {:?})",
            manifest.format
        ));
    }
    if manifest.version == 0 || manifest.version > VERSION {
        return Err(format!(
            "version: this Tome reads format versions 1 to {VERSION}, the archive is version {} \
             (written by a newer Tome?)",
            manifest.version
        ));
    }
    Ok(manifest)
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn minimal_and_bad_manifests() {
        let m = parse(br#"{"format": "tome-kb", "version": 1}"#).unwrap();
        assert!(m.categories.is_empty() && m.knowledge_base.is_none());
        let e = parse(
            br#"{"format": "tome-kb", "version": 1, "categories": [{"name": "A", "fodler": "a"}]}"#,
        )
        .unwrap_err();
        assert!(e.contains("categories[0]"), "{e}");
        assert!(e.contains("fodler"), "{e}");
        assert!(parse(br#"{"format": "other", "version": 1}"#).is_err());
        assert!(
            parse(br#"{"format": "tome-kb", "version": 2}"#)
                .unwrap_err()
                .contains("newer")
        );
        assert!(parse(b"not json").unwrap_err().starts_with("line 1"));
    }
}
