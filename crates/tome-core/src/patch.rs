//! A request field that can be absent, explicitly `null`, or a value.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
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

/// `deserialize_with` for a `Patch` of a struct that must be sent as a JSON object. (serde's
/// derived structs also accept an array of their fields in declaration order, which would let
/// `"theme_settings": ["#fff", true]` through.)
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Patch<T>, D::Error> {
    Ok(match Option::<Object<T>>::deserialize(d)? {
        Some(Object(v)) => Patch::Value(v),
        None => Patch::Null,
    })
}

/// `deserialize_with` for a `Patch` of a list of structs, each sent as a JSON object.
pub fn object_list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Patch<Vec<T>>, D::Error> {
    Ok(match Option::<Vec<Object<T>>>::deserialize(d)? {
        Some(list) => Patch::Value(list.into_iter().map(|Object(v)| v).collect()),
        None => Patch::Null,
    })
}

/// A `T` deserialized only from a map (a JSON object).
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        d.deserialize_map(ObjectVisitor(PhantomData)).map(Object)
    }
}
