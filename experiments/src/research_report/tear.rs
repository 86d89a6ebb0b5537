//! The series a tear sheet derives from an equity curve: growth of 1, drawdown, daily closes,
//! monthly returns and the rolling Sharpe ratio. Pure functions of the curve, shared by the
//! Markdown and the HTML so both show the same numbers.

use chrono::{DateTime, Datelike};

/// Nanoseconds in a day.
const DAY_NS: i64 = 86_400_000_000_000;
/// Trading days in the rolling Sharpe ratio's window: six months.
pub const ROLLING_DAYS: usize = 126;
/// Trading days a year, to annualise daily returns.
const TRADING_DAYS: f64 = 252.0;

/// `points` divided by the first finite positive value, so the curve starts at 1.0; empty when
/// there is no such value. Non-finite values pass through for the chart to skip.
pub fn normalised(points: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let Some(base) = points.iter().map(|p| p.1).find(|v| v.is_finite() && *v > 0.0) else {
        return Vec::new();
    };
    points.iter().map(|&(t, v)| (t, v / base)).collect()
}

/// The in-sample curve followed by the out-of-sample one, as one growth-of-1 curve: the
/// out-of-sample backtest starts from fresh cash, so it is scaled to continue where the
/// in-sample one ended. Either may be empty.
pub fn chained(in_sample: &[(i64, f64)], out_of_sample: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut out = normalised(in_sample);
    let level = out.iter().rev().map(|p| p.1).find(|v| v.is_finite()).unwrap_or(1.0);
    let after = out.last().map_or(i64::MIN, |p| p.0);
    out.extend(normalised(out_of_sample).into_iter().filter(|p| p.0 > after).map(|(t, v)| (t, v * level)));
    out
}

/// The drawdown at every point: the fraction below the running peak (0 at a new high, -0.25
/// a quarter below it). Non-finite values are skipped.
pub fn drawdown(points: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut peak = f64::NEG_INFINITY;
    points
        .iter()
        .filter(|p| p.1.is_finite())
        .map(|&(t, v)| {
            peak = peak.max(v);
            (t, if peak > 0.0 { v / peak - 1.0 } else { 0.0 })
        })
        .collect()
}

/// The last finite value of each UTC day.
pub fn daily_closes(points: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut out: Vec<(i64, f64)> = Vec::new();
    for &(t, v) in points.iter().filter(|p| p.1.is_finite()) {
        match out.last_mut() {
            Some(last) if last.0.div_euclid(DAY_NS) == t.div_euclid(DAY_NS) => *last = (t, v),
            _ => out.push((t, v)),
        }
    }
    out
}

/// One calendar year of monthly returns.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthRow {
    /// The year.
    pub year: i32,
    /// Return of each month (January first), `None` for a month without data.
    pub months: [Option<f64>; 12],
    /// Return of the whole year (of its months with data).
    pub year_total: Option<f64>,
}

/// Monthly returns of a curve by UTC calendar month: each month's last value over the previous
/// month's last value (the first month over the curve's first value).
pub fn monthly_returns(points: &[(i64, f64)]) -> Vec<MonthRow> {
    let mut rows: Vec<MonthRow> = Vec::new();
    let mut prev: Option<f64> = None;
    let mut year_start: Option<f64> = None;
    let finite: Vec<(i64, f64)> = points.iter().copied().filter(|p| p.1.is_finite() && p.1 > 0.0).collect();
    let month_of = |t: i64| {
        let d = DateTime::from_timestamp_nanos(t);
        (d.year(), d.month0() as usize)
    };
    let mut i = 0;
    while i < finite.len() {
        let (year, month) = month_of(finite[i].0);
        let mut j = i;
        while j + 1 < finite.len() && month_of(finite[j + 1].0) == (year, month) {
            j += 1;
        }
        let start = prev.unwrap_or(finite[i].1);
        let end = finite[j].1;
        if rows.last().is_none_or(|r| r.year != year) {
            rows.push(MonthRow { year, months: [None; 12], year_total: None });
            year_start = Some(start);
        }
        let row = rows.last_mut().expect("pushed above");
        row.months[month] = Some(end / start - 1.0);
        row.year_total = year_start.map(|s| end / s - 1.0);
        prev = Some(end);
        i = j + 1;
    }
    rows
}

/// The annualised Sharpe ratio of the daily returns over the trailing [`ROLLING_DAYS`] days, at
/// every day that has that many before it; empty for shorter curves.
pub fn rolling_sharpe(points: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let daily = daily_closes(points);
    let returns: Vec<(i64, f64)> = daily.windows(2).map(|w| (w[1].0, w[1].1 / w[0].1 - 1.0)).collect();
    if returns.len() < ROLLING_DAYS {
        return Vec::new();
    }
    let (mut sum, mut sq) = (0.0, 0.0);
    let mut out = Vec::with_capacity(returns.len() - ROLLING_DAYS + 1);
    for (k, &(t, r)) in returns.iter().enumerate() {
        sum += r;
        sq += r * r;
        if k >= ROLLING_DAYS {
            let old = returns[k - ROLLING_DAYS].1;
            sum -= old;
            sq -= old * old;
        }
        if k + 1 >= ROLLING_DAYS {
            let n = ROLLING_DAYS as f64;
            let mean = sum / n;
            let var = (sq / n - mean * mean).max(0.0) * n / (n - 1.0);
            let sharpe = if var > 1e-18 { mean / var.sqrt() * TRADING_DAYS.sqrt() } else { f64::NAN };
            out.push((t, sharpe));
        }
    }
    out
}

