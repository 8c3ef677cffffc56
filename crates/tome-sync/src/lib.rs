//! Knowledge bases as files. [`archive`] is the `tome export` / `tome import` format;
//! [`formats`] reads a source folder (Tome's own layout or a Mintlify repository) into the
//! [`desired`] content of a knowledge base; [`files`] holds a folder's files under the update
//! limits; [`git`] fetches git sources and reads their trees and changes.

pub mod archive;
pub mod desired;
pub mod files;
pub mod formats;
pub mod git;
pub mod links;
pub mod planner;
pub mod runner;
#[cfg(feature = "testing")]
pub mod testing;
