use datasets::{AssetClass, Bar, Bars, SymbolMeta, Timeframe, Timestamp};
use kernel::sim::{Signal, Strength};
use kernel::strategy::{MarketData, SymbolData};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use crate::eval::Evaluator;
use crate::genome::{Genes, Genome};
use crate::simplify::{simplify, simplify_bool};
use crate::tree::{BinOp, Bool, CmpOp, Const, Field, Indicator, Num, WinOp, Window};
use crate::vary::GpConfig;

const DAY: i64 = 86_400_000_000_000;

/// A random-walk symbol of `n` bars with valid OHLC ranges.
fn walk(symbol: &str, class: AssetClass, n: usize, seed: u64, level: f64) -> SymbolData {
    let mut rng = Pcg64::seed_from_u64(seed);
    let mut close = level;
    let bars = (0..n).map(|t| {
        let open = close * (1.0 + 0.01 * (rng.random::<f64>() - 0.5));
        close = (open * (1.0 + 0.04 * (rng.random::<f64>() - 0.5))).max(1.0);
        let high = open.max(close) * (1.0 + 0.01 * rng.random::<f64>());
        let low = open.min(close) * (1.0 - 0.01 * rng.random::<f64>());
        let volume = (1000.0 * (1.0 + rng.random::<f64>())).round();
        Bar { ts: Timestamp(t as i64 * DAY), open, high, low, close, volume, vwap: None, trade_count: None }
    });
    SymbolData {
        meta: SymbolMeta::new(symbol, class),
        bars: Bars::from_bars(bars.collect::<Vec<_>>()).unwrap(),
    }
}

/// `symbols` stocks plus a VIX-like index, `n` bars each.
pub(crate) fn market(symbols: usize, n: usize, seed: u64) -> MarketData {
    let mut all: Vec<SymbolData> =
        (0..symbols).map(|k| walk(&format!("S{k}"), AssetClass::Equity, n, seed + k as u64, 100.0)).collect();
    all.push(walk("VIX", AssetClass::Index, n, seed + 99, 22.0));
    MarketData::new(Timeframe::Day1, all).unwrap()
}

pub(crate) fn config() -> GpConfig {
    GpConfig { regime: true, rank: true, ..GpConfig::default() }
}

fn random_genome(seed: u64) -> Genome {
    config().random(&mut Pcg64::seed_from_u64(seed))
}

/// Entry and exit series of every leg, as signals with full strength.
pub(crate) fn series(ev: &Evaluator<'_>, g: &Genome) -> Vec<Vec<Signal>> {
    ev.signals(g).legs.into_iter().map(|l| l.signals.to_vec()).collect()
}

fn check_limits(g: &Genome, c: &GpConfig) {
    for rule in [&g.entry, &g.exit] {
        assert!(rule.depth() <= c.max_depth, "depth {} > {}: {g}", rule.depth(), c.max_depth);
        assert!(rule.size() <= c.max_nodes, "size {} > {}: {g}", rule.size(), c.max_nodes);
    }
    g.genes.check().unwrap();
    assert_eq!(&simplify(g), g, "variation leaves genomes simplified");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random genomes are within the limits, simplified, and survive text, postcard and JSON
    /// round trips unchanged.
    #[test]
    fn random_genomes_round_trip(seed in any::<u64>()) {
        let c = config();
        let g = random_genome(seed);
        check_limits(&g, &c);
        let text = g.to_string();
        let back: Genome = text.parse().unwrap();
        prop_assert_eq!(&back, &g);
        prop_assert_eq!(back.to_string(), text);
        let pretty: Genome = format!("{g:#}").parse().unwrap();
        prop_assert_eq!(&pretty, &g);
        prop_assert_eq!(&Genome::from_bytes(&g.to_bytes()).unwrap(), &g);
        let json = serde_json::to_string(&g).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Genome>(&json).unwrap(), &g);
        prop_assert_eq!(g.key(), back.key());
    }

    /// Crossover and mutation of random parents stay typed (they are, by construction), within
    /// the limits, simplified and round-trippable.
    #[test]
    fn variation_stays_within_limits(seed in any::<u64>(), rate in 0.0..1.0f64) {
        let c = config();
        let mut rng = Pcg64::seed_from_u64(seed);
        let a = c.random(&mut rng);
        let b = c.random(&mut rng);
        let mut child = c.crossover(&a, &b, &mut rng);
        check_limits(&child, &c);
        c.mutate(&mut child, rate, &mut rng);
        check_limits(&child, &c);
        prop_assert_eq!(&child.to_string().parse::<Genome>().unwrap(), &child);
    }
}

