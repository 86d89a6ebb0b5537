//! Daily features known at the close: what the classifier sees.
//!
//! Row `t` reads closes up to day `t` only (every feature is a trailing window), so a model
//! fed row `t` predicts day `t + 1` without look-ahead. Warm-up rows (and rows next to
//! missing closes) hold NaN and are skipped by training and prediction.

use std::fmt;

use kernel::indicators::{realised_vol, sma};
use kernel::regime::{DAYS_PER_YEAR, MarketRegimeRules, Regime};
use serde::{Deserialize, Serialize};

use crate::{MarketInputs, MemberCloses, RegimeError};

/// Days in the drawdown's trailing high.
const DRAWDOWN_DAYS: usize = 252;
/// Days of the moving average in the breadth feature.
const BREADTH_SMA: usize = 50;
/// Realised-volatility window of the implied-over-realised ratio.
const RATIO_VOL_DAYS: usize = 21;
/// Cap on the days-in-regime count (a year: older history adds nothing).
const MAX_DAYS_IN_REGIME: usize = 252;

/// One column of the feature matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Market log return over the last `h` days.
    Return(u16),
    /// Market realised volatility over the last `w` daily returns, annualised, in percent.
    RealisedVol(u16),
    /// Market close over its highest close of the last 252 days, minus one (0 at a high).
    Drawdown,
    /// The index close.
    Index,
    /// Log change of the index over the last `h` days.
    IndexChange(u16),
    /// The index over the market's 21-day realised volatility: implied over realised.
    IndexOverVol,
    /// Share of breadth members closing above their 50-day simple moving average.
    BreadthAboveSma,
    /// Share of breadth members with a positive log return over the last `h` days.
    BreadthUp(u16),
    /// Today's rule-based regime (0 calm … 3 crisis).
    RuleRegime,
    /// Days the rule-based regime has lasted, today included (capped at 252).
    DaysInRegime,
}

impl Feature {
    /// What the inputs must have for this feature, if anything beyond the market.
    fn needs(self) -> Option<&'static str> {
        match self {
            Feature::Index | Feature::IndexChange(_) | Feature::IndexOverVol => Some("an index"),
            Feature::BreadthAboveSma | Feature::BreadthUp(_) => Some("breadth members"),
            _ => None,
        }
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Feature::Return(h) => write!(f, "ret_{h}"),
            Feature::RealisedVol(w) => write!(f, "vol_{w}"),
            Feature::Drawdown => write!(f, "drawdown_{DRAWDOWN_DAYS}"),
            Feature::Index => write!(f, "index"),
            Feature::IndexChange(h) => write!(f, "index_chg_{h}"),
            Feature::IndexOverVol => write!(f, "index_over_vol_{RATIO_VOL_DAYS}"),
            Feature::BreadthAboveSma => write!(f, "breadth_above_sma{BREADTH_SMA}"),
            Feature::BreadthUp(h) => write!(f, "breadth_up_{h}"),
            Feature::RuleRegime => write!(f, "rule_regime"),
            Feature::DaysInRegime => write!(f, "days_in_regime"),
        }
    }
}

/// The features, in column order, and the rule detector the regime features come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// Columns, in order.
    pub features: Vec<Feature>,
    /// The rule-based detector behind [`Feature::RuleRegime`] and [`Feature::DaysInRegime`].
    pub rules: MarketRegimeRules,
}

impl FeatureSpec {
    /// The standard set for what the inputs have: market returns over 1, 5, 21 and 63 days,
    /// realised volatility over 5, 21 and 63, drawdown, the rule regime and its age; plus
    /// index level, 1- and 5-day index changes and implied-over-realised with an index; plus
    /// breadth above the 50-day average and up over 1 and 21 days with breadth members.
    pub fn standard(inputs: &MarketInputs, rules: MarketRegimeRules) -> FeatureSpec {
        use Feature::*;
        let mut features = vec![Return(1), Return(5), Return(21), Return(63)];
        features.extend([RealisedVol(5), RealisedVol(21), RealisedVol(63), Drawdown]);
        if inputs.index().is_some() {
            features.extend([Index, IndexChange(1), IndexChange(5), IndexOverVol]);
        }
        if !inputs.members().is_empty() {
            features.extend([BreadthAboveSma, BreadthUp(1), BreadthUp(21)]);
        }
        features.extend([RuleRegime, DaysInRegime]);
        FeatureSpec { features, rules }
    }

    /// Column names, comma-separated (for messages and the model card).
    pub fn names(&self) -> String {
        self.features.iter().map(Feature::to_string).collect::<Vec<_>>().join(", ")
    }

