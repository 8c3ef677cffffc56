//! The files of a source folder, read into memory under the update limits.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};
use tome_core::source::FilesChanged;

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

/// For a folder source, which has no commits: a digest of the whole folder stands in for the
/// commit. Each state (path → SHA-256 of every file) is saved in `state_dir` under its digest,
/// so the files changed are counted against the state of `last` — the digest the knowledge
/// base was last made equal to — even when updates in between failed. Returns what changed and
/// the new digest; states other than these two are removed.
pub fn diff_with_state(
    files: &Files,
    state_dir: &Path,
    last: Option<&str>,
) -> Result<(FilesChanged, String), String> {
    let is_digest = |d: &str| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit());
    let old: BTreeMap<String, String> = last
        .filter(|d| is_digest(d))
        .and_then(|d| fs::read(state_dir.join(format!("{d}.json"))).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut new = BTreeMap::new();
    let mut all = Sha256::new();
    for (path, bytes) in &files.files {
        let digest = hex(&Sha256::digest(bytes));
        all.update(path.as_bytes());
        all.update([0]);
        all.update(digest.as_bytes());
        new.insert(path.clone(), digest);
    }
    let sha = hex(&all.finalize());
    let mut changed = FilesChanged::default();
    for (path, digest) in &new {
        match old.get(path) {
            None => changed.added.push(path.clone()),
            Some(d) if d != digest => changed.modified.push(path.clone()),
            Some(_) => {}
        }
    }
    changed.removed = old
        .keys()
        .filter(|p| !new.contains_key(*p))
        .cloned()
        .collect();
    fs::create_dir_all(state_dir).map_err(|e| format!("creating {}: {e}", state_dir.display()))?;
    let json = serde_json::to_vec(&new).map_err(|e| e.to_string())?;
    let target = state_dir.join(format!("{sha}.json"));
    fs::write(&target, json).map_err(|e| format!("writing {}: {e}", target.display()))?;
    if let Ok(entries) = fs::read_dir(state_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.trim_end_matches(".json");
            if stem != sha && Some(stem) != last {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    Ok((changed, sha))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl Files {
    /// Reads the files of a folder that a format reader uses (`.md`, `.mdx`, `.markdown`,
    /// `.json`), skipping hidden files and folders and the `exclude`d paths (relative to
    /// `root`). Symlinked folders are not followed. Fails over [`MAX_FILES`] such files or on
    /// one over [`MAX_FILE_BYTES`].
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