/// Wraps `n` in value-preserving clutter the simplifier must remove.
fn clutter(n: Num, rng: &mut Pcg64) -> Num {
    let c = |x: f64| Box::new(Num::constant(x));
    let n = match n {
        Num::Un(op, a) => Num::Un(op, Box::new(clutter(*a, rng))),
        Num::Win(op, w, a) => Num::Win(op, w, Box::new(clutter(*a, rng))),
        Num::Bin(op, a, b) => Num::Bin(op, Box::new(clutter(*a, rng)), Box::new(clutter(*b, rng))),
        leaf => leaf,
    };
    match rng.random_range(0..8) {
        0 => Num::Bin(BinOp::Add, Box::new(n), c(0.0)),
        1 => Num::Bin(BinOp::Mul, c(1.0), Box::new(n)),
        2 => Num::Bin(BinOp::Max, Box::new(n.clone()), Box::new(n)),
        3 => Num::Win(
            WinOp::Lag,
            Window::new(2).unwrap(),
            Box::new(Num::Win(WinOp::Lag, Window::new(3).unwrap(), Box::new(n))),
        ),
        4 => Num::Bin(BinOp::Add, Box::new(n), Box::new(Num::Bin(BinOp::Sub, c(2.5), c(2.5)))),
        5 => Num::Bin(BinOp::Div, Box::new(n), c(1.0)),
        _ => n,
    }
}

fn clutter_bool(p: Bool, rng: &mut Pcg64) -> Bool {
    let p = match p {
        Bool::Cmp(op, a, b) => Bool::Cmp(op, Box::new(clutter(*a, rng)), Box::new(clutter(*b, rng))),
        Bool::Logic(op, p, q) => {
            Bool::Logic(op, Box::new(clutter_bool(*p, rng)), Box::new(clutter_bool(*q, rng)))
        }
        Bool::Not(p) => Bool::Not(Box::new(clutter_bool(*p, rng))),
        c => c,
    };
    match rng.random_range(0..6) {
        0 => Bool::Not(Box::new(Bool::Not(Box::new(p)))),
        1 => Bool::Logic(crate::tree::Logic::And, Box::new(p), Box::new(Bool::Const(true))),
        2 => Bool::Logic(crate::tree::Logic::Or, Box::new(p.clone()), Box::new(p)),
        _ => p,
    }
}

/// Simplification never changes a result: random trees wrapped in clutter, and the raw random
/// trees themselves (swapped comparisons, sorted arguments), evaluate bar for bar like their
/// simplified forms on random data with warm-up NaN.
#[test]
fn simplification_preserves_results_on_random_data() {
    let data = market(3, 300, 7);
    let ev = Evaluator::new(&data).unwrap();
    let c = config();
    for seed in 0..300u64 {
        let mut rng = Pcg64::seed_from_u64(seed);
        let raw = c.boolean(rng.random_range(2..=5), rng.random_bool(0.5), &mut rng);
        let cluttered = clutter_bool(raw.clone(), &mut rng);
        let genome = |p: Bool| Genome { entry: p, exit: Bool::Const(false), genes: Genes::default() };
        for tree in [raw, cluttered.clone()] {
            let simple = simplify_bool(&tree);
            let want = series(&ev, &genome(tree.clone()));
            assert_eq!(series(&ev, &genome(simple.clone())), want, "seed {seed}: {tree} vs {simple}");
        }
        assert!(simplify_bool(&cluttered).size() <= cluttered.size());
    }
}

