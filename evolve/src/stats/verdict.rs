//! The nightly verdict on a strategy family: enable, keep as is, or disable, from its
//! out-of-sample (OOS) evidence: the OOS Sharpe ratio and its probabilistic Sharpe ratio (PSR,
//! Bailey & López de Prado 2012), the Deflated Sharpe Ratio (DSR, Bailey & López de Prado 2014)
//! of the in-sample winner over the night's trials, and the OOS decisions. The Probability of
//! Backtest Overfitting (Bailey, Borwein, López de Prado & Zhu 2015) is carried for the report
//! but gates nothing: it measures whether *choosing parameters* overfits, and sits near 0.5 by
//! construction when the edge does not depend on them (a flat fitness landscape).
//!
//! Rules, checked in this order (Sharpe ratios annualised):
//!
//! 1. **Disable** when the evidence is against the family: fewer than `min_oos_decisions` OOS
//!    decisions (distinct bars at which it entered or rebalanced: one decision held for years
//!    is one decision, however many legs it opened and however the end of the data closed them),
//!    or an OOS Sharpe at or below `max(0, min_oos_sharpe − keep_band)`.
//! 2. **Enable** when it is strong: OOS Sharpe ≥ `min_oos_sharpe`; OOS PSR against 0 at least
//!    `1 − (1 − min_oos_psr) / oos_tests` (the PSR has the OOS length in it, so a short window
//!    cannot pass on a lucky Sharpe; the Bonferroni correction keeps the night's family-wise
//!    false-enable rate at `1 − min_oos_psr` however many things it tests out of sample); DSR ≥
//!    `min_dsr`; an OOS window of at least `min_oos_days` calendar days (`min_oos_days_intraday`
//!    for intraday bars); no IS→OOS collapse (with a positive IS Sharpe, the OOS Sharpe must be
//!    at least `(1 − max_is_oos_gap) · IS Sharpe`); point-in-time inputs; and, for a family that
//!    is not enabled now, out-of-sample bars it has not been judged on before (re-enabling after
//!    a disable needs new data, not another look at the same bars).
//! 3. **Keep** otherwise: the family stays as it is, enabled or disabled; the reason names what
//!    fell short of enabling. An *enabled* family stays enabled only on real, if weaker,
//!    evidence: an OOS PSR of at least `min_keep_psr`, a DSR of at least `min_keep_dsr`, and
//!    point-in-time inputs; otherwise it is disabled.
//!
//! `keep_band` is the hysteresis between the two thresholds: a family whose OOS Sharpe is within
//! the band below `min_oos_sharpe` is neither enabled nor disabled. The default band equals the
//! default minimum, so only a non-positive OOS Sharpe disables.
//!
//! What the research database remembers is the resulting state ([`Verdict::enabled_after`]),
//! not the verdict word.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What to do with a strategy family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Trade it (enable it, or leave it enabled).
    Enable,
    /// Leave it as it is.
    Keep,
    /// Stop trading it.
    Disable,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Enable => "enable",
            Verdict::Keep => "keep",
            Verdict::Disable => "disable",
        })
    }
}

impl Verdict {
    /// Whether the family is enabled after this verdict, given whether it was before: `keep`
    /// leaves the state as it was. The state, not the verdict word, is what the next night
    /// must read back (a family enabled, then kept, is still enabled).
    pub fn enabled_after(self, was_enabled: bool) -> bool {
        match self {
            Verdict::Enable => true,
            Verdict::Keep => was_enabled,
            Verdict::Disable => false,
        }
    }
}

