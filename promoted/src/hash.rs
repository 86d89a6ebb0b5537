//! 64-bit content hashes written as 16 hex digits, so JSON readers that parse numbers as
//! doubles cannot round them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An xxh3-64 content hash (of bars, or of an equity curve).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Hash64(pub u64);

impl Hash64 {
    /// xxh3-64 of a series of floats' bit patterns: two curves hash equal only when every value
    /// is bit-identical.
    pub fn of_f64s(values: &[f64]) -> Hash64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for v in values {
            h.update(&v.to_bits().to_le_bytes());
        }
        Hash64(h.digest())
    }
}

impl Hash64 {
    /// xxh3-64 of a text's bytes (a strategy file's content hash).
    pub fn of_text(text: &str) -> Hash64 {
        Hash64(xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
    }
}

impl fmt::Display for Hash64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for Hash64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hash64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.len() != 16 {
            return Err(serde::de::Error::custom(format!("hash `{text}` is not 16 hex digits")));
        }
        u64::from_str_radix(&text, 16)
            .map(Hash64)
            .map_err(|_| serde::de::Error::custom(format!("hash `{text}` is not 16 hex digits")))
    }
}
