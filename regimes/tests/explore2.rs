#![allow(missing_docs)]
mod common;
use kernel::regime::{MarketRegimeRules, Regime};
use regimes::*;

#[test]
#[ignore]
fn fit_speed() {
    let (inputs, _truth) = common::synthetic(20, 100, 42);
    let features = FeatureSpec::standard(&inputs, MarketRegimeRules::default()).compute(&inputs).unwrap();
    let labels = features.rule_regimes().to_vec();
    let rows: Vec<usize> =
        (0..features.len() - 1).filter(|&t| features.is_complete(t) && labels[t + 1].is_some()).collect();
    let x: Vec<f64> = rows.iter().flat_map(|&t| features.row(t).to_vec()).collect();
    let y: Vec<Regime> = rows.iter().map(|&t| labels[t + 1].unwrap()).collect();
    for (trees, depth, cw) in [
        (100u16, 8u16, ClassWeight::None),
        (100, 8, ClassWeight::Balanced { max_factor: 20 }),
        (50, 8, ClassWeight::None),
        (100, 6, ClassWeight::None),
        (100, 12, ClassWeight::None),
    ] {
        let p = ForestParams { trees, max_depth: depth, class_weight: cw, ..Default::default() };
        let t = std::time::Instant::now();
        let f = Forest::fit(&x, features.width(), &y, &p).unwrap();
        let fit = t.elapsed();
        let t = std::time::Instant::now();
        let _ = f.predict(&x).unwrap();
        eprintln!("trees {trees} depth {depth} {cw:?}: n {} fit {fit:?} predict {:?}", y.len(), t.elapsed());
    }
}
