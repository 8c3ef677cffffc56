//! PLACEHOLDER: the Tome-layout reader is being written.

use crate::archive::{Problem, Problems};
use crate::desired::Desired;
use crate::files::Files;

pub fn read(_files: &Files) -> Result<Desired, Problems> {
    Err(Problems(vec![Problem::new(
        "manifest.json",
        "the Tome reader is not built yet",
    )]))
}
