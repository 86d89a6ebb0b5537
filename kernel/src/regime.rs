//! Rule-based market regimes: calm, normal, stressed or crisis each trading day, from a
//! VIX-like index and, optionally, the market's realised volatility.
//!
//! A reading (an index close, or an annualised realised volatility in percent) maps to a
//! *level* regime through [`Thresholds`]: `< calm_below` calm, `< normal_below` normal,
//! `<= crisis_above` stressed, above that crisis. With hysteresis `hold_days = k`, the
//! reported regime switches only after the new level has held `k` consecutive days, so a
//! single spike does not flip it; `k = 1` switches at once. Day `t`'s regime reads data up to
//! `t` only. A missing level (NaN reading) carries the previous regime and neither extends
//! nor breaks a pending switch.
//!
//! [`RegimeRules`] classifies from the index alone (what `vix_regime_rotation` uses);
//! [`MarketRegimeRules`] adds the market's realised volatility: as the fallback on days without
//! an index reading (a data set with no index is classified from realised volatility alone),
//! or, with [`Combine::MoreStressed`], as a second opinion that can only raise the regime.

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::indicators::realised_vol;

/// A market volatility regime, calmest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// Every regime, calmest first; the position is [`Regime::index`].
    pub const ALL: [Regime; 4] = [Regime::Calm, Regime::Normal, Regime::Stressed, Regime::Crisis];

    /// True for the two risk-off regimes, stressed and crisis.
    pub fn is_risk_off(self) -> bool {
        self >= Regime::Stressed
    }

    /// Position in [`Regime::ALL`] (0 calm … 3 crisis): a class label for classifiers.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The regime at position `i` of [`Regime::ALL`], if any.
    pub fn from_index(i: usize) -> Option<Regime> {
        Regime::ALL.get(i).copied()
    }

    /// Lower-case name: `calm`, `normal`, `stressed`, `crisis`.
    pub const fn name(self) -> &'static str {
        ["calm", "normal", "stressed", "crisis"][self.index()]
    }
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A regime name that is none of `calm`, `normal`, `stressed`, `crisis`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown regime `{0}` (known: calm, normal, stressed, crisis)")]
pub struct UnknownRegime(pub String);

impl FromStr for Regime {
    type Err = UnknownRegime;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Regime::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownRegime(s.into()))
    }
}

/// The three boundaries that split one volatility reading into the four regimes, validated
/// on construction (finite and strictly increasing).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawThresholds", into = "RawThresholds")]
pub struct Thresholds {
    calm_below: f64,
    normal_below: f64,
    crisis_above: f64,
}

/// The serialised form of [`Thresholds`], checked on the way in.
#[derive(Clone, Copy, Serialize, Deserialize)]
struct RawThresholds {
    calm_below: f64,
    normal_below: f64,
    crisis_above: f64,
}

impl TryFrom<RawThresholds> for Thresholds {
    type Error = RegimeRulesError;

    fn try_from(r: RawThresholds) -> Result<Self, Self::Error> {
        Thresholds::new(r.calm_below, r.normal_below, r.crisis_above)
    }
}

impl From<Thresholds> for RawThresholds {
    fn from(t: Thresholds) -> Self {
        RawThresholds { calm_below: t.calm_below, normal_below: t.normal_below, crisis_above: t.crisis_above }
    }
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

impl Thresholds {
    /// The VIX convention: calm below 15, normal below 25, stressed up to 35, crisis above.
    pub const VIX: Thresholds = Thresholds { calm_below: 15.0, normal_below: 25.0, crisis_above: 35.0 };

    /// Annualised realised volatility of a broad equity index, in percent: calm below 12,
    /// normal below 20, stressed up to 30, crisis above (about the VIX bands less the usual
    /// implied-over-realised premium).
    pub const REALISED_VOL: Thresholds =
        Thresholds { calm_below: 12.0, normal_below: 20.0, crisis_above: 30.0 };

    /// Thresholds with the given boundaries.
    pub fn new(calm_below: f64, normal_below: f64, crisis_above: f64) -> Result<Self, RegimeRulesError> {
        let finite = [calm_below, normal_below, crisis_above].iter().all(|x| x.is_finite());
        if !(finite && calm_below < normal_below && normal_below < crisis_above) {
            return Err(RegimeRulesError { calm_below, normal_below, crisis_above });
        }
        Ok(Thresholds { calm_below, normal_below, crisis_above })
    }

