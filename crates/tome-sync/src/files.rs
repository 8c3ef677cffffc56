//! The files of a source folder, read into memory under the update limits.

use std::collections::BTreeMap;

/// Most files a source folder may hold.
pub const MAX_FILES: usize = 10_000;
/// Largest single file.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Every file under the source folder: path relative to it (`/`-separated, no leading `/`) →
/// contents. Hidden files and folders (a leading `.` in any part) are left out.
#[derive(Debug, Default, Clone)]
pub struct Files {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Files {
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(|b| std::str::from_utf8(b).ok())
    }
}

impl Files {
    /// Reads the files of a folder that a format reader uses (`.md`, `.mdx`, `.markdown`,
    /// `.json`), skipping hidden files and folders and the `exclude`d paths (relative to
    /// `root`). Symlinked folders are not followed. Fails over [`MAX_FILES`] such files or on
    /// a Markdown file over [`MAX_FILE_BYTES`] (JSON files that big are API descriptions, not
    /// navigation, and are left out).
    pub fn read_dir(root: &std::path::Path, exclude: &[String]) -> anyhow::Result<Files> {
        use anyhow::{Context, bail};
        let exclude: Vec<&str> = exclude
            .iter()
            .map(|e| e.trim_start_matches("./").trim_end_matches('/'))
            .filter(|e| !e.is_empty())
            .collect();
        let mut files = Files::default();
        let mut dirs = vec![(root.to_path_buf(), String::new())];
        while let Some((dir, prefix)) = dirs.pop() {
            let entries =
                std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
            for entry in entries {
                let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else {
                    bail!("{}: file names must be UTF-8", entry.path().display());
                };
                if name.starts_with('.') {
                    continue;
                }
                let rel = format!("{prefix}{name}");
                if exclude
                    .iter()
                    .any(|e| rel == *e || rel.strip_prefix(e).is_some_and(|r| r.starts_with('/')))
                {
                    continue;
                }
                let kind = entry.file_type()?;
                let path = entry.path();
                if kind.is_dir() {
                    dirs.push((path, format!("{rel}/")));
                    continue;
                }
                let lower = rel.to_lowercase();
                let wanted = [".md", ".mdx", ".markdown", ".json"]
                    .iter()
                    .any(|ext| lower.ends_with(ext));
                if !wanted || !(kind.is_file() || (kind.is_symlink() && path.is_file())) {
                    continue;
                }
                let size = std::fs::metadata(&path)?.len();
                // A big JSON file is an API description, never navigation: not needed.
                if size > MAX_FILE_BYTES && lower.ends_with(".json") {
                    continue;
                }
                if size > MAX_FILE_BYTES {
                    bail!("{rel}: the file is larger than {MAX_FILE_BYTES} bytes");
                }
                if files.files.len() >= MAX_FILES {
                    bail!("the folder has more than {MAX_FILES} Markdown and JSON files");
                }
                let bytes = std::fs::read(&path).with_context(|| format!("reading {rel}"))?;
                files.files.insert(rel, bytes);
            }
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn read_dir_reads_what_readers_use() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("skip")).unwrap();
        std::fs::write(root.join("docs.json"), "{}").unwrap();
        std::fs::write(root.join("a/b/page.mdx"), "x").unwrap();
        std::fs::write(root.join("a/logo.png"), "png").unwrap();
        std::fs::write(root.join(".git/config"), "x").unwrap();
        std::fs::write(root.join("skip/x.md"), "x").unwrap();
        std::fs::write(
            root.join("openapi.json"),
            vec![b' '; MAX_FILE_BYTES as usize + 1],
        )
        .unwrap();
        let files = Files::read_dir(root, &["skip/".into()]).unwrap();
        let paths: Vec<&str> = files.files.keys().map(String::as_str).collect();
        assert_eq!(paths, ["a/b/page.mdx", "docs.json"]);
        assert_eq!(files.text("a/b/page.mdx"), Some("x"));

        std::fs::write(root.join("big.md"), vec![b'x'; MAX_FILE_BYTES as usize + 1]).unwrap();
        let err = Files::read_dir(root, &[]).unwrap_err().to_string();
        assert!(err.starts_with("big.md: "), "{err}");
    }
}
