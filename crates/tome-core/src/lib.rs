//! Tome's domain: entities, identifiers, API keys, validation rules and credit prices.
//!
//! Nothing here knows about HTTP or SQL. The HTTP crate turns requests into the input types in
//! [`input`], which validate themselves into the `New*`/`*Patch` types that storage writes.

pub mod assistant;
pub mod credits;
pub mod cursor;
pub mod id;
pub mod input;
pub mod keys;
pub mod model;
pub mod patch;
pub mod source;
pub mod time;
pub mod validate;

pub use patch::Patch;
pub use validate::ValidationError;
