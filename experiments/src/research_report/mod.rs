//! The nightly research report: what ran on which data, the ranked strategy families with their
//! in-sample and out-of-sample figures, and how long it took.
//!
//! One [`ResearchReport`] renders three ways: Markdown ([`to_markdown`], for the terminal and git),
//! a single self-contained HTML tear sheet with inline SVG charts ([`to_html`], readable offline on
//! the Pi and on a phone) and JSON (the types are `Serialize`). The caller fills every field,
//! including the ranking order and the generation time, so rendering is a pure function of the
//! report; the derived series (drawdowns, monthly returns, rolling Sharpe) come from [`tear`].
//!
//! Figures are fractions in the types (0.05 = 5 %); the renderers print percentages with one decimal,
//! ratios (Sharpe, Sortino, DSR, PBO) with two, and a missing or non-finite value as "–".

mod html;
mod sexpr;
mod svg;
pub mod tear;

use std::borrow::Borrow;

use evolve::stats::Verdict;
use kernel::metrics::Figures;
use serde::Serialize;

use crate::research::State;

pub use html::{escape_html, to_html};
pub use svg::{Chart, Series, XAxis, YFormat, chart_svg};

/// Printed for a value that is missing or not finite.
const DASH: &str = "–";

/// One nightly research run, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResearchReport {
    /// Heading, e.g. "Nightly research 2026-11-25".
    pub title: String,
    /// When the report was generated, RFC 3339 UTC, supplied by the caller.
    pub generated_utc: String,
    /// The research run in the database.
    pub run_id: i64,
    /// The data every family ran on.
    pub data: DataSummary,
    /// The families in ranked order (best out-of-sample first, as the caller ranked them).
    pub families: Vec<FamilyReport>,
    /// `(family, reason)` for families that could not run on this data.
    pub skipped: Vec<(String, String)>,
    /// Wall-clock duration of the run in seconds.
    pub elapsed_s: f64,
    /// Backtests evaluated over the whole run.
    pub evaluations: u64,
    /// Evaluation throughput.
    pub evals_per_s: f64,
    /// Worker threads used.
    pub threads: usize,
    /// The market's regime at the data's last close and the model's call for the next day.
    pub regime: Option<MarketRegime>,
    /// The GP discovery that ran after the families, when the research file enables it.
    pub discovery: Option<DiscoveryReport>,
    /// What changed since the previous run of the same name, one sentence each (families
    /// enabled or disabled, new families, new discovery candidates).
    pub changes: Vec<String>,
    /// The families enabled after the run, held in equal parts out of sample: growth of 1,
    /// `(UTC ns, value)`; empty when none is enabled.
    pub combined: Vec<(i64, f64)>,
    /// The passive alternative over the same out-of-sample bars (SPY, else the universe's
    /// equal-weight buy-and-hold), growth of 1.
    pub market: Option<Curve>,
}

/// A named curve, `(UTC ns, value)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    /// What it is, e.g. "SPY buy-and-hold".
    pub name: String,
    /// `(UTC ns, value)` in time order.
    pub points: Vec<(i64, f64)>,
}

/// Trade statistics of one window, from its closed trades.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TradeStats {
    /// Closed trades.
    pub count: usize,
    /// Fraction of trades with a positive profit after costs (NaN without trades).
    pub win_rate: f64,
    /// Mean return of the winning trades (NaN without any).
    pub avg_win: f64,
    /// Mean return of the losing trades, negative (NaN without any).
    pub avg_loss: f64,
    /// Mean holding period in days, entry bar to exit bar (NaN without trades).
    pub avg_holding_days: f64,
}

impl TradeStats {
    /// The statistics of `trades` (the records or references to them), summed in their order.
    pub fn of<T: std::borrow::Borrow<kernel::sim::Trade>>(trades: &[T]) -> TradeStats {
        let trades = || trades.iter().map(Borrow::borrow);
        let mean = |xs: &mut dyn Iterator<Item = f64>| {
            let (n, sum) = xs.fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
            if n == 0 { f64::NAN } else { sum / n as f64 }
        };
        let count = trades().count();
        let wins = trades().filter(|t| t.pnl > 0.0).count();
        TradeStats {
            count,
            win_rate: if count == 0 { f64::NAN } else { wins as f64 / count as f64 },
            avg_win: mean(&mut trades().filter(|t| t.pnl > 0.0).map(|t| t.ret)),
            avg_loss: mean(&mut trades().filter(|t| t.pnl <= 0.0).map(|t| t.ret)),
            avg_holding_days: mean(&mut trades().map(|t| (t.exit_time.0 - t.entry_time.0) as f64 / 86_400e9)),
        }
    }