    /// The regime of one reading; `None` for NaN.
    pub fn level(&self, reading: f64) -> Option<Regime> {
        if reading.is_nan() {
            None
        } else if reading < self.calm_below {
            Some(Regime::Calm)
        } else if reading < self.normal_below {
            Some(Regime::Normal)
        } else if reading <= self.crisis_above {
            Some(Regime::Stressed)
        } else {
            Some(Regime::Crisis)
        }
    }

    /// Upper bound (exclusive) of calm.
    pub fn calm_below(&self) -> f64 {
        self.calm_below
    }

    /// Upper bound (exclusive) of normal.
    pub fn normal_below(&self) -> f64 {
        self.normal_below
    }

    /// Upper bound (inclusive) of stressed; crisis above.
    pub fn crisis_above(&self) -> f64 {
        self.crisis_above
    }
}

impl fmt::Display for Thresholds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "calm <{} ≤ normal <{} ≤ stressed ≤{} < crisis",
            self.calm_below, self.normal_below, self.crisis_above
        )
    }
}

/// Index thresholds and hysteresis: the classifier `vix_regime_rotation` uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegimeRules {
    thresholds: Thresholds,
    hold_days: NonZeroUsize,
}

impl Default for RegimeRules {
    /// Calm below 15, normal below 25, stressed up to 35, crisis above 35; no hysteresis.
    fn default() -> Self {
        RegimeRules { thresholds: Thresholds::VIX, hold_days: NonZeroUsize::MIN }
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
        Ok(RegimeRules { thresholds: Thresholds::new(calm_below, normal_below, crisis_above)?, hold_days })
    }

    /// The regime of one index level, without hysteresis; `None` for NaN.
    pub fn level(&self, index_close: f64) -> Option<Regime> {
        self.thresholds.level(index_close)
    }

    /// The regime of each day from the index closes, with hysteresis (see the module docs);
    /// `None` until the first non-missing close. The first known day takes its level regime.
    pub fn classify(&self, index_close: &[f64]) -> Vec<Option<Regime>> {
        hysteresis(index_close.iter().map(|&c| self.level(c)), self.hold_days)
    }
}

