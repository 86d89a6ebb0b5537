//! Evaluation: trees compiled into one shared DAG per batch and computed column by column.
//!
//! A batch (a generation's new genomes) is first hash-consed into one DAG: every distinct
//! subexpression across the whole batch becomes one node, its children before it, so the DAG's
//! node list is a flat program in dependency order. Each node is then computed at most once
//! per batch for every traded symbol (a whole column per operator — no per-bar tree walk):
//! nodes used by more than one parent (or genome) keep their column for the rest of the batch,
//! within a memory budget; the rest are computed into a temporary and dropped after use. The
//! [`Sharing`] figures say how much work the DAG saved.
//!
//! Leaves are never materialised: bar fields are borrowed from the market data, constants are
//! scalars fused into the operator's loop (`close > 30` is one loop), the regime is one column
//! broadcast to every symbol.
//!
//! Early exits: a numeric column that is entirely NaN or infinite becomes a NaN scalar, so the
//! operators above it short-circuit (a comparison with it is false everywhere, without
//! computing the other side); a boolean column that is constant becomes a flag, so `and` and
//! `or` skip their other side; a genome whose entry rule never fires skips its exit rule.
//!
//! No look-ahead: every operator at bar `t` reads bars `≤ t` (see [`crate::operators`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use kernel::regime::{Regime, RegimeRules};
use kernel::sim::{Signal, Strength};
use kernel::strategy::{LegSignals, MarketData, SignalSet};
use rayon::prelude::*;
use serde::Serialize;

use crate::genome::Genome;
use crate::operators::{self as ops, Operand};
use crate::tree::{BinOp, Bool, CmpOp, Const, Field, Indicator, Logic, Num, UnOp, WinOp, Window};

/// Default memory for shared columns of one batch.
pub const DEFAULT_CACHE_BYTES: usize = 256 << 20;

/// Market data a GP strategy cannot run on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// Only indices (or nothing) in the data.
    #[error("the data has no tradable symbol for a GP strategy")]
    NoTradable,
}

/// The data side of evaluation: the traded symbols' columns and the regime.
pub struct Evaluator<'d> {
    n: usize,
    legs: Vec<usize>,
    /// Per field (in [`Field::ALL`] order), one slice per traded symbol.
    cols: [Vec<&'d [f64]>; 5],
    /// Regime code per bar (0 calm … 3 crisis, NaN unknown), from a VIX-like index.
    regime: Option<Vec<f64>>,
    budget: usize,
    /// Indicator terminals computed in earlier batches, kept for the whole run (within half
    /// the budget): they recur generation after generation.
    indicators: Mutex<IndicatorCache>,
}

type IndicatorKey = (Indicator, Field, Window);

#[derive(Default)]
struct IndicatorCache {
    columns: HashMap<IndicatorKey, Arc<Vec<f64>>>,
    bytes: usize,
}

/// How much a batch's DAG saved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Sharing {
    /// Genomes in the batch.
    pub genomes: usize,
    /// Nodes of every tree of the batch, counted tree by tree.
    pub tree_nodes: usize,
    /// Distinct nodes after hash-consing (the DAG's size).
    pub distinct_nodes: usize,
    /// Operator nodes actually computed (leaves are free; early exits skip some).
    pub computed: usize,
}

impl Sharing {
    /// Share of tree nodes that were duplicates: `1 − distinct / tree nodes`.
    pub fn rate(&self) -> f64 {
        if self.tree_nodes == 0 { 0.0 } else { 1.0 - self.distinct_nodes as f64 / self.tree_nodes as f64 }
    }

    /// Adds another batch's figures.
    pub fn add(&mut self, other: &Sharing) {
        self.genomes += other.genomes;
        self.tree_nodes += other.tree_nodes;
        self.distinct_nodes += other.distinct_nodes;
        self.computed += other.computed;
    }
}

