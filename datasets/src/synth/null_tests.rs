//! The planted-effect switches and the null universe: names, truth, no drift, no dependence.
//!
//! Every tolerance is a number of robust standard errors computed from the sample itself
//! (heteroskedasticity-consistent, so volatility clustering does not inflate the error rate),
//! with a Bonferroni bound over the symbols tested; none is tuned to a seed.

use super::*;
use crate::AssetClass;

fn universe(symbols: usize, years: u32, seed: u64, effects: Effects) -> Universe {
    let config = SynthConfig {
        symbols,
        years,
        seed,
        minute_days: 0,
        minute_symbols: None,
        effects,
        ..SynthConfig::default()
    };
    Universe::new(&config).unwrap()
}

/// Positions of the tradable symbols (everything but the index).
fn tradable(u: &Universe) -> Vec<usize> {
    (0..u.symbols().len()).filter(|&i| u.symbols()[i].asset_class != AssetClass::Index).collect()
}

/// Close-to-close simple returns.
fn simple_returns(close: &[f64]) -> Vec<f64> {
    close.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

/// Each day's overnight gap and the session after it (simple returns), from the second bar on.
fn gap_and_session(bars: &Bars) -> (Vec<f64>, Vec<f64>) {
    let (open, close) = (bars.open(), bars.close());
    let gap = (1..bars.len()).map(|t| open[t] / close[t - 1] - 1.0).collect();
    let session = (1..bars.len()).map(|t| close[t] / open[t] - 1.0).collect();
    (gap, session)
}

/// `mean / robust standard error` of `x` (the standard error `√Σ(x − x̄)² / n`).
fn mean_z(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let ss: f64 = x.iter().map(|v| (v - m).powi(2)).sum();
    m / (ss.sqrt() / n)
}

/// z-statistic of the slope of `y` on `x` through their means, with the
/// heteroskedasticity-consistent standard error `√Σ x̃² ỹ² / Σ x̃²` (White); under independence
/// it is about standard normal whatever the volatility clustering.
fn slope_z(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut s22) = (0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (a, b) = (a - mx, b - my);
        sxy += a * b;
        s22 += a * a * b * b;
    }
    sxy / s22.sqrt()
}

/// Least-squares slope of `y` on `x`.
fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    sxy / x.iter().map(|a| (a - mx).powi(2)).sum::<f64>()
}

/// `y` minus its least-squares fit on `a` and `b` (slopes only: a drift in `y` that the
/// regressors do not explain stays in the residuals).
fn residuals2(y: &[f64], a: &[f64], b: &[f64]) -> Vec<f64> {
    let n = y.len() as f64;
    let m = |x: &[f64]| x.iter().sum::<f64>() / n;
    let (my, ma, mb) = (m(y), m(a), m(b));
    let dot = |x: &[f64], mx: f64, z: &[f64], mz: f64| {
        x.iter().zip(z).map(|(p, q)| (p - mx) * (q - mz)).sum::<f64>()
    };
    let (saa, sbb, sab) = (dot(a, ma, a, ma), dot(b, mb, b, mb), dot(a, ma, b, mb));
    let (say, sby) = (dot(a, ma, y, my), dot(b, mb, y, my));
    let det = saa * sbb - sab * sab;
    let (ba, bb) = ((sbb * say - sab * sby) / det, (saa * sby - sab * say) / det);
    y.iter().zip(a).zip(b).map(|((y, a), b)| y - ba * a - bb * b).collect()
}

/// A two-sided threshold `x` with `P(|Z| > x) ≤ alpha / tests` for a standard normal `Z`
/// (Bonferroni over `tests`), from the Mills bound `P(|Z| > x) ≤ 2φ(x)/x` (valid for `x ≥ 1`).
fn bonferroni(alpha: f64, tests: usize) -> f64 {
    let per_test = alpha / tests as f64;
    (2.0 * (2.0 / (per_test * (2.0 * std::f64::consts::PI).sqrt())).ln()).sqrt().max(1.0)
}

/// Family-wise false-alarm rate of every check of the null below.
const ALPHA: f64 = 1e-3;

/// One-sided 1 % critical value of a standard normal: an effect switched on must push its
/// statistic past this (power checks; the effects are planted far stronger than that).
const DETECT: f64 = 2.326;

