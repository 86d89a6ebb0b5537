//! Random genomes and variation: ramped half-and-half initialisation, subtree crossover, and
//! point, subtree and hoist mutation, all typed (a slot only ever receives a subtree of its own
//! type), all within the depth and size limits, every result simplified.

use rand::Rng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use crate::genome::{Genes, Genome, MIN_SIZE, STOP_LOSS, TAKE_PROFIT, TIME_STOP};
use crate::simplify::simplify;
use crate::tree::{
    BinOp, Bool, CmpOp, Const, Field, Indicator, Logic, MAX_WINDOW, Num, Subtree, Type, UnOp, WinOp, Window,
    node_types, replace, subtree,
};

/// Variation attempts before a child that breaks the limits is given up on (the parent is kept).
const ATTEMPTS: usize = 8;

/// Most nodes a rule may have: two such rules print within [`crate::sexpr::MAX_NODES`], so
/// every genome evolution makes reads back from its text.
pub const MAX_RULE_NODES: usize = 1000;

/// Shape limits and operator probabilities of the GP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GpConfig {
    /// Smallest depth of a random rule at initialisation (ramped from here).
    pub init_min_depth: usize,
    /// Largest depth of a random rule at initialisation.
    pub init_max_depth: usize,
    /// No rule deeper than this (a child that would be is discarded).
    pub max_depth: usize,
    /// No rule with more nodes than this.
    pub max_nodes: usize,
    /// Mutation: share of point mutations (the rest split between subtree and hoist).
    pub point_mutation: f64,
    /// Mutation: share of hoist mutations.
    pub hoist_mutation: f64,
    /// Whether genomes carry stop-loss / take-profit / time-stop genes (else none ever).
    pub protective_exits: bool,
    /// Whether the `regime` terminal is offered (set from the data: a VIX-like index).
    #[serde(skip)]
    pub regime: bool,
    /// Whether cross-sectional `rank` is offered (set from the data: several symbols).
    #[serde(skip)]
    pub rank: bool,
}

impl Default for GpConfig {
    fn default() -> Self {
        GpConfig {
            init_min_depth: 2,
            init_max_depth: 4,
            max_depth: 7,
            max_nodes: 40,
            point_mutation: 0.5,
            hoist_mutation: 0.15,
            protective_exits: true,
            regime: false,
            rank: false,
        }
    }
}

