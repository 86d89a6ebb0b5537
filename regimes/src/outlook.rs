//! Today's regime and the model's call for tomorrow: what the research report, the live bridge
//! and `tradebot regimes` show, computed one way for all of them.

use std::num::NonZeroUsize;

use kernel::regime::{MarketRegimeRules, Regime};
use serde::Serialize;

use crate::{
    Baseline, FeatureMatrix, FeatureSpec, LabelSource, MarketInputs, RegimeError, TrainConfig, TrainOutcome,
    TrainedModel, majority, train,
};

/// The market's regime at the last close and, with a model, its call for the next day.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outlook {
    /// Start of the last day's bar (UTC ns).
    pub day_ns: i64,
    /// The rule-based regime of that day (`None` while the rules warm up).
    pub today: Option<Regime>,
    /// The index close that day, when there is an index.
    pub index: Option<f64>,
    /// The market's realised volatility that day (annualised, NaN while warming up).
    pub realised_vol: f64,
    /// The learned model's call, when a model was given.
    pub model: Option<ModelCall>,
}

/// A model's call for the day after the last close, with what the model is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelCall {
    /// The model's saved version.
    pub version: u32,
    /// The predicted regime (`None` when the last day's features are incomplete).
    pub tomorrow: Option<Regime>,
    /// Share of trees voting for each regime, calmest first.
    pub votes: Option<[f64; 4]>,
    /// Out-of-sample accuracy of the model's walk-forward evaluation.
    pub oos_accuracy: f64,
    /// Out-of-sample accuracy of "tomorrow = today" on the same days, for comparison.
    pub persistence_accuracy: Option<f64>,
}

impl TrainedModel {
    /// The call at the last close of `inputs` for the next day, with the vote shares, computed
    /// on the model's own feature spec (an error when the data lacks what the model reads).
    pub fn next_day(&self, inputs: &MarketInputs) -> Result<Option<(Regime, [f64; 4])>, RegimeError> {
        let features = self.card.features.compute(inputs)?;
        let votes = self.votes(&features)?;
        Ok(votes.last().copied().flatten().map(|v| (majority(&v), v)))
    }
}

/// The outlook at the last close of `inputs` under `rules`, with `model`'s call if given.
pub fn outlook(
    inputs: &MarketInputs,
    rules: &MarketRegimeRules,
    model: Option<&TrainedModel>,
) -> Result<Outlook, RegimeError> {
    let t = inputs.len().checked_sub(1).ok_or(RegimeError::NoTrainingRows { days: 0 })?;
    let regimes = rules.classify(inputs.index(), inputs.market());
    let model = match model {
        Some(m) => {
            let call = m.next_day(inputs)?;
            let evaluation = &m.card.evaluation;
            Some(ModelCall {
                version: m.card.version,
                tomorrow: call.map(|(r, _)| r),
                votes: call.map(|(_, v)| v),
                oos_accuracy: evaluation.model.accuracy,
                persistence_accuracy: evaluation.baseline(Baseline::PERSISTENCE).map(|s| s.accuracy),
            })
        }
        None => None,
    };
    Ok(Outlook {
        day_ns: inputs.timestamps()[t],
        today: regimes[t],
        index: inputs.index().map(|x| x[t]),
        realised_vol: rules.realised_vol(inputs.market())[t],
        model,
    })
}

/// Trains the standard model on `inputs`: the standard features under `rules`, labelled by the
/// rules' own regimes, scored against persistence and the plain threshold rule (no hysteresis).
pub fn train_standard(
    inputs: &MarketInputs,
    rules: MarketRegimeRules,
    config: &TrainConfig,
) -> Result<(FeatureMatrix, TrainOutcome), RegimeError> {
    let features = FeatureSpec::standard(inputs, rules).compute(inputs)?;
    let labels = features.rule_regimes().to_vec();
    let baselines = [
        Baseline::persistence(&labels),
        Baseline {
            name: "level_rule".into(),
            predictions: MarketRegimeRules { hold_days: NonZeroUsize::MIN, ..rules }
                .classify(inputs.index(), inputs.market()),
        },
    ];
    let outcome = train(&features, &labels, LabelSource::Rules, &baselines, config)?;
    Ok((features, outcome))
}
