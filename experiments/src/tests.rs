//! Runner, ranking, determinism and database tests on the GOOG sample and a generated store.

use std::path::Path;

use evolve::db::ResearchDb;
use kernel::strategy::{ParamValue, backtest};

use crate::run::{SweepOutcome, combinations, run};
use crate::{Experiment, Mode, data, report};

fn experiment(body: &str) -> Experiment {
    Experiment::parse(body, "test.toml", Path::new(".")).unwrap()
}

fn sma(fast: &str, slow: &str, extra: &str) -> Experiment {
    experiment(&format!(
        "[experiment]\nname = \"sma\"\nstrategy = \"sma_cross\"\n[data]\nsample = \"GOOG\"\n{extra}\n\
         [params]\nfast = {{ {fast} }}\nslow = {{ {slow} }}\n"
    ))
}

fn mean_reversion_random(seed: u64, samples: usize) -> Experiment {
    experiment(&format!(
        "[experiment]\nname = \"mr\"\nstrategy = \"mean_reversion\"\n[data]\nsample = \"GOOG\"\n\
         [sweep]\nmode = \"random\"\nsamples = {samples}\nseed = {seed}\nrank_by = \"sortino\"\n\
         [params]\nwindow = {{ min = 5, max = 60 }}\nentry_z = {{ min = 0.5, max = 3.0 }}\n\
         exit_z = {{ min = -1.0, max = 1.0 }}\n[account]\ncommission_rate = 0.001\n"
    ))
}

fn bits(o: &SweepOutcome) -> Vec<(String, u64, u64, u64)> {
    o.rows
        .iter()
        .map(|r| {
            let m = &r.metrics;
            (r.params.to_string(), m.sharpe.to_bits(), m.final_equity.to_bits(), m.max_drawdown.to_bits())
        })
        .collect()
}

#[test]
fn grid_2_to_101_has_4950_valid_pairs() {
    let exp = sma("min = 2, max = 101", "min = 3, max = 101", "");
    let (combos, skipped) = combinations(&exp);
    assert_eq!((combos.len(), skipped), (4950, 100 * 99 - 4950));
    assert_eq!(combos[0].to_string(), "fast=2 slow=3", "grid order: last parameter fastest");
    assert_eq!(combos[1].to_string(), "fast=2 slow=4");
    assert_eq!(combos[4949].to_string(), "fast=100 slow=101");
}

#[test]
fn fast_path_agrees_with_the_general_backtest_and_ranks_by_sharpe() {
    let exp = sma("min = 2, max = 40", "min = 3, max = 60", "[output]\ntop = 3");
    let bars = data::load(&exp.data).unwrap();
    let out = run(&exp, &bars, None, None, |_, _| {}).unwrap();
    assert!(out.fast_path);
    assert_eq!(out.rows.len(), out.combinations);
    assert!(out.rows.windows(2).all(|w| w[0].metrics.sharpe >= w[1].metrics.sharpe));
    assert_eq!(out.rows.iter().map(|r| r.rank).collect::<Vec<_>>(), (1..=out.rows.len()).collect::<Vec<_>>());
    // The top 3 are re-run in full; the rest carry the fast figures only (the rest missing, NaN).
    assert!(out.rows[..3].iter().all(|r| r.metrics.sortino.is_finite() && r.metrics.cagr.is_finite()));
    assert!(out.rows[3..].iter().all(|r| r.metrics.sortino.is_nan() && r.metrics.win_rate.is_nan()));
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
    for row in out.rows.iter().step_by(97).chain(&out.rows[..3]) {
        let bt = backtest(exp.strategy, &row.params, &bars, exp.rules, exp.cash).unwrap();
        let (m, f) = (&bt.metrics, &row.metrics);
        assert_eq!(m.trades, f.trades, "{}", row.params);
        assert!(close(m.total_return, f.total_return), "{}", row.params);
        assert!(close(m.sharpe, f.sharpe), "{}", row.params);
        assert!(close(m.max_drawdown, f.max_drawdown), "{}", row.params);
        assert!(close(exp.cash * (1.0 + m.total_return), f.final_equity), "{}", row.params);
    }
    // A metric the fast path lacks sends the grid down the general path.
    let slow = sma("min = 5, max = 8", "min = 20, max = 22", "[sweep]\nrank_by = \"win_rate\"");
    let out = run(&slow, &bars, None, None, |_, _| {}).unwrap();
    assert!(!out.fast_path);
    assert_eq!(out.combinations, 12);
    assert!(out.rows.iter().all(|r| r.metrics.win_rate.is_finite()));
    assert!(out.rows.windows(2).all(|w| w[0].metrics.win_rate >= w[1].metrics.win_rate));
}