    /// No trades measured.
    pub fn none() -> TradeStats {
        TradeStats {
            count: 0,
            win_rate: f64::NAN,
            avg_win: f64::NAN,
            avg_loss: f64::NAN,
            avg_holding_days: f64::NAN,
        }
    }
}

/// One generation of a family's GA, for its convergence chart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GenerationPoint {
    /// Generation number, 0 for the random first one.
    pub generation: u32,
    /// Best fitness in the population.
    pub best: Option<f64>,
    /// Median fitness of the population.
    pub median: Option<f64>,
    /// Mean pairwise genotypic distance, in [0, 1].
    pub diversity: f64,
}

/// Something the GA did to escape stagnation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GaEvent {
    /// The generation it happened in.
    pub generation: u32,
    /// `stagnation`, `injection` or `restart`.
    pub kind: String,
}

/// The discovery section: how hard GP discovery searched and how each hall-of-fame genome
/// fared against the promotion gates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiscoveryReport {
    /// The discovery run in the database (`tradebot runs show`).
    pub run_id: i64,
    /// Distinct genomes evaluated: the trials the deflated Sharpe ratio deflates by.
    pub trials: usize,
    /// Generations run.
    pub generations: u32,
    /// The hall of fame, best first.
    pub genomes: Vec<DiscoveredGenome>,
}

/// One hall-of-fame genome of a discovery run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiscoveredGenome {
    /// The genome as an s-expression.
    pub genome: String,
    /// In-sample Sharpe ratio.
    pub in_sample_sharpe: f64,
    /// Out-of-sample Sharpe ratio and trades (`None` when the backtest was refused).
    pub out_of_sample: Option<(f64, usize)>,
    /// Deflated Sharpe ratio over the run's trials.
    pub deflated_sharpe: f64,
    /// Highest correlation to a promoted strategy, when one runs on the same bars.
    pub max_correlation: Option<f64>,
    /// Its candidate id when it passed every gate; else `None` and [`Self::failed`] names why.
    pub candidate: Option<i64>,
    /// The gates it failed, by name.
    pub failed: Vec<String>,
    /// Every gate with its measured value and threshold.
    pub gates: Vec<GateOutcome>,
}

/// One promotion gate's verdict on a genome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateOutcome {
    /// The gate, e.g. `oos_sharpe`.
    pub gate: String,
    /// The genome's figure (NaN when it has none).
    pub value: f64,
    /// The threshold it is compared with.
    pub threshold: f64,
    /// Whether it passed.
    pub passed: bool,
}

/// The market-regime section: today's rule regime and the learned model's next-day call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketRegime {
    /// The outlook, when it could be computed.
    pub outlook: Option<regimes::Outlook>,
    /// What a reader should know: a model trained by this run, training warnings, or why there
    /// is no outlook.
    pub notes: Vec<String>,
}

/// Where the data came from and how it was split, so a reader can reproduce the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataSummary {
    /// The store or file the bars came from.
    pub source: String,
    /// How the bars were generated when they are synthetic (`None`: imported market data).
    pub synthetic: Option<String>,
    /// Number of symbols.
    pub symbols: usize,
    /// Number of bars over all symbols.
    pub bars: usize,
    /// Bar timeframe, e.g. "1Day".
    pub timeframe: String,
    /// First date in the data.
    pub first: String,
    /// Last date in the data.
    pub last: String,
    /// Where real data came from (provider, feed, adjustment; the universe file), when the
    /// store records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The in-sample / out-of-sample split in words.
    pub split: String,
    /// Hash of the data (hex), to tell identical inputs apart.
    pub data_hash: String,
}

