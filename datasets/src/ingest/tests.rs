//! Ingest tests: shipped samples, every shape, every validation error, round trips.

use super::*;

fn sample(name: &str) -> Vec<ParsedSeries> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(name);
    read_file(&path, &ImportOptions::default()).unwrap()
}

#[test]
fn goog_sample_is_daily_with_new_york_midnight_stamps() {
    let series = sample("GOOG.csv");
    assert_eq!(series.len(), 1);
    let goog = &series[0];
    assert_eq!(goog.symbol, "GOOG");
    assert_eq!(goog.timeframe, Timeframe::Day1);
    assert_eq!(goog.bars.len(), 2148);
    assert_eq!(goog.bars.close()[0], 100.34);
    let (first, last) = goog.bars.span().unwrap();
    assert_eq!(first.to_string(), "2004-08-19T04:00:00Z");
    assert_eq!(last.to_string(), "2013-03-01T05:00:00Z");
}
