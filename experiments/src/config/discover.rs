//! Discovery files (`tradebot discover`) and the `[discover]` section they share with the
//! nightly research file: GP settings, parsimony, promotion gates and where candidates go.
//!
//! ```toml
//! [experiment]
//! name = "discover_goog"
//! [data]
//! sample = "GOOG"                  # or file / store + symbols + timeframe, as for a sweep
//! [discover]
//! parsimony = 0.002                # fitness subtracted per tree node
//! candidates = "candidates"        # candidate files (a path written here: relative to this file)
//! promoted = "data/promoted"       # the promoted set the correlation gate compares with
//! cache_mb = 256                   # shared subexpression columns per generation
//! hall_of_fame_distance = 0.5      # least signal distance between two hall-of-fame genomes
//! seeds = ["strategies/sma_cross.tbs"]  # strategy files in generation 0 (relative to this file)
//! [discover.gp]                    # gp::GpConfig: tree shapes and mutation mix
//! max_depth = 7
//! max_nodes = 40
//! [discover.novelty]               # novelty::NoveltyConfig (k_neighbors 20, archive_size 500,
//! novelty_weight = 0.3             # novelty_weight 0.3 …); 0 turns novelty search off
//! portfolio_weight = 0.0           # > 0: fitness += weight × portfolio score vs the promoted set
//! [discover.portfolio_fitness]     # portfolio_fitness::PortfolioFitnessConfig
//! [discover.gates]                 # every gate a candidate must pass to be recorded
//! min_oos_sharpe = 0.5
//! min_dsr = 0.9
//! min_oos_trades = 10
//! max_drawdown = 0.35
//! max_correlation = 0.7
//! benchmark = "passive"            # beat buy-and-hold of what it trades, after costs ("absolute": off)
//! [evolve]                         # as for tradebot evolve
//! [fitness]
//! [validation]                     # in_sample only (walk-forward is not supported here)
//! [account]
//! [cluster]                        # optional: nats = "nats://host:4222", as in a research file
//! ```

use std::path::{Path, PathBuf};

use evolve::ga::GaConfig;
use evolve::stats::FitnessConfig;
use gp::{Genome, GpConfig};
use kernel::sim::TradeRules;
use novelty::{NoveltyConfig, NoveltyError};
use portfolio_fitness::PortfolioFitnessConfig;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::{ConfigError, Source};
use super::evolution::{self as evo, RawValidation};
use super::raw::{RawAccount, RawData};
use super::resolve;
use super::{DataSource, account, data_source};
use crate::research::{BenchmarkGate, Cluster};

/// The promotion gates; a candidate is recorded only when it passes every one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Gates {
    /// Lowest annualised out-of-sample Sharpe ratio.
    pub min_oos_sharpe: f64,
    /// Lowest deflated Sharpe ratio of the in-sample returns over the run's trials.
    pub min_dsr: f64,
    /// Fewest closed out-of-sample trades.
    pub min_oos_trades: usize,
    /// Deepest out-of-sample drawdown allowed, as a positive fraction (0.35 = −35 %).
    pub max_drawdown: f64,
    /// Highest correlation of its out-of-sample daily returns to any promoted strategy's.
    pub max_correlation: f64,
    /// The variance of the trials' Sharpe ratios the deflated Sharpe ratio assumes.
    pub dsr_variance: DsrVariance,
    /// `passive` (the default): the out-of-sample CAGR, after costs, must beat an equal-weight
    /// buy-and-hold of the symbols it trades, as a family's must beat its universe's;
    /// `absolute` judges the candidate on its own figures.
    pub benchmark: BenchmarkGate,
}

/// Which variance of the trials' per-bar Sharpe ratios deflates the best one.
///
/// Under the null hypothesis that no strategy has an edge, every trial's Sharpe estimate has
/// variance ≈ 1/T (T in-sample bars): `null` deflates by the expected maximum of that many such
/// estimates. `trials` uses the variance actually observed across the run's trials, as the
/// parameter-tuning runs report it — for a converged GP population, which holds many genuinely
/// different strategies next to near-copies of the best, that variance is mostly real spread,
/// not estimation noise, and makes the gate reject even a known edge (see the README).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DsrVariance {
    /// `1/T`: the estimator's variance under the null.
    #[default]
    Null,
    /// The variance observed across the run's trials.
    Trials,
}

