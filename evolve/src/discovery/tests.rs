use datasets::actions::SAMPLES;
use datasets::ingest::{ImportOptions, parse_bytes};
use datasets::{SymbolMeta, Timeframe};
use kernel::sim::{Commission, Costs, Slippage, TradeRules};
use kernel::strategy::{MarketData, SymbolData};
use rand::SeedableRng;
use rand_pcg::Pcg64;

use super::*;

/// GOOG daily (2,148 bars) from the embedded sample.
pub(crate) fn goog() -> MarketData {
    let s = &SAMPLES[0];
    let opts = ImportOptions { symbol: Some(s.symbol.into()), ..Default::default() };
    let series = parse_bytes(s.file, s.csv, &opts).unwrap().remove(0);
    let symbol = SymbolData { meta: SymbolMeta::new(s.symbol, s.asset_class), bars: series.bars };
    MarketData::new(Timeframe::Day1, vec![symbol]).unwrap()
}

pub(crate) fn settings() -> GpSettings {
    let commission = Commission { rate: 0.0005, per_order: 1.0, ..Commission::ZERO };
    GpSettings {
        gp: GpConfig::default(),
        rules: TradeRules {
            costs: Costs { commission, slippage: Slippage::Bps(2.0) },
            ..TradeRules::default()
        },
        cash: 10_000.0,
        fitness: FitnessConfig::default(),
        deflation: None,
        parsimony: 0.001,
        novelty: novelty::NoveltyConfig::default(),
        portfolio: None,
    }
}

/// The lean one-symbol path gives exactly the figures and behaviour of the kernel backtest of
/// the same genome, for random genomes with random protective exits: its behaviour descriptor,
/// whose β comes from the figures' pass over the curve, equals the one computed from the
/// kernel's equity curve in a pass of its own, bit for bit.
#[test]
fn lean_figures_equal_the_kernel_backtest() {
    let data = goog();
    let problem = GpProblem::new(&data, settings()).unwrap();
    let mut rng = Pcg64::seed_from_u64(3);
    let genomes: Vec<Genome> = (0..300).map(|_| problem.random(&mut rng)).collect();
    let refs: Vec<&Genome> = genomes.iter().collect();
    let evals = problem.evaluate_batch(&refs);
    let mut traded = 0;
    for (g, eval) in genomes.iter().zip(&evals) {
        let GpEval::Ran(lean) = eval else { panic!("{g}: {eval:?}") };
        let bt = problem.backtest_on(g, &data).unwrap();
        let kernel = problem.figures_of(&bt, g.size());
        assert_eq!(**lean, kernel, "{g}");
        assert!(lean.descriptor.is_some(), "{g}");
        traded += usize::from(lean.figures.figures.trades > 0);
    }
    assert!(traded > 50, "most random genomes trade: {traded}");
}

/// A problem built from another's evaluation spec on the same bars (what a cluster worker
/// does) gives its figures bit for bit — novelty descriptors and portfolio scores included —
/// whatever the genomes are batched with; only the lineage stays with the breeding problem.
#[test]
fn a_problem_built_from_the_eval_spec_gives_the_same_figures() {
    use portfolio_fitness::{PortfolioFitnessConfig, PortfolioMember, SessionDays};
    let data = goog();
    let days = SessionDays::new(data.timestamps()).unwrap();
    let flat = vec![10_000.0 * 1.0001; data.len()];
    let returns = days.daily_returns(10_000.0, &flat).unwrap();
    let promoted = vec![PortfolioMember { name: "flat".into(), allocation: 0.5, returns }];
    let input = PortfolioInput { config: PortfolioFitnessConfig::default(), promoted, weight: 0.5 };
    let portfolio = Some(PortfolioTerm::new(input, data.timestamps()).unwrap());
    let problem =
        GpProblem::new(&data, GpSettings { portfolio, ..settings() }).unwrap().with_cache_budget(1 << 20);
    let mut rng = Pcg64::seed_from_u64(21);
    let genomes: Vec<Genome> = (0..40).map(|_| problem.random(&mut rng)).collect();
    let refs: Vec<&Genome> = genomes.iter().collect();
    let local = problem.evaluate_batch(&refs);
    let spec = problem.eval_spec();
    assert!(spec.novelty.is_some() && spec.portfolio.is_some() && spec.cache_bytes == Some(1 << 20));
    let worker = GpProblem::for_evaluation(&data, &spec).unwrap();
    let mut farmed = worker.figures_batch(&refs[..15]);
    farmed.extend(worker.figures_batch(&refs[15..]));
    assert_eq!(problem.with_lineage(&refs, farmed), local);
    let scored = local
        .iter()
        .filter(|e| matches!(e, GpEval::Ran(f) if f.portfolio.is_some() && f.descriptor.is_some()));
    assert!(scored.count() > 10);
}

