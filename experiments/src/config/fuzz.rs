//! Fuzzing the experiment, discovery and research parsers (issue 16): generated files — valid
//! skeletons with hostile values, keys dropped, duplicated or misplaced, and random byte damage —
//! must give an `Ok` or an error naming the file, never a panic or an allocation of their size.
//! A bounded number of cases, so it runs with every `cargo test` in CI.

use std::path::Path;

use proptest::prelude::*;

use super::Experiment;
use super::discover::Discovery;
use crate::research::Research;

/// Values chosen to break things: extremes of every TOML type, wrong types, odd strings.
fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("9223372036854775807".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("1e308".to_string()),
        Just("-1e308".to_string()),
        Just("1e-308".to_string()),
        Just("5e-324".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        Just("0.001".to_string()),
        Just("1e-9".to_string()),
        Just("\"\"".to_string()),
        Just("\"sma_cross\"".to_string()),
        Just("\"../../../etc/passwd\"".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("true".to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>().prop_map(|x| format!("{x:?}")).prop_filter("TOML floats", |s| !s.contains("NaN")),
        (0u64..1_000_000).prop_map(|n| n.to_string()),
        "[a-z_]{0,12}".prop_map(|s| format!("\"{s}\"")),
    ]
}

/// `key = value` lines an experiment, discovery or research file may hold (and some it may not).
const KEYS: &[&str] = &[
    "[sweep]\nmode = \"grid\"\nsamples",
    "[sweep]\nmode = \"random\"\nsamples",
    "[sweep]\nmax_combinations",
    "[sweep]\nseed",
    "[params]\nfast = { min = 1, max",
    "[params]\nfast = { min = 2, max = 500, step",
    "[params]\nwindow = { min",
    "[params]\nentry_z = { min = 0.5, max = 4, step",
    "[params]\nentry_z = { values = [",
    "[account]\ncash",
    "[account]\ncommission_rate",
    "[account]\ncommission_per_share",
    "[account]\ncommission_per_order",
    "[account]\nslippage_bps",
    "[evolve]\npopulation",
    "[evolve]\ngenerations",
    "[evolve]\ntournament_size",
    "[evolve]\nelitism",
    "[evolve]\nhall_of_fame",
    "[evolve]\nmutation_rate",
    "[evolve.stagnation]\npatience",
    "[validation]\nin_sample",
    "[validation]\npbo_blocks",
    "[validation]\nwalk_forward = { folds",
    "[validation]\nwalk_forward = { folds = 3, test_fraction",
    "[fitness]\nmax_drawdown",
    "[fitness]\nmin_trades",
    "[output]\ntop",
    "[data]\ntimeframe",
    "[discover]\npopulation",
    "[discover]\ngenerations",
    "[discover]\ncache_mb",
    "[discover.gp]\nmax_depth",
    "[discover.gp]\nmax_nodes",
    "[discover.novelty]\nk",
];

/// A base file and one hostile `key = value`, closed as its opening needs (`}` or `]`).
fn with_hostile_key(base: &'static str) -> impl Strategy<Value = String> {
    (prop::sample::select(KEYS), hostile_value(), any::<bool>()).prop_map(move |(key, value, before)| {
        let close = if key.ends_with('[') {
            "] }"
        } else if key.contains('{') {
            " }"
        } else {
            ""
        };
        let line = format!("{key} = {value}{close}\n").replace("= [ = ", "= [");
        if before { format!("{line}{base}") } else { format!("{base}\n{line}") }
    })
}

/// A base file with random bytes replaced, inserted or cut.
fn damaged(base: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec((0..base.len(), any::<u8>(), 0u8..3), 1..6).prop_map(move |edits| {
        let mut bytes = base.as_bytes().to_vec();
        for (at, byte, kind) in edits {
            let at = at.min(bytes.len().saturating_sub(1));
            match kind {
                0 if !bytes.is_empty() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => bytes.truncate(at),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

const EXPERIMENT: &str = include_str!("../../mean_reversion_goog_evolve.toml");
const SWEEP: &str = include_str!("../../sma_cross_goog.toml");
const DISCOVER: &str = include_str!("../../discover_goog.toml");
const NIGHTLY: &str = include_str!("../../nightly.toml");

/// Parses `text` with every parser; an error must name the file.
fn parse_all(text: &str) {
    let base = Path::new("/nonexistent");
    let checks = [
        Experiment::parse(text, "f.toml", base).err(),
        Discovery::parse(text, "f.toml", base).err(),
        Research::parse(text, "f.toml", base).err(),
    ];
    for e in checks.into_iter().flatten() {
        assert!(e.to_string().starts_with("f.toml"), "an error that does not name the file: {e}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn hostile_values_give_errors_not_panics(
        text in prop_oneof![
            with_hostile_key(EXPERIMENT),
            with_hostile_key(SWEEP),
            with_hostile_key(DISCOVER),
            with_hostile_key(NIGHTLY),
        ]
    ) {
        parse_all(&text);
    }

    #[test]
    fn damaged_files_give_errors_not_panics(
        text in prop_oneof![damaged(EXPERIMENT), damaged(SWEEP), damaged(DISCOVER), damaged(NIGHTLY)]
    ) {
        parse_all(&text);
    }
}
