//! Strategy-library tests on a small synthetic universe and on the GOOG sample.

use std::path::Path;
use std::sync::OnceLock;

use datasets::calendar;
use datasets::ingest::{ImportOptions, read_file};
use datasets::synth::{SynthConfig, Universe};
use datasets::{Bar, Bars, SymbolMeta, Timeframe, Timestamp};

use super::*;
use crate::regime::{Regime, RegimeRules};
use crate::sim::{PortfolioResult, RefusalReason, TradeRules};

/// Daily bars of SPY, the sector ETFs, TLT/GLD/SHY, VIX and 40 stocks over three years, and
/// minute bars of the first 28 symbols (funds, VIX, 12 stocks) over the last 20 sessions.
fn universe() -> &'static (MarketData, MarketData) {
    static DATA: OnceLock<(MarketData, MarketData)> = OnceLock::new();
    DATA.get_or_init(|| {
        let config = SynthConfig {
            symbols: 40,
            years: 3,
            seed: 11,
            minute_days: 20,
            minute_symbols: Some(28),
            ..SynthConfig::default()
        };
        let u = Universe::new(&config).unwrap();
        let meta = |i: usize| u.symbols()[i].clone();
        let daily = (0..u.symbols().len()).map(|i| SymbolData { meta: meta(i), bars: u.daily(i) }).collect();
        let minute = (0..u.symbols().len())
            .filter_map(|i| u.minute(i).map(|bars| SymbolData { meta: meta(i), bars }))
            .collect();
        (MarketData::new(Timeframe::Day1, daily).unwrap(), MarketData::new(Timeframe::Min1, minute).unwrap())
    })
}

fn daily() -> &'static MarketData {
    &universe().0
}

fn minute() -> &'static MarketData {
    &universe().1
}

/// The data each strategy is meant for.
fn data_for(strategy: &dyn Strategy) -> &'static MarketData {
    if strategy.name() == "gap_fill" { minute() } else { daily() }
}

fn defaults(strategy: &dyn Strategy) -> Params {
    Params::defaults(strategy.space())
}

/// Every bar after `t` of every symbol moved (prices scaled up or down by a pattern that
/// differs between symbols, so ranks change too; volume tripled).
fn perturbed_after(data: &MarketData, t: usize) -> MarketData {
    let symbols = data
        .symbols()
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let rows: Vec<Bar> = s
                .bars
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    if i <= t {
                        return b;
                    }
                    let f = if (7 * i + 3 * k) % 5 < 2 { 1.37 } else { 0.61 };
                    Bar {
                        open: b.open * f,
                        high: b.high * f,
                        low: b.low * f,
                        close: b.close * f,
                        volume: b.volume * 3.0,
                        ..b
                    }
                })
                .collect();
            SymbolData { meta: s.meta.clone(), bars: Bars::from_bars(rows).unwrap() }
        })
        .collect();
    MarketData::new(data.timeframe(), symbols).unwrap()
}

fn entries(set: &SignalSet) -> usize {
    set.legs.iter().flat_map(|l| &l.signals).filter(|s| matches!(s, Signal::Enter(_))).count()
}

#[test]
fn registry_lists_all_ten_with_valid_defaults() {
    let names: Vec<&str> = registry().iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        [
            "sma_cross",
            "mean_reversion",
            "relative_volume_breakout",
            "gap_fill",
            "vix_regime_rotation",
            "vol_managed_momentum",
            "factor_momentum",
            "sector_rotation",
            "quality_smallcap_value",
            "pairs"
        ]
    );
    for s in registry() {
        assert!(!s.description().is_empty(), "{}", s.name());
        assert!(std::ptr::eq(by_name(s.name()).unwrap().space(), s.space()));
        let p = defaults(*s);
        for (spec, &v) in s.space().specs().iter().zip(p.values()) {
            assert_eq!(spec.check(v), Ok(v), "{} {}", s.name(), spec.name);
        }
        assert_eq!(s.validate(&p), Ok(()), "{}", s.name());
        assert_eq!(s.needs_short(), s.name() == "pairs");
    }
    assert!(by_name("nope").is_none());
}

#[test]
fn sma_cross_on_goog_matches_backtesting_py() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/samples/GOOG.csv");
    let series = read_file(&path, &ImportOptions::default()).unwrap().remove(0);
    assert_eq!(series.symbol, "GOOG");
    let data = MarketData::new(
        series.timeframe,
        vec![SymbolData { meta: SymbolMeta::new("GOOG", datasets::AssetClass::Equity), bars: series.bars }],
    )
    .unwrap();
    let params = Params::parse(SmaCross.space(), ["fast=10", "slow=20"]).unwrap();
    let rules = TradeRules { close_at_end: false, ..TradeRules::default() };
    let bt = backtest(&SmaCross, &params, &data, rules, 10_000.0).unwrap();
    let RunResult::Single(result) = &bt.result else { panic!("one symbol runs through the simulator") };
    assert_eq!(result.activity.trades.len(), 46);
    assert_eq!(bt.metrics.trades, 46);
    let final_equity = *result.equity.last().unwrap();
    assert!((final_equity - 75_645.99).abs() < 0.005, "final equity {final_equity}");
}

