//! The planted effects of the synthetic generator, each a named switch.
//!
//! With [`Effects::ALL`] (the default) the generator writes exactly the universe described in
//! the module documentation of [`crate::synth`]. Each effect switched off removes one source of
//! predictability; with [`Effects::NONE`] the universe is a **null**: every symbol's simple
//! return is a martingale difference (expected simple return zero at every bar given the whole
//! past, market included), so every strategy's expected P&L is zero before costs and any
//! `enable` a research run gives on it is a false positive. The calendar, the symbols and their
//! metadata, the regime chain, the volatility model (regime levels, EGARCH clustering, fat
//! tails, the VIX-like index) and the volume model stay the same.
//!
//! | effect | what it plants | family that should find it |
//! |---|---|---|
//! | `regime_drift` | market drift by regime (+18 / +10 / −10 / −80 % a year), defensives' drifts, escalation days that are always down days | `vix_regime_rotation` |
//! | `sector_momentum` | each sector factor's slowly wandering drift (AR(1) φ 0.997, 6 % a year) | `sector_rotation` |
//! | `mean_reversion` | 15 % of stocks mean-revert around trend (OU φ 0.7 a day) | `mean_reversion` |
//! | `trending` | 15 % of stocks carry a persistent drift (AR(1) φ 0.99, ±50 % a year) | `vol_managed_momentum`, `factor_momentum`, `sma_cross`, `relative_volume_breakout` |
//! | `premium` | size, value and quality premia (1.5 / 2.5 / 2.5 % a year per s.d.) | `quality_smallcap_value` |
//! | `gap_fills` | half of the overnight jumps fill 20–70 % back in the session; overnight noise the session reverses | `gap_fill` |
//! | `gap_continuation` | the session continues the overnight move (30 % of the day's factor move happens overnight) | none by design (open-to-close drift after a gap); it runs against `gap_fills`, so the truth benchmark leaves it out ([`Effects::FINDABLE`]) |
//! | `anchor` | a stock's idiosyncratic level is pulled back to trend (half-life five years) | none (too weak to trade; keeps 20-year prices sane) |
//! | `convexity` | drifts are log drifts, so every symbol also earns half its variance a year in simple return — an equal-weight book of independent names earns a real diversification return | the passive benchmark (any long-only book) |
//!
//! With any effect off, the day's shocks are compensated (`ln E[e^x]` subtracted from each
//! zero-mean log shock `x`) so they add no drift; with `gap_continuation` off the overnight
//! move is its own idiosyncratic shock (30 % of the day's variance) and the session carries
//! the factor moves, so the open is also a fair price.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One planted source of predictability (see the module table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Regime-dependent market and defensive drifts; escalation days are down days.
    RegimeDrift,
    /// Sector factors with a persistent drift.
    SectorMomentum,
    /// Mean-reverting stocks.
    MeanReversion,
    /// Trending stocks.
    Trending,
    /// Size, value and quality premia.
    Premium,
    /// Partial fills of overnight jumps and reversed overnight noise.
    GapFills,
    /// The session continues the overnight move.
    GapContinuation,
    /// The idiosyncratic level's slow pull back to trend.
    Anchor,
    /// Log drifts: each symbol earns half its variance in simple return.
    Convexity,
}

impl Effect {
    /// Every effect, in the order of the module table.
    pub const ALL: [Effect; 9] = [
        Effect::RegimeDrift,
        Effect::SectorMomentum,
        Effect::MeanReversion,
        Effect::Trending,
        Effect::Premium,
        Effect::GapFills,
        Effect::GapContinuation,
        Effect::Anchor,
        Effect::Convexity,
    ];