impl<'d> Evaluator<'d> {
    /// An evaluator over `data`'s tradable symbols; the regime comes from the first symbol
    /// whose ticker contains `VIX`, when there is one.
    pub fn new(data: &'d MarketData) -> Result<Self, EvalError> {
        let legs: Vec<usize> = data.tradable().collect();
        if legs.is_empty() {
            return Err(EvalError::NoTradable);
        }
        let symbols = data.symbols();
        let col = |f: Field| -> Vec<&'d [f64]> {
            legs.iter()
                .map(|&i| {
                    let b = &symbols[i].bars;
                    match f {
                        Field::Open => b.open(),
                        Field::High => b.high(),
                        Field::Low => b.low(),
                        Field::Close => b.close(),
                        Field::Volume => b.volume(),
                    }
                })
                .collect()
        };
        let regime = symbols.iter().find(|s| s.meta.symbol.to_ascii_uppercase().contains("VIX")).map(|s| {
            RegimeRules::default()
                .classify(s.bars.close())
                .into_iter()
                .map(|r| r.map_or(f64::NAN, regime_code))
                .collect()
        });
        Ok(Evaluator {
            n: data.len(),
            cols: Field::ALL.map(col),
            legs,
            regime,
            budget: DEFAULT_CACHE_BYTES,
            indicators: Mutex::default(),
        })
    }

    /// Caps the memory shared columns may hold during one batch (beyond it, a shared node is
    /// recomputed by each user instead of kept).
    pub fn with_cache_budget(mut self, bytes: usize) -> Self {
        self.budget = bytes;
        self
    }

    /// The column of an indicator terminal over every traded symbol: from the run-long cache,
    /// or computed (and kept while the cache has room). The flag says whether it was computed.
    fn indicator(&self, key: IndicatorKey) -> (Arc<Vec<f64>>, bool) {
        if let Some(column) = self.indicators.lock().expect("not poisoned").columns.get(&key) {
            return (Arc::clone(column), false);
        }
        let (ind, field, w) = key;
        let n = self.n;
        let mut out = vec![0.0; n * self.legs.len()];
        for (k, row) in out.chunks_exact_mut(n.max(1)).enumerate().take(self.legs.len()) {
            let bars = ops::Bars {
                high: self.cols[Field::High as usize][k],
                low: self.cols[Field::Low as usize][k],
                close: self.cols[Field::Close as usize][k],
                volume: self.cols[Field::Volume as usize][k],
            };
            ops::indicator(ind, w.get(), self.cols[field as usize][k], bars, row);
        }
        let column = Arc::new(out);
        let mut cache = self.indicators.lock().expect("not poisoned");
        let bytes = column.len() * 8;
        if cache.bytes + bytes <= self.budget / 2 && !cache.columns.contains_key(&key) {
            cache.bytes += bytes;
            cache.columns.insert(key, Arc::clone(&column));
        }
        (column, true)
    }

    /// Positions of the traded symbols in the market data.
    pub fn legs(&self) -> &[usize] {
        &self.legs
    }

    /// Bars per symbol.
    pub fn bars(&self) -> usize {
        self.n
    }

    /// Whether the data has a VIX-like index for the `regime` terminal.
    pub fn has_regime(&self) -> bool {
        self.regime.is_some()
    }

    /// Evaluates `genomes` as one batch with structural sharing, calling `f` (in parallel, in
    /// rayon's current pool) with each genome's entry and exit series; results in input order.
    pub fn batch<R: Send>(
        &self,
        genomes: &[&Genome],
        f: impl Fn(&Genome, &Rules<'_>) -> R + Sync,
    ) -> (Vec<R>, Sharing) {
        let mut dag = Dag::default();
        let roots: Vec<(u32, u32)> =
            genomes.iter().map(|g| (dag.boolean(&g.entry), dag.boolean(&g.exit))).collect();
        let uses = dag.uses(&roots);
        let batch = Batch {
            ev: self,
            cells: (0..dag.nodes.len()).map(|_| OnceLock::new()).collect(),
            shared: uses.iter().map(|&u| u >= 2).collect(),
            dag,
            stored: AtomicUsize::new(0),
            computed: AtomicUsize::new(0),
        };
        let results = genomes
            .par_iter()
            .zip(&roots)
            .map(|(g, &(entry, exit))| {
                let entry = batch.boolean(entry);
                // Early exit: a rule that never enters makes the exit rule irrelevant.
                let exit = if matches!(entry, BoolView::Flat(false)) {
                    BoolView::Flat(false)
                } else {
                    batch.boolean(exit)
                };
                f(g, &Rules { entry, exit, n: self.n, legs: &self.legs })
            })
            .collect();
        let sharing = Sharing {
            genomes: genomes.len(),
            tree_nodes: genomes.iter().map(|g| g.size()).sum(),
            distinct_nodes: batch.dag.nodes.len(),
            computed: batch.computed.load(Ordering::Relaxed),
        };
        (results, sharing)
    }

    /// The signals of one genome (each traded symbol a leg), as a kernel backtest takes them.
    pub fn signals(&self, genome: &Genome) -> SignalSet {
        let (mut sets, _) = self.batch(&[genome], |g, rules| rules.signal_set(g.genes.strength()));
        sets.remove(0)
    }
}