#[test]
fn parameter_constraints_and_wrong_spaces_are_clear_errors() {
    let bad = Params::parse(SmaCross.space(), ["fast=30"]).unwrap();
    let err = generate(&SmaCross, &bad, daily()).unwrap_err();
    assert_eq!(err.to_string(), "sma_cross: fast (30) must be below slow (20)");
    let err = Params::parse(SmaCross.space(), ["fast=1"]).unwrap_err();
    assert_eq!(err.to_string(), "parameter `fast` = 1 is invalid: expected an integer in 2..=200");
    let foreign = defaults(&MeanReversion);
    let err = generate(&SmaCross, &foreign, daily()).unwrap_err();
    assert_eq!(err.to_string(), "sma_cross: the parameters belong to another space (expected: fast, slow)");
    let p = Params::parse(VixRegimeRotation.space(), ["calm_below=30"]).unwrap();
    assert!(matches!(VixRegimeRotation.validate(&p), Err(ParamError::Constraint { .. })));
    let p = Params::parse(GapFill.space(), ["min_gap=0.1", "max_gap=0.05"]).unwrap();
    assert_eq!(
        GapFill.validate(&p).unwrap_err().to_string(),
        "gap_fill: min_gap (0.1) must be below max_gap (0.05)"
    );
    let err = generate(&GapFill, &defaults(&GapFill), daily()).unwrap_err();
    assert_eq!(err.to_string(), "gap_fill needs 1Min bars, got 1Day");
}

#[test]
fn pairs_refuses_on_a_cash_account_and_says_why() {
    let err = generate(&Pairs, &defaults(&Pairs), daily()).unwrap_err();
    assert!(matches!(err, StrategyError::NeedsShortLeg { strategy: "pairs", .. }));
    assert_eq!(err.to_string(), format!("pairs refuses to run on a cash account: {PAIRS_REFUSAL}"));
    assert!(PAIRS_REFUSAL.contains("one-legged bet"));
    let err = backtest(&Pairs, &defaults(&Pairs), daily(), TradeRules::default(), 1e5).unwrap_err();
    assert!(err.to_string().contains("cannot sell short"));
}

#[test]
fn every_strategy_trades_its_universe_within_the_cash_rules() {
    for s in registry().iter().filter(|s| !s.needs_short()) {
        let data = data_for(*s);
        let params = defaults(*s);
        let bt = backtest(*s, &params, data, TradeRules::default(), 100_000.0).unwrap();
        let name = s.name();
        assert!(entries(&bt.signals) > 0, "{name} never enters");
        for leg in &bt.signals.legs {
            assert_eq!(leg.signals.len(), data.len(), "{name}");
            assert_ne!(data.symbols()[leg.symbol].meta.symbol, "VIX", "{name} trades the index");
            assert!(!leg.signals.iter().any(|s| s == Signal::EnterShort), "{name}");
        }
        let activities: Vec<&crate::sim::Activity> = match &bt.result {
            RunResult::Single(r) => vec![&r.activity],
            RunResult::Portfolio(p) => p.sleeves.iter().flat_map(|s| &s.legs).map(|l| &l.activity).collect(),
        };
        assert_eq!(activities.len(), bt.signals.legs.len(), "{name}");
        let trades: usize = activities.iter().map(|a| a.trades.len()).sum();
        assert!(trades > 0, "{name} made no trade");
        assert_eq!(bt.metrics.trades, trades, "{name}");
        for a in &activities {
            assert!(a.refusals.iter().all(|r| r.reason != RefusalReason::ShortSelling), "{name}");
        }
        let stored = bt.signals.stored(data, name, params.hash());
        assert_eq!(
            stored.len(),
            bt.signals.legs.iter().flat_map(|l| &l.signals).filter(|s| *s != Signal::Hold).count()
        );
        assert!(stored.windows(2).all(|w| w[0].time <= w[1].time), "{name}: stored in time order");
        assert!(stored.iter().all(|x| x.strategy == name
            && x.param_hash == params.hash()
            && x.strength > 0.0
            && x.strength <= 1.0));
    }
}

#[test]
fn no_strategy_looks_ahead() {
    for s in registry().iter().filter(|s| !s.needs_short()) {
        let data = data_for(*s);
        let params = defaults(*s);
        let base = generate(*s, &params, data).unwrap();
        let n = data.len();
        for t in [n / 3, n / 2, 4 * n / 5] {
            let moved = generate(*s, &params, &perturbed_after(data, t)).unwrap();
            assert_eq!(moved.legs.len(), base.legs.len(), "{}", s.name());
            for (a, b) in base.legs.iter().zip(&moved.legs) {
                assert_eq!(
                    a.signals.slice(0..t + 1),
                    b.signals.slice(0..t + 1),
                    "{} symbol {} t={t}",
                    s.name(),
                    a.symbol
                );
            }
            // quality_smallcap_value ranks on metadata only, so moving prices changes nothing.
            if s.name() != "quality_smallcap_value" {
                assert!(moved != base, "{}: the perturbation after {t} must change something", s.name());
            }
        }
    }
}

/// `data` with every stock's dated reports rewritten by `edit(known, values)`.
fn with_reports(data: &MarketData, edit: impl Fn(i64, &mut datasets::Fundamentals)) -> MarketData {
    let symbols = data
        .symbols()
        .iter()
        .map(|s| {
            let mut reports = s.meta.reports.to_vec();
            for r in &mut reports {
                edit(r.known, &mut r.values);
            }
            SymbolData {
                meta: SymbolMeta { reports: reports.into(), ..s.meta.clone() },
                bars: s.bars.clone(),
            }
        })
        .collect();
    MarketData::new(data.timeframe(), symbols).unwrap()
}