/// The outcome for one strategy family: its best parameters, figures on both samples and the
/// statistics that say how much to trust them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FamilyReport {
    /// Family name (a strategy or GP family).
    pub family: String,
    /// This family's run in the database.
    pub run_id: i64,
    /// Tonight's verdict on it.
    pub verdict: Verdict,
    /// The family's state after the run: "enabled", "disabled", "unchanged (enabled)",
    /// "unchanged (disabled)" or, after `keep` on a family no earlier run judged, "disabled
    /// (new; keep = not enough evidence)".
    pub state: State,
    /// Its out-of-sample record against the passive alternatives (equal-weight buy-and-hold of
    /// the universe, then SPY when present); empty when not measured.
    pub passive: Vec<crate::research::Passive>,
    /// Why the verdict, in a sentence.
    pub reason: String,
    /// The chosen parameters, e.g. "fast=12 slow=48".
    pub params: String,
    /// Which trial of the search they are: "in-sample best", or "plateau median (PBO 0.62)"
    /// when choosing the in-sample peak overfits; empty without a winner.
    pub selection: String,
    /// Figures on the in-sample window (the kernel's one figures type; NaN, JSON `null`, for
    /// what was not measured, printed "–").
    pub in_sample: Figures,
    /// Figures on the out-of-sample window.
    pub out_of_sample: Figures,
    /// Deflated Sharpe ratio (a probability), when computed.
    pub deflated_sharpe: Option<f64>,
    /// Probability of backtest overfitting, when computed.
    pub pbo: Option<f64>,
    /// Parameter sets evaluated.
    pub trials: u64,
    /// Generations the search ran.
    pub generations: u32,
    /// Times the search stagnated and was perturbed.
    pub stagnation_events: u32,
    /// Out-of-sample equity curve, `(UTC ns, equity)`.
    pub equity: Vec<(i64, f64)>,
    /// In-sample equity curve of the same parameters, `(UTC ns, equity)`; may be empty.
    pub in_sample_equity: Vec<(i64, f64)>,
    /// The passive alternative over both windows, `(UTC ns, equity)`; may be empty.
    pub benchmark: Vec<(i64, f64)>,
    /// What [`Self::benchmark`] holds, e.g. "SPY buy-and-hold".
    pub benchmark_name: String,
    /// Trade statistics in sample.
    pub in_sample_trades: TradeStats,
    /// Trade statistics out of sample.
    pub out_of_sample_trades: TradeStats,
    /// The GA's best and median fitness and diversity per generation.
    pub convergence: Vec<GenerationPoint>,
    /// Stagnation, injection and restart events of the GA.
    pub ga_events: Vec<GaEvent>,
    /// How the validation statistics were computed and what they mean for this family, one
    /// sentence each (walk-forward folds, deflation inputs, PBO, repeated looks, point in time).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl FamilyReport {
    /// The row of `family` before anything is known of its search: no figures, parameters,
    /// curves, trades or notes. The research run (and a test) fills in what it has.
    pub fn empty(family: &str, run_id: i64, verdict: Verdict, state: State) -> FamilyReport {
        FamilyReport {
            family: family.to_string(),
            run_id,
            verdict,
            state,
            passive: Vec::new(),
            reason: String::new(),
            params: String::new(),
            selection: String::new(),
            in_sample: Figures::missing(),
            out_of_sample: Figures::missing(),
            deflated_sharpe: None,
            pbo: None,
            trials: 0,
            generations: 0,
            stagnation_events: 0,
            equity: Vec::new(),
            in_sample_equity: Vec::new(),
            benchmark: Vec::new(),
            benchmark_name: String::new(),
            in_sample_trades: TradeStats::none(),
            out_of_sample_trades: TradeStats::none(),
            convergence: Vec::new(),
            ga_events: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// " — <selection>" after a family's parameters, or nothing without a winner.
fn selection_suffix(f: &FamilyReport) -> String {
    if f.selection.is_empty() { String::new() } else { format!(" — {}", f.selection) }
}

/// Column headings of the ranked table, shared by Markdown and HTML.
const RANK_HEADINGS: [&str; 11] = [
    "#",
    "Family",
    "State",
    "Params",
    "IS Sharpe",
    "OOS Sharpe",
    "OOS CAGR",
    "OOS max DD",
    "OOS trades",
    "DSR",
    "PBO",
];

/// Shown instead of the ranked table when no family ran.
const NO_FAMILIES: &str = "No families ran.";

/// The ranked-table cells for `f` at 1-based `rank`, unescaped.
fn rank_cells(rank: usize, f: &FamilyReport) -> [String; 11] {
    let oos = &f.out_of_sample;
    [
        rank.to_string(),
        f.family.clone(),
        f.state.to_string(),
        params_short(&f.params),
        ratio(f.in_sample.sharpe),
        ratio(oos.sharpe),
        pct(oos.cagr),
        pct(oos.max_drawdown),
        thousands(oos.trades as u64),
        opt_ratio(f.deflated_sharpe),
        opt_ratio(f.pbo),
    ]
}

/// `(figure, in-sample, out-of-sample)` rows of a family's comparison table: the backtest
/// figures, then the trade statistics.
fn figure_rows(f: &FamilyReport) -> [(&'static str, String, String); 12] {
    let (is, oos) = (&f.in_sample, &f.out_of_sample);
    let (ti, to) = (&f.in_sample_trades, &f.out_of_sample_trades);
    [
        ("Sharpe", ratio(is.sharpe), ratio(oos.sharpe)),
        ("Sortino", ratio(is.sortino), ratio(oos.sortino)),
        ("CAGR", pct(is.cagr), pct(oos.cagr)),
        ("Total return", pct(is.total_return), pct(oos.total_return)),
        ("Max drawdown", pct(is.max_drawdown), pct(oos.max_drawdown)),
        ("Trades", thousands(is.trades as u64), thousands(oos.trades as u64)),
        ("Win rate", pct(is.win_rate), pct(oos.win_rate)),
        ("Average win", pct2(ti.avg_win), pct2(to.avg_win)),
        ("Average loss", pct2(ti.avg_loss), pct2(to.avg_loss)),
        ("Holding period", holding(ti.avg_holding_days), holding(to.avg_holding_days)),
        ("Exposure", pct(is.exposure), pct(oos.exposure)),
        ("Capital at work", pct(is.capital_at_work), pct(oos.capital_at_work)),
    ]
}

/// A mean holding period: hours under a day ("5.5 h"), else days ("12.3 d"); "–" when missing.
fn holding(days: f64) -> String {
    if days.is_finite() && days < 1.0 { fixed(days * 24.0, 1, " h") } else { fixed(days, 1, " d") }
}

/// The parameters as `(name, value)` pairs with real values trimmed of trailing zeros
/// ("0.0500" → "0.05"), and what follows them in parentheses (a walk-forward refit note).
fn param_pairs(params: &str) -> (Vec<(String, String)>, Option<String>) {
    let (list, note) = match params.split_once(" (") {
        Some((list, rest)) => (list, Some(format!("({rest}"))),
        None => (params, None),
    };
    let pairs = list
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), trim_number(v)))
        .collect();
    (pairs, note)
}