/// Total return, CAGR and maximum drawdown of a curve (NaN when it has fewer than two points).
pub fn headline(points: &[(i64, f64)]) -> (f64, f64, f64) {
    let finite: Vec<(i64, f64)> = points.iter().copied().filter(|p| p.1.is_finite() && p.1 > 0.0).collect();
    let (Some(first), Some(last)) = (finite.first(), finite.last()) else {
        return (f64::NAN, f64::NAN, f64::NAN);
    };
    if finite.len() < 2 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let total = last.1 / first.1 - 1.0;
    let years = (last.0 - first.0) as f64 / (DAY_NS as f64 * 365.25);
    let cagr = if years > 0.0 { (1.0 + total).powf(1.0 / years) - 1.0 } else { f64::NAN };
    let max_dd = drawdown(&finite).iter().map(|p| p.1).fold(0.0, f64::min);
    (total, cagr, max_dd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2021-01-04 00:00 UTC.
    const START: i64 = 1_609_718_400 * 1_000_000_000;

    #[test]
    fn drawdown_is_the_fall_from_the_running_peak() {
        let eq = [(0, 1.0), (1, 1.2), (2, 0.9), (3, f64::NAN), (4, 1.3)];
        let dd = drawdown(&eq);
        let got: Vec<f64> = dd.iter().map(|p| (p.1 * 1000.0).round() / 1000.0).collect();
        assert_eq!(got, [0.0, 0.0, -0.25, 0.0]);
    }

    #[test]
    fn chained_continues_the_out_of_sample_curve_from_the_in_sample_end() {
        let is = [(0, 100.0), (1, 150.0)];
        let oos = [(2, 10.0), (3, 12.0)];
        assert_eq!(chained(&is, &oos), [(0, 1.0), (1, 1.5), (2, 1.5), (3, 1.5 * 1.2)]);
        assert_eq!(chained(&[], &oos), [(2, 1.0), (3, 1.2)]);
    }

    #[test]
    fn monthly_returns_chain_month_ends_and_compound_into_the_year() {
        // 2021-01-04 .. : +10 % in January, -10 % in February, flat in March, then 2022-01 +5 %.
        let day = DAY_NS;
        let eq = [
            (START, 100.0),
            (START + 20 * day, 110.0),
            (START + 40 * day, 99.0),
            (START + 70 * day, 99.0),
            (START + 366 * day, 103.95),
        ];
        let rows = monthly_returns(&eq);
        assert_eq!(rows.len(), 2);
        let r = |x: Option<f64>| x.map(|v| (v * 1e6).round() / 1e6);
        assert_eq!(rows[0].year, 2021);
        assert_eq!(r(rows[0].months[0]), Some(0.1));
        assert_eq!(r(rows[0].months[1]), Some(-0.1));
        assert_eq!(r(rows[0].months[2]), Some(0.0));
        assert_eq!(rows[0].months[3], None);
        assert_eq!(r(rows[0].year_total), Some(-0.01));
        assert_eq!(rows[1].year, 2022);
        assert_eq!(r(rows[1].months[0]), Some(0.05));
        assert_eq!(r(rows[1].year_total), Some(0.05));
    }

    #[test]
    fn rolling_sharpe_needs_six_months_and_annualises_daily_returns() {
        let eq: Vec<(i64, f64)> = (0..ROLLING_DAYS as i64 + 10)
            .map(|i| (START + i * DAY_NS, if i % 2 == 0 { 101.1 } else { 99.1 }))
            .collect();
        assert!(rolling_sharpe(&eq[..ROLLING_DAYS]).is_empty());
        let rs = rolling_sharpe(&eq);
        assert_eq!(rs.len(), 10);
        assert!(rs.iter().all(|p| p.1.is_finite()));
        // A steady 0.1 % a day with no variance has no Sharpe ratio.
        let steady: Vec<(i64, f64)> =
            (0..200).map(|i| (START + i * DAY_NS, 1.001f64.powi(i as i32))).collect();
        let s = rolling_sharpe(&steady);
        assert!(s.iter().all(|p| !p.1.is_finite() || p.1 > 100.0), "{:?}", &s[..2]);
    }

    #[test]
    fn headline_figures_of_a_curve() {
        let year = (365.25 * DAY_NS as f64) as i64;
        let (total, cagr, dd) = headline(&[(0, 1.0), (year / 2, 0.8), (2 * year, 1.21)]);
        assert!((total - 0.21).abs() < 1e-12 && (cagr - 0.1).abs() < 1e-9 && (dd + 0.2).abs() < 1e-12);
        assert!(headline(&[(0, 1.0)]).0.is_nan());
    }
}
