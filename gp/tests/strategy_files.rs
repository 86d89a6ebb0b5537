//! The example strategy files in `strategies/` are the built-in families they are named after:
//! each, read as a [`StrategyFile`] and bound at the family's parameters (its defaults, and
//! other values given by name to both), makes the family's trades — the same entry and exit
//! bars, quantities and prices, and the same equity at every bar, bit for bit — on the GOOG
//! sample and on a generated universe.

use std::path::{Path, PathBuf};

use datasets::ingest::{ImportOptions, read_file};
use datasets::synth::{SynthConfig, Universe};
use datasets::{AssetClass, SymbolMeta, Timeframe};
use gp::{FileStrategy, Genome, StrategyFile};
use kernel::sim::{Activity, TradeRules};
use kernel::strategy::{self, Backtest, MarketData, Params, RunResult, Strategy as _, SymbolData};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The genome of `strategies/<name>.tbs` with its params at `given` (`name=value`), the
/// others at their defaults.
fn file(name: &str, given: &[&str]) -> Genome {
    let path = root().join("strategies").join(format!("{name}.tbs"));
    let file = FileStrategy::intern(name, StrategyFile::read(&path).unwrap_or_else(|e| panic!("{e}")));
    file.file().bind(&Params::parse(file.space(), given.iter().copied()).unwrap()).unwrap()
}

fn goog() -> MarketData {
    let path = root().join("datasets/samples/GOOG.csv");
    let series = read_file(&path, &ImportOptions::default()).unwrap().remove(0);
    let meta = SymbolMeta::new("GOOG", AssetClass::Equity);
    MarketData::new(series.timeframe, vec![SymbolData { meta, bars: series.bars }]).unwrap()
}

/// Six generated stocks and the VIX-like index (read, not traded) over four years: fewer
/// tradable symbols than the families' default `positions` (10), so the strongest-N selection
/// never drops an entry and both size each entry on a sixth of the account.
fn universe() -> MarketData {
    let config = SynthConfig { symbols: 6, years: 4, seed: 11, minute_days: 0, ..SynthConfig::default() };
    let u = Universe::new(&config).unwrap();
    let symbols = u
        .symbols()
        .iter()
        .enumerate()
        .filter(|(_, m)| m.symbol.starts_with('S') && m.symbol.len() == 5 || m.symbol == "VIX")
        .map(|(i, m)| SymbolData { meta: m.clone(), bars: u.daily(i) })
        .collect();
    let data = MarketData::new(Timeframe::Day1, symbols).unwrap();
    assert_eq!(data.tradable().count(), 6);
    data
}

/// Every leg's activity (trades with their bars, quantities and prices; refusals; the
/// position still open) and the account's equity.
fn outcome(bt: &Backtest) -> (Vec<&Activity>, &[f64]) {
    let activities = match &bt.result {
        RunResult::Single(r) => vec![&r.activity],
        RunResult::Portfolio(r) => r.sleeves.iter().flat_map(|s| &s.legs).map(|l| &l.activity).collect(),
    };
    (activities, bt.result.equity())
}

/// The family `name` and the file of the same name, both at `given` (`name=value`, the
/// others at their defaults), trade alike on `data`; returns the number of closed trades.
fn same_trades(name: &str, data: &MarketData, given: &[&str]) -> usize {
    let family = strategy::by_name(name).unwrap();
    let params = Params::parse(family.space(), given.iter().copied()).unwrap();
    let cash = 100_000.0;
    let built_in = strategy::backtest(family, &params, data, TradeRules::default(), cash).unwrap();
    let genome = file(name, given);
    let from_file =
        strategy::backtest_source(&genome, data, genome.rules(TradeRules::default()), cash).unwrap();
    let (want, got) = (outcome(&built_in), outcome(&from_file));
    assert_eq!(want.0.len(), got.0.len(), "{name}: legs");
    for (k, (w, g)) in want.0.iter().zip(&got.0).enumerate() {
        assert_eq!(w.trades, g.trades, "{name}: trades of leg {k}");
        assert_eq!(w.open_position, g.open_position, "{name}: open position of leg {k}");
        assert_eq!(w.refusals, g.refusals, "{name}: refusals of leg {k}");
    }
    let bits = |e: &[f64]| e.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(want.1), bits(got.1), "{name}: equity");
    assert_eq!(built_in.metrics.trades, from_file.metrics.trades);
    want.0.iter().map(|a| a.trades.len()).sum()
}

#[test]
fn sma_cross_file_trades_like_the_family() {
    assert!(same_trades("sma_cross", &goog(), &[]) >= 20);
    assert!(same_trades("sma_cross", &universe(), &[]) >= 30);
    assert!(same_trades("sma_cross", &goog(), &["fast=5", "slow=40"]) >= 10);
}

#[test]
fn mean_reversion_file_trades_like_the_family() {
    assert!(same_trades("mean_reversion", &goog(), &[]) >= 5);
    assert!(same_trades("mean_reversion", &universe(), &[]) >= 10);
    let other = ["window=30", "entry_z=1.5", "exit_z=0.25", "rsi_period=10", "rsi_oversold=40"];
    assert!(same_trades("mean_reversion", &goog(), &other) >= 5);
}

#[test]
fn relative_volume_breakout_file_trades_like_the_family() {
    assert!(same_trades("relative_volume_breakout", &goog(), &[]) >= 5);
    assert!(same_trades("relative_volume_breakout", &universe(), &[]) >= 10);
    let other = ["lookback=40", "rvol_window=10", "min_rvol=1.2", "exit_lookback=20"];
    assert!(same_trades("relative_volume_breakout", &goog(), &other) >= 5);
}

/// The gap the files document: with more tradable symbols than `positions`, the family keeps
/// only the strongest entries of a bar and sizes each on `1/positions` of the sleeve, which a
/// file (one slot per leg) does not express — so the trades differ.
#[test]
fn the_positions_limit_is_where_a_file_and_its_family_part() {
    let family = strategy::by_name("mean_reversion").unwrap();
    let data = universe();
    let params = Params::parse(family.space(), ["positions=2"]).unwrap();
    let built_in = strategy::backtest(family, &params, &data, TradeRules::default(), 100_000.0).unwrap();
    let genome = file("mean_reversion", &[]);
    let from_file = strategy::backtest_source(&genome, &data, TradeRules::default(), 100_000.0).unwrap();
    assert_ne!(outcome(&built_in).1, outcome(&from_file).1);
}
