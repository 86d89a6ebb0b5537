//! One promoted strategy: what to run, on which bars, with which share of the account and
//! rules, and the backtest it was promoted on.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::Arc;

use datasets::Timeframe;
use kernel::metrics::Figures;
use kernel::sim::{FillTiming, TradeRules};
use kernel::strategy::{
    self, Backtest, Bound, MarketData, ParamLiteral, ParamSpec, ParamValue, Params, SignalSet, SignalSource,
    Strategy, StrategyError, data_hash,
};
use serde::{Deserialize, Serialize};

use crate::{Hash64, PromotedError};

/// What a promoted strategy runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategySpec {
    /// A built-in kernel strategy (`kernel::strategy::registry`) with every parameter given.
    Builtin {
        /// Registry name, e.g. `mean_reversion`.
        strategy: String,
        /// Every parameter of the strategy's space, by name.
        params: BTreeMap<String, ParamEntry>,
    },
    /// A strategy discovered by genetic programming: its genome as an s-expression
    /// (`gp::Genome`'s text form), traded on every tradable symbol of its data. Its protective
    /// exits are the genome's genes, and the strategy's `rules` must carry exactly those.
    Gp {
        /// The genome, e.g. `(strategy (entry (gt close (sma 50 close))) (exit …) (size 1))`.
        genome: String,
    },
    /// A strategy file a user wrote (`*.tbs`, see docs/strategy-language.md): its text
    /// verbatim, comments included, the text's content hash, and the value of every `(param …)`
    /// it declares. Loading parses the text as a [`gp::StrategyFile`], refuses a text whose hash
    /// differs and binds the values, so what runs is exactly what was promoted. It runs like a
    /// GP genome (every tradable symbol, the file's own exits).
    File {
        /// Where it was read from, for the reader (the stored text is what runs).
        path: String,
        /// The file's text, verbatim.
        text: String,
        /// [`Hash64::of_text`] of `text`.
        hash: Hash64,
        /// Every parameter the file declares, by name (none for a file without params).
        #[serde(default)]
        params: BTreeMap<String, ParamEntry>,
    },
}

/// A parameter value as the file spells it: the kernel's one parameter codec
/// ([`ParamSpec::decode`](kernel::strategy::ParamSpec::decode)).
pub type ParamEntry = ParamLiteral;

/// A strategy cleared for trading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotedStrategy {
    /// Unique within a set: lowercase letters, digits, `_`, `-` and `.`, at most 48 characters
    /// (the live bridge builds client order ids from it).
    pub id: String,
    /// What to run.
    pub spec: StrategySpec,
    /// The bars it runs on.
    pub timeframe: Timeframe,
    /// Every symbol it reads (traded or not, e.g. `VIX` for a regime rotation).
    pub symbols: Vec<String>,
    /// Share of the account's equity it may hold, in `(0, 1]`; a set's shares add up to at most 1.
    pub allocation: f64,
    /// How its signals become fills: costs, sizing, protective exits (next-open fills only).
    pub rules: TradeRules,
    /// The backtest it was promoted on, if recorded.
    pub recorded: Option<RecordedBacktest>,
    /// Where it came from, e.g. `research run 12` or `candidate 7`.
    pub source: String,
}

/// The backtest a strategy was promoted on: enough to check that the file, run again on the
/// same bars, gives the same result bit for bit.
///
/// Files written before the figures were one type ([`Figures`]) carry only the trades, final
/// equity, Sharpe ratio and maximum drawdown, at the top level; they still load, with the other
/// figures missing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RecordedFile")]
pub struct RecordedBacktest {
    /// Starting cash.
    pub cash: f64,
    /// [`data_hash`] of the bars it ran on.
    pub data_hash: Hash64,
    /// First bar (UTC ns).
    pub first_ns: i64,
    /// Last bar (UTC ns).
    pub last_ns: i64,
    /// Number of bars.
    pub bars: usize,
    /// The backtest's figures (capital at work not measured).
    pub figures: Figures,
    /// [`Hash64::of_f64s`] of the equity at every bar.
    pub equity_hash: Hash64,
}

/// A [`RecordedBacktest`] as a file spells it: `figures`, or (files of older builds) the four
/// figures `trades`, `final_equity`, `sharpe` and `max_drawdown` beside the provenance.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordedFile {
    cash: f64,
    data_hash: Hash64,
    first_ns: i64,
    last_ns: i64,
    bars: usize,
    figures: Option<Figures>,
    trades: Option<usize>,
    final_equity: Option<f64>,
    sharpe: Option<f64>,
    max_drawdown: Option<f64>,
    equity_hash: Hash64,
}

