//! Static per-symbol parameters: the symbol list, betas, styles, fundamentals, volume levels.

use chrono::{Datelike, Days, Months, NaiveDate};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::effects::{Effect, Effects, Strengths};
use super::market::{DAYS_PER_YEAR, SECTORS, Sector};
use super::rng::{Stream, normal, stream};
use crate::bars::{AssetClass, DatedFundamentals, Fundamentals, SymbolMeta};
use crate::calendar;

/// The idiosyncratic behaviour planted in a stock (ETFs and the index are always `Plain`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockStyle {
    /// Factor exposure, fat-tailed noise and jumps only.
    Plain,
    /// Adds an Ornstein–Uhlenbeck deviation around the trend (φ = 0.7 a day, stationary
    /// s.d. 3%), so residual daily returns are negatively autocorrelated.
    MeanReverting,
    /// Adds a persistent drift (AR(1) with φ = 0.99 a day, stationary s.d. 0.2% a day, about
    /// ±50% a year), so multi-week returns are positively autocorrelated.
    Trending,
}

/// Lag-one coefficient and stationary s.d. of a mean-reverting name's deviation from trend.
pub(super) const OU_PHI: f64 = 0.7;
pub(super) const OU_SD: f64 = 0.03;
/// Lag-one coefficient and stationary s.d. of a trending name's daily drift.
pub(super) const TREND_PHI: f64 = 0.99;
pub(super) const TREND_SD: f64 = 0.002;

/// How every tradable symbol's daily log return is put together (see the module docs).
#[derive(Clone, Debug)]
pub(super) struct Profile {
    /// Close before the first bar.
    pub start_price: f64,
    /// Market beta in each regime (constant for stocks; regime-dependent for defensives).
    pub beta: [f64; 4],
    /// Daily log drift in each regime on top of the factors (the planted premium for stocks).
    pub drift: [f64; 4],
    /// Sector factor this symbol loads on, by position in [`SECTORS`].
    pub sector: Option<usize>,
    /// Loading on that sector factor.
    pub sector_loading: f64,
    /// Daily s.d. of the idiosyncratic noise in normal conditions.
    pub idio_sigma: f64,
    /// Daily probability of an overnight jump (news, earnings).
    pub jump_prob: f64,
    /// S.d. of a jump's log size.
    pub jump_sd: f64,
    /// Planted idiosyncratic behaviour.
    pub style: StockStyle,
    /// Typical traded value per day in dollars (volume in shares is this over the price).
    pub dollar_volume: f64,
}

impl Profile {
    /// A fund that tracks the market with beta `beta`, optionally a sector, with tiny noise.
    fn fund(start_price: f64, beta: f64, sector: Option<usize>, dollar_volume: f64) -> Self {
        Profile {
            start_price,
            beta: [beta; 4],
            drift: [0.0; 4],
            sector,
            sector_loading: 1.0,
            idio_sigma: FUND_TRACKING_VOL / DAYS_PER_YEAR.sqrt(),
            jump_prob: 0.0,
            jump_sd: 0.0,
            style: StockStyle::Plain,
            dollar_volume,
        }
    }
}

/// Annualised tracking noise of SPY and the sector ETFs against their factors.
const FUND_TRACKING_VOL: f64 = 0.01;

/// How a symbol's daily bars are generated.
#[derive(Clone, Debug)]
pub(super) enum Model {
    /// The VIX-like index, read off the market path.
    Vix,
    /// A tradable asset following a [`Profile`].
    Asset(Profile),
}

/// One symbol of the universe: its metadata and its generating model.
#[derive(Clone, Debug)]
pub(super) struct Listing {
    /// What is stored about the symbol.
    pub meta: SymbolMeta,
    /// How its bars are made.
    pub model: Model,
}

/// A defensive asset whose market beta and drift depend on the regime (flight to quality).
struct Defensive {
    ticker: &'static str,
    start_price: f64,
    beta: [f64; 4],
    annual_drift: [f64; 4],
    vol: f64,
    dollar_volume: f64,
}

