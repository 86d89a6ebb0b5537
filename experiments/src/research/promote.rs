//! Promoting a research family: the parameters its newest finished research run validated,
//! on the universe that run evolved it on, under the research file's trade rules and cash —
//! the backtest the research ran, recorded for the live bridge's reproduction check. A family
//! given by a strategy file is promoted as a file entry (its text, hash and parameter values),
//! a built-in one as a built-in entry.

use std::path::Path;

use datasets::Timestamp;
use datasets::store::Store;
use evolve::db::{ResearchDb, RunKind};
use kernel::strategy::{ParamLiteral, ParamValue, Params};
use promoted::PromotedStrategy;

use super::{Research, ResearchError, universe};
use crate::data::data_hash;

/// Family `name` of `research` with `allocation` of the account, its backtest recorded and
/// checked (not yet committed to a promoted set). Its parameters are the winner of its run in
/// the newest finished research run named like `research` in `db`; its bars are the family's
/// universe in `store`, which must be the bars that run evolved it on (the same hash; for a
/// family on another timeframe than the first family's, the same first bar).
pub fn promote_family(
    research: &Research,
    name: &str,
    store: &Path,
    db: &ResearchDb,
    allocation: f64,
) -> Result<PromotedStrategy, ResearchError> {
    let fail = |why: String| ResearchError::Promote { family: name.to_string(), why };
    let family = research.families.iter().find(|f| f.strategy.name() == name).ok_or_else(|| {
        let known: Vec<_> = research.families.iter().map(|f| f.strategy.name()).collect();
        fail(format!(
            "not an enabled family of research `{}` (families: {})",
            research.name,
            known.join(", ")
        ))
    })?;
    let night = db.latest_finished(RunKind::Research, &research.name)?.ok_or_else(|| {
        fail(format!(
            "the database holds no finished research run named `{}`: run the research first",
            research.name
        ))
    })?;
    let run = db
        .child_runs(night.id)?
        .into_iter()
        .find(|r| r.strategy == name)
        .ok_or_else(|| fail(format!("research run {} did not run it", night.id)))?;
    let summary: serde_json::Value =
        run.summary.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
    let winner = summary["winner"]["params"].as_object().ok_or_else(|| {
        fail(format!("its run {} (research run {}) has no validated winner", run.id, night.id))
    })?;
    let space = family.strategy.space();
    let values = space
        .specs()
        .iter()
        .map(|spec| {
            let literal = winner.get(spec.name).cloned().unwrap_or_default();
            let literal: ParamLiteral = serde_json::from_value(literal)
                .map_err(|_| fail(format!("run {} records no value of parameter `{}`", run.id, spec.name)))?;
            spec.decode(&literal).map_err(|e| fail(format!("run {}: {e}", run.id)))
        })
        .collect::<Result<Vec<ParamValue>, ResearchError>>()?;
    let params = Params::from_values(space, values).map_err(|e| fail(format!("run {}: {e}", run.id)))?;

    let data =
        universe(&Store::open(store)?, family.timeframe, &research.reference, research.universe.as_ref())?;
    // The research run records the hash of its first family's universe; a family on other bars
    // is checked by where its bars start.
    let (what, found, recorded) = if family.timeframe == research.families[0].timeframe {
        ("data hash", format!("{:016x}", data_hash(&data)), format!("{:016x}", night.data_hash))
    } else {
        let first = data.timestamps().first().copied().unwrap_or_default();
        ("first bar", Timestamp(first).to_string(), Timestamp(run.data_first_ns).to_string())
    };
    if found != recorded {
        return Err(fail(format!(
            "the {} universe in {} is not the one research run {} evolved it on ({what} {found}, recorded {recorded})",
            family.timeframe,
            store.display(),
            night.id,
        )));
    }
    let source = format!("research family {name} of research run {} ({})", night.id, research.name);
    let mut strategy = match family.file {
        Some(file) => PromotedStrategy::file(name, file, &params, &data, research.rules, allocation, source)
            .map_err(|e| fail(e.to_string()))?,
        None => PromotedStrategy::builtin(
            name,
            family.strategy,
            &params,
            &data,
            research.rules,
            allocation,
            source,
        ),
    };
    strategy.record(&data, research.cash).map_err(|e| fail(e.to_string()))?;
    strategy.check().map_err(|e| fail(e.to_string()))?;
    Ok(strategy)
}
