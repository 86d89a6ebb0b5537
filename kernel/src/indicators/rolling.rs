//! The shared O(n) sliding-window driver and the running sums it maintains.
//!
//! [`roll`] slides a window of `n` over a series, tracks how many missing values the window
//! holds, and every time the window has fully turned over (at indices `i` with `(i + 1) % n
//! == 0`) rebuilds the state exactly from the window's values around a fresh anchor taken
//! from the window. Between rebuilds at most `n` adds and `n` removes touch the sums, so the
//! rounding error never exceeds that of a from-scratch sum, on any series length; the
//! rebuild costs one extra pass, O(1) amortised per index.
//!
//! Sums of squared deviations also lose digits when the window's spread collapses far below
//! the size of the deviations that passed through the sums (a price gap followed by a quiet
//! stretch: removing the pre-gap values cancels almost everything). States that care report
//! this through [`WindowState::needs_rebuild`] and the window is then rebuilt at once around its
//! newest value; this follows a collapse of the spread by orders of magnitude, so it is rare
//! and leaves the cost O(1) amortised on market data.

/// `Some(x)` for a finite value, `None` for a missing one (NaN or ±inf).
#[inline]
pub(crate) fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// State of a sliding window that supports O(1) add/remove and an exact rebuild.
pub(crate) trait WindowState {
    /// One element of the series (a value, or a pair for two-series statistics).
    type Item: Copy;

    /// Adds `incoming` as the newest element and removes `outgoing` (the element leaving).
    /// `None` stands for a missing element, or no element at all, and contributes nothing.
    fn slide(&mut self, incoming: Option<Self::Item>, outgoing: Option<Self::Item>);

    /// Clears the sums; with `Some(anchor)`, deviations are measured from `anchor` from now on.
    fn rebase(&mut self, anchor: Option<Self::Item>);

    /// For a complete window of `n` elements: true when the anchor is so far from the window's
    /// mean, relative to its spread, that the sums have lost digits and should be rebuilt. A
    /// state may keep what it computes here for the window's statistics.
    fn needs_rebuild(&mut self, _n: f64) -> bool {
        false
    }
}

/// True when the centred sum of squares `centred = Σ(d − d̄)²` of a window of `n` has fallen
/// so far below `magnitude` (the sum of every `d²` added or removed since the last rebuild,
/// which bounds the rounding error of the running sums) that it may have lost more than
/// about five of its sixteen digits, or `4n` ulps if the window is so long that a
/// from-scratch sum would lose that much anyway.
#[inline]
pub(crate) fn collapsed(centred: f64, magnitude: f64, n: f64) -> bool {
    magnitude > (4.0 * n).max(65_536.0) * centred
}

/// Slides a window of `n >= 1` over indices `0..len` of the series `at` (missing = `None`).
///
/// Calls `emit(i, Some(state))` when the window `[i + 1 − n, i]` is complete and free of
/// missing values, and `emit(i, None)` otherwise (warm-up or a missing value inside).
pub(crate) fn roll<W: WindowState>(
    state: W,
    len: usize,
    n: usize,
    at: impl Fn(usize) -> Option<W::Item>,
    emit: impl FnMut(usize, Option<&W>),
) {
    Roll::new(state, n).run(len, at, emit);
}

/// A window of `n` sliding over a series a stretch at a time: [`roll`] with its state kept
/// between stretches. Sliding over `0..a`, then `a..b`, makes exactly the float operations one
/// slide over `0..b` makes (the rebuilds fall on the same indices), so the results are the
/// same to the bit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Roll<W> {
    /// The window's sums.
    state: W,
    /// The window's length.
    n: usize,
    /// Missing elements in the window.
    missing: usize,
    /// Indices to go until the next rebuild (at `i` with `(i + 1) % n == 0`).
    until_rebuild: usize,
    /// Indices slid over so far: the next stretch starts here.
    next: usize,
}

impl<W: WindowState> Roll<W> {
    /// A window of `n >= 1` before the series' first element, its sums in `state`.
    pub(crate) fn new(state: W, n: usize) -> Self {
        debug_assert!(n >= 1);
        Roll { state, n, missing: 0, until_rebuild: n, next: 0 }
    }

    /// Indices slid over so far.
    pub(crate) fn len(&self) -> usize {
        self.next
    }

    /// The window's length `n`.
    pub(crate) fn window(&self) -> usize {
        self.n
    }

