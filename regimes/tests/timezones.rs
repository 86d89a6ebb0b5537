//! The same bars stamped with New York offsets, as naive UTC, or as naive New York time with
//! a time zone given at import: one store content, one answer.

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::DateTime;
use chrono_tz::America::New_York;
use datasets::actions::import_parsed;
use datasets::ingest::{self, ImportOptions};
use datasets::store::{Store, WriteMode};
use regimes::{MarketInputs, Selection};

/// One CSV of every symbol's bars with timestamps written by `stamp`.
fn csv(universe: &datasets::synth::Universe, stamp: impl Fn(i64) -> String) -> String {
    let mut out = String::from("timestamp,open,high,low,close,volume,symbol\n");
    for (i, meta) in universe.symbols().iter().enumerate() {
        let bars = universe.daily(i);
        for k in 0..bars.len() {
            let b = bars.bar(k);
            writeln!(
                out,
                "{},{},{},{},{},{},{}",
                stamp(b.ts.0),
                b.open,
                b.high,
                b.low,
                b.close,
                b.volume,
                meta.symbol
            )
            .unwrap();
        }
    }
    out
}

/// Imports `text` into a new store, with the universe's symbol metadata when `metadata`.
fn import_with(
    universe: &datasets::synth::Universe,
    text: &str,
    opts: &ImportOptions,
    metadata: bool,
) -> (tempfile::TempDir, MarketInputs) {
    let dir = tempfile::tempdir().unwrap();
    let parsed = ingest::parse_bytes("bars.csv", text.as_bytes(), opts)
        .unwrap()
        .into_iter()
        .map(|s| {
            let meta = universe.symbols().iter().find(|m| metadata && m.symbol == s.symbol).cloned();
            (PathBuf::from("bars.csv"), s, meta)
        })
        .collect();
    import_parsed(dir.path(), parsed, WriteMode::Append).unwrap();
    let inputs = MarketInputs::from_store(&Store::open(dir.path()).unwrap(), &Selection::default()).unwrap();
    (dir, inputs)
}

fn import(
    universe: &datasets::synth::Universe,
    text: &str,
    opts: &ImportOptions,
) -> (tempfile::TempDir, MarketInputs) {
    import_with(universe, text, opts, true)
}

#[test]
fn offset_naive_utc_and_zoned_local_stamps_give_the_same_regimes() {
    let universe = common::universe(4, 6, 11);
    let utc = |ns: i64| DateTime::from_timestamp_nanos(ns);
    // 2022-01-03T00:00:00-05:00 / 2022-07-01T00:00:00-04:00: daily bars at New York midnight.
    let offset = csv(&universe, |ns| utc(ns).with_timezone(&New_York).to_rfc3339());
    let naive_utc = csv(&universe, |ns| utc(ns).format("%Y-%m-%d %H:%M:%S").to_string());
    let naive_local =
        csv(&universe, |ns| utc(ns).with_timezone(&New_York).format("%Y-%m-%dT%H:%M:%S").to_string());
    assert!(offset.contains("T00:00:00-05:00,") && offset.contains("T00:00:00-04:00,"));
    assert!(naive_utc.contains(" 05:00:00,") && naive_utc.contains(" 04:00:00,"));

    let (_a, from_offset) = import(&universe, &offset, &ImportOptions::default());
    let (_b, from_utc) = import(&universe, &naive_utc, &ImportOptions::default());
    let zoned = ImportOptions { tz: Some(New_York), ..Default::default() };
    let (_c, from_local) = import(&universe, &naive_local, &zoned);
    // Naive local times read as UTC would be a different (wrong) clock: the test can fail.
    let (_d, misread) = import(&universe, &naive_local, &ImportOptions::default());
    assert_ne!(misread.timestamps(), from_offset.timestamps());

    let spy = universe.daily(0);
    assert_eq!(from_offset.timestamps(), spy.timestamps(), "UTC nanoseconds inside");
    assert_eq!(from_offset.members().len(), 6, "the stocks; SPY, the ETFs and VIX are not breadth");
    // Members stored on exactly the market's days are their mapped closes, not heap copies.
    assert!(from_offset.members().iter().all(|m| matches!(m, regimes::MemberCloses::Mapped(_))));
    // Without metadata every symbol is an equity: all but the market and the index are breadth.
    let (_e, bare) = import_with(&universe, &offset, &ImportOptions::default(), false);
    assert_eq!(bare.members().len(), universe.symbols().len() - 2);
    assert_eq!(from_offset, from_utc);
    assert_eq!(from_offset, from_local);

    let features = common::features(&from_offset);
    let model = common::train_on_rules(&features).model;
    let calls = model.predict(&features).unwrap();
    for other in [&from_utc, &from_local] {
        let f = common::features(other);
        let bits = |m: &regimes::FeatureMatrix| m.values().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert!(
            f.timestamps() == features.timestamps() && bits(&f) == bits(&features),
            "same features, NaN included"
        );
        assert_eq!(f.rule_regimes(), features.rule_regimes());
        assert_eq!(model.predict(&f).unwrap(), calls);
    }
    assert!(calls.iter().flatten().count() > 800);
}