impl Default for Gates {
    fn default() -> Self {
        Gates {
            min_oos_sharpe: 0.5,
            min_dsr: 0.9,
            min_oos_trades: 10,
            max_drawdown: 0.35,
            max_correlation: 0.7,
            dsr_variance: DsrVariance::Null,
            benchmark: BenchmarkGate::Passive,
        }
    }
}

/// `[discover]` as written (shared with the research file, which adds `enabled` and `symbols`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDiscover {
    pub(crate) enabled: Option<bool>,
    #[serde(default)]
    pub(crate) symbols: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) population: Option<usize>,
    #[serde(default)]
    pub(crate) generations: Option<u32>,
    #[serde(default = "parsimony")]
    parsimony: Spanned<f64>,
    #[serde(default)]
    candidates: Option<String>,
    #[serde(default)]
    promoted: Option<String>,
    #[serde(default = "cache_mb")]
    cache_mb: usize,
    #[serde(default)]
    gp: GpConfig,
    #[serde(default)]
    gates: Gates,
    #[serde(default)]
    novelty: NoveltyConfig,
    #[serde(default)]
    portfolio_weight: f64,
    #[serde(default)]
    portfolio_fitness: PortfolioFitnessConfig,
    #[serde(default = "hall_of_fame_distance")]
    hall_of_fame_distance: f64,
    #[serde(default)]
    seeds: Vec<Spanned<String>>,
}

fn hall_of_fame_distance() -> f64 {
    evolve::discovery::HALL_OF_FAME_DISTANCE
}

fn parsimony() -> Spanned<f64> {
    Spanned::new(0..0, 0.002)
}
fn cache_mb() -> usize {
    256
}

/// The validated `[discover]` section.
#[derive(Clone, Debug, PartialEq)]
pub struct DiscoverSettings {
    /// Tree shapes and mutation mix.
    pub gp: GpConfig,
    /// Fitness subtracted per tree node.
    pub parsimony: f64,
    /// The promotion gates.
    pub gates: Gates,
    /// Directory of candidate files.
    pub candidates: PathBuf,
    /// The promoted set the correlation gate compares with.
    pub promoted: PathBuf,
    /// Memory for shared subexpression columns per generation.
    pub cache_bytes: usize,
    /// Novelty search (`[discover.novelty]`; `novelty_weight = 0` turns it off).
    pub novelty: NoveltyConfig,
    /// Fitness added per unit of portfolio score against the promoted set (0: not a term).
    pub portfolio_weight: f64,
    /// The portfolio score's settings (`[discover.portfolio_fitness]`), also used by the
    /// correlation gate (its `min_overlap_days`).
    pub portfolio_fitness: PortfolioFitnessConfig,
    /// Least behaviour distance between two hall-of-fame genomes
    /// ([`evolve::discovery::GpProblem::behaviour_distance`]).
    pub hall_of_fame_distance: f64,
    /// Strategies generation 0 starts from (`seeds`, strategy files read, parsed and bound at
    /// their params' defaults when the config is loaded), before the random genomes.
    pub seeds: Vec<Genome>,
}

/// The strategy files of `discover.seeds`, read relative to `base`, parsed as
/// [`gp::StrategyFile`]s and bound at their params' defaults; an error names
/// the seed's line in the config and the strategy file's own line and column.
fn seeds(src: &Source<'_>, raw: &[Spanned<String>], base: &Path) -> Result<Vec<Genome>, ConfigError> {
    raw.iter()
        .map(|given| {
            let path = resolve(base, given.get_ref());
            let file = gp::StrategyFile::read(&path).map_err(|e| {
                let why = match e {
                    gp::FileError::Io { .. } => format!("cannot read strategy file {e}"),
                    gp::FileError::Syntax { .. } => e.to_string(),
                };
                src.error(given.span(), "discover.seeds", why)
            })?;
            Ok(file.defaults())
        })
        .collect()
}