/// Thresholds of the verdict (module documentation for their use).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerdictRules {
    /// Least annualised OOS Sharpe ratio to enable (default 0.5).
    pub min_oos_sharpe: f64,
    /// Least Deflated Sharpe Ratio to enable (default 0.95).
    pub min_dsr: f64,
    /// Least OOS probabilistic Sharpe ratio against 0 to enable, before the correction for the
    /// night's number of OOS tests (default 0.95).
    pub min_oos_psr: f64,
    /// Shortest OOS window, in calendar days, to enable on daily or slower bars (default 365).
    pub min_oos_days: f64,
    /// Shortest OOS window, in calendar days, to enable on intraday bars (default 60).
    pub min_oos_days_intraday: f64,
    /// Fewest OOS decisions (entries or rebalances, not legs, not the end-of-data close) to
    /// judge at all; fewer disables (default 10). Also read as `min_oos_trades`, its old name.
    #[serde(alias = "min_oos_trades")]
    pub min_oos_decisions: usize,
    /// Largest tolerated relative loss of Sharpe from IS to OOS to enable (default 0.5).
    pub max_is_oos_gap: f64,
    /// Width of the OOS Sharpe band below `min_oos_sharpe` where the state is kept (default 0.5).
    pub keep_band: f64,
    /// Least OOS probabilistic Sharpe ratio (probability that the true OOS Sharpe is above 0)
    /// for an enabled family to stay enabled in the keep band; below it, disable (default 0.8).
    pub min_keep_psr: f64,
    /// Least Deflated Sharpe Ratio for an enabled family to stay enabled in the keep band;
    /// below it, disable (default 0.5).
    pub min_keep_dsr: f64,
}

impl Default for VerdictRules {
    fn default() -> Self {
        VerdictRules {
            min_oos_sharpe: 0.5,
            min_dsr: 0.95,
            min_oos_psr: 0.95,
            min_oos_days: 365.0,
            min_oos_days_intraday: 60.0,
            min_oos_decisions: 10,
            max_is_oos_gap: 0.5,
            keep_band: 0.5,
            min_keep_psr: 0.8,
            min_keep_dsr: 0.5,
        }
    }
}

/// What is known about a family after the night's research.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Annualised in-sample Sharpe ratio of the selected candidate.
    pub is_sharpe: f64,
    /// Its annualised out-of-sample Sharpe ratio.
    pub oos_sharpe: f64,
    /// Its out-of-sample decisions: distinct bars at which it entered or rebalanced.
    pub oos_decisions: usize,
    /// Probabilistic Sharpe ratio of its out-of-sample returns against 0 (per-bar Sharpe,
    /// skewness, kurtosis and length of the OOS window; NaN when undefined).
    pub oos_psr: f64,
    /// Calendar days the OOS window spans.
    pub oos_days: f64,
    /// Whether the bars are intraday (the OOS duration minimum is `min_oos_days_intraday`).
    pub intraday: bool,
    /// How many things the night tests out of sample (families and discovery candidates; at
    /// least 1): the OOS PSR threshold is corrected for them.
    pub oos_tests: usize,
    /// Its Deflated Sharpe Ratio, over the night's trials.
    pub dsr: f64,
    /// Probability of backtest overfitting of the search, if computed: reported, not gated.
    pub pbo: Option<f64>,
    /// Whether the family is enabled now.
    pub currently_enabled: bool,
    /// Whether the OOS window has bars the family was not judged on before (true at its first
    /// judgement). Re-enabling a family that is not enabled needs them.
    pub fresh_oos: bool,
    /// Why the backtest is not point in time (e.g. one undated fundamentals snapshot read for
    /// the whole history), if it is not: such a family cannot be enabled.
    pub not_point_in_time: Option<&'static str>,
}

impl Evidence {
    /// The OOS PSR an enable needs: `1 − (1 − min_oos_psr) / oos_tests` (Bonferroni).
    pub fn psr_threshold(&self, rules: &VerdictRules) -> f64 {
        1.0 - (1.0 - rules.min_oos_psr) / self.oos_tests.max(1) as f64
    }

    /// The shortest OOS window, in days, an enable needs on these bars.
    pub fn min_days(&self, rules: &VerdictRules) -> f64 {
        if self.intraday { rules.min_oos_days_intraday } else { rules.min_oos_days }
    }
}