#[test]
fn random_mode_is_deterministic_per_seed() {
    let (a, _) = combinations(&mean_reversion_random(7, 50));
    let (b, _) = combinations(&mean_reversion_random(7, 50));
    let (c, _) = combinations(&mean_reversion_random(8, 50));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let exp = mean_reversion_random(7, 50);
    assert_eq!(exp.mode, Mode::Random { samples: 50, seed: 7 });
    let (_, skipped) = combinations(&exp);
    assert_eq!(a.len() + skipped, 50, "every draw is evaluated or skipped");
    assert!(a.iter().all(|p| matches!(p.values()[1], ParamValue::Real(z) if (0.5..=3.0).contains(&z))));
    assert_eq!(a[0].values()[3], ParamValue::Int(14), "rsi_period keeps its default");
}

#[test]
fn results_are_identical_on_one_thread_and_two() {
    let exp = mean_reversion_random(3, 40);
    let bars = data::load(&exp.data).unwrap();
    let one = run(&exp, &bars, Some(1), None, |_, _| {}).unwrap();
    let two = run(&exp, &bars, Some(2), None, |_, _| {}).unwrap();
    assert_eq!(bits(&one), bits(&two));
    let grid = sma("min = 5, max = 30", "min = 10, max = 40", "");
    let one = run(&grid, &bars, Some(1), None, |_, _| {}).unwrap();
    let two = run(&grid, &bars, Some(2), None, |_, _| {}).unwrap();
    assert_eq!(bits(&one), bits(&two));
}

#[test]
fn the_database_gets_one_sweep_row_and_its_results_per_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("research.db");
    let exp = sma("min = 5, max = 8", "min = 20, max = 22", "");
    let bars = data::load(&exp.data).unwrap();
    let out = run(&exp, &bars, None, None, |_, _| {}).unwrap();
    let (sweep, rows) = report::records(&exp, &out, data::data_hash(&bars), 1, 2);
    let first = ResearchDb::open(&path).unwrap().record_sweep(&sweep, &rows).unwrap();
    let db = ResearchDb::open(&path).unwrap();
    let stored = db.sweeps().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].record.combinations, stored[0].record.skipped), (12, 0));
    assert_eq!(stored[0].record.config, exp.text);
    let results = db.results(first).unwrap();
    assert_eq!(results.len(), 12);
    assert_eq!(results[0].params, report::params_json(&out.rows[0].params).to_string());
    assert_eq!(results[0].param_hash, out.rows[0].params.hash());
    drop(db);
    let mut db = ResearchDb::open(&path).unwrap();
    db.record_sweep(&sweep, &rows).unwrap();
    assert_eq!(db.sweeps().unwrap().len(), 2);
    assert_eq!(data::data_hash(&bars), data::data_hash(&data::load(&exp.data).unwrap()));
}

