//! Reading a commit's files and the files two commits changed, under a source sub-folder.
//!
//! Both apply the same rules to what counts as a file: regular files only (symbolic links and
//! submodules are skipped), and nothing hidden (a part of the path, relative to the source
//! folder, starting with `.`), so that a diff never names a file the tree reader leaves out.

use std::path::Path;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tome_core::source::FilesChanged;

use super::run::{Git, Scrubber};
use super::{GitError, GitErrorKind, GitOptions, check_object_id, show_bytes};
use crate::files::{Files, MAX_FILE_BYTES, MAX_FILES};

/// The limits [`read_tree`] enforces before reading any content.
#[derive(Debug, Clone, Copy)]
pub struct TreeLimits {
    pub max_files: usize,
    pub max_file_bytes: u64,
    /// All files together (what is held in memory at once).
    pub max_total_bytes: u64,
}

impl Default for TreeLimits {
    fn default() -> Self {
        TreeLimits {
            max_files: MAX_FILES,
            max_file_bytes: MAX_FILE_BYTES,
            max_total_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// A commit's files under the source folder, and what was left out.
#[derive(Debug, Default, Clone)]
pub struct TreeFiles {
    pub files: Files,
    /// One human-readable line per entry skipped (symbolic links, submodules, paths that are not
    /// UTF-8), for the update's logs.
    pub skipped: Vec<String>,
}

/// The files two commits changed under the source folder.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ChangedFiles {
    /// Paths relative to the source folder, each list sorted; a rename is a removal and an
    /// addition.
    pub files: FilesChanged,
    /// Set when there was nothing to compare with (first update, or the previous commit is no
    /// longer in the work copy) and every file counts as added; a line for the update's logs.
    pub all_added: Option<String>,
}

/// One entry of `git ls-tree -r -l -z` / `git diff-tree -r -z`.
struct Entry {
    mode: String,
    object: String,
    /// Blob size; None for submodules.
    size: Option<u64>,
    path: String,
    /// False when the path is not UTF-8 (`path` is then a lossy rendering, for messages).
    utf8: bool,
}

fn is_regular(mode: &str) -> bool {
    mode == "100644" || mode == "100755"
}

/// A path is hidden when any of its parts starts with `.`.
pub(crate) fn is_hidden(path: &str) -> bool {
    path.split('/').any(|part| part.starts_with('.'))
}

/// The source folder as a tree path: no leading or trailing `/`, empty for the root, no `..`.
fn folder(path: &str) -> Result<String, GitError> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") || path.contains('\0') || path.contains('\\') {
        return Err(GitError::new(
            GitErrorKind::InvalidUrl,
            format!("source path `{path}` may not contain `..`, `\\` or NUL"),
        ));
    }
    Ok(parts.join("/"))
}

/// `commit` or `commit:folder`, after checking the folder is a folder at that commit.
async fn tree_of(
    work: &Path,
    commit: &str,
    folder: &str,
    opts: &GitOptions,
) -> Result<String, GitError> {
    check_object_id(commit)?;
    let out = Git::new(opts, Some(work), "cat-file")
        .args(["cat-file", "-t", &format!("{commit}^{{commit}}")])
        .output()
        .await?;
    if !out.success() {
        return Err(GitError::new(
            GitErrorKind::NotFound,
            format!("commit {commit} is not in the git work copy"),
        ));
    }
    if folder.is_empty() {
        return Ok(commit.to_owned());
    }
    let spec = format!("{commit}:{folder}");
    let out = Git::new(opts, Some(work), "cat-file")
        .args(["cat-file", "-t", &spec])
        .output()
        .await?;
    let short = &commit[..commit.len().min(12)];
    match out.stdout_text().trim() {
        "tree" if out.success() => Ok(spec),
        _ if !out.success() => Err(GitError::new(
            GitErrorKind::NotFound,
            format!(
                "the source folder `{folder}` does not exist in the repository at commit {short}"
            ),
        )),
        other => Err(GitError::new(
            GitErrorKind::NotFound,
            format!("the source path `{folder}` is a {other}, not a folder, at commit {short}"),
        )),
    }
}

