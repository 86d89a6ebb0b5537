//! Daily OHLCV paths: a tradable asset from its [`Profile`], and the VIX-like index.

use rand::Rng;

use super::effects::{Effect, Effects, Strengths};
use super::market::{DAYS_PER_YEAR, MarketPath, SECTORS, SectorPath};
use super::profile::{OU_PHI, OU_SD, Profile, StockStyle, TREND_PHI, TREND_SD};
use super::push_generated;
use super::rng::{normal, student_t6, wicks};
use crate::bars::{Bar, Bars};
use crate::time::Timestamp;

/// Daily pull of a name's idiosyncratic level back to its trend (half-life five years), which
/// keeps 20-year price paths in a sane range without touching the planted premium.
const IDIO_PULL: f64 = std::f64::consts::LN_2 / (5.0 * DAYS_PER_YEAR);
/// Share of the diffusive close-to-close move that happens overnight.
const OVERNIGHT_SHARE: f64 = 0.3;
/// S.d. (in units of the day's volatility) of overnight noise that the session then reverses.
const OVERNIGHT_NOISE: f64 = 0.25;
/// Probability that a jump partly fills during the session, and the filled fraction's range.
const FILL_PROB: f64 = 0.5;
const FILL_MIN: f64 = 0.2;
const FILL_SPAN: f64 = 0.5;
/// Mean size of each wick beyond the open/close body, in intraday standard deviations.
const WICK: f64 = 0.45;
/// Stationary s.d. and daily persistence of a name's log-volume noise (busy and quiet spells),
/// and log-volume response per standard deviation of surprise move.
const VOLUME_NOISE: f64 = 0.3;
const VOLUME_PERSISTENCE: f64 = 0.6;
const VOLUME_SURPRISE: f64 = 0.3;

/// `ln E[exp(s·z)]` for `z` a unit-variance Student-t(6) draw, to fourth order:
/// `ln(1 + s²/2 + s⁴/4)` (`E z⁴ = 6`; the sixth-order term is below 1e-8 a day at any
/// volatility the model produces).
pub(super) fn t6_log_mgf(s: f64) -> f64 {
    let v = s * s;
    (1.0 + v / 2.0 + v * v / 4.0).ln()
}

/// `ln E[exp(J)]` for a jump `J ~ N(0, sd²)` that happens with probability `prob` and of which
/// the share `1 − f` stays, `f` being 0, or uniform in `FILL_MIN..FILL_MIN + FILL_SPAN` with
/// probability `fill_prob` (0 without fills; the fill's spread inside its range is second
/// order).
pub(super) fn jump_log_mgf(prob: f64, sd: f64, fill_prob: f64) -> f64 {
    let kept = |share: f64| ((share * sd).powi(2) / 2.0).exp() - 1.0;
    let mean_kept_square = {
        let (lo, hi) = (1.0 - FILL_MIN - FILL_SPAN, 1.0 - FILL_MIN);
        (hi.powi(3) - lo.powi(3)) / (3.0 * (hi - lo))
    };
    let excess = if fill_prob > 0.0 {
        (1.0 - fill_prob) * kept(1.0) + fill_prob * kept(mean_kept_square.sqrt())
    } else {
        kept(1.0)
    };
    (1.0 + prob * excess).ln()
}

/// The factor paths an asset's returns are built from.
pub(super) struct Factors<'a> {
    /// Market factor and regimes.
    pub market: &'a MarketPath,
    /// Sector factor returns, one path per entry of [`SECTORS`].
    pub sectors: &'a [SectorPath],
}