/// The signals of `genome` on `data`: every tradable symbol is a leg.
pub fn signals(genome: &Genome, data: &MarketData) -> Result<SignalSet, EvalError> {
    Ok(Evaluator::new(data)?.signals(genome))
}

fn regime_code(r: Regime) -> f64 {
    match r {
        Regime::Calm => 0.0,
        Regime::Normal => 1.0,
        Regime::Stressed => 2.0,
        Regime::Crisis => 3.0,
    }
}

/// A genome's entry and exit series over every traded symbol.
pub struct Rules<'a> {
    entry: BoolView<'a>,
    exit: BoolView<'a>,
    n: usize,
    legs: &'a [usize],
}

impl Rules<'_> {
    /// Whether the entry rule is true on any bar of any symbol.
    pub fn enters(&self) -> bool {
        match &self.entry {
            BoolView::Flat(b) => *b,
            BoolView::Cols(c) => c.contains(&true),
            BoolView::Owned(c) => c.contains(&true),
        }
    }

    /// Number of traded symbols.
    pub fn legs(&self) -> usize {
        self.legs.len()
    }

    /// Leg `k`'s signals into `out`: `Exit` where the exit rule holds, else `Enter(strength)`
    /// where the entry rule holds, else `Hold` — except that before the leg's first entry every
    /// bar is `Hold` (an exit while flat does nothing), so a rule that never enters needs no
    /// exit series and the signals at bar `t` still depend on bars `≤ t` only.
    pub fn leg_signals_into(&self, k: usize, strength: Strength, out: &mut Vec<Signal>) {
        out.clear();
        let (entry, exit) = (self.entry.row(k, self.n), self.exit.row(k, self.n));
        let mut armed = false;
        out.extend((0..self.n).map(|t| {
            let enter = entry.at(t);
            armed |= enter;
            if armed && exit.at(t) {
                Signal::Exit
            } else if enter {
                Signal::Enter(strength)
            } else {
                Signal::Hold
            }
        }));
    }

    /// Every leg's signals.
    pub fn signal_set(&self, strength: Strength) -> SignalSet {
        let mut signals = Vec::with_capacity(self.n);
        let legs = (0..self.legs.len())
            .map(|k| {
                self.leg_signals_into(k, strength, &mut signals);
                LegSignals { symbol: self.legs[k], signals: signals.as_slice().into() }
            })
            .collect();
        SignalSet { legs }
    }
}

/// One DAG node: an operator with its children's ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Node {
    Field(Field),
    Const(Const),
    Regime,
    Ind(Indicator, Field, Window),
    Un(UnOp, u32),
    Win(WinOp, Window, u32),
    Bin(BinOp, u32, u32),
    Flag(bool),
    Cmp(CmpOp, u32, u32),
    Logic(Logic, u32, u32),
    Not(u32),
}

/// The hash-consed nodes of a batch, children before parents.
#[derive(Default)]
struct Dag {
    nodes: Vec<Node>,
    index: HashMap<Node, u32>,
}

impl Dag {
    fn intern(&mut self, node: Node) -> u32 {
        *self.index.entry(node).or_insert_with(|| {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        })
    }

    fn num(&mut self, n: &Num) -> u32 {
        let node = match n {
            Num::Field(f) => Node::Field(*f),
            Num::Const(c) => Node::Const(*c),
            Num::Regime => Node::Regime,
            Num::Ind(i, f, w) => Node::Ind(*i, *f, *w),
            Num::Un(op, a) => Node::Un(*op, self.num(a)),
            Num::Win(op, w, a) => Node::Win(*op, *w, self.num(a)),
            Num::Bin(op, a, b) => {
                let (a, b) = (self.num(a), self.num(b));
                Node::Bin(*op, a, b)
            }
        };
        self.intern(node)
    }

