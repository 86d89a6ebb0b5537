//! Novelty settings (an experiment file's `[novelty]` table) and their validation.

use serde::{Deserialize, Serialize};

/// How individuals enter the archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Insertion {
    /// Novelty strictly above the archive's adaptive threshold.
    Threshold,
    /// Each valid individual with probability `insert_probability`, drawn from the caller's stream.
    Probability,
}

/// Which entry a newcomer replaces when the archive is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Replacement {
    /// The earliest inserted entry (first in, first out): the archive is a sliding memory.
    Oldest,
    /// The entry with the lowest novelty recorded at its insertion (the oldest among equals),
    /// and only if the newcomer's novelty is higher; otherwise the newcomer is not inserted.
    LeastNovel,
}

/// Settings of novelty search. Missing fields take the defaults (the old system's
/// `k_neighbors` 20, `archive_size` 500, `novelty_weight` 0.3), unknown ones are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoveltyConfig {
    /// Neighbours averaged for an individual's novelty.
    pub k_neighbors: usize,
    /// Most entries the archive holds (0: no archive, novelty against the population only).
    pub archive_size: usize,
    /// `w` in `fitness' = (1 − w)·fitness_rank + w·novelty_rank`, in [0, 1].
    pub novelty_weight: f64,
    /// How individuals enter the archive.
    pub insertion: Insertion,
    /// Which entry a newcomer replaces when the archive is full.
    pub replacement: Replacement,
    /// Starting novelty threshold (descriptor distance units), for `insertion = "threshold"`.
    pub initial_threshold: f64,
    /// Factor (> 1) applied to the threshold after a generation inserting more than
    /// `max_insert_fraction` of the population.
    pub threshold_raise: f64,
    /// Factor (in (0, 1)) applied to the threshold after `stall_generations` generations in a
    /// row inserting nothing.
    pub threshold_lower: f64,
    /// Share of the population above which one generation's insertions count as too many.
    pub max_insert_fraction: f64,
    /// Generations in a row without an insertion before the threshold is lowered.
    pub stall_generations: u32,
    /// Chance that a valid individual enters, for `insertion = "probability"`.
    pub insert_probability: f64,
}

impl Default for NoveltyConfig {
    fn default() -> Self {
        NoveltyConfig {
            k_neighbors: 20,
            archive_size: 500,
            novelty_weight: 0.3,
            insertion: Insertion::Threshold,
            replacement: Replacement::Oldest,
            initial_threshold: 0.25,
            threshold_raise: 1.2,
            threshold_lower: 0.9,
            max_insert_fraction: 0.1,
            stall_generations: 3,
            insert_probability: 0.05,
        }
    }
}

/// A bad setting, or an archive that does not fit the settings.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoveltyError {
    /// A field out of its range.
    #[error("novelty config: `{field}` {reason}")]
    Config {
        /// Field name, e.g. `k_neighbors`.
        field: &'static str,
        /// What is wrong, with the value given.
        reason: String,
    },
    /// Resuming with an archive built for another `archive_size`.
    #[error("novelty resume: the archive holds up to {archive} entries but `archive_size` is {config}")]
    ArchiveSize {
        /// The checkpointed archive's capacity.
        archive: usize,
        /// The config's `archive_size`.
        config: usize,
    },
    /// A deserialised archive whose parts do not fit together (a damaged checkpoint).
    #[error("novelty resume: the archive checkpoint is inconsistent")]
    CorruptArchive,
}

impl NoveltyConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), NoveltyError> {
        let bad = |field: &'static str, reason: String| Err(NoveltyError::Config { field, reason });
        let in_unit = |x: f64| (0.0..=1.0).contains(&x);
        if self.k_neighbors == 0 {
            return bad("k_neighbors", "must be at least 1".into());
        }
        if !in_unit(self.novelty_weight) {
            return bad("novelty_weight", format!("must be in [0, 1] (got {})", self.novelty_weight));
        }
        if !(self.initial_threshold.is_finite() && self.initial_threshold > 0.0) {
            return bad(
                "initial_threshold",
                format!("must be finite and positive (got {})", self.initial_threshold),
            );
        }
        if !(self.threshold_raise.is_finite() && self.threshold_raise > 1.0) {
            return bad(
                "threshold_raise",
                format!("must be finite and above 1 (got {})", self.threshold_raise),
            );
        }
        if !(self.threshold_lower > 0.0 && self.threshold_lower < 1.0) {
            return bad("threshold_lower", format!("must be in (0, 1) (got {})", self.threshold_lower));
        }
        if !in_unit(self.max_insert_fraction) {
            return bad(
                "max_insert_fraction",
                format!("must be in [0, 1] (got {})", self.max_insert_fraction),
            );
        }
        if self.stall_generations == 0 {
            return bad("stall_generations", "must be at least 1".into());
        }
        if !in_unit(self.insert_probability) {
            return bad("insert_probability", format!("must be in [0, 1] (got {})", self.insert_probability));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Puts one field out of its range.
    type Spoil = fn(&mut NoveltyConfig);

    #[test]
    fn defaults_are_the_old_systems_and_valid() {
        let c = NoveltyConfig::default();
        assert_eq!((c.k_neighbors, c.archive_size, c.novelty_weight), (20, 500, 0.3));
        c.validate().unwrap();
    }

    #[test]
    fn toml_fills_defaults_and_refuses_unknown_keys() {
        let c: NoveltyConfig =
            toml::from_str("k_neighbors = 15\ninsertion = \"probability\"\nreplacement = \"least_novel\"")
                .unwrap();
        assert_eq!(c.k_neighbors, 15);
        assert_eq!((c.insertion, c.replacement), (Insertion::Probability, Replacement::LeastNovel));
        assert_eq!(c.archive_size, 500);
        let err = toml::from_str::<NoveltyConfig>("k_neighbours = 15").unwrap_err();
        assert!(err.to_string().contains("k_neighbours"), "{err}");
    }

    #[test]
    fn validation_names_the_bad_key() {
        let cases: [(&str, Spoil); 8] = [
            ("k_neighbors", |c| c.k_neighbors = 0),
            ("novelty_weight", |c| c.novelty_weight = 1.5),
            ("initial_threshold", |c| c.initial_threshold = f64::NAN),
            ("threshold_raise", |c| c.threshold_raise = 1.0),
            ("threshold_lower", |c| c.threshold_lower = 1.0),
            ("max_insert_fraction", |c| c.max_insert_fraction = -0.1),
            ("stall_generations", |c| c.stall_generations = 0),
            ("insert_probability", |c| c.insert_probability = 2.0),
        ];
        for (field, spoil) in cases {
            let mut c = NoveltyConfig::default();
            spoil(&mut c);
            let err = c.validate().unwrap_err();
            assert_eq!(err, NoveltyError::Config { field, reason: err_reason(&err) });
            assert!(err.to_string().contains(&format!("`{field}`")), "{err}");
        }
    }

    fn err_reason(err: &NoveltyError) -> String {
        match err {
            NoveltyError::Config { reason, .. } => reason.clone(),
            other => panic!("unexpected {other}"),
        }
    }
}
