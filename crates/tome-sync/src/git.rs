//! PLACEHOLDER: the git fetcher is being written.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tome_core::source::FilesChanged;

use crate::files::Files;

#[derive(Debug, Clone)]
pub struct GitOptions {
    pub fetch_timeout: Duration,
    pub allow_private: bool,
    pub allow_local: bool,
    pub max_repo_bytes: u64,
    pub git_program: PathBuf,
}

impl Default for GitOptions {
    fn default() -> Self {
        GitOptions {
            fetch_timeout: Duration::from_secs(120),
            allow_private: false,
            allow_local: false,
            max_repo_bytes: 1 << 30,
            git_program: PathBuf::from("git"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Remote {
    pub url: String,
    pub branch: Option<String>,
    pub token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Fetched {
    pub sha: String,
    pub ref_name: String,
    pub branch: String,
    pub message: String,
    pub author: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GitError(String);

pub async fn fetch(_: &Path, _: &Remote, _: &GitOptions) -> Result<Fetched, GitError> {
    Err(GitError("git is not built yet".into()))
}

pub async fn changed_files(
    _: &Path,
    _: Option<&str>,
    _: &str,
    _: &str,
) -> Result<FilesChanged, GitError> {
    Err(GitError("git is not built yet".into()))
}

pub async fn read_tree(_: &Path, _: &str, _: &str) -> Result<Files, GitError> {
    Err(GitError("git is not built yet".into()))
}