#[test]
fn effect_names_parse_display_and_unknown_names_are_errors() {
    assert_eq!("none".parse::<Effects>().unwrap(), Effects::NONE);
    assert_eq!("all".parse::<Effects>().unwrap(), Effects::ALL);
    assert_eq!(Effects::default(), Effects::ALL);
    let two: Effects = "mean_reversion, premium".parse().unwrap();
    assert!(two.has(Effect::MeanReversion) && two.has(Effect::Premium) && !two.has(Effect::Trending));
    assert_eq!(two.to_string(), "mean_reversion,premium");
    assert_eq!(two.to_string().parse::<Effects>().unwrap(), two);
    let every = Effect::ALL.map(Effect::name).join(",");
    assert_eq!(every.parse::<Effects>().unwrap(), Effects::ALL);
    assert_eq!(Effects::ALL.iter().count(), Effect::ALL.len());
    let err = "mean_reversion,momentum".parse::<Effects>().unwrap_err();
    assert_eq!(err.name, "momentum");
    let text = err.to_string();
    assert!(text.starts_with("unknown planted effect `momentum`; expected `all`, `none` or"), "{text}");
    assert!(text.contains("sector_momentum") && text.contains("convexity"), "{text}");
    assert!("".parse::<Effects>().is_err());
    // Every effect that a family should find names one.
    for effect in [Effect::RegimeDrift, Effect::SectorMomentum, Effect::MeanReversion, Effect::Premium] {
        assert!(!effect.families().is_empty(), "{effect}");
    }
    assert_eq!(Effect::GapFills.families(), ["gap_fill"]);
}

#[test]
fn a_null_universe_lists_the_same_symbols_and_regimes_with_no_planted_style() {
    let planted = universe(60, 3, 5, Effects::ALL);
    let null = universe(60, 3, 5, Effects::NONE);
    assert_eq!(null.effects(), Effects::NONE);
    assert_eq!(planted.effects(), Effects::ALL);
    assert_eq!(null.symbols(), planted.symbols());
    assert_eq!(null.regimes(), planted.regimes());
    assert_eq!(null.days(), planted.days());
    assert!((0..null.symbols().len()).all(|i| null.style(i).is_none_or(|s| s == StockStyle::Plain)));
    let styled = |u: &Universe, s| (0..u.symbols().len()).filter(|&i| u.style(i) == Some(s)).count();
    assert!(styled(&planted, StockStyle::MeanReverting) > 0 && styled(&planted, StockStyle::Trending) > 0);
    // One effect back: its names return, the other style stays off.
    let mr = universe(60, 3, 5, Effects::NONE.with(Effect::MeanReversion));
    assert_eq!(styled(&mr, StockStyle::MeanReverting), styled(&planted, StockStyle::MeanReverting));
    assert_eq!(styled(&mr, StockStyle::Trending), 0);
}

#[test]
fn the_null_is_a_martingale_every_symbol_and_a_hedged_book_have_no_drift() {
    let u = universe(150, 10, 2024, Effects::NONE);
    let assets = tradable(&u);
    let returns: Vec<Vec<f64>> = assets.iter().map(|&i| simple_returns(u.daily(i).close())).collect();
    let limit = bonferroni(ALPHA, assets.len() + 1);
    for (&i, r) in assets.iter().zip(&returns) {
        let z = mean_z(r);
        assert!(
            z.abs() < limit,
            "{}: mean simple return {z:.2} standard errors from zero",
            u.symbols()[i].symbol
        );
    }
    // The market and the sectors cancel out of an equal-weight book of stocks each hedged with
    // SPY and its sector's ETF, which leaves a small standard error: a diversification return
    // (e.g. from log drifts) would show up here.
    let hedged = |u: &Universe| {
        let spy = simple_returns(u.daily(0).close());
        let etfs: Vec<Vec<f64>> = (1..=11).map(|j| simple_returns(u.daily(j).close())).collect();
        let residuals: Vec<Vec<f64>> = (0..u.symbols().len())
            .filter(|&i| u.symbols()[i].asset_class == AssetClass::Equity)
            .map(|i| {
                let etf = (1..=11).position(|j| u.symbols()[j].sector == u.symbols()[i].sector).unwrap();
                residuals2(&simple_returns(u.daily(i).close()), &spy, &etfs[etf])
            })
            .collect();
        let book: Vec<f64> = (0..spy.len())
            .map(|t| residuals.iter().map(|r| r[t]).sum::<f64>() / residuals.len() as f64)
            .collect();
        mean_z(&book)
    };
    let z = hedged(&u);
    assert!(z.abs() < limit, "hedged equal-weight book: {z:.2} standard errors from zero");
    // The same statistic sees the convexity effect (log drifts earn half the variance) over
    // twenty years, where its expected z is about 4.5.
    let convex = universe(150, 20, 2024, Effects::NONE.with(Effect::Convexity));
    let z = hedged(&convex);
    assert!(z > DETECT, "with convexity planted the hedged book should drift up, z = {z:.2}");
}

