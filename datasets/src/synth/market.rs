//! The shared paths: volatility regimes, the market factor, the VIX-like index, sector factors.

use std::cmp::Ordering;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::effects::{Effect, Effects, Strengths};
use super::rng::{normal, student_t6, uniform_open};

/// Trading days per year, for annualising.
pub(super) const DAYS_PER_YEAR: f64 = 252.0;

/// The true volatility regime of the synthetic market on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolRegime {
    /// Low volatility, steady gains (market vol 12%, drift +18% a year).
    Calm,
    /// Ordinary conditions (vol 16%, drift +10%).
    Normal,
    /// Elevated volatility, flat to falling prices (vol 24%, drift −10%).
    Stressed,
    /// Crash conditions (vol 50%, drift −80% a year while it lasts).
    Crisis,
}

impl VolRegime {
    /// Every regime, calmest first; the position is the regime's row in the transition matrix.
    pub const ALL: [VolRegime; 4] =
        [VolRegime::Calm, VolRegime::Normal, VolRegime::Stressed, VolRegime::Crisis];

    /// Position in [`VolRegime::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Base annualised market volatility in this regime.
    const fn base_vol(self) -> f64 {
        [0.12, 0.16, 0.24, 0.50][self.index()]
    }

    /// Annual log drift of the market factor in this regime.
    const fn drift(self) -> f64 {
        [0.18, 0.10, -0.10, -0.80][self.index()]
    }
}

/// Daily regime transition probabilities, row = today, column = tomorrow (Calm … Crisis).
/// Moves only to neighbouring regimes; mean stays are 67, 45, 23 and 20 days, and the
/// stationary shares are about 31% / 46% / 18% / 5%. Frequent, short crises keep the crisis
/// share of a 20-year history within 2–10% for about nine seeds in ten.
const TRANSITION: [[f64; 4]; 4] = [
    [0.985, 0.015, 0.0, 0.0],
    [0.010, 0.978, 0.012, 0.0],
    [0.0, 0.030, 0.957, 0.013],
    [0.0, 0.0, 0.050, 0.950],
];

/// EGARCH(1,1) coefficients of the variance multiplier `h` inside a regime:
/// `ln h' = β·ln h + θ·z + γ·(|z| − E|z|)`, clamped to `[H_MIN, H_MAX]`. Median one, daily
/// persistence 0.97 (half-life about 23 days), log-s.d. about 0.45; θ < 0 makes volatility rise
/// on down days and ease on up days (the leverage effect), so the VIX-like index moves against
/// the market.
const EGARCH_BETA: f64 = 0.97;
const EGARCH_THETA: f64 = -0.10;
const EGARCH_GAMMA: f64 = 0.08;
/// `E|z|` of the unit-variance Student-t(6) shock.
const MEAN_ABS_T6: f64 = 0.750;
const H_MIN: f64 = 0.5;
const H_MAX: f64 = 3.0;

/// Implied-over-realised premium of the VIX-like index: `VIX = 100 · 1.2 · annualised vol`,
/// using the volatility forecast for the next day (today's regime, tomorrow's `h`). With
/// `h ≥ 0.5` a crisis day reads at least `120 · 0.5 · √0.5 ≈ 42.4`; calm days read about 12–16.
const VIX_PREMIUM: f64 = 1.2;

/// The market-wide paths every symbol's returns are built on, one entry per trading day.
#[derive(Clone, Debug)]
pub(super) struct MarketPath {
    /// The true regime.
    pub regime: Vec<VolRegime>,
    /// Market factor log return: `drift + shock`.
    pub ret: Vec<f64>,
    /// The regime's daily log drift (zero without [`Effect::RegimeDrift`]).
    pub drift: Vec<f64>,
    /// The zero-mean part of the market factor's log return, `σ·z`.
    pub shock: Vec<f64>,
    /// Market factor daily volatility used for that day's return.
    pub sigma: Vec<f64>,
    /// Scale for idiosyncratic and sector noise: `√(σ_market / σ_normal)`, so stress lifts
    /// every volatility but the market's most (correlations rise in a crisis).
    pub noise_scale: Vec<f64>,
    /// The VIX-like index level at the close.
    pub vix: Vec<f64>,
}