    /// The switch's name on the command line and in files, e.g. `sector_momentum`.
    pub const fn name(self) -> &'static str {
        match self {
            Effect::RegimeDrift => "regime_drift",
            Effect::SectorMomentum => "sector_momentum",
            Effect::MeanReversion => "mean_reversion",
            Effect::Trending => "trending",
            Effect::Premium => "premium",
            Effect::GapFills => "gap_fills",
            Effect::GapContinuation => "gap_continuation",
            Effect::Anchor => "anchor",
            Effect::Convexity => "convexity",
        }
    }

    /// The research families that should find this effect (empty when none is meant to).
    pub const fn families(self) -> &'static [&'static str] {
        match self {
            Effect::RegimeDrift => &["vix_regime_rotation"],
            Effect::SectorMomentum => &["sector_rotation"],
            Effect::MeanReversion => &["mean_reversion"],
            Effect::Trending => {
                &["vol_managed_momentum", "factor_momentum", "sma_cross", "relative_volume_breakout"]
            }
            Effect::Premium => &["quality_smallcap_value"],
            Effect::GapFills => &["gap_fill"],
            Effect::GapContinuation | Effect::Anchor | Effect::Convexity => &[],
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no effect, `all` or `none`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown planted effect `{name}`; expected `all`, `none` or a comma-separated list of: {}", known())]
pub struct UnknownEffect {
    /// The name given.
    pub name: String,
}

fn known() -> String {
    Effect::ALL.iter().map(|e| e.name()).collect::<Vec<_>>().join(", ")
}

impl FromStr for Effect {
    type Err = UnknownEffect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Effect::ALL.into_iter().find(|e| e.name() == s).ok_or_else(|| UnknownEffect { name: s.to_string() })
    }
}

/// A set of planted effects; [`Effects::ALL`] is the default universe, [`Effects::NONE`] the
/// null.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Effects(u16);

impl Effects {
    /// Every effect: the default planted universe.
    pub const ALL: Effects = Effects((1 << Effect::ALL.len()) - 1);
    /// No effect: the null (martingale) universe.
    pub const NONE: Effects = Effects(0);
    /// The planted universes of `tradebot bench truth`: every effect but `gap_continuation`. The
    /// session continuing the gap runs against `gap_fills`, and on minute bars it wins by far
    /// (gap_fill's Sharpe ratio −16 with it, +0.7 without, docs/ground-truth.md), so with it
    /// the benchmark would judge `gap_fill` on a universe whose effect for it is negative.
    pub const FINDABLE: Effects = Effects::ALL.without(Effect::GapContinuation);

    /// True when `effect` is planted.
    pub const fn has(self, effect: Effect) -> bool {
        self.0 & effect.bit() != 0
    }

    /// This set with `effect` added.
    pub const fn with(self, effect: Effect) -> Effects {
        Effects(self.0 | effect.bit())
    }

    /// This set without `effect`.
    pub const fn without(self, effect: Effect) -> Effects {
        Effects(self.0 & !effect.bit())
    }

    /// The planted effects, in table order.
    pub fn iter(self) -> impl Iterator<Item = Effect> {
        Effect::ALL.into_iter().filter(move |&e| self.has(e))
    }
}

impl Default for Effects {
    /// [`Effects::ALL`].
    fn default() -> Self {
        Effects::ALL
    }
}

impl fmt::Display for Effects {
    /// `all`, `none`, or the names joined by commas.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Effects::ALL => f.write_str("all"),
            Effects::NONE => f.write_str("none"),
            set => f.write_str(&set.iter().map(Effect::name).collect::<Vec<_>>().join(",")),
        }
    }
}

impl fmt::Debug for Effects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Effects({self})")
    }
}

impl FromStr for Effects {
    type Err = UnknownEffect;

    /// `all`, `none`, or a comma-separated list of effect names (spaces around names allowed).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "all" => Ok(Effects::ALL),
            "none" => Ok(Effects::NONE),
            list => list.split(',').try_fold(Effects::NONE, |set, name| Ok(set.with(name.trim().parse()?))),
        }
    }
}

