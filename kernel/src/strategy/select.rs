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

/// A per-symbol rule worked through the bars a block at a time, its indicators' states carried
/// from one block to the next ([`Resumable`](crate::indicators::Resumable)): each bar's signal
/// and entry score are computed once, and the blocks give, bit for bit, what one pass over all
/// the bars gives.
pub(super) trait LegRule {
    /// What the rule carries for one symbol from one block to the next.
    type Leg: Clone;

    /// The state of `symbol` before its first bar.
    fn start(&self, symbol: &SymbolData) -> Result<Self::Leg, StrategyError>;

    /// Appends to `signals` the signals of `symbol`'s bars from the first `leg` has not seen
    /// up to `end` (exclusive), reading no bar at or after `end`; each bar's entry score
    /// (higher is stronger; NaN never enters) is pushed to `score`.
    fn extend(
        &mut self,
        leg: &mut Self::Leg,
        symbol: &SymbolData,
        end: usize,
        signals: &mut SignalColumn,
        score: &mut Vec<f64>,
    ) -> Result<(), StrategyError>;
}

/// Like [`per_symbol`](super::per_symbol), but `rule` also gives each bar's entry score, and at
/// most `params`' `positions` legs hold at once: each bar's entries beyond the free slots are
/// dropped, the weakest first. Only the scores of entry bars are kept, so the memory held per
/// leg follows its signals' changes and entries, not its bars.
///
/// A family whose signals change every bar (vol_managed_momentum's strength) still holds a
/// signal and a score per symbol-bar: 250 MB on 5,000 symbols × 20 years. Once the legs' raw
/// signals and scores would pass [`SCRATCH_BYTES`], the bars are selected in blocks, the rule
/// resumed on each block where it stopped ([`LegRule`]) and the selection carried over from
/// block to block: the same legs, bit for bit, for a bounded scratch and the same rule work.
pub(super) fn per_symbol_strongest(
    strategy: &'static str,
    params: &Params,
    data: &MarketData,
    rule: impl LegRule,
) -> Result<SignalSet, StrategyError> {
    strongest_in_blocks(strategy, params, data, rule, SCRATCH_BYTES).map(|(set, _)| set)
}

