//! `[evolve]`, `[fitness]` and `[validation]`: an evolution's settings, and the gene of each
//! parameter.

use std::collections::BTreeMap;

use evolve::ga::{GaConfig, GaError};
use evolve::genes::{Gene, ParamGenes};
use evolve::stats::{FitnessConfig, FitnessConfigError, TestLen, WalkForwardMode};
use kernel::strategy::{ParamValue, Strategy};
use serde::Deserialize;
use toml::Spanned;

use super::Mode;
use super::axes::{self, Axis};
use super::error::{ConfigError, Source};
use super::limits;
use super::raw::RawRange;
use crate::evolution::{Validation, WalkForward};

/// `[validation]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawValidation {
    pub(crate) in_sample: Option<Spanned<f64>>,
    pub(crate) pbo_blocks: Option<Spanned<usize>>,
    pub(crate) plateau_pbo: Option<Spanned<f64>>,
    pub(crate) walk_forward: Option<Spanned<RawWalkForward>>,
    /// Research files only: least out-of-sample CAGR to enable (`crate::research::Gates`).
    pub(crate) min_oos_return: Option<Spanned<f64>>,
    /// Research files only: least out-of-sample capital at work to enable.
    pub(crate) min_capital_at_work: Option<Spanned<f64>>,
    /// Research files only: `passive` (beat equal-weight buy-and-hold to enable) or `absolute`.
    pub(crate) benchmark: Option<crate::research::BenchmarkGate>,
}

/// `[validation.walk_forward]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWalkForward {
    folds: usize,
    #[serde(default = "rolling")]
    mode: WalkForwardMode,
    #[serde(default = "test_fraction")]
    test_fraction: f64,
}

fn rolling() -> WalkForwardMode {
    WalkForwardMode::Rolling
}

fn test_fraction() -> f64 {
    0.1
}

/// Checks `[fitness]`, naming the key of a bad value.
pub(crate) fn fitness(src: &Source<'_>, fitness: FitnessConfig) -> Result<FitnessConfig, ConfigError> {
    match fitness.validate() {
        Ok(()) => Ok(fitness),
        Err(e @ FitnessConfigError::MaxDrawdown(_)) => {
            Err(src.key_error("fitness.max_drawdown", e.to_string()))
        }
        Err(e @ FitnessConfigError::Penalty(_)) => Err(src.key_error("fitness.penalty", e.to_string())),
    }
}

/// A validated evolution: the GA, the fitness, the validation and the parameters' genes.
#[derive(Clone, Debug)]
pub struct Evolution {
    /// GA settings (`[evolve]`, `[evolve.stagnation]`).
    pub ga: GaConfig,
    /// Objective and constraints (`[fitness]`).
    pub fitness: FitnessConfig,
    /// In-sample share and PBO (`[validation]`).
    pub validation: Validation,
    /// One gene per parameter of the strategy's space, in its order.
    pub genes: ParamGenes,
}

/// Checks the GA settings, naming the key of the first bad one.
pub(crate) fn ga(src: &Source<'_>, ga: GaConfig) -> Result<GaConfig, ConfigError> {
    match ga.validate() {
        Ok(()) => Ok(ga),
        Err(GaError::Config { field, reason }) => Err(src.key_error(&format!("evolve.{field}"), reason)),
        Err(other) => Err(src.key_error("evolve", other.to_string())),
    }
}

