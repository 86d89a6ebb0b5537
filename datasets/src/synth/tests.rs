//! Behavioural tests of the synthetic universe: determinism, validity, and the planted effects.

use chrono::NaiveDate;
use proptest::prelude::*;
use rayon::prelude::*;

use super::*;
use crate::AssetClass;

fn config(symbols: usize, years: u32, seed: u64) -> SynthConfig {
    SynthConfig { symbols, years, seed, minute_days: 0, minute_symbols: None, ..SynthConfig::default() }
}

fn index_of(u: &Universe, symbol: &str) -> usize {
    u.symbols().iter().position(|m| m.symbol == symbol).unwrap()
}

fn log_returns(close: &[f64]) -> Vec<f64> {
    close.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn covariance(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum::<f64>() / a.len() as f64
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    covariance(a, b) / (covariance(a, a) * covariance(b, b)).sqrt()
}

fn autocorrelation(x: &[f64], lag: usize) -> f64 {
    correlation(&x[..x.len() - lag], &x[lag..])
}

/// Residuals of `y` regressed on `x` (with intercept).
fn residuals(y: &[f64], x: &[f64]) -> Vec<f64> {
    let beta = covariance(y, x) / covariance(x, x);
    y.iter().zip(x).map(|(a, b)| a - beta * b).collect()
}

/// Stock positions by planted style.
fn stocks_with_style(u: &Universe, style: StockStyle) -> Vec<usize> {
    (0..u.symbols().len()).filter(|&i| u.style(i) == Some(style)).collect()
}

#[test]
fn same_seed_gives_identical_bars_and_another_seed_differs() {
    let cfg = SynthConfig {
        symbols: 12,
        years: 3,
        seed: 7,
        minute_days: 2,
        minute_symbols: None,
        ..Default::default()
    };
    let (a, b) = (Universe::new(&cfg).unwrap(), Universe::new(&cfg).unwrap());
    let other = Universe::new(&SynthConfig { seed: 8, ..cfg }).unwrap();
    assert_eq!(a.symbols(), b.symbols());
    assert_eq!(a.regimes(), b.regimes());
    for i in [0, 1, index_of(&a, "TLT"), index_of(&a, "VIX"), index_of(&a, "S0001"), index_of(&a, "S0012")] {
        assert_eq!(a.daily(i), b.daily(i), "symbol {i}");
        assert_eq!(a.minute(i), b.minute(i), "symbol {i}");
        assert_ne!(a.daily(i).close(), other.daily(i).close(), "symbol {i} ignores the seed");
    }
    assert_ne!(a.symbols()[20].fundamentals, other.symbols()[20].fundamentals);
}

#[test]
fn generation_order_and_thread_count_do_not_matter() {
    let u =
        Universe::new(&SynthConfig { symbols: 24, years: 2, minute_days: 1, ..Default::default() }).unwrap();
    let serial: Vec<Bars> = (0..u.symbols().len()).rev().map(|i| u.daily(i)).rev().collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    let parallel: Vec<Bars> =
        pool.install(|| (0..u.symbols().len()).into_par_iter().map(|i| u.daily(i)).collect());
    assert_eq!(serial, parallel);
    let minutes: Vec<Option<Bars>> = pool.install(|| (0..4).into_par_iter().map(|i| u.minute(i)).collect());
    assert_eq!(minutes, (0..4).map(|i| u.minute(i)).collect::<Vec<_>>());
}

#[test]
fn symbol_list_has_spy_sector_etfs_defensives_vix_and_the_requested_stocks() {
    let u = Universe::new(&config(37, 1, 1)).unwrap();
    let names: Vec<&str> = u.symbols().iter().map(|m| m.symbol.as_str()).collect();
    let expected_funds = [
        "SPY", "XLK", "XLF", "XLE", "XLV", "XLI", "XLY", "XLP", "XLU", "XLB", "XLRE", "XLC", "TLT", "GLD",
        "SHY",
    ];
    assert_eq!(&names[..15], &expected_funds);
    assert_eq!(names[15], "VIX");
    assert_eq!(names.len(), 16 + 37);
    assert_eq!(names[16], "S0001");
    assert_eq!(names[16 + 36], "S0037");
    assert_eq!(u.symbols()[15].asset_class, AssetClass::Index);
    assert!(u.symbols()[..15].iter().all(|m| m.asset_class == AssetClass::Etf));
    assert_eq!(u.symbols()[2].sector.as_deref(), Some("Financials"));
    let stocks = &u.symbols()[16..];
    assert!(stocks.iter().all(|m| m.asset_class == AssetClass::Equity));
    assert!(stocks.iter().all(|m| {
        let f = m.fundamentals;
        f.market_cap.is_some_and(|c| (2.0e8..=3.0e12).contains(&c))
            && f.book_to_market.is_some_and(|b| b > 0.0)
            && f.roe.is_some_and(|r| (-0.5..=0.6).contains(&r))
    }));
    // The golden-ratio assignment populates all eleven sectors even with 37 stocks.
    let mut sectors: Vec<&str> = stocks.iter().filter_map(|m| m.sector.as_deref()).collect();
    sectors.sort_unstable();
    sectors.dedup();
    assert_eq!(sectors.len(), 11);
    assert_eq!(u.style(0), None);
    assert!(u.style(16).is_some());
}

#[test]
fn every_bar_is_valid_dated_by_the_calendar_and_prices_stay_sane_over_20_years() {
    let u = Universe::new(&config(120, 20, 3)).unwrap();
    let days = u.days();
    assert_eq!(days.first(), Some(&NaiveDate::from_ymd_opt(2006, 1, 3).unwrap()));
    assert_eq!(days.last(), Some(&NaiveDate::from_ymd_opt(2025, 12, 31).unwrap()));
    assert!((5020..5040).contains(&days.len()), "{} days", days.len());
    for i in 0..u.symbols().len() {
        // Bars::push checked positivity, OHLC ordering, volume sign and increasing timestamps.
        let bars = u.daily(i);
        assert_eq!(bars.len(), days.len());
        assert_eq!(bars.timestamps()[0], calendar::daily_bar_timestamp(days[0]).0);
        let lowest = bars.low().iter().copied().fold(f64::INFINITY, f64::min);
        let highest = bars.high().iter().copied().fold(0.0, f64::max);
        assert!(lowest > 0.1 && highest < 100_000.0, "{}: {lowest}..{highest}", u.symbols()[i].symbol);
        assert!(bars.volume().iter().all(|v| v.fract() == 0.0));
    }
}

#[test]
fn vix_is_above_35_in_every_crisis_and_crises_are_2_to_10_percent_of_days() {
    let u = Universe::new(&config(0, 20, 11)).unwrap();
    let vix = u.daily(index_of(&u, "VIX"));
    let mut calm = Vec::new();
    let mut crisis_days = 0;
    for (t, &(_, regime)) in u.regimes().iter().enumerate() {
        match regime {
            VolRegime::Crisis => {
                crisis_days += 1;
                assert!(vix.close()[t] > 35.0, "crisis day {t} VIX {}", vix.close()[t]);
            }
            VolRegime::Calm => calm.push(vix.close()[t]),
            _ => {}
        }
    }
    let share = crisis_days as f64 / u.days().len() as f64;
    assert!((0.02..=0.10).contains(&share), "crisis share {share}");
    calm.sort_by(f64::total_cmp);
    let median = calm[calm.len() / 2];
    assert!((11.0..=16.0).contains(&median), "calm median VIX {median}");
    assert!(vix.volume().iter().all(|&v| v == 0.0));
}

#[test]
fn vix_rises_when_the_market_falls_and_forecasts_volatility() {
    let u = Universe::new(&config(0, 20, 43)).unwrap();
    let spy = log_returns(u.daily(0).close());
    let vix = u.daily(index_of(&u, "VIX"));
    let vix_change = log_returns(vix.close());
    let same_day = correlation(&vix_change, &spy);
    assert!(same_day < -0.5, "corr(VIX change, SPY return) {same_day}");
    // Today's VIX predicts the size of tomorrow's move.
    let next_abs: Vec<f64> = spy[1..].iter().map(|r| r.abs()).collect();
    let forecast = correlation(&vix.close()[1..vix.close().len() - 1], &next_abs);
    assert!(forecast > 0.3, "corr(VIX, |next SPY return|) {forecast}");
}

#[test]
fn spy_annualised_volatility_is_between_10_and_30_percent() {
    let u = Universe::new(&config(0, 20, 5)).unwrap();
    let r = log_returns(u.daily(0).close());
    let vol = (covariance(&r, &r) * 252.0).sqrt();
    assert!((0.10..=0.30).contains(&vol), "SPY vol {vol}");
    // Stress raises it: realised volatility on crisis days is at least twice that on calm days.
    let regime_vol = |want: VolRegime| {
        let x: Vec<f64> =
            r.iter().zip(&u.regimes()[1..]).filter(|(_, (_, g))| *g == want).map(|(v, _)| *v).collect();
        (covariance(&x, &x) * 252.0).sqrt()
    };
    assert!(regime_vol(VolRegime::Crisis) > 2.0 * regime_vol(VolRegime::Calm));
}

#[test]
fn stocks_correlate_more_within_a_sector_than_across_sectors() {
    let u = Universe::new(&config(60, 5, 9)).unwrap();
    let stocks: Vec<(Option<String>, Vec<f64>)> = (16..u.symbols().len())
        .map(|i| (u.symbols()[i].sector.clone(), log_returns(u.daily(i).close())))
        .collect();
    let (mut within, mut across) = (Vec::new(), Vec::new());
    for (a, (sa, ra)) in stocks.iter().enumerate() {
        for (sb, rb) in &stocks[a + 1..] {
            let c = correlation(ra, rb);
            if sa == sb { within.push(c) } else { across.push(c) }
        }
    }
    let (w, x) = (mean(&within), mean(&across));
    assert!(w > x + 0.05, "within {w} across {x}");
    assert!(x > 0.1, "the market factor should correlate everything: {x}");
}

#[test]
fn mean_reverting_names_have_negative_autocorrelation_of_deviations_from_trend() {
    let u = Universe::new(&config(150, 10, 13)).unwrap();
    // Deviation changes = returns net of the sector ETF (market and sector trend).
    let residual_ac = |i: usize| {
        let sector = u.symbols()[i].sector.clone().unwrap();
        let etf = u
            .symbols()
            .iter()
            .position(|m| m.asset_class == AssetClass::Etf && m.sector == Some(sector.clone()));
        let x = log_returns(u.daily(etf.unwrap()).close());
        autocorrelation(&residuals(&log_returns(u.daily(i).close()), &x), 1)
    };
    let reverting: Vec<f64> =
        stocks_with_style(&u, StockStyle::MeanReverting).into_iter().map(residual_ac).collect();
    let plain: Vec<f64> =
        stocks_with_style(&u, StockStyle::Plain).into_iter().take(30).map(residual_ac).collect();
    assert!(reverting.len() >= 10);
    assert!(reverting.iter().all(|&ac| ac < 0.0), "{reverting:?}");
    assert!(mean(&reverting) < -0.08, "{}", mean(&reverting));
    assert!(mean(&plain).abs() < 0.03, "{}", mean(&plain));
}

#[test]
fn trending_names_have_positive_autocorrelation_of_20_day_returns() {
    let u = Universe::new(&config(150, 20, 17)).unwrap();
    let ac20 = |i: usize| {
        let close = u.daily(i).close().to_vec();
        let monthly: Vec<f64> = close
            .iter()
            .step_by(20)
            .copied()
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| (w[1] / w[0]).ln())
            .collect();
        autocorrelation(&monthly, 1)
    };
    let trending: Vec<f64> = stocks_with_style(&u, StockStyle::Trending).into_iter().map(ac20).collect();
    let plain: Vec<f64> = stocks_with_style(&u, StockStyle::Plain).into_iter().take(30).map(ac20).collect();
    assert!(trending.len() >= 10);
    assert!(mean(&trending) > 0.08, "{trending:?}");
    assert!(mean(&trending) > mean(&plain) + 0.05, "{} vs {}", mean(&trending), mean(&plain));
}