/// A decimal number at three significant digits (at least its whole part) without trailing
/// zeros ("3.3497" → "3.35", "79.3427" → "79.3", "0.0500" → "0.05"); other text unchanged.
fn trim_number(v: &str) -> String {
    match v.parse::<f64>() {
        Ok(x) if v.contains('.') && x.is_finite() => {
            let decimals =
                if x == 0.0 { 0 } else { (2 - x.abs().log10().floor() as i32).clamp(0, 6) as usize };
            let s = format!("{x:.decimals$}");
            let s =
                if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
            if s == "-0" { "0".into() } else { s }
        }
        _ => v.to_string(),
    }
}

/// The parameters on one line at display precision ("fast=12 k=0.05").
fn params_short(params: &str) -> String {
    let (pairs, note) = param_pairs(params);
    if pairs.is_empty() {
        return params.to_string();
    }
    let list: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    match note {
        Some(n) if n.starts_with("(refit") => format!("{} (refit)", list.join(" ")),
        Some(n) => format!("{} {n}", list.join(" ")),
        None => list.join(" "),
    }
}

/// The GA's convergence in one sentence: best and median fitness and diversity from the first
/// generation to the last, and its escape events; `None` without generations.
fn convergence_sentence(f: &FamilyReport) -> Option<String> {
    let (first, last) = (f.convergence.first()?, f.convergence.last()?);
    let opt = |x: Option<f64>| x.map_or_else(|| DASH.to_string(), ratio);
    let mut s = format!(
        "GA convergence over {} generations: best fitness {} → {}, median {} → {}, diversity {} → {}",
        f.convergence.len(),
        opt(first.best),
        opt(last.best),
        opt(first.median),
        opt(last.median),
        ratio(first.diversity),
        ratio(last.diversity)
    );
    if f.ga_events.is_empty() {
        s += "; no stagnation events.";
    } else {
        let events: Vec<String> =
            f.ga_events.iter().map(|e| format!("{} (gen {})", e.kind, e.generation)).collect();
        s += &format!("; events: {}.", events.join(", "));
    }
    Some(s)
}

