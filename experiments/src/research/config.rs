//! The research file (`experiments/nightly.toml`): the families to evolve, the universe, and
//! the GA, fitness, validation, verdict and account settings they share.
//!
//! ```toml
//! [research]
//! name = "nightly"
//! report = "../results/nightly"  # .md, .html and .json next to each other (relative to this file)
//! reference = "SPY"              # the universe: every symbol with bars in this one's span
//! universe = "sp500.txt"        # optional: only these symbols (a universe file, relative to this file)
//! timeframe = "1Day"             # the universe's bars (a family may override it)
//!
//! [families.sma_cross]           # one table per family; every listed family runs unless
//! params = { fast = { min = 2, max = 60 } }   # enabled = false; params narrow the search
//! [families.gap_fill]
//! timeframe = "1Min"
//! [families.my_idea]             # a strategy file run as a family (evolved over its params)
//! strategy_file = "../strategies/trend_pullback.tbs"
//!
//! [evolve]      # as in an experiment file, shared by every family
//! [fitness]
//! [validation]
//! [verdict]     # min_oos_sharpe, min_dsr, min_oos_decisions, max_is_oos_gap
//! [discover]    # optional: GP discovery after the families (see crate::config::discover),
//!               # plus `symbols`, `population`, `generations` and `enabled`
//! [account]
//! [cluster]     # optional: farm the evaluations out to `tradebot worker`s (docs/scale-out.md)
//! nats = "nats://127.0.0.1:4222"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datasets::Timeframe;
use evolve::ga::GaConfig;
use evolve::genes::ParamGenes;
use evolve::stats::{FitnessConfig, VerdictRules};
use kernel::sim::TradeRules;
use kernel::strategy::{Strategy, by_name};
use serde::Deserialize;
use toml::Spanned;

use crate::config::discover::{self, RawDiscover};
use crate::config::{
    self, ConfigError, ResearchDiscover, Source, account, evolution as evo, raw::RawAccount, raw::RawRange,
    resolve,
};
use crate::evolution::Validation;
use crate::research::judge::Gates;

/// The whole file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResearch {
    research: RawHeader,
    families: BTreeMap<Spanned<String>, RawFamily>,
    evolve: Option<GaConfig>,
    fitness: Option<FitnessConfig>,
    validation: Option<evo::RawValidation>,
    verdict: Option<VerdictRules>,
    discover: Option<RawDiscover>,
    #[serde(default)]
    account: RawAccount,
    cluster: Option<Cluster>,
}

/// `[cluster]`: the NATS server whose workers evaluate the run's genomes (`tradebot research
/// --nats` overrides it); the report is the same as a local run's.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// The server, e.g. `nats://127.0.0.1:4222`.
    pub nats: String,
    /// JetStream's ack wait for the task queue (seconds), when the run creates it.
    pub ack_wait_s: Option<u64>,
    /// JetStream's max-deliver limit for the task queue, when the run creates it.
    pub max_deliver: Option<u32>,
    /// How long to wait for a lost server before evaluating a batch locally (seconds).
    pub reconnect_wait_s: Option<u64>,
    /// Days the cluster's data bucket keeps segments, manifests and symbol lists that no run
    /// has shared since (pruned when the run shares its store; 0: never pruned).
    pub keep_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    report: Option<String>,
    reference: Option<String>,
    universe: Option<String>,
    timeframe: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFamily {
    #[serde(default = "yes")]
    enabled: bool,
    /// A strategy file (`.tbs`, relative to the research file) run as this family.
    strategy_file: Option<Spanned<String>>,
    timeframe: Option<Spanned<String>>,
    #[serde(default)]
    params: BTreeMap<Spanned<String>, Spanned<RawRange>>,
}

fn yes() -> bool {
    true
}

/// One family to evolve.
#[derive(Clone)]
pub struct Family {
    /// The strategy.
    pub strategy: &'static dyn Strategy,
    /// Its parameters' genes.
    pub genes: ParamGenes,
    /// The bars it runs on.
    pub timeframe: Timeframe,
    /// The strategy file it is (`strategy_file = "…"`), `None` for a built-in family; a
    /// promoted file family stores the file's text, hash and parameter values.
    pub file: Option<&'static gp::FileStrategy>,
}

/// A validated research file.
#[derive(Clone)]
pub struct Research {
    /// Name, recorded in the database and the report title.
    pub name: String,
    /// Report files' path without extension (`.md`, `.html`, `.json` are added).
    pub report: Option<PathBuf>,
    /// The universe is every symbol with bars in this symbol's span, each listed on its own
    /// (point in time).
    pub reference: String,
    /// `[research] universe`: only these symbols (those the store holds); `None`, every symbol.
    pub universe: Option<datasets::universe::Universe>,
    /// The enabled families, in the file's (alphabetical) order.
    pub families: Vec<Family>,
    /// Families listed with `enabled = false`.
    pub disabled: Vec<&'static str>,
    /// GA settings shared by every family.
    pub ga: GaConfig,
    /// Objective and constraints.
    pub fitness: FitnessConfig,
    /// In-sample share and PBO.
    pub validation: Validation,
    /// How out-of-sample evidence becomes a verdict.
    pub verdict: VerdictRules,
    /// What an `enable` needs besides the statistics: return, capital at work, the benchmark.
    pub gates: Gates,
    /// Costs and fill rules.
    pub rules: TradeRules,
    /// Starting cash.
    pub cash: f64,
    /// Strategy discovery after the families (`[discover]`), when enabled.
    pub discover: Option<ResearchDiscover>,
    /// Where the evaluations are farmed out (`[cluster]`), when set.
    pub cluster: Option<Cluster>,
    /// The file's text, verbatim.
    pub text: String,
}

