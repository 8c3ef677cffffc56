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
