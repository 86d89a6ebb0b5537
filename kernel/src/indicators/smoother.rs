//! Exponential smoothing with an SMA seed and reset-on-missing, shared by EMA, RSI and ATR.

/// An exponential smoother `v ← v + α (x − v)` seeded with the mean of its first `n` inputs.
///
/// A missing input resets it, so it warms up again as if the series started after the gap.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Smoother {
    n: usize,
    alpha: f64,
    seen: usize,
    seed_sum: f64,
    value: f64,
}

impl Smoother {
    /// Conventional EMA smoothing, `α = 2 / (n + 1)`.
    pub(crate) fn ema(n: usize) -> Self {
        Self::with_alpha(n, 2.0 / (n as f64 + 1.0))
    }

    /// Wilder's smoothing (RSI, ATR), `α = 1 / n`.
    pub(crate) fn wilder(n: usize) -> Self {
        Self::with_alpha(n, 1.0 / n as f64)
    }

    fn with_alpha(n: usize, alpha: f64) -> Self {
        debug_assert!(n >= 1);
        Smoother { n, alpha, seen: 0, seed_sum: 0.0, value: f64::NAN }
    }

    /// Feeds one input (`None` = missing) and returns the smoothed value, NaN while warming up.
    #[inline]
    pub(crate) fn update(&mut self, x: Option<f64>) -> f64 {
        let Some(x) = x else {
            self.seen = 0;
            self.seed_sum = 0.0;
            return f64::NAN;
        };
        if self.seen < self.n {
            self.seen += 1;
            self.seed_sum += x;
            if self.seen < self.n {
                return f64::NAN;
            }
            self.value = self.seed_sum / self.n as f64;
        } else {
            self.value += self.alpha * (x - self.value);
        }
        self.value
    }
}
