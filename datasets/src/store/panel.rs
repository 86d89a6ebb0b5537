//! Panels: one field for many symbols on the union of their timestamps.

use super::{Field, Series};

/// A time-major matrix: row `t` holds every symbol's value at `timestamps[t]`, NaN where a
/// symbol has no bar. Time-major because cross-sectional work (ranks, breadth) reads rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    symbols: Vec<String>,
    timestamps: Vec<i64>,
    values: Vec<f64>,
}

impl Panel {
    /// Builds the panel; `series[i]` belongs to `symbols[i]` (`None`: not stored, all NaN).
    pub(crate) fn build(symbols: &[&str], series: &[Option<Series<'_>>], field: Field) -> Panel {
        let mut timestamps: Vec<i64> = Vec::new();
        for s in series.iter().flatten() {
            for c in s.chunks() {
                timestamps = union_sorted(&timestamps, c.timestamps);
            }
        }
        let width = symbols.len();
        let mut values = vec![f64::NAN; timestamps.len() * width];
        for (col, s) in series.iter().enumerate() {
            let Some(s) = s else { continue };
            let column = s.field(field);
            let mut row = 0;
            for (i, &ts) in s.timestamps().iter().enumerate() {
                // Both sequences are sorted and `timestamps` contains every series timestamp.
                while timestamps[row] < ts {
                    row += 1;
                }
                values[row * width + col] = column[i];
            }
        }
        Panel { symbols: symbols.iter().map(|s| s.to_string()).collect(), timestamps, values }
    }

    /// Column names, in the order asked for.
    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }

    /// The union of the symbols' timestamps, increasing.
    pub fn timestamps(&self) -> &[i64] {
        &self.timestamps
    }

    /// All values, time-major (`values()[t * width + s]`).
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Number of symbols (columns).
    pub fn width(&self) -> usize {
        self.symbols.len()
    }

    /// Every symbol's value at time index `t`.
    pub fn row(&self, t: usize) -> &[f64] {
        let w = self.width();
        &self.values[t * w..(t + 1) * w]
    }

    /// One symbol's values over time (strided copy).
    pub fn column(&self, s: usize) -> Vec<f64> {
        self.values.iter().skip(s).step_by(self.width().max(1)).copied().collect()
    }
}

/// Merges two increasing, duplicate-free sequences into one.
fn union_sorted(a: &[i64], b: &[i64]) -> Vec<i64> {
    if a == b {
        return a.to_vec();
    }
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        out.push(x.min(y));
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::union_sorted;

    #[test]
    fn union_merges_and_dedups() {
        assert_eq!(union_sorted(&[1, 3, 5], &[2, 3, 6, 7]), vec![1, 2, 3, 5, 6, 7]);
        assert_eq!(union_sorted(&[], &[4]), vec![4]);
        assert_eq!(union_sorted(&[4, 9], &[4, 9]), vec![4, 9]);
    }
}