/// The month names of the monthly-returns table.
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A family's curve on one time axis: in sample then out of sample, growth of 1.
fn family_curve(f: &FamilyReport) -> Vec<(i64, f64)> {
    tear::chained(&f.in_sample_equity, &f.equity)
}

/// The first out-of-sample time of a family, when it has an out-of-sample curve.
fn oos_start(f: &FamilyReport) -> Option<i64> {
    f.equity.iter().find(|p| p.1.is_finite()).map(|p| p.0)
}

/// The summary's sentence on the enabled set against the market, out of sample.
fn combined_sentence(r: &ResearchReport) -> String {
    let enabled = r.families.iter().filter(|f| is_enabled(f)).count();
    let market = r.market.as_ref().map(|m| {
        let (total, cagr, dd) = tear::headline(&m.points);
        format!("{}: total return {}, CAGR {}, max drawdown {}", m.name, pct(total), pct(cagr), pct(dd))
    });
    let set = if r.combined.is_empty() {
        "No family is enabled after this run: nothing would trade".to_string()
    } else {
        let (total, cagr, dd) = tear::headline(&r.combined);
        format!(
            "The enabled set ({enabled} {}, equal weight) out of sample: total return {}, CAGR {}, max drawdown {}",
            if enabled == 1 { "family" } else { "families" },
            pct(total),
            pct(cagr),
            pct(dd)
        )
    };
    match market {
        Some(m) => format!("{set}. {m}."),
        None => format!("{set}."),
    }
}

/// Whether the family is enabled after the run (its state is `enabled` or `unchanged (enabled)`).
pub fn is_enabled(f: &FamilyReport) -> bool {
    f.state.is_enabled()
}

/// One sentence per passive alternative: the family's out-of-sample excess return, information
/// ratio and beta against it.
fn passive_lines(f: &FamilyReport) -> Vec<String> {
    f.passive
        .iter()
        .map(|p| {
            format!(
                "Against {} ({} a year): excess return {} a year, information ratio {}, beta {}.",
                p.name,
                pct(p.cagr),
                pct(p.excess_return),
                ratio(p.information_ratio),
                ratio(p.beta)
            )
        })
        .collect()
}

/// The report's first line: where the data comes from, saying plainly when it is synthetic.
fn origin_line(d: &DataSummary) -> String {
    let dir = store_dir(&d.source);
    match &d.synthetic {
        Some(how) => format!(
            "Data: SYNTHETIC — {how}, read from {dir}. These verdicts test the research machinery, not real \
             market edges."
        ),
        None => match &d.origin {
            Some(origin) => format!(
                "Data: market data from {origin}; {} symbols, bars {} to {}, read from {dir}.",
                d.symbols, d.first, d.last
            ),
            None => format!("Data: imported market data, read from {dir}."),
        },
    }
}

/// The store directory with a trailing `/`, so a store named `store` reads "read from store/",
/// not "store store".
fn store_dir(source: &str) -> String {
    if source.ends_with('/') { source.to_string() } else { format!("{source}/") }
}

/// One line on how hard the family was searched and how far to trust it.
fn search_line(f: &FamilyReport) -> String {
    format!(
        "Run {} · {} trials · {} generations · {} stagnation events · DSR {} · PBO {}",
        f.run_id,
        thousands(f.trials),
        thousands(u64::from(f.generations)),
        thousands(u64::from(f.stagnation_events)),
        opt_ratio(f.deflated_sharpe),
        opt_ratio(f.pbo),
    )
}

/// The data paragraph in words.
fn data_sentence(d: &DataSummary) -> String {
    format!(
        "Source {}: {} symbols, {} bars ({}) from {} to {}. Split: {}. Data hash {}.",
        d.source,
        thousands(d.symbols as u64),
        thousands(d.bars as u64),
        d.timeframe,
        d.first,
        d.last,
        d.split,
        d.data_hash,
    )
}

