//! Discovery end to end: on the embedded GOOG sample (gates, candidate files, promotion that
//! reproduces its backtest, demotion, resume), and on synthetic universes with and without a
//! planted edge.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use datasets::{AssetClass, Bar, Bars, SymbolMeta, Timeframe, Timestamp};
use evolve::db::ResearchDb;
use evolve::run::Ending;
use kernel::strategy::{MarketData, SymbolData};
use promoted::{PromotedDir, StrategySpec};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use super::*;
use crate::{ConfigError, Discovery, data};

const DAY: i64 = 86_400_000_000_000;

fn discovery(extra: &str, dir: &Path) -> Discovery {
    let text = format!(
        "[experiment]\nname = \"discover_test\"\n[data]\nsample = \"GOOG\"\n\
         [discover]\ncandidates = \"{}\"\npromoted = \"{}\"\n{extra}\n\
         [evolve]\npopulation = 40\ngenerations = 6\nseed = 3\nhall_of_fame = 4\n\
         [account]\ncommission_rate = 0.0005\n",
        dir.join("candidates").display(),
        dir.join("promoted").display(),
    );
    Discovery::parse(&text, "discover.toml", Path::new(".")).unwrap()
}

fn spec(d: &Discovery) -> DiscoverSpec<'_> {
    DiscoverSpec {
        name: &d.name,
        settings: d.settings.clone(),
        ga: d.ga.clone(),
        fitness: d.fitness,
        in_sample: d.in_sample,
        rules: d.rules,
        cash: d.cash,
        data: DataRef::of(&d.data),
        config_text: &d.text,
        parent: None,
        farm: None,
    }
}

/// Gates every candidate passes, to exercise recording and promotion.
const OPEN_GATES: &str = "[discover.gates]\nmin_oos_sharpe = -100\nmin_dsr = 0\nmin_oos_trades = 0\n\
                          max_drawdown = 1\nmax_correlation = 1\nbenchmark = \"absolute\"\n";

#[test]
fn discovery_on_the_sample_records_candidates_that_promote_and_reproduce_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = discovery(OPEN_GATES, dir.path());
    let bars = data::load(&d.data).unwrap();
    let mut db = ResearchDb::open(&dir.path().join("research.db")).unwrap();
    let stop = AtomicBool::new(false);
    let mut generations = 0;
    let out = discover(&spec(&d), &bars, &mut db, None, &stop, |_| generations += 1).unwrap();
    assert_eq!((out.ending, out.generations, generations), (Ending::Finished, 6, 6));
    assert_eq!(out.candidates.len(), 4, "the hall of fame is tested");
    assert!(out.sharing.rate() > 0.2, "{:?}", out.sharing);
    // The passing candidate that trades most out of sample comes first.
    let mut passed: Vec<&Candidate> = out.passed().collect();
    passed.sort_by_key(|c| std::cmp::Reverse(c.out_of_sample.as_ref().map_or(0, |f| f.figures.trades)));
    let shown: Vec<String> = out
        .candidates
        .iter()
        .map(|c| {
            format!(
                "{} IS {:?} OOS {:?}",
                c.genome,
                c.in_sample.figures.trades,
                c.out_of_sample.as_ref().map(|f| f.figures.trades)
            )
        })
        .collect();
    assert!(passed[0].out_of_sample.as_ref().unwrap().figures.trades > 0, "{shown:#?}");
    // Only the in-sample best distinct genome is tested out of sample.
    for (rank, c) in out.candidates.iter().enumerate() {
        assert_eq!(c.gates.len(), 8);
        assert_eq!(c.gates[0].gate, "selection");
        assert_eq!((c.gates[0].passed, c.out_of_sample.is_some()), (rank == 0, rank == 0), "{rank}");
        assert!(rank == 0 || !c.passed);
        assert!(c.deflated_sharpe.is_finite());
    }
    assert!(out.candidates.windows(2).all(|w| w[0].fitness >= w[1].fitness), "best first");
    let lineage = out.candidates.iter().filter(|c| c.generation > 0).count();
    assert!(out.candidates.iter().filter(|c| c.generation > 0).all(|c| !c.parents.is_empty()) && lineage > 0);

    // Recorded: a row and two files per passing candidate; the readable one parses back.
    let id = passed[0].id.unwrap();
    assert_eq!(
        out.tested_sentence(),
        format!(
            "the in-sample best of its 4 hall-of-fame genomes was tested out of sample and passed the gates \
             (candidate {id}; see `tradebot candidates list`)"
        )
    );
    let rec = db.candidate(id).unwrap().unwrap();
    assert_eq!(
        (rec.run_id, rec.key, rec.genome.clone()),
        (out.run_id, passed[0].key, passed[0].genome.to_string())
    );
    let (json, sexp) = candidate_paths(&d.settings.candidates, id);
    assert_eq!(rec.file.as_deref(), Some(json.display().to_string().as_str()));
    let readable = std::fs::read_to_string(&sexp).unwrap();
    assert!(readable.contains("; lineage: generation"), "{readable}");
    assert_eq!(readable.parse::<gp::Genome>().unwrap(), passed[0].genome);
    assert_eq!(db.run(out.run_id).unwrap().unwrap().strategy, "gp");

    // Promoted: a new version of the set; loaded back and run by the kernel, it reproduces
    // the backtest recorded at promotion bit for bit.
    let promoted = PromotedDir::new(&d.settings.promoted);
    let (strategy, set) = candidate::promote(&mut db, &promoted, id, 0.25).unwrap();
    assert_eq!((set.version, strategy.id.clone()), (1, format!("gp-{id}")));
    let loaded = promoted.current().unwrap().unwrap();
    let back = loaded.get(&strategy.id).unwrap();
    assert!(matches!(&back.spec, StrategySpec::Gp { genome } if *genome == passed[0].genome.to_string()));
    back.reproduce(&bars).unwrap();
    assert_eq!(db.candidate(id).unwrap().unwrap().promoted_id.as_deref(), Some(strategy.id.as_str()));

    // A second discovery compares its candidates with the promoted one: the same genome
    // correlates 1 with itself.
    let d2 = discovery(OPEN_GATES, dir.path());
    let again = discover(&spec(&d2), &bars, &mut db, None, &stop, |_| {}).unwrap();
    let same = again.candidates.iter().find(|c| c.key == passed[0].key).expect("same seed, same search");
    assert!((same.max_correlation.unwrap() - 1.0).abs() < 1e-9, "{:?}", same.max_correlation);

    let set = candidate::demote(&mut db, &promoted, id).unwrap();
    assert_eq!((set.version, set.strategies.len()), (2, 0));
    assert!(candidate::demote(&mut db, &promoted, id).is_err(), "not promoted any more");
}