/// Streams `git ls-tree -r -l -z <tree>` and hands every entry to `each`.
async fn ls_tree(
    work: &Path,
    tree: &str,
    opts: &GitOptions,
    mut each: impl FnMut(Entry),
) -> Result<(), GitError> {
    let scrub = Scrubber::default();
    let mut running = Git::new(opts, Some(work), "ls-tree")
        .args(["ls-tree", "-r", "-l", "-z", "--end-of-options", tree])
        .spawn()?;
    let stdout = running
        .child
        .stdout
        .take()
        .ok_or_else(|| internal("ls-tree has no output"))?;
    let mut stderr = running
        .child
        .stderr
        .take()
        .ok_or_else(|| internal("ls-tree has no error output"))?;
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut reader = BufReader::new(stdout);
    let mut record = Vec::new();
    loop {
        record.clear();
        let n = reader
            .read_until(0, &mut record)
            .await
            .map_err(|e| internal(&format!("reading git ls-tree: {e}")))?;
        if n == 0 {
            break;
        }
        if record.last() == Some(&0) {
            record.pop();
        }
        // `<mode> SP <type> SP <object> SP+ <size> TAB <path>`
        let Some(tab) = record.iter().position(|b| *b == b'\t') else {
            return Err(internal("unexpected git ls-tree output"));
        };
        let head = String::from_utf8_lossy(&record[..tab]).into_owned();
        let mut fields = head.split_whitespace();
        let (Some(mode), Some(_kind), Some(object), Some(size)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(internal("unexpected git ls-tree output"));
        };
        let (path, utf8) = match String::from_utf8(record[tab + 1..].to_vec()) {
            Ok(p) => (p, true),
            Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), false),
        };
        each(Entry {
            mode: mode.to_owned(),
            object: object.to_owned(),
            size: size.parse().ok(),
            path,
            utf8,
        });
    }
    let status = running.wait().await?;
    let stderr = errors.await.unwrap_or_default();
    if !status.success() {
        return Err(internal(&format!(
            "git ls-tree failed: {}",
            scrub.scrub(stderr.trim())
        )));
    }
    Ok(())
}

fn internal(message: &str) -> GitError {
    GitError::new(GitErrorKind::Internal, message)
}

/// Reads every file under `path` at `commit` (see the module docs for what counts as a file).
/// The file count and sizes are checked against `limits` before any content is read.
pub async fn read_tree(
    work: &Path,
    commit: &str,
    path: &str,
    limits: &TreeLimits,
    opts: &GitOptions,
) -> Result<TreeFiles, GitError> {
    let folder = folder(path)?;
    let tree = tree_of(work, commit, &folder, opts).await?;
    let mut wanted: Vec<(String, String, u64)> = Vec::new();
    let mut skipped = Vec::new();
    let mut count = 0usize;
    let mut total = 0u64;
    let mut too_big: Option<(String, u64)> = None;
    ls_tree(work, &tree, opts, |entry| {
        if is_hidden(&entry.path) {
            return;
        }
        if !entry.utf8 {
            skipped.push(format!(
                "skipped {}: the file name is not UTF-8",
                entry.path
            ));
            return;
        }
        if !is_regular(&entry.mode) {
            let what = match entry.mode.as_str() {
                "120000" => "a symbolic link",
                "160000" => "a submodule",
                _ => "not a regular file",
            };
            skipped.push(format!("skipped {}: {what}", entry.path));
            return;
        }
        count += 1;
        let size = entry.size.unwrap_or(0);
        total += size;
        if size > limits.max_file_bytes && too_big.is_none() {
            too_big = Some((entry.path.clone(), size));
        }
        if count <= limits.max_files {
            wanted.push((entry.path, entry.object, size));
        }
    })
    .await?;
    for line in &skipped {
        tracing::info!("{line}");
    }
    if count > limits.max_files {
        return Err(GitError::new(
            GitErrorKind::TooLarge,
            format!(
                "the source folder has {count} files, over the limit of {}",
                limits.max_files
            ),
        ));
    }
    if let Some((path, size)) = too_big {
        return Err(GitError::new(
            GitErrorKind::TooLarge,
            format!(
                "{path} is {} ({size} bytes), over the limit of {} per file",
                show_bytes(size),
                show_bytes(limits.max_file_bytes)
            ),
        ));
    }
    if total > limits.max_total_bytes {
        return Err(GitError::new(
            GitErrorKind::TooLarge,
            format!(
                "the source folder's files add up to {}, over the limit of {}",
                show_bytes(total),
                show_bytes(limits.max_total_bytes)
            ),
        ));
    }
    let contents = cat_blobs(work, &wanted, opts).await?;
    let mut files = Files::default();
    for ((path, _, _), content) in wanted.into_iter().zip(contents) {
        files.files.insert(path, content);
    }
    Ok(TreeFiles { files, skipped })
}