/// A batch gives each genome what it gets alone, at any thread count.
#[test]
fn batch_evaluation_is_deterministic() {
    let data = goog();
    let problem = GpProblem::new(&data, settings()).unwrap();
    let mut rng = Pcg64::seed_from_u64(9);
    let genomes: Vec<Genome> = (0..64).map(|_| problem.random(&mut rng)).collect();
    let refs: Vec<&Genome> = genomes.iter().collect();
    let pool = |n| rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
    let one = pool(1).install(|| problem.evaluate_batch(&refs));
    let two = pool(2).install(|| problem.evaluate_batch(&refs));
    assert_eq!(one, two);
    for (g, e) in genomes.iter().zip(&one).step_by(7) {
        assert_eq!(&problem.evaluate(g), e);
    }
    assert!(problem.sharing().tree_nodes > 0);
}

/// With portfolio fitness as a term, a clone of a promoted strategy scores about −0.5 (no
/// Sharpe added, correlation 1 above the 0.5 threshold) and loses that much fitness.
#[test]
fn portfolio_fitness_penalises_a_clone_of_a_promoted_strategy() {
    use portfolio_fitness::{PortfolioFitnessConfig, PortfolioMember, SessionDays};
    let data = goog();
    let plain = GpProblem::new(&data, settings()).unwrap();
    let g: Genome = "(strategy (entry (cross-above (ema 10 close) (ema 40 close))) (exit (cross-above (ema 40 close) (ema 10 close))) (size 1))"
        .parse()
        .unwrap();
    let bt = plain.backtest_on(&g, &data).unwrap();
    let days = SessionDays::new(data.timestamps()).unwrap();
    let returns = days.daily_returns(10_000.0, bt.result.equity()).unwrap();
    let promoted = vec![PortfolioMember { name: "clone".into(), allocation: 0.5, returns }];
    let input = PortfolioInput { config: PortfolioFitnessConfig::default(), promoted, weight: 1.0 };
    let term = PortfolioTerm::new(input, data.timestamps()).unwrap();
    let with = GpProblem::new(&data, GpSettings { portfolio: Some(term), ..settings() }).unwrap();
    let (alone, scored) = (plain.evaluate(&g), with.evaluate(&g));
    let GpEval::Ran(f) = &scored else { panic!("{scored:?}") };
    let score = f.portfolio.unwrap();
    assert!((score + 0.5).abs() < 0.05, "{score}");
    assert!((with.fitness(&scored) - (plain.fitness(&alone) + score)).abs() < 1e-12);
}