/// Structural sharing changes no result: a batch equals one-by-one evaluation, with and
/// without a cache budget, and identical subtrees are counted once.
#[test]
fn sharing_saves_work_and_changes_nothing() {
    let data = market(4, 400, 11);
    let ev = Evaluator::new(&data).unwrap();
    let c = config();
    let mut rng = Pcg64::seed_from_u64(5);
    let parents: Vec<Genome> = (0..20).map(|_| c.random(&mut rng)).collect();
    let mut pop = parents.clone();
    for k in 0..60 {
        let mut child = c.crossover(&parents[k % 20], &parents[(k * 7 + 3) % 20], &mut rng);
        c.mutate(&mut child, 0.3, &mut rng);
        pop.push(child);
    }
    let refs: Vec<&Genome> = pop.iter().collect();
    let strength = Strength::FULL;
    let (batched, sharing) = ev.batch(&refs, |_, r| r.signal_set(strength));
    let tight = Evaluator::new(&data).unwrap().with_cache_budget(0);
    let (unshared, _) = tight.batch(&refs, |_, r| r.signal_set(strength));
    for (k, g) in pop.iter().enumerate() {
        let (alone, _) = ev.batch(&[g], |_, r| r.signal_set(strength));
        assert_eq!(alone[0], batched[k], "{g}");
        assert_eq!(unshared[k], batched[k], "{g}");
    }
    assert_eq!(sharing.genomes, 80);
    assert!(sharing.rate() > 0.3, "crossover children share their parents' subtrees: {sharing:?}");
    assert!(sharing.distinct_nodes < sharing.tree_nodes);
}

/// `data` with every bar after `t0` changed at random (prices, volume, the VIX), bars up to
/// `t0` untouched.
pub(crate) fn change_after(data: &MarketData, t0: usize, seed: u64) -> MarketData {
    let mut rng = Pcg64::seed_from_u64(seed);
    let perturbed: Vec<SymbolData> = data
        .symbols()
        .iter()
        .map(|s| {
            let bars = s.bars.iter().enumerate().map(|(t, mut b)| {
                if t > t0 {
                    let k = 0.5 + rng.random::<f64>();
                    b.open *= k;
                    b.close *= k;
                    b.high = b.open.max(b.close) * 1.01;
                    b.low = b.open.min(b.close) * 0.99;
                    b.volume *= 3.0 * rng.random::<f64>();
                }
                b
            });
            SymbolData { meta: s.meta.clone(), bars: Bars::from_bars(bars.collect::<Vec<_>>()).unwrap() }
        })
        .collect();
    MarketData::new(Timeframe::Day1, perturbed).unwrap()
}

/// No look-ahead: changing every bar after `t0` (prices, volume, the VIX) leaves every
/// signal up to `t0` unchanged, for random genomes using every operator including rank and
/// the regime.
#[test]
fn no_operator_reads_the_future() {
    let n = 260;
    let data = market(3, n, 21);
    for t0 in [40, 150, 258] {
        let future = change_after(&data, t0, t0 as u64);
        let (a, b) = (Evaluator::new(&data).unwrap(), Evaluator::new(&future).unwrap());
        let mut differed = 0;
        for seed in 0..200u64 {
            let g = random_genome(seed * 31 + t0 as u64);
            let (sa, sb) = (series(&a, &g), series(&b, &g));
            for (x, y) in sa.iter().zip(&sb) {
                assert_eq!(x[..=t0], y[..=t0], "t0 {t0}: {g}");
                differed += usize::from(x[t0 + 1..] != y[t0 + 1..]);
            }
        }
        assert!(differed > 0 || t0 + 1 >= n - 1, "the perturbation must reach some signal after t0");
    }
}