impl GpConfig {
    /// Why the configuration is unusable, naming the key; `Ok` when valid.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(2..=self.max_depth).contains(&self.init_min_depth) {
            return Err(("init_min_depth", format!("must be in 2..=max_depth, got {}", self.init_min_depth)));
        }
        if !(self.init_min_depth..=self.max_depth).contains(&self.init_max_depth) {
            return Err((
                "init_max_depth",
                format!("must be in init_min_depth..=max_depth, got {}", self.init_max_depth),
            ));
        }
        if !(2..=20).contains(&self.max_depth) {
            return Err(("max_depth", format!("must be in 2..=20, got {}", self.max_depth)));
        }
        if !(3..=MAX_RULE_NODES).contains(&self.max_nodes) {
            return Err(("max_nodes", format!("must be in 3..={MAX_RULE_NODES}, got {}", self.max_nodes)));
        }
        for (key, p) in [("point_mutation", self.point_mutation), ("hoist_mutation", self.hoist_mutation)] {
            if !(0.0..=1.0).contains(&p) {
                return Err((key, format!("must be a probability in [0, 1], got {p}")));
            }
        }
        if self.point_mutation + self.hoist_mutation > 1.0 {
            return Err(("hoist_mutation", "point_mutation + hoist_mutation must not exceed 1".into()));
        }
        Ok(())
    }

    fn fits(&self, p: &Bool) -> bool {
        p.depth() <= self.max_depth && p.size() <= self.max_nodes
    }

    /// A random genome: both rules by ramped half-and-half (depth drawn from the ramp, grow or
    /// full with equal odds), random genes; simplified, within the limits.
    pub fn random(&self, rng: &mut Pcg64) -> Genome {
        let rule = |rng: &mut Pcg64| loop {
            let depth = rng.random_range(self.init_min_depth..=self.init_max_depth);
            let full = rng.random_bool(0.5);
            let p = crate::simplify::simplify_bool(&self.boolean(depth, full, rng));
            // A constant rule is a degenerate strategy; draw again.
            if !matches!(p, Bool::Const(_)) && self.fits(&p) {
                return p;
            }
        };
        let entry = rule(rng);
        let exit = rule(rng);
        Genome { entry, exit, genes: self.random_genes(rng) }
    }

    fn random_genes(&self, rng: &mut Pcg64) -> Genes {
        let mut g = Genes { size: round(rng.random_range(0.2..=1.0), 0.05), ..Genes::default() };
        if self.protective_exits {
            g.stop_loss = rng.random_bool(0.5).then(|| round(log_uniform(rng, STOP_LOSS), 0.005));
            g.take_profit = rng.random_bool(0.3).then(|| round(log_uniform(rng, TAKE_PROFIT), 0.005));
            g.time_stop = rng.random_bool(0.4).then(|| window_draw(rng, TIME_STOP.0, 60));
        }
        g
    }

    /// A random boolean tree of depth at most `depth` (exactly, when `full`).
    pub(crate) fn boolean(&self, depth: usize, full: bool, rng: &mut Pcg64) -> Bool {
        // A comparison needs two numeric children: depth 2 is the smallest useful rule.
        if depth <= 2 || (!full && rng.random_bool(0.4)) {
            return self.comparison(depth.max(2), full, rng);
        }
        match rng.random_range(0..10) {
            0..=5 => self.comparison(depth, full, rng),
            6..=8 => {
                let op = if rng.random_bool(0.5) { Logic::And } else { Logic::Or };
                Bool::Logic(
                    op,
                    Box::new(self.boolean(depth - 1, full, rng)),
                    Box::new(self.boolean(depth - 1, full, rng)),
                )
            }
            _ => Bool::Not(Box::new(self.boolean(depth - 1, full, rng))),
        }
    }

    fn comparison(&self, depth: usize, full: bool, rng: &mut Pcg64) -> Bool {
        let op = CmpOp::DRAWN[rng.random_range(0..CmpOp::DRAWN.len())];
        let a = self.num(depth - 1, full, rng);
        // Comparing with a constant is the commonest useful rule: favour it.
        let b =
            if !full && rng.random_bool(0.35) { self.constant(rng) } else { self.num(depth - 1, full, rng) };
        Bool::Cmp(op, Box::new(a), Box::new(b))
    }

    /// A random numeric tree of depth at most `depth` (exactly, when `full`).
    fn num(&self, depth: usize, full: bool, rng: &mut Pcg64) -> Num {
        let terminal = depth <= 1 || (!full && rng.random_bool(0.45));
        if terminal {
            return self.terminal(rng);
        }
        let child = |rng: &mut Pcg64| Box::new(self.num(depth - 1, full, rng));
        match rng.random_range(0..10) {
            0..=4 => {
                let op = BinOp::ALL[rng.random_range(0..BinOp::ALL.len())];
                let a = child(rng);
                // A constant operand (x × 1.02, x − 50) is often what a rule needs.
                let b = if !full && rng.random_bool(0.3) { Box::new(self.constant(rng)) } else { child(rng) };
                Num::Bin(op, a, b)
            }
            5..=7 => {
                let op = WinOp::ALL[rng.random_range(0..WinOp::ALL.len())];
                Num::Win(op, self.window(op.min_window(), rng, op == WinOp::Lag), child(rng))
            }
            _ => {
                let op = if self.rank && rng.random_bool(0.5) { UnOp::Rank } else { UnOp::Abs };
                Num::Un(op, child(rng))
            }
        }
    }

    fn terminal(&self, rng: &mut Pcg64) -> Num {
        match rng.random_range(0..20) {
            0..=6 => Num::Field(Field::ALL[rng.random_range(0..4)]),
            7 => Num::Field(Field::Volume),
            8..=15 => {
                let ind = Indicator::ALL[rng.random_range(0..Indicator::ALL.len())];
                let field = if ind.takes_field() { Field::ALL[rng.random_range(0..4)] } else { Field::Close };
                Num::Ind(ind, field, self.window(ind.min_window(), rng, false))
            }
            16 if self.regime => Num::Regime,
            _ => self.constant(rng),
        }
    }

    /// A constant on one of the scales rules compare against: small signed numbers, ratios
    /// near 1, percentages (rates of change), oscillator levels.
    fn constant(&self, rng: &mut Pcg64) -> Num {
        let x = match rng.random_range(0..20) {
            0..=6 => round(rng.random_range(-2.0..=2.0), 0.01),
            7..=11 => round(rng.random_range(0.9..=1.1), 0.005),
            12..=14 => round(rng.random_range(-10.0..=10.0), 0.5),
            _ => round(rng.random_range(10.0..=90.0), 1.0),
        };
        Num::Const(Const::new(x).unwrap_or(Const::new(1.0).expect("finite")))
    }

    /// A window: log-uniform from `min` up to 200 (lags up to 20).
    fn window(&self, min: u16, rng: &mut Pcg64, lag: bool) -> Window {
        let max = if lag { 20 } else { 200 };
        Window::new(window_draw(rng, min, max)).expect("drawn within range")
    }

    /// Subtree crossover: a random node of one of `a`'s rules is replaced by a random node of
    /// the same type from `b`'s corresponding rule; each gene comes from either parent. A child
    /// over the limits is drawn again, and after [`ATTEMPTS`] a copy of `a` is returned.
    pub fn crossover(&self, a: &Genome, b: &Genome, rng: &mut Pcg64) -> Genome {
        let mut genes = a.genes;
        if rng.random_bool(0.5) {
            genes.size = b.genes.size;
        }
        if rng.random_bool(0.5) {
            genes.stop_loss = b.genes.stop_loss;
        }
        if rng.random_bool(0.5) {
            genes.take_profit = b.genes.take_profit;
        }
        if rng.random_bool(0.5) {
            genes.time_stop = b.genes.time_stop;
        }
        let on_entry = rng.random_bool(0.5);
        let (target, donor) = if on_entry { (&a.entry, &b.entry) } else { (&a.exit, &b.exit) };
        for _ in 0..ATTEMPTS {
            let at = pick_node(target, None, rng);
            let ty = node_types(target)[at].0;
            let from = pick_node(donor, Some(ty), rng);
            if node_types(donor)[from].0 != ty {
                continue;
            }
            let mut rule = target.clone();
            let piece = subtree(donor, from).expect("a node of the donor");
            if replace(&mut rule, at, piece) && self.fits(&rule) {
                let (entry, exit) = if on_entry { (rule, a.exit.clone()) } else { (a.entry.clone(), rule) };
                return simplify(&Genome { entry, exit, genes });
            }
        }
        Genome { genes, ..a.clone() }
    }

    /// Mutation: each rule is mutated with probability `rate` (point, subtree or hoist, by the
    /// configured shares), each gene with probability `rate`.
    pub fn mutate(&self, g: &mut Genome, rate: f64, rng: &mut Pcg64) {
        let rate = rate.clamp(0.0, 1.0);
        for on_entry in [true, false] {
            if rng.random_bool(rate) {
                let rule = if on_entry { &g.entry } else { &g.exit };
                if let Some(m) = self.mutate_rule(rule, rng) {
                    *(if on_entry { &mut g.entry } else { &mut g.exit }) = m;
                }
            }
        }
        self.mutate_genes(&mut g.genes, rate, rng);
        *g = simplify(g);
    }

    fn mutate_rule(&self, rule: &Bool, rng: &mut Pcg64) -> Option<Bool> {
        for _ in 0..ATTEMPTS {
            let r: f64 = rng.random();
            let child = if r < self.point_mutation {
                self.point(rule, rng)
            } else if r < self.point_mutation + self.hoist_mutation {
                hoist(rule, rng)
            } else {
                self.subtree_mutation(rule, rng)
            };
            let child = crate::simplify::simplify_bool(&child);
            if self.fits(&child) && !matches!(child, Bool::Const(_)) {
                return Some(child);
            }
        }
        None
    }

    /// Replaces a random node with a fresh random subtree of its type (depth 1 to 3).
    fn subtree_mutation(&self, rule: &Bool, rng: &mut Pcg64) -> Bool {
        let at = pick_node(rule, None, rng);
        let depth = rng.random_range(1..=3);
        let fresh = match node_types(rule)[at].0 {
            Type::Num => Subtree::Num(self.num(depth, false, rng)),
            Type::Bool => Subtree::Bool(self.boolean(depth + 1, false, rng)),
        };
        let mut out = rule.clone();
        replace(&mut out, at, fresh);
        out
    }

    /// Changes one node in place: another operator of the same arity and type, another window,
    /// field or indicator, or a nudged constant; children are kept.
    fn point(&self, rule: &Bool, rng: &mut Pcg64) -> Bool {
        let at = pick_node(rule, None, rng);
        let changed = match subtree(rule, at).expect("a node of the rule") {
            Subtree::Num(n) => Subtree::Num(match n {
                Num::Field(_) => Num::Field(Field::ALL[rng.random_range(0..Field::ALL.len())]),
                Num::Const(c) => {
                    let x = c.get();
                    let nudged = if rng.random_bool(0.5) {
                        x * (1.0 + 0.1 * (rng.random::<f64>() - 0.5))
                    } else {
                        x + 0.1 * (rng.random::<f64>() - 0.5)
                    };
                    Num::Const(Const::new(round(nudged, 0.001)).unwrap_or(c))
                }
                Num::Regime => self.terminal(rng),
                Num::Ind(ind, field, w) => match rng.random_range(0..3) {
                    0 => Num::Ind(ind, field, nudge_window(w, ind.min_window(), rng)),
                    1 => Num::Ind(ind, Field::ALL[rng.random_range(0..4)], w),
                    _ => {
                        let other = Indicator::ALL[rng.random_range(0..Indicator::ALL.len())];
                        Num::Ind(
                            other,
                            field,
                            Window::new(w.raw().max(other.min_window())).expect("in range"),
                        )
                    }
                },
                Num::Un(_, a) => {
                    let ops: Vec<UnOp> =
                        UnOp::ALL.into_iter().filter(|&o| o != UnOp::Rank || self.rank).collect();
                    Num::Un(ops[rng.random_range(0..ops.len())], a)
                }
                Num::Win(op, w, a) => {
                    if rng.random_bool(0.5) {
                        Num::Win(op, nudge_window(w, op.min_window(), rng), a)
                    } else {
                        let other = WinOp::ALL[rng.random_range(0..WinOp::ALL.len())];
                        Num::Win(other, Window::new(w.raw().max(other.min_window())).expect("in range"), a)
                    }
                }
                Num::Bin(_, a, b) => Num::Bin(BinOp::ALL[rng.random_range(0..BinOp::ALL.len())], a, b),
            }),
            Subtree::Bool(p) => Subtree::Bool(match p {
                Bool::Const(b) => Bool::Const(!b),
                Bool::Cmp(_, a, b) => Bool::Cmp(CmpOp::DRAWN[rng.random_range(0..CmpOp::DRAWN.len())], a, b),
                Bool::Logic(op, p, q) => {
                    Bool::Logic(if op == Logic::And { Logic::Or } else { Logic::And }, p, q)
                }
                Bool::Not(p) => *p,
            }),
        };
        let mut out = rule.clone();
        replace(&mut out, at, changed);
        out
    }

    fn mutate_genes(&self, g: &mut Genes, rate: f64, rng: &mut Pcg64) {
        if rng.random_bool(rate) {
            g.size =
                round((g.size + 0.2 * (rng.random::<f64>() - 0.5)).clamp(MIN_SIZE, 1.0), 0.05).max(MIN_SIZE);
        }
        if !self.protective_exits {
            return;
        }
        if rng.random_bool(rate) {
            g.stop_loss = toggle_or_nudge(g.stop_loss, STOP_LOSS, rng);
        }
        if rng.random_bool(rate) {
            g.take_profit = toggle_or_nudge(g.take_profit, TAKE_PROFIT, rng);
        }
        if rng.random_bool(rate) {
            g.time_stop = match g.time_stop {
                None => Some(window_draw(rng, TIME_STOP.0, 60)),
                Some(_) if rng.random_bool(0.3) => None,
                Some(m) => Some(
                    ((f64::from(m) * (0.7 + 0.6 * rng.random::<f64>())).round() as u16)
                        .clamp(TIME_STOP.0, TIME_STOP.1),
                ),
            };
        }
    }
}

