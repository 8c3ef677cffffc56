//! Route handlers, one module per area of the API.

pub mod articles;
pub mod content;
pub mod kb;
pub mod public;
pub mod sources;