#[test]
fn small_value_quality_stocks_earn_more_after_market_exposure() {
    let u = Universe::new(&config(400, 20, 19)).unwrap();
    let spy = log_returns(u.daily(0).close());
    let (mut score, mut alpha) = (Vec::new(), Vec::new());
    for i in 16..u.symbols().len() {
        let f = u.symbols()[i].fundamentals;
        let smallness = (5.0e9f64.ln() - f.market_cap.unwrap().ln()) / 1.3;
        let value = (f.book_to_market.unwrap() / 0.45).ln() / 0.6;
        let quality = (f.roe.unwrap() - 0.12) / 0.10;
        score.push(0.015 * smallness + 0.025 * value + 0.025 * quality);
        let r = log_returns(u.daily(i).close());
        let beta = covariance(&r, &spy) / covariance(&spy, &spy);
        alpha.push(252.0 * (mean(&r) - beta * mean(&spy)));
    }
    let c = correlation(&score, &alpha);
    assert!(c > 0.25, "premium score vs realised alpha correlation {c}");
}

#[test]
fn defensives_turn_against_the_market_in_stress() {
    let u = Universe::new(&config(0, 20, 31)).unwrap();
    let spy = log_returns(u.daily(0).close());
    let in_regimes = |r: &[f64], wanted: &[VolRegime]| -> Vec<f64> {
        r.iter().zip(&u.regimes()[1..]).filter(|(_, (_, g))| wanted.contains(g)).map(|(v, _)| *v).collect()
    };
    let stress = [VolRegime::Stressed, VolRegime::Crisis];
    for (name, calm_min, stress_max) in [("TLT", 0.05, -0.3), ("GLD", -0.05, -0.1)] {
        let r = log_returns(u.daily(index_of(&u, name)).close());
        let calm = correlation(&in_regimes(&r, &[VolRegime::Calm]), &in_regimes(&spy, &[VolRegime::Calm]));
        let stressed = correlation(&in_regimes(&r, &stress), &in_regimes(&spy, &stress));
        assert!(calm > calm_min && stressed < stress_max, "{name}: calm {calm}, stressed {stressed}");
    }
}

