//! Route handlers, one module per area of the API.

pub mod articles;
pub mod assistant;
pub mod content;
pub mod docs;
pub mod kb;
pub mod public;
pub mod sources;
