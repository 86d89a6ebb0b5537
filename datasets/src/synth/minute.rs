//! One-minute bars for a session, bridged so they agree exactly with the day's bar.
//!
//! A heteroskedastic Brownian bridge runs from the daily open to the daily close; its part
//! above the open/close body is stretched or squeezed linearly so its peak lands on the daily
//! high, and likewise below onto the daily low. Minute wicks are clipped to the daily range and
//! the minutes holding the peak and trough get exactly the daily high and low. Volume is split
//! by a U-shaped weight with cumulative rounding, so the integer minute volumes sum exactly to
//! the daily volume.

use rand::Rng;

use super::push_generated;
use super::rng::{normal, wicks};
use crate::bars::{Bar, Bars};
use crate::time::{NANOS_PER_MIN, Timestamp};

/// Extra activity at the open and at the close relative to midday, and their decay in minutes.
/// Per-minute volatility is the activity, per-minute volume weight its square (about 4× midday
/// at the open, 2.6× at the close).
const OPEN_BOOST: f64 = 1.0;
const CLOSE_BOOST: f64 = 0.6;
const BOOST_DECAY: f64 = 30.0;
/// Mean wick of a minute beyond its body, in that minute's standard deviations.
const MINUTE_WICK: f64 = 0.25;
/// Log-noise s.d. of minute volume weights, and their extra weight per standard deviation of
/// the minute's own move (big minutes trade more).
const MINUTE_VOLUME_NOISE: f64 = 0.3;
const MINUTE_VOLUME_MOVE: f64 = 0.3;
/// A Brownian path's expected range is about 1.6 s.d.; used to size the bridge from the bar.
const RANGE_PER_SD: f64 = 1.6;

/// Relative activity of minute `k` of an `m`-minute session: high at both ends, one at midday.
fn activity(k: usize, m: usize) -> f64 {
    let from_open = k as f64;
    let to_close = (m - 1 - k) as f64;
    1.0 + OPEN_BOOST * (-from_open / BOOST_DECAY).exp() + CLOSE_BOOST * (-to_close / BOOST_DECAY).exp()
}

/// Appends the `minutes` one-minute bars of the session opening at `open` for the daily bar
/// `day`: first open = day open, last close = day close, extremes = day extremes, volumes sum to
/// the day's (an integer).
pub(super) fn session_minutes(
    out: &mut Bars,
    day: &Bar,
    open: Timestamp,
    minutes: usize,
    rng: &mut impl Rng,
) {
    let m = minutes.max(1);
    let shape: Vec<f64> = (0..m).map(|k| activity(k, m)).collect();
    let path = bridge(day, &shape, rng);

    let mut bars: Vec<Bar> = (0..m)
        .map(|k| {
            let (o, c) = (path.prices[k], path.prices[k + 1]);
            let (low, high) = wicks(o.min(c), o.max(c), MINUTE_WICK * path.sigma * shape[k], rng);
            Bar {
                ts: Timestamp(open.0 + k as i64 * NANOS_PER_MIN),
                open: o,
                high: high.min(day.high),
                low: low.max(day.low),
                close: c,
                volume: 0.0,
                vwap: None,
                trade_count: None,
            }
        })
        .collect();
    let peak = index_of_max(bars.iter().map(|b| b.high));
    bars[peak].high = day.high;
    let trough = index_of_max(bars.iter().map(|b| -b.low));
    bars[trough].low = day.low;

    let weights: Vec<f64> = bars
        .iter()
        .zip(&shape)
        .map(|(bar, a)| {
            let move_size = (bar.close / bar.open).ln().abs() / (path.sigma * a);
            a * a * (1.0 + MINUTE_VOLUME_MOVE * move_size) * (MINUTE_VOLUME_NOISE * normal(rng)).exp()
        })
        .collect();
    for (bar, volume) in bars.iter_mut().zip(split_volume(day.volume, &weights)) {
        bar.volume = volume;
    }
    for bar in bars {
        push_generated(out, bar);
    }
}

/// Minute-boundary prices of a session and the per-unit-activity log volatility used.
struct Path {
    /// `m + 1` prices: the daily open, the `m - 1` interior boundaries, the daily close.
    prices: Vec<f64>,
    /// Log-price s.d. per unit of activity.
    sigma: f64,
}

/// A bridge from the day's open to its close whose peak and trough are mapped onto the day's
/// high and low; interior prices are clipped to the daily range against rounding.
fn bridge(day: &Bar, shape: &[f64], rng: &mut impl Rng) -> Path {
    let m = shape.len();
    let mut walk = Vec::with_capacity(m + 1);
    let mut time = Vec::with_capacity(m + 1);
    let (mut w, mut tau) = (0.0f64, 0.0f64);
    walk.push(w);
    time.push(tau);
    for &a in shape {
        w += a * normal(rng);
        tau += a * a;
        walk.push(w);
        time.push(tau);
    }
    let (lo, lc) = (day.open.ln(), day.close.ln());
    let (lh, ll) = (day.high.ln(), day.low.ln());
    let sigma = ((lh - ll) / RANGE_PER_SD).max(1e-9) / tau.sqrt();
    let log_path: Vec<f64> = walk
        .iter()
        .zip(&time)
        .map(|(&w_k, &t_k)| {
            let frac = t_k / tau;
            lo + frac * (lc - lo) + sigma * (w_k - frac * w)
        })
        .collect();

    let (body_low, body_high) = (lo.min(lc), lo.max(lc));
    let peak = log_path.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let trough = log_path.iter().copied().fold(f64::INFINITY, f64::min);
    let stretch_up = if peak > body_high { (lh - body_high) / (peak - body_high) } else { 0.0 };
    let stretch_down = if trough < body_low { (body_low - ll) / (body_low - trough) } else { 0.0 };
    let mut prices: Vec<f64> = log_path
        .iter()
        .map(|&p| {
            let mapped = if p > body_high {
                body_high + (p - body_high) * stretch_up
            } else if p < body_low {
                body_low - (body_low - p) * stretch_down
            } else {
                p
            };
            mapped.exp().clamp(day.low, day.high)
        })
        .collect();
    prices[0] = day.open;
    prices[m] = day.close;
    Path { prices, sigma }
}

/// Position of the first largest value.
fn index_of_max(values: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, v) in values.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

/// Splits the integer `total` in proportion to `weights` by rounding cumulative targets: every
/// share is a non-negative integer and the shares sum to `total` exactly.
fn split_volume(total: f64, weights: &[f64]) -> impl Iterator<Item = f64> + '_ {
    let sum: f64 = weights.iter().sum();
    let mut cumulative = 0.0;
    let mut assigned = 0.0;
    weights.iter().enumerate().map(move |(k, w)| {
        cumulative += w;
        let target =
            if k + 1 == weights.len() { total } else { (total * cumulative / sum).round().min(total) };
        let share = target - assigned;
        assigned = target;
        share
    })
}
