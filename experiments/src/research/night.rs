//! The night as one experiment: what the verdicts deflate by and correct for, and what the
//! research database remembers between nights.
//!
//! * Deflation on one scale: every family's DSR deflates its in-sample winner by the trials of
//!   the *whole night* (every family's plus discovery's), counted as *effective* independent
//!   trials: each family's trials by the participation ratio of their correlations
//!   ([`evolve::stats::effective_trials`], measured on the PBO pass's sample; in full when not
//!   measured), discovery's in full, summed as if the families were independent of each other
//!   (which errs towards more trials), with the null variance `V = 1/T`
//!   (`T` the winner's in-sample returns) — not the variance of the GA's own trial Sharpe ratios,
//!   which shrinks as the GA converges.
//! * The OOS tests are corrected for their number: the night tests every family with an
//!   out-of-sample stage plus discovery's tested genome, and the verdict's PSR threshold is
//!   Bonferroni-corrected for that count.
//! * Repeated looks: each family's record counts how many nights judged it out of sample and
//!   the last OOS bar it saw; a family that is not enabled can only be enabled on OOS bars after
//!   that one.

use evolve::stats::{deflated_sharpe, probabilistic_sharpe};
use kernel::strategy::MarketData;
use serde::{Deserialize, Serialize};

use crate::discover::DiscoverOutcome;
use crate::evolution::{Outcome, Winner};

/// Nanoseconds in a day.
const DAY_NS: f64 = 86_400e9;

/// What the whole night tried and tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Night {
    /// Trials (distinct genomes evaluated) of every family and of discovery.
    pub trials: usize,
    /// The effective number of independent trials among them: the DSR's `N`.
    pub effective_trials: usize,
    /// Things tested out of sample tonight: the families with an out-of-sample stage and the
    /// genome discovery tested.
    pub oos_tests: usize,
}

impl Night {
    /// The night of `families` and `discovery`.
    pub fn of<'a>(
        families: impl IntoIterator<Item = &'a Outcome>,
        discovery: Option<&DiscoverOutcome>,
    ) -> Night {
        let mut night = Night { trials: 0, effective_trials: 0, oos_tests: 0 };
        for o in families {
            night.trials += o.trials;
            night.effective_trials += effective_count(o);
            night.oos_tests += usize::from(o.winner.as_ref().is_some_and(|w| w.out_of_sample.is_some()));
        }
        if let Some(d) = discovery {
            night.trials += d.trials;
            night.effective_trials += d.trials;
            night.oos_tests += d.candidates.iter().filter(|c| c.out_of_sample.is_some()).count();
        }
        night
    }

    /// The DSR of `w`'s in-sample returns over the night's effective trials with the null
    /// `V = 1/T`.
    pub fn dsr(&self, w: &Winner) -> f64 {
        let stats = w.in_sample.returns;
        deflated_sharpe(&stats, self.effective_trials.max(1), 1.0 / stats.n.max(1) as f64)
    }
}

/// A family's effective trials, rounded up: measured on its winner's sample, else all of them.
fn effective_count(o: &Outcome) -> usize {
    o.winner.as_ref().and_then(|w| w.effective_trials).map_or(o.trials, |e| e.count())
}

/// The probabilistic Sharpe ratio of `w`'s out-of-sample returns against 0 (NaN without them).
pub fn oos_psr(w: &Winner) -> f64 {
    w.out_of_sample.as_ref().map_or(f64::NAN, |f| probabilistic_sharpe(&f.returns, 0.0))
}

/// Calendar days `w`'s out-of-sample equity spans (0 without one).
pub fn oos_days(w: &Winner) -> f64 {
    match (w.oos_equity.first(), w.oos_equity.last()) {
        (Some(first), Some(last)) => (last.0 - first.0) as f64 / DAY_NS,
        _ => 0.0,
    }
}

/// Whether `data`'s bars are shorter than a day.
pub fn intraday(data: &MarketData) -> bool {
    data.timeframe().nominal_nanos() < datasets::Timeframe::Day1.nominal_nanos()
}

/// How often a family's out-of-sample window has been judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Looks {
    /// Nights that judged it out of sample.
    pub looks: u32,
    /// The last out-of-sample bar (UTC ns) the latest of them saw.
    pub oos_last_ns: i64,
}