impl TryFrom<RecordedFile> for RecordedBacktest {
    type Error = String;

    fn try_from(f: RecordedFile) -> Result<Self, String> {
        let figures = match (f.figures, f.trades, f.final_equity, f.sharpe, f.max_drawdown) {
            (Some(figures), None, None, None, None) => figures,
            (None, Some(trades), Some(final_equity), Some(sharpe), Some(max_drawdown)) => {
                Figures { trades, final_equity, sharpe, max_drawdown, ..Figures::missing() }
            }
            (Some(_), ..) => {
                return Err("`figures` given with top-level trades/final_equity/sharpe/max_drawdown \
                            (the older spelling): keep only `figures`"
                    .into());
            }
            _ => return Err("missing field `figures`".into()),
        };
        Ok(RecordedBacktest {
            cash: f.cash,
            data_hash: f.data_hash,
            first_ns: f.first_ns,
            last_ns: f.last_ns,
            bars: f.bars,
            figures,
            equity_hash: f.equity_hash,
        })
    }
}

impl RecordedBacktest {
    /// The record of `bt`, run from `cash` on `data`.
    pub fn of(bt: &Backtest, data: &MarketData, cash: f64) -> RecordedBacktest {
        let ts = data.timestamps();
        let equity = bt.result.equity();
        RecordedBacktest {
            cash,
            data_hash: Hash64(data_hash(data)),
            first_ns: ts[0],
            last_ns: ts[ts.len() - 1],
            bars: ts.len(),
            figures: Figures::of(&bt.metrics, equity.last().copied().unwrap_or(cash)),
            equity_hash: Hash64::of_f64s(equity),
        }
    }

    /// The first figure in which `other` differs from `self`, as `name: recorded vs now`.
    fn first_difference(&self, other: &RecordedBacktest) -> Option<String> {
        let same_f64 = |a: f64, b: f64| a.to_bits() == b.to_bits();
        let (mine, theirs) = (&self.figures, &other.figures);
        let checks = [
            (
                "data hash",
                self.data_hash == other.data_hash,
                self.data_hash.to_string(),
                other.data_hash.to_string(),
            ),
            ("bars", self.bars == other.bars, self.bars.to_string(), other.bars.to_string()),
            ("trades", mine.trades == theirs.trades, mine.trades.to_string(), theirs.trades.to_string()),
            (
                "final equity",
                same_f64(mine.final_equity, theirs.final_equity),
                mine.final_equity.to_string(),
                theirs.final_equity.to_string(),
            ),
            (
                "sharpe",
                same_f64(mine.sharpe, theirs.sharpe),
                mine.sharpe.to_string(),
                theirs.sharpe.to_string(),
            ),
            (
                "equity curve",
                self.equity_hash == other.equity_hash,
                self.equity_hash.to_string(),
                other.equity_hash.to_string(),
            ),
        ];
        checks.into_iter().find(|c| !c.1).map(|(name, _, a, b)| format!("{name}: recorded {a}, now {b}"))
    }
}

/// A promoted strategy resolved once against the kernel (a family with checked parameters,
/// or a parsed genome): ready to generate signals as often as needed, without re-reading the
/// spec.
#[derive(Clone)]
pub struct Runnable {
    id: String,
    source: Arc<dyn SignalSource>,
}

impl std::fmt::Debug for Runnable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.id, self.source)
    }
}

/// Every parameter of `params`, by name, as the file spells it.
fn entries(params: &Params) -> BTreeMap<String, ParamEntry> {
    let specs = params.space().specs();
    specs
        .iter()
        .zip(params.values())
        .map(|(spec, &value)| (spec.name.to_string(), spec.encode(value)))
        .collect()
}

/// The sleeve name a GP strategy's legs trade under.
pub const GP_SLEEVE: &str = gp::SLEEVE;

impl Runnable {
    /// What it runs.
    pub fn source(&self) -> &dyn SignalSource {
        &*self.source
    }

    /// Signals on `data` (one per bar for each traded symbol).
    pub fn signals(&self, data: &MarketData) -> Result<SignalSet, PromotedError> {
        self.source.signals(data).map_err(|source| PromotedError::Strategy { id: self.id.clone(), source })
    }

    /// The most positions it holds at once on `data`'s universe (`None`: one per traded symbol).
    pub fn max_positions(&self, data: &MarketData) -> Option<NonZeroUsize> {
        self.source.max_positions(data)
    }

