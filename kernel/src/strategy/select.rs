//! Position limit and strongest-`N` selection for per-symbol families.
//!
//! A per-symbol family run over a universe (`mean_reversion`, `relative_volume_breakout`,
//! `vol_managed_momentum`) would otherwise give every symbol its own slot, `1/legs` of the
//! equity: 1/5,000 of the account on a 5,000-symbol universe is dust, and the Sharpe ratio of
//! dust says nothing about the P&L. Such a family declares a `positions` parameter `N`: the
//! portfolio sizes each entry on `1/N` of the sleeve ([`Strategy::max_positions`]), and at each
//! bar the entries that fit are the strongest of that bar, by a score the family computes from
//! bars up to and including that bar (so a fill at `t + 1` never sees bar `t + 1`).
//!
//! [`Strategy::max_positions`]: super::Strategy::max_positions

use std::cmp::Ordering;
use std::num::NonZeroUsize;
use std::ops::Range;

use super::{
    LegSignals, MarketData, ParamKind, ParamSpec, ParamValue, Params, SignalSet, StrategyError, SymbolData,
};
use crate::sim::{Signal, SignalColumn};

/// The `positions` parameter every limited per-symbol family shares: at most this many
/// positions at once, each sized on `1/positions` of the sleeve.
pub(super) const POSITIONS: ParamSpec = ParamSpec {
    name: "positions",
    kind: ParamKind::Integer { min: 1, max: 100 },
    default: ParamValue::Int(10),
};

/// The position limit of a family with a [`POSITIONS`] parameter on `data`: `positions`, or
/// fewer when the universe has fewer tradable symbols.
pub(super) fn limit(params: &Params, data: &MarketData) -> Option<NonZeroUsize> {
    NonZeroUsize::new(params.usize(POSITIONS.name).min(data.tradable().count()))
}

/// Bytes of raw signals and entry scores a strongest-`N` selection keeps at once: past it the
/// bars are selected in blocks ([`per_symbol_strongest`]). One evaluation's scratch per thread,
/// so a 4-core machine holds four of them.
const SCRATCH_BYTES: usize = 32 << 20;

/// Like [`per_symbol`](super::per_symbol), but `rule` also writes each bar's entry score
/// (higher is stronger; NaN never enters) into its second argument, and at most
/// `params`' `positions` legs hold at once: each bar's entries beyond the free slots are
/// dropped, the weakest first. Only the scores of entry bars are kept, so the memory held per
/// leg follows its signals' changes and entries, not its bars.
///
/// A family whose signals change every bar (vol_managed_momentum's strength) still holds a
/// signal and a score per symbol-bar: 250 MB on 5,000 symbols × 20 years. Once the legs' raw
/// signals and scores would pass [`SCRATCH_BYTES`], the bars are selected in blocks, each
/// block's signals computed from the symbol's bars up to its end (`rule` reads no later bar,
/// so they are the same signals) and the selection carried over from block to block: the
/// same legs, bit for bit, for a bounded scratch and some rule work repeated. `rule` gets the
/// symbol's bars up to the block's end and returns one signal per bar it got.
pub(super) fn per_symbol_strongest(
    strategy: &'static str,
    params: &Params,
    data: &MarketData,
    rule: impl FnMut(&SymbolData, &mut Vec<f64>) -> Result<Vec<Signal>, StrategyError>,
) -> Result<SignalSet, StrategyError> {
    strongest_in_blocks(strategy, params, data, rule, SCRATCH_BYTES).map(|(set, _)| set)
}

/// [`per_symbol_strongest`] keeping about `budget` bytes of raw signals and scores at most
/// (one block of one bar may need more); also the most bytes one block held.
fn strongest_in_blocks(
    strategy: &'static str,
    params: &Params,
    data: &MarketData,
    mut rule: impl FnMut(&SymbolData, &mut Vec<f64>) -> Result<Vec<Signal>, StrategyError>,
    budget: usize,
) -> Result<(SignalSet, usize), StrategyError> {
    let symbols: Vec<usize> = data.tradable().collect();
    if symbols.is_empty() {
        return Err(StrategyError::MissingSymbols { strategy, what: "tradable symbol".into() });
    }
    let n = data.len();
    let mut selection = Strongest::new(symbols.len(), params.usize(POSITIONS.name));
    let mut score = Vec::with_capacity(n);
    let (mut from, mut block, mut peak) = (0, n, 0);
    while from < n {
        let to = (from + block).min(n);
        let limit = if block > 1 { budget } else { usize::MAX };
        match raw_block(data, &symbols, from..to, &mut rule, &mut score, limit)? {
            Block::Raw { columns, scores, bytes } => {
                selection.feed(&columns, &scores);
                peak = peak.max(bytes);
                from = to;
            }
            // Aim at half the budget: later years may change more often.
            Block::TooBig { projected } => {
                block = (block as u128 * budget as u128 / (2 * projected as u128)).clamp(1, block as u128 - 1)
                    as usize;
            }
        }
    }
    let legs =
        symbols.into_iter().zip(selection.finish()).map(|(symbol, signals)| LegSignals { symbol, signals });
    Ok((SignalSet { legs: legs.collect() }, peak))
}

