//! Deterministic synthetic universes: the default data tradebot researches on.
//!
//! [`Universe::new`] computes the shared paths once (NYSE trading days, the regime chain, the
//! market factor, the VIX-like index, eleven sector factors) and the symbol list with each
//! symbol's parameters; [`Universe::daily`] and [`Universe::minute`] then generate any one
//! symbol's bars on demand from its own random streams, so a 5,000-symbol, 20-year universe is
//! streamed symbol by symbol, in parallel if wanted, and is bit-identical for a given
//! [`SynthConfig`] whatever the order or thread count.
//!
//! # The model (all returns are daily log returns)
//!
//! * **Regimes.** A Markov chain over [`VolRegime`] moving only between neighbours, with mean
//!   stays of 67 / 45 / 23 / 20 days and stationary shares of about 31% calm, 46% normal, 18%
//!   stressed, 5% crisis. Base market volatility 12% / 16% / 24% / 50% a year, drift +18% /
//!   +10% / −10% / −80% a year. The day a regime escalates is a down day for the market, the
//!   day it eases an up day. [`Universe::regimes`] exposes the true path.
//! * **Market factor.** `drift + σ·z` with `z` Student-t(6) at unit variance, where `σ` is the
//!   regime's base volatility times `√h` and `ln h` follows an EGARCH(1,1) (persistence 0.97,
//!   leverage θ −0.10 so down days raise volatility and up days ease it, size γ 0.08; `h`
//!   clamped to [0.5, 3]) — clustering inside regimes.
//! * **VIX** = `120 × annualised market volatility forecast for the next day` (an
//!   implied-over-realised premium of 1.2): about 12–16 when calm, never below 42 in a crisis,
//!   rising on down days. Listed as the `VIX` index symbol with small overnight gaps and wicks
//!   and no volume.
//! * **Sectors.** Eleven GICS-like sectors, each with a factor (normal noise of 6–16% a year
//!   scaled with the market's stress, plus an AR(1) drift with φ 0.997 and 6% a year spread —
//!   sector momentum) and an ETF (XLK, XLF, XLE, XLV, XLI, XLY, XLP, XLU, XLB, XLRE, XLC) that
//!   is `sector beta × market + sector factor` with 1% tracking noise. `SPY` is the market
//!   factor with the same tracking noise.
//! * **Defensives.** `TLT`, `GLD`, `SHY` with regime-dependent market betas (TLT +0.15 calm to
//!   −0.40 crisis, GLD +0.05 to −0.15, SHY ~0) and drifts, own volatility 13% / 15% / 1.5%.
//! * **Stocks** `S0001`…: `premium + β·market + loading·sector + idiosyncratic`. β is the
//!   sector's beta times a log-normal(0, 0.2) factor; loading is uniform in [0.6, 1.4];
//!   idiosyncratic noise is Student-t(6), about 25% a year (more for small caps), scaled by
//!   `√(σ_market / σ_normal)`, pulled back to trend with a five-year half-life so prices stay
//!   sane. One day in 63 an overnight jump (s.d. 4%, larger for small caps) hits; half of the
//!   jumps fill 20–70% back during the session. 15% of stocks are [`StockStyle::MeanReverting`]
//!   (with half the white noise) and 15% [`StockStyle::Trending`] ([`Universe::style`] tells
//!   which).
//! * **Fundamentals.** Market cap log-normal (median $5bn, log-s.d. 1.3, within $0.2bn–$3tn),
//!   book-to-market log-normal (median 0.45, log-s.d. 0.6), ROE normal (12% ± 10%). The
//!   planted premium is `1.5%·smallness + 2.5%·value + 2.5%·quality` a year, each term per
//!   standard deviation — weak next to the idiosyncratic noise, but there to be found.
//!   Each stock's metadata also carries **dated quarterly reports** of the three
//!   ([`crate::SymbolMeta::reports`]): published 45 days after each quarter ends, at 08:00
//!   New York, with a little measurement noise (5 % on the cap and book-to-market, 2 points on
//!   ROE), so a strategy can read them point in time; the undated snapshot stays for
//!   screens.
//! * **Daily bars.** 30% of the diffusive move happens overnight plus reversed overnight noise
//!   (0.25 s.d.) plus any jump, making the open gap; wicks beyond the body average 0.45
//!   intraday s.d. Volume in shares = traded value (0.8% of the cap a day, log-normal 0.4
//!   across names) over price, times log-normal(0.3) noise persisting from day to day (AR(1)
//!   0.6), up to e^1.2 more on big moves and about twice as much in a crisis. Daily bars are
//!   stamped 00:00 New York (see [`calendar::daily_bar_timestamp`]).
//! * **Minute bars** for the last [`SynthConfig::minute_days`] sessions, one per minute of the
//!   NYSE session (09:30–15:59, or to 12:59 on early closes). A heteroskedastic Brownian
//!   bridge from the daily open to the daily close, stretched above and below the open/close
//!   body so its peak and trough land exactly on the daily high and low: the first minute
//!   opens at the daily open, the last closes at the daily close, every minute lies inside the
//!   daily range and the extremes are reached. Volatility per minute is U-shaped (2× midday
//!   at the open, 1.6× at the close), volume weights are its square (4× and 2.6×), higher on
//!   big minutes, and integer minute volumes sum exactly to the daily volume.
//!
//! Prices are not rounded to cents, and bars carry neither VWAP nor trade counts.
//!
//! # Null and planted universes
//!
//! Every planted source of predictability above is a named [`Effect`] that
//! [`SynthConfig::effects`] switches on or off (the table in [`effects`] names the family that
//! should find each). [`Effects::ALL`], the default, gives exactly the model above;
//! [`Effects::NONE`] gives a **null** universe on which every symbol's simple return is a
//! martingale difference, so a research verdict of `enable` there is a false positive.
//! [`Universe::style`], [`Universe::regimes`] and [`Universe::effects`] expose the truth.