/// Hoist: a random node is replaced by one of its own descendants of the same type (shrinks).
fn hoist(rule: &Bool, rng: &mut Pcg64) -> Bool {
    let types = node_types(rule);
    let sizes = node_sizes(rule);
    let at = pick_node(rule, None, rng);
    let ty = types[at].0;
    let inside: Vec<usize> = (at + 1..at + sizes[at]).filter(|&j| types[j].0 == ty).collect();
    let mut out = rule.clone();
    if !inside.is_empty() {
        let from = inside[rng.random_range(0..inside.len())];
        let piece = subtree(rule, from).expect("a descendant");
        replace(&mut out, at, piece);
    }
    out
}

/// Size of the subtree at each preorder index.
fn node_sizes(rule: &Bool) -> Vec<usize> {
    (0..node_types(rule).len())
        .map(|i| match subtree(rule, i).expect("in range") {
            Subtree::Num(n) => n.size(),
            Subtree::Bool(p) => p.size(),
        })
        .collect()
}

/// A random preorder index of `rule`, of type `ty` when given and present; operator nodes are
/// picked nine times in ten when there are any (Koza's bias against swapping leaves).
fn pick_node(rule: &Bool, ty: Option<Type>, rng: &mut Pcg64) -> usize {
    let types = node_types(rule);
    let sizes: Vec<bool> =
        (0..types.len()).map(|i| i + 1 < types.len() && types[i + 1].1 > types[i].1).collect();
    let of_type: Vec<usize> = (0..types.len()).filter(|&i| ty.is_none_or(|t| types[i].0 == t)).collect();
    let pool = if of_type.is_empty() { (0..types.len()).collect() } else { of_type };
    let inner: Vec<usize> = pool.iter().copied().filter(|&i| sizes[i]).collect();
    let from = if !inner.is_empty() && rng.random_bool(0.9) { &inner } else { &pool };
    from[rng.random_range(0..from.len())]
}