/// The legs' raw signals and entry scores over one block of bars.
enum Block {
    /// Every leg's signals over the block, restricted to its listing, and its entry scores.
    Raw { columns: Vec<SignalColumn>, scores: Vec<Vec<f64>>, bytes: usize },
    /// The block would hold more than the budget: about this many bytes.
    TooBig { projected: usize },
}

/// The signals of `symbols` over the bars `block`, from each symbol's bars up to the block's
/// end, or [`Block::TooBig`] as soon as they pass `budget` bytes.
fn raw_block(
    data: &MarketData,
    symbols: &[usize],
    block: Range<usize>,
    rule: &mut impl FnMut(&SymbolData, &mut Vec<f64>) -> Result<Vec<Signal>, StrategyError>,
    score: &mut Vec<f64>,
    budget: usize,
) -> Result<Block, StrategyError> {
    let (n, whole) = (data.len(), block == (0..data.len()));
    let (mut columns, mut scores, mut bytes) = (Vec::new(), Vec::new(), 0);
    for (done, &i) in symbols.iter().enumerate() {
        let symbol = &data.symbols()[i];
        let prefix;
        let seen = if block.end == n {
            symbol
        } else {
            prefix = SymbolData { meta: symbol.meta.clone(), bars: symbol.bars.slice(0..block.end) };
            &prefix
        };
        score.clear();
        let mut signals = SignalColumn::from(rule(seen, score)?);
        // The bars after the block, as placeholders: the listing's exit is placed on the whole clock.
        signals.push_run(Signal::Hold, n - block.end);
        let signals = signals.restrict(data.listed(i));
        let signals = if whole { signals } else { signals.slice(block.clone()) };
        let entry = entry_scores(signals.iter(), score.get(block.start..).unwrap_or(&[]));
        bytes += signals.heap_bytes() + entry.capacity() * std::mem::size_of::<f64>();
        if bytes > budget {
            return Ok(Block::TooBig { projected: bytes / (done + 1) * symbols.len() });
        }
        columns.push(signals);
        scores.push(entry);
    }
    Ok(Block::Raw { columns, scores, bytes })
}

/// The scores of `signals`' entry bars, in bar order (NaN where `score` is too short).
fn entry_scores(signals: impl Iterator<Item = Signal>, score: &[f64]) -> Vec<f64> {
    signals
        .enumerate()
        .filter(|(_, s)| matches!(s, Signal::Enter(_)))
        .map(|(t, _)| score.get(t).copied().unwrap_or(f64::NAN))
        .collect()
}

/// The strongest-`N` selection, fed the legs' raw signals block after block: a leg holds from
/// an entry it was allowed until its next exit. At each bar the exits free their slots first;
/// then, when more legs want to enter than slots are free, the entries with the highest
/// scores are kept (ties: the lower leg index) and the rest become `Hold`. An entry with a NaN
/// score is dropped. A protective exit the simulator takes on its own is not seen here, so the
/// slot stays taken until the leg's exit signal: the simulator's own limit refuses any entry
/// beyond `N`.
struct Strongest {
    /// `N`: the most legs holding at once.
    limit: usize,
    /// Per leg, whether it holds.
    holding: Vec<bool>,
    /// Legs holding.
    held: usize,
    /// The current bar's kept signal per leg.
    now: Vec<Signal>,
    /// The current bar's entries: leg and score.
    wanting: Vec<(usize, f64)>,
    /// The kept signals so far, per leg.
    kept: Vec<SignalColumn>,
}

impl Strongest {
    /// A selection of at most `limit` of `legs` legs, before any bar.
    fn new(legs: usize, limit: usize) -> Self {
        Strongest {
            limit,
            holding: vec![false; legs],
            held: 0,
            now: vec![Signal::Hold; legs],
            wanting: Vec::new(),
            kept: vec![SignalColumn::new(); legs],
        }
    }

