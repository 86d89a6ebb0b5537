//! GP evaluations per second of wall and CPU time on GOOG's first 2,000 daily bars: the
//! batches of a 10-generation GA run (recorded once), evaluated in order on a fresh problem,
//! several times. CPU time makes the figure readable on a shared, loaded machine:
//! evaluations per CPU-second × cores is what an idle machine would do. With novelty on it
//! also prints the thread time inside the behaviour-descriptor calls.
//!
//! `cargo run -p evolve --release --example gp_rate -- [POPULATION] [MAX_NODES] [REPEATS] [NOVELTY 0|1]`

use std::time::Instant;

use datasets::actions::SAMPLES;
use datasets::ingest::{ImportOptions, parse_bytes};
use datasets::{SymbolMeta, Timeframe};
use evolve::discovery::{GpProblem, GpSettings};
use evolve::ga::{Engine, GaConfig, Problem};
use evolve::stats::FitnessConfig;
use gp::{Genome, GpConfig};
use kernel::sim::{Commission, Costs, TradeRules};
use kernel::strategy::{MarketData, SymbolData};
use novelty::NoveltyConfig;

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let population = args.first().copied().unwrap_or(500);
    let max_nodes = args.get(1).copied().unwrap_or(40);
    let repeats = args.get(2).copied().unwrap_or(5);
    // With novelty on, every evaluation also computes its behaviour descriptor.
    let novelty = args.get(3).is_some_and(|&n| n > 0);
    let s = &SAMPLES[0];
    let opts = ImportOptions { symbol: Some(s.symbol.into()), ..Default::default() };
    let bars = parse_bytes(s.file, s.csv, &opts).unwrap().remove(0).bars.slice(0..2000);
    let data = MarketData::new(
        Timeframe::Day1,
        vec![SymbolData { meta: SymbolMeta::new("GOOG", s.asset_class), bars }],
    )
    .unwrap();
    // The tree-size limit sets the initial depths too, so the trees do grow with it.
    let (init_min_depth, init_max_depth, max_depth) = match max_nodes {
        0..=20 => (2, 3, 4),
        21..=50 => (2, 4, 7),
        _ => (4, 6, 10),
    };
    let gp = GpConfig { max_nodes, max_depth, init_min_depth, init_max_depth, ..GpConfig::default() };
    let settings = GpSettings {
        gp,
        rules: TradeRules {
            costs: Costs { commission: Commission { rate: 0.0005, ..Commission::ZERO }, ..Costs::default() },
            ..TradeRules::default()
        },
        cash: 10_000.0,
        fitness: FitnessConfig::default(),
        deflation: None,
        parsimony: 0.001,
        novelty: NoveltyConfig {
            novelty_weight: if novelty { 0.3 } else { 0.0 },
            ..NoveltyConfig::default()
        },
        portfolio: None,
    };
    let recorder = GpProblem::new(&data, settings.clone()).unwrap();
    let mut engine =
        Engine::new(&recorder, GaConfig { population, generations: 10, seed: 7, ..GaConfig::default() })
            .unwrap();
    let mut batches: Vec<Vec<Genome>> = Vec::new();
    while !engine.is_done() {
        batches.push(engine.step().evaluated.into_iter().map(|e| e.genome).collect());
    }
    let evaluations: usize = batches.iter().map(Vec::len).sum();
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    let mut sharing = gp::Sharing::default();
    let mut descriptors = std::time::Duration::ZERO;
    for _ in 0..repeats {
        let problem = GpProblem::new(&data, settings.clone()).unwrap();
        for batch in &batches {
            let refs: Vec<&Genome> = batch.iter().collect();
            std::hint::black_box(problem.evaluate_batch(&refs));
        }
        sharing = problem.sharing();
        descriptors += problem.novelty_timing().descriptors;
    }
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let total = (evaluations * repeats) as f64;
    println!(
        "population {population}, max_nodes {max_nodes}, novelty descriptors {novelty}: {evaluations} evaluations per run, mean genome {:.1} nodes, sharing {:.1} %",
        sharing.tree_nodes as f64 / evaluations as f64,
        sharing.rate() * 100.0
    );
    println!(
        "{:.0} evaluations/s wall on {} threads; {:.0} evaluations per CPU-second ({:.1} µs CPU each)",
        total / wall,
        rayon::current_num_threads(),
        total / cpu,
        cpu / total * 1e6
    );
    if novelty {
        // Thread time inside the descriptor calls (β comes from the figures' own pass and is
        // counted as evaluation: compare the CPU per evaluation with novelty off for all of it).
        println!(
            "behaviour descriptors: {:.2} µs thread time each, {:.1} % of the evaluation CPU time",
            descriptors.as_secs_f64() / total * 1e6,
            descriptors.as_secs_f64() / cpu * 100.0
        );
    }
}
