//! A request field that can be absent, explicitly `null`, or a value.

use serde::{Deserialize, Deserializer};

/// Tri-state field for partial updates: absent (leave alone), `null` (clear), or a value.
///
/// Use with `#[serde(default)]` so a missing field deserializes to [`Patch::Absent`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Patch<T> {
    /// The value, treating `null` like absent (for create requests).
    pub fn into_option(self) -> Option<T> {
        match self {
            Patch::Value(v) => Some(v),
            Patch::Absent | Patch::Null => None,
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Patch::Value(v),
            None => Patch::Null,
        })
    }
}