impl Research {
    /// Reads and validates the research file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Io { file: file.clone(), source })?;
        Research::parse(&text, &file, path.parent().unwrap_or(Path::new("")))
    }

    /// Validates `text`; `file` names it in errors and relative paths in it (`report`,
    /// `[discover] candidates` and `promoted`) resolve against `base`, the file's directory.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Self, ConfigError> {
        let src = Source { file, text };
        let raw: RawResearch = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
        let timeframe = |tf: &Option<Spanned<String>>, key: &str| match tf {
            Some(tf) => {
                tf.get_ref().parse::<Timeframe>().map_err(|e| src.error(tf.span(), key, e.to_string()))
            }
            None => Ok(Timeframe::Day1),
        };
        let default_tf = timeframe(&raw.research.timeframe, "research.timeframe")?;
        let mut families = Vec::new();
        let mut disabled = Vec::new();
        for (name, family) in &raw.families {
            let key = format!("families.{}", name.get_ref());
            let (strategy, file) = match &family.strategy_file {
                None => (config::builtin(&src, name, &key)?, None),
                Some(_) if by_name(name.get_ref()).is_some() => {
                    let message = "is a built-in family: call a strategy file's family otherwise";
                    return Err(src.error(name.span(), key, message));
                }
                Some(path) => {
                    let file = config::strategy_file(
                        &src,
                        path,
                        &format!("{key}.strategy_file"),
                        base,
                        name.get_ref(),
                    )?;
                    (file as &'static dyn Strategy, Some(file))
                }
            };
            if !family.enabled {
                disabled.push(strategy.name());
                continue;
            }
            let key = format!("families.{}.timeframe", name.get_ref());
            let timeframe = match &family.timeframe {
                Some(_) => timeframe(&family.timeframe, &key)?,
                None => default_tf,
            };
            let genes = evo::genes(&src, strategy, &family.params)?;
            families.push(Family { strategy, genes, timeframe, file });
        }
        if families.is_empty() {
            return Err(src.key_error("families", "enable at least one family"));
        }
        let (rules, cash) = account(&src, &raw.account)?;
        let raw_validation = raw.validation.unwrap_or_default();
        Ok(Research {
            name: raw.research.name,
            report: raw.research.report.map(|p| resolve(base, &p)),
            reference: raw.research.reference.unwrap_or_else(|| "SPY".into()),
            universe: match &raw.research.universe {
                Some(path) => Some(
                    datasets::universe::Universe::read(&resolve(base, path))
                        .map_err(|e| src.key_error("research.universe", e.to_string()))?,
                ),
                None => None,
            },
            families,
            disabled,
            ga: evo::ga(&src, raw.evolve.unwrap_or_default())?,
            fitness: evo::fitness(&src, raw.fitness.unwrap_or_default())?,
            validation: evo::validation(&src, &raw_validation)?,
            verdict: raw.verdict.unwrap_or_default(),
            gates: gates(&src, &raw_validation)?,
            rules,
            cash,
            discover: match raw.discover {
                Some(d) => discover::research(&src, d, base)?,
                None => None,
            },
            cluster: raw.cluster,
            text: text.to_string(),
        })
    }
}

/// The enable gates of `[validation]` (`min_oos_return`, `min_capital_at_work`, `benchmark`),
/// defaults for the keys not written.
fn gates(src: &Source<'_>, raw: &evo::RawValidation) -> Result<Gates, ConfigError> {
    let mut gates = Gates::default();
    if let Some(r) = &raw.min_oos_return {
        let x = *r.get_ref();
        if !(x.is_finite() && x > -1.0 && x < 10.0) {
            let message = format!("{x} is not an annual return above -1 (a fraction: 0.02 = 2 % a year)");
            return Err(src.error(r.span(), "validation.min_oos_return", message));
        }
        gates.min_oos_return = x;
    }
    if let Some(c) = &raw.min_capital_at_work {
        let x = *c.get_ref();
        if !(0.0..=1.0).contains(&x) {
            let message = format!("{x} is not a share of equity in [0, 1]");
            return Err(src.error(c.span(), "validation.min_capital_at_work", message));
        }
        gates.min_capital_at_work = x;
    }
    if let Some(b) = raw.benchmark {
        gates.benchmark = b;
    }
    Ok(gates)
}