    fn boolean(&mut self, p: &Bool) -> u32 {
        let node = match p {
            Bool::Const(b) => Node::Flag(*b),
            Bool::Cmp(op, a, b) => {
                let (a, b) = (self.num(a), self.num(b));
                Node::Cmp(*op, a, b)
            }
            Bool::Logic(op, p, q) => {
                let (p, q) = (self.boolean(p), self.boolean(q));
                Node::Logic(*op, p, q)
            }
            Bool::Not(p) => Node::Not(self.boolean(p)),
        };
        self.intern(node)
    }

    /// How many distinct parents (and genome roots) use each node.
    fn uses(&self, roots: &[(u32, u32)]) -> Vec<u32> {
        let mut uses = vec![0u32; self.nodes.len()];
        for node in &self.nodes {
            match *node {
                Node::Un(_, a) | Node::Win(_, _, a) | Node::Not(a) => uses[a as usize] += 1,
                Node::Bin(_, a, b) | Node::Cmp(_, a, b) | Node::Logic(_, a, b) => {
                    uses[a as usize] += 1;
                    uses[b as usize] += 1;
                }
                _ => {}
            }
        }
        for &(entry, exit) in roots {
            uses[entry as usize] += 1;
            uses[exit as usize] += 1;
        }
        uses
    }
}

/// A column kept for the batch.
enum Stored {
    Num(Vec<f64>),
    Indicator(Arc<Vec<f64>>),
    Bool(Vec<bool>),
    Scalar(f64),
    Flat(bool),
}

/// A numeric value over every traded symbol.
enum NumView<'a> {
    /// Bar fields: one borrowed slice per symbol.
    Fields(&'a [&'a [f64]]),
    /// A stored column, symbol-major.
    Cols(&'a [f64]),
    /// A fresh column, symbol-major.
    Owned(Vec<f64>),
    /// One series shared by every symbol.
    Broadcast(&'a [f64]),
    /// One value everywhere.
    Scalar(f64),
}

impl NumView<'_> {
    fn row(&self, k: usize, n: usize) -> Operand<'_> {
        match self {
            NumView::Fields(rows) => Operand::Series(rows[k]),
            NumView::Cols(c) => Operand::Series(&c[k * n..(k + 1) * n]),
            NumView::Owned(c) => Operand::Series(&c[k * n..(k + 1) * n]),
            NumView::Broadcast(r) => Operand::Series(r),
            NumView::Scalar(x) => Operand::Scalar(*x),
        }
    }

    fn is_nan(&self) -> bool {
        matches!(self, NumView::Scalar(x) if x.is_nan())
    }
}

/// A boolean value over every traded symbol.
enum BoolView<'a> {
    Cols(&'a [bool]),
    Owned(Vec<bool>),
    Flat(bool),
}

/// One symbol's booleans.
#[derive(Clone, Copy)]
enum BoolRow<'a> {
    Series(&'a [bool]),
    Flat(bool),
}

impl BoolRow<'_> {
    #[inline]
    fn at(&self, t: usize) -> bool {
        match self {
            BoolRow::Series(s) => s[t],
            BoolRow::Flat(b) => *b,
        }
    }
}

impl BoolView<'_> {
    fn row(&self, k: usize, n: usize) -> BoolRow<'_> {
        match self {
            BoolView::Cols(c) => BoolRow::Series(&c[k * n..(k + 1) * n]),
            BoolView::Owned(c) => BoolRow::Series(&c[k * n..(k + 1) * n]),
            BoolView::Flat(b) => BoolRow::Flat(*b),
        }
    }
}

/// One batch being evaluated: the DAG and the columns kept for it.
struct Batch<'e, 'd> {
    ev: &'e Evaluator<'d>,
    dag: Dag,
    shared: Vec<bool>,
    cells: Vec<OnceLock<Stored>>,
    stored: AtomicUsize,
    computed: AtomicUsize,
}

impl Batch<'_, '_> {
    fn size(&self) -> usize {
        self.ev.n * self.ev.legs.len()
    }

    /// Keeps a shared node's value for the batch (within the budget) or hands it over.
    fn keep<'s, T>(
        &'s self,
        id: u32,
        bytes: usize,
        compute: impl FnOnce() -> T,
        store: impl FnOnce(T) -> Stored,
        view: impl Fn(&'s Stored) -> T,
    ) -> T {
        let cell = &self.cells[id as usize];
        if let Some(s) = cell.get() {
            return view(s);
        }
        if !self.shared[id as usize] || self.stored.load(Ordering::Relaxed) + bytes > self.ev.budget {
            return compute();
        }
        self.stored.fetch_add(bytes, Ordering::Relaxed);
        view(cell.get_or_init(|| store(compute())))
    }

