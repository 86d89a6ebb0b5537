//! Regime benchmarks on 20 synthetic years (5,031 days, SPY, VIX and 100 stocks for breadth):
//! the feature matrix; one fit of the forest on every day plus a call for every day (the
//! issue's "train on 20 years and predict the whole history"); and the full training run
//! (17 walk-forward refits, the final fit, the scores).
//!
//! Run: `cargo bench --bench regimes`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use datasets::synth::{SynthConfig, Universe};
use kernel::regime::MarketRegimeRules;
use regimes::{Baseline, FeatureSpec, LabelSource, MarketInputs, TrainConfig, WalkForward, train};

fn inputs() -> MarketInputs {
    let config = SynthConfig { symbols: 100, years: 20, minute_days: 0, ..Default::default() };
    let universe = Universe::new(&config).expect("valid config");
    let position = |s: &str| universe.symbols().iter().position(|m| m.symbol == s).expect("listed");
    let close = |i: usize| universe.daily(i).close().to_vec();
    let spy = universe.daily(position("SPY"));
    let members = (position("VIX") + 1..universe.symbols().len()).map(close).collect();
    MarketInputs::new(spy.timestamps().to_vec(), spy.close().to_vec(), Some(close(position("VIX"))), members)
        .expect("aligned")
}

fn regimes(c: &mut Criterion) {
    let inputs = inputs();
    let spec = FeatureSpec::standard(&inputs, MarketRegimeRules::default());
    let features = spec.compute(&inputs).expect("features");
    let labels = features.rule_regimes().to_vec();
    let baselines = [Baseline::persistence(&labels)];
    let mut group = c.benchmark_group("regimes_20y");
    group.sample_size(10);
    group.bench_function("features", |b| b.iter(|| spec.compute(black_box(&inputs)).expect("features")));
    // No walk-forward fold fits in a first training window as long as the history.
    let fit_only = TrainConfig {
        walk: WalkForward { min_train: features.len(), ..Default::default() },
        ..Default::default()
    };
    group.bench_function("fit_and_predict_all", |b| {
        b.iter(|| {
            let model = train(&features, &labels, LabelSource::Rules, &[], &fit_only).expect("fit").model;
            model.predict(black_box(&features)).expect("predict")
        })
    });
    group.bench_function("train_walk_forward", |b| {
        b.iter(|| {
            train(black_box(&features), &labels, LabelSource::Rules, &baselines, &TrainConfig::default())
                .expect("train")
        })
    });
    group.finish();
}

criterion_group!(benches, regimes);
criterion_main!(benches);
