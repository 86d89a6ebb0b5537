//! PRE_MARKET's market-regime outlook: the current learned model (`regimes::persist`) applied
//! to the bar store's daily closes — the rule regime of the last close and the model's call for
//! the next day — logged and recorded in `regime_daily`. It informs; no strategy reads it yet.
//! Only bars of earlier sessions count. Anything missing (no store, no model, too little data)
//! is a logged warning, never a failure.

use chrono::NaiveDate;
use datasets::store::Store;
use datasets::{Timeframe, Timestamp, calendar};
use regimes::{MarketInputs, Selection, outlook, persist};

use super::{Bridge, ServiceError};
use crate::db::RegimeRow;

/// The broad market the regime is read from.
const MARKET: &str = "SPY";
/// The VIX-like index, used when the store has it.
const INDEX: &str = "VIX";

impl Bridge {
    /// Computes, logs and records the day's regime outlook, when a store is configured.
    pub(super) fn regime_outlook(&self, date: NaiveDate) -> Result<(), ServiceError> {
        let Some(dir) = &self.config.service.store else { return Ok(()) };
        match self.compute_regime(dir, date) {
            Ok(Some(row)) => {
                tracing::info!(
                    "regime at the close of {}: today {}, tomorrow {} (model v{}, votes {})",
                    row.bar_day,
                    row.today.as_deref().unwrap_or("warming up"),
                    row.tomorrow.as_deref().unwrap_or("no call"),
                    row.model_version,
                    row.votes.as_deref().unwrap_or("none")
                );
                self.db.write_regime(&row, self.now_ns())?;
            }
            Ok(None) => {}
            Err(why) => tracing::warn!("regime outlook unavailable: {why}"),
        }
        Ok(())
    }

    fn compute_regime(&self, dir: &std::path::Path, date: NaiveDate) -> Result<Option<RegimeRow>, String> {
        let models = &self.config.service.regime_models;
        let Some(model) = persist::load_latest(models).map_err(|e| e.to_string())? else {
            tracing::warn!("no regime model in {}: no regime outlook today", models.display());
            return Ok(None);
        };
        let store = Store::open(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let index = store.info(INDEX, Timeframe::Day1).is_some().then(|| INDEX.to_string());
        let selection = Selection { market: MARKET.into(), index, breadth: true };
        let inputs = MarketInputs::from_store(&store, &selection).map_err(|e| e.to_string())?;
        let inputs = closes_before(inputs, date).map_err(|e| e.to_string())?;
        let o = outlook(&inputs, &model.card.features.rules, Some(&model)).map_err(|e| e.to_string())?;
        let call = o.model.as_ref();
        Ok(Some(RegimeRow {
            day: date.to_string(),
            bar_day: calendar::session_date(Timestamp(o.day_ns)).to_string(),
            today: o.today.map(|r| r.name().to_string()),
            tomorrow: call.and_then(|c| c.tomorrow).map(|r| r.name().to_string()),
            votes: call.and_then(|c| c.votes).map(|v| serde_json::json!(v).to_string()),
            model_version: model.card.version,
        }))
    }
}

/// `inputs` without any bar of `date` or later: at PRE_MARKET the day's bar cannot be complete,
/// so a store that has one (a synthetic or foreign store) must not leak it into the outlook.
fn closes_before(inputs: MarketInputs, date: NaiveDate) -> Result<MarketInputs, regimes::RegimeError> {
    let ts = inputs.timestamps();
    let n = ts.iter().take_while(|&&t| calendar::session_date(Timestamp(t)) < date).count();
    if n == ts.len() {
        return Ok(inputs);
    }
    MarketInputs::new(
        ts[..n].to_vec(),
        inputs.market()[..n].to_vec(),
        inputs.index().map(|i| i[..n].to_vec()),
        inputs.members().iter().map(|m| m[..n].to_vec()).collect(),
    )
}
