//! The summary a research run stores with its row in the research database: written once here,
//! read back by the next night (each family's state, its out-of-sample looks) and by
//! `tradebot status` (the verdict counts).
//!
//! Every field is optional on reading, so a summary written by an older build loads: the first
//! ones stored only `verdicts`, `states` came later (before it, only `enable` read as enabled),
//! then `looks`, `discovery` and `night`. An unreadable summary reads as empty, as a missing one.

use std::collections::{BTreeMap, HashMap};

use evolve::stats::Verdict;
use serde::{Deserialize, Serialize};

use super::night::Looks;

/// A research run's stored summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResearchSummary {
    /// Strategy discovery, when the night ran it.
    pub discovery: Option<DiscoverySummary>,
    /// Tonight's verdict on each family judged.
    pub verdicts: BTreeMap<String, Verdict>,
    /// Every family's state after the run (judged tonight or carried over); `None` in a summary
    /// from before states were stored.
    pub states: Option<BTreeMap<String, Switch>>,
    /// How often each family's out-of-sample window has been judged, up to tonight.
    pub looks: BTreeMap<String, Looks>,
    /// The whole night's trials and out-of-sample tests.
    pub night: NightCounts,
    /// Fitness evaluations of the run.
    pub evaluations: u64,
    /// Wall time of the run, seconds.
    pub elapsed_s: f64,
    /// Time in the GA runs, seconds.
    pub ga_s: f64,
    /// Time in their fitness evaluations, seconds.
    pub evaluating_s: f64,
}

/// The discovery part of a [`ResearchSummary`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiscoverySummary {
    /// The discovery run's id.
    pub run_id: i64,
    /// Genomes evaluated.
    pub trials: usize,
    /// Candidates it recorded.
    pub candidates: usize,
    /// The ids of the candidates that passed every gate.
    pub passed: Vec<i64>,
}

/// The night's counts the statistics deflate by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NightCounts {
    /// Parameter sets and genomes evaluated in the night.
    pub trials: usize,
    /// The effective number of independent trials among them, which the DSRs deflate by (0 in
    /// summaries written before it was measured).
    pub effective_trials: usize,
    /// Out-of-sample tests judged in the night.
    pub oos_tests: usize,
}

/// Whether a family trades after a run, as the summary stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Switch {
    /// It trades.
    Enabled,
    /// It does not.
    Disabled,
}

impl Switch {
    /// `Enabled` when `on`.
    pub fn from_enabled(on: bool) -> Switch {
        if on { Switch::Enabled } else { Switch::Disabled }
    }
}

impl ResearchSummary {
    /// The summary stored as `text`; empty when there is none or it cannot be read.
    pub fn parse(text: Option<&str>) -> ResearchSummary {
        text.and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
    }

    /// The stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("summaries serialise")
    }

    /// Family name → enabled after this run: its `states`, or in a summary from before they
    /// were stored, `enable` verdicts as enabled (a `keep` then said nothing of the state).
    pub fn enabled(&self) -> HashMap<String, bool> {
        match &self.states {
            Some(states) => states.iter().map(|(f, s)| (f.clone(), *s == Switch::Enabled)).collect(),
            None => self.verdicts.iter().map(|(f, v)| (f.clone(), *v == Verdict::Enable)).collect(),
        }
    }

    /// How many families got each verdict (for `tradebot status`).
    pub fn verdict_counts(&self) -> BTreeMap<Verdict, usize> {
        let mut counts = BTreeMap::new();
        for v in self.verdicts.values() {
            *counts.entry(*v).or_insert(0) += 1;
        }
        counts
    }
}

