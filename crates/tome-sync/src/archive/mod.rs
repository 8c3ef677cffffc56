//! `tome export` and `tome import`: one knowledge base as a portable archive of Markdown files
//! with front matter plus a `manifest.json` (see `docs/export-format.md`).
//!
//! Import reads the archive into memory ([`source`]), turns it into a fully validated
//! [`plan::Plan`] without touching the database ([`plan`], [`items`]), checks its price against
//! the project's credit cap, and only then writes it through the `Store` trait ([`import`]),
//! deleting the new knowledge base again if any write fails. Export reads through the same
//! trait and writes a directory or a tarball ([`export`], [`sink`]).

mod export;
pub(crate) mod front_matter;
mod import;
pub(crate) mod items;
pub(crate) mod manifest;
pub(crate) mod names;
pub(crate) mod plan;
mod sink;
pub(crate) mod source;
pub(crate) mod yaml;

use std::fmt;
use std::path::PathBuf;

use tome_core::model::Status;
use tome_core::source::SourceFormat;

pub use export::run as run_export;
pub use import::run as run_import;

/// What `tome export` was asked to do.
#[derive(Debug, Clone)]
pub struct ExportArgs {
    /// The knowledge base to export (`kb_…`).
    pub kb: String,
    /// The knowledge base's project; looked up when omitted.
    pub project: Option<String>,
    /// Where to write: a path ending in `.tar.gz` or `.tgz` gets a gzip tarball, anything else
    /// a directory.
    pub out: PathBuf,
    /// Write into a non-empty directory or over an existing tarball.
    pub force: bool,
}

/// What `tome import` was asked to do.
#[derive(Debug, Clone)]
pub struct ImportArgs {
    /// The project to create the knowledge base in (`prj_…`).
    pub project: String,
    /// A directory or a `.tar.gz`/`.tgz` file.
    pub from: PathBuf,
    /// Slug of the new knowledge base.
    pub slug: Option<String>,
    /// Title of the new knowledge base.
    pub title: Option<String>,
    /// What `from` holds: `Auto` picks `Mintlify` for a folder with `docs.json` or
    /// `mint.json` at its root, else `Tome`.
    pub format: SourceFormat,
    /// Status of files whose front matter sets neither `status` nor `draft`; `None` is the
    /// format's default (`draft` for a Tome archive, `published` for a Mintlify repository,
    /// whose merged state is live).
    pub default_status: Option<Status>,
    /// Left out (relative to the archive root).
    pub exclude: Vec<String>,
    /// Fail if files were edited or removed since the export (manifest checksums).
    pub verify: bool,
    /// Validate and price the import, write nothing.
    pub dry_run: bool,
}

/// One thing wrong with an archive, located as precisely as we can: file, line, field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// An archive-relative path, `manifest.json`, or a command-line flag such as `--slug`.
    pub file: String,
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            file: file.into(),
            line: None,
            field: None,
            message: message.into(),
        }
    }

    pub fn at(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in an archive; nothing was written.
#[derive(Debug)]
pub struct Problems(pub Vec<Problem>);

/// How many problems an error message lists before summarising the rest.
const PROBLEMS_SHOWN: usize = 50;

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        let noun = if n == 1 { "problem" } else { "problems" };
        write!(f, "the archive has {n} {noun}; nothing was imported:")?;
        for p in self.0.iter().take(PROBLEMS_SHOWN) {
            write!(f, "\n  {p}")?;
        }
        if n > PROBLEMS_SHOWN {
            write!(f, "\n  … and {} more", n - PROBLEMS_SHOWN)?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Turns a storage error into a message an operator can act on.
fn store_error(e: tome_store::StoreError) -> anyhow::Error {
    use tome_store::StoreError;
    match e {
        StoreError::NotFound(entity) => anyhow::anyhow!("{} not found", entity.label()),
        StoreError::Invalid(v) => anyhow::anyhow!("{v}"),
        other => anyhow::Error::new(other),
    }
}

/// `2 categories, 1 section, 5 articles, 0 FAQs`.
fn describe(c: &manifest::Counts) -> String {
    let n = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    [
        n(c.categories, "category", "categories"),
        n(c.sections, "section", "sections"),
        n(c.articles, "article", "articles"),
        n(c.faqs, "FAQ", "FAQs"),
    ]
    .join(", ")
}