#[test]
fn big_moves_trade_more_volume_and_some_opening_gaps_partly_fill() {
    let u = Universe::new(&config(40, 10, 37)).unwrap();
    let (mut quiet, mut busy) = (Vec::new(), Vec::new());
    let (mut big_gaps, mut partly_filled) = (0usize, 0usize);
    for i in 16..u.symbols().len() {
        let bars = u.daily(i);
        let (open, close, volume) = (bars.open(), bars.close(), bars.volume());
        let r = log_returns(close);
        let sd = covariance(&r, &r).sqrt();
        for t in 1..bars.len() {
            // Volume relative to the name's 20-day neighbourhood, to remove the price level.
            let around = &volume[t.saturating_sub(10)..(t + 10).min(bars.len())];
            let relative = volume[t] / mean(around);
            if r[t - 1].abs() > 2.5 * sd {
                busy.push(relative)
            } else if r[t - 1].abs() < 0.5 * sd {
                quiet.push(relative)
            }
            let gap = (open[t] / close[t - 1]).ln();
            if gap.abs() > 3.0 * sd {
                big_gaps += 1;
                let retrace = (open[t] - close[t]) / (open[t] - close[t - 1]);
                if (0.1..0.9).contains(&retrace) {
                    partly_filled += 1;
                }
            }
        }
    }
    assert!(mean(&busy) > 1.4 * mean(&quiet), "busy {} quiet {}", mean(&busy), mean(&quiet));
    let share = partly_filled as f64 / big_gaps as f64;
    assert!(
        big_gaps > 100 && (0.2..0.8).contains(&share),
        "{partly_filled} of {big_gaps} big gaps partly filled"
    );
}