#[test]
fn evaluation_matches_a_hand_computation() {
    let data = market(1, 50, 3);
    let ev = Evaluator::new(&data).unwrap();
    let g: Genome = "(strategy (entry (gt close (sma 3 close))) (exit (lt close (lag 1 close))) (size 0.5))"
        .parse()
        .unwrap();
    let close = data.symbols()[0].bars.close();
    let half = Strength::new(0.5).unwrap();
    let mut armed = false;
    let want: Vec<Signal> = (0..50)
        .map(|t| {
            let sma = (t >= 2).then(|| (close[t] + close[t - 1] + close[t - 2]) / 3.0);
            let exit = t >= 1 && close[t] < close[t - 1];
            let entry = sma.is_some_and(|s| close[t] > s);
            armed |= entry;
            if armed && exit {
                Signal::Exit
            } else if entry {
                Signal::Enter(half)
            } else {
                Signal::Hold
            }
        })
        .collect();
    let got = ev.batch(&[&g], |g, r| r.signal_set(g.genes.strength())).0.remove(0);
    assert_eq!(got.legs[0].signals.to_vec(), want);
    assert_eq!(got.legs[0].symbol, 0, "the index is not traded");
    assert!(ev.has_regime());
}

/// `ge` and `le` include equality and compare false on NaN; `(ge x x)` is not folded to true
/// (it is false during warm-up), `le` prints as the swapped `ge`, constants fold.
#[test]
fn inclusive_comparisons_hold_on_ties_and_never_on_nan() {
    let data = market(1, 60, 8);
    let ev = Evaluator::new(&data).unwrap();
    // The close is the highest of the last 3 closes (itself included): `ge` holds there, `gt`
    // never can; the exit holds where the close 3 bars back is the highest of the last 4.
    let text = "(strategy (entry (ge close (hi 3 close))) (exit (le (hi 4 close) (lag 3 close))) (size 1))";
    let g: Genome = text.parse().unwrap();
    assert_eq!(g.to_string(), text);
    let close = data.symbols()[0].bars.close();
    let mut armed = false;
    let want: Vec<Signal> = (0..60)
        .map(|t| {
            let entry = t >= 2 && close[t] >= close[t - 2].max(close[t - 1]);
            let exit =
                t >= 3 && close[t - 3..=t].iter().copied().fold(f64::NEG_INFINITY, f64::max) <= close[t - 3];
            armed |= entry;
            if armed && exit {
                Signal::Exit
            } else if entry {
                Signal::Enter(Strength::FULL)
            } else {
                Signal::Hold
            }
        })
        .collect();
    assert_eq!(series(&ev, &g)[0], want);
    assert!(want.iter().any(|s| matches!(s, Signal::Enter(_))) && want.contains(&Signal::Exit), "{want:?}");
    let strict: Genome = text.replace("(ge close", "(gt close").parse().unwrap();
    assert!(!series(&ev, &strict)[0].iter().any(|s| matches!(s, Signal::Enter(_))));

    let cmp = |text: &str| -> Bool {
        let g: Genome = format!("(strategy (entry {text}) (exit false))").parse().unwrap();
        g.entry
    };
    assert_eq!(simplify_bool(&cmp("(ge close close)")), cmp("(ge close close)"));
    assert_eq!(simplify_bool(&cmp("(gt close close)")), Bool::Const(false));
    assert_eq!(simplify_bool(&cmp("(le close 3)")).to_string(), "(ge 3 close)");
    assert_eq!(simplify_bool(&cmp("(ge 2 2)")), Bool::Const(true));
    assert_eq!(simplify_bool(&cmp("(le 3 2)")), Bool::Const(false));
}

