use tome_core::ValidationError;
use tome_core::model::Entity;

/// Why a storage call failed: the caller's mistake, or ours.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The entity does not exist in the caller's project.
    #[error("{} not found", .0.label())]
    NotFound(Entity),
    /// The request refers to something that is not there, or clashes with existing data.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The project's monthly credit cap would be exceeded.
    #[error("monthly credit cap of {cap} would be exceeded ({used} used, {price} needed)")]
    SpendingCap { cap: i64, used: i64, price: i64 },
    /// The database could not be reached or is overloaded.
    #[error("database unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Bad configuration (e.g. an unsupported database URL).
    #[error("{0}")]
    Config(String),
    /// `tome copy` refused to start or could not verify what it copied.
    #[error("{0}")]
    Copy(String),
    /// Anything else: a bug or a broken database. Never shown to clients.
    #[error("internal storage error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(e)),
            sqlx::Error::Database(ref db) if db.code().as_deref().is_some_and(is_unavailable) => {
                StoreError::Unavailable(Box::new(e))
            }
            other => StoreError::Internal(Box::new(other)),
        }
    }
}

/// Whether a PostgreSQL SQLSTATE means "the database cannot serve this right now" rather than
/// "this request or our code is wrong": lost connections, a server shutting down or starting up,
/// too many connections, and our own statement and lock timeouts. SQLite's codes are numbers
/// and never match.
fn is_unavailable(sqlstate: &str) -> bool {
    sqlstate.starts_with("08") // connection_exception and its subclasses
        || matches!(
            sqlstate,
            "57P01" // admin_shutdown
                | "57P02" // crash_shutdown
                | "57P03" // cannot_connect_now
                | "53300" // too_many_connections
                | "57014" // query_canceled (statement_timeout)
                | "55P03" // lock_not_available (lock_timeout)
                | "25006" // read_only_sql_transaction (a standby after failover)
        )
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Internal(Box::new(e))
    }
}
