//! A strategy genome: entry rule, exit rule, sizing gene and protective-exit genes.
//!
//! It maps onto the kernel directly: an entry bar becomes `Signal::Enter(size)`, an exit bar
//! `Signal::Exit` (an exit wins a bar where both fire), and the stop-loss, take-profit and
//! time-stop genes become the simulator's [`ExitRules`]. Long-only by construction: there is
//! no way to express a short entry.

use kernel::sim::{ExitRules, Strength, TradeRules};
use kernel::strategy::{Cadence, MarketData, SignalSet, SignalSource, StrategyError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::tree::Bool;

/// Smallest position size gene (share of the sizing budget).
pub const MIN_SIZE: f64 = 0.05;
/// Stop-loss genes lie in this range (fraction below the entry price).
pub const STOP_LOSS: (f64, f64) = (0.005, 0.5);
/// Take-profit genes lie in this range (fraction above the entry price).
pub const TAKE_PROFIT: (f64, f64) = (0.005, 2.0);
/// Time-stop genes lie in this range (bars held).
pub const TIME_STOP: (u16, u16) = (1, 250);

/// One GP strategy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Genome {
    /// Enter (when flat) at bars where this is true.
    pub entry: Bool,
    /// Exit (when long) at bars where this is true.
    pub exit: Bool,
    /// The protective-exit and sizing genes.
    pub genes: Genes,
}

/// The numeric genes of a genome, each validated on construction.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Genes {
    /// Share of the sizing budget an entry uses, in `[MIN_SIZE, 1]`.
    pub size: f64,
    /// Stop-loss below the entry price, within [`STOP_LOSS`].
    pub stop_loss: Option<f64>,
    /// Take-profit above the entry price, within [`TAKE_PROFIT`].
    pub take_profit: Option<f64>,
    /// Bars after which a position is closed, within [`TIME_STOP`].
    pub time_stop: Option<u16>,
}

impl Eq for Genes {}
impl std::hash::Hash for Genes {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.size.to_bits().hash(state);
        self.stop_loss.map(f64::to_bits).hash(state);
        self.take_profit.map(f64::to_bits).hash(state);
        self.time_stop.hash(state);
    }
}

impl Default for Genes {
    /// Full size, no protective exits.
    fn default() -> Self {
        Genes { size: 1.0, stop_loss: None, take_profit: None, time_stop: None }
    }
}

impl Genes {
    /// Why these genes are out of range, naming the gene; `Ok` when valid.
    pub fn check(&self) -> Result<(), String> {
        let within = |x: f64, (lo, hi): (f64, f64)| x.is_finite() && (lo..=hi).contains(&x);
        if !within(self.size, (MIN_SIZE, 1.0)) {
            return Err(format!("size {} is outside [{MIN_SIZE}, 1]", self.size));
        }
        if let Some(s) = self.stop_loss.filter(|&s| !within(s, STOP_LOSS)) {
            return Err(format!("stop-loss {s} is outside [{}, {}]", STOP_LOSS.0, STOP_LOSS.1));
        }
        if let Some(t) = self.take_profit.filter(|&t| !within(t, TAKE_PROFIT)) {
            return Err(format!("take-profit {t} is outside [{}, {}]", TAKE_PROFIT.0, TAKE_PROFIT.1));
        }
        if let Some(m) = self.time_stop.filter(|m| !(TIME_STOP.0..=TIME_STOP.1).contains(m)) {
            return Err(format!("time-stop {m} is outside {}..={}", TIME_STOP.0, TIME_STOP.1));
        }
        Ok(())
    }

    /// The entry strength of the size gene.
    pub fn strength(&self) -> Strength {
        Strength::new(self.size).expect("a checked size is in (0, 1]")
    }

    /// The kernel's protective exits of these genes (no trailing stop).
    pub fn exits(&self) -> ExitRules {
        ExitRules {
            stop_loss: self.stop_loss,
            take_profit: self.take_profit,
            trailing_stop: None,
            max_bars: self.time_stop.map(usize::from),
        }
    }
}

impl Genome {
    /// Number of nodes of both rules.
    pub fn size(&self) -> usize {
        self.entry.size() + self.exit.size()
    }

    /// Depth of the deeper rule.
    pub fn depth(&self) -> usize {
        self.entry.depth().max(self.exit.depth())
    }

    /// `base` with this genome's protective exits (the account's costs and sizing are kept).
    pub fn rules(&self, base: TradeRules) -> TradeRules {
        TradeRules { exits: self.genes.exits(), ..base }
    }

    /// The genome in its compact binary form (postcard).
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(&Repr::of(self)).expect("a genome always serialises")
    }

    /// A genome from [`Genome::to_bytes`], checking its genes and its shape: at most
    /// [`crate::sexpr::MAX_TEXT`] bytes, trees at most [`crate::tree::MAX_DECODE_DEPTH`] deep
    /// (checked while decoding, so a hostile input cannot overflow the stack) and at most
    /// [`crate::sexpr::MAX_NODES`] nodes — the bounds of the text form, so every genome
    /// decoded also prints and parses back.
    pub fn from_bytes(bytes: &[u8]) -> Result<Genome, String> {
        if bytes.len() > crate::sexpr::MAX_TEXT {
            return Err(format!("{} bytes, above the limit of {}", bytes.len(), crate::sexpr::MAX_TEXT));
        }
        crate::tree::too_deep();
        let repr = postcard::from_bytes::<Repr>(bytes).map_err(|e| {
            if crate::tree::too_deep() { crate::tree::too_deep_message() } else { e.to_string() }
        })?;
        repr.genome()
    }

    /// A stable 64-bit identity: xxh3 of the binary form.
    pub fn key(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&self.to_bytes())
    }
}