#[test]
fn rank_is_cross_sectional_with_shared_ties() {
    let rows = [
        crate::operators::Operand::Series(&[1.0, 5.0, f64::NAN]),
        crate::operators::Operand::Series(&[3.0, 5.0, 2.0]),
        crate::operators::Operand::Scalar(2.0),
    ];
    let mut out = vec![0.0; 9];
    crate::operators::rank(&rows, 3, &mut out);
    // Bar 0: 1 < 2 < 3; bar 1: 2 < 5 = 5 (ties share 0.75); bar 2: NaN unranked, 2 = 2.
    assert_eq!(out[0], 0.0);
    assert_eq!(out[3], 1.0);
    assert_eq!(out[6], 0.5);
    assert_eq!((out[1], out[4], out[7]), (0.75, 0.75, 0.0));
    assert!(out[2].is_nan());
    assert_eq!((out[5], out[8]), (0.5, 0.5));
}

#[test]
fn early_exits_skip_dead_rules() {
    let data = market(2, 100, 9);
    let ev = Evaluator::new(&data).unwrap();
    // Dividing NaN gives NaN everywhere: the comparison is false without computing the rest.
    let never: Genome =
        "(strategy (entry (gt (lag 250 close) (mean 20 (rsi 14 close)))) (exit (gt close 1)))"
            .parse()
            .unwrap();
    let (enters, sharing) = ev.batch(&[&never], |_, r| r.enters());
    assert!(!enters[0]);
    assert_eq!(sharing.computed, 2, "lag, then the comparison; the right side and the exit rule are skipped");
}

#[test]
fn parse_errors_name_the_position() {
    let cases = [
        ("(strategy (entry (gt close)) (exit true))", 26, "expected a number, found `)`"),
        ("(strategy (entry (add close 1)) (exit true))", 18, "`add` is not a boolean operator"),
        (
            "(strategy (entry (gt true close)) (exit true))",
            21,
            "`true` is a boolean where a number is needed",
        ),
        ("(strategy (entry (gt (lag 0 close) 1)) (exit true))", 26, "needs a whole window in 1..=250"),
        ("(strategy (entry (gt close 1)) (exit true) (size 2))", 44, "size 2 is outside"),
        ("(strategy (entry (gt close 1)))", 30, "no `(exit …)`"),
        ("(strategy (entry (gt close 1)) (exit true)) x", 44, "text after the end"),
        ("(strategy (entry (gt (ema 10 regime) 1)) (exit true))", 29, "reads a bar field"),
        ("(strategy\n  (entry (gt close nan)) (exit true))", 29, "unknown numeric terminal `nan`"),
    ];
    for (text, offset, message) in cases {
        let err = text.parse::<Genome>().unwrap_err();
        assert_eq!(err.offset, offset, "{text}: {err}");
        assert!(err.message.contains(message), "{text}: {err}");
    }
    let err = "(strategy\n  (entry (gt close nan)) (exit true))".parse::<Genome>().unwrap_err();
    assert_eq!((err.line, err.column), (2, 20));
    assert!(err.to_string().starts_with("line 2, column 20"));
}

#[test]
fn genome_maps_onto_kernel_rules() {
    let g: Genome =
        "(strategy (entry (cross-above (ema 5 close) (ema 20 close))) (exit false) (size 0.25) (stop-loss 0.05) (take-profit 0.2) (time-stop 10))"
            .parse()
            .unwrap();
    let rules = g.rules(kernel::sim::TradeRules::default());
    assert_eq!(rules.exits.stop_loss, Some(0.05));
    assert_eq!(rules.exits.take_profit, Some(0.2));
    assert_eq!(rules.exits.max_bars, Some(10));
    assert_eq!(rules.exits.trailing_stop, None);
    assert_eq!(g.genes.strength().get(), 0.25);
    assert_eq!(Num::Ind(Indicator::Ema, Field::Close, Window::new(5).unwrap()).to_string(), "(ema 5 close)");
    let lt = Bool::Cmp(
        CmpOp::Lt,
        Box::new(Num::Field(Field::Close)),
        Box::new(Num::Const(Const::new(3.0).unwrap())),
    );
    assert_eq!(simplify_bool(&lt).to_string(), "(gt 3 close)");
}