/// The market-regime paragraph in words, then its notes.
fn regime_sentences(m: &MarketRegime) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(o) = &m.outlook {
        let day = datasets::calendar::session_date(datasets::Timestamp(o.day_ns));
        let today = o.today.map_or_else(|| "not yet classified".to_string(), |r| r.to_string());
        let index = o.index.map_or(String::new(), |x| format!("index {}; ", fixed(x, 1, "")));
        out.push(format!(
            "At the close of {day} the market is {today} ({index}realised volatility {}).",
            fixed(o.realised_vol, 1, " %")
        ));
        if let Some(call) = &o.model {
            let tomorrow =
                call.tomorrow.map_or_else(|| "nothing (incomplete features)".to_string(), |r| r.to_string());
            let votes = call.votes.map_or(String::new(), |v| {
                let shares: Vec<String> = kernel::regime::Regime::ALL
                    .iter()
                    .zip(v)
                    .map(|(r, x)| format!("{r} {}", pct(x)))
                    .collect();
                format!(" ({})", shares.join(" · "))
            });
            let persistence = call
                .persistence_accuracy
                .map_or(String::new(), |a| format!(", \"tomorrow = today\" {}", pct(a)));
            out.push(format!(
                "Model v{} calls the next day {tomorrow}{votes}; out of sample it was right on {} of days{persistence}.",
                call.version,
                pct(call.oos_accuracy)
            ));
        }
    }
    out.extend(m.notes.iter().cloned());
    out
}

/// Column headings of the discovery table, shared by Markdown and HTML.
const DISCOVERY_HEADINGS: [&str; 8] =
    ["#", "Genome", "IS Sharpe", "OOS Sharpe", "OOS trades", "DSR", "Max corr", "Outcome"];

/// The discovery section's sentence.
fn discovery_sentence(d: &DiscoveryReport) -> String {
    let passed = d.genomes.iter().filter(|g| g.candidate.is_some()).count();
    format!(
        "Discovery run {} evaluated {} genomes over {} generations; only the in-sample best of the {} \
         hall-of-fame genomes was tested out of sample (no selection on the test data); {passed} passed \
         the promotion gates{}.",
        d.run_id,
        thousands(d.trials as u64),
        d.generations,
        d.genomes.len(),
        if passed > 0 { " (tradebot candidates list shows them)" } else { "" }
    )
}

/// The discovery-table cells of genome `g` at 1-based `rank`, unescaped.
fn discovery_cells(rank: usize, g: &DiscoveredGenome) -> [String; 8] {
    let outcome = outcome_word(g);
    [
        rank.to_string(),
        g.genome.clone(),
        ratio(g.in_sample_sharpe),
        g.out_of_sample.map_or(DASH.into(), |(s, _)| ratio(s)),
        g.out_of_sample.map_or(DASH.into(), |(_, n)| thousands(n as u64)),
        ratio(g.deflated_sharpe),
        opt_ratio(g.max_correlation),
        outcome,
    ]
}

/// The footer: elapsed time, evaluations, throughput and threads.
fn footer_sentence(r: &ResearchReport) -> String {
    format!(
        "Elapsed {} · {} evaluations · {} evals/s · {} threads",
        duration(r.elapsed_s),
        thousands(r.evaluations),
        if r.evals_per_s.is_finite() {
            thousands(r.evals_per_s.round().max(0.0) as u64)
        } else {
            DASH.into()
        },
        r.threads,
    )
}

/// A fraction as a percentage with two decimals ("0.42 %"), "–" when not finite.
fn pct2(x: f64) -> String {
    fixed(x * 100.0, 2, " %")
}

/// A ratio with two decimals, "–" when not finite; never "-0.00".
fn ratio(x: f64) -> String {
    fixed(x, 2, "")
}

/// A fraction as a percentage with one decimal ("12.3 %"), "–" when not finite.
fn pct(x: f64) -> String {
    fixed(x * 100.0, 1, " %")
}

/// An optional ratio, "–" when missing or not finite.
fn opt_ratio(x: Option<f64>) -> String {
    x.map_or_else(|| DASH.to_string(), ratio)
}

/// `x` with `decimals` decimals and `suffix`, "–" when not finite; a value that rounds to zero
/// prints without a minus sign.
fn fixed(x: f64, decimals: usize, suffix: &str) -> String {
    if !x.is_finite() {
        return DASH.to_string();
    }
    let s = format!("{x:.decimals$}");
    let s = match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    };
    format!("{s}{suffix}")
}