/// quality_smallcap_value reads only the reports published by each bar: turning every report
/// published after bar `t` upside down (smallest caps biggest, value and quality reversed)
/// leaves every signal up to `t` as it was and changes later ones; without dated reports it
/// falls back to the undated snapshot and says it is not point in time.
#[test]
fn quality_smallcap_value_reads_only_the_reports_known_at_each_bar() {
    let data = daily();
    let s = &QualitySmallcapValue;
    assert_eq!(s.not_point_in_time(data), None, "the synthetic stocks carry dated reports");
    let params = defaults(s);
    let base = generate(s, &params, data).unwrap();
    let ts = data.timestamps();
    for t in [data.len() / 3, data.len() / 2, 4 * data.len() / 5] {
        let flipped = with_reports(data, |known, f| {
            if known > ts[t] {
                f.market_cap = f.market_cap.map(|c| 1e20 / c);
                f.book_to_market = f.book_to_market.map(|b| 1.0 / b);
                f.roe = f.roe.map(|r| -r);
            }
        });
        let moved = generate(s, &params, &flipped).unwrap();
        for (a, b) in base.legs.iter().zip(&moved.legs) {
            assert_eq!(a.signals.slice(0..t + 1), b.signals.slice(0..t + 1), "symbol {} t={t}", a.symbol);
        }
        assert!(moved != base, "reports published after bar {t} must change later decisions");
    }
    let undated = MarketData::new(
        data.timeframe(),
        data.symbols()
            .iter()
            .map(|x| SymbolData {
                meta: SymbolMeta { reports: Default::default(), ..x.meta.clone() },
                bars: x.bars.clone(),
            })
            .collect(),
    )
    .unwrap();
    assert!(s.not_point_in_time(&undated).is_some_and(|why| why.contains("undated")));
    assert!(
        generate(s, &params, &undated).unwrap() != base,
        "the snapshot ranks differently from the reports"
    );
}

#[test]
fn gap_fill_enters_only_in_the_morning_window_and_never_holds_overnight() {
    let data = minute();
    let set = generate(&GapFill, &defaults(&GapFill), data).unwrap();
    let ts = data.timestamps();
    assert!(entries(&set) >= 5, "only {} entries", entries(&set));
    for leg in &set.legs {
        let mut open_since: Option<usize> = None;
        for (t, sig) in leg.signals.iter().enumerate() {
            let now = Timestamp(ts[t]);
            match sig {
                Signal::Enter(_) => {
                    let m = calendar::minutes_since_open(now).unwrap();
                    assert!((1..=120).contains(&m), "entry at minute {m} ({now})");
                    assert!(open_since.is_none(), "one position at a time");
                    open_since = Some(t);
                }
                Signal::Exit => {
                    let entry = open_since.take().expect("exit only after an entry");
                    assert_eq!(calendar::session_date(now), calendar::session_date(Timestamp(ts[entry])));
                }
                _ => {}
            }
        }
        assert!(open_since.is_none(), "every entry is closed the same session");
    }
    // Narrowing the gap band to nothing reachable removes every entry.
    let p = Params::parse(GapFill.space(), ["min_gap=0.19", "max_gap=0.2"]).unwrap();
    assert_eq!(entries(&generate(&GapFill, &p, data).unwrap()), 0);
}

/// The symbols `set` means to hold after each bar's signals: an entry adds its leg, an exit
/// removes it, a hold keeps it as it was.
fn targets<'a>(set: &SignalSet, data: &'a MarketData) -> Vec<Vec<&'a str>> {
    let mut held = vec![false; set.legs.len()];
    (0..data.len())
        .map(|t| {
            for (h, leg) in held.iter_mut().zip(&set.legs) {
                match leg.signals.get(t) {
                    Signal::Enter(_) => *h = true,
                    Signal::Exit => *h = false,
                    _ => {}
                }
            }
            let symbol = |l: &LegSignals| data.symbols()[l.symbol].meta.symbol.as_str();
            set.legs.iter().zip(&held).filter(|(_, h)| **h).map(|(l, _)| symbol(l)).collect()
        })
        .collect()
}

#[test]
fn vix_rotation_holds_spy_exactly_when_the_regime_is_calm_or_normal() {
    let data = daily();
    let set = generate(&VixRegimeRotation, &defaults(&VixRegimeRotation), data).unwrap();
    let regimes = RegimeRules::default().classify(data.symbols()[data.find("VIX").unwrap()].bars.close());
    let legs: Vec<&str> = set.legs.iter().map(|l| data.symbols()[l.symbol].meta.symbol.as_str()).collect();
    assert_eq!(legs, ["SPY", "TLT", "GLD", "SHY"]);
    let lookback = 63;
    let held = targets(&set, data);
    let risk_off = |t: usize| regimes[t].unwrap().is_risk_off();
    let month = |t: usize| calendar::session_date(data.time(t)).format("%Y-%m").to_string();
    let mut chosen = std::collections::BTreeSet::new();
    for t in 0..data.len() {
        if !risk_off(t) {
            assert_eq!(held[t], ["SPY"], "at {t}");
            continue;
        }
        if t < lookback {
            assert!(held[t].is_empty(), "no defensive has {lookback} bars of history at {t}");
            continue;
        }
        assert_eq!(held[t].len(), 1, "one defensive at {t}: {:?}", held[t]);
        assert_ne!(held[t][0], "SPY", "at {t}");
        chosen.insert(held[t][0]);
        let entered = set.legs[1..].iter().any(|l| matches!(l.signals.get(t), Signal::Enter(_)));
        let rerank = !risk_off(t - 1) || month(t) != month(t - 1) || t == lookback;
        assert_eq!(entered, rerank, "re-ranks at {t} only on a switch, a month start or bar {lookback}");
        if rerank {
            // The highest 63-bar return among the defensives, ties to the earlier of TLT, GLD, SHY.
            let trailing = |s: &str| {
                let close = data.symbols()[data.find(s).unwrap()].bars.close();
                close[t] / close[t - lookback] - 1.0
            };
            let best = ["TLT", "GLD", "SHY"]
                .into_iter()
                .reduce(|a, b| if trailing(b) > trailing(a) { b } else { a });
            assert_eq!(held[t], [best.unwrap()], "best trailing return at {t}");
        }
    }
    assert!(regimes.contains(&Some(Regime::Calm)));
    assert!(chosen.len() >= 2, "the ranking is live: chose {chosen:?}");
}

