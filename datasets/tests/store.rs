//! Bar store behaviour: round trips, appends, replacement, compaction, corruption, locking.

use std::borrow::Cow;
use std::fs;
use std::path::Path;

use datasets::store::{Field, Store, StoreError, WriteMode, Writer, writer::MAX_DELTAS};
use datasets::{AssetClass, Bar, Bars, SymbolMeta, Timeframe, Timestamp};
use proptest::prelude::*;

const DAY: i64 = 86_400_000_000_000;

/// A valid random-walk series of `n` bars starting at day `start`.
fn walk(n: usize, start: i64, seed: u64, extras: bool) -> Bars {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut price = 100.0;
    let mut bars = Bars::with_capacity(n);
    for i in 0..n {
        let open = price;
        price *= 1.0 + (next() - 0.5) * 0.04;
        let high = open.max(price) * (1.0 + next() * 0.01);
        let low = open.min(price) * (1.0 - next() * 0.01);
        bars.push(Bar {
            ts: Timestamp((start + i as i64) * DAY),
            open,
            high,
            low,
            close: price,
            volume: (next() * 1e6).round(),
            vwap: extras.then_some((high + low) / 2.0),
            trade_count: extras.then_some((next() * 1000.0) as u64),
        })
        .unwrap();
    }
    bars
}

fn write_all(
    dir: &Path,
    series: &[(&str, Timeframe, &Bars)],
    mode: WriteMode,
) -> datasets::store::WriteSummary {
    let mut w = Writer::open(dir).unwrap();
    for (sym, tf, bars) in series {
        w.write(sym, *tf, bars, mode).unwrap();
    }
    w.commit().unwrap()
}

fn read(store: &Store, sym: &str, tf: Timeframe) -> Bars {
    store.series(sym, tf).unwrap().unwrap().to_bars().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn round_trip_is_exact_and_zero_copy(
        lens in prop::collection::vec(1usize..300, 1..6),
        seed in any::<u64>(),
        extras in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let series: Vec<(String, Bars)> = lens
            .iter()
            .enumerate()
            .map(|(i, &n)| (format!("S{i}"), walk(n, i as i64, seed ^ i as u64, extras)))
            .collect();
        let mut w = Writer::open(dir.path()).unwrap();
        for (sym, bars) in &series {
            w.write(sym, Timeframe::Day1, bars, WriteMode::Append).unwrap();
            w.write(sym, Timeframe::Min1, bars, WriteMode::Append).unwrap();
        }
        w.commit().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (sym, bars) in &series {
            for tf in [Timeframe::Day1, Timeframe::Min1] {
                let s = store.series(sym, tf).unwrap().unwrap();
                prop_assert_eq!(&s.to_bars().unwrap(), bars);
                prop_assert!(matches!(s.close(), Cow::Borrowed(_)), "one chunk must be borrowed");
                let chunk = s.contiguous().unwrap();
                prop_assert_eq!(chunk.close, bars.close());
                prop_assert_eq!(chunk.timestamps, bars.timestamps());
                prop_assert_eq!(chunk.vwap, bars.vwap());
                prop_assert_eq!(chunk.trade_count, bars.trade_count());
            }
        }
        prop_assert_eq!(store.symbols(Timeframe::Day1).len(), series.len());
    }
}

#[test]
fn metadata_round_trips_and_new_symbols_get_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let bars = walk(10, 0, 1, false);
    let mut w = Writer::open(dir.path()).unwrap();
    let mut meta = SymbolMeta::new("XLK", AssetClass::Etf);
    meta.sector = Some("Technology".into());
    meta.fundamentals.market_cap = Some(1e9);
    w.set_meta(meta.clone());
    w.write("XLK", Timeframe::Day1, &bars, WriteMode::Append).unwrap();
    w.write("ABC", Timeframe::Day1, &bars, WriteMode::Append).unwrap();
    w.commit().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.meta("XLK"), Some(&meta));
    assert_eq!(store.meta("ABC").unwrap().asset_class, AssetClass::Equity);
    assert_eq!(store.metas().count(), 2);
}

