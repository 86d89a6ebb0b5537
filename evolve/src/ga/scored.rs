//! Genomes with their fitness: what populations, the hall of fame and reports hold.

use serde::{Deserialize, Serialize};

/// A genome with its cache key and fitness (non-finite = invalid, ranked worst).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Scored<G> {
    /// The genome.
    pub genome: G,
    /// Its [`Problem::key`](super::Problem::key).
    pub key: u64,
    /// Its fitness, higher is better; serialised as a number, or `"NaN"`, `"inf"`, `"-inf"`.
    #[serde(with = "fitness_serde")]
    pub fitness: f64,
}

/// One new evaluation: what a run persists, and what [`Engine::resume`](super::Engine::resume)
/// takes back (as `(genome, eval)` pairs in this order).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Evaluated<G, E> {
    /// The genome evaluated.
    pub genome: G,
    /// Its [`Problem::key`](super::Problem::key).
    pub key: u64,
    /// What [`Problem::evaluate`](super::Problem::evaluate) returned.
    pub eval: E,
    /// [`Problem::fitness`](super::Problem::fitness) of `eval`.
    #[serde(with = "fitness_serde")]
    pub fitness: f64,
}

/// JSON has no NaN or infinities: those fitness values travel as strings.
mod fitness_serde {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        match *x {
            x if x.is_finite() => s.serialize_f64(x),
            x if x.is_nan() => s.serialize_str("NaN"),
            x if x > 0.0 => s.serialize_str("inf"),
            _ => s.serialize_str("-inf"),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Number(x) => Ok(x),
            Repr::Text(t) => match t.as_str() {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                _ => Err(D::Error::custom(format!("`{t}` is not a fitness"))),
            },
        }
    }
}