mod daily;
pub mod effects;
mod market;
mod minute;
#[cfg(test)]
mod null_tests;
mod profile;
pub mod provenance;
mod rng;
#[cfg(test)]
mod tests;

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::bars::{Bar, Bars, SymbolMeta};
use crate::calendar;
use crate::time::Timestamp;
use daily::{Factors, asset_bars, vix_bars};
use market::{MarketPath, SECTORS, SectorPath, sector_factor};
use profile::{Listing, Model, listings, reports};
use rng::{Stream, stream};

pub use effects::{BadStrength, Effect, Effects, Strength, Strengths, UnknownEffect};
pub use market::VolRegime;
pub use profile::StockStyle;
pub use provenance::Provenance;

/// What universe to generate; the same config always gives byte-identical bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynthConfig {
    /// Number of stocks (`S0001`…), listed after SPY, the 11 sector ETFs, TLT, GLD, SHY and VIX.
    pub symbols: usize,
    /// Years of daily history ending at `end`.
    pub years: u32,
    /// Seed of every random stream.
    pub seed: u64,
    /// Last calendar day of the history (a fixed date by default, never "today").
    pub end: NaiveDate,
    /// One-minute bars for the last this-many sessions; 0 for none.
    pub minute_days: usize,
    /// At most this many symbols, taken in list order (funds and VIX first), get minute bars;
    /// `None` for all.
    pub minute_symbols: Option<usize>,
    /// The planted effects ([`Effects::ALL`] by default; [`Effects::NONE`] for a null universe).
    pub effects: Effects,
    /// How strongly each is planted ([`Strengths::ONE`], the documented model, by default).
    pub strength: Strengths,
}

impl Default for SynthConfig {
    /// 500 stocks, 10 years to 2025-12-31, seed 42, 20 sessions of minute bars for the first
    /// 40 symbols (the 16 funds and index and 24 stocks), every effect planted.
    fn default() -> Self {
        SynthConfig {
            symbols: 500,
            years: 10,
            seed: 42,
            end: NaiveDate::from_ymd_opt(2025, 12, 31).expect("valid date"),
            minute_days: 20,
            minute_symbols: Some(40),
            effects: Effects::ALL,
            strength: Strengths::ONE,
        }
    }
}

/// A [`SynthConfig`] that cannot produce a universe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SynthError {
    /// `years` is zero.
    #[error("synthetic universe needs at least one year of history (config field `years` is 0)")]
    NoYears,
    /// The history would leave the years the calendar and timestamps support.
    #[error("synthetic history {first} to {last} is outside the supported years {MIN_YEAR}–{MAX_YEAR}")]
    OutOfRange {
        /// First calendar day requested.
        first: NaiveDate,
        /// Last calendar day requested (`end`).
        last: NaiveDate,
    },
}

/// Earliest and latest calendar years a synthetic history may cover.
const MIN_YEAR: i32 = 1900;
const MAX_YEAR: i32 = 2200;

/// A synthetic market: shared factor paths plus per-symbol parameters; bars on demand.
#[derive(Clone, Debug)]
pub struct Universe {
    seed: u64,
    effects: Effects,
    strength: Strengths,
    days: Vec<NaiveDate>,
    day_stamps: Vec<Timestamp>,
    regimes: Vec<(NaiveDate, VolRegime)>,
    market: MarketPath,
    sectors: Vec<SectorPath>,
    listings: Vec<Listing>,
    metas: Vec<SymbolMeta>,
    minute_days: usize,
    minute_symbols: usize,
}

