//! Column kernels: each operator over one symbol's whole series at a time.
//!
//! An operand is a slice of bars or a scalar broadcast to every bar (constants are never
//! materialised: a `leaf op constant` pattern runs as one fused loop). Loops are plain slices
//! and indices, with the operator matched outside the loop so each one autovectorises.
//! Every operator at bar `t` reads bars `≤ t` only.

use kernel::indicators::{
    atr_into, ema_into, relative_volume_into, roc_into, rolling_max_into, rolling_min_into, rolling_std_into,
    rsi_into, sma_into, zscore_into,
};

use crate::tree::{BinOp, CmpOp, Indicator, Logic, WinOp};

/// Below this magnitude a divisor counts as zero and protected division gives 1.
pub const DIV_EPSILON: f64 = 1e-12;

/// One symbol's operand: a series, or one value at every bar.
#[derive(Clone, Copy, Debug)]
pub enum Operand<'a> {
    /// A series of the symbol's bars.
    Series(&'a [f64]),
    /// The same value at every bar.
    Scalar(f64),
}

/// The binary operator on two values; the one definition shared with constant folding.
#[inline(always)]
pub fn apply(op: BinOp, a: f64, b: f64) -> f64 {
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => {
            if b.abs() < DIV_EPSILON {
                1.0
            } else {
                a / b
            }
        }
        BinOp::Min => a.min(b),
        BinOp::Max => a.max(b),
    }
}

/// `out[t] = f(a[t], b[t])`, a scalar operand standing for every bar; one loop per operand
/// shape so each is a plain slice loop the compiler vectorises.
#[inline(always)]
fn zip_into<T: Copy>(a: Operand<'_>, b: Operand<'_>, out: &mut [T], f: impl Fn(f64, f64) -> T) {
    match (a, b) {
        (Operand::Series(x), Operand::Series(y)) => {
            for ((o, &x), &y) in out.iter_mut().zip(x).zip(y) {
                *o = f(x, y);
            }
        }
        (Operand::Series(x), Operand::Scalar(y)) => {
            for (o, &x) in out.iter_mut().zip(x) {
                *o = f(x, y);
            }
        }
        (Operand::Scalar(x), Operand::Series(y)) => {
            for (o, &y) in out.iter_mut().zip(y) {
                *o = f(x, y);
            }
        }
        (Operand::Scalar(x), Operand::Scalar(y)) => out.fill(f(x, y)),
    }
}

/// `out = a op b`, bar by bar.
pub fn binary(op: BinOp, a: Operand<'_>, b: Operand<'_>, out: &mut [f64]) {
    match op {
        BinOp::Add => zip_into(a, b, out, |x, y| x + y),
        BinOp::Sub => zip_into(a, b, out, |x, y| x - y),
        BinOp::Mul => zip_into(a, b, out, |x, y| x * y),
        BinOp::Div => zip_into(a, b, out, |x, y| apply(BinOp::Div, x, y)),
        BinOp::Min => zip_into(a, b, out, f64::min),
        BinOp::Max => zip_into(a, b, out, f64::max),
    }
}

/// `out = |x|`.
pub fn abs(x: &[f64], out: &mut [f64]) {
    for (o, &x) in out.iter_mut().zip(x) {
        *o = x.abs();
    }
}

/// A windowed operator over `x` into `out` (same length). `w` is at least the operator's minimum.
pub fn windowed(op: WinOp, w: usize, x: &[f64], out: &mut [f64]) {
    let done = match op {
        WinOp::Lag => {
            let n = x.len();
            let k = w.min(n);
            out[..k].fill(f64::NAN);
            out[k..].copy_from_slice(&x[..n - k]);
            Ok(())
        }
        WinOp::Mean => sma_into(x, w, out),
        WinOp::Std => rolling_std_into(x, w, out),
        WinOp::Max => rolling_max_into(x, w, out),
        WinOp::Min => rolling_min_into(x, w, out),
    };
    done.expect("windows are validated by construction");
}

/// The bar fields an indicator reads, for one symbol.
#[derive(Clone, Copy, Debug)]
pub struct Bars<'a> {
    /// Highs.
    pub high: &'a [f64],
    /// Lows.
    pub low: &'a [f64],
    /// Closes.
    pub close: &'a [f64],
    /// Volumes.
    pub volume: &'a [f64],
}

