//! Bar-store benchmarks: open a 5,000-symbol store, scan every close of 25 million daily bars,
//! and parse CSV. The 5,000 × 20-year store is generated once into `target/bench-data/`.
//!
//! Run: `cargo bench --bench store`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datasets::actions;
use datasets::ingest::{ImportOptions, parse_bytes, write_csv};
use datasets::store::{Field, Store};
use datasets::synth::SynthConfig;
use datasets::{Bar, Bars, Timeframe, Timestamp};

/// The 5,000 stocks × 20 years daily store (5,016 symbols with the funds and VIX).
fn big_store() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/store-5000x20");
    if Store::open(&dir).is_err() {
        let _ = std::fs::remove_dir_all(&dir);
        let config = SynthConfig { symbols: 5000, years: 20, minute_days: 0, ..Default::default() };
        actions::generate(&dir, &config, actions::OnExisting::Refuse, |_, _| {})
            .expect("generate the bench store");
    }
    dir
}

fn store(c: &mut Criterion) {
    let dir = big_store();
    let mut group = c.benchmark_group("store");
    group.sample_size(20);
    group.bench_function("open_5016_symbols", |b| b.iter(|| Store::open(black_box(&dir)).unwrap()));
    let store = Store::open(&dir).unwrap();
    let bars = actions::scan(&store, Timeframe::Day1, Field::Close).unwrap().values;
    group.throughput(Throughput::Elements(bars));
    group.bench_function("scan_every_close_25m", |b| {
        b.iter(|| actions::scan(black_box(&store), Timeframe::Day1, Field::Close).unwrap())
    });
    group.finish();
}

/// Two million one-minute bars as `timestamp,open,high,low,close,volume` CSV.
fn minute_csv(rows: usize) -> Vec<u8> {
    let mut bars = Bars::with_capacity(rows);
    let mut price = 100.0f64;
    for i in 0..rows {
        let open = price;
        price *= 1.0 + (((i * 7919) % 201) as f64 - 100.0) * 1e-5;
        bars.push(Bar {
            ts: Timestamp(1_700_000_000_000_000_000 + i as i64 * 60_000_000_000),
            open,
            high: open.max(price) + 0.01,
            low: open.min(price) - 0.01,
            close: price,
            volume: (1000 + i % 977) as f64,
            vwap: None,
            trade_count: None,
        })
        .unwrap();
    }
    let mut out = Vec::new();
    write_csv(&mut out, &bars).unwrap();
    out
}

fn import(c: &mut Criterion) {
    const ROWS: usize = 2_000_000;
    let csv = minute_csv(ROWS);
    let opts = ImportOptions { symbol: Some("BENCH".into()), ..Default::default() };
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("parse_csv_2m_rows", |b| {
        b.iter(|| parse_bytes("bench.csv", black_box(&csv), &opts).unwrap())
    });
    group.finish();
}

criterion_group!(benches, store, import);
criterion_main!(benches);
