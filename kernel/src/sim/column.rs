//! A leg's signals stored by runs: one entry per change of signal instead of one per bar.
//!
//! A strategy that trades a universe gives one signal per bar for each of its legs; kept as a
//! `Vec<Signal>` per leg that is a legs × bars matrix of 16-byte signals, 403 MB for 5,000
//! symbols × 20 years, held once per concurrent backtest. Signals change rarely (a crossover, a
//! monthly rebalance, a z-score leaving its band), so a [`SignalColumn`] keeps each run of
//! equal signals as its first bar and one 8-byte code: the same signals, bit for bit, in memory
//! proportional to how often they change. The simulator reads it through [`SignalsRef`], which
//! also takes a plain slice.

use std::ops::Range;

use super::signal::{Signal, Strength};

/// Code of [`Signal::Hold`]. An entry's code is its strength's bits, a positive float's
/// (never 0, never with the sign bit set), so the codes of the four kinds cannot collide.
const HOLD: u64 = 0;
/// Code of [`Signal::Exit`].
const EXIT: u64 = u64::MAX;
/// Code of [`Signal::EnterShort`].
const SHORT: u64 = u64::MAX - 1;

#[inline]
fn encode(signal: Signal) -> u64 {
    match signal {
        Signal::Hold => HOLD,
        Signal::Enter(s) => s.get().to_bits(),
        Signal::Exit => EXIT,
        Signal::EnterShort => SHORT,
    }
}

#[inline]
fn decode(code: u64) -> Signal {
    match code {
        HOLD => Signal::Hold,
        EXIT => Signal::Exit,
        SHORT => Signal::EnterShort,
        bits => Signal::Enter(Strength::from_stored(f64::from_bits(bits))),
    }
}

/// A bar index as stored: a column holds at most `u32::MAX` bars (80 years of minute bars
/// around the clock are 42 M).
#[inline]
fn bar(t: usize) -> u32 {
    u32::try_from(t).expect("a signal column holds at most u32::MAX bars")
}

/// One signal per bar, stored as runs of equal signals (see the module docs). Two columns are
/// equal exactly when their signals are, bar for bar.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignalColumn {
    /// Number of bars.
    len: usize,
    /// First bar of each run: 0 first (when `len > 0`), strictly increasing, below `len`.
    starts: Vec<u32>,
    /// Each run's signal code; neighbouring runs differ.
    codes: Vec<u64>,
}

impl SignalColumn {
    /// An empty column (no bar).
    pub fn new() -> Self {
        Self::default()
    }

    /// `len` bars of [`Signal::Hold`].
    pub fn holds(len: usize) -> Self {
        let mut column = Self::new();
        if len > 0 {
            column.starts.push(0);
            column.codes.push(HOLD);
            column.len = len;
        }
        column
    }