/// Daily bars of an asset at the timestamps `ts` (one per day of the factor paths), with the
/// planted `effects` (see [`super::effects`] for what switching each off changes).
pub(super) fn asset_bars(
    p: &Profile,
    f: &Factors<'_>,
    ts: &[Timestamp],
    effects: Effects,
    strength: Strengths,
    rng: &mut impl Rng,
) -> Bars {
    let market = f.market;
    let convexity = effects.has(Effect::Convexity);
    let continuation = effects.has(Effect::GapContinuation);
    let fills = effects.has(Effect::GapFills);
    // Without continuation the overnight move is its own shock and the session carries the
    // rest of the day's variance, so every factor shock is scaled by this.
    let session = if continuation { 1.0 } else { (1.0 - OVERNIGHT_SHARE).sqrt() };
    let fill_prob = if fills { strength.of(Effect::GapFills).share(FILL_PROB, 1.0) } else { 0.0 };
    let jump_compensation = if convexity { 0.0 } else { jump_log_mgf(p.jump_prob, p.jump_sd, fill_prob) };
    let mut bars = Bars::with_capacity(ts.len());
    let mut idiosyncratic = Idiosyncratic::new(p, effects, strength, rng);
    let mut volume_noise = Persistent::new(VOLUME_NOISE, VOLUME_PERSISTENCE, rng);
    let mut prev_close = p.start_price;
    for (t, &stamp) in ts.iter().enumerate() {
        let regime = market.regime[t].index();
        let scale = market.noise_scale[t];
        let (sector_ret, sector_sigma) = match p.sector {
            Some(s) => (
                p.sector_loading * (f.sectors[s].drift[t] + session * f.sectors[s].noise[t]),
                p.sector_loading * SECTORS[s].vol / DAYS_PER_YEAR.sqrt() * scale,
            ),
            None => (0.0, 0.0),
        };
        let idio_sigma = p.idio_sigma * scale;
        let idio = idiosyncratic.step(p, idio_sigma * session, scale * session, rng);
        let beta = p.beta[regime];
        let market_ret =
            if continuation { market.ret[t] } else { market.drift[t] + session * market.shock[t] };
        let ret = p.drift[regime] + beta * market_ret + sector_ret + idio.ret;
        let sigma = ((beta * market.sigma[t]).powi(2) + sector_sigma.powi(2) + idio_sigma.powi(2)).sqrt();
        // The overnight shock of a session that does not continue the gap, and its compensator.
        let (overnight, overnight_compensation) = if continuation {
            (0.0, 0.0)
        } else {
            let sd = OVERNIGHT_SHARE.sqrt() * sigma;
            (sd * normal(rng), if convexity { 0.0 } else { sd * sd / 2.0 })
        };
        // ln E[exp(·)] of the session's zero-mean shocks: subtracted when drifts are not log drifts.
        let compensation = if convexity {
            0.0
        } else {
            t6_log_mgf(beta * session * market.sigma[t])
                + (session * sector_sigma).powi(2) / 2.0
                + idio.log_mgf
                + jump_compensation
                + overnight_compensation
        };
        let ret = ret + overnight - compensation;

        // The open: part of the diffusive move (or its own shock), noise the session reverses,
        // and the full jump.
        let reversed = OVERNIGHT_NOISE * strength.of(Effect::GapFills).get() * sigma * normal(rng);
        let reversed = if fills { reversed } else { 0.0 };
        let gap = if continuation {
            let diffusive = ret - idio.kept_jump;
            OVERNIGHT_SHARE * diffusive + reversed + idio.jump
        } else {
            overnight - overnight_compensation + reversed + idio.jump - jump_compensation
        };
        let open = prev_close * gap.exp();
        let close = prev_close * ret.exp();
        let intraday_sigma = sigma * (1.0 - OVERNIGHT_SHARE).sqrt();
        let (low, high) = wicks(open.min(close), open.max(close), WICK * intraday_sigma, rng);
        let surprise = (ret.abs() / sigma - 0.8).min(4.0);
        let log_volume_shift = volume_noise.step(rng) + VOLUME_SURPRISE * surprise;
        let volume = (p.dollar_volume / close * scale * log_volume_shift.exp()).round().max(1.0);
        push_generated(
            &mut bars,
            Bar { ts: stamp, open, high, low, close, volume, vwap: None, trade_count: None },
        );
        prev_close = close;
    }
    bars
}

/// A zero-mean AR(1) process with a given stationary s.d., started from its stationary law.
struct Persistent {
    value: f64,
    phi: f64,
    innovation: f64,
}

impl Persistent {
    fn new(sd: f64, phi: f64, rng: &mut impl Rng) -> Self {
        Persistent { value: sd * normal(rng), phi, innovation: sd * (1.0 - phi * phi).sqrt() }
    }

    /// Advances one day with its innovation scaled by `scale`, returning the new value.
    fn step_scaled(&mut self, scale: f64, rng: &mut impl Rng) -> f64 {
        self.value = self.phi * self.value + self.innovation * scale * normal(rng);
        self.value
    }

    /// Advances one day, returning the new value.
    fn step(&mut self, rng: &mut impl Rng) -> f64 {
        self.step_scaled(1.0, rng)
    }
}

/// One day's idiosyncratic outcome.
struct IdioDay {
    /// Idiosyncratic log return, close to close (including the part of any jump kept).
    ret: f64,
    /// `ln E[exp(·)]` of the day's zero-mean diffusive shocks (noise and the OU innovation;
    /// jumps are compensated apart).
    log_mgf: f64,
    /// Overnight jump at the open (zero on most days).
    jump: f64,
    /// The part of the jump still there at the close.
    kept_jump: f64,
}

