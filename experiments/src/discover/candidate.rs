//! Candidate files and promotion: what passed the gates, written so that `tradebot promote`
//! can record its backtest and add it to the promoted set without the run that found it.

use std::path::{Path, PathBuf};

use datasets::Timeframe;
use datasets::actions::SAMPLES;
use evolve::db::{CandidateRecord, NewCandidate, ResearchDb};
use evolve::problem::Evaluation;
use evolve::run::now_ns;
use gp::Genome;
use kernel::sim::TradeRules;
use kernel::strategy::MarketData;
use promoted::{PromotedDir, PromotedSet, PromotedStrategy};
use serde::{Deserialize, Serialize};

use super::gates::Candidate;
use super::{DiscoverError, DiscoverSpec, candidate_paths};
use crate::DataSource;
use crate::report::write_file;

/// Where a candidate's bars come from, stored in its file (absolute paths).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataRef {
    /// An embedded sample.
    Sample {
        /// Its symbol, e.g. `GOOG`.
        symbol: String,
    },
    /// A CSV or Alpaca JSON file.
    File {
        /// The file.
        path: PathBuf,
    },
    /// Symbols of a bar store.
    Store {
        /// The store directory.
        dir: PathBuf,
        /// The symbols, in order.
        symbols: Vec<String>,
        /// Their timeframe.
        timeframe: Timeframe,
    },
}

impl DataRef {
    /// The reference of an experiment's data source (paths made absolute when they exist).
    pub fn of(source: &DataSource) -> DataRef {
        let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        match source {
            DataSource::Sample(s) => DataRef::Sample { symbol: s.symbol.to_string() },
            DataSource::File(path) => DataRef::File { path: absolute(path) },
            DataSource::Store { dir, symbols, timeframe } => {
                DataRef::Store { dir: absolute(dir), symbols: symbols.clone(), timeframe: *timeframe }
            }
        }
    }

    /// Loads the bars.
    pub fn load(&self) -> Result<MarketData, String> {
        let source = match self {
            DataRef::Sample { symbol } => DataSource::Sample(
                SAMPLES.iter().find(|s| s.symbol == symbol).ok_or_else(|| format!("no sample `{symbol}`"))?,
            ),
            DataRef::File { path } => DataSource::File(path.clone()),
            DataRef::Store { dir, symbols, timeframe } => {
                DataSource::Store { dir: dir.clone(), symbols: symbols.clone(), timeframe: *timeframe }
            }
        };
        crate::data::load(&source).map_err(|e| e.to_string())
    }
}

/// The JSON file of a candidate: everything about it, and what promotion needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CandidateFile {
    /// Its id in `discovered_strategies`.
    pub id: i64,
    /// The discovery run that found it.
    pub run_id: i64,
    /// The experiment's name.
    pub name: String,
    /// The genome (s-expression).
    pub genome: Genome,
    /// The genome's key (hex).
    pub key: String,
    /// Generation it was first evaluated in.
    pub generation: u32,
    /// Its parents' keys (hex; empty for a random genome).
    pub parents: Vec<String>,
    /// In-sample fitness.
    pub fitness: f64,
    /// In-sample figures.
    pub in_sample: Evaluation,
    /// Out-of-sample figures.
    pub out_of_sample: Option<Evaluation>,
    /// Deflated Sharpe ratio over the run's trials.
    pub deflated_sharpe: f64,
    /// Highest correlation to a promoted strategy.
    pub max_correlation: Option<f64>,
    /// Every gate with its figure and threshold.
    pub gates: serde_json::Value,
    /// The bars it was found on.
    pub data: DataRef,
    /// The account's trading rules (the genome adds its exits).
    pub rules: TradeRules,
    /// Starting cash of its backtests.
    pub cash: f64,
}

/// Records a candidate that passed: the database row and its two files.
pub(super) fn record(
    spec: &DiscoverSpec<'_>,
    c: &mut Candidate,
    run_id: i64,
    db: &mut ResearchDb,
) -> Result<(), DiscoverError> {
    let parents = serde_json::to_string(&c.parents).expect("keys serialise");
    let gates = serde_json::to_value(&c.gates).expect("gates serialise");
    let genome = c.genome.to_string();
    let id = db.record_candidate(&NewCandidate {
        run_id,
        name: spec.name,
        key: c.key,
        genome: &genome,
        generation: c.generation,
        parents: &parents,
        fitness: Some(c.fitness),
        in_sample: &to_json(&c.in_sample),
        out_of_sample: &to_json(&c.out_of_sample),
        deflated_sharpe: Some(c.deflated_sharpe),
        max_correlation: c.max_correlation,
        gates: &gates.to_string(),
        file: None,
        created_ns: now_ns(),
    })?;
    c.id = Some(id);
    let (json_path, sexp_path) = candidate_paths(&spec.settings.candidates, id);
    let file = CandidateFile {
        id,
        run_id,
        name: spec.name.to_string(),
        genome: c.genome.clone(),
        key: format!("{:016x}", c.key),
        generation: c.generation,
        parents: c.parents.iter().map(|k| format!("{k:016x}")).collect(),
        fitness: c.fitness,
        in_sample: c.in_sample.clone(),
        out_of_sample: c.out_of_sample.clone(),
        deflated_sharpe: c.deflated_sharpe,
        max_correlation: c.max_correlation,
        gates,
        data: spec.data.clone(),
        rules: spec.rules,
        cash: spec.cash,
    };
    let failed = |path: &Path| {
        let path = path.display().to_string();
        move |e: std::io::Error| DiscoverError::Files(format!("{path}: {e}"))
    };
    let text = serde_json::to_string_pretty(&file).expect("candidate files serialise");
    write_file(&json_path, &text).map_err(failed(&json_path))?;
    write_file(&sexp_path, &readable(&file)).map_err(failed(&sexp_path))?;
    db.set_candidate_file(id, &json_path.display().to_string())?;
    Ok(())
}

