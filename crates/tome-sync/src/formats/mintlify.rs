//! PLACEHOLDER: the Mintlify reader is being written.

use crate::archive::{Problem, Problems};
use crate::desired::Desired;
use crate::files::Files;

pub fn read(_files: &Files) -> Result<Desired, Problems> {
    Err(Problems(vec![Problem::new(
        "docs.json",
        "the Mintlify reader is not built yet",
    )]))
}