/// The verdict on `evidence` and a sentence saying why, naming the figures.
pub fn verdict(rules: &VerdictRules, evidence: &Evidence) -> (Verdict, String) {
    let e = evidence;
    if e.oos_decisions < rules.min_oos_decisions {
        let why = format!(
            "only {} out-of-sample decisions (entries or rebalances), fewer than the {} required",
            e.oos_decisions, rules.min_oos_decisions
        );
        return (Verdict::Disable, why);
    }
    let floor = (rules.min_oos_sharpe - rules.keep_band).max(0.0);
    if e.oos_sharpe.is_nan() || e.oos_sharpe <= floor {
        let why = format!("out-of-sample Sharpe {:.2} is at or below {floor:.2}", e.oos_sharpe);
        return (Verdict::Disable, why);
    }
    let shortfalls = shortfalls(rules, e);
    if shortfalls.is_empty() {
        let why = format!(
            "out-of-sample Sharpe {:.2} ≥ {:.2} over {} decisions and {:.0} days (in-sample {:.2}), \
             probabilistic Sharpe {:.4} ≥ {:.4} ({} out-of-sample tests tonight), deflated Sharpe {:.3} ≥ {:.3}",
            e.oos_sharpe,
            rules.min_oos_sharpe,
            e.oos_decisions,
            e.oos_days,
            e.is_sharpe,
            e.oos_psr,
            e.psr_threshold(rules),
            e.oos_tests.max(1),
            e.dsr,
            rules.min_dsr
        );
        return (Verdict::Enable, why);
    }
    if e.currently_enabled
        && let Some(weak) = weak_for_staying_enabled(rules, e)
    {
        return (Verdict::Disable, format!("{weak}; was enabled, {}", shortfalls.join("; ")));
    }
    let state = if e.currently_enabled { "enabled" } else { "disabled" };
    (Verdict::Keep, format!("stays {state}: {}", shortfalls.join("; ")))
}

/// Why an enabled family in the keep band lacks the evidence to stay enabled, if it does: the
/// band is hysteresis for real but weaker evidence, not a shelter for an OOS Sharpe of 0.01.
fn weak_for_staying_enabled(rules: &VerdictRules, e: &Evidence) -> Option<String> {
    let mut weak = Vec::new();
    if e.oos_psr.is_nan() || e.oos_psr < rules.min_keep_psr {
        weak.push(format!(
            "out-of-sample probabilistic Sharpe {:.3} is below the {:.3} needed to stay enabled",
            e.oos_psr, rules.min_keep_psr
        ));
    }
    if e.dsr.is_nan() || e.dsr < rules.min_keep_dsr {
        weak.push(format!(
            "deflated Sharpe {:.3} is below the {:.3} needed to stay enabled",
            e.dsr, rules.min_keep_dsr
        ));
    }
    if let Some(why) = e.not_point_in_time {
        weak.push(format!("not point in time ({why})"));
    }
    (!weak.is_empty()).then(|| weak.join("; "))
}