    /// Computes every column on `inputs`.
    pub fn compute(&self, inputs: &MarketInputs) -> Result<FeatureMatrix, RegimeError> {
        let columns = Columns::new(inputs, &self.rules);
        let computed = self
            .features
            .iter()
            .map(|&f| {
                columns.column(f).ok_or_else(|| RegimeError::Unavailable {
                    feature: f.to_string(),
                    needs: f.needs().unwrap_or("nothing"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (n, width) = (inputs.len(), self.features.len());
        let mut values = vec![f64::NAN; n * width];
        for (c, column) in computed.iter().enumerate() {
            for (t, &v) in column.iter().enumerate() {
                values[t * width + c] = v;
            }
        }
        Ok(FeatureMatrix {
            spec: self.clone(),
            timestamps: inputs.timestamps().to_vec(),
            regimes: columns.regimes,
            values,
        })
    }
}

/// The shared series the columns are built from.
struct Columns<'a> {
    inputs: &'a MarketInputs,
    regimes: Vec<Option<Regime>>,
}

impl<'a> Columns<'a> {
    fn new(inputs: &'a MarketInputs, rules: &MarketRegimeRules) -> Self {
        Columns { inputs, regimes: rules.classify(inputs.index(), inputs.market()) }
    }

    /// The column of `feature`; `None` when the inputs lack what it needs.
    fn column(&self, feature: Feature) -> Option<Vec<f64>> {
        let market = self.inputs.market();
        let index = self.inputs.index();
        let members = self.inputs.members();
        let has_members = !members.is_empty();
        Some(match feature {
            Feature::Return(h) => log_change(market, h.into()),
            Feature::RealisedVol(w) => vol_percent(market, w.into()),
            Feature::Drawdown => drawdown(market, DRAWDOWN_DAYS),
            Feature::Index => index?.to_vec(),
            Feature::IndexChange(h) => log_change(index?, h.into()),
            Feature::IndexOverVol => {
                let vol = vol_percent(market, RATIO_VOL_DAYS);
                index?.iter().zip(&vol).map(|(x, v)| x / v).collect()
            }
            Feature::BreadthAboveSma if has_members => share(self.inputs.len(), members, |m| {
                let avg = sma(m, BREADTH_SMA).expect("a positive window");
                m.iter()
                    .zip(avg)
                    .map(|(&c, a)| if a.is_nan() || c.is_nan() { None } else { Some(c > a) })
                    .collect()
            }),
            Feature::BreadthUp(h) if has_members => share(self.inputs.len(), members, |m| {
                log_change(m, h.into()).into_iter().map(|r| (!r.is_nan()).then_some(r > 0.0)).collect()
            }),
            Feature::BreadthAboveSma | Feature::BreadthUp(_) => return None,
            Feature::RuleRegime => {
                self.regimes.iter().map(|r| r.map_or(f64::NAN, |r| r.index() as f64)).collect()
            }
            Feature::DaysInRegime => days_in_regime(&self.regimes),
        })
    }
}

/// `ln(x[t] / x[t − h])`; NaN for the first `h` days and around missing closes.
fn log_change(x: &[f64], h: usize) -> Vec<f64> {
    (0..x.len()).map(|t| if t >= h { (x[t] / x[t - h]).ln() } else { f64::NAN }).collect()
}

/// Annualised realised volatility in percent over `w` daily log returns.
fn vol_percent(x: &[f64], w: usize) -> Vec<f64> {
    let mut vol = realised_vol(x, w.max(2), DAYS_PER_YEAR).expect("a window of at least 2");
    vol.iter_mut().for_each(|v| *v *= 100.0);
    vol
}

/// `x[t]` over the highest finite close of the last `days` days (fewer at the start), minus 1.
fn drawdown(x: &[f64], days: usize) -> Vec<f64> {
    (0..x.len())
        .map(|t| {
            let window = &x[t.saturating_sub(days - 1)..=t];
            let high = window.iter().copied().filter(|v| v.is_finite()).fold(f64::NAN, f64::max);
            x[t] / high - 1.0
        })
        .collect()
}

/// Per day, the share of members for which `flag` says true among those it says anything for;
/// NaN on a day no member has a flag.
fn share(n: usize, members: &[MemberCloses], flag: impl Fn(&[f64]) -> Vec<Option<bool>>) -> Vec<f64> {
    let mut yes = vec![0u32; n];
    let mut known = vec![0u32; n];
    for member in members {
        for (t, f) in flag(member).into_iter().enumerate() {
            if let Some(f) = f {
                known[t] += 1;
                yes[t] += u32::from(f);
            }
        }
    }
    yes.iter()
        .zip(&known)
        .map(|(&y, &k)| if k == 0 { f64::NAN } else { f64::from(y) / f64::from(k) })
        .collect()
}

/// How many days the regime has lasted up to each day (capped); NaN while unclassified.
fn days_in_regime(regimes: &[Option<Regime>]) -> Vec<f64> {
    let mut run = 0usize;
    regimes
        .iter()
        .enumerate()
        .map(|(t, r)| {
            run = if t > 0 && regimes[t - 1] == *r { run + 1 } else { 1 };
            if r.is_some() { run.min(MAX_DAYS_IN_REGIME) as f64 } else { f64::NAN }
        })
        .collect()
}

/// The features of every day, row-major, with the days' timestamps and rule regimes.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureMatrix {
    spec: FeatureSpec,
    timestamps: Vec<i64>,
    regimes: Vec<Option<Regime>>,
    values: Vec<f64>,
}

impl FeatureMatrix {
    /// The spec the columns follow.
    pub fn spec(&self) -> &FeatureSpec {
        &self.spec
    }

    /// Number of days (rows).
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// True when there is no row.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// Number of features (columns).
    pub fn width(&self) -> usize {
        self.spec.features.len()
    }

    /// The days (UTC nanoseconds).
    pub fn timestamps(&self) -> &[i64] {
        &self.timestamps
    }

    /// The rule-based regime of each day (the spec's rules).
    pub fn rule_regimes(&self) -> &[Option<Regime>] {
        &self.regimes
    }

    /// Row `t`: every feature at the close of day `t`.
    pub fn row(&self, t: usize) -> &[f64] {
        let w = self.width();
        &self.values[t * w..(t + 1) * w]
    }

    /// True when row `t` has no missing value (it can be trained on or predicted from).
    pub fn is_complete(&self, t: usize) -> bool {
        self.row(t).iter().all(|v| v.is_finite())
    }

    /// All values, row-major (`values()[t * width + c]`).
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> MarketInputs {
        let n = 120;
        let ts = (0..n as i64).map(|d| d * 86_400_000_000_000).collect();
        let market: Vec<f64> = (0..n).map(|t| 100.0 * (0.01 * t as f64).exp()).collect();
        let index = (0..n).map(|t| 10.0 + t as f64).collect();
        let up: Vec<f64> = (0..n).map(|t| 50.0 + t as f64).collect();
        let down: Vec<f64> = (0..n).map(|t| 500.0 - t as f64).collect();
        let mut late = vec![f64::NAN; n];
        late[100..].iter_mut().enumerate().for_each(|(i, v)| *v = 10.0 + i as f64);
        MarketInputs::new(ts, market, Some(index), vec![up, down, late]).unwrap()
    }

    fn column(m: &FeatureMatrix, f: Feature) -> Vec<f64> {
        let c = m.spec().features.iter().position(|&g| g == f).unwrap();
        (0..m.len()).map(|t| m.row(t)[c]).collect()
    }

    #[test]
    fn columns_hold_the_documented_values() {
        let inputs = inputs();
        let m = FeatureSpec::standard(&inputs, MarketRegimeRules::default()).compute(&inputs).unwrap();
        assert_eq!(m.width(), 17);
        let ret5 = column(&m, Feature::Return(5));
        assert!(ret5[4].is_nan());
        assert!((ret5[5] - 0.05).abs() < 1e-12);
        // A steady 1 % a day: no volatility, no drawdown.
        assert!(column(&m, Feature::RealisedVol(21))[30].abs() < 1e-9);
        assert_eq!(column(&m, Feature::Drawdown)[50], 0.0);
        let chg = column(&m, Feature::IndexChange(1));
        assert!((chg[10] - (20.0f64 / 19.0).ln()).abs() < 1e-12);
        // Breadth: one member rises, one falls; the late listing joins from its 50th day on
        // (for the average) and from its second day on (for the one-day change).
        let above = column(&m, Feature::BreadthAboveSma);
        assert!(above[48].is_nan());
        assert_eq!(above[49], 0.5);
        let up1 = column(&m, Feature::BreadthUp(1));
        assert_eq!(up1[100], 0.5);
        assert!((up1[101] - 2.0 / 3.0).abs() < 1e-12);
        // Index from 10 to 129: calm below 15, then normal, stressed from 25, crisis above 35,
        // each switch three days after the level changes.
        let regime = column(&m, Feature::RuleRegime);
        assert_eq!((regime[0], regime[6], regime[7], regime[17], regime[30]), (0.0, 0.0, 1.0, 2.0, 3.0));
        let days = column(&m, Feature::DaysInRegime);
        assert_eq!((days[0], days[6], days[7], days[8]), (1.0, 7.0, 1.0, 2.0));
        assert!(!m.is_complete(62));
        assert!(m.is_complete(100));
    }

    #[test]
    fn the_spec_follows_what_the_inputs_have() {
        let full = inputs();
        let bare =
            MarketInputs::new(full.timestamps().to_vec(), full.market().to_vec(), None, vec![]).unwrap();
        let spec = FeatureSpec::standard(&bare, MarketRegimeRules::default());
        assert_eq!(
            spec.names(),
            "ret_1, ret_5, ret_21, ret_63, vol_5, vol_21, vol_63, drawdown_252, rule_regime, days_in_regime"
        );
        let needs_index = FeatureSpec::standard(&full, MarketRegimeRules::default());
        let err = needs_index.compute(&bare).unwrap_err();
        assert_eq!(err.to_string(), "feature `index` needs an index, which the inputs do not have");
    }
}