#[test]
fn null_returns_are_serially_independent_and_the_session_ignores_the_gap() {
    let u = universe(150, 10, 77, Effects::NONE);
    let assets = tradable(&u);
    // Two checks per symbol: lag-one dependence and gap → session dependence.
    let limit = bonferroni(ALPHA, 2 * assets.len());
    for &i in &assets {
        let bars = u.daily(i);
        let r = simple_returns(bars.close());
        let z = slope_z(&r[..r.len() - 1], &r[1..]);
        assert!(z.abs() < limit, "{}: lag-one slope {z:.2} standard errors from zero", u.symbols()[i].symbol);
        let (gap, session) = gap_and_session(&bars);
        let z = slope_z(&gap, &session);
        assert!(z.abs() < limit, "{}: session on gap slope {z:.2} standard errors", u.symbols()[i].symbol);
        assert!(mean_z(&gap).abs() < limit, "{}: the open drifts", u.symbols()[i].symbol);
    }
}

#[test]
fn each_switched_on_effect_is_detectable_by_the_same_checks() {
    // Mean reversion alone: over twenty years most mean-reverting names fail the lag-one check
    // on their returns net of the market, downwards.
    let u = universe(100, 20, 77, Effects::NONE.with(Effect::MeanReversion));
    let names: Vec<usize> =
        (0..u.symbols().len()).filter(|&i| u.style(i) == Some(StockStyle::MeanReverting)).collect();
    let spy = simple_returns(u.daily(0).close());
    let caught = names
        .iter()
        .filter(|&&i| {
            let r = simple_returns(u.daily(i).close());
            let beta = slope(&spy, &r);
            let e: Vec<f64> = r.iter().zip(&spy).map(|(a, m)| a - beta * m).collect();
            slope_z(&e[..e.len() - 1], &e[1..]) < -DETECT
        })
        .count();
    assert!(caught * 10 >= names.len() * 9, "{caught} of {} mean-reverting names caught", names.len());
    // Gap continuation alone: the session follows the gap in most stocks.
    let u = universe(40, 10, 77, Effects::NONE.with(Effect::GapContinuation));
    let stocks: Vec<usize> = (0..u.symbols().len()).filter(|&i| u.style(i).is_some()).collect();
    let caught = stocks
        .iter()
        .filter(|&&i| {
            let (gap, session) = gap_and_session(&u.daily(i));
            slope_z(&gap, &session) > DETECT
        })
        .count();
    assert!(caught * 10 >= stocks.len() * 9, "{caught} of {} stocks continue their gap", stocks.len());
}

#[test]
fn on_the_benchmarks_planted_universes_the_session_fills_the_gap() {
    // `gap_fill` buys a gap down for its fill: on the universes the truth benchmark plants, the
    // session must reverse the gap (a negative session-on-gap slope) in most stocks, or the
    // benchmark would judge the family on an effect another one cancels.
    let u = universe(40, 10, 78, Effects::FINDABLE);
    let stocks: Vec<usize> = (0..u.symbols().len()).filter(|&i| u.style(i).is_some()).collect();
    let caught = stocks
        .iter()
        .filter(|&&i| {
            let (gap, session) = gap_and_session(&u.daily(i));
            slope_z(&gap, &session) < -DETECT
        })
        .count();
    assert!(caught * 10 >= stocks.len() * 9, "{caught} of {} stocks fill their gap", stocks.len());
    // Every effect a family should find is planted there.
    for effect in Effect::ALL.into_iter().filter(|e| !e.families().is_empty()) {
        assert!(Effects::FINDABLE.has(effect), "{effect}");
    }
}

#[test]
fn the_compensators_make_each_shock_a_fair_bet() {
    use rand::Rng;
    let mut rng = rng::stream(99, rng::Stream::Market);
    let n = 400_000;
    // Fat-tailed diffusive shocks at a calm and at a crisis volatility.
    for s in [0.01, 0.12] {
        let draws: Vec<f64> =
            (0..n).map(|_| (s * rng::student_t6(&mut rng) - daily::t6_log_mgf(s)).exp()).collect();
        let z = mean_z(&draws.iter().map(|x| x - 1.0).collect::<Vec<_>>());
        assert!(z.abs() < bonferroni(ALPHA, 3), "s = {s}: E[exp(shock)] is {z:.2} standard errors from 1");
    }
    // Jumps of s.d. 8 % one day in four, kept whole.
    let (prob, sd) = (0.25, 0.08);
    let c = daily::jump_log_mgf(prob, sd, 0.0);
    let draws: Vec<f64> = (0..n)
        .map(|_| {
            let jump = if rng.random::<f64>() < prob { sd * rng::normal(&mut rng) } else { 0.0 };
            (jump - c).exp() - 1.0
        })
        .collect();
    let z = mean_z(&draws);
    assert!(z.abs() < bonferroni(ALPHA, 3), "jumps: E[exp(jump)] is {z:.2} standard errors from 1");
}