    fn num(&self, id: u32) -> NumView<'_> {
        let node = self.dag.nodes[id as usize];
        match node {
            Node::Field(f) => return NumView::Fields(&self.ev.cols[f as usize]),
            Node::Const(c) => return NumView::Scalar(c.get()),
            Node::Regime => {
                return match &self.ev.regime {
                    Some(r) => NumView::Broadcast(r),
                    None => NumView::Scalar(f64::NAN),
                };
            }
            Node::Ind(ind, field, w) => {
                let stored = self.cells[id as usize].get_or_init(|| {
                    let (column, computed) = self.ev.indicator((ind, field, w));
                    self.computed.fetch_add(usize::from(computed), Ordering::Relaxed);
                    Stored::Indicator(column)
                });
                return match stored {
                    Stored::Indicator(c) => NumView::Cols(c),
                    _ => unreachable!("an indicator node stores its column"),
                };
            }
            _ => {}
        }
        let bytes = self.size() * 8;
        self.keep(
            id,
            bytes,
            || self.compute_num(node),
            |v| match v {
                NumView::Owned(c) => Stored::Num(c),
                NumView::Scalar(x) => Stored::Scalar(x),
                other => Stored::Num(self.materialise(&other)),
            },
            |s| match s {
                Stored::Num(c) => NumView::Cols(c),
                Stored::Indicator(c) => NumView::Cols(c),
                Stored::Scalar(x) => NumView::Scalar(*x),
                _ => unreachable!("a numeric node stores a numeric value"),
            },
        )
    }

    fn boolean(&self, id: u32) -> BoolView<'_> {
        let node = self.dag.nodes[id as usize];
        if let Node::Flag(b) = node {
            return BoolView::Flat(b);
        }
        self.keep(
            id,
            self.size(),
            || self.compute_bool(node),
            |v| match v {
                BoolView::Owned(c) => Stored::Bool(c),
                BoolView::Cols(c) => Stored::Bool(c.to_vec()),
                BoolView::Flat(b) => Stored::Flat(b),
            },
            |s| match s {
                Stored::Bool(c) => BoolView::Cols(c),
                Stored::Flat(b) => BoolView::Flat(*b),
                _ => unreachable!("a boolean node stores a boolean value"),
            },
        )
    }

    fn materialise(&self, v: &NumView<'_>) -> Vec<f64> {
        let n = self.ev.n;
        let mut out = vec![0.0; self.size()];
        for k in 0..self.ev.legs.len() {
            match v.row(k, n) {
                Operand::Series(s) => out[k * n..(k + 1) * n].copy_from_slice(s),
                Operand::Scalar(x) => out[k * n..(k + 1) * n].fill(x),
            }
        }
        out
    }

    /// A fresh numeric column, or a NaN scalar when nothing in it is finite.
    fn finish_num(out: Vec<f64>) -> NumView<'static> {
        if out.iter().all(|x| !x.is_finite()) { NumView::Scalar(f64::NAN) } else { NumView::Owned(out) }
    }

    /// A fresh boolean column, or a flag when it is the same everywhere.
    fn finish_bool(out: Vec<bool>) -> BoolView<'static> {
        match out.first() {
            Some(&first) if out.iter().all(|&b| b == first) => BoolView::Flat(first),
            None => BoolView::Flat(false),
            _ => BoolView::Owned(out),
        }
    }

    /// Runs `f` on each symbol's row of a fresh column.
    fn per_leg(&self, mut f: impl FnMut(usize, &mut [f64])) -> Vec<f64> {
        let n = self.ev.n;
        let mut out = vec![0.0; self.size()];
        for (k, row) in out.chunks_exact_mut(n.max(1)).enumerate().take(self.ev.legs.len()) {
            f(k, row);
        }
        out
    }

    fn compute_num(&self, node: Node) -> NumView<'_> {
        self.computed.fetch_add(1, Ordering::Relaxed);
        let n = self.ev.n;
        let out = match node {
            Node::Un(op, a) => {
                let a = self.num(a);
                match (op, &a) {
                    (_, NumView::Scalar(x)) if x.is_nan() => return NumView::Scalar(f64::NAN),
                    (UnOp::Abs, NumView::Scalar(x)) => return NumView::Scalar(x.abs()),
                    (UnOp::Abs, _) => self.per_leg(|k, row| match a.row(k, n) {
                        Operand::Series(s) => ops::abs(s, row),
                        Operand::Scalar(x) => row.fill(x.abs()),
                    }),
                    (UnOp::Rank, _) => {
                        let rows: Vec<Operand<'_>> = (0..self.ev.legs.len()).map(|k| a.row(k, n)).collect();
                        let mut out = vec![0.0; self.size()];
                        ops::rank(&rows, n, &mut out);
                        out
                    }
                }
            }
            Node::Win(op, w, a) => {
                let a = self.num(a);
                if a.is_nan() {
                    return NumView::Scalar(f64::NAN);
                }
                let mut scratch = Vec::new();
                self.per_leg(|k, row| {
                    let x = match a.row(k, n) {
                        Operand::Series(s) => s,
                        Operand::Scalar(x) => {
                            scratch.resize(n, x);
                            &scratch[..]
                        }
                    };
                    ops::windowed(op, w.get(), x, row);
                })
            }
            Node::Bin(op, a, b) => {
                let (a, b) = (self.num(a), self.num(b));
                let min_max = matches!(op, BinOp::Min | BinOp::Max);
                if !min_max && (a.is_nan() || b.is_nan()) {
                    return NumView::Scalar(f64::NAN);
                }
                if let (NumView::Scalar(x), NumView::Scalar(y)) = (&a, &b) {
                    return NumView::Scalar(ops::apply(op, *x, *y));
                }
                self.per_leg(|k, row| ops::binary(op, a.row(k, n), b.row(k, n), row))
            }
            Node::Field(_)
            | Node::Const(_)
            | Node::Regime
            | Node::Ind(..)
            | Node::Flag(_)
            | Node::Cmp(..)
            | Node::Logic(..)
            | Node::Not(_) => {
                unreachable!("not an operator on numbers")
            }
        };
        Batch::finish_num(out)
    }

    fn compute_bool(&self, node: Node) -> BoolView<'_> {
        self.computed.fetch_add(1, Ordering::Relaxed);
        let n = self.ev.n;
        let legs = self.ev.legs.len();
        let mut out = vec![false; self.size()];
        match node {
            Node::Cmp(op, a, b) => {
                let a = self.num(a);
                if a.is_nan() {
                    return BoolView::Flat(false);
                }
                let b = self.num(b);
                if b.is_nan() {
                    return BoolView::Flat(false);
                }
                if let (NumView::Scalar(x), NumView::Scalar(y)) = (&a, &b) {
                    return BoolView::Flat(op.holds(*x, *y));
                }
                for k in 0..legs {
                    ops::compare(op, a.row(k, n), b.row(k, n), &mut out[k * n..(k + 1) * n]);
                }
            }
            Node::Logic(op, p, q) => {
                let p = self.boolean(p);
                let short = match (op, &p) {
                    (Logic::And, BoolView::Flat(false)) => Some(false),
                    (Logic::Or, BoolView::Flat(true)) => Some(true),
                    _ => None,
                };
                if let Some(b) = short {
                    return BoolView::Flat(b);
                }
                let q = self.boolean(q);
                match (&p, &q) {
                    (BoolView::Flat(_), _) => return q,
                    (_, BoolView::Flat(b)) => {
                        return match (op, b) {
                            (Logic::And, false) => BoolView::Flat(false),
                            (Logic::Or, true) => BoolView::Flat(true),
                            _ => p,
                        };
                    }
                    _ => {}
                }
                for k in 0..legs {
                    let (BoolRow::Series(x), BoolRow::Series(y)) = (p.row(k, n), q.row(k, n)) else {
                        unreachable!("flags were handled above")
                    };
                    ops::logic(op, x, y, &mut out[k * n..(k + 1) * n]);
                }
            }
            Node::Not(p) => match self.boolean(p) {
                BoolView::Flat(b) => return BoolView::Flat(!b),
                p => {
                    for k in 0..legs {
                        if let BoolRow::Series(x) = p.row(k, n) {
                            for (o, &x) in out[k * n..(k + 1) * n].iter_mut().zip(x) {
                                *o = !x;
                            }
                        }
                    }
                }
            },
            _ => unreachable!("not an operator on booleans"),
        }
        Batch::finish_bool(out)
    }
}
