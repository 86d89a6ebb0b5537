//! Store failure paths that need fault injection: a full disk while writing segments, the
//! manifest or a compaction, and a stored bar that breaks an invariant.

use std::fs;
use std::path::Path;

use super::*;
use crate::fsio::faults;

const DAY: i64 = 86_400_000_000_000;

/// `n` valid daily bars from day `start`, prices rising by `step` per bar.
fn rising(n: usize, start: i64, step: f64) -> Bars {
    let mut bars = Bars::default();
    for i in 0..n {
        let p = 100.0 + step * i as f64;
        let bar = Bar {
            ts: Timestamp((start + i as i64) * DAY),
            open: p,
            high: p + 1.0,
            low: p - 1.0,
            close: p + 0.5,
            volume: 1000.0,
            vwap: None,
            trade_count: None,
        };
        bars.push(bar).unwrap();
    }
    bars
}

fn write(dir: &Path, symbol: &str, bars: &Bars, mode: WriteMode) -> Result<WriteSummary, StoreError> {
    let mut w = Writer::open(dir)?;
    w.write(symbol, Timeframe::Day1, bars, mode)?;
    w.commit()
}

/// Every file under `dir` with its bytes, sorted: the store's exact state.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for rel in ["", SEGMENTS_DIR, ORPHANS_DIR].into_iter().flat_map(|sub| list_dir(dir, sub).unwrap()) {
        let path = dir.join(&rel);
        if path.is_file() && rel != "READERS" && rel != "LOCK" {
            out.push((rel, fs::read(path).unwrap()));
        }
    }
    out
}

#[test]
fn a_full_disk_while_writing_a_segment_names_the_device_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "GOOG", &rising(50, 0, 1.0), WriteMode::Append).unwrap();
    let before = snapshot(dir.path());
    faults::set(Some(("segments/000002", 1000)));
    let err = write(dir.path(), "AAPL", &rising(500, 0, 0.5), WriteMode::Append).unwrap_err();
    faults::set(None);
    let msg = err.to_string();
    assert!(matches!(err, StoreError::NoSpace { .. }), "{msg}");
    assert!(msg.starts_with("no space left on /") && msg.contains("while writing"), "{msg}");
    assert!(msg.contains("segments/000002-1Day.arrow.tmp"), "{msg}");
    assert_eq!(snapshot(dir.path()), before, "no temp file, no change");
}

#[test]
fn a_full_disk_while_committing_the_manifest_removes_the_new_segment_and_temp_manifest() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "GOOG", &rising(50, 0, 1.0), WriteMode::Append).unwrap();
    let before = snapshot(dir.path());
    faults::set(Some(("MANIFEST.json", 10)));
    let err = write(dir.path(), "AAPL", &rising(20, 0, 0.5), WriteMode::Append).unwrap_err();
    faults::set(None);
    assert!(err.to_string().contains("MANIFEST.json.tmp"), "{err}");
    assert_eq!(snapshot(dir.path()), before);
    assert_eq!(Store::open(dir.path()).unwrap().list().len(), 1);
}

#[test]
fn a_failed_compaction_leaves_the_write_committed_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let old = rising(50, 0, 1.0);
    write(dir.path(), "GOOG", &old, WriteMode::Append).unwrap();
    let new = rising(40, 0, 2.0);
    faults::set(Some(("-c.arrow", 100)));
    let summary = write(dir.path(), "GOOG", &new, WriteMode::Replace).unwrap();
    faults::set(None);
    assert_eq!(summary.compacted, Vec::<Timeframe>::new());
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    assert!(
        summary.warnings[0].starts_with("committed; compaction deferred: no space left on"),
        "{:?}",
        summary.warnings
    );
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.series("GOOG", Timeframe::Day1).unwrap().unwrap().to_bars().unwrap(), new);
    let files = list_dir(dir.path(), SEGMENTS_DIR).unwrap();
    assert_eq!(
        files,
        ["segments/000001-1Day.arrow", "segments/000002-1Day.arrow"],
        "no compaction output left"
    );
    assert!(store.verify().unwrap().is_clean());
    drop(store);
    // The next write compacts what was deferred.
    let summary = write(dir.path(), "AAPL", &rising(5, 0, 1.0), WriteMode::Append).unwrap();
    assert_eq!(summary.compacted, [Timeframe::Day1]);
    assert_eq!(list_dir(dir.path(), SEGMENTS_DIR).unwrap(), ["segments/000004-1Day-c.arrow"]);
}

#[test]
fn a_bad_stored_bar_is_reported_with_its_segment_file_symbol_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut bars = rising(10, 0, 1.0);
    let marker = 4242.4242;
    let mut with_marker = Bars::default();
    for (i, mut bar) in bars.iter().enumerate() {
        if i == 3 {
            bar.close = marker;
            bar.high = marker + 1.0;
        }
        with_marker.push(bar).unwrap();
    }
    bars = with_marker;
    write(dir.path(), "GOOG", &bars, WriteMode::Append).unwrap();
    // Damage the close of bar 3 (NaN is refused by every bar check) and re-seal the file's
    // size and hash in the manifest, as a bug in a writer would have.
    let seg = dir.path().join("segments/000001-1Day.arrow");
    let mut bytes = fs::read(&seg).unwrap();
    let at = bytes.windows(8).position(|w| w == marker.to_le_bytes()).unwrap();
    bytes[at..at + 8].copy_from_slice(&f64::NAN.to_le_bytes());
    fs::write(&seg, &bytes).unwrap();
    let mut manifest = Manifest::load(dir.path()).unwrap();
    manifest.segments[0].xxh3 = xxhash_rust::xxh3::xxh3_64(&bytes);
    manifest.commit(dir.path()).unwrap();
    let err = Store::open(dir.path()).unwrap().verify().unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{msg}");
    assert!(
        msg.contains(
            "segments/000001-1Day.arrow: corrupt store file: GOOG 1Day bar at 1970-01-04T00:00:00Z: bar 3:"
        ),
        "{msg}"
    );
}

#[test]
fn a_writer_reads_back_the_metadata_it_will_commit() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "AAA", &rising(3, 0, 1.0), WriteMode::Append).unwrap();
    let mut w = Writer::open(dir.path()).unwrap();
    assert_eq!(w.meta("AAA").map(|m| m.symbol.as_str()), Some("AAA"), "as stored");
    assert!(w.meta("BBB").is_none());
    // Two changes to one symbol in one write: the second builds on the first.
    let source = |adjustment| crate::SeriesSource { provider: "alpaca".into(), feed: None, adjustment };
    let mut meta = w.meta("AAA").unwrap().clone();
    meta.sources.insert(Timeframe::Day1, source(crate::Adjustment::Split));
    w.set_meta(meta);
    let mut meta = w.meta("AAA").unwrap().clone();
    meta.sources.insert(Timeframe::Min1, source(crate::Adjustment::Raw));
    w.set_meta(meta);
    w.commit().unwrap();
    let stored = Store::open(dir.path()).unwrap();
    assert_eq!(stored.meta("AAA").unwrap().sources.len(), 2);
}