    /// A backtest on `data` from `cash` under `rules`.
    pub fn backtest(
        &self,
        data: &MarketData,
        rules: TradeRules,
        cash: f64,
    ) -> Result<Backtest, PromotedError> {
        strategy::backtest_source(&*self.source, data, rules, cash)
            .map_err(|source| PromotedError::Backtest { id: self.id.clone(), source })
    }
}

impl PromotedStrategy {
    /// A built-in strategy with `params` on `data`'s symbols and timeframe, its backtest not
    /// yet recorded ([`PromotedStrategy::record`]).
    pub fn builtin(
        id: impl Into<String>,
        strategy: &dyn Strategy,
        params: &Params,
        data: &MarketData,
        rules: TradeRules,
        allocation: f64,
        source: impl Into<String>,
    ) -> PromotedStrategy {
        PromotedStrategy {
            id: id.into(),
            spec: StrategySpec::Builtin { strategy: strategy.name().to_string(), params: entries(params) },
            timeframe: data.timeframe(),
            symbols: data.symbols().iter().map(|s| s.meta.symbol.clone()).collect(),
            allocation,
            rules,
            recorded: None,
            source: source.into(),
        }
    }

    /// A GP strategy trading every tradable symbol of `data` (and reading the others, e.g. a
    /// VIX-like index for its regime terminal), under `rules` with the genome's protective
    /// exits; its backtest not yet recorded ([`PromotedStrategy::record`]).
    pub fn gp(
        id: impl Into<String>,
        genome: &gp::Genome,
        data: &MarketData,
        rules: TradeRules,
        allocation: f64,
        source: impl Into<String>,
    ) -> PromotedStrategy {
        PromotedStrategy {
            id: id.into(),
            spec: StrategySpec::Gp { genome: genome.to_string() },
            timeframe: data.timeframe(),
            symbols: data.symbols().iter().map(|s| s.meta.symbol.clone()).collect(),
            allocation,
            rules: genome.rules(rules),
            recorded: None,
            source: source.into(),
        }
    }

    /// The strategy file of `strategy` (a research family's, or one read by
    /// [`gp::FileStrategy::load`]) at `params`, trading every tradable symbol of `data` (and
    /// reading the others) under `rules` with the file's own protective exits; its text,
    /// content hash and parameter values are stored, its backtest not yet recorded
    /// ([`PromotedStrategy::record`]).
    pub fn file(
        id: impl Into<String>,
        strategy: &gp::FileStrategy,
        params: &Params,
        data: &MarketData,
        rules: TradeRules,
        allocation: f64,
        source: impl Into<String>,
    ) -> Result<PromotedStrategy, PromotedError> {
        let id = id.into();
        let file = strategy.file();
        let genome = file.bind(params).map_err(|source| PromotedError::File { id: id.clone(), source })?;
        let mut promoted = PromotedStrategy::gp(id, &genome, data, rules, allocation, source);
        let text = file.text().to_string();
        promoted.spec = StrategySpec::File {
            path: file.file().to_string(),
            hash: Hash64::of_text(&text),
            text,
            params: entries(params),
        };
        Ok(promoted)
    }

    /// Resolves the spec against the kernel, once: the strategy must exist, every parameter of
    /// its space must be given (no silent defaults: the file alone must determine the trades),
    /// and the values must pass the space's bounds and the strategy's rules.
    pub fn resolve(&self) -> Result<Runnable, PromotedError> {
        let source: Arc<dyn SignalSource> = match &self.spec {
            StrategySpec::Gp { genome } => Arc::new(
                genome
                    .parse::<gp::Genome>()
                    .map_err(|source| PromotedError::Genome { id: self.id.clone(), source })?,
            ),
            StrategySpec::File { path, text, hash, params } => {
                let found = Hash64::of_text(text);
                if found != *hash {
                    let (id, path) = (self.id.clone(), path.clone());
                    return Err(PromotedError::TextChanged { id, path, recorded: *hash, found });
                }
                let fail = |source| PromotedError::File { id: self.id.clone(), source };
                let file = gp::StrategyFile::parse(path, text).map_err(fail)?;
                let values = self.param_values(file.params(), params)?;
                Arc::new(file.bind_values(&values).map_err(fail)?)
            }
            StrategySpec::Builtin { strategy, params } => {
                let found = strategy::by_name(strategy).ok_or_else(|| PromotedError::UnknownStrategy {
                    id: self.id.clone(),
                    strategy: strategy.clone(),
                })?;
                let space = found.space();
                let values = self.param_values(space.specs(), params)?;
                let params =
                    Params::from_values(space, values).map_err(|e| PromotedError::param(&self.id, e))?;
                Arc::new(Bound::new(found, params).map_err(|e| match e {
                    StrategyError::Params(e) => PromotedError::param(&self.id, e),
                    source => PromotedError::Strategy { id: self.id.clone(), source },
                })?)
            }
        };
        Ok(Runnable { id: self.id.clone(), source })
    }