/// Checks `[validation]`.
pub(crate) fn validation(src: &Source<'_>, raw: &RawValidation) -> Result<Validation, ConfigError> {
    let mut v = Validation::default();
    if let Some(share) = &raw.in_sample {
        let x = *share.get_ref();
        if !(x > 0.0 && x <= 1.0) {
            let message = format!("{x} is not a share in (0, 1] (1 = no out-of-sample stage)");
            return Err(src.error(share.span(), "validation.in_sample", message));
        }
        v.in_sample = x;
    }
    if let Some(blocks) = &raw.pbo_blocks {
        let s = *blocks.get_ref();
        if s < 2 || s % 2 == 1 || s > 24 {
            let message = format!("{s} blocks: CSCV needs an even number from 2 to 24");
            return Err(src.error(blocks.span(), "validation.pbo_blocks", message));
        }
        v.pbo_blocks = Some(s);
    }
    if let Some(p) = &raw.plateau_pbo {
        let x = *p.get_ref();
        if !(0.0..=1.0).contains(&x) {
            let message = format!(
                "{x} is not a probability in [0, 1] (the PBO from which the plateau's median is deployed)"
            );
            return Err(src.error(p.span(), "validation.plateau_pbo", message));
        }
        v.plateau_pbo = x;
    }
    if let Some(wf) = &raw.walk_forward {
        let w = wf.get_ref();
        let bad = |message: String| src.error(wf.span(), "validation.walk_forward", message);
        if w.folds < 2 {
            return Err(bad(format!("{} folds: walk-forward needs at least 2", w.folds)));
        }
        if !(w.test_fraction > 0.0 && w.test_fraction * (w.folds as f64) < 1.0) {
            let message = format!(
                "{} folds × test_fraction {} leave no bars to train on (the product must be below 1)",
                w.folds, w.test_fraction
            );
            return Err(bad(message));
        }
        v.walk_forward =
            Some(WalkForward { folds: w.folds, mode: w.mode, test: TestLen::Fraction(w.test_fraction) });
    }
    if let (Some(share), Some(_)) = (&raw.in_sample, &raw.walk_forward) {
        let message = "`in_sample` is a holdout split and `walk_forward` replaces it: give one or the other";
        return Err(src.error(share.span(), "validation.in_sample", message));
    }
    Ok(v)
}

/// One gene per parameter. A parameter listed under `[params]` is searched over the range or
/// values given there; one left out is searched over its whole domain (unlike a sweep, where
/// it stays at its default).
pub(crate) fn genes(
    src: &Source<'_>,
    strategy: &dyn Strategy,
    params: &BTreeMap<Spanned<String>, Spanned<RawRange>>,
) -> Result<ParamGenes, ConfigError> {
    // Random mode: a real range without a step is an interval, which is what a gene is. A
    // listed range is expanded to check it, so it obeys the default size limit.
    let max = limits::DEFAULT_MAX_COMBINATIONS;
    let axes = axes::build(src, strategy, params, Mode::Random { samples: 1, seed: 0 }, max)?;
    let full = ParamGenes::from_space(strategy.space()).expect("a strategy's declared domains are valid");
    let genes = strategy
        .space()
        .specs()
        .iter()
        .zip(axes)
        .zip(full.genes())
        .map(|((spec, axis), whole)| {
            let listed = params.keys().any(|k| k.get_ref() == spec.name);
            match (listed, axis) {
                (false, _) => whole.clone(),
                (true, Axis::Interval { min, max }) => Gene::Real { min, max },
                (true, Axis::Values(mut values)) if values.len() == 1 => Gene::Fixed(values.remove(0)),
                (true, Axis::Values(values)) => match consecutive(&values) {
                    Some((min, max)) => Gene::Int { min, max },
                    None => Gene::Listed(values),
                },
            }
        })
        .collect();
    Ok(ParamGenes::new(genes).expect("ranges were checked against the parameter space"))
}

/// `(first, last)` when `values` are the integers `first..=last` in order (a range with step 1).
fn consecutive(values: &[ParamValue]) -> Option<(i64, i64)> {
    let ints: Vec<i64> = values
        .iter()
        .map(|v| if let ParamValue::Int(i) = v { Some(*i) } else { None })
        .collect::<Option<_>>()?;
    let ok = ints.windows(2).all(|w| w[1] == w[0] + 1);
    ok.then(|| (ints[0], ints[ints.len() - 1]))
}