#[test]
fn a_stopped_discovery_resumes_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let d = discovery(OPEN_GATES, dir.path());
    let bars = data::load(&d.data).unwrap();
    let mut db = ResearchDb::open(&dir.path().join("a.db")).unwrap();
    let straight = discover(&spec(&d), &bars, &mut db, None, &AtomicBool::new(false), |_| {}).unwrap();
    let mut db = ResearchDb::open(&dir.path().join("b.db")).unwrap();
    let stop = AtomicBool::new(false);
    let stopped = discover(&spec(&d), &bars, &mut db, None, &stop, |g| {
        if g.generation == 2 {
            stop.store(true, Ordering::SeqCst);
        }
    })
    .unwrap();
    assert_eq!((stopped.ending, stopped.generations), (Ending::Stopped, 3));
    let resumed =
        discover(&spec(&d), &bars, &mut db, Some(stopped.run_id), &AtomicBool::new(false), |_| {}).unwrap();
    let keys = |o: &DiscoverOutcome| {
        o.candidates.iter().map(|c| (c.key, c.generation, c.parents.clone())).collect::<Vec<_>>()
    };
    assert_eq!(keys(&resumed), keys(&straight));
    assert_eq!(resumed.trials, straight.trials);
    let sharpe = |o: &DiscoverOutcome| {
        o.candidates
            .iter()
            .map(|c| c.out_of_sample.as_ref().map(|f| f.figures.sharpe.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(sharpe(&resumed), sharpe(&straight));
}

#[test]
fn discovery_files_name_their_bad_keys() {
    let bad = |extra: &str| {
        let text = format!("[experiment]\nname = \"x\"\n[data]\nsample = \"GOOG\"\n[discover]\n{extra}\n");
        match Discovery::parse(&text, "d.toml", Path::new(".")).unwrap_err() {
            ConfigError::Invalid { key, message, .. } => format!("{}: {message}", key.unwrap_or_default()),
            other => other.to_string(),
        }
    };
    assert!(bad("colour = 1").contains("unknown field `colour`"), "{}", bad("colour = 1"));
    assert!(bad("[discover.gates]\nmin_dsr = 2").starts_with("discover.gates.min_dsr"));
    assert!(
        bad("[discover.gp]\nmax_depth = 1").starts_with("discover.gp."),
        "{}",
        bad("[discover.gp]\nmax_depth = 1")
    );
    assert!(bad("parsimony = -1").starts_with("discover.parsimony"));
    assert!(bad("portfolio_weight = -1").starts_with("discover.portfolio_weight"));
    assert!(bad("[discover.novelty]\nk_neighbors = 0").starts_with("discover.novelty.k_neighbors"));
    assert!(bad("symbols = [\"SPY\"]").starts_with("discover.symbols"));
    let text =
        "[experiment]\nname = \"x\"\n[data]\nsample = \"GOOG\"\n[discover]\n[validation]\nin_sample = 1.0\n";
    assert!(
        Discovery::parse(text, "d.toml", Path::new("."))
            .unwrap_err()
            .to_string()
            .contains("out-of-sample stage")
    );
}

/// `symbols` random walks of `n` daily bars, each bar an intraday path of eight steps from its
/// open (a small gap from the previous close) whose extremes are its high and low, so stops
/// and take-profits meet the prices a real path would give them (1.5 % daily volatility).
/// With `edge`, a close more than 3 % below the previous one is followed by four bars drifting
/// up 1 % a bar from the next open on — a short-term reversal tradable at the next open — and a
/// slight downward drift elsewhere keeps the price level steady.
fn universe(symbols: usize, n: usize, seed: u64, edge: bool) -> MarketData {
    const STEPS: usize = 8;
    let legs = (0..symbols)
        .map(|k| {
            let mut rng = Pcg64::seed_from_u64(seed * 100 + k as u64);
            let mut normal = move || (0..4).map(|_| rng.random::<f64>() - 0.5).sum::<f64>() * 1.7;
            let mut close = 100.0;
            let mut rebound = 0u32;
            let bars = (0..n).map(|t| {
                let drift = if rebound > 0 {
                    0.01
                } else if edge {
                    -0.0009
                } else {
                    0.0
                };
                rebound = rebound.saturating_sub(1);
                let open = close * (1.0 + 0.003 * normal());
                let (mut price, mut high, mut low) = (open, open, open);
                for _ in 0..STEPS {
                    price *= 1.0 + drift / STEPS as f64 + 0.015 / (STEPS as f64).sqrt() * normal();
                    high = high.max(price);
                    low = low.min(price);
                }
                let next = price.max(1.0);
                if edge && next < close * 0.97 {
                    rebound = 4;
                }
                close = next;
                let volume = 1e5 * (1.0 + normal().abs());
                Bar {
                    ts: Timestamp(t as i64 * DAY),
                    open,
                    high: high.max(close),
                    low: low.min(close),
                    close,
                    volume,
                    vwap: None,
                    trade_count: None,
                }
            });
            let bars = Bars::from_bars(bars.collect::<Vec<_>>()).unwrap();
            SymbolData { meta: SymbolMeta::new(format!("S{k}"), AssetClass::Equity), bars }
        })
        .collect();
    MarketData::new(Timeframe::Day1, legs).unwrap()
}

/// The universe `edge` was drawn from, with the same noise and no edge.
fn noise_of(edge: &MarketData) -> MarketData {
    universe(edge.symbols().len(), edge.len(), 7, false)
}

fn synthetic(dir: &Path, seed: u64) -> Discovery {
    let text = format!(
        "[experiment]\nname = \"planted\"\n[data]\nsample = \"GOOG\"\n\
         [discover]\ncandidates = \"{}\"\npromoted = \"{}\"\nparsimony = 0.002\n\
         [evolve]\npopulation = 300\ngenerations = 25\nseed = {seed}\nhall_of_fame = 5\n\
         [fitness]\nmin_trades = 20\n[validation]\nin_sample = 0.6\n\
         [account]\ncommission_rate = 0.0005\n",
        dir.join("candidates").display(),
        dir.join("promoted").display(),
    );
    Discovery::parse(&text, "planted.toml", Path::new(".")).unwrap()
}

/// A GP problem on `data` with `d`'s rules, cash and fitness, and no deflation, parsimony,
/// novelty or portfolio term: for backtesting a given genome.
fn plain_problem<'a>(data: &'a MarketData, d: &Discovery) -> evolve::discovery::GpProblem<'a> {
    evolve::discovery::GpProblem::new(
        data,
        evolve::discovery::GpSettings {
            gp: gp::GpConfig::default(),
            rules: d.rules,
            cash: d.cash,
            fitness: d.fitness,
            deflation: None,
            parsimony: 0.0,
            novelty: novelty::NoveltyConfig::default(),
            portfolio: None,
        },
    )
    .unwrap()
}