    /// Checks everything that can be checked without bars: the id, the allocation, the
    /// symbols, the rules (valid, next-open fills), the spec, and the cash account (a strategy
    /// that needs a short leg is refused, never traded one-legged).
    pub fn check(&self) -> Result<Runnable, PromotedError> {
        let invalid = |why: String| PromotedError::Invalid { id: self.id.clone(), why };
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 48
            && self.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b));
        if !id_ok {
            return Err(invalid("an id is 1–48 of a-z, 0-9, `_`, `-`, `.`".into()));
        }
        if !(self.allocation > 0.0 && self.allocation <= 1.0) {
            return Err(invalid(format!("allocation {} is not in (0, 1]", self.allocation)));
        }
        if self.symbols.is_empty() {
            return Err(invalid("lists no symbols".into()));
        }
        self.rules.validate().map_err(|e| invalid(format!("rules: {e}")))?;
        if self.rules.fill == FillTiming::SameBarClose {
            return Err(invalid(
                "rules: a traded strategy fills at the next open, not the signal bar's close".into(),
            ));
        }
        let runnable = self.resolve()?;
        let source = runnable.source();
        if source.needs_short() {
            return Err(invalid(format!(
                "{} needs a short leg, which a cash account cannot hold",
                source.name()
            )));
        }
        // A source that carries its own exits (a genome's genes): the rules must not say otherwise.
        if let Some(own) = source.own_exits().filter(|own| *own != self.rules.exits) {
            return Err(invalid(format!(
                "rules: exits {:?} differ from the genome's {own:?}",
                self.rules.exits
            )));
        }
        Ok(runnable)
    }

    /// A backtest on `data` from `cash` under the strategy's own rules.
    pub fn backtest(&self, data: &MarketData, cash: f64) -> Result<Backtest, PromotedError> {
        self.resolve()?.backtest(data, self.rules, cash)
    }

    /// Runs the backtest on `data` from `cash` and stores it as the record to reproduce.
    pub fn record(&mut self, data: &MarketData, cash: f64) -> Result<&RecordedBacktest, PromotedError> {
        let bt = self.backtest(data, cash)?;
        Ok(self.recorded.insert(RecordedBacktest::of(&bt, data, cash)))
    }

    /// Runs the strategy again on `data` and checks that it gives its recorded backtest bit for
    /// bit (same bars by hash, same trades, equity at every bar); returns the new backtest.
    pub fn reproduce(&self, data: &MarketData) -> Result<Backtest, PromotedError> {
        let recorded = self.recorded.as_ref().ok_or_else(|| PromotedError::NotReproduced {
            id: self.id.clone(),
            what: "no backtest was recorded".into(),
        })?;
        let bt = self.backtest(data, recorded.cash)?;
        let now = RecordedBacktest::of(&bt, data, recorded.cash);
        match recorded.first_difference(&now) {
            None => Ok(bt),
            Some(what) => Err(PromotedError::NotReproduced { id: self.id.clone(), what }),
        }
    }

    /// The value of every parameter in `specs`, decoded from `given` and checked against its
    /// bounds: none missing, none unknown (no silent defaults: the file alone must determine
    /// the trades).
    fn param_values(
        &self,
        specs: &[ParamSpec],
        given: &BTreeMap<String, ParamEntry>,
    ) -> Result<Vec<ParamValue>, PromotedError> {
        if let Some(unknown) = given.keys().find(|k| !specs.iter().any(|s| s.name == k.as_str())) {
            let known: Vec<_> = specs.iter().map(|s| s.name).collect();
            let why = if known.is_empty() {
                "unknown (it declares no parameters)".to_string()
            } else {
                format!("unknown (parameters: {})", known.join(", "))
            };
            return Err(self.param_error(unknown, why));
        }
        specs
            .iter()
            .map(|spec| {
                let entry =
                    given.get(spec.name).ok_or_else(|| self.param_error(spec.name, "missing".into()))?;
                spec.decode(entry).map_err(|e| PromotedError::param(&self.id, e))
            })
            .collect()
    }

    fn param_error(&self, param: &str, why: String) -> PromotedError {
        PromotedError::Param { id: self.id.clone(), param: param.to_string(), why }
    }
}