impl Universe {
    /// Builds the calendar, the shared paths and the symbol list for `config`.
    pub fn new(config: &SynthConfig) -> Result<Self, SynthError> {
        if config.years == 0 {
            return Err(SynthError::NoYears);
        }
        let last = config.end;
        let first = last
            .checked_sub_months(Months::new(12 * config.years))
            .and_then(|d| d.checked_add_days(Days::new(1)))
            .unwrap_or(NaiveDate::MIN);
        if first.year() < MIN_YEAR || last.year() > MAX_YEAR {
            return Err(SynthError::OutOfRange { first, last });
        }
        let days = calendar::trading_days(first, last);
        let day_stamps = days.iter().map(|&d| calendar::daily_bar_timestamp(d)).collect();
        let (effects, strength) = (config.effects, config.strength);
        let market =
            MarketPath::simulate(days.len(), effects, strength, &mut stream(config.seed, Stream::Market));
        let sectors = SECTORS
            .iter()
            .enumerate()
            .map(|(s, sector)| {
                sector_factor(sector, &market, effects, strength, &mut stream(config.seed, Stream::Sector(s)))
            })
            .collect();
        let regimes = days.iter().copied().zip(market.regime.iter().copied()).collect();
        let listings = listings(config.symbols, config.seed, effects, strength);
        // Stocks get dated fundamentals reports from their own stream (the bars' streams are
        // untouched), so a backtest can read them point in time.
        let metas = listings
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut meta = l.meta.clone();
                if meta.asset_class == crate::AssetClass::Equity {
                    let rng = &mut stream(config.seed, Stream::Reports(i));
                    meta.reports = reports(&meta.fundamentals, first, last, rng).into();
                }
                meta
            })
            .collect();
        Ok(Universe {
            seed: config.seed,
            effects,
            strength,
            minute_days: config.minute_days.min(days.len()),
            minute_symbols: config.minute_symbols.unwrap_or(usize::MAX).min(listings.len()),
            days,
            day_stamps,
            regimes,
            market,
            sectors,
            listings,
            metas,
        })
    }

    /// Every symbol, in generation order: SPY, XLK…XLC, TLT, GLD, SHY, VIX, then the stocks.
    pub fn symbols(&self) -> &[SymbolMeta] {
        &self.metas
    }

    /// The NYSE trading days covered, oldest first.
    pub fn days(&self) -> &[NaiveDate] {
        &self.days
    }

    /// The true volatility regime of each trading day.
    pub fn regimes(&self) -> &[(NaiveDate, VolRegime)] {
        &self.regimes
    }

    /// The planted effects.
    pub fn effects(&self) -> Effects {
        self.effects
    }

    /// How strongly each is planted.
    pub fn strength(&self) -> Strengths {
        self.strength
    }

    /// The planted style of symbol `i`: `Some` for stocks, `None` for funds and the index
    /// (`Plain` for every stock when neither [`Effect::MeanReversion`] nor [`Effect::Trending`]
    /// is planted).
    /// Panics if `i` is not below `symbols().len()`.
    pub fn style(&self, i: usize) -> Option<StockStyle> {
        match (&self.listings[i].model, self.listings[i].meta.asset_class) {
            (Model::Asset(p), crate::AssetClass::Equity) => Some(p.style),
            _ => None,
        }
    }

    /// Daily bars of symbol `i`, one per trading day. Panics if `i` is not below
    /// `symbols().len()`.
    pub fn daily(&self, i: usize) -> Bars {
        let mut rng = stream(self.seed, Stream::Daily(i));
        match &self.listings[i].model {
            Model::Vix => vix_bars(&self.market.vix, &self.day_stamps, &mut rng),
            Model::Asset(profile) => {
                let factors = Factors { market: &self.market, sectors: &self.sectors };
                asset_bars(profile, &factors, &self.day_stamps, self.effects, self.strength, &mut rng)
            }
        }
    }

    /// One-minute bars of symbol `i` over the last `minute_days` sessions, or `None` when the
    /// config asks for none or `i` is beyond the `minute_symbols` cap. Regenerates the daily
    /// bars internally (cheap next to the minutes). Panics if `i` is not below
    /// `symbols().len()`.
    pub fn minute(&self, i: usize) -> Option<Bars> {
        assert!(i < self.listings.len(), "symbol index {i} out of range");
        if self.minute_days == 0 || i >= self.minute_symbols {
            return None;
        }
        let daily = self.daily(i);
        let first = self.days.len() - self.minute_days;
        let mut rng = stream(self.seed, Stream::Minute(i));
        let mut out = Bars::with_capacity(self.minute_days * 390);
        for t in first..self.days.len() {
            let session = calendar::session(self.days[t]).expect("trading days have sessions");
            let minutes = usize::try_from(session.minutes()).expect("sessions have positive length");
            minute::session_minutes(&mut out, &daily.bar(t), session.open, minutes, &mut rng);
        }
        Some(out)
    }
}

/// Appends a bar the model built. The generators guarantee every invariant by construction,
/// so a failure is a bug in this module, not bad input.
fn push_generated(bars: &mut Bars, bar: Bar) {
    if let Err(e) = bars.push(bar) {
        panic!("synthetic bar breaks the Bars invariants: {e}");
    }
}