/// Long bonds, gold and short treasuries: betas turn negative in stress, drifts rise.
const DEFENSIVES: [Defensive; 3] = [
    Defensive {
        ticker: "TLT",
        start_price: 90.0,
        beta: [0.15, 0.05, -0.25, -0.40],
        annual_drift: [0.01, 0.02, 0.04, 0.02],
        vol: 0.13,
        dollar_volume: 1.2e9,
    },
    Defensive {
        ticker: "GLD",
        start_price: 110.0,
        beta: [0.05, 0.0, -0.10, -0.15],
        annual_drift: [0.03, 0.04, 0.08, 0.06],
        vol: 0.15,
        dollar_volume: 1.0e9,
    },
    Defensive {
        ticker: "SHY",
        start_price: 80.0,
        beta: [0.0, 0.0, -0.02, -0.03],
        annual_drift: [0.015, 0.02, 0.03, 0.03],
        vol: 0.015,
        dollar_volume: 2.5e8,
    },
];

/// Number of non-stock symbols listed before the stocks: SPY, 11 sector ETFs, 3 defensives, VIX.
pub(super) const FUNDS_AND_INDEX: usize = 1 + SECTORS.len() + DEFENSIVES.len() + 1;

/// The full symbol list in a fixed order: SPY, the sector ETFs (XLK…XLC), TLT, GLD, SHY, VIX,
/// then `stocks` stocks `S0001`…; parameters come from each symbol's own stream. The same
/// draws are made whatever `effects` holds, so a null universe lists the same symbols with the
/// same caps, betas and volatilities as the planted one, only without the planted drifts and
/// styles.
pub(super) fn listings(stocks: usize, seed: u64, effects: Effects, strength: Strengths) -> Vec<Listing> {
    let mut out = Vec::with_capacity(FUNDS_AND_INDEX + stocks);
    out.push(Listing {
        meta: SymbolMeta::new("SPY", AssetClass::Etf),
        model: Model::Asset(Profile::fund(120.0, 1.0, None, 3.0e10)),
    });
    for (s, sector) in SECTORS.iter().enumerate() {
        let mut meta = SymbolMeta::new(sector.etf, AssetClass::Etf);
        meta.sector = Some(sector.name.to_string());
        let start = 25.0 + 50.0 * stream(seed, Stream::Params(out.len())).random::<f64>();
        let profile = Profile::fund(start, sector.beta, Some(s), 1.0e9 * sector.weight * 5.0);
        out.push(Listing { meta, model: Model::Asset(profile) });
    }
    for d in &DEFENSIVES {
        let mut profile = Profile::fund(d.start_price, 0.0, None, d.dollar_volume);
        profile.beta = d.beta;
        if effects.has(Effect::RegimeDrift) {
            profile.drift =
                d.annual_drift.map(|a| a * strength.of(Effect::RegimeDrift).get() / DAYS_PER_YEAR);
        }
        profile.idio_sigma = d.vol / DAYS_PER_YEAR.sqrt();
        out.push(Listing { meta: SymbolMeta::new(d.ticker, AssetClass::Etf), model: Model::Asset(profile) });
    }
    out.push(Listing { meta: SymbolMeta::new("VIX", AssetClass::Index), model: Model::Vix });
    for j in 0..stocks {
        let index = out.len();
        out.push(stock(j, effects, strength, &mut stream(seed, Stream::Params(index))));
    }
    out
}