/// An integer with comma thousands separators ("1,234,567").
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Seconds as "42.0 s", "12m 05s" or "3h 02m 09s"; "–" when negative or not finite.
fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return DASH.to_string();
    }
    if secs < 60.0 {
        return format!("{secs:.1} s");
    }
    let total = secs.round() as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 { format!("{h}h {m:02}m {s:02}s") } else { format!("{m}m {s:02}s") }
}

/// Escapes text for Markdown: characters that would start markup or break a table cell get a
/// backslash, a line break becomes a space.
fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' | '<' | '>' | '*' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// One Markdown table row from unescaped cells.
fn md_row<S: AsRef<str>>(cells: &[S]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| escape_md(c.as_ref())).collect();
    format!("| {} |\n", cells.join(" | "))
}

/// The report as Markdown: title, the summary (data, universe, split, what changed, the
/// enabled set against the market), market regime, ranked table, one section per family
/// (parameters, figures and trade statistics in sample next to out of sample, monthly returns,
/// GA convergence), discovery (each genome as an indented tree with its gates), skipped
/// families and a footer with the run's cost.
pub fn to_markdown(r: &ResearchReport) -> String {
    let mut md = format!("# {}\n\n", escape_md(&r.title));
    md += &format!("**{}**\n\n", escape_md(&origin_line(&r.data)));
    md += &format!("Generated {} · research run {}\n\n", escape_md(&r.generated_utc), r.run_id);
    md += "## Summary\n\n";
    md += &format!("{}\n\n", escape_md(&data_sentence(&r.data)));
    md += &format!("{}\n\n", escape_md(&combined_sentence(r)));
    md += "Since the last run:\n\n";
    for line in changes_or_none(r) {
        md += &format!("- {}\n", escape_md(&line));
    }
    md += "\n";
    if let Some(m) = &r.regime {
        md += "## Market regime\n\n";
        for line in regime_sentences(m) {
            md += &format!("{}\n\n", escape_md(&line));
        }
    }

    md += "## Ranking\n\n";
    if r.families.is_empty() {
        md += NO_FAMILIES;
        md += "\n\n";
    } else {
        md += &md_row(&RANK_HEADINGS);
        md += "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
        for (i, f) in r.families.iter().enumerate() {
            md += &md_row(&rank_cells(i + 1, f));
        }
        md += "\n## Families\n\n";
        for (i, f) in r.families.iter().enumerate() {
            md += &family_markdown(i + 1, f);
        }
    }

    if let Some(d) = &r.discovery {
        md += &discovery_markdown(d);
    }

    if !r.skipped.is_empty() {
        md += "## Skipped\n\n";
        for (family, reason) in &r.skipped {
            md += &format!("- {}: {}\n", escape_md(family), escape_md(reason));
        }
        md += "\n";
    }
    md += &format!("---\n\n{}\n", footer_sentence(r));
    md
}

/// The changes since the last run, or a line saying there were none.
fn changes_or_none(r: &ResearchReport) -> Vec<String> {
    if r.changes.is_empty() {
        vec!["no change: every family kept its state".into()]
    } else {
        r.changes.clone()
    }
}

