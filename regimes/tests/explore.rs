#![allow(missing_docs)]
mod common;
use kernel::regime::{MarketRegimeRules, RegimeRules};
use regimes::*;

#[test]
#[ignore]
fn explore() {
    let (inputs, truth) = common::synthetic(20, 100, 42);
    let rules = MarketRegimeRules::default();
    let features = FeatureSpec::standard(&inputs, rules).compute(&inputs).unwrap();
    let labels = features.rule_regimes().to_vec();
    let vix_rule = RegimeRules::default().classify(inputs.index().unwrap());
    let show = |n: &str, s: &Scores| {
        eprintln!(
            "  {n:<12} acc {:.3} bal {:.3} {:?}",
            s.accuracy,
            s.balanced_accuracy,
            s.per_class
                .iter()
                .map(|c| (c.precision.map(|x| (x * 100.0).round()), c.recall.map(|x| (x * 100.0).round())))
                .collect::<Vec<_>>()
        )
    };
    for (trees, share, test_len, cw) in [
        (100u16, 0.5, 252usize, ClassWeight::Balanced { max_factor: 20 }),
        (100, 0.5, 252, ClassWeight::None),
        (60, 0.5, 504, ClassWeight::Balanced { max_factor: 20 }),
        (60, 0.3, 252, ClassWeight::Balanced { max_factor: 20 }),
    ] {
        let config = TrainConfig {
            forest: ForestParams { trees, sample_share: share, class_weight: cw, ..Default::default() },
            walk: WalkForward { test_len, ..Default::default() },
            ..Default::default()
        };
        eprintln!("== trees {trees} share {share} test_len {test_len} {cw:?}");
        for (lname, labels) in [("rules", labels.clone()), ("truth", truth.clone())] {
            let baselines = vec![
                Baseline::persistence(&labels),
                Baseline { name: "detector".into(), predictions: features.rule_regimes().to_vec() },
                Baseline { name: "vix_rule".into(), predictions: vix_rule.clone() },
            ];
            let t2 = std::time::Instant::now();
            let out = train(&features, &labels, LabelSource::Rules, &baselines, &config).unwrap();
            eprintln!("{lname}: train {:?} folds {}", t2.elapsed(), out.model.card.evaluation.folds.len());
            let e = &out.model.card.evaluation;
            show("model", &e.model);
            for b in &e.baselines {
                show(&b.name, &b.scores);
            }
        }
    }
}