/// Median market cap and log-spread of the cap distribution.
const CAP_MEDIAN: f64 = 5.0e9;
const CAP_LOG_SD: f64 = 1.3;
/// Median book-to-market and its log-spread.
const BTM_MEDIAN: f64 = 0.45;
const BTM_LOG_SD: f64 = 0.6;
/// Mean and s.d. of return on equity.
const ROE_MEAN: f64 = 0.12;
const ROE_SD: f64 = 0.10;
/// Planted annual premia per standard deviation of smallness, value and quality.
const SIZE_PREMIUM: f64 = 0.015;
const VALUE_PREMIUM: f64 = 0.025;
const QUALITY_PREMIUM: f64 = 0.025;
/// Share of stocks that mean-revert (times the strength, up to [`MAX_MEAN_REVERTING_SHARE`]),
/// and share that trend. A stock's uniform draw `u` picks its style: `u` below the base share
/// mean-reverts, the next [`TRENDING_SHARE`] trends, and the mean-reverting names a strength
/// adds come after those, so the trending names are the same at any strength of
/// `mean_reversion` (and the styles at 1× are those of the generator before strengths).
const MEAN_REVERTING_SHARE: f64 = 0.15;
const TRENDING_SHARE: f64 = 0.15;
/// The most stocks that mean-revert however strong the effect, leaving room for the trending
/// ones and some plain ones.
const MAX_MEAN_REVERTING_SHARE: f64 = 0.6;

/// The `j`-th stock (0-based): sector from a golden-ratio sequence over the sector weights (so
/// every sector is populated even in small universes), everything else from `rng`; a premium
/// or style whose effect is not planted is dropped (the name is then `Plain`, at full noise).
fn stock(j: usize, effects: Effects, strength: Strengths, rng: &mut impl Rng) -> Listing {
    let sector_index = sector_of(j);
    let sector: &Sector = &SECTORS[sector_index];

    let log_cap = (CAP_MEDIAN.ln() + CAP_LOG_SD * normal(rng)).clamp(2.0e8f64.ln(), 3.0e12f64.ln());
    let smallness = (CAP_MEDIAN.ln() - log_cap) / CAP_LOG_SD;
    let value = normal(rng);
    let book_to_market = (BTM_MEDIAN.ln() + BTM_LOG_SD * value).exp();
    let roe = (ROE_MEAN + ROE_SD * normal(rng)).clamp(-0.5, 0.6);
    let quality = (roe - ROE_MEAN) / ROE_SD;
    let premium = if effects.has(Effect::Premium) {
        (SIZE_PREMIUM * smallness + VALUE_PREMIUM * value + QUALITY_PREMIUM * quality)
            * strength.of(Effect::Premium).get()
    } else {
        0.0
    };

    let added = strength.of(Effect::MeanReversion).share(MEAN_REVERTING_SHARE, MAX_MEAN_REVERTING_SHARE)
        - MEAN_REVERTING_SHARE;
    let trending = MEAN_REVERTING_SHARE..MEAN_REVERTING_SHARE + TRENDING_SHARE;
    let style = match rng.random::<f64>() {
        u if trending.contains(&u) => {
            if effects.has(Effect::Trending) {
                StockStyle::Trending
            } else {
                StockStyle::Plain
            }
        }
        u if (u < MEAN_REVERTING_SHARE || (trending.end..trending.end + added).contains(&u))
            && effects.has(Effect::MeanReversion) =>
        {
            StockStyle::MeanReverting
        }
        _ => StockStyle::Plain,
    };
    let beta = sector.beta * (0.2 * normal(rng)).exp();
    let sector_loading = 0.6 + 0.8 * rng.random::<f64>();
    let idio_vol = (0.25 * (0.15 * smallness + 0.2 * normal(rng)).exp()).clamp(0.10, 0.80);
    // A mean-reverting name's wiggle is mostly its OU deviation, not white noise.
    let idio_vol = if style == StockStyle::MeanReverting { idio_vol * 0.5 } else { idio_vol };
    let start_price = (40f64.ln() + 0.8 * normal(rng)).exp().clamp(5.0, 500.0);
    let market_cap = log_cap.exp();
    let dollar_volume = market_cap * 0.008 * (0.4 * normal(rng)).exp();

    let profile = Profile {
        start_price,
        beta: [beta; 4],
        drift: [premium / DAYS_PER_YEAR; 4],
        sector: Some(sector_index),
        sector_loading,
        idio_sigma: idio_vol / DAYS_PER_YEAR.sqrt(),
        jump_prob: 1.0 / 63.0,
        jump_sd: 0.04 * (0.2 * smallness).exp(),
        style,
        dollar_volume,
    };
    let meta = SymbolMeta {
        symbol: format!("S{:04}", j + 1),
        asset_class: AssetClass::Equity,
        sector: Some(sector.name.to_string()),
        fundamentals: Fundamentals {
            market_cap: Some(market_cap),
            book_to_market: Some(book_to_market),
            roe: Some(roe),
        },
        ..Default::default()
    };
    Listing { meta, model: Model::Asset(profile) }
}