#[test]
fn vix_rotation_holds_the_defensive_that_led_at_the_last_rerank() {
    // 70 calendar days from Tuesday 2024-01-02 (bar 30 is Feb 1, bar 59 is Mar 1).
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
    let symbol = |name: &str, class, close: &dyn Fn(usize) -> f64| {
        let bars = (0..70).map(|t| {
            let c = close(t);
            let ts = calendar::daily_bar_timestamp(start + chrono::Days::new(t as u64));
            Bar { ts, open: c, high: c, low: c, close: c, volume: 1e6, vwap: None, trade_count: None }
        });
        SymbolData { meta: SymbolMeta::new(name, class), bars: Bars::from_bars(bars).unwrap() }
    };
    use datasets::AssetClass::{Etf, Index};
    let data = MarketData::new(
        Timeframe::Day1,
        vec![
            symbol("SPY", Etf, &|_| 100.0),
            // TLT gains 0.5 % a day throughout; GLD 1 % a day until bar 45, SHY 1 % a day after.
            symbol("TLT", Etf, &|t| 100.0 * 1.005f64.powi(t as i32)),
            symbol("GLD", Etf, &|t| 100.0 * 1.01f64.powi(t.min(45) as i32)),
            symbol("SHY", Etf, &|t| 100.0 * 1.01f64.powi(t.saturating_sub(45) as i32)),
            // Stressed, calm from bar 25, stressed again from bar 40.
            symbol("VIX", Index, &|t| if (25..40).contains(&t) { 12.0 } else { 30.0 }),
        ],
    )
    .unwrap();
    let run = |rerank_months: &str| {
        let p = Params::parse(VixRegimeRotation.space(), ["defensive_lookback=21", rerank_months]).unwrap();
        let set = generate(&VixRegimeRotation, &p, &data).unwrap();
        let mut enters = Vec::new();
        for (t, leg) in (0..data.len()).flat_map(|t| set.legs.iter().map(move |l| (t, l))) {
            let name = data.symbols()[leg.symbol].meta.symbol.as_str();
            if matches!(leg.signals.get(t), Signal::Enter(_)) && name != "SPY" {
                enters.push((t, name));
            }
        }
        (targets(&set, &data), enters)
    };
    let expect = |spans: &[(std::ops::Range<usize>, &'static str)]| -> Vec<Vec<&'static str>> {
        let mut out = vec![vec![]; 70];
        for (bars, s) in spans {
            out[bars.clone()].fill(vec![*s]);
        }
        out
    };
    // Bar 21 (first with 21 bars of history): GLD +23 % beats TLT +11 %. Bar 40 (switch back to
    // stressed): the same. Bar 59 (month start): SHY +14.9 % beats TLT +11 % and GLD +7.2 %.
    let (held, enters) = run("rerank_months=1");
    assert_eq!(held, expect(&[(21..25, "GLD"), (25..40, "SPY"), (40..59, "GLD"), (59..70, "SHY")]));
    assert_eq!(enters, [(21, "GLD"), (40, "GLD"), (59, "SHY")]);
    // March 2024 is month 24290 since year 0, not a multiple of 3: no re-rank at bar 59.
    let (held, enters) = run("rerank_months=3");
    assert_eq!(held, expect(&[(21..25, "GLD"), (25..40, "SPY"), (40..70, "GLD")]));
    assert_eq!(enters, [(21, "GLD"), (40, "GLD")]);
}

#[test]
fn vol_managed_momentum_scales_entries_by_inverse_volatility() {
    let set = generate(&VolManagedMomentum, &defaults(&VolManagedMomentum), daily()).unwrap();
    let strengths: Vec<f64> = set
        .legs
        .iter()
        .flat_map(|l| &l.signals)
        .filter_map(|s| if let Signal::Enter(x) = s { Some(x.get()) } else { None })
        .collect();
    assert!(strengths.iter().any(|&x| x < 0.9), "volatile names are scaled down");
    assert!(strengths.contains(&1.0), "quiet names (SHY) get the full budget");
    let p = Params::parse(VolManagedMomentum.space(), ["target_vol=0.05"]).unwrap();
    let low = generate(&VolManagedMomentum, &p, daily()).unwrap();
    for (a, b) in low.legs.iter().zip(&set.legs).flat_map(|(a, b)| a.signals.iter().zip(&b.signals)) {
        if let (Signal::Enter(x), Signal::Enter(y)) = (a, b) {
            assert!(x.get() <= y.get(), "a lower target never raises the strength");
        }
    }
    // The space is an annual volatility in 5–60 %: no dust-sized targets.
    assert!(Params::parse(VolManagedMomentum.space(), ["target_vol=0.02"]).is_err());
    assert!(Params::parse(VolManagedMomentum.space(), ["target_vol=0.61"]).is_err());
}

#[test]
fn ranked_strategies_enter_at_most_k_on_month_starts_only() {
    let data = daily();
    for (s, k) in [(&FactorMomentum as &dyn Strategy, 10), (&SectorRotation, 3), (&QualitySmallcapValue, 10)]
    {
        let set = generate(s, &defaults(s), data).unwrap();
        for t in 0..data.len() {
            let enters = set.legs.iter().filter(|l| matches!(l.signals.get(t), Signal::Enter(_))).count();
            let any = set.legs.iter().any(|l| l.signals.get(t) != Signal::Hold);
            assert!(enters <= k, "{} enters {enters} at {t}", s.name());
            if any {
                let month = |i: usize| calendar::session_date(data.time(i)).format("%Y-%m").to_string();
                assert_ne!(month(t), month(t - 1), "{} trades mid-month at {t}", s.name());
                assert_eq!(enters, k, "{}: a rebalance holds exactly k", s.name());
            }
        }
    }
    let sectors = generate(&SectorRotation, &defaults(&SectorRotation), data).unwrap();
    assert_eq!(sectors.legs.len(), 11);
}

#[test]
fn per_symbol_strategies_run_one_symbol_alone_and_many_as_a_portfolio() {
    let data = daily();
    let spy = data.symbols()[data.find("SPY").unwrap()].clone();
    let one = MarketData::new(Timeframe::Day1, vec![spy]).unwrap();
    let single = backtest(&SmaCross, &defaults(&SmaCross), &one, TradeRules::default(), 1e5).unwrap();
    assert!(matches!(single.result, RunResult::Single(_)));
    let many = backtest(&SmaCross, &defaults(&SmaCross), data, TradeRules::default(), 1e5).unwrap();
    let RunResult::Portfolio(p) = &many.result else { panic!("many symbols run as a portfolio") };
    assert_eq!(p.sleeves[0].legs.len(), data.symbols().len() - 1, "every symbol but VIX");
    // The SPY leg's signals are the same whether it runs alone or with the others.
    let spy_leg = many.signals.legs.iter().find(|l| l.symbol == data.find("SPY").unwrap()).unwrap();
    assert_eq!(spy_leg.signals, single.signals.legs[0].signals);
}

#[test]
fn market_data_must_be_aligned() {
    let data = daily();
    let a = data.symbols()[0].clone();
    let mut b = data.symbols()[1].clone();
    b.bars = b.bars.slice(1..b.bars.len());
    let err = MarketData::new(Timeframe::Day1, vec![a, b]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "symbol `XLK` is not aligned with `SPY`: every symbol needs the same timestamps"
    );
    assert!(matches!(MarketData::new(Timeframe::Day1, vec![]), Err(DataError::Empty(_))));
}

#[test]
fn align_fills_gaps_flat_from_the_first_common_bar() {
    let data = daily();
    let ts = data.timestamps();
    let a = data.symbols()[0].clone();
    // `b` starts two bars later and lacks bar 5.
    let mut b = data.symbols()[1].clone();
    let kept: Vec<Bar> = (2..12).filter(|&i| i != 5).map(|i| b.bars.bar(i)).collect();
    b.bars = Bars::from_bars(kept).unwrap();
    let mut a12 = a.clone();
    a12.bars = a.bars.slice(0..12);
    let aligned = MarketData::align(Timeframe::Day1, vec![a12, b.clone()]).unwrap();
    assert_eq!(aligned.timestamps(), &ts[2..12], "the clock starts where both have traded");
    let (sa, sb) = (&aligned.symbols()[0].bars, &aligned.symbols()[1].bars);
    assert_eq!(sa.close(), &a.bars.close()[2..12], "a complete symbol keeps its own bars");
    let filled = sb.bar(3);
    let prev_close = data.symbols()[1].bars.close()[4];
    assert_eq!(filled.ts, Timestamp(ts[5]));
    assert_eq!(
        (filled.open, filled.high, filled.low, filled.close),
        (prev_close, prev_close, prev_close, prev_close)
    );
    assert_eq!(filled.volume, 0.0);
    assert_eq!(sb.bar(4), data.symbols()[1].bars.bar(6), "after the gap its own bars again");
    // Already aligned symbols come back unchanged.
    let same = MarketData::align(Timeframe::Day1, data.symbols().to_vec()).unwrap();
    assert_eq!(&same, data);
    let empty = SymbolData { meta: a.meta.clone(), bars: Bars::from_bars(Vec::<Bar>::new()).unwrap() };
    assert!(matches!(MarketData::align(Timeframe::Day1, vec![a, empty]), Err(DataError::Empty(_))));
}

#[test]
fn market_data_symbols_hold_one_timestamp_column_in_every_stage() {
    let on_one_clock =
        |d: &MarketData| d.symbols().iter().all(|s| std::ptr::eq(s.bars.timestamps(), d.timestamps()));
    let data = daily();
    assert!(on_one_clock(data));
    // `b` filled flat (its own column, built) beside `a`'s bars as loaded.
    let a = data.symbols()[0].clone();
    let mut b = data.symbols()[1].clone();
    b.bars = Bars::from_bars((0..12).filter(|&i| i != 5).map(|i| b.bars.bar(i))).unwrap();
    let mut a12 = a.clone();
    a12.bars = a.bars.slice(0..12);
    let aligned = MarketData::align(Timeframe::Day1, vec![b, a12]).unwrap();
    assert!(on_one_clock(&aligned));
    assert_eq!(aligned.timestamps(), &data.timestamps()[..12]);
    assert!(on_one_clock(&aligned.slice(3..9)) && on_one_clock(&data.slice(10..40)));
}

#[test]
fn align_refuses_or_drops_a_symbol_that_ends_before_the_common_window_instead_of_panicking() {
    let data = daily();
    let ts = data.timestamps();
    // `old` ends at bar 3, `new` starts at bar 6 (GOOG 2004–2013 beside a universe from 2016).
    let mut old = data.symbols()[0].clone();
    old.bars = old.bars.slice(0..4);
    let mut new = data.symbols()[1].clone();
    new.bars = new.bars.slice(6..12);
    let third = data.symbols()[2].clone();
    let symbols = vec![old.clone(), new.clone(), third.clone()];
    let err = MarketData::align(Timeframe::Day1, symbols.clone()).unwrap_err();
    let DataError::NoOverlap(overlap) = &err else { panic!("{err}") };
    assert_eq!(overlap.dropped, [Dropped { symbol: old.meta.symbol.clone(), last: Timestamp(ts[3]) }]);
    assert_eq!((overlap.start, overlap.starter.as_str()), (Timestamp(ts[6]), new.meta.symbol.as_str()));
    assert!(err.to_string().starts_with(&format!("`{}` (last bar ", old.meta.symbol)), "{err}");
    let (kept, overlap) = MarketData::align_overlapping(Timeframe::Day1, symbols).unwrap();
    assert_eq!(overlap.unwrap().dropped.len(), 1);
    let names: Vec<&str> = kept.symbols().iter().map(|s| s.meta.symbol.as_str()).collect();
    assert_eq!(names, [new.meta.symbol.as_str(), third.meta.symbol.as_str()]);
    assert_eq!(kept.timestamps(), &ts[6..]);
}

#[test]
fn align_fills_a_gap_at_the_common_start_from_the_bar_before_it() {
    let data = daily();
    let ts = data.timestamps();
    // `a` lacks bar 2, exactly where `b` starts: the fill repeats `a`'s bar 1.
    let mut a = data.symbols()[0].clone();
    let kept: Vec<Bar> = (0..12).filter(|&i| i != 2).map(|i| a.bars.bar(i)).collect();
    a.bars = Bars::from_bars(kept).unwrap();
    let mut b = data.symbols()[1].clone();
    b.bars = b.bars.slice(2..12);
    let aligned = MarketData::align(Timeframe::Day1, vec![a, b]).unwrap();
    assert_eq!(aligned.timestamps(), &ts[2..12]);
    let filled = aligned.symbols()[0].bars.bar(0);
    assert_eq!(
        (filled.open, filled.close, filled.volume),
        (data.symbols()[0].bars.close()[1], data.symbols()[0].bars.close()[1], 0.0)
    );
}

/// The portfolio run of `strategy` with default parameters on the daily universe, and the
/// average share of its equity held in positions at the close over the bars from the first
/// entry on.
fn invested(strategy: &dyn Strategy) -> (PortfolioResult, f64) {
    let data = daily();
    let bt = backtest(strategy, &defaults(strategy), data, TradeRules::default(), 100_000.0).unwrap();
    let RunResult::Portfolio(p) = bt.result else { panic!("{} runs as a portfolio", strategy.name()) };
    let mut held = vec![0.0; data.len()];
    for leg in &p.sleeves[0].legs {
        let close = data.symbols()[data.find(&leg.symbol).unwrap()].bars.close();
        for t in &leg.activity.trades {
            for (h, c) in held[t.entry_bar..t.exit_bar].iter_mut().zip(&close[t.entry_bar..t.exit_bar]) {
                *h += t.qty * c;
            }
        }
    }
    let first = p.trades().iter().map(|t| t.entry_bar).min().unwrap();
    let bars = first..data.len() - 1;
    let share = bars.clone().map(|t| held[t] / p.equity[t]).sum::<f64>() / bars.len() as f64;
    (p, share)
}

fn max_of(s: &dyn Strategy, data: &MarketData) -> Option<usize> {
    s.max_positions(&defaults(s), data).map(|m| m.get())
}

#[test]
fn strategies_declare_the_positions_they_hold_at_once() {
    let data = daily();
    assert_eq!(max_of(&FactorMomentum, data), Some(10));
    assert_eq!(max_of(&SectorRotation, data), Some(3));
    assert_eq!(max_of(&QualitySmallcapValue, data), Some(10));
    assert_eq!(max_of(&VixRegimeRotation, data), Some(1), "SPY or one defensive");
    assert_eq!(max_of(&SmaCross, data), None);
    let p = Params::parse(FactorMomentum.space(), ["top_k=4"]).unwrap();
    assert_eq!(FactorMomentum.max_positions(&p, data).map(|m| m.get()), Some(4));
}

#[test]
fn ranked_strategies_keep_the_account_invested_without_hitting_their_limit() {
    // Sized on 1/n of the sleeve they held about 27 % of the equity; sized on 1/k, all of it.
    for s in [&FactorMomentum as &dyn Strategy, &SectorRotation, &QualitySmallcapValue] {
        let (p, share) = invested(s);
        assert!(share > 0.98, "{} holds {share:.3} of its equity", s.name());
        let refusals = p.sleeves[0].legs.iter().flat_map(|l| &l.activity.refusals);
        assert_eq!(refusals.count(), 0, "{}", s.name());
    }
}

#[test]
fn vix_rotation_invests_the_whole_account_in_one_leg_at_a_time() {
    // Sized on a third of the sleeve (max_positions 3) it held 37.6 % of its equity.
    let (p, share) = invested(&VixRegimeRotation);
    assert!(share >= 0.98, "holds {share:.3} of its equity");
    let sleeve = &p.sleeves[0];
    let mut trades = Vec::new();
    for leg in &sleeve.legs {
        assert!(leg.activity.refusals.is_empty(), "{}", leg.symbol);
        for t in &leg.activity.trades {
            // The whole equity at the previous close, or the free cash when an exit at the same
            // open sold below that close and left less.
            let slot = sleeve.equity[t.entry_bar - 1];
            let cost = t.qty * t.entry_price;
            assert!(cost <= slot && cost > 0.95 * slot, "{} {cost} vs {slot}", leg.symbol);
            trades.push((t.entry_bar, t.exit_bar, leg.symbol.as_str()));
        }
    }
    trades.sort_unstable();
    assert!(trades.len() >= 4, "{} trades", trades.len());
    for w in trades.windows(2) {
        assert!(w[1].0 >= w[0].1, "{:?} opens before {:?} closes", w[1], w[0]);
    }
    assert!(trades.iter().any(|t| t.2 == "SPY") && trades.iter().any(|t| t.2 != "SPY"));
}

#[test]
fn a_window_backtest_trades_only_its_bars_and_never_sees_past_them() {
    let rules = TradeRules::default();
    for s in registry().iter().filter(|s| !s.needs_short()) {
        let data = data_for(*s);
        let params = defaults(*s);
        let n = data.len();
        let whole = backtest(*s, &params, data, rules, 10_000.0).unwrap();
        let all = backtest_window(*s, &params, data, rules, 10_000.0, 0..n).unwrap();
        assert_eq!(all, whole, "{}: the window over every bar is the plain backtest", s.name());

        let window = n / 2..3 * n / 4;
        let oos = backtest_window(*s, &params, data, rules, 10_000.0, window.clone()).unwrap();
        let equity = match &oos.result {
            RunResult::Single(r) => &r.equity,
            RunResult::Portfolio(r) => &r.equity,
        };
        assert_eq!(equity.len(), window.len(), "{}", s.name());
        let moved = perturbed_after(data, window.end - 1);
        let same = backtest_window(*s, &params, &moved, rules, 10_000.0, window.clone()).unwrap();
        assert_eq!(same.metrics, oos.metrics, "{}: bars after the window leaked in", s.name());
    }
}

/// A family bound to its parameters is a signal source whose backtests are the family's own,
/// bit for bit (whole data and an out-of-sample window), and whose hooks are the family's.
#[test]
fn a_bound_family_runs_as_its_own_backtest() {
    for s in registry().iter().filter(|s| !s.needs_short()) {
        let (data, params, name) = (data_for(*s), defaults(*s), s.name());
        let bound = Bound::new(*s, params.clone()).unwrap();
        assert_eq!((bound.name(), bound.to_string()), (name, format!("{name} {params}")));
        assert!(bound.cadence().is_some(), "{name} has no live time");
        let rules = TradeRules::default();
        let same = |a: &Backtest, b: &Backtest| {
            assert_eq!(a.signals, b.signals, "{name}");
            let bits = |bt: &Backtest| bt.result.equity().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(a), bits(b), "{name}");
            assert_eq!(a.metrics.trades, b.metrics.trades, "{name}");
            assert_eq!(a.metrics.sharpe.to_bits(), b.metrics.sharpe.to_bits(), "{name}");
        };
        same(
            &backtest_source(&bound, data, rules, 50_000.0).unwrap(),
            &backtest(*s, &params, data, rules, 50_000.0).unwrap(),
        );
        let window = data.len() / 2..data.len();
        same(
            &backtest_source_window(&bound, data, rules, 50_000.0, window.clone()).unwrap(),
            &backtest_window(*s, &params, data, rules, 50_000.0, window).unwrap(),
        );
    }
    assert_eq!(Pairs.cadence(), None, "a short-leg family never runs live");
    let bad = Params::parse(SmaCross.space(), ["fast=30", "slow=20"]).unwrap();
    let err = Bound::new(&SmaCross, bad).unwrap_err().to_string();
    assert_eq!(err, "sma_cross: fast (30) must be below slow (20)");
    let err = Bound::new(&SmaCross, defaults(&MeanReversion)).unwrap_err().to_string();
    assert!(err.contains("the parameters belong to another space (expected: fast, slow)"), "{err}");
}

/// `gap_fill`'s diagnostics are the gaps its entry rule trades: every symbol it enters in a
/// session is a candidate of that session, at the session's first bar, with its gap in the band.
#[test]
fn gap_fill_candidates_include_every_symbol_it_enters() {
    let data = minute();
    let params = defaults(&GapFill);
    let (min_gap, max_gap) = (params.real("min_gap"), params.real("max_gap"));
    let bound = Bound::new(&GapFill, params.clone()).unwrap();
    let set = bound.signals(data).unwrap();
    let mut checked = 0;
    for leg in &set.legs {
        let Some(t) = leg.signals.iter().position(|s| matches!(s, Signal::Enter(_))) else { continue };
        let upto = data.slice(0..t + 1);
        let candidates = bound.diagnostics(&upto);
        let c =
            candidates.iter().find(|c| c.symbol == leg.symbol).expect("the entered symbol is a candidate");
        let ts = data.timestamps();
        let first = calendar::minutes_since_open(Timestamp(ts[c.bar]));
        assert_eq!(first, Some(0), "observed at the session's first bar");
        assert_eq!(calendar::session_date(Timestamp(ts[c.bar])), calendar::session_date(Timestamp(ts[t])));
        let bars = &data.symbols()[leg.symbol].bars;
        assert_eq!(c.price, bars.open()[c.bar]);
        assert_eq!(c.strength, -(bars.open()[c.bar] / bars.close()[c.bar - 1] - 1.0));
        assert!(c.kind == "gap_candidate" && c.strength >= min_gap && c.strength <= max_gap, "{c:?}");
        assert!(c.detail.starts_with("opened ") && c.detail.contains("% below the previous close"));
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} entries checked");
    assert!(Bound::new(&SmaCross, defaults(&SmaCross)).unwrap().diagnostics(data).is_empty());
}

/// `sma_cross`'s fast sweep path gives the general backtest's figures for every combination,
/// in the combinations' order, and declines a sparse grid; other families have none.
#[test]
fn sma_cross_fast_grid_equals_its_backtests_and_declines_sparse_grids() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/samples/GOOG.csv");
    let series = read_file(&path, &ImportOptions::default()).unwrap().remove(0);
    let meta = SymbolMeta::new("GOOG", datasets::AssetClass::Equity);
    let data = MarketData::new(series.timeframe, vec![SymbolData { meta, bars: series.bars }]).unwrap();
    let bars = &data.symbols()[0].bars;
    let rules = TradeRules::default();
    let sim = crate::sim::Simulator::new(10_000.0, rules).unwrap();
    let config = MetricsConfig::new(data.timeframe(), datasets::AssetClass::Equity);
    let combos: Vec<Params> = (2..=8)
        .flat_map(|f| (3..=12).map(move |s| (f, s)))
        .filter(|(f, s)| f < s)
        .map(|(f, s)| Params::parse(SmaCross.space(), [&*format!("fast={f}"), &format!("slow={s}")]).unwrap())
        .collect();
    let fast = SmaCross.fast_grid(bars, &combos, &sim, &config).unwrap().expect("a dense grid runs fast");
    assert_eq!(fast.len(), combos.len());
    for (p, f) in combos.iter().zip(&fast) {
        let bt = backtest(&SmaCross, p, &data, rules, 10_000.0).unwrap();
        let m = &bt.metrics;
        assert_eq!(f.trades, m.trades, "{p}");
        assert_eq!(f.final_equity.to_bits(), bt.result.equity().last().unwrap().to_bits(), "{p}");
        assert_eq!(
            [f.total_return, f.sharpe, f.max_drawdown].map(f64::to_bits),
            [m.total_return, m.sharpe, m.max_drawdown].map(f64::to_bits),
            "{p}"
        );
    }
    let sparse = [Params::parse(SmaCross.space(), ["fast=2", "slow=200"]).unwrap()];
    assert_eq!(SmaCross.fast_grid(bars, &sparse, &sim, &config).unwrap(), None);
    let mr = [defaults(&MeanReversion)];
    assert_eq!(MeanReversion.fast_grid(bars, &mr, &sim, &config).unwrap(), None);
}