/// The behaviour distance on GOOG: variants of one rule (another window, another size, a stop)
/// are closer than the hall-of-fame distance, rules with other entries and exits are farther.
#[test]
fn variants_of_one_rule_are_alike_and_other_rules_are_not() {
    let data = goog();
    let problem = GpProblem::new(&data, settings()).unwrap();
    let genome = |entry: &str, exit: &str, rest: &str| -> Genome {
        format!("(strategy (entry {entry}) (exit {exit}) {rest})").parse().unwrap()
    };
    let trend = |w: u32, size: &str| {
        genome(
            &format!("(gt close (sma {w} close))"),
            &format!("(lt close (sma {w} close))"),
            &format!("(size {size})"),
        )
    };
    let base = trend(50, "0.5");
    let variants = [trend(48, "0.5"), trend(52, "0.9"), trend(50, "0.2")];
    let others = [
        genome("(lt (rsi 14 close) 30)", "(gt (rsi 14 close) 70)", "(size 0.5)"),
        genome("(cross-above close (hi 20 high))", "(cross-above (lo 10 low) close)", "(size 0.5)"),
    ];
    for v in &variants {
        let d = problem.behaviour_distance(&base, v);
        assert!(d < HALL_OF_FAME_DISTANCE, "{v}: {d}");
        assert_eq!(d, problem.behaviour_distance(v, &base), "symmetric");
        assert!(problem.alike((&base, &problem.evaluate(&base)), (v, &problem.evaluate(v))), "{v}");
    }
    for o in &others {
        let d = problem.behaviour_distance(&base, o);
        assert!(d > HALL_OF_FAME_DISTANCE, "{o}: {d}");
        assert!(!problem.alike((&base, &problem.evaluate(&base)), (o, &problem.evaluate(o))), "{o}");
    }
    assert_eq!(problem.behaviour_distance(&base, &base), 0.0);
    let never = genome("false", "false", "(size 0.5)");
    assert_eq!(problem.behaviour_distance(&never, &never), 0.0);
    assert_eq!(problem.behaviour_distance(&never, &base), 1.0);
}

/// Issue 13: the hall of fame held five variants of one entry rule. With the behaviour distance
/// its members differ pairwise on at least half of the bars where either signals; with the
/// distance off (0: exact behaviour only, as before) the same search fills it with variants.
#[test]
fn the_hall_of_fame_holds_distinct_behaviours() {
    use crate::ga::{Engine, GaConfig};
    let data = goog();
    let config =
        GaConfig { population: 60, generations: 8, seed: 11, hall_of_fame: 5, ..GaConfig::default() };
    let hall = |distance: f64| {
        let problem = GpProblem::new(&data, settings()).unwrap().with_hall_of_fame_distance(distance);
        let mut engine = Engine::new(&problem, config.clone()).unwrap();
        while !engine.is_done() {
            engine.step();
        }
        let genomes: Vec<Genome> = engine.hall_of_fame().iter().map(|s| s.genome.clone()).collect();
        let mut closest = f64::INFINITY;
        for (i, a) in genomes.iter().enumerate() {
            for b in &genomes[i + 1..] {
                closest = closest.min(problem.behaviour_distance(a, b));
            }
        }
        (genomes, closest)
    };
    let (distinct, closest) = hall(HALL_OF_FAME_DISTANCE);
    assert_eq!(distinct.len(), 5);
    assert!(closest >= HALL_OF_FAME_DISTANCE, "{closest}: {distinct:#?}");
    let (variants, closest) = hall(0.0);
    assert!(closest < HALL_OF_FAME_DISTANCE, "{closest}: {variants:#?}");
}

/// Trees that differ only in an exit that never fires trade alike and share a behaviour key; a
/// different size gene trades differently.
#[test]
fn genomes_that_trade_alike_share_a_behaviour_key() {
    let data = goog();
    let problem = GpProblem::new(&data, settings()).unwrap();
    let genome = |exit: &str, size: &str| -> Genome {
        format!("(strategy (entry (cross-above (ema 85 low) close)) (exit {exit}) (size {size}) (take-profit 0.015) (time-stop 58))")
            .parse()
            .unwrap()
    };
    let behaviour = |g: &Genome| problem.behaviour(&problem.evaluate(g)).unwrap();
    let a = genome("(cross-above open volume)", "0.6");
    let b = genome("(cross-above low high)", "0.6");
    assert_ne!(problem.key(&a), problem.key(&b));
    assert_eq!(behaviour(&a), behaviour(&b), "neither exit ever fires");
    assert_ne!(behaviour(&a), behaviour(&genome("(cross-above low high)", "0.3")));
    assert_eq!(problem.behaviour(&GpEval::Failed("refused".into())), None);
}