#[test]
fn append_adds_a_chunk_and_skips_exact_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let all = walk(150, 0, 7, true);
    let head = all.slice(0..100);
    write_all(dir.path(), &[("GOOG", Timeframe::Day1, &head)], WriteMode::Append);
    // Re-fetch overlapping days plus new ones, as a nightly refresh does.
    let overlap = all.slice(90..120);
    let summary = write_all(dir.path(), &[("GOOG", Timeframe::Day1, &overlap)], WriteMode::Append);
    assert_eq!((summary.rows, summary.unchanged_rows), (20, 10));
    let store = Store::open(dir.path()).unwrap();
    let s = store.series("GOOG", Timeframe::Day1).unwrap().unwrap();
    assert_eq!(s.chunks().len(), 2);
    assert!(matches!(s.close(), Cow::Owned(_)));
    assert_eq!(s.to_bars().unwrap(), all.slice(0..120));
    assert_eq!(store.info("GOOG", Timeframe::Day1).unwrap().last, Timestamp(119 * DAY));
    // A repeat of stored bars only is a no-op write.
    let summary = write_all(dir.path(), &[("GOOG", Timeframe::Day1, &all.slice(0..50))], WriteMode::Append);
    assert_eq!((summary.rows, summary.unchanged_rows, summary.series), (0, 50, 0));
}

#[test]
fn conflicting_or_inserted_bars_fail_and_leave_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let bars = walk(50, 0, 3, false);
    write_all(dir.path(), &[("A", Timeframe::Day1, &bars)], WriteMode::Append);
    let manifest_before = fs::read(dir.path().join("MANIFEST.json")).unwrap();
    let files_before = fs::read_dir(dir.path().join("segments")).unwrap().count();

    let mut changed = Bars::default();
    for mut bar in bars.slice(40..50).iter() {
        bar.volume += 1.0;
        changed.push(bar).unwrap();
    }
    let mut w = Writer::open(dir.path()).unwrap();
    w.write("B", Timeframe::Day1, &bars, WriteMode::Append).unwrap();
    let err = w.write("A", Timeframe::Day1, &changed, WriteMode::Append).unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { ref symbol, ts, .. } if symbol == "A" && ts == Timestamp(40 * DAY))
    );
    assert!(err.to_string().contains("--replace"), "{err}");
    drop(w);

    let shifted = Bars::from_bars(bars.iter().map(|mut b| {
        b.ts = Timestamp(b.ts.0 + DAY / 2);
        b
    }))
    .unwrap();
    let mut w = Writer::open(dir.path()).unwrap();
    let err = w.write("A", Timeframe::Day1, &shifted, WriteMode::Append).unwrap_err();
    assert!(matches!(err, StoreError::Overlap { .. }), "{err}");
    drop(w);

    assert_eq!(fs::read(dir.path().join("MANIFEST.json")).unwrap(), manifest_before);
    assert_eq!(fs::read_dir(dir.path().join("segments")).unwrap().count(), files_before);
    assert!(Store::open(dir.path()).unwrap().series("B", Timeframe::Day1).unwrap().is_none());
}

#[test]
fn duplicate_series_in_one_write_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let bars = walk(5, 0, 3, false);
    let mut w = Writer::open(dir.path()).unwrap();
    w.write("A", Timeframe::Day1, &bars, WriteMode::Append).unwrap();
    let err = w.write("A", Timeframe::Day1, &bars, WriteMode::Append).unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { .. }));
    w.write("A", Timeframe::Min1, &bars, WriteMode::Append).unwrap();
}