/// A generated universe in which one stock delists halfway through and one lists at a third,
/// aligned point in time: `(data, delister, late lister, last bar of the delister, first bar of
/// the late lister, bars of the generated history)`.
fn listings() -> (MarketData, usize, usize, usize, usize, usize) {
    let u = Universe::new(&SynthConfig { symbols: 8, years: 3, seed: 23, ..SynthConfig::default() }).unwrap();
    let n = u.daily(0).len();
    let stocks: Vec<usize> = (0..u.symbols().len())
        .filter(|&i| u.symbols()[i].asset_class == datasets::AssetClass::Equity)
        .collect();
    let (gone, late, last, first) = (stocks[0], stocks[1], n / 2, n / 3);
    let symbols = (0..u.symbols().len())
        .map(|i| {
            let bars = u.daily(i);
            let bars = match i {
                _ if i == gone => bars.slice(0..last + 1),
                _ if i == late => bars.slice(first..n),
                _ => bars,
            };
            SymbolData { meta: u.symbols()[i].clone(), bars }
        })
        .collect();
    let data = MarketData::align_point_in_time(Timeframe::Day1, symbols, None).unwrap();
    (data, gone, late, last, first, n)
}

/// Issue 14 item 6: membership is decided per bar. The delister keeps its history (no
/// survivorship), the late lister does not cut the others' history short, and outside their
/// listings their bars are flat placeholders with no volume.
#[test]
fn point_in_time_alignment_keeps_each_symbols_own_span() {
    let (data, gone, late, last, first, n) = listings();
    assert_eq!(data.len(), n, "the clock is the whole history");
    assert_eq!(data.listed(gone), 0..last + 1);
    assert_eq!(data.listed(late), first..n);
    assert!((0..data.symbols().len()).filter(|&i| i != gone && i != late).all(|i| data.listed(i) == (0..n)));
    let (g, l) = (&data.symbols()[gone].bars, &data.symbols()[late].bars);
    for t in last + 1..n {
        assert_eq!((g.open()[t], g.close()[t], g.volume()[t]), (g.close()[last], g.close()[last], 0.0));
    }
    for t in 0..first {
        assert_eq!((l.open()[t], l.close()[t], l.volume()[t]), (l.open()[first], l.open()[first], 0.0));
    }
    assert!(data.can_enter_at(gone, last - 1) && !data.can_enter_at(gone, last));
    assert!(
        !data.can_enter_at(late, first - 1)
            && data.can_enter_at(late, first)
            && data.can_enter_at(late, n - 1)
    );
    // A stage of the data keeps the listings, clamped to it.
    let oos = data.slice(last - 10..n);
    assert_eq!(oos.listed(gone), 0..11);
    assert_eq!(oos.listed(late), 0..n - (last - 10));
    assert_ne!(
        data_hash(&data),
        data_hash(&MarketData::new(Timeframe::Day1, data.symbols().to_vec()).unwrap())
    );
}