#[test]
fn a_multi_symbol_sweep_ranks_combined_and_per_symbol() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let config = datasets::synth::SynthConfig {
        symbols: 12,
        years: 2,
        minute_days: 0,
        minute_symbols: Some(0),
        ..Default::default()
    };
    datasets::actions::generate(&store, &config, datasets::actions::OnExisting::Refuse, |_, _| {}).unwrap();
    let opened = datasets::store::Store::open(&store).unwrap();
    let symbols: Vec<String> = opened
        .symbols(datasets::Timeframe::Day1)
        .into_iter()
        .filter(|s| opened.meta(s).is_none_or(|m| m.asset_class != datasets::AssetClass::Index))
        .take(3)
        .map(str::to_string)
        .collect();
    let text = format!(
        "[experiment]\nname = \"mr\"\nstrategy = \"mean_reversion\"\n[data]\nstore = \"store\"\nsymbols = {symbols:?}\n\
         [sweep]\nper_symbol = true\n[params]\nwindow = {{ values = [10, 20] }}\nentry_z = {{ values = [1.0, 2.0] }}\n"
    );
    let exp = Experiment::parse(&text, "mr.toml", dir.path()).unwrap();
    let bars = data::load(&exp.data).unwrap();
    assert_eq!(bars.symbols().len(), 3);
    // `symbols = ["all"]` means what `--symbol all` means: every symbol of the store.
    let all = text.replace(&format!("symbols = {symbols:?}"), "symbols = [\"all\"]");
    let every = data::load(&Experiment::parse(&all, "mr.toml", dir.path()).unwrap().data).unwrap();
    assert_eq!(every.symbols().len(), opened.symbols(datasets::Timeframe::Day1).len());
    assert_eq!(every.symbols().len(), 12 + 16, "12 stocks, 11 sector ETFs, SPY, TLT, GLD, SHY and VIX");
    // `all` at a timeframe the store does not hold is refused by name, not as an empty alignment.
    let hourly = crate::DataSource::Store {
        dir: dir.path().join("store"),
        symbols: vec!["all".into()],
        timeframe: datasets::Timeframe::Hour1,
    };
    let err = data::load(&hourly).unwrap_err().to_string();
    assert!(err.ends_with("store holds no 1Hour bars (`tradebot data info` lists what it holds)"), "{err}");
    let out = run(&exp, &bars, Some(2), None, |_, _| {}).unwrap();
    assert_eq!(out.combinations, 4);
    assert_eq!(out.rows.len(), 4 * 4, "combined plus three symbols alone");
    assert!(out.rows[..4].iter().all(|r| r.symbol.is_none()));
    for (k, s) in symbols.iter().enumerate() {
        let scope = &out.rows[4 * (k + 1)..4 * (k + 2)];
        assert!(scope.iter().all(|r| r.symbol.as_ref() == Some(s)));
        assert_eq!(scope.iter().map(|r| r.rank).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    }
}

/// `tradebot backtest`'s narrowing goes through the runs' one loader: a class for every symbol,
/// a symbol filter, and the same refusals as an experiment file's.
#[test]
fn the_one_loader_narrows_a_source_as_the_backtest_asks() {
    use datasets::AssetClass;

    use crate::data::{DataSelection, load_selected, sample};
    let goog = crate::DataSource::Sample(sample("goog").unwrap());
    let plain = data::load(&goog).unwrap();
    assert_eq!(plain.symbols()[0].meta.asset_class, AssetClass::Equity);
    let as_etf = DataSelection { class: Some(AssetClass::Etf), ..DataSelection::default() };
    let (etf, left_out) = load_selected(&goog, &as_etf).unwrap();
    assert_eq!((etf.symbols()[0].meta.asset_class, left_out), (AssetClass::Etf, None));
    assert_eq!(data::data_hash(&etf.clone().with_class(AssetClass::Equity)), data::data_hash(&plain));
    let named = ["GOOG".to_string(), "SPY".to_string()];
    let (kept, _) =
        load_selected(&goog, &DataSelection { symbols: &named, ..DataSelection::default() }).unwrap();
    assert_eq!(kept.symbols().len(), 1);
    let absent = ["MSFT".to_string(), "SPY".to_string()];
    let err =
        load_selected(&goog, &DataSelection { symbols: &absent, ..DataSelection::default() }).unwrap_err();
    assert_eq!(err.to_string(), r#"samples/GOOG.csv: none of the symbols ["MSFT", "SPY"] is in the data"#);
    assert_eq!(
        sample("AAPL").unwrap_err().to_string(),
        "unknown sample `AAPL` (samples: GOOG, EURUSD, BTCUSD)"
    );
}