/// Sector of the `j`-th stock: the fractional part of `(j + 1)·φ⁻¹` placed on the cumulative
/// sector weights.
fn sector_of(j: usize) -> usize {
    const INV_GOLDEN: f64 = 0.618_033_988_749_894_9;
    let u = ((j + 1) as f64 * INV_GOLDEN).fract();
    let mut cumulative = 0.0;
    for (s, sector) in SECTORS.iter().enumerate() {
        cumulative += sector.weight;
        if u < cumulative {
            return s;
        }
    }
    SECTORS.len() - 1
}

/// Days from a quarter's end to the day its report is published (a 10-Q's deadline is 40–45
/// days), and the report's measurement noise: log-s.d. of the reported market cap and
/// book-to-market, s.d. of the reported ROE.
const REPORT_LAG_DAYS: u64 = 45;
const REPORT_LOG_NOISE: f64 = 0.05;
const REPORT_ROE_NOISE: f64 = 0.02;
/// Reports are published at 08:00 New York, before the open: the bar stamped 00:00 that day
/// does not see them; the next bar does.
const REPORT_HOUR_NS: i64 = 8 * 3_600_000_000_000;

/// Quarterly reports of a stock whose true fundamentals are `truth`, over the history from
/// `first` to `last`: one per calendar quarter (from the quarter before `first`), each
/// published [`REPORT_LAG_DAYS`] after its quarter ends and kept if published by `last`, its
/// values the truth with measurement noise. The planted premium follows the truth, so the
/// reports carry it as a point-in-time reader would see it.
pub(super) fn reports(
    truth: &Fundamentals,
    first: NaiveDate,
    last: NaiveDate,
    rng: &mut impl Rng,
) -> Vec<DatedFundamentals> {
    let (Some(cap), Some(btm), Some(roe)) = (truth.market_cap, truth.book_to_market, truth.roe) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let start = first.checked_sub_months(Months::new(3)).unwrap_or(first);
    let mut quarter_end = quarter_end_on_or_after(start);
    while let Some(published) = quarter_end.checked_add_days(Days::new(REPORT_LAG_DAYS))
        && published <= last
    {
        let values = Fundamentals {
            market_cap: Some(cap * (REPORT_LOG_NOISE * normal(rng)).exp()),
            book_to_market: Some(btm * (REPORT_LOG_NOISE * normal(rng)).exp()),
            roe: Some(roe + REPORT_ROE_NOISE * normal(rng)),
        };
        out.push(DatedFundamentals {
            known: calendar::daily_bar_timestamp(published).0 + REPORT_HOUR_NS,
            values,
        });
        let Some(next) = quarter_end.checked_add_days(Days::new(1)).map(quarter_end_on_or_after) else {
            break;
        };
        quarter_end = next;
    }
    out
}

/// The last day of the calendar quarter that `day` falls in.
fn quarter_end_on_or_after(day: NaiveDate) -> NaiveDate {
    let month = (day.month0() / 3) * 3 + 3;
    let (year, next) = if month == 12 { (day.year() + 1, 1) } else { (day.year(), month + 1) };
    NaiveDate::from_ymd_opt(year, next, 1).and_then(|d| d.pred_opt()).unwrap_or(day)
}
