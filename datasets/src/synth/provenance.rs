//! The note a generated store keeps that its bars are synthetic, so a report built on the
//! store can say so on its first line.
//!
//! [`crate::actions::generate`] writes `SYNTHETIC.json` next to the store's manifest; it survives
//! later imports into the same store (a store mixing generated and imported bars is still
//! reported as synthetic: the safe side).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Effects, Strengths, SynthConfig};
use crate::fsio::{FsError, write_atomic};

/// File name of the note inside the store directory.
pub const FILE: &str = "SYNTHETIC.json";

/// How the synthetic bars of a store were generated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The universe's seed.
    pub seed: u64,
    /// Stocks generated (funds and the index come on top).
    pub stocks: usize,
    /// Years of daily history.
    pub years: u32,
    /// Last calendar day, `YYYY-MM-DD`.
    pub end: String,
    /// Planted effects (`all`, `none` or a list).
    pub effects: Effects,
    /// How strongly they are planted (1 in notes written before the strength existed).
    #[serde(default)]
    pub strength: Strengths,
}

impl Provenance {
    /// The note for a universe generated from `config`.
    pub fn of(config: &SynthConfig) -> Self {
        Provenance {
            seed: config.seed,
            stocks: config.symbols,
            years: config.years,
            end: config.end.to_string(),
            effects: config.effects,
            strength: config.strength,
        }
    }

    /// One phrase for a report, e.g. `synthetic universe (seed 42, 500 stocks, 10 years to
    /// 2025-12-31, planted effects: all)`; a null universe says so, and a strength other than
    /// 1 is named (`planted effects: all at 4× strength`).
    pub fn describe(&self) -> String {
        let effects = match self.effects {
            Effects::NONE => "none: a null (martingale) universe".to_string(),
            e => format!("{e}{}", self.strength.phrase()),
        };
        format!(
            "synthetic universe (seed {}, {} stocks, {} years to {}, planted effects: {effects})",
            self.seed, self.stocks, self.years, self.end
        )
    }

    /// Writes the note into the store directory `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), FsError> {
        let text = serde_json::to_string_pretty(self).expect("provenance serialises");
        write_atomic(&dir.join(FILE), text.as_bytes())
    }

    /// What the store at `dir` says about its bars: `None` when it has no note (imported
    /// data), `Some(Err(reason))` when the note is there but unreadable (the bars are still
    /// synthetic).
    pub fn read(dir: &Path) -> Option<Result<Provenance, String>> {
        let path = dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return Some(Err(format!("{}: {e}", path.display()))),
            Ok(text) => text,
        };
        Some(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display())))
    }

    /// The report phrase for the store at `dir`: `Some` (saying synthetic) when it holds
    /// generated bars.
    pub fn describe_store(dir: &Path) -> Option<String> {
        Provenance::read(dir).map(|note| match note {
            Ok(p) => p.describe(),
            Err(why) => format!("synthetic universe (its note is unreadable: {why})"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_round_trips_and_a_missing_or_damaged_one_is_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Provenance::read(dir.path()), None);
        assert_eq!(Provenance::describe_store(dir.path()), None);
        let null = Provenance::of(&SynthConfig { effects: Effects::NONE, seed: 7, ..SynthConfig::default() });
        null.write(dir.path()).unwrap();
        assert_eq!(Provenance::read(dir.path()), Some(Ok(null.clone())));
        assert_eq!(
            Provenance::describe_store(dir.path()).unwrap(),
            "synthetic universe (seed 7, 500 stocks, 10 years to 2025-12-31, planted effects: none: a null \
             (martingale) universe)"
        );
        let strong =
            Provenance::of(&SynthConfig { strength: "4".parse().unwrap(), ..SynthConfig::default() });
        assert!(strong.describe().ends_with("planted effects: all at 4× strength)"), "{}", strong.describe());
        let mut old: serde_json::Value = serde_json::to_value(&strong).unwrap();
        assert_eq!(old["strength"], 4.0);
        old.as_object_mut().unwrap().remove("strength");
        assert_eq!(serde_json::from_value::<Provenance>(old).unwrap().strength, Strengths::ONE);
        // Per-effect strengths are named, kept as their list, and read back.
        let named = Provenance::of(&SynthConfig {
            strength: "premium=2.5, mean_reversion=3".parse().unwrap(),
            ..SynthConfig::default()
        });
        assert!(
            named.describe().ends_with(
                "planted effects: all with mean_reversion at 3× and premium at 2.5× strength (the rest at 1×))"
            ),
            "{}",
            named.describe()
        );
        let json = serde_json::to_value(&named).unwrap();
        assert_eq!(json["strength"], "mean_reversion=3,premium=2.5");
        assert_eq!(serde_json::from_value::<Provenance>(json).unwrap(), named);
        std::fs::write(dir.path().join(FILE), "{").unwrap();
        let said = Provenance::describe_store(dir.path()).unwrap();
        assert!(
            said.starts_with("synthetic universe (its note is unreadable: ") && said.contains(FILE),
            "{said}"
        );
    }
}