impl Serialize for Effects {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Effects {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How strongly one planted effect is planted: a multiplier of its size (1, the default, is
/// the model of [`crate::synth`] bit for bit). What it scales, per effect:
///
/// | effect | scaled by the strength `K` |
/// |---|---|
/// | `regime_drift` | the regimes' market drifts and the defensives' drifts |
/// | `sector_momentum` | the spread of the sectors' wandering drifts |
/// | `mean_reversion` | the share of mean-reverting stocks (15 %·K, at most 60 %) |
/// | `trending` | the spread of the trending stocks' persistent drifts |
/// | `premium` | the size, value and quality premia |
/// | `gap_fills` | the overnight noise the session reverses, and the chance that a jump partly fills (50 %·K, at most 100 %) |
///
/// `gap_continuation`, `anchor` and `convexity` are not scaled ([`Effect::is_scaled`]). A null
/// universe has no planted effect, so the strength changes nothing there.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Strength(f64);

/// A `--strength` that cannot be read: a multiplier that is not a positive, finite number, or a
/// list entry that names no scaled effect.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BadStrength {
    /// The multiplier is not a positive, finite number.
    #[error("the strength of the planted effects must be a positive number (1 = as documented), got `{0}`")]
    NotPositive(String),
    /// A list entry's multiplier is not a positive, finite number.
    #[error("the strength of `{effect}` must be a positive number (1 = as documented), got `{value}`")]
    NotPositiveFor {
        /// The effect named.
        effect: Effect,
        /// The multiplier given.
        value: String,
    },
    /// A list entry is not `effect=K`.
    #[error(
        "`{0}` is not `effect=K`; expected one multiplier `K` for every effect or a list such as `mean_reversion=3,premium=2.5`"
    )]
    NotAPair(String),
    /// A list entry names no effect.
    #[error(
        "unknown planted effect `{0}` in the strength list; expected a comma-separated list of `effect=K` with effects from: {scaled}",
        scaled = scaled()
    )]
    Unknown(String),
    /// A list entry names an effect that has no strength.
    #[error("`{0}` has no strength to scale; a strength list names effects from: {scaled}", scaled = scaled())]
    NotScaled(Effect),
}

fn scaled() -> String {
    Effect::SCALED.iter().map(|e| e.name()).collect::<Vec<_>>().join(", ")
}

impl Effect {
    /// The effects a strength scales, in table order.
    pub const SCALED: [Effect; 6] = [
        Effect::RegimeDrift,
        Effect::SectorMomentum,
        Effect::MeanReversion,
        Effect::Trending,
        Effect::Premium,
        Effect::GapFills,
    ];

    /// True when a strength scales this effect (see [`Strength`]): one of [`Effect::SCALED`].
    pub fn is_scaled(self) -> bool {
        Effect::SCALED.contains(&self)
    }
}

impl Strength {
    /// The documented model.
    pub const ONE: Strength = Strength(1.0);

    /// `k` as a strength; an error unless it is positive and finite.
    pub fn new(k: f64) -> Result<Strength, BadStrength> {
        if k.is_finite() && k > 0.0 { Ok(Strength(k)) } else { Err(BadStrength::NotPositive(k.to_string())) }
    }

    /// The multiplier.
    pub const fn get(self) -> f64 {
        self.0
    }

    /// `base · K`, capped at `cap` (for shares and probabilities).
    pub fn share(self, base: f64, cap: f64) -> f64 {
        (base * self.0).min(cap)
    }
}

impl Eq for Strength {}

impl Default for Strength {
    /// [`Strength::ONE`].
    fn default() -> Self {
        Strength::ONE
    }
}

impl fmt::Display for Strength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Strength {
    type Err = BadStrength;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<f64>()
            .ok()
            .and_then(|k| Strength::new(k).ok())
            .ok_or_else(|| BadStrength::NotPositive(s.to_string()))
    }
}

impl TryFrom<f64> for Strength {
    type Error = BadStrength;

    fn try_from(k: f64) -> Result<Self, Self::Error> {
        Strength::new(k)
    }
}

impl From<Strength> for f64 {
    fn from(s: Strength) -> f64 {
        s.0
    }
}

/// Each planted effect's [`Strength`]: one `K` for every effect (`--strength 3`), or named
/// effects at their own `K` and the rest at 1 (`--strength mean_reversion=3,premium=2.5`), so
/// one effect can be made stronger without making the others stronger too (at 3× for every
/// effect, the trending names' drifts defeat `mean_reversion`'s dip-buying).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strengths([Strength; Effect::ALL.len()]);

