//! Drawdowns of an equity curve: depth and duration of every peak-to-recovery episode.

/// Summary of an equity curve's drawdowns.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Drawdowns {
    /// Deepest drawdown, `min_t (E_t / peak_t − 1)`, as a negative fraction (0 if none).
    pub max: f64,
    /// Mean of every episode's deepest point, negative (0 if none).
    pub average: f64,
    /// Longest episode in bars, from its peak bar to its recovery bar (or the last bar).
    pub longest_bars: usize,
    /// Longest episode in time, nanoseconds between the same two bars' timestamps.
    pub longest_nanos: i64,
}

/// Drawdowns of `equity` (one value per bar, timestamps `ts`) starting from `initial`.
///
/// `peak_t = max(initial, E_0..E_t)`; an episode starts at the bar of a peak (bar 0 for the
/// initial equity) and ends at the first bar whose equity is back at or above it, or at the last
/// bar if it never recovers. Its duration is counted peak bar → end bar.
pub(crate) fn drawdowns(initial: f64, equity: &[f64], ts: &[i64]) -> Drawdowns {
    let mut out = Drawdowns::default();
    let mut peak = initial;
    let mut peak_bar = 0usize;
    let mut depth = 0.0f64; // deepest point of the current episode
    let mut episodes = 0usize;
    let mut depth_sum = 0.0;
    let mut end_episode = |out: &mut Drawdowns, peak_bar: usize, end_bar: usize, depth: f64| {
        episodes += 1;
        depth_sum += depth;
        let bars = end_bar - peak_bar;
        if bars > out.longest_bars {
            out.longest_bars = bars;
            out.longest_nanos = ts[end_bar] - ts[peak_bar];
        }
        out.max = out.max.min(depth);
    };
    for (t, &e) in equity.iter().enumerate() {
        if e >= peak {
            if depth < 0.0 {
                end_episode(&mut out, peak_bar, t, depth);
                depth = 0.0;
            }
            peak = e;
            peak_bar = t;
        } else {
            depth = depth.min(e / peak - 1.0);
        }
    }
    if depth < 0.0 {
        end_episode(&mut out, peak_bar, equity.len() - 1, depth);
    }
    if episodes > 0 {
        out.average = depth_sum / episodes as f64;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episodes_depths_and_durations() {
        let ts: Vec<i64> = (0..7).map(|i| i * 10).collect();
        // Peak 100 at bar 0, down to 80 (−20 %), back at bar 3; peak 120 at bar 4, 90 at bar 6.
        let d = drawdowns(100.0, &[100.0, 90.0, 80.0, 100.0, 120.0, 110.0, 90.0], &ts);
        assert!((d.max - -0.25).abs() < 1e-15);
        assert!((d.average - (-0.2 - 0.25) / 2.0).abs() < 1e-15);
        assert_eq!(d.longest_bars, 3);
        assert_eq!(d.longest_nanos, 30);
        // Falls on the very first bar relative to the initial equity.
        let d = drawdowns(100.0, &[95.0, 99.0], &ts[..2]);
        assert!((d.max - -0.05).abs() < 1e-15);
        assert_eq!(d.longest_bars, 1);
        assert_eq!(drawdowns(100.0, &[100.0, 101.0, 102.0], &ts[..3]), Drawdowns::default());
        assert_eq!(drawdowns(100.0, &[], &[]), Drawdowns::default());
    }
}
