//! Docs-as-code: a knowledge base's source (a git repository or a server folder) and the update
//! jobs that make the knowledge base equal to it.
//!
//! Update timestamps use the docs-platform convention (ISO 8601 UTC with milliseconds and `Z`,
//! see [`crate::time::iso_millis`]), not the `/v1/kb` one.

use serde::{Deserialize, Serialize};

/// Where a source's files come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Git,
    /// A folder on the server; only when the operator enables local roots.
    Folder,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Git => "git",
            SourceKind::Folder => "folder",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "git" => Some(SourceKind::Git),
            "folder" => Some(SourceKind::Folder),
            _ => None,
        }
    }
}

/// How a source's files map to content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// `mintlify` when the source folder has `docs.json` or `mint.json`, else `tome`.
    Auto,
    /// The layout `tome export` writes.
    Tome,
    /// A Mintlify docs repository.
    Mintlify,
}

impl SourceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Auto => "auto",
            SourceFormat::Tome => "tome",
            SourceFormat::Mintlify => "mintlify",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(SourceFormat::Auto),
            "tome" => Some(SourceFormat::Tome),
            "mintlify" => Some(SourceFormat::Mintlify),
            _ => None,
        }
    }
}

/// A validated source as a client sets it (`PUT /v1/kb/{kb_id}/source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSource {
    pub kind: SourceKind,
    pub url: String,
    /// `None`: the remote's default branch.
    pub branch: Option<String>,
    /// Sub-folder of the repository, `""` for the root; normalised (no leading or trailing `/`,
    /// no `.` or `..` parts).
    pub path: String,
    pub format: SourceFormat,
    /// HTTPS token; write-only.
    pub token: Option<String>,
    /// Push-webhook secret; write-only.
    pub webhook_secret: Option<String>,
    /// `None`: no polling.
    pub poll_interval_minutes: Option<i64>,
}

/// A knowledge base's source as stored (secrets only as "is set").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub kb_id: String,
    pub project_id: String,
    pub kind: SourceKind,
    pub url: String,
    pub branch: Option<String>,
    pub path: String,
    pub format: SourceFormat,
    pub has_token: bool,
    pub has_webhook_secret: bool,
    pub poll_interval_minutes: Option<i64>,
    /// The commit the content was last made equal to.
    pub last_commit: Option<String>,
    /// Wire timestamp (`YYYY-MM-DD HH:MM:SS`) of the last successful update.
    pub last_synced_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A source's write-only values, for the job runner and the webhook only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceSecrets {
    pub token: Option<String>,
    pub webhook_secret: Option<String>,
}

/// `queued` → `in_progress` → `success` | `failure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatus {
    Queued,
    InProgress,
    Success,
    Failure,
}

impl UpdateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStatus::Queued => "queued",
            UpdateStatus::InProgress => "in_progress",
            UpdateStatus::Success => "success",
            UpdateStatus::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(UpdateStatus::Queued),
            "in_progress" => Some(UpdateStatus::InProgress),
            "success" => Some(UpdateStatus::Success),
            "failure" => Some(UpdateStatus::Failure),
            _ => None,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, UpdateStatus::Success | UpdateStatus::Failure)
    }
}

/// What triggered an update (the spec's `source` enum; Tome never uses
/// `github-app-installation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateTrigger {
    #[serde(rename = "api")]
    Api,
    #[serde(rename = "dashboard")]
    Dashboard,
    /// A signed push webhook (GitHub, Gitea, Forgejo, GitLab).
    #[serde(rename = "github")]
    Webhook,
    /// The CLI (`tome update`) or polling.
    #[serde(rename = "internal")]
    Internal,
}

impl UpdateTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateTrigger::Api => "api",
            UpdateTrigger::Dashboard => "dashboard",
            UpdateTrigger::Webhook => "github",
            UpdateTrigger::Internal => "internal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api" => Some(UpdateTrigger::Api),
            "dashboard" => Some(UpdateTrigger::Dashboard),
            "github" => Some(UpdateTrigger::Webhook),
            "internal" => Some(UpdateTrigger::Internal),
            _ => None,
        }
    }
}

/// Paths (relative to the source folder) that a commit range added, modified and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilesChanged {
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
}

/// The commit an update applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    pub sha: String,
    /// `refs/heads/<branch>`.
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub message: String,
    #[serde(rename = "filesChanged")]
    pub files_changed: FilesChanged,
}

/// Most log lines an update keeps; later lines are replaced by one that says how many were cut.
pub const UPDATE_LOG_MAX: usize = 1_000;

/// One update job (`upd_…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateJob {
    pub id: String,
    pub project_id: String,
    pub kb_id: String,
    /// The KB's slug when the job was queued (the spec's `subdomain`).
    pub kb_slug: String,
    pub status: UpdateStatus,
    pub trigger: UpdateTrigger,
    /// One line; empty until the job ends.
    pub summary: String,
    pub logs: Vec<String>,
    /// ISO 8601 with milliseconds (`2026-01-15T10:30:00.000Z`).
    pub created_at: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    /// The commit's author (`Name <email>`), once fetched.
    pub author: Option<String>,
    pub commit: Option<CommitInfo>,
    /// How many times a node has claimed it (more than 1 after a node died mid-job).
    pub attempts: i64,
}

/// How a job ended, or what it has found out so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateReport {
    pub summary: String,
    pub logs: Vec<String>,
    pub author: Option<String>,
    pub commit: Option<CommitInfo>,
}
