//! The command-line face of `tome export` and `tome import` (the format itself lives in
//! `tome_sync::archive`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tome_core::model::Status;
use tome_core::source::SourceFormat;

/// `tome export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The knowledge base to export (`kb_…`).
    #[arg(long)]
    pub kb: String,
    /// The knowledge base's project; looked up when omitted.
    #[arg(long)]
    pub project: Option<String>,
    /// Where to write: a path ending in `.tar.gz` or `.tgz` gets a gzip tarball, anything else
    /// a directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Write into a non-empty directory (replacing the files of a previous export there) or
    /// over an existing tarball.
    #[arg(long)]
    pub force: bool,
}

/// `tome import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The project to create the knowledge base in (`prj_…`).
    #[arg(long)]
    pub project: String,
    /// A directory or a `.tar.gz`/`.tgz` file: a `tome export`, a folder of Markdown files,
    /// or a Mintlify docs repository (a folder with `docs.json` or `mint.json`).
    #[arg(long)]
    pub from: PathBuf,
    /// What `--from` holds: `auto` reads a folder with `docs.json` or `mint.json` at its root
    /// as a Mintlify repository and anything else as a Tome archive.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// Slug of the new knowledge base (default: the manifest's, or one from the folder name).
    #[arg(long)]
    pub slug: Option<String>,
    /// Title of the new knowledge base (default: the manifest's, or the folder name).
    #[arg(long)]
    pub title: Option<String>,
    /// Status of files whose front matter sets neither `status` nor `draft` (default: `draft`
    /// for a Tome archive, `published` for a Mintlify repository).
    #[arg(long, value_enum)]
    pub default_status: Option<StatusArg>,
    /// Leave out this file or folder (relative to the archive root); repeatable.
    #[arg(long, value_name = "PATH")]
    pub exclude: Vec<String>,
    /// Fail if files were edited or removed since the export (manifest checksums).
    #[arg(long)]
    pub verify: bool,
    /// Validate and price the import, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Auto,
    Tome,
    Mintlify,
}

impl From<FormatArg> for SourceFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Auto => SourceFormat::Auto,
            FormatArg::Tome => SourceFormat::Tome,
            FormatArg::Mintlify => SourceFormat::Mintlify,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    Draft,
    Published,
    Archived,
}

impl From<StatusArg> for Status {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Draft => Status::Draft,
            StatusArg::Published => Status::Published,
            StatusArg::Archived => Status::Archived,
        }
    }
}

impl From<ExportArgs> for tome_sync::archive::ExportArgs {
    fn from(a: ExportArgs) -> Self {
        tome_sync::archive::ExportArgs {
            kb: a.kb,
            project: a.project,
            out: a.out,
            force: a.force,
        }
    }
}

impl From<ImportArgs> for tome_sync::archive::ImportArgs {
    fn from(a: ImportArgs) -> Self {
        tome_sync::archive::ImportArgs {
            project: a.project,
            from: a.from,
            slug: a.slug,
            title: a.title,
            format: a.format.into(),
            default_status: a.default_status.map(Into::into),
            exclude: a.exclude,
            verify: a.verify,
            dry_run: a.dry_run,
        }
    }
}