/// xxh3 of every bar (timestamps and the bits of open, high, low, close, volume) of every
/// symbol, daily then minute.
fn fingerprint(config: &SynthConfig) -> u64 {
    let u = Universe::new(config).unwrap();
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for i in 0..u.symbols().len() {
        for bars in [Some(u.daily(i)), u.minute(i)].into_iter().flatten() {
            for t in 0..bars.len() {
                let b = bars.bar(t);
                for x in [b.open, b.high, b.low, b.close, b.volume] {
                    h.update(&x.to_bits().to_le_bytes());
                }
                h.update(&b.ts.0.to_le_bytes());
            }
        }
    }
    h.digest()
}

#[test]
fn the_planted_default_is_bit_identical_to_the_generator_before_the_switches() {
    // Recorded with the generator as it was before effects became switches (commit f063988).
    let cases = [((30, 4, 42, 2), 0xa2a0_7724_4a4b_8cf7_u64), ((12, 20, 7, 0), 0x2838_c97c_83f0_397f)];
    for ((symbols, years, seed, minute_days), want) in cases {
        let config =
            SynthConfig { symbols, years, seed, minute_days, minute_symbols: None, ..SynthConfig::default() };
        assert_eq!(config.effects, Effects::ALL);
        assert_eq!(fingerprint(&config), want, "{symbols} stocks, {years} years, seed {seed}");
    }
}

/// The strength multiplies what is planted and leaves a null universe as it is: a null at 4×
/// is bit for bit the null at 1×; at 4× a quarter of the stocks or more mean-revert (15 %·4 =
/// 60 % expected; 200 draws give a binomial s.d. of 3.5 %), the trending names' monthly
/// returns wander four times as far from the plain names', and the market drifts more in a
/// calm regime.
#[test]
fn the_strength_scales_each_planted_effect_and_leaves_the_null_alone() {
    let at = |effects: Effects, k: f64, seed: u64| SynthConfig {
        symbols: 200,
        years: 4,
        seed,
        minute_days: 0,
        minute_symbols: None,
        effects,
        strength: Strengths::uniform(Strength::new(k).unwrap()),
        ..SynthConfig::default()
    };
    let null = SynthConfig { symbols: 6, ..at(Effects::NONE, 1.0, 5) };
    assert_eq!(fingerprint(&null), fingerprint(&SynthConfig { strength: "4".parse().unwrap(), ..null }));

    let share = |k: f64| {
        let u = Universe::new(&at(Effects::ALL, k, 5)).unwrap();
        let reverting =
            (0..u.symbols().len()).filter(|&i| u.style(i) == Some(StockStyle::MeanReverting)).count();
        reverting as f64 / 200.0
    };
    let (one, four) = (share(1.0), share(4.0));
    assert!(
        (one - 0.15).abs() < 4.0 * 0.025 && (four - 0.60).abs() < 4.0 * 0.035,
        "{one} at 1×, {four} at 4×"
    );

    // Trending names: the s.d. of their yearly log drift (the mean of each name's daily log
    // return, annualised) minus the plain names' spread grows with the strength.
    let spread = |k: f64| {
        let u = Universe::new(&at(Effects::NONE.with(Effect::Trending), k, 9)).unwrap();
        let drift = |i: usize| {
            let c = u.daily(i).close().to_vec();
            (c[c.len() - 1] / c[0]).ln() / 4.0
        };
        let sd = |style: StockStyle| {
            let d: Vec<f64> =
                (0..u.symbols().len()).filter(|&i| u.style(i) == Some(style)).map(drift).collect();
            let m = d.iter().sum::<f64>() / d.len() as f64;
            (d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / d.len() as f64).sqrt()
        };
        sd(StockStyle::Trending) / sd(StockStyle::Plain)
    };
    let (one, four) = (spread(1.0), spread(4.0));
    assert!(four > 2.0 * one, "trending vs plain spread of 4-year drifts: {one:.2} at 1×, {four:.2} at 4×");

    for bad in ["0", "-1", "nan", "inf", "x"] {
        let e = bad.parse::<Strength>().unwrap_err().to_string();
        assert!(e.contains("must be a positive number") && e.contains(bad), "{e}");
    }
    assert_eq!("2.5".parse::<Strength>().unwrap().get(), 2.5);
}