/// The contents of `blobs` (path, object, size), in order, through one `git cat-file --batch`.
async fn cat_blobs(
    work: &Path,
    blobs: &[(String, String, u64)],
    opts: &GitOptions,
) -> Result<Vec<Vec<u8>>, GitError> {
    if blobs.is_empty() {
        return Ok(Vec::new());
    }
    let mut running = Git::new(opts, Some(work), "cat-file")
        .args(["cat-file", "--batch"])
        .stdin_piped()
        .spawn()?;
    let mut stdin = running
        .child
        .stdin
        .take()
        .ok_or_else(|| internal("cat-file has no input"))?;
    let stdout = running
        .child
        .stdout
        .take()
        .ok_or_else(|| internal("cat-file has no output"))?;
    let mut stderr = running
        .child
        .stderr
        .take()
        .ok_or_else(|| internal("cat-file has no error output"))?;
    let mut request = String::with_capacity(blobs.len() * 41);
    for (_, object, _) in blobs {
        request.push_str(object);
        request.push('\n');
    }
    // Written from its own task: git answers while we are still asking, and a full pipe either
    // way would otherwise stall both sides.
    let writer = tokio::spawn(async move {
        let result = stdin.write_all(request.as_bytes()).await;
        drop(stdin);
        result
    });
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut reader = BufReader::new(stdout);
    let mut contents = Vec::with_capacity(blobs.len());
    let mut header = String::new();
    for (path, object, size) in blobs {
        header.clear();
        reader
            .read_line(&mut header)
            .await
            .map_err(|e| internal(&format!("reading git cat-file: {e}")))?;
        // `<object> SP blob SP <size> LF`, or `<object> SP missing LF`.
        let mut fields = header.split_whitespace();
        let (Some(got), Some("blob"), Some(got_size)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(internal(&format!(
                "git cat-file could not read {path} ({}): {}",
                object,
                header.trim()
            )));
        };
        let got_size: u64 = got_size
            .parse()
            .map_err(|_| internal("unexpected git cat-file output"))?;
        if got != object || got_size != *size {
            return Err(internal(&format!(
                "git cat-file answered for another object than {path}"
            )));
        }
        let len = usize::try_from(got_size).map_err(|_| internal("blob too large"))?;
        let mut content = vec![0u8; len + 1];
        reader
            .read_exact(&mut content)
            .await
            .map_err(|e| internal(&format!("reading {path} from git cat-file: {e}")))?;
        content.pop(); // the LF after the contents
        contents.push(content);
    }
    drop(reader);
    let status = running.wait().await?;
    let written = writer.await;
    let stderr = errors.await.unwrap_or_default();
    if !status.success() || !matches!(written, Ok(Ok(()))) {
        return Err(internal(&format!("git cat-file failed: {}", stderr.trim())));
    }
    Ok(contents)
}