/// The binary layout (derived), also what a non-human-readable serde format sees.
#[derive(Serialize, Deserialize)]
struct Repr {
    entry: Bool,
    exit: Bool,
    genes: Genes,
}

impl Repr {
    fn of(g: &Genome) -> Repr {
        Repr { entry: g.entry.clone(), exit: g.exit.clone(), genes: g.genes }
    }

    /// The genome, if its genes are valid and its rules within [`crate::sexpr::MAX_NODES`].
    fn genome(self) -> Result<Genome, String> {
        self.genes.check()?;
        let g = Genome { entry: self.entry, exit: self.exit, genes: self.genes };
        if g.size() > crate::sexpr::MAX_NODES {
            return Err(format!("{} nodes, above the limit of {}", g.size(), crate::sexpr::MAX_NODES));
        }
        Ok(g)
    }
}

/// Human-readable formats (JSON, TOML) carry the s-expression text; binary ones (postcard)
/// the compact tree.
impl Serialize for Genome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { s.serialize_str(&self.to_string()) } else { Repr::of(self).serialize(s) }
    }
}

impl<'de> Deserialize<'de> for Genome {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Genome, D::Error> {
        use serde::de::Error;
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            text.parse().map_err(|e: crate::sexpr::ParseError| D::Error::custom(e.to_string()))
        } else {
            Repr::deserialize(d)?.genome().map_err(D::Error::custom)
        }
    }
}

impl Genome {
    /// Genotypic distance in `[0, 1]`: the Jaccard distance between the sets of distinct
    /// subtrees of the two genomes' rules (weight 0.8) and the mean normalised difference of
    /// their genes (weight 0.2). 0 for equal genomes.
    pub fn distance(&self, other: &Genome) -> f64 {
        let (a, b) = (self.subtree_hashes(), other.subtree_hashes());
        let (mut i, mut j, mut common) = (0, 0, 0usize);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    common += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        let union = a.len() + b.len() - common;
        let trees = if union == 0 { 0.0 } else { 1.0 - common as f64 / union as f64 };
        let (g, h) = (&self.genes, &other.genes);
        let level = |x: Option<f64>, y: Option<f64>, span: f64| match (x, y) {
            (Some(x), Some(y)) => ((x - y).abs() / span).min(1.0),
            (None, None) => 0.0,
            _ => 1.0,
        };
        let genes = ((g.size - h.size).abs()
            + level(g.stop_loss, h.stop_loss, STOP_LOSS.1)
            + level(g.take_profit, h.take_profit, TAKE_PROFIT.1)
            + level(g.time_stop.map(f64::from), h.time_stop.map(f64::from), f64::from(TIME_STOP.1)))
            / 4.0;
        0.8 * trees + 0.2 * genes
    }

    /// Sorted, distinct hashes of every subtree of both rules (entry and exit kept apart).
    fn subtree_hashes(&self) -> Vec<u64> {
        use std::hash::{Hash, Hasher};
        fn hash(tag: u8, x: &impl Hash) -> u64 {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            tag.hash(&mut h);
            x.hash(&mut h);
            h.finish()
        }
        fn num(tag: u8, n: &crate::tree::Num, out: &mut Vec<u64>) {
            use crate::tree::Num;
            out.push(hash(tag, n));
            match n {
                Num::Un(_, a) | Num::Win(_, _, a) => num(tag, a, out),
                Num::Bin(_, a, b) => {
                    num(tag, a, out);
                    num(tag, b, out);
                }
                _ => {}
            }
        }
        fn boolean(tag: u8, p: &Bool, out: &mut Vec<u64>) {
            out.push(hash(tag, p));
            match p {
                Bool::Const(_) => {}
                Bool::Cmp(_, a, b) => {
                    num(tag, a, out);
                    num(tag, b, out);
                }
                Bool::Logic(_, p, q) => {
                    boolean(tag, p, out);
                    boolean(tag, q, out);
                }
                Bool::Not(p) => boolean(tag, p, out),
            }
        }
        let mut out = Vec::with_capacity(self.size());
        boolean(0, &self.entry, &mut out);
        boolean(1, &self.exit, &mut out);
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The name a GP strategy's legs trade under: its sleeve in a portfolio and in the live bridge.
pub const SLEEVE: &str = "gp";

/// A genome is a signal source like a bound kernel family: the promoted strategies and the live
/// bridge run it through this trait, parsed once.
impl SignalSource for Genome {
    fn name(&self) -> &str {
        SLEEVE
    }

    fn signals(&self, data: &MarketData) -> Result<SignalSet, StrategyError> {
        crate::eval::signals(self, data).map_err(|e| StrategyError::Source(Box::new(e)))
    }

    fn cadence(&self) -> Option<Cadence> {
        // A daily per-symbol rule, like the per-symbol families: 10:00 New York.
        Some(Cadence::daily(10, 0))
    }

    /// The genome's stop-loss, take-profit and time-stop genes.
    fn own_exits(&self) -> Option<ExitRules> {
        Some(self.genes.exits())
    }
}
