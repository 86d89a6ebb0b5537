//! No look-ahead: nothing computed for day `t` reads a bar after `t`.

mod common;

use kernel::regime::Regime;
use regimes::{FeatureMatrix, LabelSource, MarketInputs, TrainConfig, train};

/// `inputs` with every close after day `t` moved: the market and members by up to ±20 %,
/// the index to a crisis level.
fn shift_future(inputs: &MarketInputs, t: usize) -> MarketInputs {
    let bump = |x: &[f64], k: usize| -> Vec<f64> {
        x.iter()
            .enumerate()
            .map(|(j, &v)| if j > t { v * (1.0 + 0.2 * (((j + k) % 5) as f64 - 2.0) / 2.0) } else { v })
            .collect()
    };
    let index = inputs
        .index()
        .map(|x| x.iter().enumerate().map(|(j, &v)| if j > t { 60.0 + (j % 7) as f64 } else { v }).collect());
    let members = inputs.members().iter().enumerate().map(|(k, m)| bump(m, k + 1)).collect();
    MarketInputs::new(inputs.timestamps().to_vec(), bump(inputs.market(), 0), index, members).unwrap()
}

/// Row `s` of both matrices is the same, NaN included.
fn same_row(a: &FeatureMatrix, b: &FeatureMatrix, s: usize) -> bool {
    a.row(s).iter().zip(b.row(s)).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn changing_every_bar_after_day_t_changes_nothing_up_to_t() {
    let (inputs, _) = common::synthetic(8, 20, 3);
    let features = common::features(&inputs);
    let labels = features.rule_regimes().to_vec();
    let config = TrainConfig::default();
    let base = train(&features, &labels, LabelSource::Rules, &[], &config).unwrap();
    let fixed_calls = base.model.predict(&features).unwrap();
    let first_test = base.out_of_sample.iter().position(Option::is_some).unwrap();
    for t in [first_test + 40, 1200, inputs.len() - 30] {
        let shifted = shift_future(&inputs, t);
        let moved = common::features(&shifted);
        for s in 0..=t {
            assert!(same_row(&features, &moved, s), "features of day {s} (t = {t})");
        }
        assert_eq!(moved.rule_regimes()[..=t], features.rule_regimes()[..=t], "rule regimes, t = {t}");
        assert_ne!(moved.rule_regimes()[t + 1..], features.rule_regimes()[t + 1..], "the future did change");
        // A fixed model's calls up to t.
        let calls = base.model.predict(&moved).unwrap();
        assert_eq!(calls[..=t], fixed_calls[..=t], "fixed model, t = {t}");
        // The walk-forward calls up to t, every fold retrained on the shifted history.
        let relabelled = moved.rule_regimes().to_vec();
        let rerun = train(&moved, &relabelled, LabelSource::Rules, &[], &config).unwrap();
        assert_eq!(rerun.out_of_sample[..=t], base.out_of_sample[..=t], "walk-forward, t = {t}");
        assert_ne!(rerun.out_of_sample[t + 1..], base.out_of_sample[t + 1..]);
    }
}

#[test]
fn walk_forward_folds_never_train_on_their_test_period() {
    let (inputs, _) = common::synthetic(8, 20, 3);
    let features = common::features(&inputs);
    let out = common::train_on_rules(&features);
    let folds = &out.model.card.evaluation.folds;
    let day = |ts: datasets::Timestamp| features.timestamps().binary_search(&ts.0).unwrap();
    assert_eq!(folds.len(), 5);
    for (k, f) in folds.iter().enumerate() {
        // The last training row is labelled with the next day, which is still before the test.
        assert!(day(f.train_last) + 1 < day(f.test_first), "fold {k}: {f:?}");
        assert!(f.test_first <= f.test_last);
        if k > 0 {
            assert!(folds[k - 1].test_last < f.test_first, "test blocks in time order, no overlap");
            assert!(folds[k - 1].train_rows < f.train_rows, "expanding window");
        }
    }
    assert!(out.out_of_sample[..day(folds[0].test_first)].iter().all(Option::is_none));
    // Rewriting every label from a fold's first test day on leaves that fold's calls alone.
    let fold = &folds[2];
    let (start, end) = (day(fold.test_first), day(fold.test_last));
    let mut scrambled = features.rule_regimes().to_vec();
    scrambled[start..].iter_mut().enumerate().for_each(|(j, l)| *l = Regime::from_index(j % 4));
    let rerun = train(&features, &scrambled, LabelSource::Rules, &[], &TrainConfig::default()).unwrap();
    assert_eq!(rerun.out_of_sample[..=end], out.out_of_sample[..=end]);
    assert_ne!(rerun.out_of_sample[end + 1..], out.out_of_sample[end + 1..]);
}