    /// The next bars: every leg's raw signals over them (`columns`, one per leg, of equal
    /// length) and the scores of each leg's entry bars among them in order ([`entry_scores`]).
    fn feed(&mut self, columns: &[SignalColumn], scores: &[Vec<f64>]) {
        let bars = columns.first().map_or(0, SignalColumn::len);
        let mut readers: Vec<_> = columns.iter().map(SignalColumn::iter).collect();
        let mut next_score = vec![0usize; columns.len()];
        for _ in 0..bars {
            self.wanting.clear();
            for (k, reader) in readers.iter_mut().enumerate() {
                let mut signal = reader.next().expect("every leg has a signal per bar");
                match signal {
                    Signal::Exit if self.holding[k] => {
                        self.holding[k] = false;
                        self.held -= 1;
                    }
                    Signal::Enter(_) => {
                        let score = scores[k].get(next_score[k]).copied().unwrap_or(f64::NAN);
                        next_score[k] += 1;
                        match (self.holding[k], score.is_nan()) {
                            (true, _) => {}
                            (false, true) => signal = Signal::Hold,
                            (false, false) => self.wanting.push((k, score)),
                        }
                    }
                    _ => {}
                }
                self.now[k] = signal;
            }
            let free = self.limit.saturating_sub(self.held);
            if self.wanting.len() > free {
                self.wanting
                    .sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal).then(a.0.cmp(&b.0)));
                for &(k, _) in &self.wanting[free..] {
                    self.now[k] = Signal::Hold;
                }
                self.wanting.truncate(free);
            }
            for &(k, _) in &self.wanting {
                self.holding[k] = true;
            }
            self.held += self.wanting.len();
            for (column, &signal) in self.kept.iter_mut().zip(&self.now) {
                column.push(signal);
            }
        }
    }

    /// Every leg's kept signals.
    fn finish(self) -> Vec<SignalColumn> {
        self.kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Strength;

    const E: Signal = Signal::Enter(Strength::FULL);
    const X: Signal = Signal::Exit;
    const H: Signal = Signal::Hold;

    /// The strongest-`n` selection of `signals` with one score per bar, as the signals after it.
    fn keep(signals: &[&[Signal]], scores: &[Vec<f64>], n: usize) -> Vec<Vec<Signal>> {
        let columns: Vec<SignalColumn> = signals.iter().map(|&s| s.into()).collect();
        let entry: Vec<_> =
            signals.iter().zip(scores).map(|(s, x)| entry_scores(s.iter().copied(), x)).collect();
        let mut selection = Strongest::new(columns.len(), n);
        selection.feed(&columns, &entry);
        selection.finish().iter().map(SignalColumn::to_vec).collect()
    }

    #[test]
    fn keeps_the_strongest_entries_that_fit_and_frees_slots_on_exits() {
        // Three legs want in at bar 0 with two slots: the two highest scores enter. At bar 1
        // leg 0 exits and leg 1 (wanting again) takes its slot; at bar 2 both slots are held, so
        // leg 3's entry is dropped however strong.
        let scores = vec![vec![3.0; 3], vec![1.0, 5.0, 0.0], vec![2.0; 3], vec![0.0, 0.0, 9.0]];
        let l = keep(&[&[E, X, H], &[E, E, H], &[E, H, H], &[H, H, E]], &scores, 2);
        assert_eq!(l[0], [E, X, H]);
        assert_eq!(l[1], [H, E, H]);
        assert_eq!(l[2], [E, H, H]);
        assert_eq!(l[3], [H, H, H]);
    }

    #[test]
    fn ties_go_to_the_lower_leg_and_nan_never_enters() {
        let l = keep(&[&[E], &[E], &[E]], &[vec![1.0], vec![1.0], vec![f64::NAN]], 1);
        assert_eq!([l[0][0], l[1][0], l[2][0]], [E, H, H]);
        // A repeated entry of a holding leg takes no new slot and is left alone.
        let l = keep(&[&[E, E, E], &[H, E, E]], &[vec![1.0; 3], vec![9.0; 3]], 1);
        assert_eq!(l[0], [E, E, E]);
        assert_eq!(l[1], [H, H, H]);
    }

    /// Past the scratch budget the selection works in blocks of bars and gives the same legs,
    /// bit for bit, holding no more than the budget: vol_managed_momentum's strength changes
    /// every bar, so unblocked it holds a signal and a score per symbol-bar.
    #[test]
    fn blocks_of_bars_select_the_same_legs_within_the_budget() {
        use datasets::synth::{SynthConfig, Universe};

        use super::super::{breakout, mean_reversion, momentum};
        use crate::strategy::{MeanReversion, RelativeVolumeBreakout, VolManagedMomentum};

        let u = Universe::new(&SynthConfig { symbols: 100, years: 2, seed: 9, ..SynthConfig::default() })
            .unwrap();
        let symbols =
            (0..u.symbols().len()).map(|i| SymbolData { meta: u.symbols()[i].clone(), bars: u.daily(i) });
        let data = MarketData::new(datasets::Timeframe::Day1, symbols.collect()).unwrap();
        let budget = 64 << 10;
        let unbounded = same_legs_within(&VolManagedMomentum, &data, budget, |p| momentum::rule(p, &data));
        assert!(unbounded > 8 * budget, "{unbounded} bytes unblocked");
        same_legs_within(&MeanReversion, &data, budget, |p| mean_reversion::rule(p, &data));
        same_legs_within(&RelativeVolumeBreakout, &data, budget, |p| breakout::rule(p, &data));
    }

    /// Checks that `strategy`'s default legs on `data` are the same selected whole and in
    /// blocks of at most `budget` bytes; the bytes held whole.
    fn same_legs_within<R>(
        strategy: &dyn crate::strategy::Strategy,
        data: &MarketData,
        budget: usize,
        rule: impl Fn(&Params) -> R,
    ) -> usize
    where
        R: FnMut(&SymbolData, &mut Vec<f64>) -> Result<Vec<Signal>, StrategyError>,
    {
        let (name, params) = (strategy.name(), Params::defaults(strategy.space()));
        let (whole, unbounded) = strongest_in_blocks(name, &params, data, rule(&params), usize::MAX).unwrap();
        let (blocked, peak) = strongest_in_blocks(name, &params, data, rule(&params), budget).unwrap();
        assert_eq!(blocked, whole, "{name}");
        assert_eq!(whole, strategy.signals(&params, data).unwrap(), "{name}");
        assert!(peak <= budget, "{name}: {peak} bytes held");
        unbounded
    }

    /// On a generated 1,000-stock universe each per-symbol family holds at most `positions`
    /// symbols at once, and an entry at full strength takes a meaningful share of the sleeve
    /// (a slot of `1/positions`, not `1/legs` = 1/1,016).
    #[test]
    fn on_a_thousand_symbols_positions_are_a_share_of_the_sleeve() {
        use datasets::synth::{SynthConfig, Universe};

        use crate::sim::TradeRules;
        use crate::strategy::{
            MeanReversion, RelativeVolumeBreakout, Strategy, VolManagedMomentum, backtest,
        };

        let u = Universe::new(&SynthConfig { symbols: 1_000, years: 1, seed: 5, ..SynthConfig::default() })
            .unwrap();
        let symbols =
            (0..u.symbols().len()).map(|i| SymbolData { meta: u.symbols()[i].clone(), bars: u.daily(i) });
        let data = MarketData::new(datasets::Timeframe::Day1, symbols.collect()).unwrap();
        let strategies: [&dyn Strategy; 3] = [&MeanReversion, &RelativeVolumeBreakout, &VolManagedMomentum];
        for strategy in strategies {
            let params = Params::defaults(strategy.space());
            let n = params.usize("positions");
            assert_eq!(strategy.max_positions(&params, &data).map(NonZeroUsize::get), Some(n));
            let bt = backtest(strategy, &params, &data, TradeRules::default(), 100_000.0).unwrap();
            let crate::strategy::RunResult::Portfolio(run) = &bt.result else { panic!("a portfolio run") };
            let activities: Vec<_> = run.sleeves[0].legs.iter().map(|l| &l.activity).collect();
            let mut open = vec![0i64; data.len() + 1];
            let mut entries = 0;
            for a in &activities {
                for trade in &a.trades {
                    open[trade.entry_bar] += 1;
                    open[trade.exit_bar] -= 1;
                    entries += 1;
                    let notional = trade.qty * trade.entry_price;
                    let slot = run.equity[trade.entry_bar - 1] / n as f64;
                    // Full-strength entries take a whole slot (less what the cash cap and
                    // whole shares shave off); vol_managed_momentum scales its entries by
                    // target / realised volatility, so it only needs more than the 1/legs slot.
                    let least = if strategy.name() == "vol_managed_momentum" {
                        2.0 * run.equity[trade.entry_bar - 1] / data.tradable().count() as f64
                    } else {
                        0.5 * slot
                    };
                    assert!(notional >= least, "{}: {notional:.0} < {least:.0}", strategy.name());
                }
                if let Some(p) = &a.open_position {
                    open[p.entry_bar] += 1;
                    entries += 1;
                }
            }
            assert!(entries >= n, "{}: only {entries} entries", strategy.name());
            let most = open
                .iter()
                .scan(0, |held, d| {
                    *held += d;
                    Some(*held)
                })
                .max()
                .unwrap();
            assert!(most as usize <= n, "{}: {most} positions at once", strategy.name());
        }
    }
}