impl Looks {
    /// Whether a window ending at `oos_last_ns` has bars this record has not seen (always, for
    /// a family never judged).
    pub fn fresh(record: Option<&Looks>, oos_last_ns: i64) -> bool {
        record.is_none_or(|r| oos_last_ns > r.oos_last_ns)
    }

    /// The record after one more look at a window ending at `oos_last_ns`.
    pub fn after(record: Option<&Looks>, oos_last_ns: i64) -> Looks {
        let looks = record.map_or(0, |r| r.looks) + 1;
        Looks { looks, oos_last_ns: record.map_or(oos_last_ns, |r| r.oos_last_ns.max(oos_last_ns)) }
    }
}

/// The validation notes of a family's report: how its DSR was deflated, how its OOS PSR was
/// corrected, what its PBO says, and how often its OOS window has been judged.
pub fn notes(night: &Night, w: &Winner, psr_threshold: f64, looks: &Looks) -> Vec<String> {
    let t = w.in_sample.returns.n;
    let mut notes = vec![
        format!(
            "deflated Sharpe: the in-sample Sharpe against the expected maximum of the night's {} \
             effective independent trials (of {} trials; this family's {}), null variance V = 1/T \
             (T = {t} in-sample returns)",
            night.effective_trials,
            night.trials,
            w.effective_trials.map_or("counted in full (not measured)".to_string(), |e| format!(
                "{} trials count as {:.1}: mean squared correlation {:.3} over {} sampled",
                e.trials, e.effective, e.mean_squared_correlation, e.sampled
            )),
        ),
        format!(
            "out-of-sample probabilistic Sharpe {:.4} against the {psr_threshold:.4} needed: one of {} \
             out-of-sample tests tonight (Bonferroni)",
            oos_psr(w),
            night.oos_tests.max(1)
        ),
    ];
    if let Some(p) = w.pbo {
        notes.push(if p >= 0.5 {
            format!(
                "PBO {p:.2}: choosing the parameters overfits — the in-sample best is no likelier than \
                 another trial to be best out of sample (typical of a flat fitness landscape); it judges \
                 the parameter choice, not the edge: prefer the plateau's median trial to the peak"
            )
        } else {
            format!("PBO {p:.2}: the parameter choice holds up out of sample more often than not")
        });
    }
    notes.push(format!(
        "out-of-sample window judged {} time{} (latest bar seen {})",
        looks.looks,
        if looks.looks == 1 { "" } else { "s" },
        datasets::Timestamp(looks.oos_last_ns).to_string().chars().take(10).collect::<String>()
    ));
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small synthetic universe, its stocks' dated reports kept or removed.
    fn universe(dated: bool) -> MarketData {
        use datasets::synth::{SynthConfig, Universe};
        let u =
            Universe::new(&SynthConfig { symbols: 3, years: 1, minute_days: 0, ..SynthConfig::default() })
                .unwrap();
        let symbols = (0..u.symbols().len())
            .map(|i| {
                let mut meta = u.symbols()[i].clone();
                if !dated {
                    meta.reports = Default::default();
                }
                kernel::strategy::SymbolData { meta, bars: u.daily(i) }
            })
            .collect();
        MarketData::new(datasets::Timeframe::Day1, symbols).unwrap()
    }

    /// Of the registered strategies only `quality_smallcap_value` can fail to be point in
    /// time, and only on a store without dated fundamentals reports: it then reads one undated
    /// snapshot (so the verdict cannot enable it).
    #[test]
    fn only_undated_fundamentals_are_not_point_in_time() {
        let not_pit = |data: &MarketData| -> Vec<&str> {
            kernel::strategy::registry()
                .iter()
                .filter(|s| s.not_point_in_time(data).is_some())
                .map(|s| s.name())
                .collect()
        };
        assert_eq!(not_pit(&universe(false)), ["quality_smallcap_value"]);
        assert!(not_pit(&universe(true)).is_empty());
    }

    /// A family's winner with per-bar Sharpe `sharpe` over `t` normal in-sample returns.
    fn winner(sharpe: f64, t: usize, effective: Option<evolve::stats::EffectiveTrials>) -> Winner {
        use evolve::problem::Evaluation;
        use evolve::stats::ReturnStats;
        let returns = ReturnStats { n: t, mean: sharpe * 0.01, std: 0.01, sharpe, skew: 0.0, kurtosis: 3.0 };
        let evaluation = Evaluation { figures: kernel::metrics::Figures::missing(), returns };
        let sma = kernel::strategy::by_name("sma_cross").unwrap();
        Winner {
            selection: crate::evolution::Selection::InSampleBest,
            params: kernel::strategy::Params::defaults(sma.space()),
            fitness: sharpe,
            in_sample: evaluation.clone(),
            out_of_sample: Some(evaluation),
            oos_equity: Vec::new(),
            is_equity: Vec::new(),
            is_trade_stats: crate::research_report::TradeStats::none(),
            benchmark: Vec::new(),
            oos_activity: crate::evolution::OosActivity::default(),
            deflated_sharpe: f64::NAN,
            sharpe_variance: 1.0 / t as f64,
            effective_trials: effective,
            pbo: None,
            walk: None,
        }
    }

    fn outcome(trials: usize, winner: Option<Winner>) -> Outcome {
        Outcome {
            run_id: 1,
            ending: evolve::run::Ending::Finished,
            winner,
            generations: 10,
            trials,
            stagnation_events: 0,
            timing: evolve::run::Timing::default(),
            stages: (0..1408, 1408..2011),
            folds: Vec::new(),
        }
    }

    /// Item 3 of issue 14: every family is deflated on one scale — the null `V = 1/T`, not the
    /// spread of the GA's own trial Sharpe ratios — by the effective trials of the whole night,
    /// not its own; the OOS tests are counted across the night. The per-family convention
    /// (own N, a converged population's `V` 7× below `1/T`) passed this winner at DSR ≥ 0.95;
    /// the night's does not.
    #[test]
    fn the_night_deflates_every_family_on_one_scale() {
        let measured = evolve::stats::EffectiveTrials {
            trials: 150,
            sampled: 48,
            mean_squared_correlation: 0.02,
            effective: 39.2,
        };
        let a = winner(0.1, 1408, Some(measured));
        let families =
            [outcome(150, Some(a.clone())), outcome(200, Some(winner(0.05, 1408, None))), outcome(100, None)];
        let night = Night::of(&families, None);
        // 40 (150 measured as 39.2, rounded up) + 200 and 100 counted in full.
        assert_eq!(night, Night { trials: 450, effective_trials: 340, oos_tests: 2 });
        let dsr = night.dsr(&a);
        assert_eq!(dsr, deflated_sharpe(&a.in_sample.returns, 340, 1.0 / 1408.0));
        let per_family = deflated_sharpe(&a.in_sample.returns, 150, 1e-4);
        assert!(per_family >= 0.95 && dsr < 0.9, "per family {per_family}, over the night {dsr}");
        // More trials tonight deflate more; the family's own trial spread plays no part.
        let busier = Night { effective_trials: 2_000, ..night };
        assert!(busier.dsr(&a) < dsr);
        assert_eq!(night.dsr(&Winner { sharpe_variance: 1e-4, ..a.clone() }), dsr);
    }

    #[test]
    fn looks_count_and_freshness() {
        assert!(Looks::fresh(None, 5));
        let first = Looks::after(None, 5);
        assert_eq!(first, Looks { looks: 1, oos_last_ns: 5 });
        assert!(!Looks::fresh(Some(&first), 5), "the same bars again");
        assert!(Looks::fresh(Some(&first), 6), "a bar after the last look");
        let second = Looks::after(Some(&first), 5);
        assert_eq!(second, Looks { looks: 2, oos_last_ns: 5 });
        assert_eq!(Looks::after(Some(&second), 9), Looks { looks: 3, oos_last_ns: 9 });
        let summary = serde_json::json!({ "looks": { "a": second } }).to_string();
        let read = super::super::ResearchSummary::parse(Some(&summary)).looks;
        assert_eq!(read, std::collections::BTreeMap::from([("a".to_string(), second)]));
        assert!(super::super::ResearchSummary::parse(Some(r#"{"verdicts":{}}"#)).looks.is_empty());
    }
}