fn toggle_or_nudge(x: Option<f64>, (lo, hi): (f64, f64), rng: &mut Pcg64) -> Option<f64> {
    match x {
        None => Some(round(log_uniform(rng, (lo, hi.min(0.2))), 0.005).clamp(lo, hi)),
        Some(_) if rng.random_bool(0.3) => None,
        Some(v) => Some(round(v * (0.7 + 0.6 * rng.random::<f64>()), 0.005).clamp(lo, hi)),
    }
}

fn nudge_window(w: Window, min: u16, rng: &mut Pcg64) -> Window {
    let scaled = (f64::from(w.raw()) * (0.6 + 0.8 * rng.random::<f64>())).round() as u16;
    let step = if scaled == w.raw() {
        if rng.random_bool(0.5) { scaled + 1 } else { scaled.saturating_sub(1) }
    } else {
        scaled
    };
    Window::new(step.clamp(min, MAX_WINDOW)).expect("clamped into range")
}

fn window_draw(rng: &mut Pcg64, min: u16, max: u16) -> u16 {
    let x = log_uniform(rng, (f64::from(min), f64::from(max) + 0.999));
    (x.floor() as u16).clamp(min, max)
}

fn log_uniform(rng: &mut Pcg64, (lo, hi): (f64, f64)) -> f64 {
    (rng.random_range(lo.ln()..=hi.ln())).exp()
}

/// `x` rounded to a multiple of `step` (keeps printed genomes short and merges near-duplicates).
fn round(x: f64, step: f64) -> f64 {
    let r = (x / step).round() * step;
    // Printing then reparsing must give the same bits: go through the shortest decimal form.
    format!("{r:.6}").parse::<f64>().unwrap_or(r)
}