#[test]
fn replace_discards_old_history_and_compacts_it_away() {
    let dir = tempfile::tempdir().unwrap();
    let old = walk(80, 0, 1, false);
    let other = walk(80, 0, 2, false);
    write_all(dir.path(), &[("A", Timeframe::Day1, &old), ("B", Timeframe::Day1, &other)], WriteMode::Append);
    let new = walk(30, 5, 9, false);
    let summary = write_all(dir.path(), &[("A", Timeframe::Day1, &new)], WriteMode::Replace);
    assert_eq!(summary.replaced, 1);
    assert_eq!(summary.compacted, vec![Timeframe::Day1]);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(read(&store, "A", Timeframe::Day1), new);
    assert_eq!(read(&store, "B", Timeframe::Day1), other);
    assert_eq!(store.manifest().segments.len(), 1);
    assert!(store.manifest().segments[0].dropped.is_empty());
    assert_eq!(fs::read_dir(dir.path().join("segments")).unwrap().count(), 1, "old files collected");
}

#[test]
fn compaction_bounds_chunks_without_rewriting_the_base_on_every_append() {
    let dir = tempfile::tempdir().unwrap();
    let all = walk(1000 + 3 * MAX_DELTAS, 0, 5, false);
    write_all(dir.path(), &[("A", Timeframe::Day1, &all.slice(0..1000))], WriteMode::Append);
    let base_file = Store::open(dir.path()).unwrap().manifest().segments[0].file.clone();
    let mut max_segments = 0;
    for k in 0..3 * MAX_DELTAS {
        let day = all.slice(1000 + k..1001 + k);
        write_all(dir.path(), &[("A", Timeframe::Day1, &day)], WriteMode::Append);
        let store = Store::open(dir.path()).unwrap();
        max_segments = max_segments.max(store.manifest().segments.len());
        assert_eq!(store.manifest().segments[0].file, base_file, "small appends never rewrite the base");
    }
    assert!(max_segments <= MAX_DELTAS + 1, "{max_segments} segments");
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(read(&store, "A", Timeframe::Day1), all);

    // Growing by more than a quarter merges everything into one segment.
    let big = walk(400, 2000, 6, false);
    let summary = write_all(dir.path(), &[("A", Timeframe::Day1, &big)], WriteMode::Append);
    assert_eq!(summary.compacted, vec![Timeframe::Day1]);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.manifest().segments.len(), 1);
    assert_eq!(store.info("A", Timeframe::Day1).unwrap().rows, all.len() as u64 + 400);
    assert!(matches!(store.series("A", Timeframe::Day1).unwrap().unwrap().close(), Cow::Borrowed(_)));
}

#[test]
fn writes_are_deterministic_byte_for_byte() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let bars = walk(300, 0, 11, true);
    for dir in [a.path(), b.path()] {
        write_all(dir, &[("X", Timeframe::Day1, &bars), ("Y", Timeframe::Min1, &bars)], WriteMode::Append);
    }
    for name in ["MANIFEST.json", "segments/000001-1Min.arrow", "segments/000001-1Day.arrow"] {
        assert_eq!(fs::read(a.path().join(name)).unwrap(), fs::read(b.path().join(name)).unwrap(), "{name}");
    }
}

#[test]
fn a_second_writer_is_refused_while_the_first_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Writer::open(dir.path()).unwrap();
    assert!(matches!(Writer::open(dir.path()), Err(StoreError::Locked(_))));
}

#[test]
fn a_foreign_directory_is_not_turned_into_a_store() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let err = Writer::open(dir.path()).err().unwrap();
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert!(matches!(Store::open(tempfile::tempdir().unwrap().path()), Err(StoreError::NotAStore(_))));
}

fn single_segment_store() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bars: Vec<Bars> = (0..20).map(|i| walk(200, 0, i, true)).collect();
    let series: Vec<(String, Bars)> =
        bars.into_iter().enumerate().map(|(i, b)| (format!("S{i:02}"), b)).collect();
    let refs: Vec<(&str, Timeframe, &Bars)> =
        series.iter().map(|(s, b)| (s.as_str(), Timeframe::Day1, b)).collect();
    write_all(dir.path(), &refs, WriteMode::Append);
    let seg = dir.path().join("segments/000001-1Day.arrow");
    (dir, seg)
}