/// Checks a `[discover]` section, naming the key of the first bad value.
/// Checks `[discover]`; paths written in it resolve against `base`, the file's directory (the
/// defaults, `candidates` and `data/promoted`, against the working directory like the CLI's).
pub(crate) fn settings(
    src: &Source<'_>,
    raw: RawDiscover,
    base: &Path,
) -> Result<DiscoverSettings, ConfigError> {
    if let Err((key, message)) = raw.gp.check() {
        return Err(src.key_error(&format!("discover.gp.{key}"), message));
    }
    let p = *raw.parsimony.get_ref();
    if !(p.is_finite() && p >= 0.0) {
        return Err(src.error(
            raw.parsimony.span(),
            "discover.parsimony",
            format!("{p} is not a number >= 0"),
        ));
    }
    let g = &raw.gates;
    let checks = [
        ("min_oos_sharpe", g.min_oos_sharpe.is_finite(), "a finite number"),
        ("min_dsr", (0.0..=1.0).contains(&g.min_dsr), "a probability in [0, 1]"),
        ("max_drawdown", g.max_drawdown > 0.0 && g.max_drawdown <= 1.0, "a fraction in (0, 1]"),
        ("max_correlation", (-1.0..=1.0).contains(&g.max_correlation), "a correlation in [-1, 1]"),
    ];
    if let Some((key, _, expected)) = checks.iter().find(|c| !c.1) {
        return Err(src.key_error(&format!("discover.gates.{key}"), format!("must be {expected}")));
    }
    if let Err(e) = raw.novelty.validate() {
        let key = match &e {
            NoveltyError::Config { field, .. } => format!("discover.novelty.{field}"),
            _ => "discover.novelty".into(),
        };
        return Err(src.key_error(&key, e.to_string()));
    }
    if !(raw.portfolio_weight.is_finite() && raw.portfolio_weight >= 0.0) {
        return Err(src.key_error("discover.portfolio_weight", "must be a number >= 0"));
    }
    if let Err(e) = raw.portfolio_fitness.validate() {
        return Err(src.key_error("discover.portfolio_fitness", e.to_string()));
    }
    if !(0.0..=1.0).contains(&raw.hall_of_fame_distance) {
        return Err(src.key_error("discover.hall_of_fame_distance", "must be a distance in [0, 1]"));
    }
    if raw.cache_mb == 0 {
        return Err(src.key_error("discover.cache_mb", "must be at least 1"));
    }
    let seeds = seeds(src, &raw.seeds, base)?;
    Ok(DiscoverSettings {
        gp: raw.gp,
        parsimony: p,
        gates: raw.gates,
        candidates: raw.candidates.map_or_else(|| PathBuf::from("candidates"), |p| resolve(base, &p)),
        promoted: raw.promoted.map_or_else(|| PathBuf::from("data/promoted"), |p| resolve(base, &p)),
        cache_bytes: raw.cache_mb << 20,
        novelty: raw.novelty,
        portfolio_weight: raw.portfolio_weight,
        portfolio_fitness: raw.portfolio_fitness,
        hall_of_fame_distance: raw.hall_of_fame_distance,
        seeds,
    })
}

/// A discovery file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiscoveryFile {
    experiment: RawName,
    data: Spanned<RawData>,
    discover: RawDiscover,
    evolve: Option<GaConfig>,
    fitness: Option<FitnessConfig>,
    validation: Option<RawValidation>,
    #[serde(default)]
    account: RawAccount,
    cluster: Option<Cluster>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawName {
    name: String,
}