/// The files under `path` that changed from `old` to `new`: `git diff-tree -r --no-renames`,
/// with the same idea of a file as [`read_tree`]. With no `old`, or an `old` no longer in the
/// work copy, every file at `new` is added (and [`ChangedFiles::all_added`] says why).
pub async fn changed_files(
    work: &Path,
    old: Option<&str>,
    new: &str,
    path: &str,
    opts: &GitOptions,
) -> Result<ChangedFiles, GitError> {
    let folder = folder(path)?;
    let new_tree = tree_of(work, new, &folder, opts).await?;
    let old_present = match old {
        None => None,
        Some(old) => {
            check_object_id(old)?;
            let out = Git::new(opts, Some(work), "cat-file")
                .args(["cat-file", "-e", &format!("{old}^{{commit}}")])
                .output()
                .await?;
            Some((old, out.success()))
        }
    };
    let old = match old_present {
        Some((old, true)) => old,
        other => {
            let reason = match other {
                Some((old, _)) => format!(
                    "the previous commit {} is no longer in the git work copy; every file counts as added",
                    &old[..old.len().min(12)]
                ),
                None => "first update: every file counts as added".to_owned(),
            };
            let mut added = Vec::new();
            ls_tree(work, &new_tree, opts, |e| {
                if is_regular(&e.mode) && !is_hidden(&e.path) && e.utf8 {
                    added.push(e.path);
                }
            })
            .await?;
            added.sort();
            return Ok(ChangedFiles {
                files: FilesChanged {
                    added,
                    ..FilesChanged::default()
                },
                all_added: Some(reason),
            });
        }
    };
    let mut git = Git::new(opts, Some(work), "diff-tree");
    git.args([
        "diff-tree",
        "-r",
        "-z",
        "--no-renames",
        "--no-commit-id",
        "--end-of-options",
        old,
        new,
    ]);
    if !folder.is_empty() {
        git.args(["--", &folder]);
    }
    let out = git.output().await?.check(&Scrubber::default())?;
    let prefix = if folder.is_empty() {
        String::new()
    } else {
        format!("{folder}/")
    };
    let mut files = FilesChanged::default();
    let mut records = out.stdout.split(|b| *b == 0);
    // `:<old mode> SP <new mode> SP <old object> SP <new object> SP <status>` NUL `<path>` NUL
    while let Some(meta) = records.next() {
        if meta.is_empty() {
            continue;
        }
        let Some(raw_path) = records.next() else {
            return Err(internal("unexpected git diff-tree output"));
        };
        let meta = String::from_utf8_lossy(meta);
        let fields: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
        let [old_mode, new_mode, _, _, status] = fields[..] else {
            return Err(internal("unexpected git diff-tree output"));
        };
        let Ok(full) = std::str::from_utf8(raw_path) else {
            continue; // not UTF-8: read_tree skips these too
        };
        let Some(rel) = full.strip_prefix(&prefix) else {
            continue;
        };
        if is_hidden(rel) {
            continue;
        }
        let rel = rel.to_owned();
        match (is_regular(old_mode), is_regular(new_mode), status) {
            (_, true, "A") | (false, true, _) => files.added.push(rel),
            (true, _, "D") | (true, false, _) => files.removed.push(rel),
            (true, true, _) => files.modified.push(rel),
            _ => {}
        }
    }
    files.added.sort();
    files.modified.sort();
    files.removed.sort();
    Ok(ChangedFiles {
        files,
        all_added: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_hidden() {
        assert_eq!(folder("").expect("ok"), "");
        assert_eq!(folder("/docs/").expect("ok"), "docs");
        assert_eq!(folder("./a//b").expect("ok"), "a/b");
        assert!(folder("a/../b").is_err());
        assert!(is_hidden(".github/x.md") && is_hidden("a/.b/c") && !is_hidden("a/b.c"));
    }
}
