//! `tradebot regimes`: today's market regime, its history, and the learned next-day model's
//! out-of-sample scores; `--train` fits, scores and saves a new model version.

use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use datasets::Timestamp;
use datasets::calendar::session_date;
use datasets::store::{Store, StoreError};
use kernel::regime::{Combine, MarketRegimeRules, RealisedWindow, Regime, Thresholds};
use regimes::persist;
use regimes::{
    FeatureMatrix, FeatureSpec, ForestParams, LabelSource, MarketInputs, ModelCard, Scores, Selection,
    TrainConfig, TrainedModel,
};
use serde_json::json;

use crate::data;

/// How the index and realised-volatility readings combine (see `kernel::regime::Combine`).
#[derive(Clone, Copy, ValueEnum)]
enum CombineArg {
    /// The index decides; realised volatility where the index has no reading.
    IndexFirst,
    /// The more stressed of the two readings.
    MoreStressed,
}

/// Arguments of `tradebot regimes`.
#[derive(Args)]
pub struct RegimesArgs {
    /// Bar store directory.
    /// (`--data` is the old spelling, kept for one release.)
    #[arg(long, alias = "data", env = "TRADEBOT_STORE", default_value = data::DEFAULT_STORE)]
    store: PathBuf,
    /// Directory of the versioned regime models (`vNNNN.postcard`, `vNNNN.json`, `CURRENT`).
    #[arg(long, env = "TRADEBOT_REGIME_MODELS", default_value = persist::DEFAULT_DIR)]
    models: PathBuf,
    /// Train a new model (walk-forward scores, then a fit on every day) and save it as the
    /// next version.
    #[arg(long)]
    train: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// The market symbol (returns, realised volatility, drawdown; its days are the calendar).
    #[arg(long, default_value = "SPY")]
    market: String,
    /// The VIX-like index symbol; `none` for realised volatility alone.
    #[arg(long, default_value = "VIX")]
    index: String,
    /// Leave out the breadth features (share of the store's stocks above their 50-day average, up).
    #[arg(long)]
    no_breadth: bool,
    /// Index thresholds: calm below, normal below, crisis above.
    #[arg(long, value_delimiter = ',', num_args = 3, default_values_t = [15.0, 25.0, 35.0])]
    index_thresholds: Vec<f64>,
    /// Realised-volatility thresholds in annualised percent: calm below, normal below, crisis above.
    #[arg(long, value_delimiter = ',', num_args = 3, default_values_t = [12.0, 20.0, 30.0])]
    vol_thresholds: Vec<f64>,
    /// Daily returns in the realised-volatility window.
    #[arg(long, default_value_t = 21)]
    vol_window: usize,
    /// How the index and realised-volatility readings make a day's level.
    #[arg(long, value_enum, default_value_t = CombineArg::IndexFirst)]
    combine: CombineArg,
    /// Days a new level must hold before the regime switches (hysteresis; 1 = none).
    #[arg(long, default_value_t = 3)]
    hold_days: usize,
    /// Warn when a regime has fewer training examples than this.
    #[arg(long, default_value_t = 30)]
    min_samples_per_regime: usize,
    /// Trees in the forest (with `--train`).
    #[arg(long, default_value_t = ForestParams::default().trees)]
    trees: u16,
    /// Random seed of the forest (with `--train`).
    #[arg(long, default_value_t = ForestParams::default().seed)]
    seed: u64,
    /// Regime spells of the history to list (the JSON lists every one).
    #[arg(long, default_value_t = 12)]
    history: usize,
}

impl RegimesArgs {
    fn rules(&self) -> Result<MarketRegimeRules> {
        let thresholds = |v: &[f64]| Thresholds::new(v[0], v[1], v[2]);
        Ok(MarketRegimeRules {
            index: thresholds(&self.index_thresholds).context("--index-thresholds")?,
            realised: thresholds(&self.vol_thresholds).context("--vol-thresholds")?,
            realised_window: RealisedWindow::new(self.vol_window).context("--vol-window")?,
            combine: match self.combine {
                CombineArg::IndexFirst => Combine::IndexFirst,
                CombineArg::MoreStressed => Combine::MoreStressed,
            },
            hold_days: NonZeroUsize::new(self.hold_days).context("--hold-days must be at least 1")?,
        })
    }