/// Applies `k`-day hysteresis to a sequence of daily level regimes (see the module docs).
pub fn hysteresis(
    levels: impl IntoIterator<Item = Option<Regime>>,
    hold_days: NonZeroUsize,
) -> Vec<Option<Regime>> {
    let mut current: Option<Regime> = None;
    let mut pending: Option<(Regime, usize)> = None;
    levels
        .into_iter()
        .map(|level| {
            match (current, level) {
                (_, None) => {}
                (None, Some(level)) => current = Some(level),
                (Some(now), Some(level)) if level == now => pending = None,
                (Some(_), Some(level)) => {
                    let days = match pending {
                        Some((p, d)) if p == level => d + 1,
                        _ => 1,
                    };
                    if days >= hold_days.get() {
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

/// Trading days a year, for annualising daily realised volatility.
pub const DAYS_PER_YEAR: f64 = 252.0;

/// Regimes from a VIX-like index and the market's realised volatility, with hysteresis.
///
/// Each day has up to two readings: the index close against [`MarketRegimeRules::index`],
/// and the annualised standard deviation, in percent, of the last `realised_window` daily
/// log returns of the market close against [`MarketRegimeRules::realised`]. [`Combine`] says
/// how they make the day's level; hysteresis then applies as in [`RegimeRules::classify`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketRegimeRules {
    /// Thresholds on the index close.
    pub index: Thresholds,
    /// Thresholds on annualised realised volatility in percent.
    pub realised: Thresholds,
    /// Daily log returns in the realised-volatility window (at least 2).
    pub realised_window: RealisedWindow,
    /// How the two readings make a day's level.
    pub combine: Combine,
    /// Consecutive days a new level must hold before the regime switches.
    pub hold_days: NonZeroUsize,
}

/// How the index and realised-volatility readings make a day's level regime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// The index decides; realised volatility only on days without an index reading (warm-up,
    /// a gap, or data with no index at all). The default: on the synthetic universe, whose
    /// index is an exact volatility forecast, any say for the lagging realised measure
    /// lowers agreement with the true regime.
    IndexFirst,
    /// The more stressed of the two readings: a volatile market reads stressed even while
    /// the index lags. More risk-off days, and later all-clears (the 21-day window lags).
    MoreStressed,
}

/// The realised-volatility window in days: at least two returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "usize", into = "usize")]
pub struct RealisedWindow(usize);

/// A realised-volatility window below two returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("realised-volatility window must be at least 2 days, got {0}")]
pub struct WindowTooShort(pub usize);

impl RealisedWindow {
    /// A window of `days` returns; at least 2.
    pub fn new(days: usize) -> Result<Self, WindowTooShort> {
        if days >= 2 { Ok(RealisedWindow(days)) } else { Err(WindowTooShort(days)) }
    }

    /// The window in days.
    pub fn get(self) -> usize {
        self.0
    }
}

impl TryFrom<usize> for RealisedWindow {
    type Error = WindowTooShort;

    fn try_from(days: usize) -> Result<Self, Self::Error> {
        RealisedWindow::new(days)
    }
}

impl From<RealisedWindow> for usize {
    fn from(w: RealisedWindow) -> usize {
        w.0
    }
}

impl Default for MarketRegimeRules {
    /// VIX 15 / 25 / 35, realised volatility over 21 days 12 / 20 / 30 % where the index has
    /// no reading, three-day hysteresis.
    fn default() -> Self {
        MarketRegimeRules {
            index: Thresholds::VIX,
            realised: Thresholds::REALISED_VOL,
            realised_window: RealisedWindow(21),
            combine: Combine::IndexFirst,
            hold_days: NonZeroUsize::new(3).expect("3 > 0"),
        }
    }
}

impl MarketRegimeRules {
    /// Annualised realised volatility in percent of each day (NaN during the warm-up of
    /// `realised_window` returns and around missing closes).
    pub fn realised_vol(&self, market_close: &[f64]) -> Vec<f64> {
        let mut vol = realised_vol(market_close, self.realised_window.get(), DAYS_PER_YEAR)
            .expect("the window is at least 2 and the year length positive");
        vol.iter_mut().for_each(|v| *v *= 100.0);
        vol
    }

    /// Each day's level regime without hysteresis, from the readings as [`Combine`] says.
    ///
    /// # Panics
    /// When `index_close` is given and differs in length from `market_close`.
    pub fn levels(&self, index_close: Option<&[f64]>, market_close: &[f64]) -> Vec<Option<Regime>> {
        if let Some(index) = index_close {
            assert_eq!(index.len(), market_close.len(), "index and market closes must be aligned");
        }
        let vol = self.realised_vol(market_close);
        vol.iter()
            .enumerate()
            .map(|(t, &v)| {
                let from_index = index_close.and_then(|x| self.index.level(x[t]));
                let from_vol = || self.realised.level(v);
                match self.combine {
                    Combine::IndexFirst => from_index.or_else(from_vol),
                    Combine::MoreStressed => from_index.max(from_vol()),
                }
            })
            .collect()
    }

    /// Each day's regime with hysteresis; `None` until the first day with a reading.
    ///
    /// # Panics
    /// When `index_close` is given and differs in length from `market_close`.
    pub fn classify(&self, index_close: Option<&[f64]>, market_close: &[f64]) -> Vec<Option<Regime>> {
        hysteresis(self.levels(index_close, market_close), self.hold_days)
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

    /// A market path: `calm` days of 0.5 % moves, then `wild` days of 3 % moves.
    fn market(calm: usize, wild: usize) -> Vec<f64> {
        let mut close = vec![100.0];
        for i in 0..calm + wild {
            let step: f64 = if i < calm { 0.005 } else { 0.03 };
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            close.push(close[close.len() - 1] * (sign * step).exp());
        }
        close
    }

    #[test]
    fn realised_volatility_is_annualised_percent() {
        let rules = MarketRegimeRules::default();
        let close = market(40, 0);
        let vol = rules.realised_vol(&close);
        assert!(vol[..21].iter().all(|v| v.is_nan()));
        // 21 alternating ±0.5 % log returns: mean ±0.5/21 %, population s.d.
        // 0.5 · √(1 − 1/21²) %, annualised by √252.
        let want = 0.5 * (1.0 - 1.0 / 441.0f64).sqrt() * 252f64.sqrt();
        assert!((vol[30] - want).abs() < 1e-9, "{} vs {want}", vol[30]);
    }

    #[test]
    fn market_rules_combine_the_readings_as_configured() {
        let rules = MarketRegimeRules {
            hold_days: NonZeroUsize::MIN,
            combine: Combine::MoreStressed,
            ..Default::default()
        };
        let close = market(30, 30);
        // Realised vol: 7.9 % (calm) on the quiet stretch, 47.6 % (crisis) once the window
        // holds only 3 % moves.
        let calm_index = vec![12.0; close.len()];
        let levels = rules.levels(Some(&calm_index), &close);
        assert_eq!(levels[20], Some(Calm), "index calm, realised vol still warming up");
        assert_eq!(levels[25], Some(Calm));
        assert_eq!(levels[60], Some(Crisis), "realised vol overrides a calm index");
        let stressed_index = vec![30.0; close.len()];
        assert_eq!(
            rules.levels(Some(&stressed_index), &close)[25],
            Some(Stressed),
            "index overrides calm vol"
        );
        // Without an index, realised vol alone decides; nothing before its warm-up.
        let alone = rules.levels(None, &close);
        assert_eq!(alone[20], None);
        assert_eq!(alone[21], Some(Calm));
        assert_eq!(alone[60], Some(Crisis));
        // The index missing on one day leaves realised vol to decide that day.
        let mut gappy = calm_index.clone();
        gappy[60] = f64::NAN;
        assert_eq!(rules.levels(Some(&gappy), &close)[60], Some(Crisis));
        // Index first: the index decides wherever it has a reading, realised vol elsewhere.
        let first = MarketRegimeRules { combine: Combine::IndexFirst, ..rules };
        gappy[60] = 12.0;
        gappy[59] = f64::NAN;
        let levels = first.levels(Some(&gappy), &close);
        assert_eq!((levels[58], levels[59], levels[60]), (Some(Calm), Some(Crisis), Some(Calm)));
        assert_eq!(first.levels(None, &close), alone);
    }

    #[test]
    fn market_rules_hysteresis_delays_the_switch() {
        let close = market(30, 30);
        let index = vec![12.0; close.len()];
        let held = MarketRegimeRules { combine: Combine::MoreStressed, ..Default::default() };
        let instant = MarketRegimeRules { hold_days: NonZeroUsize::MIN, ..held };
        let first = |r: &[Option<Regime>]| r.iter().position(|&x| x > Some(Calm)).unwrap();
        let switch = first(&instant.classify(Some(&index), &close));
        assert_eq!(first(&held.classify(Some(&index), &close)), switch + 2, "three days to switch");
    }

    #[test]
    fn market_rules_never_read_later_bars() {
        let close: Vec<f64> =
            (0..300).map(|i| 100.0 * (0.002 * i as f64 + 0.05 * (i as f64 * 0.21).sin()).exp()).collect();
        let index: Vec<f64> = (0..300).map(|i| 20.0 + 18.0 * ((i as f64) * 0.37).sin()).collect();
        let rules = MarketRegimeRules { combine: Combine::MoreStressed, ..Default::default() };
        let base = rules.classify(Some(&index), &close);
        for t in [25, 100, 250] {
            let (mut c, mut x) = (close.clone(), index.clone());
            for j in t + 1..c.len() {
                c[j] *= 1.0 + 0.2 * ((j % 3) as f64 - 1.0);
                x[j] = 60.0;
            }
            let got = rules.classify(Some(&x), &c);
            assert_eq!(got[..=t], base[..=t], "t={t}");
            assert_ne!(got, base, "t={t}");
        }
    }

    #[test]
    fn thresholds_round_trip_and_reject_bad_input() {
        let rules = MarketRegimeRules::default();
        let json = serde_json::to_string(&rules).unwrap();
        assert_eq!(serde_json::from_str::<MarketRegimeRules>(&json).unwrap(), rules);
        let bad = json.replace("\"calm_below\":15.0", "\"calm_below\":40.0");
        assert!(
            serde_json::from_str::<MarketRegimeRules>(&bad).unwrap_err().to_string().contains("increasing")
        );
        let short = json.replace("\"realised_window\":21", "\"realised_window\":1");
        assert!(serde_json::from_str::<MarketRegimeRules>(&short).is_err());
    }

    #[test]
    fn regime_names_parse_and_print() {
        for r in Regime::ALL {
            assert_eq!(r.to_string().parse::<Regime>().unwrap(), r);
            assert_eq!(Regime::from_index(r.index()), Some(r));
        }
        assert_eq!("CRISIS".parse::<Regime>().unwrap(), Crisis);
        assert!("panic".parse::<Regime>().is_err());
        assert_eq!(format!("{:<8}|", Calm), "calm    |");
    }
}
