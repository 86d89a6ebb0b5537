//! The nightly verdict on a strategy family: enable, keep as is, or disable, from its
//! out-of-sample (OOS) evidence, the Deflated Sharpe Ratio (Bailey & López de Prado 2014) and,
//! when available, the Probability of Backtest Overfitting (Bailey, Borwein, López de Prado &
//! Zhu 2015).
//!
//! Rules, checked in this order (Sharpe ratios annualised):
//!
//! 1. **Disable** when the evidence is against the family: fewer than `min_oos_trades` OOS
//!    trades, an OOS Sharpe at or below `max(0, min_oos_sharpe − keep_band)`, or a PBO of 0.5 or
//!    more (the in-sample winner does no better than the OOS median).
//! 2. **Enable** when it is strong: OOS Sharpe ≥ `min_oos_sharpe`, DSR ≥ `min_dsr`, PBO below
//!    0.5 when given, and no IS→OOS collapse: with a positive IS Sharpe, the OOS Sharpe must be at
//!    least `(1 − max_is_oos_gap) · IS Sharpe` (0.5 tolerates losing half of it).
//! 3. **Keep** otherwise: the family stays as it is, enabled or disabled; the reason names what
//!    fell short of enabling.
//!
//! `keep_band` is the hysteresis between the two thresholds: a family whose OOS Sharpe is within
//! the band below `min_oos_sharpe` is neither enabled nor disabled. The default band equals the
//! default minimum, so only a non-positive OOS Sharpe disables.

use std::fmt;

use serde::{Deserialize, Serialize};

/// PBO at or above which a family is disabled (and below which it may be enabled).
const PBO_LIMIT: f64 = 0.5;

/// What to do with a strategy family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// Thresholds of the verdict (module documentation for their use).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerdictRules {
    /// Least annualised OOS Sharpe ratio to enable (default 0.5).
    pub min_oos_sharpe: f64,
    /// Least Deflated Sharpe Ratio to enable (default 0.95).
    pub min_dsr: f64,
    /// Fewest OOS trades to judge at all; fewer disables (default 10).
    pub min_oos_trades: usize,
    /// Largest tolerated relative loss of Sharpe from IS to OOS to enable (default 0.5).
    pub max_is_oos_gap: f64,
    /// Width of the OOS Sharpe band below `min_oos_sharpe` where the state is kept (default 0.5).
    pub keep_band: f64,
}