    fn selection(&self) -> Selection {
        let index = (!self.index.eq_ignore_ascii_case("none")).then(|| self.index.clone());
        Selection { market: self.market.clone(), index, breadth: !self.no_breadth }
    }
}

/// Runs `tradebot regimes`.
pub fn run(args: RegimesArgs) -> Result<()> {
    let rules = args.rules()?;
    let store = match Store::open(&args.store) {
        Err(StoreError::NotAStore(dir)) => bail!(
            "no bar store at {}: build one with `tradebot data generate` (or `tradebot research`, which builds the default data)",
            dir.display()
        ),
        other => other?,
    };
    let selection = args.selection();
    let inputs = MarketInputs::from_store(&store, &selection)?;
    if inputs.len() < 2 {
        bail!(
            "{} has {} daily bars of {}: too few for regimes",
            args.store.display(),
            inputs.len(),
            selection.market
        );
    }
    let (features, model, trained) = if args.train {
        let config = TrainConfig {
            forest: ForestParams { trees: args.trees, seed: args.seed, ..Default::default() },
            min_samples_per_regime: args.min_samples_per_regime,
            ..Default::default()
        };
        let (features, outcome) = regimes::train_standard(&inputs, rules, &config)?;
        let mut model = outcome.model;
        let saved = persist::save_if_changed(&args.models, &mut model)
            .with_context(|| format!("saving the model in {}", args.models.display()))?;
        (features, Some(model), if saved.is_some() { Fit::Saved } else { Fit::Unchanged })
    } else {
        let features = FeatureSpec::standard(&inputs, rules).compute(&inputs)?;
        let model = persist::load_latest(&args.models)
            .with_context(|| format!("loading the current model of {}", args.models.display()))?;
        (features, model, Fit::Loaded)
    };
    let tomorrow = match &model {
        Some(m) => Some(m.next_day(&inputs).context(
            "the data lacks what the current model reads: retrain with `tradebot regimes --train`",
        )?),
        None => None,
    };
    let report = Report {
        args: &args,
        rules,
        inputs: &inputs,
        features: &features,
        model: model.as_ref(),
        trained,
        tomorrow,
    };
    if let Some(m) = &model {
        for w in &m.card.warnings {
            eprintln!("warning: {w}");
        }
    }
    if args.json { crate::emit(&report.json().to_string()) } else { crate::emit(&report.text()?) }
}

