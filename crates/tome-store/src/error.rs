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
    /// Anything else: a bug or a broken database. Never shown to clients.
    #[error("internal storage error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(Box::new(e))
            }
            other => StoreError::Internal(Box::new(other)),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Internal(Box::new(e))
    }
}