/// A genome is a signal source: the same signals as the evaluator's, its genes' exits as its
/// own, a daily live time, and the evaluator's refusal as a strategy error.
#[test]
fn a_genome_runs_as_a_signal_source() {
    use kernel::strategy::{Cadence, SignalSource};
    let data = market(3, 300, 5);
    let text = "(strategy (entry (gt close (sma 20 close))) (exit (lt close (sma 20 close))) (size 0.5) (stop-loss 0.1))";
    let g: Genome = text.parse().unwrap();
    let source: &dyn SignalSource = &g;
    assert_eq!(source.signals(&data).unwrap(), crate::signals(&g, &data).unwrap());
    assert_eq!((source.name(), source.max_positions(&data), source.needs_short()), ("gp", None, false));
    assert_eq!(source.own_exits(), Some(g.genes.exits()));
    assert_eq!(source.own_exits().unwrap().stop_loss, Some(0.1));
    assert_eq!(source.cadence(), Some(Cadence::daily(10, 0)));
    let index = walk("VIX", AssetClass::Index, 300, 1, 20.0);
    let only_index = MarketData::new(Timeframe::Day1, vec![index]).unwrap();
    let err = source.signals(&only_index).unwrap_err().to_string();
    assert_eq!(err, "the data has no tradable symbol for a GP strategy");
}

/// The binary form is bounded like the text: a hostile input nesting `not` a hundred thousand
/// deep is refused while it is decoded (never a stack overflow), as are a tree of more nodes
/// than the text allows and an input above the text's byte limit; a tree at the depth limit
/// decodes, and its text parses back.
#[test]
fn hostile_binary_genomes_are_refused() {
    use crate::sexpr::{MAX_NODES, MAX_TEXT};
    use crate::tree::MAX_DECODE_DEPTH;

    let mut g: Genome = "(strategy (entry (gt close open)) (exit (lt close open)) (size 1))".parse().unwrap();
    g.entry = Bool::Const(true);
    // The entry rule first, then the exit rule and the genes: `Const(true)` is `[0, 1]`.
    let rest = g.to_bytes();
    assert_eq!(rest[..2], [0, 1]);
    // `Not` is variant 3 of `Bool`: `nots` of them wrapped around `true`.
    let nested = |nots: usize| [vec![3; nots], rest.clone()].concat();

    let deepest = Genome::from_bytes(&nested(MAX_DECODE_DEPTH - 1)).unwrap();
    assert_eq!(deepest.entry.depth(), MAX_DECODE_DEPTH);
    assert_eq!(deepest.to_string().parse::<Genome>().unwrap(), deepest);
    let limit = format!("the tree nests deeper than {MAX_DECODE_DEPTH} levels");
    for nots in [MAX_DECODE_DEPTH, 100_000] {
        let err = Genome::from_bytes(&nested(nots)).unwrap_err();
        assert!(err.contains(&limit), "{nots}: {err}");
    }

    // A balanced `and` tree of depth 15 (variant 2, `And` = 0): 65,535 nodes in 128 KiB.
    fn balanced(depth: u32, out: &mut Vec<u8>) {
        if depth == 0 {
            out.extend([0, 1]);
        } else {
            out.extend([2, 0]);
            balanced(depth - 1, out);
            balanced(depth - 1, out);
        }
    }
    let mut wide = Vec::new();
    balanced(15, &mut wide);
    wide.extend(&rest[2..]);
    let err = Genome::from_bytes(&wide).unwrap_err();
    // The entry's 65,535 nodes and the exit's 3.
    assert_eq!(err, format!("{} nodes, above the limit of {MAX_NODES}", (1 << 16) - 1 + 3));

    let err = Genome::from_bytes(&vec![0; MAX_TEXT + 1]).unwrap_err();
    assert_eq!(err, format!("{} bytes, above the limit of {MAX_TEXT}", MAX_TEXT + 1));
}