/// Every family's state after tonight: the state its verdict leaves it in, and for a family
/// not judged tonight (skipped, or the run stopped first) the state it had.
pub fn states_after<'a>(
    previous: &HashMap<String, bool>,
    verdicts: impl IntoIterator<Item = (&'a str, Verdict)>,
) -> BTreeMap<String, Switch> {
    let mut states: BTreeMap<String, Switch> =
        previous.iter().map(|(f, &on)| (f.clone(), Switch::from_enabled(on))).collect();
    for (family, verdict) in verdicts {
        let was = previous.get(family).copied().unwrap_or(false);
        states.insert(family.to_string(), Switch::from_enabled(verdict.enabled_after(was)));
    }
    states
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Night 1 enables `a`; night 2 keeps it; night 3 must read it as enabled. Reading the
    /// verdict word (`keep` ≠ `enable`) forgot it.
    #[test]
    fn keep_remembers_an_enabled_family() {
        let night = |previous: &HashMap<String, bool>, verdicts: [(&str, Verdict); 2]| {
            let s = ResearchSummary {
                verdicts: verdicts.iter().map(|(f, v)| (f.to_string(), *v)).collect(),
                states: Some(states_after(previous, verdicts)),
                ..ResearchSummary::default()
            };
            ResearchSummary::parse(Some(&s.to_json()))
        };
        let night1 = night(&HashMap::new(), [("a", Verdict::Enable), ("b", Verdict::Disable)]);
        let after1 = night1.enabled();
        assert_eq!(after1, HashMap::from([("a".to_string(), true), ("b".to_string(), false)]));
        let night2 = night(&after1, [("a", Verdict::Keep), ("b", Verdict::Keep)]);
        assert_eq!(night2.enabled(), after1, "{night2:?}");
        // A family not judged tonight (skipped) keeps its state; a new one starts disabled.
        let night3 = states_after(&night2.enabled(), [("c", Verdict::Keep)]);
        assert_eq!(night3["a"], Switch::Enabled);
        assert_eq!(night3["b"], Switch::Disabled);
        assert_eq!(night3["c"], Switch::Disabled);
    }

    /// Summaries as older builds stored them load: the first with verdicts only (only `enable`
    /// reads as enabled), and the one of the build before this type, written by `json!`.
    #[test]
    fn summaries_written_by_older_builds_load() {
        let legacy = ResearchSummary::parse(Some(r#"{"verdicts":{"a":"enable","b":"keep"}}"#));
        assert_eq!(legacy.enabled(), HashMap::from([("a".to_string(), true), ("b".to_string(), false)]));
        assert!(legacy.looks.is_empty());
        let previous = r#"{"discovery":{"candidates":3,"passed":[7],"run_id":12,"trials":400},
            "elapsed_s":5.5,"evaluating_s":2.25,"evaluations":900,"ga_s":4.0,
            "looks":{"sma_cross":{"looks":2,"oos_last_ns":1767225600000000000}},
            "night":{"oos_tests":4,"trials":1300},
            "states":{"gap_fill":"disabled","sma_cross":"enabled"},
            "verdicts":{"gap_fill":"disable","sma_cross":"keep"}}"#;
        let s = ResearchSummary::parse(Some(previous));
        assert!(s.enabled()["sma_cross"]);
        assert_eq!(s.looks["sma_cross"], Looks { looks: 2, oos_last_ns: 1_767_225_600_000_000_000 });
        assert_eq!(s.night, NightCounts { trials: 1300, effective_trials: 0, oos_tests: 4 });
        assert_eq!(s.discovery.as_ref().map(|d| d.passed.clone()), Some(vec![7]));
        assert_eq!((s.evaluations, s.elapsed_s, s.ga_s, s.evaluating_s), (900, 5.5, 4.0, 2.25));
        assert_eq!(s.verdict_counts(), BTreeMap::from([(Verdict::Keep, 1), (Verdict::Disable, 1)]));
        // Written again, it reads back the same; an unreadable or missing one is empty.
        assert_eq!(ResearchSummary::parse(Some(&s.to_json())), s);
        assert_eq!(ResearchSummary::parse(Some("not json")), ResearchSummary::default());
        assert_eq!(ResearchSummary::parse(None), ResearchSummary::default());
    }
}