#[test]
fn a_truncated_segment_is_reported_by_name() {
    let (dir, seg) = single_segment_store();
    let len = fs::metadata(&seg).unwrap().len();
    let bytes = fs::read(&seg).unwrap();
    fs::write(&seg, &bytes[..(len / 2) as usize]).unwrap();
    let err = Store::open(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::SizeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("000001-1Day.arrow"), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn random_bytes_never_panic_and_name_the_file() {
    let (dir, seg) = single_segment_store();
    let original = fs::read(&seg).unwrap();
    // Same length, random content: the size check passes, the structure check must not.
    let mut x: u64 = 42;
    let noise: Vec<u8> = (0..original.len())
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    fs::write(&seg, &noise).unwrap();
    let err = Store::open(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("000001-1Day.arrow"), "{err}");

    // Single-byte corruption anywhere: opening and reading either fails cleanly or, where the
    // byte was bar data, `verify` catches it through the checksum.
    // Every byte of the footer (schema, block list, index), every 127th byte before it.
    let n = original.len();
    let footer_len = i32::from_le_bytes(original[n - 10..n - 6].try_into().unwrap()) as usize;
    let footer_start = n - 10 - footer_len;
    let positions = (0..footer_start).step_by(127).chain(footer_start..n);
    for pos in positions {
        let mut bytes = original.clone();
        bytes[pos] ^= 0x5A;
        fs::write(&seg, &bytes).unwrap();
        let outcome = Store::open(dir.path()).and_then(|store| {
            for sym in store.symbols(Timeframe::Day1) {
                store.series(sym, Timeframe::Day1)?;
            }
            store.verify().map(|r| r.bars)
        });
        let err = outcome.expect_err("a flipped byte must be detected");
        assert!(err.to_string().contains("000001-1Day.arrow"), "byte {pos}: {err}");
    }
}

#[test]
fn a_corrupt_manifest_is_reported_by_name() {
    let (dir, _) = single_segment_store();
    fs::write(dir.path().join("MANIFEST.json"), b"{\"format\": 12").unwrap();
    let err = Store::open(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::Manifest { .. }));
    assert!(err.to_string().contains("MANIFEST.json"), "{err}");
}

#[test]
fn verify_counts_every_bar_of_a_healthy_store() {
    let (dir, _) = single_segment_store();
    let report = Store::open(dir.path()).unwrap().verify().unwrap();
    assert_eq!((report.bars, report.files), (20 * 200, 1));
    assert!(report.is_clean(), "{report:?}");
}

/// Rewrites MANIFEST.json through its JSON (as a damaged or hand-edited manifest would be).
fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("MANIFEST.json");
    let mut json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    edit(&mut json);
    fs::write(&path, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
}

fn segment_files(dir: &Path, sub: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join(sub))
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_rewound_generation_never_overwrites_a_live_segment() {
    let dir = tempfile::tempdir().unwrap();
    let goog = walk(300, 0, 1, false);
    write_all(dir.path(), &[("GOOG", Timeframe::Day1, &goog)], WriteMode::Append);
    edit_manifest(dir.path(), |m| m["generation"] = 0.into());
    let report = Store::open(dir.path()).unwrap().verify().unwrap();
    assert_eq!(report.generation_behind, Some((0, 1)), "verify reports the rewound manifest");
    assert!(!report.is_clean());

    let aapl = walk(10, 0, 2, false);
    write_all(dir.path(), &[("AAPL", Timeframe::Day1, &aapl)], WriteMode::Append);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(read(&store, "GOOG", Timeframe::Day1), goog, "GOOG's bars survive");
    assert_eq!(read(&store, "AAPL", Timeframe::Day1), aapl);
    assert_eq!(segment_files(dir.path(), "segments"), ["000001-1Day.arrow", "000002-1Day.arrow"]);
    assert!(store.verify().unwrap().is_clean());
}

#[test]
fn an_emptied_manifest_is_reported_and_its_segments_are_moved_to_orphans_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (walk(200, 0, 1, false), walk(10, 0, 2, false), walk(10, 0, 3, false));
    for (sym, bars) in [("A", &a), ("B", &b), ("C", &c)] {
        write_all(dir.path(), &[(sym, Timeframe::Day1, bars)], WriteMode::Append);
    }
    let files = segment_files(dir.path(), "segments");
    assert_eq!(files.len(), 3);
    let bytes: Vec<Vec<u8>> =
        files.iter().map(|f| fs::read(dir.path().join("segments").join(f)).unwrap()).collect();
    edit_manifest(dir.path(), |m| m["segments"] = serde_json::json!([]));

    let report = Store::open(dir.path()).unwrap().verify().unwrap();
    assert_eq!(report.bars, 0);
    let unaccounted: Vec<_> = report.unaccounted.iter().map(|p| p.file_name().unwrap().to_owned()).collect();
    assert_eq!(unaccounted, files.iter().map(std::ffi::OsString::from).collect::<Vec<_>>());

    let d = walk(5, 0, 4, false);
    let summary = write_all(dir.path(), &[("D", Timeframe::Day1, &d)], WriteMode::Append);
    assert_eq!(summary.warnings.len(), 3, "{:?}", summary.warnings);
    assert!(summary.warnings.iter().all(|w| w.contains("moved to orphans/")), "{:?}", summary.warnings);
    assert_eq!(segment_files(dir.path(), "orphans"), files, "every unreferenced segment kept");
    for (f, b) in files.iter().zip(&bytes) {
        assert_eq!(&fs::read(dir.path().join("orphans").join(f)).unwrap(), b);
    }
    assert_eq!(segment_files(dir.path(), "segments"), ["000004-1Day.arrow"], "numbered past the orphans");
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(read(&store, "D", Timeframe::Day1), d);
    let report = store.verify().unwrap();
    assert!(report.is_clean() && report.orphans.len() == 3, "{report:?}");
}

