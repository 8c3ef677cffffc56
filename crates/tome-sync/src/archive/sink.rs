//! Where an export goes: a directory, or a gzip tarball written next to its final name and
//! renamed into place only when complete.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use flate2::write::GzEncoder;

use super::manifest;
use super::source::is_tarball;

/// An open export target.
pub enum Sink {
    Dir {
        root: PathBuf,
    },
    Tar {
        builder: Box<tar::Builder<GzEncoder<fs::File>>>,
        partial: PathBuf,
        target: PathBuf,
        /// Modification time of every entry (the export time), so archives do not depend on
        /// the clock of each file write.
        mtime: u64,
    },
}

impl Sink {
    /// Opens `out` for writing. A directory must be new or empty unless `force`, which first
    /// removes the files of the previous export recorded in its `manifest.json` (and nothing
    /// else, so a `.git` folder or notes beside the export survive).
    pub fn open(out: &Path, force: bool, mtime: u64) -> Result<Sink> {
        if is_tarball(out) {
            if out.exists() && !force {
                bail!(
                    "{} already exists; pass --force to replace it",
                    out.display()
                );
            }
            let mut name = out.file_name().unwrap_or_default().to_os_string();
            name.push(".partial");
            let partial = out.with_file_name(name);
            let file = fs::File::create(&partial)
                .with_context(|| format!("creating {}", partial.display()))?;
            let builder = tar::Builder::new(GzEncoder::new(file, flate2::Compression::default()));
            return Ok(Sink::Tar {
                builder: Box::new(builder),
                partial,
                target: out.to_path_buf(),
                mtime,
            });
        }
        if out.exists() {
            if !out.is_dir() {
                bail!(
                    "{} exists and is not a directory (name a .tar.gz or .tgz file for a tarball)",
                    out.display()
                );
            }
            let empty = fs::read_dir(out)
                .with_context(|| format!("reading {}", out.display()))?
                .next()
                .is_none();
            if !empty {
                if !force {
                    bail!(
                        "{} is not empty; pass --force to replace a previous export in it",
                        out.display()
                    );
                }
                remove_previous_export(out)?;
            }
        } else {
            fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        }
        Ok(Sink::Dir {
            root: out.to_path_buf(),
        })
    }

    /// Creates a folder (`a` or `a/b`), so empty categories and sections show in the tree.
    pub fn dir(&mut self, rel: &str) -> Result<()> {
        match self {
            Sink::Dir { root } => {
                let path = root.join(rel);
                fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))
            }
            Sink::Tar { builder, mtime, .. } => {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                h.set_mtime(*mtime);
                builder
                    .append_data(&mut h, format!("{rel}/"), std::io::empty())
                    .with_context(|| format!("writing {rel}/ to the tarball"))
            }
        }
    }

    pub fn file(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        match self {
            Sink::Dir { root } => {
                let path = root.join(rel);
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
            }
            Sink::Tar { builder, mtime, .. } => {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(bytes.len() as u64);
                h.set_mtime(*mtime);
                builder
                    .append_data(&mut h, rel, bytes)
                    .with_context(|| format!("writing {rel} to the tarball"))
            }
        }
    }

    /// Completes the export: flushes and moves a tarball into place.
    pub fn finish(self) -> Result<()> {
        match self {
            Sink::Dir { .. } => Ok(()),
            Sink::Tar {
                builder,
                partial,
                target,
                ..
            } => {
                let done = (|| -> Result<()> {
                    let gz = builder.into_inner()?;
                    let mut file = gz.finish()?;
                    file.flush()?;
                    file.sync_all()?;
                    fs::rename(&partial, &target)?;
                    Ok(())
                })();
                if done.is_err() {
                    let _ = fs::remove_file(&partial);
                }
                done.with_context(|| format!("writing {}", target.display()))
            }
        }
    }

    /// Gives up: removes a partial tarball. A directory keeps what was written (without a
    /// manifest, which is written last).
    pub fn abort(self) {
        if let Sink::Tar {
            builder, partial, ..
        } = self
        {
            drop(builder);
            let _ = fs::remove_file(partial);
        }
    }
}

/// Removes the files a previous export recorded in `dir/manifest.json`, then its folders if
/// they are empty. Without a Tome manifest nothing is removed and files are overwritten.
fn remove_previous_export(dir: &Path) -> Result<()> {
    let manifest_path = dir.join(manifest::FILE_NAME);
    let Ok(bytes) = fs::read(&manifest_path) else {
        return Ok(());
    };
    let Ok(previous) = manifest::parse(&bytes) else {
        bail!(
            "{} is not a Tome manifest; refusing to replace files in {}",
            manifest_path.display(),
            dir.display()
        );
    };
    for entry in &previous.files {
        // Only plain relative paths: a hand-edited manifest must not delete outside `dir`.
        let safe = !entry.path.starts_with('/')
            && !entry
                .path
                .split(['/', '\\'])
                .any(|p| p == ".." || p.is_empty());
        if safe {
            let _ = fs::remove_file(dir.join(&entry.path));
        }
    }
    for s in &previous.sections {
        remove_if_empty(dir, &s.folder);
    }
    for c in &previous.categories {
        remove_if_empty(dir, &c.folder);
    }
    fs::remove_file(&manifest_path).with_context(|| format!("removing {}", manifest_path.display()))
}

fn remove_if_empty(dir: &Path, rel: &str) {
    if !rel.is_empty() && !rel.split(['/', '\\']).any(|p| p == ".." || p.is_empty()) {
        // `remove_dir` refuses non-empty folders, which is exactly the rule.
        let _ = fs::remove_dir(dir.join(rel));
    }
}