/// Figures as JSON text (they always serialise).
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("figures serialise")
}

/// The `.sexp` file: the genome, pretty-printed, after comments with its figures and lineage.
/// It parses back as the genome (comments run from `;` to the end of the line).
pub fn readable(f: &CandidateFile) -> String {
    let figures = |label: &str, x: Option<&Evaluation>| match x {
        Some(x) => format!(
            "; {label}: Sharpe {:.2}, return {:.1} %, CAGR {:.1} %, max drawdown {:.1} %, {} trades, exposure {:.0} %\n",
            x.figures.sharpe,
            x.figures.total_return * 100.0,
            x.figures.cagr * 100.0,
            x.figures.max_drawdown * 100.0,
            x.figures.trades,
            x.figures.exposure * 100.0
        ),
        None => format!("; {label}: –\n"),
    };
    let parents = if f.parents.is_empty() { "none (random)".to_string() } else { f.parents.join(", ") };
    let correlation =
        f.max_correlation.map_or("– (nothing promoted on these bars)".into(), |c| format!("{c:.2}"));
    format!(
        "; candidate {} of discovery run {} ({}), genome {}\n; lineage: generation {}, parents {parents}\n{}{}; deflated Sharpe {:.3}; max correlation to promoted {correlation}; fitness {:.4}\n{:#}\n",
        f.id,
        f.run_id,
        f.name,
        f.key,
        f.generation,
        figures("in-sample", Some(&f.in_sample)),
        figures("out-of-sample", f.out_of_sample.as_ref()),
        f.deflated_sharpe,
        f.fitness,
        f.genome
    )
}

/// Reads candidate `id`'s record and file.
pub fn load(db: &ResearchDb, id: i64) -> Result<(CandidateRecord, CandidateFile), DiscoverError> {
    let rec = db.candidate(id)?.ok_or_else(|| DiscoverError::Files(format!("there is no candidate {id}")))?;
    let path = rec.file.clone().ok_or_else(|| DiscoverError::Files(format!("candidate {id} has no file")))?;
    let text = std::fs::read_to_string(&path).map_err(|e| DiscoverError::Files(format!("{path}: {e}")))?;
    let file = serde_json::from_str(&text).map_err(|e| DiscoverError::Files(format!("{path}: {e}")))?;
    Ok((rec, file))
}

/// Promotes candidate `id`: records its backtest on its bars, adds it to the promoted set as
/// `gp-<id>` with `allocation` of the account (a new version of the set), and marks it promoted.
pub fn promote(
    db: &mut ResearchDb,
    dir: &PromotedDir,
    id: i64,
    allocation: f64,
) -> Result<(PromotedStrategy, PromotedSet), DiscoverError> {
    let (rec, file) = load(db, id)?;
    let data = file.data.load().map_err(|e| DiscoverError::Data(format!("candidate {id}: {e}")))?;
    let source = format!("candidate {id} of discovery run {} ({})", rec.run_id, rec.name);
    let mut strategy =
        PromotedStrategy::gp(format!("gp-{id}"), &file.genome, &data, file.rules, allocation, source);
    let promoted_err = |e: promoted::PromotedError| DiscoverError::Files(e.to_string());
    strategy.record(&data, file.cash).map_err(promoted_err)?;
    strategy.check().map_err(promoted_err)?;
    let set = dir.promote(strategy.clone(), now_ns()).map_err(promoted_err)?;
    db.set_promoted(id, Some(&strategy.id))?;
    Ok((strategy, set))
}

/// Removes candidate `id` from the promoted set (a new version) and marks it not promoted.
pub fn demote(db: &mut ResearchDb, dir: &PromotedDir, id: i64) -> Result<PromotedSet, DiscoverError> {
    let rec = db.candidate(id)?.ok_or_else(|| DiscoverError::Files(format!("there is no candidate {id}")))?;
    let promoted_id =
        rec.promoted_id.ok_or_else(|| DiscoverError::Files(format!("candidate {id} is not promoted")))?;
    let set = dir.demote(&promoted_id, now_ns()).map_err(|e| DiscoverError::Files(e.to_string()))?;
    db.set_promoted(id, None)?;
    Ok(set)
}