/// [`per_symbol_strongest`] keeping about `budget` bytes of raw signals and scores at most
/// (one block of one bar may need more); also the most bytes one block held.
fn strongest_in_blocks<R: LegRule>(
    strategy: &'static str,
    params: &Params,
    data: &MarketData,
    mut rule: R,
    budget: usize,
) -> Result<(SignalSet, usize), StrategyError> {
    let symbols: Vec<usize> = data.tradable().collect();
    if symbols.is_empty() {
        return Err(StrategyError::MissingSymbols { strategy, what: "tradable symbol".into() });
    }
    let n = data.len();
    let mut selection = Strongest::new(symbols.len(), params.usize(POSITIONS.name));
    let mut legs = symbols.iter().map(|&i| rule.start(&data.symbols()[i])).collect::<Result<Vec<_>, _>>()?;
    let mut score = Vec::new();
    let (mut from, mut block, mut peak) = (0, n, 0);
    while from < n {
        let to = (from + block).min(n);
        let limit = if block > 1 { budget } else { usize::MAX };
        // The legs' states at the block's end, kept only when the block fits.
        let mut next = legs.clone();
        match raw_block(data, &symbols, from..to, &mut rule, &mut next, &mut score, limit)? {
            Block::Raw { columns, scores, bytes } => {
                selection.feed(&columns, &scores);
                peak = peak.max(bytes);
                legs = next;
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

/// The signals of `symbols` over the bars `block`, `rule` resumed from each symbol's state in
/// `legs` (which it advances to the block's end), or [`Block::TooBig`] as soon as they pass
/// `budget` bytes.
fn raw_block<R: LegRule>(
    data: &MarketData,
    symbols: &[usize],
    block: Range<usize>,
    rule: &mut R,
    legs: &mut [R::Leg],
    score: &mut Vec<f64>,
    budget: usize,
) -> Result<Block, StrategyError> {
    let n = data.len();
    let (mut columns, mut scores, mut bytes) = (Vec::new(), Vec::new(), 0);
    for (done, (&i, leg)) in symbols.iter().zip(legs).enumerate() {
        score.clear();
        // The bars around the block, as placeholders: the listing's exit is placed on the whole clock.
        let mut signals = SignalColumn::holds(block.start);
        rule.extend(leg, &data.symbols()[i], block.end, &mut signals, score)?;
        signals.push_run(Signal::Hold, n - block.end);
        let signals = signals.restrict(data.listed(i));
        let signals = if block.len() == n { signals } else { signals.slice(block.clone()) };
        let entry = entry_scores(&signals, score);
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
fn entry_scores(signals: &SignalColumn, score: &[f64]) -> Vec<f64> {
    let mut entry = Vec::new();
    for r in 0..signals.runs() {
        if let (bars, Signal::Enter(_)) = signals.run(r) {
            entry.extend(bars.map(|t| score.get(t).copied().unwrap_or(f64::NAN)));
        }
    }
    entry
}

/// No leg: the end of a list of legs due at a bar.
const NO_LEG: u32 = u32::MAX;

/// Not waiting: the position in [`Strongest::waiting`] of a leg that is not there.
const NOT_WAITING: usize = usize::MAX;

/// The strongest-`N` selection, fed the legs' raw signals block after block: a leg holds from
/// an entry it was allowed until its next exit. At each bar the exits free their slots first;
/// then, when more legs want to enter than slots are free, the entries with the highest
/// scores are kept (ties: the lower leg index) and the rest become `Hold`. An entry with a NaN
/// score is dropped. A protective exit the simulator takes on its own is not seen here, so the
/// slot stays taken until the leg's exit signal: the simulator's own limit refuses any entry
/// beyond `N`.
///
/// The selection steps over runs, not bars: a leg is decided where its raw signal changes, and
/// a leg wanting in without holding (it waits) is looked at again only on bars with a free
/// slot. With every slot taken, a bar where no raw signal changes costs nothing, however many
/// legs wait: none of them can enter, and each keeps the `Hold` it had.
struct Strongest {
    /// `N`: the most legs holding at once.
    limit: usize,
    /// Per leg, whether it holds.
    holding: Vec<bool>,
    /// Legs holding.
    held: usize,
    /// Per leg, its kept signal from the last bar it changed on, which holds until the next.
    now: Vec<Signal>,
    /// The legs whose raw signal is an entry while they do not hold, in no particular order.
    waiting: Vec<usize>,
    /// Per leg, its position in `waiting`, or [`NOT_WAITING`].
    slot: Vec<usize>,
    /// The current bar's entries with a score: leg and score.
    wanting: Vec<(usize, f64)>,
    /// The kept signals so far, per leg, up to the last bar its kept signal changed on.
    kept: Vec<SignalColumn>,
    /// Bars fed so far.
    bars: usize,
}

/// The order of legs wanting in: the higher score first, on equal scores the earlier leg (a
/// NaN score, which never wants in, compares equal).
fn stronger_first(a: &(usize, f64), b: &(usize, f64)) -> Ordering {
    b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal).then(a.0.cmp(&b.0))
}

/// Where one leg's reader stands in its raw signals of a block.
#[derive(Clone)]
struct Cursor {
    /// The run read.
    run: usize,
    /// Its bars.
    bars: Range<usize>,
    /// Its raw signal.
    signal: Signal,
    /// Entry bars before it: the index of its first bar's entry score.
    entries_before: usize,
}

impl Cursor {
    /// At the first run of `column` (which has a bar).
    fn new(column: &SignalColumn) -> Self {
        let (bars, signal) = column.run(0);
        Cursor { run: 0, bars, signal, entries_before: 0 }
    }

    /// Moves to the next run of `column`.
    fn next_run(&mut self, column: &SignalColumn) {
        if matches!(self.signal, Signal::Enter(_)) {
            self.entries_before += self.bars.len();
        }
        self.run += 1;
        (self.bars, self.signal) = column.run(self.run);
    }

    /// The entry score of bar `t` (in the run read, an entry run) in `scores`, NaN past them.
    fn score(&self, scores: &[f64], t: usize) -> f64 {
        scores.get(self.entries_before + t - self.bars.start).copied().unwrap_or(f64::NAN)
    }
}

impl Strongest {
    /// A selection of at most `limit` of `legs` legs, before any bar.
    fn new(legs: usize, limit: usize) -> Self {
        Strongest {
            limit,
            holding: vec![false; legs],
            held: 0,
            now: vec![Signal::Hold; legs],
            waiting: Vec::new(),
            slot: vec![NOT_WAITING; legs],
            wanting: Vec::new(),
            kept: vec![SignalColumn::new(); legs],
            bars: 0,
        }
    }

    /// The next bars: every leg's raw signals over them (`columns`, one per leg, of equal
    /// length) and the scores of each leg's entry bars among them in order ([`entry_scores`]).
    fn feed(&mut self, columns: &[SignalColumn], scores: &[Vec<f64>]) {
        let bars = columns.first().map_or(0, SignalColumn::len);
        if bars == 0 {
            return;
        }
        let mut cursors: Vec<Cursor> = columns.iter().map(Cursor::new).collect();
        // The legs whose raw signal changes at each bar, as linked lists: `first[t]`, then
        // `after[leg]`. Every leg is due at the block's first bar (its column starts a run there).
        let (mut first, mut after) = (vec![NO_LEG; bars], vec![NO_LEG; columns.len()]);
        let mut due: Vec<usize> = (0..columns.len()).collect();
        for t in 0..bars {
            if t > 0 {
                due.clear();
                let mut k = first[t];
                while k != NO_LEG {
                    due.push(k as usize);
                    k = after[k as usize];
                }
            }
            for &k in &due {
                let cursor = &mut cursors[k];
                if t > 0 {
                    cursor.next_run(&columns[k]);
                }
                self.change(k, self.bars + t, cursor.signal);
                if cursor.bars.end < bars {
                    after[k] = first[cursor.bars.end];
                    first[cursor.bars.end] = u32::try_from(k).expect("fewer than u32::MAX legs");
                }
            }
            self.admit(self.bars + t, |k| {
                let cursor = &cursors[k];
                (cursor.signal, cursor.score(&scores[k], t))
            });
        }
        self.bars += bars;
    }

    /// Leg `k`'s raw signal changes to `raw` at bar `t`: an exit frees its slot, an entry
    /// while it holds is kept, an entry while it does not makes it wait (and hold until
    /// [`admit`](Self::admit) lets it in), any other signal is kept as it is.
    fn change(&mut self, k: usize, t: usize, raw: Signal) {
        let kept = match raw {
            Signal::Exit if self.holding[k] => {
                self.holding[k] = false;
                self.held -= 1;
                raw
            }
            Signal::Enter(_) if !self.holding[k] => {
                if self.slot[k] == NOT_WAITING {
                    self.slot[k] = self.waiting.len();
                    self.waiting.push(k);
                }
                Signal::Hold
            }
            _ => raw,
        };
        if !matches!(raw, Signal::Enter(_)) {
            self.stop_waiting(k);
        }
        self.keep(k, t, kept);
    }

    /// Bar `t`'s entries, after its changes: when slots are free, the waiting legs with a
    /// score there (`raw` gives each one's raw signal and entry score, NaN for none) enter, the
    /// strongest first as far as the free slots go; the others keep holding off.
    fn admit(&mut self, t: usize, raw: impl Fn(usize) -> (Signal, f64)) {
        let free = self.limit.saturating_sub(self.held);
        if free == 0 || self.waiting.is_empty() {
            return;
        }
        self.wanting.clear();
        self.wanting.extend(self.waiting.iter().map(|&k| (k, raw(k).1)).filter(|(_, score)| !score.is_nan()));
        if self.wanting.len() > free {
            // Only which legs are among the `free` strongest matters, not their order: a
            // partition (linear) instead of a sort. Scores here are not NaN and legs are
            // distinct, so the order is total and the set the same as a sort's first `free`.
            self.wanting.select_nth_unstable_by(free - 1, stronger_first);
            self.wanting.truncate(free);
        }
        let wanting = std::mem::take(&mut self.wanting);
        for &(k, _) in &wanting {
            self.holding[k] = true;
            self.stop_waiting(k);
            self.keep(k, t, raw(k).0);
        }
        self.held += wanting.len();
        self.wanting = wanting;
    }

    /// Takes leg `k` out of the waiting legs, if it is among them.
    fn stop_waiting(&mut self, k: usize) {
        let at = std::mem::replace(&mut self.slot[k], NOT_WAITING);
        if at != NOT_WAITING {
            self.waiting.swap_remove(at);
            if let Some(&moved) = self.waiting.get(at) {
                self.slot[moved] = at;
            }
        }
    }

    /// Leg `k` keeps `signal` from bar `t` on (its column is written only when that changes).
    fn keep(&mut self, k: usize, t: usize, signal: Signal) {
        if signal != self.now[k] {
            let kept = &mut self.kept[k];
            kept.push_run(self.now[k], t - kept.len());
            self.now[k] = signal;
        }
    }

    /// Every leg's kept signals.
    fn finish(mut self) -> Vec<SignalColumn> {
        for (kept, &signal) in self.kept.iter_mut().zip(&self.now) {
            kept.push_run(signal, self.bars - kept.len());
        }
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
        let entry: Vec<_> = columns.iter().zip(scores).map(|(s, x)| entry_scores(s, x)).collect();
        let mut selection = Strongest::new(columns.len(), n);
        selection.feed(&columns, &entry);
        selection.finish().iter().map(SignalColumn::to_vec).collect()
    }

    /// The selection walked bar by bar and leg by leg over plain vectors, from each leg's
    /// entry scores in order: what [`Strongest`], stepping over runs, must give.
    fn bar_by_bar(signals: &[Vec<Signal>], entry: &[Vec<f64>], limit: usize) -> Vec<Vec<Signal>> {
        let bars = signals.first().map_or(0, Vec::len);
        let mut out = signals.to_vec();
        let mut holding = vec![false; signals.len()];
        let mut entries = vec![0; signals.len()];
        for t in 0..bars {
            let mut candidates = Vec::new();
            for (k, leg) in signals.iter().enumerate() {
                match leg[t] {
                    Signal::Exit => holding[k] = false,
                    Signal::Enter(_) => {
                        let score = entry[k].get(entries[k]).copied().unwrap_or(f64::NAN);
                        entries[k] += 1;
                        if !holding[k] {
                            out[k][t] = Signal::Hold;
                            if !score.is_nan() {
                                candidates.push((k, score));
                            }
                        }
                    }
                    _ => {}
                }
            }
            let free = limit.saturating_sub(holding.iter().filter(|&&h| h).count());
            candidates.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(a.0.cmp(&b.0)));
            for &(k, _) in candidates.iter().take(free) {
                out[k][t] = signals[k][t];
                holding[k] = true;
            }
        }
        out
    }

    /// A raw signal for the randomized comparison: few kinds, so runs and ties are common.
    fn raw_signal() -> impl proptest::strategy::Strategy<Value = Signal> {
        use proptest::prelude::*;
        prop_oneof![
            3 => Just(H),
            2 => Just(X),
            1 => Just(Signal::EnterShort),
            3 => Just(E),
            1 => Just(Signal::Enter(Strength::new(0.5).unwrap())),
        ]
    }

    /// One leg: runs of raw signals (spread over the bars, padded with holds), the listing
    /// its column is restricted to (none: every bar), and entry scores from a few values with
    /// NaN among them, sometimes fewer than the entries.
    type RandomLeg = (Vec<(Signal, usize)>, Option<(usize, usize)>, Vec<u8>);

    proptest::proptest! {
        /// Stepping over runs keeps exactly the legs a plain bar-by-bar walk keeps, whole or
        /// fed in blocks of bars, on random columns with ties, NaN scores, restricted
        /// listings and position limits.
        #[test]
        fn stepping_over_runs_keeps_what_a_bar_by_bar_walk_keeps(
            bars in 1usize..48,
            legs in proptest::collection::vec(
                (
                    proptest::collection::vec((raw_signal(), 1usize..9), 1..16),
                    proptest::option::of((0usize..48, 0usize..48)),
                    proptest::collection::vec(0u8..4, 0..40),
                ),
                1..7,
            ),
            limit in 1usize..5,
            cuts in proptest::collection::vec(1usize..48, 0..4),
        ) {
            let legs: Vec<RandomLeg> = legs;
            let mut columns = Vec::new();
            let mut entry = Vec::new();
            for (runs, listed, codes) in legs {
                let mut dense: Vec<Signal> = runs.iter().flat_map(|&(s, n)| std::iter::repeat_n(s, n)).collect();
                dense.resize(bars, H);
                let mut column = SignalColumn::from(dense);
                if let Some((a, b)) = listed {
                    column = column.restrict(a.min(b)..a.max(b));
                }
                columns.push(column);
                entry.push(codes.iter().map(|&c| if c == 3 { f64::NAN } else { f64::from(c) }).collect::<Vec<_>>());
            }
            let dense: Vec<Vec<Signal>> = columns.iter().map(SignalColumn::to_vec).collect();
            let expected = bar_by_bar(&dense, &entry, limit);
            // Blocks: the cuts inside the bars, in order; each block gets each leg's entry
            // scores from its entries before the block on.
            let mut bounds: Vec<usize> = cuts.into_iter().filter(|&c| c < bars).collect();
            bounds.extend([0, bars]);
            bounds.sort_unstable();
            bounds.dedup();
            let mut selection = Strongest::new(columns.len(), limit);
            for block in bounds.windows(2) {
                let sliced: Vec<SignalColumn> = columns.iter().map(|c| c.slice(block[0]..block[1])).collect();
                let scores: Vec<Vec<f64>> = dense
                    .iter()
                    .zip(&entry)
                    .map(|(d, e)| {
                        let before = d[..block[0]].iter().filter(|s| matches!(s, Signal::Enter(_))).count();
                        e.get(before..).unwrap_or(&[]).to_vec()
                    })
                    .collect();
                selection.feed(&sliced, &scores);
            }
            let kept: Vec<Vec<Signal>> = selection.finish().iter().map(SignalColumn::to_vec).collect();
            proptest::prop_assert_eq!(kept, expected);
        }
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

    /// Many legs wanting in at once for few slots (the partition, not a sort, picks them): the
    /// strongest enter, a tie at the cut goes to the lower leg, whatever the legs' order.
    #[test]
    fn the_strongest_of_many_wanting_legs_enter_with_ties_cut_by_leg() {
        let scores = [4.0, 7.0, 1.0, 7.0, 5.0, 2.0, 5.0, 9.0, 3.0];
        let signals: Vec<&[Signal]> = vec![&[E]; scores.len()];
        let l = keep(&signals, &scores.map(|x| vec![x]), 4);
        let entered: Vec<usize> = (0..scores.len()).filter(|&k| l[k][0] == E).collect();
        assert_eq!(entered, [1, 3, 4, 7]);
    }

    /// A generated universe of `symbols` stocks (and the default ETFs) over two years, daily.
    fn two_years(symbols: usize, seed: u64) -> MarketData {
        use datasets::synth::{SynthConfig, Universe};

        let u = Universe::new(&SynthConfig { symbols, years: 2, seed, ..SynthConfig::default() }).unwrap();
        let symbols =
            (0..u.symbols().len()).map(|i| SymbolData { meta: u.symbols()[i].clone(), bars: u.daily(i) });
        MarketData::new(datasets::Timeframe::Day1, symbols.collect()).unwrap()
    }

    /// Past the scratch budget the selection works in blocks of bars and gives the same legs,
    /// bit for bit, holding no more than the budget: vol_managed_momentum's strength changes
    /// every bar, so unblocked it holds a signal and a score per symbol-bar.
    #[test]
    fn blocks_of_bars_select_the_same_legs_within_the_budget() {
        let data = two_years(100, 9);
        let budget = 64 << 10;
        let [momentum, mean_reversion, breakout] = each_rule(&data, budget);
        assert!(momentum.0 > 8 * budget, "{} bytes unblocked", momentum.0);
        for (_, peak) in [momentum, mean_reversion, breakout] {
            assert!(peak <= budget, "{peak} bytes held");
        }
    }

    /// A budget so tiny that the blocks are a few bars long (down to one bar, which may pass
    /// it): every indicator window spans many blocks, each rule resumes from its legs' states
    /// at every block, and the legs are still, bit for bit, those of one pass.
    #[test]
    fn a_tiny_budget_of_many_short_blocks_selects_what_one_pass_selects() {
        let tiny = 1 << 10;
        for (unbounded, _) in each_rule(&two_years(30, 11), tiny) {
            assert!(unbounded >= 32 * tiny, "{unbounded} bytes unblocked");
        }
    }

    /// [`same_legs_within`] for each of the three limited families, in the order
    /// vol_managed_momentum, mean_reversion, relative_volume_breakout.
    fn each_rule(data: &MarketData, budget: usize) -> [(usize, usize); 3] {
        use super::super::{breakout, mean_reversion, momentum};
        use crate::strategy::{MeanReversion, RelativeVolumeBreakout, VolManagedMomentum};

        [
            same_legs_within(&VolManagedMomentum, data, budget, |p| momentum::rule(p, data)),
            same_legs_within(&MeanReversion, data, budget, |p| mean_reversion::rule(p, data)),
            same_legs_within(&RelativeVolumeBreakout, data, budget, |p| breakout::rule(p, data)),
        ]
    }

    /// Checks that `strategy`'s default legs on `data` are the same selected whole and in
    /// blocks of about `budget` bytes; the bytes held whole, and the most one block held.
    fn same_legs_within<R>(
        strategy: &dyn crate::strategy::Strategy,
        data: &MarketData,
        budget: usize,
        rule: impl Fn(&Params) -> R,
    ) -> (usize, usize)
    where
        R: LegRule,
    {
        let (name, params) = (strategy.name(), Params::defaults(strategy.space()));
        let (whole, unbounded) = strongest_in_blocks(name, &params, data, rule(&params), usize::MAX).unwrap();
        let (blocked, peak) = strongest_in_blocks(name, &params, data, rule(&params), budget).unwrap();
        assert_eq!(blocked, whole, "{name}");
        assert_eq!(whole, strategy.signals(&params, data).unwrap(), "{name}");
        (unbounded, peak)
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