/// A validated discovery file.
#[derive(Clone, Debug)]
pub struct Discovery {
    /// Experiment name.
    pub name: String,
    /// The bars searched.
    pub data: DataSource,
    /// GP, parsimony, gates, directories.
    pub settings: DiscoverSettings,
    /// GA settings.
    pub ga: GaConfig,
    /// Objective and constraints.
    pub fitness: FitnessConfig,
    /// Share of the bars in sample (the rest is the out-of-sample stage the gates judge).
    pub in_sample: f64,
    /// Costs and fills (each genome adds its own protective exits).
    pub rules: TradeRules,
    /// Starting cash.
    pub cash: f64,
    /// The file's text, verbatim.
    pub text: String,
    /// Where the evaluations are farmed out (`[cluster]`, as in a research file), when set.
    pub cluster: Option<Cluster>,
}

impl Discovery {
    /// Reads and validates the discovery file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Io { file: file.clone(), source })?;
        Discovery::parse(&text, &file, path.parent().unwrap_or(Path::new("")))
    }

    /// Validates `text`; `file` names it in errors, `base` resolves relative data paths.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Self, ConfigError> {
        let src = Source { file, text };
        let raw: RawDiscoveryFile = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
        for (key, given) in
            [("symbols", raw.discover.symbols.is_some()), ("enabled", raw.discover.enabled.is_some())]
        {
            if given {
                return Err(src.key_error(
                    &format!("discover.{key}"),
                    "only applies in the research file (a discovery file has [data] and [evolve])",
                ));
            }
        }
        let validation = evo::validation(&src, &raw.validation.unwrap_or_default())?;
        if validation.walk_forward.is_some() {
            return Err(src.key_error("validation.walk_forward", "discovery validates on a holdout only"));
        }
        if validation.in_sample >= 1.0 {
            return Err(src.key_error(
                "validation.in_sample",
                "discovery needs an out-of-sample stage for its gates (use a share below 1)",
            ));
        }
        let (rules, cash) = account(&src, &raw.account)?;
        Ok(Discovery {
            name: raw.experiment.name,
            data: data_source(&src, &raw.data, base)?,
            settings: settings(&src, raw.discover, base)?,
            ga: evo::ga(&src, raw.evolve.unwrap_or_default())?,
            fitness: evo::fitness(&src, raw.fitness.unwrap_or_default())?,
            in_sample: validation.in_sample,
            rules,
            cash,
            text: text.to_string(),
            cluster: raw.cluster,
        })
    }
}

/// The `[discover]` section of the research file: discovery as part of the nightly job.
#[derive(Clone, Debug, PartialEq)]
pub struct ResearchDiscover {
    /// GP, parsimony, gates, directories.
    pub settings: DiscoverSettings,
    /// The universe's symbols it searches (default: the reference symbol, plus `VIX` for the
    /// regime terminal when the universe has it).
    pub symbols: Option<Vec<String>>,
    /// Population, if not the research file's `[evolve]` one.
    pub population: Option<usize>,
    /// Generations, if not the research file's `[evolve]` ones.
    pub generations: Option<u32>,
}

/// Checks the research file's `[discover]`; `None` when it is there with `enabled = false`.
pub(crate) fn research(
    src: &Source<'_>,
    raw: RawDiscover,
    base: &Path,
) -> Result<Option<ResearchDiscover>, ConfigError> {
    if raw.enabled == Some(false) {
        return Ok(None);
    }
    if raw.symbols.as_ref().is_some_and(Vec::is_empty) {
        return Err(src.key_error("discover.symbols", "list at least one symbol"));
    }
    if let Some(p) = raw.population.filter(|p| !(2..=evolve::ga::MAX_POPULATION).contains(p)) {
        let message = format!("must be in 2..={} (got {p})", evolve::ga::MAX_POPULATION);
        return Err(src.key_error("discover.population", message));
    }
    if let Some(g) = raw.generations.filter(|g| !(1..=evolve::ga::MAX_GENERATIONS).contains(g)) {
        let message = format!("must be in 1..={} (got {g})", evolve::ga::MAX_GENERATIONS);
        return Err(src.key_error("discover.generations", message));
    }
    let (symbols, population, generations) = (raw.symbols.clone(), raw.population, raw.generations);
    Ok(Some(ResearchDiscover { settings: settings(src, raw, base)?, symbols, population, generations }))
}
