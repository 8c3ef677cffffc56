//! Reading an archive — a directory or a gzip tarball — into memory.
//!
//! Only Markdown files (`.md`, `.mdx`, `.markdown`) and the root `manifest.json` are read;
//! everything else is counted and skipped. Hidden files and folders (`.git`, `.DS_Store`) are
//! ignored. Paths are kept relative to the archive root with `/` separators.

use std::fs;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::manifest;

/// Largest single file read: far above any valid item (bodies are at most 100,000 characters),
/// low enough that a mistaken path cannot exhaust memory.
const FILE_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Largest total of files read from one archive (guards against decompression bombs).
const TOTAL_MAX_BYTES: u64 = 1024 * 1024 * 1024;

/// One Markdown file of the archive.
#[derive(Debug)]
pub struct SourceFile {
    /// Relative to the archive root, `/`-separated.
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Everything an import needs from the archive.
#[derive(Debug, Default)]
pub struct Tree {
    /// The archive's own name (folder name or file stem), for a default title and slug.
    pub name: String,
    pub manifest: Option<Vec<u8>>,
    /// Sorted by path.
    pub files: Vec<SourceFile>,
    /// Files that are neither Markdown nor the manifest, or were excluded.
    pub skipped: usize,
}

/// Whether `path` names a gzip tarball (by extension) rather than a directory.
pub fn is_tarball(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// Whether a relative path names an item file.
pub fn is_markdown(path: &str) -> bool {
    let lower = path.to_lowercase();
    [".md", ".mdx", ".markdown"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Reads `path`; `exclude` lists archive-relative files or folders to leave out.
pub fn read(path: &Path, exclude: &[String]) -> Result<Tree> {
    let exclude: Vec<String> = exclude
        .iter()
        .map(|e| e.trim_start_matches("./").trim_end_matches('/').to_string())
        .filter(|e| !e.is_empty())
        .collect();
    let mut tree = if is_tarball(path) {
        read_tarball(path, &exclude)?
    } else if path.is_dir() {
        let mut tree = Tree::default();
        let mut total = 0;
        walk(path, "", &exclude, &mut tree, &mut total)?;
        tree
    } else if path.exists() {
        bail!(
            "{} is neither a directory nor a .tar.gz/.tgz file",
            path.display()
        );
    } else {
        bail!("{} does not exist", path.display());
    };
    tree.name = archive_name(path);
    tree.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(tree)
}

pub fn archive_name(path: &Path) -> String {
    // A trailing slash or `.` would otherwise hide the folder's name.
    let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_lowercase();
    for ext in [".tar.gz", ".tgz"] {
        if lower.ends_with(ext) {
            return name[..name.len() - ext.len()].to_string();
        }
    }
    name
}

fn excluded(path: &str, exclude: &[String]) -> bool {
    exclude.iter().any(|e| {
        path == e
            || path
                .strip_prefix(e.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

fn hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// Counts a file against the limits before it is read.
fn check_size(rel: &str, size: u64, total: &mut u64) -> Result<()> {
    if size > FILE_MAX_BYTES {
        bail!("{rel}: file is larger than {FILE_MAX_BYTES} bytes");
    }
    *total += size;
    if *total > TOTAL_MAX_BYTES {
        bail!("the archive's Markdown files add up to more than {TOTAL_MAX_BYTES} bytes");
    }
    Ok(())
}

fn walk(
    dir: &Path,
    prefix: &str,
    exclude: &[String],
    tree: &mut Tree,
    total: &mut u64,
) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            bail!("{}: file names must be UTF-8", entry.path().display());
        };
        if hidden(name) {
            continue;
        }
        let rel = format!("{prefix}{name}");
        if excluded(&rel, exclude) {
            tree.skipped += 1;
            continue;
        }
        let path = entry.path();
        // Symlinked folders are not followed, so a link loop cannot make the walk endless;
        // symlinked files are read like files.
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, &format!("{rel}/"), exclude, tree, total)?;
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            if rel != manifest::FILE_NAME && !is_markdown(&rel) {
                tree.skipped += 1;
                continue;
            }
            check_size(&rel, fs::metadata(&path)?.len(), total)?;
            let bytes = fs::read(&path).with_context(|| format!("reading {rel}"))?;
            if rel == manifest::FILE_NAME {
                tree.manifest = Some(bytes);
            } else {
                tree.files.push(SourceFile { path: rel, bytes });
            }
        } else {
            tree.skipped += 1;
        }
    }
    Ok(())
}

fn read_tarball(path: &Path, exclude: &[String]) -> Result<Tree> {
    let file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut found: Vec<(String, Vec<u8>)> = Vec::new();
    let mut tree = Tree::default();
    let mut total = 0;
    let mut seen = std::collections::HashSet::new();
    let entries = archive
        .entries()
        .with_context(|| format!("reading {}", path.display()))?;
    for entry in entries {
        let mut entry = entry.with_context(|| format!("reading {}", path.display()))?;
        let kind = entry.header().entry_type();
        let raw = entry.path()?.into_owned();
        let Some(raw) = raw.to_str() else {
            bail!("{}: file names must be UTF-8", raw.display());
        };
        let rel = normalize(raw)?;
        if rel.is_empty() || rel.split('/').any(hidden) || kind.is_dir() {
            continue;
        }
        let wanted = is_markdown(&rel) || rel.rsplit('/').next() == Some(manifest::FILE_NAME);
        if !kind.is_file() || !wanted {
            tree.skipped += 1;
            continue;
        }
        if !seen.insert(rel.clone()) {
            bail!("{rel}: appears twice in the tarball");
        }
        let size = entry.header().size()?;
        check_size(&rel, size, &mut total)?;
        let mut buf = Vec::with_capacity(size.min(FILE_MAX_BYTES) as usize);
        entry
            .by_ref()
            .take(FILE_MAX_BYTES + 1)
            .read_to_end(&mut buf)
            .with_context(|| format!("reading {rel}"))?;
        found.push((rel, buf));
    }
    // `tar czf help.tgz help/` wraps an export in one folder: unwrap it when that folder holds
    // the manifest and everything else.
    if !found.iter().any(|(p, _)| p == manifest::FILE_NAME) {
        let wrapper = found
            .iter()
            .find_map(|(p, _)| p.strip_suffix(&format!("/{}", manifest::FILE_NAME)))
            .filter(|w| !w.contains('/'))
            .map(|w| format!("{w}/"));
        if let Some(wrapper) = wrapper
            && found.iter().all(|(p, _)| p.starts_with(&wrapper))
        {
            for (p, _) in &mut found {
                p.drain(..wrapper.len());
            }
        }
    }
    for (rel, bytes) in found {
        if excluded(&rel, exclude) {
            tree.skipped += 1;
        } else if rel == manifest::FILE_NAME {
            tree.manifest = Some(bytes);
        } else if is_markdown(&rel) {
            tree.files.push(SourceFile { path: rel, bytes });
        } else {
            tree.skipped += 1;
        }
    }
    Ok(tree)
}

/// A tarball entry's path relative to the root: `./a//b` → `a/b`. Absolute paths and `..`
/// are refused rather than resolved.
fn normalize(raw: &str) -> Result<String> {
    if raw.starts_with('/') {
        bail!("{raw}: absolute paths are not allowed in an archive");
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => bail!("{raw}: `..` is not allowed in archive paths"),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(normalize("./a//b.md").unwrap(), "a/b.md");
        assert!(normalize("/etc/passwd").is_err());
        assert!(normalize("a/../../b").is_err());
        assert!(excluded("snippets/x.md", &["snippets".into()]));
        assert!(!excluded("snippets-2/x.md", &["snippets".into()]));
        assert!(excluded("changelog.mdx", &["changelog.mdx".into()]));
        assert!(is_markdown("A/B.MDX") && !is_markdown("docs.json"));
        assert!(is_tarball(Path::new("x/help.TGZ")));
        assert_eq!(
            archive_name(Path::new("/tmp/help-centre.tar.gz")),
            "help-centre"
        );
    }
}