/// `{"calm": …, "normal": …, "stressed": …, "crisis": …}`.
fn per_regime(values: [f64; 4]) -> serde_json::Value {
    Regime::ALL
        .iter()
        .zip(values)
        .map(|(r, v)| (r.name().to_string(), json!(v)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// A run of days in one regime.
struct Spell {
    first: usize,
    last: usize,
    regime: Regime,
}

/// The classified days as spells, oldest first.
fn spells(regimes: &[Option<Regime>]) -> Vec<Spell> {
    let mut out: Vec<Spell> = Vec::new();
    for (t, r) in regimes.iter().enumerate() {
        let Some(r) = *r else { continue };
        match out.last_mut() {
            Some(s) if s.regime == r && s.last + 1 == t => s.last = t,
            _ => out.push(Spell { first: t, last: t, regime: r }),
        }
    }
    out
}

/// Everything the command shows.
struct Report<'a> {
    args: &'a RegimesArgs,
    rules: MarketRegimeRules,
    inputs: &'a MarketInputs,
    features: &'a FeatureMatrix,
    model: Option<&'a TrainedModel>,
    trained: Fit,
    tomorrow: Option<Option<(Regime, [f64; 4])>>,
}

/// Where the model shown comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// The current version, loaded.
    Loaded,
    /// Trained now and saved as a new version.
    Saved,
    /// Trained now, identical to the current version: nothing written.
    Unchanged,
}

impl Report<'_> {
    fn day(&self, t: usize) -> String {
        session_date(Timestamp(self.inputs.timestamps()[t])).to_string()
    }

    fn today(&self) -> (usize, Option<Regime>, Option<f64>, f64) {
        let t = self.inputs.len() - 1;
        let vol = self.rules.realised_vol(self.inputs.market())[t];
        (t, self.features.rule_regimes()[t], self.inputs.index().map(|x| x[t]), vol)
    }

    fn shares(&self) -> [f64; 4] {
        let known: Vec<Regime> = self.features.rule_regimes().iter().flatten().copied().collect();
        Regime::ALL.map(|r| known.iter().filter(|&&k| k == r).count() as f64 / known.len().max(1) as f64)
    }

    fn json(&self) -> serde_json::Value {
        let (t, regime, index, vol) = self.today();
        let spells: Vec<_> = spells(self.features.rule_regimes())
            .iter()
            .map(|s| json!({"first": self.day(s.first), "last": self.day(s.last), "regime": s.regime, "days": s.last - s.first + 1}))
            .collect();
        let tomorrow = self.tomorrow.map(|call| {
            json!({
                "regime": call.map(|(r, _)| r),
                "votes": call.map(|(_, v)| per_regime(v)),
            })
        });
        json!({
            "store": self.args.store.display().to_string(),
            "market": self.args.market,
            "index": self.args.selection().index,
            "breadth_members": self.inputs.members().len(),
            "days": self.inputs.len(),
            "first": self.day(0),
            "last": self.day(t),
            "rules": self.rules,
            "today": {
                "date": self.day(t),
                "regime": regime,
                "index_close": index,
                "index_level": index.and_then(|x| self.rules.index.level(x)),
                "realised_vol_pct": (!vol.is_nan()).then_some(vol),
                "realised_level": self.rules.realised.level(vol),
            },
            "tomorrow": tomorrow,
            "shares": per_regime(self.shares()),
            "history": spells,
            "trained": self.trained != Fit::Loaded,
            "saved": self.trained == Fit::Saved,
            "model": self.model.map(|m| &m.card),
        })
    }

    fn text(&self) -> Result<String> {
        let mut out = String::new();
        let (t, regime, index, vol) = self.today();
        let index_name = self.args.selection().index.unwrap_or_else(|| "no index".into());
        writeln!(
            out,
            "Regimes on {}: {} market, {index_name}, {} breadth members; {} days {} .. {}",
            self.args.store.display(),
            self.args.market,
            self.inputs.members().len(),
            self.inputs.len(),
            self.day(0),
            self.day(t)
        )?;
        let r = &self.rules;
        let combine = match r.combine {
            Combine::IndexFirst => "where the index has no reading",
            Combine::MoreStressed => "the more stressed reading wins",
        };
        writeln!(
            out,
            "Rules: index {}; realised vol ({} d) {} %, {combine}; hold {} days\n",
            r.index,
            r.realised_window.get(),
            r.realised,
            r.hold_days
        )?;
        let show = |x: Option<Regime>| x.map_or("unclassified".to_string(), |r| r.to_string());
        let mut readings = Vec::new();
        if let Some(x) = index {
            readings.push(format!("{index_name} {x:.2} → {}", show(r.index.level(x))));
        }
        if !vol.is_nan() {
            readings.push(format!("realised vol {vol:.1} % → {}", show(r.realised.level(vol))));
        }
        writeln!(out, "Today {}: {}  ({})", self.day(t), show(regime), readings.join(", "))?;
        match (self.model, self.tomorrow) {
            (Some(m), Some(Some((call, votes)))) => {
                let shares: Vec<String> =
                    Regime::ALL.iter().zip(votes).map(|(r, v)| format!("{r} {:.0} %", 100.0 * v)).collect();
                writeln!(
                    out,
                    "Tomorrow (model v{:04}): {call}  (votes: {})",
                    m.card.version,
                    shares.join(", ")
                )?;
            }
            (Some(m), _) => writeln!(
                out,
                "Tomorrow (model v{:04}): no call, today's features are incomplete",
                m.card.version
            )?,
            (None, _) => writeln!(
                out,
                "Tomorrow: no trained model in {} (run `tradebot regimes --train`)",
                self.args.models.display()
            )?,
        }
        let all = spells(self.features.rule_regimes());
        let shown = self.args.history.min(all.len());
        writeln!(out, "\nHistory (last {shown} of {} spells):", all.len())?;
        for s in &all[all.len() - shown..] {
            writeln!(
                out,
                "  {} .. {}  {:<8} {:>5} days",
                self.day(s.first),
                self.day(s.last),
                s.regime,
                s.last - s.first + 1
            )?;
        }
        let shares: Vec<String> =
            Regime::ALL.iter().zip(self.shares()).map(|(r, s)| format!("{r} {:.1} %", 100.0 * s)).collect();
        writeln!(out, "Share of days: {}", shares.join(", "))?;
        if let Some(m) = self.model {
            write_card(&mut out, &m.card, self.trained, &self.args.models)?;
        }
        Ok(out)
    }
}