/// `--strength` reads one `K` for every effect or a list of named effects at their own `K`
/// (the rest at 1), and names what it cannot read.
#[test]
fn a_strength_is_one_multiplier_or_a_list_of_named_effects() {
    let k = |s: &str| s.parse::<Strengths>();
    let three = k("3").unwrap();
    assert_eq!(three.single(), Some(Strength::new(3.0).unwrap()));
    assert_eq!(
        k("regime_drift=3,sector_momentum=3,mean_reversion=3,trending=3,premium=3,gap_fills=3").unwrap(),
        three
    );
    let two = k(" mean_reversion=3 , premium=2.5").unwrap();
    assert_eq!(two.of(Effect::MeanReversion).get(), 3.0);
    assert_eq!(two.of(Effect::Premium).get(), 2.5);
    for rest in
        [Effect::RegimeDrift, Effect::SectorMomentum, Effect::Trending, Effect::GapFills, Effect::Anchor]
    {
        assert_eq!(two.of(rest), Strength::ONE, "{rest}");
    }
    assert_eq!(two.single(), None);
    assert_eq!(two.to_string(), "mean_reversion=3,premium=2.5");
    assert_eq!(k(&two.to_string()).unwrap(), two);
    assert_eq!(k("1").unwrap(), Strengths::ONE);
    assert_eq!(k("premium=1").unwrap(), Strengths::ONE);
    assert_eq!(Strengths::ONE.phrase(), "");
    assert_eq!(three.phrase(), " at 3× strength");
    assert_eq!(k("trending=2.2").unwrap().phrase(), " with trending at 2.2× strength (the rest at 1×)");

    let err = |s: &str| k(s).unwrap_err().to_string();
    let e = err("momentum=2");
    assert!(
        e.contains("unknown planted effect `momentum`") && e.contains("sector_momentum, mean_reversion"),
        "{e}"
    );
    assert!(!e.contains("anchor"), "only the scaled effects are offered: {e}");
    let e = err("premium=0");
    assert!(e.contains("the strength of `premium` must be a positive number") && e.contains("`0`"), "{e}");
    let e = err("premium=-2,trending=2");
    assert!(e.contains("`premium`") && e.contains("`-2`"), "{e}");
    let e = err("anchor=2");
    assert!(e.contains("`anchor` has no strength to scale"), "{e}");
    let e = err("premium=2,trending");
    assert!(e.contains("`trending` is not `effect=K`"), "{e}");
    let e = err("0");
    assert!(e.contains("must be a positive number") && e.contains("`0`"), "{e}");
}

/// A named strength changes its own effect and nothing else: with its effect switched off, a
/// universe at `effect=3` is bit for bit the universe at 1×, and with it on it is not. (The
/// mean-reverting names a stronger `mean_reversion` adds are drawn apart from the trending
/// ones, so the trending names stay the same.)
#[test]
fn a_named_strength_changes_only_its_effect() {
    let base = SynthConfig {
        symbols: 30,
        years: 2,
        seed: 11,
        minute_days: 0,
        minute_symbols: None,
        effects: Effects::ALL,
        ..SynthConfig::default()
    };
    for effect in Effect::SCALED {
        let strong = Strengths::ONE.with(effect, Strength::new(3.0).unwrap());
        let without = SynthConfig { effects: Effects::ALL.without(effect), ..base };
        assert_eq!(
            fingerprint(&SynthConfig { strength: strong, ..without }),
            fingerprint(&without),
            "{effect}=3 changed a universe without {effect}"
        );
        assert_ne!(
            fingerprint(&SynthConfig { strength: strong, ..base }),
            fingerprint(&base),
            "{effect}=3 changed nothing"
        );
    }
    // The trending names are the same whatever the strength of mean_reversion.
    let styles = |strength: Strengths| {
        let u = Universe::new(&SynthConfig { symbols: 200, strength, ..base }).unwrap();
        (0..u.symbols().len()).map(|i| u.style(i)).collect::<Vec<_>>()
    };
    let (one, three) = (styles(Strengths::ONE), styles("mean_reversion=3".parse().unwrap()));
    let trending = |s: &[Option<StockStyle>]| {
        s.iter()
            .enumerate()
            .filter(|(_, s)| **s == Some(StockStyle::Trending))
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    };
    assert_eq!(trending(&one), trending(&three));
    let reverting =
        |s: &[Option<StockStyle>]| s.iter().filter(|s| **s == Some(StockStyle::MeanReverting)).count();
    assert!(reverting(&three) > 2 * reverting(&one), "{} → {}", reverting(&one), reverting(&three));
}