/// Checks minute bars of symbol `i` against its daily bars session by session; returns the
/// per-session minute counts.
fn assert_minutes_match_daily(u: &Universe, i: usize) -> Vec<usize> {
    let daily = u.daily(i);
    let minutes = u.minute(i).expect("minute bars requested");
    let n = u.days().len();
    let mut start = 0;
    let mut counts = Vec::new();
    for t in n - u.minute_days..n {
        let session = calendar::session(u.days()[t]).unwrap();
        let m = session.minutes() as usize;
        let day = daily.bar(t);
        let range = start..start + m;
        let ts = &minutes.timestamps()[range.clone()];
        assert_eq!(ts[0], session.open.0);
        assert_eq!(ts[m - 1], session.close.0 - crate::time::NANOS_PER_MIN);
        assert_eq!(minutes.open()[start], day.open);
        assert_eq!(minutes.close()[start + m - 1], day.close);
        assert_eq!(minutes.high()[range.clone()].iter().copied().fold(f64::MIN, f64::max), day.high);
        assert_eq!(minutes.low()[range.clone()].iter().copied().fold(f64::MAX, f64::min), day.low);
        assert_eq!(minutes.volume()[range.clone()].iter().sum::<f64>(), day.volume);
        assert!(minutes.volume()[range].iter().all(|v| v.fract() == 0.0 && *v >= 0.0));
        start += m;
        counts.push(m);
    }
    assert_eq!(start, minutes.len());
    counts
}