/// A style's hidden process.
enum StyleState {
    /// No hidden process.
    Plain,
    /// The OU deviation from trend; the day's return gets its change.
    MeanReverting(Persistent),
    /// The persistent drift; the day's return gets its value.
    Trending(Persistent),
}

/// The evolving idiosyncratic state of an asset: its level relative to trend and its style's
/// hidden process.
struct Idiosyncratic {
    level: f64,
    style: StyleState,
    /// Pull the level back to trend ([`Effect::Anchor`]).
    anchor: bool,
    /// Let jumps partly fill ([`Effect::GapFills`]).
    fills: bool,
    /// Chance that a jump partly fills (drawn for every jump, used only with `fills`).
    fill_prob: f64,
}

impl Idiosyncratic {
    fn new(p: &Profile, effects: Effects, strength: Strengths, rng: &mut impl Rng) -> Self {
        let style = match p.style {
            StockStyle::Plain => StyleState::Plain,
            // Starts at zero deviation so the first day has no artificial reversal.
            StockStyle::MeanReverting => StyleState::MeanReverting(Persistent {
                value: 0.0,
                phi: OU_PHI,
                innovation: OU_SD * (1.0 - OU_PHI * OU_PHI).sqrt(),
            }),
            StockStyle::Trending => StyleState::Trending(Persistent::new(
                TREND_SD * strength.of(Effect::Trending).get(),
                TREND_PHI,
                rng,
            )),
        };
        Idiosyncratic {
            level: 0.0,
            style,
            anchor: effects.has(Effect::Anchor),
            fills: effects.has(Effect::GapFills),
            fill_prob: if effects.has(Effect::GapFills) {
                strength.of(Effect::GapFills).share(FILL_PROB, 1.0)
            } else {
                FILL_PROB
            },
        }
    }

    /// Draws one day: fat-tailed noise of s.d. `sigma`, the style's contribution (the OU
    /// deviation's change, its innovation scaled by `scale`, or the day's persistent drift), a
    /// possible jump that may partly fill, minus the slow pull of the level back to trend.
    fn step(&mut self, p: &Profile, sigma: f64, scale: f64, rng: &mut impl Rng) -> IdioDay {
        let mut shock = sigma * student_t6(rng);
        let mut log_mgf = t6_log_mgf(sigma);
        match &mut self.style {
            StyleState::Plain => {}
            StyleState::MeanReverting(ou) => {
                let before = ou.value;
                shock += ou.step_scaled(scale, rng) - before;
                log_mgf += (ou.innovation * scale).powi(2) / 2.0;
            }
            StyleState::Trending(drift) => shock += drift.step(rng),
        }
        let (jump, kept_jump) = if rng.random::<f64>() < p.jump_prob {
            let fill = if rng.random::<f64>() < self.fill_prob {
                FILL_MIN + FILL_SPAN * rng.random::<f64>()
            } else {
                0.0
            };
            let jump = p.jump_sd * normal(rng);
            let fill = if self.fills { fill } else { 0.0 };
            (jump, (1.0 - fill) * jump)
        } else {
            (0.0, 0.0)
        };
        let ret = if self.anchor { shock + kept_jump - IDIO_PULL * self.level } else { shock + kept_jump };
        self.level += ret;
        IdioDay { ret, log_mgf, jump, kept_jump }
    }
}

/// S.d. of the index's overnight log move, and mean size of its wicks.
const VIX_GAP_SD: f64 = 0.02;
const VIX_WICK: f64 = 0.03;

/// Daily bars of the VIX-like index: closes are the index path, opens gap slightly from the
/// previous close, wicks are small; an index trades no volume.
pub(super) fn vix_bars(vix: &[f64], ts: &[Timestamp], rng: &mut impl Rng) -> Bars {
    let mut bars = Bars::with_capacity(ts.len());
    let mut prev_close = vix.first().copied().unwrap_or(0.0);
    for (&stamp, &close) in ts.iter().zip(vix) {
        let open = prev_close * (VIX_GAP_SD * normal(rng)).exp();
        let (low, high) = wicks(open.min(close), open.max(close), VIX_WICK, rng);
        push_generated(
            &mut bars,
            Bar { ts: stamp, open, high, low, close, volume: 0.0, vwap: None, trade_count: None },
        );
        prev_close = close;
    }
    bars
}