/// An indicator of `field` (or of the bars, for ATR and relative volume) into `out`.
pub fn indicator(ind: Indicator, w: usize, field: &[f64], bars: Bars<'_>, out: &mut [f64]) {
    let done = match ind {
        Indicator::Sma => sma_into(field, w, out),
        Indicator::Ema => ema_into(field, w, out),
        Indicator::Rsi => rsi_into(field, w, out),
        Indicator::Roc => roc_into(field, w, out),
        Indicator::Zscore => zscore_into(field, w, out),
        Indicator::Atr => atr_into(bars.high, bars.low, bars.close, w, out),
        Indicator::RelVolume => relative_volume_into(bars.volume, w, out),
    };
    done.expect("windows are validated by construction");
}

/// Cross-sectional rank of `rows` (one slice per symbol, each `n` bars) into `out` (symbol-major,
/// `rows.len() × n`): at each bar, `(below + (equal − 1) / 2) / (m − 1)` among the `m` finite
/// values, 0.5 when `m = 1`; NaN stays NaN.
pub fn rank(rows: &[Operand<'_>], n: usize, out: &mut [f64]) {
    let s = rows.len();
    let mut bar: Vec<(f64, usize)> = Vec::with_capacity(s);
    for t in 0..n {
        bar.clear();
        for (k, row) in rows.iter().enumerate() {
            let x = match *row {
                Operand::Series(x) => x[t],
                Operand::Scalar(x) => x,
            };
            if x.is_finite() {
                bar.push((x, k));
            } else {
                out[k * n + t] = f64::NAN;
            }
        }
        let m = bar.len();
        if m == 0 {
            continue;
        }
        bar.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let mut i = 0;
        while i < m {
            let mut j = i + 1;
            while j < m && bar[j].0 == bar[i].0 {
                j += 1;
            }
            // Positions i..j tie: they share the mean position (i + j − 1) / 2.
            let r = if m == 1 { 0.5 } else { (i + j - 1) as f64 / 2.0 / (m - 1) as f64 };
            for &(_, k) in &bar[i..j] {
                out[k * n + t] = r;
            }
            i = j;
        }
    }
}

/// `out = a op b` for a comparison; NaN compares false, and a cross needs bar `t − 1`, so it
/// is false at bar 0.
pub fn compare(op: CmpOp, a: Operand<'_>, b: Operand<'_>, out: &mut [bool]) {
    let at = |x: Operand<'_>, t: usize| match x {
        Operand::Series(s) => s[t],
        Operand::Scalar(v) => v,
    };
    match op {
        CmpOp::Gt => zip_into(a, b, out, |x, y| x > y),
        CmpOp::Lt => zip_into(a, b, out, |x, y| x < y),
        CmpOp::Ge => zip_into(a, b, out, |x, y| x >= y),
        CmpOp::Le => zip_into(a, b, out, |x, y| x <= y),
        CmpOp::CrossAbove | CmpOp::CrossBelow => {
            let (a, b) = if op == CmpOp::CrossAbove { (a, b) } else { (b, a) };
            if let Some(first) = out.first_mut() {
                *first = false;
            }
            if let (Operand::Series(x), Operand::Series(y)) = (a, b) {
                let bars = x.windows(2).zip(y.windows(2));
                for (o, (x, y)) in out.iter_mut().skip(1).zip(bars) {
                    *o = (x[0] < y[0]) & (x[1] > y[1]);
                }
            } else {
                for (t, o) in out.iter_mut().enumerate().skip(1) {
                    *o = (at(a, t - 1) < at(b, t - 1)) & (at(a, t) > at(b, t));
                }
            }
        }
    }
}

/// `out = p op q`.
pub fn logic(op: Logic, p: &[bool], q: &[bool], out: &mut [bool]) {
    match op {
        Logic::And => {
            for ((o, &p), &q) in out.iter_mut().zip(p).zip(q) {
                *o = p & q;
            }
        }
        Logic::Or => {
            for ((o, &p), &q) in out.iter_mut().zip(p).zip(q) {
                *o = p | q;
            }
        }
    }
}