/// Issue 14 item 6: a backtest never holds a symbol outside its listing. A leg that asks to be
/// in on every bar enters the late lister only from its first bar's signal on, and the
/// delister is sold at the first fill after its last bar, at its last close, never held as a
/// zero-volatility placeholder; the per-symbol and ranked families obey the same listings.
#[test]
fn a_backtest_exits_a_delisted_symbol_at_its_last_bar_and_enters_a_late_one_only_once_listed() {
    let (data, gone, late, last, first, n) = listings();
    let always = SignalSet {
        legs: data
            .tradable()
            .map(|i| LegSignals {
                symbol: i,
                signals: SignalColumn::from(vec![Signal::Enter(Strength::FULL); n]),
            })
            .collect(),
    };
    let bt = backtest_signals("always", &data, always, TradeRules::default(), 1e6, None).unwrap();
    let RunResult::Portfolio(run) = &bt.result else { panic!("a portfolio run") };
    let activity = |i: usize| {
        let k = data.tradable().position(|j| j == i).unwrap();
        &run.sleeves[0].legs[k].activity
    };
    let sold = activity(gone);
    assert_eq!(sold.trades.len(), 1, "{sold:?}");
    let t = sold.trades[0];
    assert_eq!((t.entry_signal_bar, t.exit_signal_bar, t.exit_bar), (0, Some(last), last + 1));
    assert_eq!(t.exit_price, data.symbols()[gone].bars.close()[last], "sold at its last close");
    assert_eq!(sold.open_position, None);
    let bought = activity(late);
    assert_eq!(bought.trades.len(), 1, "{bought:?}");
    assert_eq!((bought.trades[0].entry_signal_bar, bought.trades[0].entry_bar), (first, first + 1));
    // The families: no entry signal outside a listing, an exit from the delister's last bar on.
    for strategy in [&SmaCross as &dyn Strategy, &VolManagedMomentum, &FactorMomentum] {
        let set = generate(strategy, &defaults(strategy), &data).unwrap();
        for leg in set.legs.iter().filter(|l| l.symbol == gone || l.symbol == late) {
            for (t, s) in leg.signals.iter().enumerate() {
                if matches!(s, Signal::Enter(_)) {
                    assert!(data.can_enter_at(leg.symbol, t), "{}: entry at bar {t}", strategy.name());
                }
                if leg.symbol == gone && t >= last {
                    assert_eq!(s, Signal::Exit, "{}: bar {t}", strategy.name());
                }
            }
        }
    }
}