#[test]
fn a_reader_keeps_its_segments_through_a_replacing_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let old = walk(100, 0, 1, false);
    write_all(dir.path(), &[("GOOG", Timeframe::Day1, &old)], WriteMode::Append);
    let reader = Store::open(dir.path()).unwrap();

    let new = walk(80, 0, 2, false);
    let summary = write_all(dir.path(), &[("GOOG", Timeframe::Day1, &new)], WriteMode::Replace);
    assert_eq!(summary.compacted, [Timeframe::Day1]);
    // The reader's generation is intact on disk: it reads and re-hashes every file.
    assert_eq!(read(&reader, "GOOG", Timeframe::Day1), old);
    assert_eq!(reader.verify().unwrap().bars, 100);
    let retired = Store::open(dir.path()).unwrap().manifest().retired.clone();
    assert_eq!(retired, ["segments/000001-1Day.arrow", "segments/000002-1Day.arrow"]);
    drop(reader);

    // With no reader left, the next writer deletes the retired files.
    let other = walk(5, 0, 3, false);
    write_all(dir.path(), &[("AAPL", Timeframe::Day1, &other)], WriteMode::Append);
    let store = Store::open(dir.path()).unwrap();
    assert!(store.manifest().retired.is_empty());
    assert_eq!(segment_files(dir.path(), "segments"), ["000003-1Day-c.arrow", "000004-1Day.arrow"]);
    assert_eq!(read(&store, "GOOG", Timeframe::Day1), new);
    assert!(store.verify().unwrap().is_clean());
}

#[test]
fn readers_never_see_missing_files_while_replacing_imports_compact() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), &[("GOOG", Timeframe::Day1, &walk(300, 0, 0, false))], WriteMode::Append);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                let store = Store::open(dir.path()).expect("open during compaction");
                store.verify().expect("verify during compaction");
                reads += 1;
            }
            reads
        });
        for i in 1..=12 {
            let bars = walk(300, 0, i, false);
            write_all(dir.path(), &[("GOOG", Timeframe::Day1, &bars)], WriteMode::Replace);
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
    });
}

