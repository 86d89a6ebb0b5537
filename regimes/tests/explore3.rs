#![allow(missing_docs)]
mod common;
use kernel::regime::{MarketRegimeRules, Thresholds, hysteresis};
use regimes::*;
use std::num::NonZeroUsize;

#[test]
#[ignore]
fn rules() {
    for seed in [42u64, 7] {
        let (inputs, truth) = common::synthetic(20, 10, seed);
        let rules = MarketRegimeRules::default();
        let rv = rules.realised_vol(inputs.market());
        let vix = inputs.index().unwrap();
        let score = |name: &str, levels: Vec<Option<kernel::regime::Regime>>| {
            for hold in [1usize, 3] {
                let r = hysteresis(levels.clone(), NonZeroUsize::new(hold).unwrap());
                let s = Scores::from_pairs(r.iter().zip(&truth).filter_map(|(a, b)| Some(((*b)?, (*a)?))));
                eprintln!(
                    "seed {seed} {name:<28} hold {hold}: acc {:.3} bal {:.3}",
                    s.accuracy, s.balanced_accuracy
                );
            }
        };
        let t = Thresholds::VIX;
        score("vix", vix.iter().map(|&x| t.level(x)).collect());
        score("rv*1.2", rv.iter().map(|&x| t.level(1.2 * x)).collect());
        score(
            "max",
            vix.iter().zip(&rv).map(|(&x, &v)| t.level(x).max(Thresholds::REALISED_VOL.level(v))).collect(),
        );
        for w in [0.5, 0.7, 0.8] {
            score(
                &format!("blend w{w}"),
                vix.iter()
                    .zip(&rv)
                    .map(|(&x, &v)| t.level(if v.is_nan() { x } else { w * x + (1.0 - w) * 1.2 * v }))
                    .collect(),
            );
        }
        let rv10 = kernel::indicators::realised_vol(inputs.market(), 10, 252.0).unwrap();
        score(
            "blend10 w0.7",
            vix.iter()
                .zip(&rv10)
                .map(|(&x, &v)| t.level(if v.is_nan() { x } else { 0.7 * x + 0.3 * 120.0 * v }))
                .collect(),
        );
    }
}
