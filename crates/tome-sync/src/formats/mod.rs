//! Source formats: from a folder's [`Files`] to the [`Desired`] content of a knowledge base.

pub mod mintlify;
pub mod tome;

use tome_core::source::SourceFormat;

use crate::archive::Problems;
use crate::desired::Desired;
use crate::files::Files;

/// The format `auto` resolves to for these files: `mintlify` when the folder has `docs.json`
/// or `mint.json`, else `tome`.
pub fn detect(files: &Files) -> SourceFormat {
    if files.get("docs.json").is_some() || files.get("mint.json").is_some() {
        SourceFormat::Mintlify
    } else {
        SourceFormat::Tome
    }
}

/// Reads `files` in `format` (`Auto` is detected first). Every problem found is returned,
/// each naming its file and, where known, line.
pub fn read(files: &Files, format: SourceFormat) -> Result<(SourceFormat, Desired), Problems> {
    let format = match format {
        SourceFormat::Auto => detect(files),
        other => other,
    };
    let desired = match format {
        SourceFormat::Mintlify => mintlify::read(files)?,
        SourceFormat::Tome | SourceFormat::Auto => tome::read(files)?,
    };
    Ok((format, desired))
}
