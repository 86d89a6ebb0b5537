//! Rule-based market regimes from a VIX-like index: calm, normal, stressed or crisis each day.
//!
//! A day's level regime comes from its index close alone (`< calm_below` calm, `< normal_below`
//! normal, `<= crisis_above` stressed, above that crisis). With hysteresis `hold_days = k`, the
//! reported regime switches only after the new level regime has held `k` consecutive days, so
//! a single spike does not flip it; `k = 1` switches at once. Day `t`'s regime reads closes up
//! to `t` only. A missing (NaN) close carries the previous regime and neither extends nor
//! breaks a pending switch.

use std::num::NonZeroUsize;

/// A market volatility regime, calmest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Regime {
    /// Low volatility.
    Calm,
    /// Ordinary conditions.
    Normal,
    /// Elevated volatility.
    Stressed,
    /// Crash conditions.
    Crisis,
}

impl Regime {
    /// True for the two risk-off regimes, stressed and crisis.
    pub fn is_risk_off(self) -> bool {
        self >= Regime::Stressed
    }
}

/// Thresholds and hysteresis of the classifier, validated on construction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegimeRules {
    calm_below: f64,
    normal_below: f64,
    crisis_above: f64,
    hold_days: NonZeroUsize,
}

/// Thresholds that are not finite and strictly increasing.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error(
    "regime thresholds must be finite and increasing: calm_below {calm_below} < normal_below {normal_below} < crisis_above {crisis_above}"
)]
pub struct RegimeRulesError {
    /// Upper bound (exclusive) of calm.
    pub calm_below: f64,
    /// Upper bound (exclusive) of normal.
    pub normal_below: f64,
    /// Upper bound (inclusive) of stressed.
    pub crisis_above: f64,
}

impl Default for RegimeRules {
    /// Calm below 15, normal below 25, stressed up to 35, crisis above 35; no hysteresis.
    fn default() -> Self {
        RegimeRules { calm_below: 15.0, normal_below: 25.0, crisis_above: 35.0, hold_days: NonZeroUsize::MIN }
    }
}

impl RegimeRules {
    /// Rules with the given thresholds and hysteresis.
    pub fn new(
        calm_below: f64,
        normal_below: f64,
        crisis_above: f64,
        hold_days: NonZeroUsize,
    ) -> Result<Self, RegimeRulesError> {
        let finite = [calm_below, normal_below, crisis_above].iter().all(|x| x.is_finite());
        if !(finite && calm_below < normal_below && normal_below < crisis_above) {
            return Err(RegimeRulesError { calm_below, normal_below, crisis_above });
        }
        Ok(RegimeRules { calm_below, normal_below, crisis_above, hold_days })
    }

    /// The regime of one index level, without hysteresis; `None` for NaN.
    pub fn level(&self, index_close: f64) -> Option<Regime> {
        if index_close.is_nan() {
            None
        } else if index_close < self.calm_below {
            Some(Regime::Calm)
        } else if index_close < self.normal_below {
            Some(Regime::Normal)
        } else if index_close <= self.crisis_above {
            Some(Regime::Stressed)
        } else {
            Some(Regime::Crisis)
        }
    }

    /// The regime of each day from the index closes, with hysteresis (see the module docs);
    /// `None` until the first non-missing close. The first known day takes its level regime.
    pub fn classify(&self, index_close: &[f64]) -> Vec<Option<Regime>> {
        let mut current: Option<Regime> = None;
        let mut pending: Option<(Regime, usize)> = None;
        index_close
            .iter()
            .map(|&close| {
                match (current, self.level(close)) {
                    (_, None) => {}
                    (None, Some(level)) => current = Some(level),
                    (Some(now), Some(level)) if level == now => pending = None,
                    (Some(_), Some(level)) => {
                        let days = match pending {
                            Some((p, d)) if p == level => d + 1,
                            _ => 1,
                        };
                        if days >= self.hold_days.get() {
                            current = Some(level);
                            pending = None;
                        } else {
                            pending = Some((level, days));
                        }
                    }
                }
                current
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Regime::*;

    fn rules(k: usize) -> RegimeRules {
        RegimeRules::new(15.0, 25.0, 35.0, NonZeroUsize::new(k).unwrap()).unwrap()
    }

    #[test]
    fn levels_follow_the_documented_boundaries() {
        let r = RegimeRules::default();
        let cases = [
            (10.0, Calm),
            (14.99, Calm),
            (15.0, Normal),
            (24.9, Normal),
            (25.0, Stressed),
            (35.0, Stressed),
            (35.01, Crisis),
            (80.0, Crisis),
        ];
        for (v, want) in cases {
            assert_eq!(r.level(v), Some(want), "{v}");
        }
        assert_eq!(r.level(f64::NAN), None);
        assert_eq!(r, rules(1));
    }

    #[test]
    fn bad_thresholds_are_rejected() {
        let one = NonZeroUsize::MIN;
        assert!(RegimeRules::new(25.0, 15.0, 35.0, one).is_err());
        assert!(RegimeRules::new(15.0, 35.0, 35.0, one).is_err());
        let err = RegimeRules::new(f64::NAN, 25.0, 35.0, one).unwrap_err();
        assert!(err.to_string().contains("calm_below NaN"));
    }

    #[test]
    fn without_hysteresis_each_day_takes_its_level() {
        let v = [f64::NAN, 12.0, 20.0, 40.0, f64::NAN, 30.0, 12.0];
        let want = [None, Some(Calm), Some(Normal), Some(Crisis), Some(Crisis), Some(Stressed), Some(Calm)];
        assert_eq!(rules(1).classify(&v), want);
    }

    #[test]
    fn hysteresis_needs_k_consecutive_days_to_switch() {
        // A one-day spike is ignored; a three-day move switches on its third day; a NaN
        // neither counts nor breaks the streak; an interrupted streak starts over.
        let v = [12.0, 40.0, 12.0, 30.0, 30.0, f64::NAN, 30.0, 12.0, 20.0, 20.0, 12.0, 20.0, 20.0, 20.0];
        let want = [
            Calm, Calm, Calm, Calm, Calm, Calm, Stressed, Stressed, Stressed, Stressed, Stressed, Stressed,
            Stressed, Normal,
        ];
        let got: Vec<Regime> = rules(3).classify(&v).into_iter().map(Option::unwrap).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_day_never_depends_on_later_closes() {
        let v: Vec<f64> = (0..200).map(|i| 20.0 + 18.0 * ((i as f64) * 0.37).sin()).collect();
        for k in [1, 2, 5] {
            let base = rules(k).classify(&v);
            for t in [0, 17, 100, 150] {
                let mut changed = v.clone();
                for (j, x) in changed.iter_mut().enumerate().skip(t + 1) {
                    *x = 40.0 + (j % 7) as f64;
                }
                let got = rules(k).classify(&changed);
                assert_eq!(got[..=t], base[..=t], "k={k} t={t}");
                assert_ne!(got, base, "the perturbation must change something later (k={k} t={t})");
            }
        }
    }
}