    /// Slides on over indices `self.len()..end` of the series `at`, which reads no index at or
    /// past `end` and gives the elements it gave before for the indices already slid over;
    /// calls `emit` as [`roll`] does.
    pub(crate) fn run(
        &mut self,
        end: usize,
        at: impl Fn(usize) -> Option<W::Item>,
        mut emit: impl FnMut(usize, Option<&W>),
    ) {
        let Roll { ref mut state, n, mut missing, mut until_rebuild, next } = *self;
        for i in next..end {
            let incoming = at(i);
            missing += usize::from(incoming.is_none());
            let outgoing = if i >= n { at(i - n) } else { None };
            if i >= n && outgoing.is_none() {
                missing -= 1;
            }
            let complete = i + 1 >= n && missing == 0;
            until_rebuild -= 1;
            if until_rebuild == 0 {
                until_rebuild = n;
                let anchor = (i + 1 - n..=i).rev().find_map(&at);
                rebuild(state, i, n, &at, anchor);
            } else {
                state.slide(incoming, outgoing);
                if complete && state.needs_rebuild(n as f64) {
                    rebuild(state, i, n, &at, incoming);
                }
            }
            emit(i, complete.then_some(&*state));
        }
        (self.missing, self.until_rebuild, self.next) = (missing, until_rebuild, next.max(end));
    }
}

/// Recomputes `state` from scratch over the window ending at `i`, around `anchor`.
fn rebuild<W: WindowState>(
    state: &mut W,
    i: usize,
    n: usize,
    at: impl Fn(usize) -> Option<W::Item>,
    anchor: Option<W::Item>,
) {
    state.rebase(anchor);
    for j in i + 1 - n..=i {
        state.slide(at(j), None);
    }
}

/// Running sum of deviations from an anchor: the state behind rolling means.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sum {
    anchor: f64,
    sum: f64,
}

impl Sum {
    /// Mean of a full window of `n` elements.
    #[inline]
    pub(crate) fn mean(&self, n: f64) -> f64 {
        self.anchor + self.sum / n
    }
}

impl WindowState for Sum {
    type Item = f64;

    #[inline]
    fn slide(&mut self, incoming: Option<f64>, outgoing: Option<f64>) {
        if let Some(x) = incoming {
            self.sum += x - self.anchor;
        }
        if let Some(x) = outgoing {
            self.sum -= x - self.anchor;
        }
    }

    fn rebase(&mut self, anchor: Option<f64>) {
        self.sum = 0.0;
        if let Some(a) = anchor {
            self.anchor = a;
        }
    }
}

/// Running sums of deviations and squared deviations from an anchor: mean and variance.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Moments {
    anchor: f64,
    s1: f64,
    s2: f64,
    magnitude: f64,
    /// [`Moments::centred`] of the current sums once [`WindowState::needs_rebuild`] has
    /// computed it (each division saved counts: these indicators are bound by the divider).
    centred: Option<f64>,
}

impl Moments {
    /// Mean of a full window of `n` elements.
    #[inline]
    pub(crate) fn mean(&self, n: f64) -> f64 {
        self.anchor + self.s1 / n
    }

    /// What the deviation from the mean and [`Moments::std`] of a full window of `n` elements are
    /// computed from: `(anchor, Σd, Σ(x − mean)²)`, to finish them later with [`deviation`]
    /// and [`std_of_centred`].
    #[inline]
    pub(crate) fn parts(&self, n: f64) -> (f64, f64, f64) {
        (self.anchor, self.s1, self.centred(n))
    }

    /// Σ(x − mean)² of a full window of `n` elements, never negative.
    #[inline]
    pub(crate) fn centred(&self, n: f64) -> f64 {
        self.centred.unwrap_or_else(|| (self.s2 - self.s1 * self.s1 / n).max(0.0))
    }

    /// Population standard deviation of a full window of `n` elements.
    #[inline]
    pub(crate) fn std(&self, n: f64) -> f64 {
        std_of_centred(self.centred(n), n)
    }
}

/// `x` minus the mean of a window of `n` whose deviations from `anchor` sum to `s1`.
#[inline]
pub(crate) fn deviation(x: f64, anchor: f64, s1: f64, n: f64) -> f64 {
    (x - anchor) - s1 / n
}

/// Population standard deviation of a window of `n` with `Σ(x − mean)² = centred`.
#[inline]
pub(crate) fn std_of_centred(centred: f64, n: f64) -> f64 {
    (centred / n).sqrt()
}

impl WindowState for Moments {
    type Item = f64;

    #[inline]
    fn slide(&mut self, incoming: Option<f64>, outgoing: Option<f64>) {
        if let Some(x) = incoming {
            let d = x - self.anchor;
            self.s1 += d;
            self.s2 += d * d;
            self.magnitude += d * d;
        }
        if let Some(x) = outgoing {
            let d = x - self.anchor;
            self.s1 -= d;
            self.s2 -= d * d;
            self.magnitude += d * d;
        }
        self.centred = None;
    }

    fn rebase(&mut self, anchor: Option<f64>) {
        *self = Moments { anchor: anchor.unwrap_or(self.anchor), ..Moments::default() };
    }

    fn needs_rebuild(&mut self, n: f64) -> bool {
        let centred = self.centred(n);
        self.centred = Some(centred);
        collapsed(centred, self.magnitude, n)
    }
}