    /// An empty column with room for `runs` runs.
    fn with_runs(runs: usize) -> Self {
        SignalColumn { len: 0, starts: Vec::with_capacity(runs), codes: Vec::with_capacity(runs) }
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the column has no bar.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of runs of equal signals: what the column's memory is proportional to.
    pub fn runs(&self) -> usize {
        self.codes.len()
    }

    /// Heap bytes the column holds (its runs' capacity): what a caller bounding its scratch
    /// memory counts.
    pub fn heap_bytes(&self) -> usize {
        self.starts.capacity() * std::mem::size_of::<u32>()
            + self.codes.capacity() * std::mem::size_of::<u64>()
    }

    /// Appends the signal of the next bar.
    #[inline]
    pub fn push(&mut self, signal: Signal) {
        let code = encode(signal);
        if self.codes.last() != Some(&code) {
            self.starts.push(bar(self.len));
            self.codes.push(code);
        }
        self.len += 1;
    }

    /// Appends `count` bars of `signal`.
    #[inline]
    pub fn push_run(&mut self, signal: Signal, count: usize) {
        if count == 0 {
            return;
        }
        self.push(signal);
        self.len += count - 1;
    }

    /// The signals a symbol listed on bars `listed` may act on: [`Signal::Hold`] before its
    /// listing (its bars there are placeholders), and, when it delists before the column ends,
    /// [`Signal::Exit`] from its last listed bar on, so a position is sold at the first fill
    /// after its last bar (the next open, at its last close: nothing is held on placeholder
    /// bars) and no entry fills after it. Unchanged when `listed` covers every bar.
    ///
    /// The result is allocated once, with room for at most two runs more than it holds (the
    /// two it may merge at the listing's ends), so a column held for a whole backtest, one per
    /// leg of a universe, carries no room left from growing.
    pub fn restrict(self, listed: Range<usize>) -> SignalColumn {
        let (start, end) = (listed.start.min(self.len), listed.end.min(self.len));
        if start == 0 && end == self.len {
            return self;
        }
        // Delisted: exits from the last listed bar (every bar when it was never listed here).
        let exit_from = if end == self.len { end } else { end.saturating_sub(1).max(start) };
        let first = self.run_of_or_end(start);
        let inside = self.starts[first..].partition_point(|&s| (s as usize) < exit_from);
        let mut out = SignalColumn::with_runs(inside + 2);
        out.push_run(Signal::Hold, start);
        for r in first..self.codes.len() {
            let (a, b) = ((self.starts[r] as usize).max(start), self.run_end(r).min(exit_from));
            if a >= b {
                break;
            }
            out.push_run(decode(self.codes[r]), b - a);
        }
        out.push_run(Signal::Exit, self.len - exit_from.max(start));
        out
    }

    /// Run `r` (below [`SignalColumn::runs`]): its bars and their signal. A reader stepping
    /// from run to run handles a change of signal once instead of once per bar.
    ///
    /// # Panics
    /// When `r` is not below [`SignalColumn::runs`].
    #[inline]
    pub fn run(&self, r: usize) -> (Range<usize>, Signal) {
        (self.starts[r] as usize..self.run_end(r), decode(self.codes[r]))
    }

    /// The run holding bar `t`, or the number of runs when `t` is past the end.
    fn run_of_or_end(&self, t: usize) -> usize {
        if t < self.len { self.run_of(t) } else { self.codes.len() }
    }

    /// The run holding bar `t < len`.
    fn run_of(&self, t: usize) -> usize {
        self.starts.partition_point(|&s| s as usize <= t) - 1
    }

    /// End (exclusive) of run `r`.
    #[inline]
    fn run_end(&self, r: usize) -> usize {
        self.starts.get(r + 1).map_or(self.len, |&s| s as usize)
    }

    fn check(&self, t: usize) {
        assert!(t < self.len, "signal index {t} out of range for a column of {} bars", self.len);
    }

    /// The signal of bar `t`.
    ///
    /// # Panics
    /// When `t` is not below [`SignalColumn::len`], like a slice index.
    pub fn get(&self, t: usize) -> Signal {
        self.check(t);
        decode(self.codes[self.run_of(t)])
    }

    /// Replaces the signal of bar `t`; cheapest near the end of the column, where a strategy
    /// writing bar after bar sets them.
    ///
    /// # Panics
    /// When `t` is not below [`SignalColumn::len`].
    pub fn set(&mut self, t: usize, signal: Signal) {
        self.check(t);
        let code = encode(signal);
        let r = self.run_of(t);
        if self.codes[r] == code {
            return;
        }
        // Rebuild the runs r − 1 ..= r + 1 with bar t changed, merging equal neighbours.
        let (lo, hi) = (r.saturating_sub(1), (r + 2).min(self.codes.len()));
        let mut pieces = [(0u32, 0u64); 5];
        let mut n = 0;
        let mut put = |start: usize, code: u64| {
            if n == 0 || pieces[n - 1].1 != code {
                pieces[n] = (bar(start), code);
                n += 1;
            }
        };
        for i in lo..hi {
            let (start, end) = (self.starts[i] as usize, self.run_end(i));
            if i != r {
                put(start, self.codes[i]);
                continue;
            }
            if t > start {
                put(start, self.codes[i]);
            }
            put(t, code);
            if t + 1 < end {
                put(t + 1, self.codes[i]);
            }
        }
        self.starts.splice(lo..hi, pieces[..n].iter().map(|p| p.0));
        self.codes.splice(lo..hi, pieces[..n].iter().map(|p| p.1));
    }

    /// The signals bar by bar.
    pub fn iter(&self) -> Iter<'_> {
        Iter { column: self, run: 0, t: 0 }
    }

    /// The signals of the bars in `range`, as a column of their own.
    ///
    /// # Panics
    /// When `range` reaches past the last bar or ends before it starts.
    pub fn slice(&self, range: Range<usize>) -> SignalColumn {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "signal range {range:?} out of range for a column of {} bars",
            self.len
        );
        let mut out = SignalColumn { len: range.len(), ..Self::default() };
        if range.is_empty() {
            return out;
        }
        for r in self.run_of(range.start)..self.codes.len() {
            let start = self.starts[r] as usize;
            if start >= range.end {
                break;
            }
            out.starts.push(bar(start.max(range.start) - range.start));
            out.codes.push(self.codes[r]);
        }
        out
    }

    /// Every signal, one per bar.
    pub fn to_vec(&self) -> Vec<Signal> {
        self.iter().collect()
    }

    /// The first bar in `from..end` whose signal satisfies `acts`.
    fn position_from(&self, from: usize, end: usize, acts: impl Fn(Signal) -> bool) -> Option<usize> {
        let end = end.min(self.len);
        if from >= end {
            return None;
        }
        (self.run_of(from)..self.codes.len())
            .take_while(|&r| (self.starts[r] as usize) < end)
            .find(|&r| acts(decode(self.codes[r])))
            .map(|r| (self.starts[r] as usize).max(from))
    }

    /// How many bars from `from` on have a signal satisfying `keep`.
    fn count_from(&self, from: usize, keep: impl Fn(Signal) -> bool) -> usize {
        if from >= self.len {
            return 0;
        }
        (self.run_of(from)..self.codes.len())
            .filter(|&r| keep(decode(self.codes[r])))
            .map(|r| self.run_end(r) - (self.starts[r] as usize).max(from))
            .sum()
    }
}

