//! The research report's market-regime section: the current learned model (trained and saved
//! on the first run that finds none) and its outlook at the store's last close.

use std::path::Path;

use datasets::Timeframe;
use datasets::store::Store;
use kernel::regime::MarketRegimeRules;
use regimes::{
    MarketInputs, RegimeError, Selection, TrainConfig, TrainedModel, outlook, persist, train_standard,
};

use crate::research_report::MarketRegime;

/// The VIX-like index symbol the section reads when the store has it.
const INDEX: &str = "VIX";

/// The section for `store`, with `reference` as the market: never fails the run; a problem
/// (no market bars, too short a history to train) becomes the section's note.
pub fn market_regime(store: &Store, reference: &str, models: &Path) -> MarketRegime {
    let index = store.info(INDEX, Timeframe::Day1).is_some().then(|| INDEX.to_string());
    let selection = Selection { market: reference.to_string(), index, breadth: true };
    match section(store, &selection, models) {
        Ok(section) => section,
        Err(e) => MarketRegime { outlook: None, notes: vec![format!("market regime unavailable: {e}")] },
    }
}

fn section(store: &Store, selection: &Selection, models: &Path) -> Result<MarketRegime, RegimeError> {
    let inputs = MarketInputs::from_store(store, selection)?;
    let mut notes = Vec::new();
    let model = match persist::load_latest(models)? {
        Some(model) => model,
        None => {
            let trained = train_and_save(&inputs, models)?;
            notes.push(format!(
                "model v{} trained by this run (none was saved in {})",
                trained.card.version,
                models.display()
            ));
            notes.extend(trained.card.warnings.iter().map(ToString::to_string));
            trained
        }
    };
    let rules = model.card.features.rules;
    let outlook = outlook(&inputs, &rules, Some(&model))?;
    Ok(MarketRegime { outlook: Some(outlook), notes })
}

/// Trains the standard model on `inputs` and saves it as the next version in `models`.
fn train_and_save(inputs: &MarketInputs, models: &Path) -> Result<TrainedModel, RegimeError> {
    let (_, outcome) = train_standard(inputs, MarketRegimeRules::default(), &TrainConfig::default())?;
    let mut model = outcome.model;
    persist::save(models, &mut model)?;
    Ok(model)
}