impl Default for VerdictRules {
    fn default() -> Self {
        VerdictRules {
            min_oos_sharpe: 0.5,
            min_dsr: 0.95,
            min_oos_trades: 10,
            max_is_oos_gap: 0.5,
            keep_band: 0.5,
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
    /// Its closed out-of-sample trades.
    pub oos_trades: usize,
    /// Its Deflated Sharpe Ratio.
    pub dsr: f64,
    /// Probability of backtest overfitting of the search, if computed.
    pub pbo: Option<f64>,
    /// Whether the family is enabled now.
    pub currently_enabled: bool,
}

/// The verdict on `evidence` and a sentence saying why, naming the figures.
pub fn verdict(rules: &VerdictRules, evidence: &Evidence) -> (Verdict, String) {
    let e = evidence;
    if e.oos_trades < rules.min_oos_trades {
        let why = format!(
            "only {} out-of-sample trades, fewer than the {} required",
            e.oos_trades, rules.min_oos_trades
        );
        return (Verdict::Disable, why);
    }
    let floor = (rules.min_oos_sharpe - rules.keep_band).max(0.0);
    if e.oos_sharpe.is_nan() || e.oos_sharpe <= floor {
        let why = format!("out-of-sample Sharpe {:.2} is at or below {floor:.2}", e.oos_sharpe);
        return (Verdict::Disable, why);
    }
    if let Some(pbo) = e.pbo
        && pbo >= PBO_LIMIT
    {
        let why = format!("probability of backtest overfitting {pbo:.2} is at least {PBO_LIMIT:.2}");
        return (Verdict::Disable, why);
    }
    let shortfalls = shortfalls(rules, e);
    if shortfalls.is_empty() {
        let pbo = e.pbo.map(|p| format!(", PBO {p:.2} < {PBO_LIMIT:.2}")).unwrap_or_default();
        let why = format!(
            "out-of-sample Sharpe {:.2} ≥ {:.2} over {} trades (in-sample {:.2}), \
             deflated Sharpe {:.3} ≥ {:.3}{pbo}",
            e.oos_sharpe, rules.min_oos_sharpe, e.oos_trades, e.is_sharpe, e.dsr, rules.min_dsr
        );
        return (Verdict::Enable, why);
    }
    let state = if e.currently_enabled { "enabled" } else { "disabled" };
    (Verdict::Keep, format!("stays {state}: {}", shortfalls.join("; ")))
}

/// What keeps evidence that passed the disable rules (so a finite OOS Sharpe above the floor and
/// no PBO of 0.5 or more) from enabling, one phrase each.
fn shortfalls(rules: &VerdictRules, e: &Evidence) -> Vec<String> {
    let mut out = Vec::new();
    if e.oos_sharpe < rules.min_oos_sharpe {
        out.push(format!("out-of-sample Sharpe {:.2} is below {:.2}", e.oos_sharpe, rules.min_oos_sharpe));
    }
    if e.dsr.is_nan() || e.dsr < rules.min_dsr {
        out.push(format!("deflated Sharpe {:.3} is below {:.3}", e.dsr, rules.min_dsr));
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
    if let Some(pbo) = e.pbo
        && pbo.is_nan()
    {
        out.push(format!("probability of backtest overfitting is {pbo}"));
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
            oos_trades: 42,
            dsr: 0.97,
            pbo: Some(0.12),
            currently_enabled: false,
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
            "out-of-sample Sharpe 1.20 ≥ 0.50 over 42 trades (in-sample 1.50), \
             deflated Sharpe 0.970 ≥ 0.950, PBO 0.12 < 0.50"
        );
        let (v, why) = judge(Evidence { pbo: None, currently_enabled: true, ..strong() });
        assert_eq!(v, Verdict::Enable);
        assert!(!why.contains("PBO"), "{why}");
        // Exactly at every threshold still enables; OOS better than IS is no collapse.
        let edge = Evidence { is_sharpe: 1.0, oos_sharpe: 0.5, oos_trades: 10, dsr: 0.95, ..strong() };
        assert_eq!(judge(edge).0, Verdict::Enable);
        assert_eq!(judge(Evidence { is_sharpe: 0.2, ..strong() }).0, Verdict::Enable);
    }

    #[test]
    fn disable_branches() {
        let (v, why) = judge(Evidence { oos_trades: 3, ..strong() });
        assert_eq!(
            (v, why.as_str()),
            (Verdict::Disable, "only 3 out-of-sample trades, fewer than the 10 required")
        );
        let (v, why) = judge(Evidence { oos_sharpe: -0.3, currently_enabled: true, ..strong() });
        assert_eq!((v, why.as_str()), (Verdict::Disable, "out-of-sample Sharpe -0.30 is at or below 0.00"));
        assert_eq!(judge(Evidence { oos_sharpe: 0.0, ..strong() }).0, Verdict::Disable);
        assert_eq!(judge(Evidence { oos_sharpe: f64::NAN, ..strong() }).0, Verdict::Disable);
        let (v, why) = judge(Evidence { pbo: Some(0.5), ..strong() });
        assert_eq!(
            (v, why.as_str()),
            (Verdict::Disable, "probability of backtest overfitting 0.50 is at least 0.50")
        );
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
        assert_eq!(judge(Evidence { pbo: Some(f64::NAN), ..strong() }).0, Verdict::Keep);
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
    }
}