/// A planted reversal edge is found in sample and holds out of sample: a candidate passes the
/// default gates (out-of-sample Sharpe ≥ 0.5, DSR ≥ 0.9, ≥ 10 trades, drawdown, correlation,
/// cash account) and is promoted; on the same universe without the edge nothing passes.
#[test]
fn discovery_finds_a_planted_edge_and_promotes_nothing_on_noise() {
    let dir = tempfile::tempdir().unwrap();
    let d = synthetic(dir.path(), 11);
    let mut db = ResearchDb::open(&dir.path().join("research.db")).unwrap();
    let stop = AtomicBool::new(false);
    let edge = universe(4, 2000, 7, true);
    let found = discover(&spec(&d), &edge, &mut db, None, &stop, |_| {}).unwrap();
    let best = found.candidates.iter().find(|c| c.passed);
    let report: Vec<String> = found
        .candidates
        .iter()
        .map(|c| {
            let failed: Vec<&String> = c.gates.iter().filter(|g| !g.passed).map(|g| &g.detail).collect();
            let is = &c.in_sample;
            let oos = c.out_of_sample.as_ref().map(|f| (f.figures.sharpe, f.figures.trades));
            format!(
                "{}\n  IS sharpe {:.2} trades {} per-bar {:?} | OOS (sharpe, trades) {oos:?} | {failed:?}",
                c.genome, is.figures.sharpe, is.figures.trades, is.returns.sharpe
            )
        })
        .collect();
    let best = best.unwrap_or_else(|| panic!("nothing passed on the planted edge:\n{}", report.join("\n")));
    let oos = best.out_of_sample.as_ref().unwrap();
    assert!(oos.figures.sharpe >= 0.5 && oos.figures.trades >= 10, "{oos:?}");
    assert!(best.id.is_some());
    // It trades the planted reversal: on the same noise without the edge it earns nothing like it.
    let noise = noise_of(&edge);
    let problem = plain_problem(&noise, &d);
    let (_, window) = &found.stages;
    let without = problem.backtest_window(&best.genome, &noise, window.clone()).unwrap();
    assert!(
        without.metrics.sharpe < oos.figures.sharpe - 1.0,
        "{} vs {}",
        without.metrics.sharpe,
        oos.figures.sharpe
    );

    let nothing = discover(&spec(&d), &noise, &mut db, None, &stop, |_| {}).unwrap();
    let passed: Vec<String> = nothing.passed().map(|c| c.genome.to_string()).collect();
    assert!(passed.is_empty(), "promoted on pure noise: {passed:?}");
    assert_eq!(nothing.candidates.len(), 5);
    // One genome was tested; the sentence says so, not "0 of 5 hall-of-fame genomes passed".
    let said = nothing.tested_sentence();
    let head =
        "the in-sample best of its 5 hall-of-fame genomes was tested out of sample and failed the gates (";
    let failed =
        said.strip_prefix(head).and_then(|rest| rest.split(')').next()).unwrap_or_else(|| panic!("{said}"));
    assert!(!failed.is_empty() && !failed.contains("selection"), "{said}");
    assert!(said.ends_with("; the others are not tested (no selection on the test data)"), "{said}");
}

