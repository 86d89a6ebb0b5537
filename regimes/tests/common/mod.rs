//! Synthetic universes for the integration tests.

use datasets::synth::{SynthConfig, Universe};
use kernel::regime::Regime;
use regimes::MarketInputs;

/// Closes of SPY, VIX and `stocks` stocks over `years` years, plus the generator's true regime
/// of each day.
pub fn synthetic(years: u32, stocks: usize, seed: u64) -> (MarketInputs, Vec<Option<Regime>>) {
    let config = SynthConfig { symbols: stocks, years, seed, minute_days: 0, ..Default::default() };
    let universe = Universe::new(&config).unwrap();
    let position = |s: &str| universe.symbols().iter().position(|m| m.symbol == s).unwrap();
    let close = |i: usize| universe.daily(i).close().to_vec();
    let spy = universe.daily(position("SPY"));
    let first_stock = position("VIX") + 1;
    let members = (first_stock..universe.symbols().len()).map(close).collect();
    let inputs = MarketInputs::new(
        spy.timestamps().to_vec(),
        spy.close().to_vec(),
        Some(close(position("VIX"))),
        members,
    )
    .unwrap();
    let truth = universe.regimes().iter().map(|(_, r)| Regime::from_index(r.index())).collect();
    (inputs, truth)
}