impl MarketPath {
    /// Simulates `n` days starting in the normal regime with `h = 1`; without
    /// [`Effect::RegimeDrift`] the factor has no drift and escalation days are ordinary days.
    pub fn simulate(n: usize, effects: Effects, strength: Strengths, rng: &mut impl Rng) -> Self {
        let regime_drift = effects.has(Effect::RegimeDrift);
        let mut path = MarketPath {
            regime: Vec::with_capacity(n),
            ret: Vec::with_capacity(n),
            drift: Vec::with_capacity(n),
            shock: Vec::with_capacity(n),
            sigma: Vec::with_capacity(n),
            noise_scale: Vec::with_capacity(n),
            vix: Vec::with_capacity(n),
        };
        let normal_sigma = VolRegime::Normal.base_vol() / DAYS_PER_YEAR.sqrt();
        let mut regime = VolRegime::Normal;
        let mut log_h = 0.0f64;
        let mut yesterday = regime;
        for _ in 0..n {
            let sigma = regime.base_vol() * log_h.exp().sqrt() / DAYS_PER_YEAR.sqrt();
            // A regime escalates on a down day and eases on an up day.
            let z = match regime.index().cmp(&yesterday.index()) {
                Ordering::Greater if regime_drift => -student_t6(rng).abs(),
                Ordering::Less if regime_drift => student_t6(rng).abs(),
                _ => student_t6(rng),
            };
            log_h = (EGARCH_BETA * log_h + EGARCH_THETA * z + EGARCH_GAMMA * (z.abs() - MEAN_ABS_T6))
                .clamp(H_MIN.ln(), H_MAX.ln());
            path.regime.push(regime);
            let drift = if regime_drift {
                regime.drift() * strength.of(Effect::RegimeDrift).get() / DAYS_PER_YEAR
            } else {
                0.0
            };
            let shock = sigma * z;
            path.ret.push(drift + shock);
            path.drift.push(drift);
            path.shock.push(shock);
            path.sigma.push(sigma);
            path.noise_scale.push((sigma / normal_sigma).sqrt());
            path.vix.push(100.0 * VIX_PREMIUM * regime.base_vol() * log_h.exp().sqrt());
            yesterday = regime;
            regime = next_regime(regime, uniform_open(rng));
        }
        path
    }
}

/// Tomorrow's regime given today's and a uniform draw in (0, 1].
fn next_regime(today: VolRegime, u: f64) -> VolRegime {
    let row = &TRANSITION[today.index()];
    let mut cumulative = 0.0;
    for (next, p) in VolRegime::ALL.into_iter().zip(row) {
        cumulative += p;
        if u <= cumulative {
            return next;
        }
    }
    today
}

/// One of the eleven GICS-like sectors, with its ETF ticker and factor parameters.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sector {
    /// Sector name as stored in [`crate::SymbolMeta::sector`].
    pub name: &'static str,
    /// Ticker of the sector ETF.
    pub etf: &'static str,
    /// Typical market beta of the sector's stocks (and its ETF).
    pub beta: f64,
    /// Annualised volatility of the sector factor in normal conditions.
    pub vol: f64,
    /// Share of the stock universe in this sector.
    pub weight: f64,
}

/// The sectors, with betas, factor volatilities and stock-universe weights (summing to one).
pub(super) const SECTORS: [Sector; 11] = [
    Sector { name: "Technology", etf: "XLK", beta: 1.15, vol: 0.10, weight: 0.16 },
    Sector { name: "Financials", etf: "XLF", beta: 1.10, vol: 0.09, weight: 0.13 },
    Sector { name: "Energy", etf: "XLE", beta: 1.00, vol: 0.16, weight: 0.05 },
    Sector { name: "Health Care", etf: "XLV", beta: 0.80, vol: 0.08, weight: 0.13 },
    Sector { name: "Industrials", etf: "XLI", beta: 1.05, vol: 0.06, weight: 0.13 },
    Sector { name: "Consumer Discretionary", etf: "XLY", beta: 1.10, vol: 0.07, weight: 0.11 },
    Sector { name: "Consumer Staples", etf: "XLP", beta: 0.60, vol: 0.06, weight: 0.06 },
    Sector { name: "Utilities", etf: "XLU", beta: 0.45, vol: 0.08, weight: 0.04 },
    Sector { name: "Materials", etf: "XLB", beta: 1.05, vol: 0.08, weight: 0.05 },
    Sector { name: "Real Estate", etf: "XLRE", beta: 0.85, vol: 0.09, weight: 0.06 },
    Sector { name: "Communication Services", etf: "XLC", beta: 1.00, vol: 0.08, weight: 0.08 },
];

/// Persistence of a sector's slowly wandering drift (half-life about 230 days) and its
/// stationary spread (6% a year), which gives sector momentum for rotation strategies.
const SECTOR_DRIFT_PHI: f64 = 0.997;
const SECTOR_DRIFT_SD: f64 = 0.06;

/// One sector factor's daily log returns, `drift + noise`, with both parts kept.
#[derive(Clone, Debug, Default)]
pub(super) struct SectorPath {
    /// The wandering drift (zero without [`Effect::SectorMomentum`]).
    pub drift: Vec<f64>,
    /// The regime-scaled normal noise.
    pub noise: Vec<f64>,
}

/// Daily log returns of one sector factor: wandering drift (when [`Effect::SectorMomentum`] is
/// planted; the same draws are made either way) plus regime-scaled normal noise.
pub(super) fn sector_factor(
    sector: &Sector,
    market: &MarketPath,
    effects: Effects,
    strength: Strengths,
    rng: &mut impl Rng,
) -> SectorPath {
    let momentum = effects.has(Effect::SectorMomentum);
    let drift_sd = SECTOR_DRIFT_SD * strength.of(Effect::SectorMomentum).get() / DAYS_PER_YEAR;
    let innovation_sd = drift_sd * (1.0 - SECTOR_DRIFT_PHI * SECTOR_DRIFT_PHI).sqrt();
    let sigma = sector.vol / DAYS_PER_YEAR.sqrt();
    let mut drift = drift_sd * normal(rng);
    let mut path = SectorPath::default();
    for &scale in &market.noise_scale {
        drift = SECTOR_DRIFT_PHI * drift + innovation_sd * normal(rng);
        path.drift.push(if momentum { drift } else { 0.0 });
        path.noise.push(sigma * scale * normal(rng));
    }
    path
}