/// The `benchmark` gate: a rule that holds what it trades earns the buy-and-hold less its
/// costs, so it fails (as a family must beat its universe's passive book); `absolute` lets it
/// through and still shows the shortfall; an untested candidate fails. One symbol rising 0.1 %
/// a bar, each open at the previous close, so the only difference from buy-and-hold is the cost.
#[test]
fn holding_what_it_trades_fails_the_benchmark_gate() {
    let bars = (0..600).map(|t| {
        let open = 100.0 * 1.001f64.powi(t);
        let close = open * 1.001;
        Bar {
            ts: Timestamp(i64::from(t) * DAY),
            open,
            high: close,
            low: open,
            close,
            volume: 1e6,
            vwap: None,
            trade_count: None,
        }
    });
    let bars = Bars::from_bars(bars.collect::<Vec<_>>()).unwrap();
    let leg = SymbolData { meta: SymbolMeta::new("RISE", AssetClass::Equity), bars };
    let data = MarketData::new(Timeframe::Day1, vec![leg]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = discovery("", dir.path());
    assert_eq!(d.settings.gates.benchmark, crate::research::BenchmarkGate::Passive, "the default");
    let problem = plain_problem(&data, &d);
    let hold: gp::Genome = "(strategy (entry true) (exit false) (size 1))".parse().unwrap();
    let oos = 420..600;
    let bt = problem.backtest_window(&hold, &data, oos.clone()).unwrap();
    assert!(bt.metrics.exposure > 0.99, "bought at the first open and held: {}", bt.metrics.exposure);
    let gate = |rule| gates::benchmark_gate(rule, &data, oos.clone(), d.cash, Some(&bt));
    let passive = gate(crate::research::BenchmarkGate::Passive);
    // Buy-and-hold earns 1.001^252 − 1 = 28.6 % a year; the rule pays a commission and slippage.
    assert!(!passive.passed && passive.value < 0.0 && passive.value > -0.01, "{passive:?}");
    assert!(
        passive
            .detail
            .starts_with("out-of-sample CAGR trails the equal-weight buy-and-hold of 1 symbols (28.6 %"),
        "{}",
        passive.detail
    );
    let absolute = gate(crate::research::BenchmarkGate::Absolute);
    assert!(absolute.passed && absolute.value == passive.value, "{absolute:?}");
    assert!(absolute.detail.ends_with("(not required: benchmark = \"absolute\")"), "{}", absolute.detail);
    let untested = gates::benchmark_gate(crate::research::BenchmarkGate::Absolute, &data, oos, d.cash, None);
    assert!(!untested.passed && untested.value.is_nan(), "{untested:?}");
}

/// `[discover] seeds`: strategy files, read relative to the discovery file, open generation 0
/// in order, their params at their defaults (random genomes fill the other slots, the same
/// ones as without seeds); a seed that is not a strategy is refused, naming the config line,
/// the strategy file, its line and column.
#[test]
fn strategy_files_seed_the_first_generation() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../strategies");
    for name in ["sma_cross", "mean_reversion"] {
        std::fs::copy(shipped.join(format!("{name}.tbs")), mine.join(format!("{name}.tbs"))).unwrap();
    }
    let config = |seeds: &str| {
        format!(
            "[experiment]\nname = \"seeded\"\n[data]\nsample = \"GOOG\"\n\
             [discover]\ncandidates = \"candidates\"\npromoted = \"promoted\"\n{seeds}\n\
             [evolve]\npopulation = 12\ngenerations = 1\nseed = 5\nhall_of_fame = 2\n"
        )
    };
    let seeded = config("seeds = [\"mine/sma_cross.tbs\", \"mine/mean_reversion.tbs\"]");
    let d = Discovery::parse(&seeded, "discover.toml", dir.path()).unwrap();
    let files: Vec<gp::Genome> = ["sma_cross", "mean_reversion"]
        .iter()
        .map(|n| gp::StrategyFile::read(&mine.join(format!("{n}.tbs"))).unwrap().defaults())
        .collect();
    assert_eq!(d.settings.seeds, files);
    // A seed is its file with every `(param …)` at its default.
    let sma_cross = "(strategy (entry (cross-above (sma 10 close) (sma 20 close))) \
                     (exit (cross-below (sma 10 close) (sma 20 close))) (size 1))";
    assert_eq!(files[0], sma_cross.parse().unwrap());
    let plain = Discovery::parse(&config(""), "discover.toml", dir.path()).unwrap();
    assert!(plain.settings.seeds.is_empty());

    let bars = data::load(&d.data).unwrap();
    let first_generation = |d: &Discovery| {
        let mut db = ResearchDb::open(&dir.path().join(format!("{}.db", d.settings.seeds.len()))).unwrap();
        let mut genomes = Vec::new();
        let stop = AtomicBool::new(false);
        discover(&spec(d), &bars, &mut db, None, &stop, |report| {
            if report.generation == 0 {
                genomes.extend(report.evaluated.iter().map(|e| e.genome.clone()));
            }
        })
        .unwrap();
        genomes
    };
    let (with, without) = (first_generation(&d), first_generation(&plain));
    assert_eq!(with[..2], files[..], "the seeds come first");
    assert!(!without.contains(&files[0]) && !without.contains(&files[1]));
    let random: Vec<_> = without.iter().filter(|g| with.contains(g)).collect();
    assert!(random.len() >= 8, "the other slots draw the same random genomes: {}", random.len());

    std::fs::write(mine.join("bad.tbs"), "(strategy\n  (entry (gt close))\n  (exit true))\n").unwrap();
    let bad = config("seeds = [\"mine/sma_cross.tbs\",\n  \"mine/bad.tbs\"]");
    let err = Discovery::parse(&bad, "discover.toml", dir.path()).unwrap_err().to_string();
    let want = format!(
        "discover.toml:9: key `discover.seeds`: {}:2:19: expected a number, found `)`",
        mine.join("bad.tbs").display()
    );
    assert_eq!(err, want);
    let missing = config("seeds = [\"mine/none.tbs\"]");
    let err = Discovery::parse(&missing, "discover.toml", dir.path()).unwrap_err().to_string();
    assert!(err.contains("cannot read strategy file") && err.contains("none.tbs"), "{err}");
}
