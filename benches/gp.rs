//! GP evaluation throughput on GOOG's first 2,000 daily bars: the new genomes of each of a
//! 10-generation GA run's generations (recorded once), evaluated batch after batch on a fresh
//! problem — entry and exit series with structural sharing, the simulated backtest, the fitness
//! figures. Breeding is not included (the GA engine's own cost is measured separately).
//!
//! `gp_eval/population/N` varies the population (sharing grows with it), `gp_eval/nodes/N` the
//! tree size limit. Throughput is in evaluations per second.
//!
//! Run: `cargo bench --bench gp`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datasets::ingest::{ImportOptions, read_file};
use datasets::{AssetClass, SymbolMeta, Timeframe};
use evolve::discovery::{GpProblem, GpSettings};
use evolve::ga::{Engine, GaConfig, Problem};
use evolve::stats::FitnessConfig;
use gp::{Genome, GpConfig};
use kernel::sim::{Commission, Costs, TradeRules};
use kernel::strategy::{MarketData, SymbolData};
use novelty::NoveltyConfig;

fn goog_2000() -> MarketData {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/samples/GOOG.csv");
    let bars = read_file(&path, &ImportOptions::default()).expect("read GOOG.csv").remove(0).bars;
    let symbol = SymbolData { meta: SymbolMeta::new("GOOG", AssetClass::Equity), bars: bars.slice(0..2000) };
    MarketData::new(Timeframe::Day1, vec![symbol]).expect("one symbol")
}

fn settings(gp: GpConfig) -> GpSettings {
    let commission = Commission { rate: 0.0005, ..Commission::ZERO };
    GpSettings {
        gp,
        rules: TradeRules { costs: Costs { commission, ..Costs::default() }, ..TradeRules::default() },
        cash: 10_000.0,
        fitness: FitnessConfig::default(),
        deflation: None,
        parsimony: 0.001,
        novelty: NoveltyConfig { novelty_weight: 0.0, ..NoveltyConfig::default() },
        portfolio: None,
    }
}

/// The batches a real run evaluates: every generation's new genomes of a `generations`-long
/// GA run with `population` individuals (generation 0 random, then bred).
fn run_batches(gp: &GpConfig, population: usize, generations: u32) -> Vec<Vec<Genome>> {
    let data = goog_2000();
    let problem = GpProblem::new(&data, settings(gp.clone())).unwrap();
    let config = GaConfig { population, generations, seed: 7, ..GaConfig::default() };
    let mut engine = Engine::new(&problem, config).unwrap();
    let mut batches = Vec::new();
    while !engine.is_done() {
        let report = engine.step();
        batches.push(report.evaluated.into_iter().map(|e| e.genome).collect());
    }
    batches
}

/// Evaluates a run's batches in order on a fresh problem (cold caches): the evaluation work of
/// the whole run. Returns the structural sharing over it.
fn evaluate_run(data: &MarketData, gp: &GpConfig, batches: &[Vec<Genome>]) -> gp::Sharing {
    let problem = GpProblem::new(data, settings(gp.clone())).unwrap();
    for batch in batches {
        let refs: Vec<&Genome> = batch.iter().collect();
        black_box(problem.evaluate_batch(&refs));
    }
    problem.sharing()
}

fn gp_eval(c: &mut Criterion) {
    let data = goog_2000();
    let mut group = c.benchmark_group("gp_eval");
    group.sample_size(10);
    let cases = [
        ("population/100", GpConfig::default(), 100),
        ("population/500", GpConfig::default(), 500),
        ("population/2000", GpConfig::default(), 2000),
        ("nodes/15", GpConfig { max_nodes: 15, max_depth: 4, init_max_depth: 3, ..GpConfig::default() }, 500),
        (
            "nodes/80",
            GpConfig {
                max_nodes: 80,
                max_depth: 10,
                init_min_depth: 4,
                init_max_depth: 6,
                ..GpConfig::default()
            },
            500,
        ),
    ];
    for (name, gp, population) in cases {
        let batches = run_batches(&gp, population, 10);
        let evaluations: usize = batches.iter().map(Vec::len).sum();
        let nodes: usize = batches.iter().flatten().map(Genome::size).sum();
        let sharing = evaluate_run(&data, &gp, &batches);
        eprintln!(
            "{name}: {evaluations} evaluations over 10 generations, mean genome {:.1} nodes, sharing {:.1} % ({} of {} nodes distinct, {} computed)",
            nodes as f64 / evaluations as f64,
            sharing.rate() * 100.0,
            sharing.distinct_nodes,
            sharing.tree_nodes,
            sharing.computed
        );
        group.throughput(Throughput::Elements(evaluations as u64));
        group.bench_function(name, |b| b.iter(|| evaluate_run(&data, &gp, &batches)));
    }
    group.finish();
}

criterion_group!(benches, gp_eval);
criterion_main!(benches);