/// One family's Markdown section at 1-based rank `n`.
fn family_markdown(n: usize, f: &FamilyReport) -> String {
    let mut md = format!("### {n}. {} — {}\n\n", escape_md(&f.family), f.state);
    md += &format!("Verdict {}: {}\n\n", f.verdict, escape_md(&f.reason));
    for line in passive_lines(f) {
        md += &format!("{}\n\n", escape_md(&line));
    }
    let (pairs, note) = param_pairs(&f.params);
    if pairs.is_empty() {
        md += &format!("Params: {}{}\n\n", escape_md(&f.params), escape_md(&selection_suffix(f)));
    } else {
        let list: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        md += &format!("Params: {}", escape_md(&list.join(" ")));
        md += &note.map_or(String::new(), |n| format!(" {}", escape_md(&n)));
        md += &escape_md(&selection_suffix(f));
        md += "\n\n";
    }
    for note in &f.notes {
        md += &format!("- {}\n", escape_md(note));
    }
    md += if f.notes.is_empty() { "" } else { "\n" };
    md += &format!("{}\n\n", search_line(f));
    md += &md_row(&["Figure", "In-sample", "Out-of-sample"]);
    md += "|---|---:|---:|\n";
    for (name, is, oos) in figure_rows(f) {
        md += &md_row(&[name, &is, &oos]);
    }
    md += "\n";
    let rows = tear::monthly_returns(&family_curve(f));
    if !rows.is_empty() {
        let from = oos_start(f).map_or(String::new(), |t| format!(" (out of sample from {})", utc_day(t)));
        md += &format!("Monthly returns{from}:\n\n");
        let mut head = vec!["Year"];
        head.extend(MONTHS);
        head.push("Year");
        md += &md_row(&head);
        md += &format!("|---|{}\n", "---:|".repeat(13));
        for row in rows {
            let mut cells = vec![row.year.to_string()];
            cells.extend(row.months.iter().map(|m| m.map_or(String::new(), |x| fixed(x * 100.0, 1, ""))));
            cells.push(row.year_total.map_or(String::new(), |x| fixed(x * 100.0, 1, "")));
            md += &md_row(&cells);
        }
        md += "\n";
    }
    if let Some(line) = convergence_sentence(f) {
        md += &format!("{}\n\n", escape_md(&line));
    }
    md
}

/// The discovery section: its sentence, the hall-of-fame table, then each genome as an indented
/// tree with its gates.
fn discovery_markdown(d: &DiscoveryReport) -> String {
    let mut md = format!("## Discovery\n\n{}\n\n", escape_md(&discovery_sentence(d)));
    if d.genomes.is_empty() {
        return md;
    }
    md += &md_row(&DISCOVERY_HEADINGS);
    md += "|---:|---|---:|---:|---:|---:|---:|---|\n";
    for (i, g) in d.genomes.iter().enumerate() {
        md += &md_row(&discovery_cells(i + 1, g));
    }
    md += "\n";
    for (i, g) in d.genomes.iter().enumerate() {
        md += &format!("### Genome {} — {}\n\n", i + 1, escape_md(&outcome_word(g)));
        md += &format!("```\n{}\n```\n\n", sexpr::indent(&g.genome, GENOME_WIDTH));
        if !g.gates.is_empty() {
            md += &md_row(&["Gate", "Value", "Threshold", "Result"]);
            md += "|---|---:|---:|---|\n";
            for gate in &g.gates {
                md += &md_row(&gate_cells(gate, untested(g)));
            }
            md += "\n";
        }
    }
    md
}

/// Widest line of a genome drawn as a tree, in characters (fits a phone in a small font).
const GENOME_WIDTH: usize = 56;

/// A genome's outcome in words: its candidate id, or the gates it failed.
fn outcome_word(g: &DiscoveredGenome) -> String {
    match g.candidate {
        Some(id) => format!("candidate {id}"),
        None if g.failed.is_empty() => "not tested".into(),
        None if untested(g) => "not tested out of sample (not the in-sample best)".into(),
        None => format!("failed: {}", g.failed.join(", ")),
    }
}

/// Whether the genome failed the `selection` gate: only the in-sample best is tested out of
/// sample, so its out-of-sample gates have nothing to judge.
fn untested(g: &DiscoveredGenome) -> bool {
    g.failed.iter().any(|f| f == "selection")
}

/// The cells of one gate's row: name, value, threshold, and pass, FAIL or — for an
/// out-of-sample gate of a genome that was not tested out of sample — "not tested".
fn gate_cells(g: &GateOutcome, untested: bool) -> [String; 4] {
    if untested && g.gate.starts_with("oos_") {
        return [g.gate.clone(), DASH.into(), gate_number(g, g.threshold), "not tested".into()];
    }
    [
        g.gate.clone(),
        gate_number(g, g.value),
        gate_number(g, g.threshold),
        if g.passed { "pass".into() } else { "FAIL".into() },
    ]
}

/// A gate's value or threshold: whole numbers (trade counts) as such, else two decimals.
fn gate_number(g: &GateOutcome, x: f64) -> String {
    let whole = g.value.fract() == 0.0 && g.threshold.fract() == 0.0;
    if x.is_finite() && (whole || x.abs() >= 100.0) { fixed(x, 0, "") } else { ratio(x) }
}

/// `ns` as the UTC date `YYYY-MM-DD`.
fn utc_day(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests;