/// What keeps evidence that passed the disable rules (so a finite OOS Sharpe above the floor)
/// from enabling, one phrase each.
fn shortfalls(rules: &VerdictRules, e: &Evidence) -> Vec<String> {
    let mut out = Vec::new();
    if e.oos_sharpe < rules.min_oos_sharpe {
        out.push(format!("out-of-sample Sharpe {:.2} is below {:.2}", e.oos_sharpe, rules.min_oos_sharpe));
    }
    let psr = e.psr_threshold(rules);
    if e.oos_psr.is_nan() || e.oos_psr < psr {
        out.push(format!(
            "out-of-sample probabilistic Sharpe {:.4} is below {psr:.4} ({:.2} corrected for {} out-of-sample \
             tests tonight)",
            e.oos_psr,
            rules.min_oos_psr,
            e.oos_tests.max(1)
        ));
    }
    if e.dsr.is_nan() || e.dsr < rules.min_dsr {
        out.push(format!("deflated Sharpe {:.3} is below {:.3}", e.dsr, rules.min_dsr));
    }
    let days = e.min_days(rules);
    if e.oos_days.is_nan() || e.oos_days < days {
        out.push(format!("the out-of-sample window spans {:.0} days, fewer than {days:.0}", e.oos_days));
    }
    let kept = (1.0 - rules.max_is_oos_gap) * e.is_sharpe;
    if e.is_sharpe > 0.0 && e.oos_sharpe < kept {
        out.push(format!(
            "out-of-sample Sharpe {:.2} fell below {:.2} = {:.0} % of the in-sample {:.2}",
            e.oos_sharpe,
            kept,
            (1.0 - rules.max_is_oos_gap) * 100.0,
            e.is_sharpe
        ));
    }
    if let Some(why) = e.not_point_in_time {
        out.push(format!("not point in time ({why}): cannot be enabled"));
    }
    if !e.currently_enabled && !e.fresh_oos {
        out.push("no out-of-sample bars since it was last judged: re-enabling needs new data".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strong() -> Evidence {
        Evidence {
            is_sharpe: 1.5,
            oos_sharpe: 1.2,
            oos_decisions: 42,
            oos_psr: 0.999,
            oos_days: 600.0,
            intraday: false,
            oos_tests: 10,
            dsr: 0.97,
            pbo: Some(0.12),
            currently_enabled: false,
            fresh_oos: true,
            not_point_in_time: None,
        }
    }

    fn judge(e: Evidence) -> (Verdict, String) {
        verdict(&VerdictRules::default(), &e)
    }

    #[test]
    fn enable_on_strong_evidence() {
        let (v, why) = judge(strong());
        assert_eq!(v, Verdict::Enable);
        assert_eq!(
            why,
            "out-of-sample Sharpe 1.20 ≥ 0.50 over 42 decisions and 600 days (in-sample 1.50), \
             probabilistic Sharpe 0.9990 ≥ 0.9950 (10 out-of-sample tests tonight), deflated Sharpe 0.970 ≥ 0.950"
        );
        // PBO gates nothing: it judges parameter selection, not the edge.
        for pbo in [None, Some(0.5), Some(0.95)] {
            assert_eq!(judge(Evidence { pbo, currently_enabled: true, ..strong() }).0, Verdict::Enable);
        }
        // Exactly at every threshold still enables; OOS better than IS is no collapse.
        let edge = Evidence {
            is_sharpe: 1.0,
            oos_sharpe: 0.5,
            oos_decisions: 10,
            dsr: 0.95,
            oos_psr: 0.995,
            oos_days: 365.0,
            ..strong()
        };
        assert_eq!(judge(edge).0, Verdict::Enable);
        assert_eq!(judge(Evidence { is_sharpe: 0.2, ..strong() }).0, Verdict::Enable);
    }

    #[test]
    fn disable_branches() {
        let (v, why) = judge(Evidence { oos_decisions: 3, ..strong() });
        assert_eq!(
            (v, why.as_str()),
            (
                Verdict::Disable,
                "only 3 out-of-sample decisions (entries or rebalances), fewer than the 10 required"
            )
        );
        let (v, why) = judge(Evidence { oos_sharpe: -0.3, currently_enabled: true, ..strong() });
        assert_eq!((v, why.as_str()), (Verdict::Disable, "out-of-sample Sharpe -0.30 is at or below 0.00"));
        assert_eq!(judge(Evidence { oos_sharpe: 0.0, ..strong() }).0, Verdict::Disable);
        assert_eq!(judge(Evidence { oos_sharpe: f64::NAN, ..strong() }).0, Verdict::Disable);
    }

    /// A daily OOS window of 603 bars has a Sharpe standard error of about 0.65: an OOS Sharpe
    /// of 0.8 is a PSR of about 0.89, short of 0.95 even for one test, and the bar rises with
    /// the number of tests; an intraday window of a few sessions is too short whatever its PSR.
    #[test]
    fn gates_scale_with_the_evidence() {
        let lucky = Evidence { is_sharpe: 1.0, oos_sharpe: 0.8, oos_psr: 0.89, oos_tests: 1, ..strong() };
        let (v, why) = judge(lucky);
        assert_eq!(v, Verdict::Keep);
        assert_eq!(
            why,
            "stays disabled: out-of-sample probabilistic Sharpe 0.8900 is below 0.9500 (0.95 corrected for 1 \
             out-of-sample tests tonight)"
        );
        let single = Evidence { oos_psr: 0.96, ..lucky };
        assert_eq!(judge(single).0, Verdict::Enable);
        // The same PSR among 14 tests: 1 − 0.05/14 = 0.99643.
        let (v, why) = judge(Evidence { oos_tests: 14, ..single });
        assert_eq!(v, Verdict::Keep);
        assert!(why.contains("0.9600 is below 0.9964 (0.95 corrected for 14"), "{why}");
        assert_eq!(judge(Evidence { oos_psr: 0.997, oos_tests: 14, ..single }).0, Verdict::Enable);
        assert_eq!(judge(Evidence { oos_psr: f64::NAN, ..single }).0, Verdict::Keep);
        // Duration: 6 sessions of minute bars is not 60 days; a year of daily bars is.
        let minutes = Evidence { intraday: true, oos_days: 8.0, ..strong() };
        let (v, why) = judge(minutes);
        assert_eq!(
            (v, why.as_str()),
            (Verdict::Keep, "stays disabled: the out-of-sample window spans 8 days, fewer than 60")
        );
        assert_eq!(judge(Evidence { oos_days: 61.0, ..minutes }).0, Verdict::Enable);
        assert_eq!(judge(Evidence { oos_days: 200.0, ..strong() }).0, Verdict::Keep);
    }

    #[test]
    fn no_enable_without_point_in_time_inputs() {
        let undated = Evidence { not_point_in_time: Some("one undated fundamentals snapshot"), ..strong() };
        let (v, why) = judge(undated);
        assert_eq!(v, Verdict::Keep);
        assert_eq!(
            why,
            "stays disabled: not point in time (one undated fundamentals snapshot): cannot be enabled"
        );
        let (v, why) = judge(Evidence { currently_enabled: true, ..undated });
        assert_eq!(v, Verdict::Disable);
        assert!(
            why.starts_with("not point in time (one undated fundamentals snapshot); was enabled"),
            "{why}"
        );
    }

    #[test]
    fn re_enabling_needs_new_out_of_sample_bars() {
        let seen = Evidence { fresh_oos: false, ..strong() };
        let (v, why) = judge(seen);
        assert_eq!(
            (v, why.as_str()),
            (
                Verdict::Keep,
                "stays disabled: no out-of-sample bars since it was last judged: re-enabling needs new data"
            )
        );
        // An enabled family is judged on the same bars again without that objection.
        assert_eq!(judge(Evidence { currently_enabled: true, ..seen }).0, Verdict::Enable);
    }

    #[test]
    fn keep_preserves_the_current_state() {
        let weak = Evidence { is_sharpe: 0.5, oos_sharpe: 0.3, dsr: 0.8, ..strong() };
        let (v, why) = judge(Evidence { currently_enabled: true, ..weak });
        assert_eq!(v, Verdict::Keep);
        assert_eq!(
            why,
            "stays enabled: out-of-sample Sharpe 0.30 is below 0.50; deflated Sharpe 0.800 is below 0.950"
        );
        let (v, why) = judge(weak);
        assert_eq!(v, Verdict::Keep);
        assert!(why.starts_with("stays disabled: "), "{why}");
        // Strong OOS figures but a low DSR (too many trials for this Sharpe): keep.
        let (v, why) = judge(Evidence { dsr: 0.6, ..strong() });
        assert_eq!(
            (v, why.as_str()),
            (Verdict::Keep, "stays disabled: deflated Sharpe 0.600 is below 0.950")
        );
        assert_eq!(judge(Evidence { dsr: f64::NAN, ..strong() }).0, Verdict::Keep);
    }

    #[test]
    fn staying_enabled_needs_evidence() {
        // OOS Sharpe 0.01 is above the floor of 0, but a coin flip out of sample (PSR 0.51)
        // and a low DSR: an enabled family is disabled, a disabled one stays disabled.
        let thin = Evidence { is_sharpe: 0.4, oos_sharpe: 0.01, oos_psr: 0.51, dsr: 0.2, ..strong() };
        let (v, why) = judge(Evidence { currently_enabled: true, ..thin });
        assert_eq!(v, Verdict::Disable);
        assert!(
            why.starts_with(
                "out-of-sample probabilistic Sharpe 0.510 is below the 0.800 needed to stay enabled; \
                 deflated Sharpe 0.200 is below the 0.500 needed to stay enabled; was enabled, "
            ),
            "{why}"
        );
        assert_eq!(judge(thin).0, Verdict::Keep);
        // Either shortfall alone is enough; both met, it stays enabled.
        let enabled = Evidence { currently_enabled: true, ..thin };
        assert_eq!(judge(Evidence { oos_psr: 0.9, ..enabled }).0, Verdict::Disable);
        assert_eq!(judge(Evidence { dsr: 0.6, ..enabled }).0, Verdict::Disable);
        assert_eq!(judge(Evidence { oos_psr: f64::NAN, dsr: 0.6, ..enabled }).0, Verdict::Disable);
        assert_eq!(judge(Evidence { oos_psr: 0.9, dsr: 0.6, ..enabled }).0, Verdict::Keep);
    }

    #[test]
    fn the_state_after_a_verdict() {
        for was in [false, true] {
            assert!(Verdict::Enable.enabled_after(was));
            assert!(!Verdict::Disable.enabled_after(was));
            assert_eq!(Verdict::Keep.enabled_after(was), was);
        }
    }

    #[test]
    fn an_is_to_oos_collapse_keeps() {
        // IS 3.0 → OOS 1.2: below (1 − 0.5) · 3.0 = 1.5.
        let (v, why) = judge(Evidence { is_sharpe: 3.0, ..strong() });
        assert_eq!(v, Verdict::Keep);
        assert_eq!(
            why,
            "stays disabled: out-of-sample Sharpe 1.20 fell below 1.50 = 50 % of the in-sample 3.00"
        );
        let lenient = VerdictRules { max_is_oos_gap: 0.7, ..VerdictRules::default() };
        assert_eq!(verdict(&lenient, &Evidence { is_sharpe: 3.0, ..strong() }).0, Verdict::Enable);
    }

    #[test]
    fn keep_band_is_hysteresis() {
        let rules = VerdictRules { keep_band: 0.2, ..VerdictRules::default() };
        let at = |oos_sharpe| {
            verdict(&rules, &Evidence { is_sharpe: 0.6, oos_sharpe, currently_enabled: true, ..strong() })
        };
        assert_eq!(at(0.25).0, Verdict::Disable);
        assert_eq!(at(0.25).1, "out-of-sample Sharpe 0.25 is at or below 0.30");
        assert_eq!(at(0.30).0, Verdict::Disable);
        assert_eq!(at(0.35).0, Verdict::Keep);
        assert_eq!(at(0.55).0, Verdict::Enable);
    }

    #[test]
    fn names_and_serde() {
        let names: Vec<String> =
            [Verdict::Enable, Verdict::Keep, Verdict::Disable].iter().map(|v| v.to_string()).collect();
        assert_eq!(names, ["enable", "keep", "disable"]);
        assert_eq!(serde_json::to_string(&Verdict::Disable).unwrap(), r#""disable""#);
        let rules: VerdictRules = serde_json::from_str(r#"{"min_dsr":0.9}"#).unwrap();
        assert_eq!(rules, VerdictRules { min_dsr: 0.9, ..VerdictRules::default() });
        assert!(serde_json::from_str::<VerdictRules>(r#"{"min_psr":0.9}"#).is_err());
        let old: VerdictRules = serde_json::from_str(r#"{"min_oos_trades":4}"#).unwrap();
        assert_eq!(old.min_oos_decisions, 4);
    }
}