/// The model's provenance and out-of-sample scores as text.
fn write_card(out: &mut String, card: &ModelCard, trained: Fit, dir: &Path) -> Result<()> {
    let day = |ts: Timestamp| session_date(ts).to_string();
    let verb = match trained {
        Fit::Loaded => "loaded".to_string(),
        Fit::Saved => "trained and saved".to_string(),
        Fit::Unchanged => format!("trained: unchanged (v{:04}), nothing written", card.version),
    };
    let counts: Vec<String> =
        Regime::ALL.iter().zip(card.class_counts).map(|(r, c)| format!("{r} {c}")).collect();
    writeln!(
        out,
        "\nModel v{:04} ({verb}, {}): trained on {} .. {}, {} days ({}); data xxh3 {}",
        card.version,
        dir.display(),
        day(card.train_first),
        day(card.train_last),
        card.rows,
        counts.join(", "),
        card.data_hash
    )?;
    writeln!(out, "Features: {}", card.features.names())?;
    let e = &card.evaluation;
    let Some((first, last)) = e.folds.first().zip(e.folds.last()) else {
        writeln!(out, "No out-of-sample scores: the history is shorter than the first training window.")?;
        return Ok(());
    };
    writeln!(
        out,
        "Out of sample (walk-forward, {} refits every {} days, {} days {} .. {}; predicting the next day's {}):",
        e.folds.len(),
        card.walk.test_len,
        e.model.days,
        day(first.test_first),
        day(last.test_last),
        match &card.labels {
            LabelSource::Rules => "rule regime",
            LabelSource::Given(what) => what,
        }
    )?;
    let header: Vec<String> = Regime::ALL.iter().map(|r| format!("{:>13}", format!("{r} P/R"))).collect();
    writeln!(out, "  {:<12} {:>8} {:>9} {}", "predictor", "accuracy", "balanced", header.join(""))?;
    let row = |out: &mut String, name: &str, s: &Scores| -> Result<()> {
        let pct = |x: Option<f64>| x.map_or("  -".to_string(), |x| format!("{:>3.0}", 100.0 * x));
        let cells: Vec<String> = s
            .per_class
            .iter()
            .map(|c| format!("{:>13}", format!("{}/{}", pct(c.precision), pct(c.recall))))
            .collect();
        writeln!(
            out,
            "  {name:<12} {:>6.1} % {:>7.1} % {}",
            100.0 * s.accuracy,
            100.0 * s.balanced_accuracy,
            cells.join("")
        )?;
        Ok(())
    };
    row(out, "model", &e.model)?;
    for b in &e.baselines {
        row(out, &b.name, &b.scores)?;
    }
    writeln!(out, "Confusion matrix of the model (rows: true regime, columns: predicted):")?;
    let names: Vec<String> = Regime::ALL.iter().map(|r| format!("{r:>9}")).collect();
    writeln!(out, "  {:<9}{}", "", names.join(""))?;
    for (r, counts) in Regime::ALL.iter().zip(&e.model.confusion) {
        let cells: Vec<String> = counts.iter().map(|c| format!("{c:>9}")).collect();
        writeln!(out, "  {:<9}{}", r.name(), cells.join(""))?;
    }
    Ok(())
}