#[test]
fn minute_bars_agree_with_daily_bars_including_an_early_close() {
    // Ends on the day after Thanksgiving 2025, a 13:00 close.
    let end = NaiveDate::from_ymd_opt(2025, 11, 28).unwrap();
    let cfg = SynthConfig {
        symbols: 8,
        years: 1,
        seed: 23,
        end,
        minute_days: 3,
        minute_symbols: Some(20),
        ..Default::default()
    };
    let u = Universe::new(&cfg).unwrap();
    for i in 0..20 {
        assert_eq!(assert_minutes_match_daily(&u, i), vec![390, 390, 210], "symbol {i}");
    }
    assert!(u.minute(20).is_none(), "beyond the minute_symbols cap");
    let none = Universe::new(&SynthConfig { minute_days: 0, ..cfg }).unwrap();
    assert!(none.minute(0).is_none());
}

#[test]
fn minute_volume_is_heavier_at_the_open_and_close_than_at_midday() {
    // Ten full sessions, December 8–19, 2025.
    let end = NaiveDate::from_ymd_opt(2025, 12, 19).unwrap();
    let cfg = SynthConfig {
        symbols: 10,
        years: 1,
        seed: 29,
        end,
        minute_days: 10,
        minute_symbols: None,
        ..Default::default()
    };
    let u = Universe::new(&cfg).unwrap();
    let (mut first, mut mid, mut last) = (0.0, 0.0, 0.0);
    for i in 16..26 {
        let bars = u.minute(i).unwrap();
        for day in bars.volume().chunks(390) {
            assert_eq!(day.len(), 390);
            first += day[..30].iter().sum::<f64>();
            mid += day[180..210].iter().sum::<f64>();
            last += day[360..].iter().sum::<f64>();
        }
    }
    assert!(first > 2.5 * mid && last > 1.5 * mid, "first {first} mid {mid} last {last}");
}

#[test]
fn minute_days_beyond_the_history_cover_every_session() {
    let cfg = SynthConfig {
        symbols: 0,
        years: 1,
        seed: 41,
        minute_days: 10_000,
        minute_symbols: Some(1),
        ..Default::default()
    };
    let u = Universe::new(&cfg).unwrap();
    let counts = assert_minutes_match_daily(&u, 0);
    assert_eq!(counts.len(), u.days().len());
    assert_eq!(counts.iter().filter(|&&m| m == 210).count(), 3, "2025 has three 13:00 closes");
}

#[test]
fn impossible_configs_are_errors() {
    assert_eq!(Universe::new(&config(1, 0, 1)).unwrap_err(), SynthError::NoYears);
    let err = Universe::new(&config(1, 300, 1)).unwrap_err();
    assert!(matches!(err, SynthError::OutOfRange { .. }));
    assert!(err.to_string().contains("1900"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn minute_bars_match_daily_bars_for_any_seed(seed in any::<u64>(), days in 1usize..4) {
        let cfg = SynthConfig { symbols: 3, years: 1, seed, minute_days: days, minute_symbols: None, ..Default::default() };
        let u = Universe::new(&cfg).unwrap();
        for i in 0..u.symbols().len() {
            assert_minutes_match_daily(&u, i);
        }
    }
}
