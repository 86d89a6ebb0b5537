//! GP evaluation throughput: a generation's worth of new genomes (children of a random
//! population by crossover and mutation, as the GA breeds them) evaluated as one batch on
//! GOOG's first 2,000 daily bars — entry and exit series with structural sharing, the kernel
//! backtest of the signals, and the fitness figures.
//!
//! `gp_eval/population/N` varies the batch size (sharing grows with it), `gp_eval/nodes/N` the
//! tree size limit. Throughput is in evaluations per second.
//!
//! Run: `cargo bench --bench gp`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datasets::ingest::{ImportOptions, read_file};
use datasets::{AssetClass, SymbolMeta, Timeframe};
use evolve::discovery::{GpProblem, GpSettings};
use evolve::ga::Problem;
use evolve::stats::FitnessConfig;
use gp::{Genome, GpConfig};
use kernel::sim::{Commission, Costs, TradeRules};
use kernel::strategy::{MarketData, SymbolData};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

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
    }
}

/// `size` children bred from a random population of `size` parents.
fn generation(problem: &GpProblem<'_>, size: usize, seed: u64) -> Vec<Genome> {
    let mut rng = Pcg64::seed_from_u64(seed);
    let parents: Vec<Genome> = (0..size).map(|_| problem.random(&mut rng)).collect();
    (0..size)
        .map(|_| {
            let a = &parents[rng.random_range(0..size)];
            let b = &parents[rng.random_range(0..size)];
            let mut child = problem.crossover(a, b, &mut rng);
            problem.mutate(&mut child, 0.2, &mut rng);
            child
        })
        .collect()
}

fn gp_eval(c: &mut Criterion) {
    let data = goog_2000();
    let mut group = c.benchmark_group("gp_eval");
    group.sample_size(10);
    for population in [100, 500, 2000] {
        let problem = GpProblem::new(&data, settings(GpConfig::default())).unwrap();
        let genomes = generation(&problem, population, 1);
        let refs: Vec<&Genome> = genomes.iter().collect();
        group.throughput(Throughput::Elements(population as u64));
        group.bench_function(format!("population/{population}"), |b| {
            b.iter(|| problem.evaluate_batch(black_box(&refs)))
        });
        let s = problem.sharing();
        eprintln!("population {population}: sharing {:.1} % ({} of {} nodes distinct)", s.rate() * 100.0, s.distinct_nodes, s.tree_nodes);
    }
    for (max_nodes, depth) in [(15, 4), (40, 7), (80, 9)] {
        let gp = GpConfig { max_nodes, max_depth: depth, init_max_depth: depth.min(6), ..GpConfig::default() };
        let problem = GpProblem::new(&data, settings(gp)).unwrap();
        let genomes = generation(&problem, 500, 2);
        let mean = genomes.iter().map(Genome::size).sum::<usize>() as f64 / genomes.len() as f64;
        let refs: Vec<&Genome> = genomes.iter().collect();
        group.throughput(Throughput::Elements(500));
        group.bench_function(format!("nodes/{max_nodes}"), |b| b.iter(|| problem.evaluate_batch(black_box(&refs))));
        eprintln!("max_nodes {max_nodes}: mean genome size {mean:.1} nodes, sharing {:.1} %", problem.sharing().rate() * 100.0);
    }
    group.finish();
}

criterion_group!(benches, gp_eval);
criterion_main!(benches, splits);

fn split(c: &mut Criterion) {
    let data = goog_2000();
    let problem = GpProblem::new(&data, settings(GpConfig::default())).unwrap();
    let genomes = generation(&problem, 500, 1);
    let refs: Vec<&Genome> = genomes.iter().collect();
    let ev = gp::Evaluator::new(&data).unwrap();
    let mut group = c.benchmark_group("split");
    group.sample_size(10);
    group.throughput(Throughput::Elements(500));
    group.bench_function("trees", |b| b.iter(|| ev.batch(&refs, |_, r| r.enters())));
    group.bench_function("signals", |b| b.iter(|| ev.batch(&refs, |g, r| r.signal_set(g.genes.strength()).legs.len())));
    let enters = ev.batch(&refs, |_, r| r.enters()).0.iter().filter(|&&e| e).count();
    eprintln!("{enters} of 500 enter");
    group.finish();
}
criterion_group!(splits, split);
