//! Novelty benchmarks: one behaviour descriptor of an SMA-cross backtest on GOOG daily (2,148
//! bars) — alone, and as discovery's lean evaluation computes it (β accumulated in a pass over
//! the curve that computes each bar's return, then the descriptor given β), k-nearest-neighbour scoring of a generation against a full archive (500 entries,
//! k = 20, 12 dimensions), one whole `score_generation` call (scoring, ranks and archive
//! update, including the running pairwise-distance sum behind the diversity figure), next to
//! the SMA-cross backtest itself as the reference evaluation cost.
//!
//! Run: `cargo bench --bench novelty` (`RAYON_NUM_THREADS=1` for the single-core figures).
//! Throughput is in individuals scored per second.

use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use datasets::ingest::{ImportOptions, read_file};
use datasets::{AssetClass, SymbolMeta};
use kernel::sim::TradeRules;
use kernel::strategy::{MarketData, Params, SmaCross, Strategy, SymbolData, backtest};
use novelty::{
    BehaviourDescriptor, BehaviourInput, Benchmark, DIMS, NoveltyConfig, NoveltySearch, novelty_scores,
};
use rand_pcg::Pcg64;

/// `n` descriptors in the unit cube from a xorshift stream: half scattered, half in 8 tight
/// clusters (a converging population).
fn descriptors(n: usize, seed: u64) -> Vec<BehaviourDescriptor> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|i| {
            let centre = (i % 8) as f64 / 8.0;
            let values: [f64; DIMS] =
                std::array::from_fn(|_| if i % 2 == 0 { next() } else { centre + 0.02 * next() });
            BehaviourDescriptor::from_values(values).unwrap()
        })
        .collect()
}

/// A search with the default settings run on generations of 100 until its archive is full
/// (500 entries): the threshold has adapted, so a new generation inserts a realistic few.
fn full_search() -> NoveltySearch {
    let mut search = NoveltySearch::new(NoveltyConfig::default()).unwrap();
    let mut seed = 1000;
    while search.archive().len() < 500 {
        let pool: Vec<Option<BehaviourDescriptor>> = descriptors(100, seed).into_iter().map(Some).collect();
        search.score_generation(&pool, &[1.0; 100], &mut Pcg64::new(1, 1));
        seed += 1;
    }
    search
}

fn descriptor(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/samples/GOOG.csv");
    let bars = read_file(&path, &ImportOptions::default()).expect("read GOOG.csv").remove(0).bars;
    let meta = SymbolMeta::new("GOOG", AssetClass::Equity);
    let data = MarketData::new(datasets::Timeframe::Day1, vec![SymbolData { meta, bars }]).unwrap();
    let params = Params::parse(SmaCross.space(), ["fast=10", "slow=20"]).unwrap();
    let bt = backtest(&SmaCross, &params, &data, TradeRules::default(), 10_000.0).unwrap();
    let benchmark = Benchmark::new(data.symbols()[0].bars.close()).unwrap();
    let mut group = c.benchmark_group("novelty");
    group.throughput(Throughput::Elements(1));
    // The evaluation novelty is weighed against, measured under the same conditions.
    group.bench_function("reference_backtest_goog_sma_cross", |b| {
        b.iter(|| backtest(&SmaCross, black_box(&params), &data, TradeRules::default(), 10_000.0).unwrap())
    });
    group.bench_function("descriptor_goog_sma_cross", |b| {
        b.iter(|| {
            BehaviourDescriptor::compute(&BehaviourInput::from_backtest(black_box(&bt), &benchmark, 252.0))
                .unwrap()
        })
    });
    // What discovery's lean evaluation pays: β accumulated in the figures' own pass over the
    // curve (one multiply-add per bar that moves), then the descriptor given that β.
    let equity = bt.result.equity();
    group.bench_function("beta_in_an_evaluation_pass_goog_sma_cross", |b| {
        b.iter(|| pass_beta(&benchmark, black_box(equity)))
    });
    let beta = pass_beta(&benchmark, equity);
    group.bench_function("descriptor_given_beta_goog_sma_cross", |b| {
        b.iter(|| {
            let input = BehaviourInput {
                beta: Some(beta),
                ..BehaviourInput::from_backtest(black_box(&bt), &benchmark, 252.0)
            };
            BehaviourDescriptor::compute(&input).unwrap()
        })
    });
    group.finish();
}

/// β of `equity` from a pass that computes each bar's return and skips the flat ones, as the
/// lean evaluation's figures pass does (an upper bound of what β adds to that pass).
fn pass_beta(benchmark: &Benchmark, equity: &[f64]) -> f64 {
    let mut sum = benchmark.beta_sum().unwrap();
    for t in 1..equity.len() {
        let (previous, e) = (equity[t - 1], equity[t]);
        if e != previous {
            sum.add(t, if previous > 0.0 { e / previous - 1.0 } else { 0.0 });
        }
    }
    sum.beta()
}

fn scoring(c: &mut Criterion) {
    let search = full_search();
    let archive = search.archive().descriptors().to_vec();
    let mut group = c.benchmark_group("novelty");
    for population in [100, 500] {
        let pop = descriptors(population, 7);
        group.throughput(Throughput::Elements(population as u64));
        group.bench_function(format!("knn_pop{population}_archive500"), |b| {
            b.iter(|| novelty_scores(black_box(&pop), black_box(&archive), 20))
        });
        let slots: Vec<Option<BehaviourDescriptor>> = pop.iter().copied().map(Some).collect();
        let fitness: Vec<f64> = (0..population).map(|i| (i * 37 % 101) as f64).collect();
        group.bench_function(format!("generation_pop{population}_archive500"), |b| {
            b.iter_batched_ref(
                || search.clone(),
                |s| s.score_generation(black_box(&slots), black_box(&fitness), &mut Pcg64::new(2, 3)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, descriptor, scoring);
criterion_main!(benches);
