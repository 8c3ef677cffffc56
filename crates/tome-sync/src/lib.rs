//! Knowledge bases as files. [`archive`] is the `tome export` / `tome import` format;
//! [`formats`] reads a source folder (Tome's own layout or a Mintlify repository) into the
//! [`desired`] content of a knowledge base; [`files`] holds a folder's files under the update
//! limits; [`links`] finds and rewrites link destinations (`tome:page/N` → hosted URLs).

pub mod archive;
pub mod desired;
pub mod files;
pub mod formats;
pub mod links;