#[test]
fn remove_takes_a_series_out_and_refuses_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, m) = (walk(50, 0, 1, false), walk(50, 0, 2, false), walk(30, 0, 3, false));
    write_all(
        dir.path(),
        &[("A", Timeframe::Day1, &a), ("B", Timeframe::Day1, &b), ("A", Timeframe::Hour1, &m)],
        WriteMode::Append,
    );
    let mut w = Writer::open(dir.path()).unwrap();
    assert_eq!(w.remove("A", Some(Timeframe::Day1)).unwrap(), [Timeframe::Day1]);
    assert_eq!(w.commit().unwrap().removed, 1);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.symbols(Timeframe::Day1), ["B"]);
    assert_eq!(read(&store, "A", Timeframe::Hour1), m);
    assert!(store.meta("A").is_some());
    drop(store);

    let mut w = Writer::open(dir.path()).unwrap();
    assert_eq!(w.remove("A", None).unwrap(), [Timeframe::Hour1]);
    let err = w.remove("ZZZ", None).unwrap_err();
    assert_eq!(err.to_string(), "ZZZ: not in the store");
    w.commit().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.meta("A").is_none());
    assert!(store.symbols(Timeframe::Hour1).is_empty());
    assert_eq!(read(&store, "B", Timeframe::Day1), b);
    assert!(store.verify().unwrap().is_clean());
    assert_eq!(segment_files(dir.path(), "segments").len(), 1, "only B's compacted segment is left");
}

#[test]
fn the_writer_refuses_symbols_that_are_not_names() {
    let dir = tempfile::tempdir().unwrap();
    let bars = walk(5, 0, 1, false);
    for bad in ["", "a,b", "A\nB", &"X".repeat(1000)] {
        let mut w = Writer::open(dir.path()).unwrap();
        let err = w.write(bad, Timeframe::Day1, &bars, WriteMode::Append).unwrap_err();
        assert!(matches!(err, StoreError::InvalidSymbol { .. }), "{err}");
        assert!(err.to_string().len() < 200, "{err}");
    }
}

#[test]
fn panel_aligns_symbols_on_the_union_of_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let a = walk(5, 0, 1, false); // days 0..5
    let b = walk(4, 3, 2, false); // days 3..7
    let c_head = walk(6, 10, 3, false);
    write_all(dir.path(), &[("A", Timeframe::Day1, &a), ("B", Timeframe::Day1, &b)], WriteMode::Append);
    write_all(dir.path(), &[("C", Timeframe::Day1, &c_head)], WriteMode::Append);
    let store = Store::open(dir.path()).unwrap();
    let panel = store.panel(&["B", "A", "MISSING"], Timeframe::Day1, Field::Close).unwrap();
    assert_eq!(panel.timestamps(), &(0..7).map(|d| d * DAY).collect::<Vec<_>>()[..]);
    assert_eq!(panel.symbols(), &["B", "A", "MISSING"]);
    let col_a = panel.column(1);
    assert_eq!(&col_a[..5], a.close());
    assert!(col_a[5].is_nan() && col_a[6].is_nan());
    let col_b = panel.column(0);
    assert!(col_b[..3].iter().all(|v| v.is_nan()));
    assert_eq!(&col_b[3..], b.close());
    assert!(panel.column(2).iter().all(|v| v.is_nan()));
    assert_eq!(panel.row(4)[1], a.close()[4]);
}

#[test]
fn segments_open_with_the_standard_arrow_reader() {
    let (dir, seg) = single_segment_store();
    let store = Store::open(dir.path()).unwrap();
    let reader = arrow_ipc::reader::FileReader::try_new(fs::File::open(&seg).unwrap(), None).unwrap();
    let names: Vec<String> = reader.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["timestamp", "open", "high", "low", "close", "volume", "vwap", "trade_count"]);
    assert!(reader.custom_metadata().contains_key("tradebot.index"));
    let mut batches = 0;
    for (i, batch) in reader.enumerate() {
        let batch = batch.unwrap();
        let close = batch.column(4).as_any().downcast_ref::<arrow_array::Float64Array>().unwrap();
        let ours = read(&store, &format!("S{i:02}"), Timeframe::Day1);
        assert_eq!(close.values().as_ref(), ours.close());
        batches += 1;
    }
    assert_eq!(batches, 20);
}