impl Extend<Signal> for SignalColumn {
    /// Appends the signals of the next bars, as [`SignalColumn::push`] one by one (the last
    /// run's code and the length kept in registers: a rule appends every bar of a leg).
    fn extend<I: IntoIterator<Item = Signal>>(&mut self, iter: I) {
        let (mut last, mut len) = (self.codes.last().copied(), self.len);
        for signal in iter {
            let code = encode(signal);
            if last != Some(code) {
                self.starts.push(bar(len));
                self.codes.push(code);
                last = Some(code);
            }
            len += 1;
        }
        self.len = len;
    }
}

impl FromIterator<Signal> for SignalColumn {
    fn from_iter<I: IntoIterator<Item = Signal>>(iter: I) -> Self {
        let mut column = SignalColumn::new();
        column.extend(iter);
        column
    }
}

impl From<&[Signal]> for SignalColumn {
    /// The column of `signals`, tight: the room left from growing the runs is given back (a
    /// column built from a whole leg's signals is held for a whole backtest).
    fn from(signals: &[Signal]) -> Self {
        let mut column: SignalColumn = signals.iter().copied().collect();
        column.starts.shrink_to_fit();
        column.codes.shrink_to_fit();
        column
    }
}

impl From<Vec<Signal>> for SignalColumn {
    fn from(signals: Vec<Signal>) -> Self {
        signals.as_slice().into()
    }
}

impl<'a> IntoIterator for &'a SignalColumn {
    type Item = Signal;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The signals of a [`SignalColumn`], bar by bar.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    column: &'a SignalColumn,
    run: usize,
    t: usize,
}

impl Iterator for Iter<'_> {
    type Item = Signal;

    fn next(&mut self) -> Option<Signal> {
        let c = self.column;
        if self.t >= c.len {
            return None;
        }
        if c.starts.get(self.run + 1).is_some_and(|&s| s as usize == self.t) {
            self.run += 1;
        }
        self.t += 1;
        Some(decode(c.codes[self.run]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.column.len - self.t;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// A leg's signals as the simulator reads them: a plain slice, one per bar, or a
/// [`SignalColumn`]. Both give the same fills for the same signals.
#[derive(Clone, Copy, Debug)]
pub enum SignalsRef<'a> {
    /// One stored signal per bar.
    Dense(&'a [Signal]),
    /// Runs of equal signals.
    Runs(&'a SignalColumn),
}

impl SignalsRef<'_> {
    /// Number of bars.
    pub fn len(self) -> usize {
        match self {
            SignalsRef::Dense(s) => s.len(),
            SignalsRef::Runs(c) => c.len(),
        }
    }

    /// True when there is no bar.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The signal of bar `t` (panics past the end, like a slice index).
    pub fn get(self, t: usize) -> Signal {
        match self {
            SignalsRef::Dense(s) => s[t],
            SignalsRef::Runs(c) => c.get(t),
        }
    }

    /// The first bar in `from..end` whose signal satisfies `acts`.
    pub(crate) fn position_from(
        self,
        from: usize,
        end: usize,
        acts: impl Fn(Signal) -> bool,
    ) -> Option<usize> {
        match self {
            SignalsRef::Dense(s) => {
                s.get(from..end).and_then(|s| s.iter().position(|&x| acts(x))).map(|i| from + i)
            }
            SignalsRef::Runs(c) => c.position_from(from, end, acts),
        }
    }

    /// How many bars from `from` on have a signal satisfying `keep`.
    pub(crate) fn count_from(self, from: usize, keep: impl Fn(Signal) -> bool) -> usize {
        match self {
            SignalsRef::Dense(s) => s.get(from..).map_or(0, |s| s.iter().filter(|&&x| keep(x)).count()),
            SignalsRef::Runs(c) => c.count_from(from, keep),
        }
    }
}

impl<'a> From<&'a [Signal]> for SignalsRef<'a> {
    fn from(signals: &'a [Signal]) -> Self {
        SignalsRef::Dense(signals)
    }
}

impl<'a> From<&'a Vec<Signal>> for SignalsRef<'a> {
    fn from(signals: &'a Vec<Signal>) -> Self {
        SignalsRef::Dense(signals)
    }
}

impl<'a, const N: usize> From<&'a [Signal; N]> for SignalsRef<'a> {
    fn from(signals: &'a [Signal; N]) -> Self {
        SignalsRef::Dense(signals)
    }
}