impl Strengths {
    /// Every effect as documented.
    pub const ONE: Strengths = Strengths([Strength::ONE; Effect::ALL.len()]);

    /// `k` for every scaled effect.
    pub fn uniform(k: Strength) -> Strengths {
        Effect::SCALED.into_iter().fold(Strengths::ONE, |s, e| s.with(e, k))
    }

    /// `effect`'s strength (1 for an effect no strength scales).
    pub const fn of(self, effect: Effect) -> Strength {
        self.0[effect as usize]
    }

    /// These strengths with `effect` at `k` (an effect no strength scales stays at 1).
    pub fn with(mut self, effect: Effect, k: Strength) -> Strengths {
        if effect.is_scaled() {
            self.0[effect as usize] = k;
        }
        self
    }

    /// The one `K` of every scaled effect, `None` when they differ.
    pub fn single(self) -> Option<Strength> {
        let k = self.of(Effect::SCALED[0]);
        Effect::SCALED.iter().all(|&e| self.of(e) == k).then_some(k)
    }

    /// The scaled effects whose strength is not 1, with it, in table order.
    pub fn named(self) -> impl Iterator<Item = (Effect, Strength)> {
        Effect::SCALED.into_iter().map(move |e| (e, self.of(e))).filter(|&(_, k)| k != Strength::ONE)
    }

    /// How a report names these strengths after the effects: empty at 1, ` at 4× strength`, or
    /// ` with mean_reversion at 3× and premium at 2.5× strength (the rest at 1×)`.
    pub fn phrase(self) -> String {
        match self.single() {
            Some(Strength::ONE) => String::new(),
            Some(k) => format!(" at {k}× strength"),
            None => {
                let named: Vec<String> = self.named().map(|(e, k)| format!("{e} at {k}×")).collect();
                let (last, rest) = named.split_last().expect("strengths that differ name one effect");
                let list =
                    if rest.is_empty() { last.clone() } else { format!("{} and {last}", rest.join(", ")) };
                format!(" with {list} strength (the rest at 1×)")
            }
        }
    }
}

impl Default for Strengths {
    /// [`Strengths::ONE`].
    fn default() -> Self {
        Strengths::ONE
    }
}

impl From<Strength> for Strengths {
    fn from(k: Strength) -> Self {
        Strengths::uniform(k)
    }
}

impl fmt::Display for Strengths {
    /// `K` when every effect has the same, else the effects not at 1 as `effect=K,…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.single() {
            Some(k) => write!(f, "{k}"),
            None => {
                let named: Vec<String> = self.named().map(|(e, k)| format!("{e}={k}")).collect();
                f.write_str(&named.join(","))
            }
        }
    }
}

impl FromStr for Strengths {
    type Err = BadStrength;

    /// `K` (every scaled effect) or a comma-separated list `effect=K` (the rest at 1).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !s.contains('=') {
            return s.parse::<Strength>().map(Strengths::uniform);
        }
        s.split(',').try_fold(Strengths::ONE, |set, entry| {
            let (name, value) =
                entry.split_once('=').ok_or_else(|| BadStrength::NotAPair(entry.trim().into()))?;
            let effect: Effect = name.trim().parse().map_err(|_| BadStrength::Unknown(name.trim().into()))?;
            if !effect.is_scaled() {
                return Err(BadStrength::NotScaled(effect));
            }
            let k = value
                .parse::<Strength>()
                .map_err(|_| BadStrength::NotPositiveFor { effect, value: value.trim().into() })?;
            Ok(set.with(effect, k))
        })
    }
}

impl Serialize for Strengths {
    /// One number when every effect has the same `K` (as notes written before per-effect
    /// strengths), else the list `effect=K,…`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.single() {
            Some(k) => serializer.serialize_f64(k.get()),
            None => serializer.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Strengths {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            One(f64),
            List(String),
        }
        match Written::deserialize(deserializer)? {
            Written::One(k) => Strength::new(k).map(Strengths::uniform),
            Written::List(text) => text.parse(),
        }
        .map_err(serde::de::Error::custom)
    }
}
