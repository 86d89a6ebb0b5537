//! Synthetic universes and shared helpers for the integration tests.
#![allow(dead_code)]

use datasets::synth::{SynthConfig, Universe};
use kernel::regime::{MarketRegimeRules, Regime, RegimeRules};
use regimes::{
    Baseline, FeatureMatrix, FeatureSpec, LabelSource, MarketInputs, TrainConfig, TrainOutcome, train,
};

/// Closes of SPY, VIX and `stocks` stocks over `years` years, plus the generator's true regime
/// of each day.
pub fn synthetic(years: u32, stocks: usize, seed: u64) -> (MarketInputs, Vec<Option<Regime>>) {
    let universe = universe(years, stocks, seed);
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

/// The synthetic universe behind [`synthetic`].
pub fn universe(years: u32, stocks: usize, seed: u64) -> Universe {
    let config = SynthConfig { symbols: stocks, years, seed, minute_days: 0, ..Default::default() };
    Universe::new(&config).unwrap()
}

/// The standard features of `inputs` under the default rules.
pub fn features(inputs: &MarketInputs) -> FeatureMatrix {
    FeatureSpec::standard(inputs, MarketRegimeRules::default()).compute(inputs).unwrap()
}

/// Persistence of `labels`, the default rule detector, and the plain VIX rule of
/// `vix_regime_rotation` (no realised volatility, no hysteresis).
pub fn baselines(
    features: &FeatureMatrix,
    inputs: &MarketInputs,
    labels: &[Option<Regime>],
) -> Vec<Baseline> {
    vec![
        Baseline::persistence(labels),
        Baseline { name: "detector".into(), predictions: features.rule_regimes().to_vec() },
        Baseline {
            name: "vix_rule".into(),
            predictions: RegimeRules::default().classify(inputs.index().unwrap()),
        },
    ]
}

/// Trains with the default config on the features' own rule regimes, without baselines.
pub fn train_on_rules(features: &FeatureMatrix) -> TrainOutcome {
    let labels = features.rule_regimes().to_vec();
    train(features, &labels, LabelSource::Rules, &[], &TrainConfig::default()).unwrap()
}