impl<'a> From<&'a SignalColumn> for SignalsRef<'a> {
    fn from(signals: &'a SignalColumn) -> Self {
        SignalsRef::Runs(signals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signal() -> impl Strategy<Value = Signal> {
        prop_oneof![
            4 => Just(Signal::Hold),
            2 => Just(Signal::Exit),
            1 => Just(Signal::EnterShort),
            2 => Just(Signal::Enter(Strength::FULL)),
            1 => (1u32..=4).prop_map(|k| Signal::Enter(Strength::new(f64::from(k) / 4.0).unwrap())),
        ]
    }

    #[test]
    fn runs_of_equal_signals_share_one_entry() {
        let e = Signal::Enter(Strength::FULL);
        let dense = [Signal::Hold, Signal::Hold, e, e, e, Signal::Exit, Signal::Hold];
        let column = SignalColumn::from(&dense[..]);
        assert_eq!(column.runs(), 4);
        assert_eq!(column.to_vec(), dense);
        assert_eq!(SignalColumn::holds(5).runs(), 1);
        assert_eq!(SignalColumn::holds(0), SignalColumn::new());
    }

    proptest! {
        #[test]
        fn a_column_reads_and_writes_like_a_vector(
            dense in prop::collection::vec(signal(), 0..40),
            writes in prop::collection::vec((0usize..40, signal()), 0..20),
            range in (0usize..40, 0usize..40),
            from in 0usize..45,
        ) {
            let mut dense = dense;
            let mut column = SignalColumn::from(&dense[..]);
            let n = dense.len();
            for (t, s) in writes.into_iter().filter(|&(t, _)| t < n) {
                dense[t] = s;
                column.set(t, s);
            }
            // Canonical: equal to the column built from scratch, so equality is by value.
            prop_assert_eq!(&column, &SignalColumn::from(&dense[..]));
            prop_assert_eq!(column.to_vec(), dense.clone());
            let spread: Vec<Signal> = (0..column.runs())
                .flat_map(|r| {
                    let (bars, s) = column.run(r);
                    bars.map(move |_| s)
                })
                .collect();
            prop_assert_eq!(spread, dense.clone());
            for (t, &s) in dense.iter().enumerate() {
                prop_assert_eq!(column.get(t), s);
            }
            let (a, b) = (range.0.min(range.1).min(dense.len()), range.0.max(range.1).min(dense.len()));
            prop_assert_eq!(column.slice(a..b).to_vec(), dense[a..b].to_vec());
            let (runs, slice) = (SignalsRef::from(&column), SignalsRef::from(&dense));
            let acts = |s: Signal| matches!(s, Signal::Exit | Signal::EnterShort);
            for end in [b, dense.len()] {
                prop_assert_eq!(runs.position_from(from, end, acts), slice.position_from(from, end, acts));
            }
            prop_assert_eq!(runs.count_from(from, acts), slice.count_from(from, acts));
        }

        /// A column built from a vector is allocated tight, and a restricted one equals the
        /// column of the restricted vector (held before the listing, exits from its last bar
        /// when it delists early) with room for at most two more runs.
        #[test]
        fn columns_are_built_tight_and_restricted_like_a_vector(
            dense in prop::collection::vec(signal(), 0..40),
            listed in (0usize..45, 0usize..45),
        ) {
            let run_bytes = std::mem::size_of::<u32>() + std::mem::size_of::<u64>();
            let column = SignalColumn::from(&dense[..]);
            prop_assert_eq!(column.heap_bytes(), column.runs() * run_bytes);
            let (start, end) = (listed.0.min(listed.1), listed.0.max(listed.1));
            let n = dense.len();
            let exit_from = if end >= n { n } else { end.saturating_sub(1).max(start) };
            let expected: Vec<Signal> = (0..n)
                .map(|t| match t {
                    t if t < start => Signal::Hold,
                    t if t >= exit_from => Signal::Exit,
                    t => dense[t],
                })
                .collect();
            let restricted = column.restrict(start..end);
            prop_assert_eq!(&restricted, &SignalColumn::from(&expected[..]));
            prop_assert!(restricted.heap_bytes() <= (restricted.runs() + 2) * run_bytes);
        }
    }
}
