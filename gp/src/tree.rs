//! Strongly typed expression trees: numeric series ([`Num`]) and boolean series ([`Bool`]).
//!
//! The two types are two Rust enums whose children are typed, so an ill-typed tree (a boolean
//! added to a price, a comparison used as a number) cannot be built at all — not by the
//! generator, the variation operators, the simplifier or the parser.
//!
//! Every operator at bar `t` reads bars `≤ t` only; see [`crate::eval`] for the semantics.

use std::cell::Cell;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest window of any windowed operator or indicator, in bars.
pub const MAX_WINDOW: u16 = 250;

/// Deepest tree a binary form ([`crate::Genome::from_bytes`], or any non-text serde format)
/// may hold: within `(strategy (entry …))` its text stays inside the parser's nesting limit,
/// so every tree decoded also prints and parses back. Decoding is recursive; without a limit
/// a hostile input of nested `not`s would overflow the stack.
pub const MAX_DECODE_DEPTH: usize = crate::sexpr::MAX_DEPTH - 2;

thread_local! {
    /// How deep the tree being decoded on this thread is at the node being read.
    static DECODING: Cell<usize> = const { Cell::new(0) };
    /// Whether a decode on this thread was refused for its depth since [`too_deep`] was last
    /// asked (formats such as postcard drop a custom error's message).
    static REFUSED: Cell<bool> = const { Cell::new(false) };
}

/// Whether a decode on this thread was refused past [`MAX_DECODE_DEPTH`] since the last call.
pub(crate) fn too_deep() -> bool {
    REFUSED.with(|r| r.replace(false))
}

/// The message of a decode refused past [`MAX_DECODE_DEPTH`].
pub(crate) fn too_deep_message() -> String {
    format!("the tree nests deeper than {MAX_DECODE_DEPTH} levels")
}

/// One node of a tree being decoded, counted against [`MAX_DECODE_DEPTH`] until it is read.
struct Level;

impl Level {
    /// Enters a node one level deeper, or refuses past [`MAX_DECODE_DEPTH`].
    fn enter<E: serde::de::Error>() -> Result<Level, E> {
        DECODING.with(|depth| {
            let next = depth.get() + 1;
            if next > MAX_DECODE_DEPTH {
                REFUSED.with(|r| r.set(true));
                return Err(E::custom(too_deep_message()));
            }
            depth.set(next);
            Ok(Level)
        })
    }
}

impl Drop for Level {
    fn drop(&mut self) {
        DECODING.with(|depth| depth.set(depth.get() - 1));
    }
}

/// `Serialize` as derived and `Deserialize` as derived but counted by [`Level`], for the two
/// recursive tree types (their derives are `remote = "Self"`, i.e. inherent functions).
macro_rules! depth_limited_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <$t>::serialize(self, s)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                let _level = Level::enter()?;
                <$t>::deserialize(d)
            }
        }
    };
}

depth_limited_serde!(Num);
depth_limited_serde!(Bool);

/// A bar field of the symbol being traded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Field {
    /// Opening price.
    Open,
    /// Highest price.
    High,
    /// Lowest price.
    Low,
    /// Closing price.
    Close,
    /// Traded volume.
    Volume,
}

impl Field {
    /// Every field, in a fixed order.
    pub const ALL: [Field; 5] = [Field::Open, Field::High, Field::Low, Field::Close, Field::Volume];

    /// The s-expression name.
    pub fn name(self) -> &'static str {
        match self {
            Field::Open => "open",
            Field::High => "high",
            Field::Low => "low",
            Field::Close => "close",
            Field::Volume => "volume",
        }
    }
}

/// A kernel indicator used as a terminal: it reads a bar field (or fixed fields) with a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Indicator {
    /// Simple moving average of the field ([`kernel::indicators::sma_into`]).
    Sma,
    /// Exponential moving average of the field ([`kernel::indicators::ema_into`]).
    Ema,
    /// Wilder RSI of the field, 0..100 ([`kernel::indicators::rsi_into`]).
    Rsi,
    /// Rate of change of the field in percent ([`kernel::indicators::roc_into`]).
    Roc,
    /// Rolling z-score of the field ([`kernel::indicators::zscore_into`]).
    Zscore,
    /// Average true range from high, low and close ([`kernel::indicators::atr_into`]); the field is ignored.
    Atr,
    /// Volume over the mean of the previous window ([`kernel::indicators::relative_volume_into`]); reads volume.
    RelVolume,
}

impl Indicator {
    /// Every indicator, in a fixed order.
    pub const ALL: [Indicator; 7] = [
        Indicator::Sma,
        Indicator::Ema,
        Indicator::Rsi,
        Indicator::Roc,
        Indicator::Zscore,
        Indicator::Atr,
        Indicator::RelVolume,
    ];

    /// The s-expression name.
    pub fn name(self) -> &'static str {
        match self {
            Indicator::Sma => "sma",
            Indicator::Ema => "ema",
            Indicator::Rsi => "rsi",
            Indicator::Roc => "roc",
            Indicator::Zscore => "zscore",
            Indicator::Atr => "atr",
            Indicator::RelVolume => "relvol",
        }
    }

    /// Whether the indicator reads a field argument (ATR and relative volume read fixed fields).
    pub fn takes_field(self) -> bool {
        !matches!(self, Indicator::Atr | Indicator::RelVolume)
    }

    /// The smallest window the kernel accepts.
    pub fn min_window(self) -> u16 {
        if self == Indicator::Zscore { 2 } else { 1 }
    }
}

/// A window length in bars, `1..=`[`MAX_WINDOW`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct Window(u16);

impl Window {
    /// A window of `n` bars, or `None` outside `1..=MAX_WINDOW`.
    pub fn new(n: u16) -> Option<Window> {
        (1..=MAX_WINDOW).contains(&n).then_some(Window(n))
    }

    /// The length in bars.
    pub fn get(self) -> usize {
        usize::from(self.0)
    }

    /// The length as stored.
    pub fn raw(self) -> u16 {
        self.0
    }
}

impl TryFrom<u16> for Window {
    type Error = String;
    fn try_from(n: u16) -> Result<Self, String> {
        Window::new(n).ok_or_else(|| format!("window {n} is outside 1..={MAX_WINDOW}"))
    }
}

impl From<Window> for u16 {
    fn from(w: Window) -> u16 {
        w.0
    }
}

/// A finite constant; equality and hashing are by bits, so a tree is `Eq`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Const(f64);

impl Const {
    /// `x`, or `None` when it is NaN or infinite.
    pub fn new(x: f64) -> Option<Const> {
        // -0.0 and 0.0 behave alike everywhere in evaluation; one spelling keeps keys canonical.
        x.is_finite().then_some(Const(if x == 0.0 { 0.0 } else { x }))
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl PartialEq for Const {
    fn eq(&self, other: &Const) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}
impl Eq for Const {}
impl std::hash::Hash for Const {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

impl TryFrom<f64> for Const {
    type Error = String;
    fn try_from(x: f64) -> Result<Self, String> {
        Const::new(x).ok_or_else(|| format!("constant {x} is not finite"))
    }
}

impl From<Const> for f64 {
    fn from(c: Const) -> f64 {
        c.0
    }
}

/// One-argument numeric operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum UnOp {
    /// Absolute value.
    Abs,
    /// Cross-sectional rank at each bar among the traded symbols, in `[0, 1]` (ties share the
    /// mean rank; a single symbol is 0.5; NaN values are unranked and stay NaN).
    Rank,
}

impl UnOp {
    /// Every operator.
    pub const ALL: [UnOp; 2] = [UnOp::Abs, UnOp::Rank];

    /// The s-expression name.
    pub fn name(self) -> &'static str {
        match self {
            UnOp::Abs => "abs",
            UnOp::Rank => "rank",
        }
    }
}

/// Windowed numeric operators over the bars up to and including `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WinOp {
    /// The value `w` bars earlier (NaN before the start).
    Lag,
    /// Rolling mean over `w` bars.
    Mean,
    /// Rolling population standard deviation over `w` bars.
    Std,
    /// Rolling maximum over `w` bars.
    Max,
    /// Rolling minimum over `w` bars.
    Min,
}

impl WinOp {
    /// Every operator.
    pub const ALL: [WinOp; 5] = [WinOp::Lag, WinOp::Mean, WinOp::Std, WinOp::Max, WinOp::Min];

    /// The s-expression name.
    pub fn name(self) -> &'static str {
        match self {
            WinOp::Lag => "lag",
            WinOp::Mean => "mean",
            WinOp::Std => "std",
            WinOp::Max => "hi",
            WinOp::Min => "lo",
        }
    }

    /// The smallest meaningful window (a 1-bar deviation is always 0).
    pub fn min_window(self) -> u16 {
        if self == WinOp::Std { 2 } else { 1 }
    }
}

/// Two-argument numeric operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BinOp {
    /// `a + b`.
    Add,
    /// `a − b`.
    Sub,
    /// `a × b`.
    Mul,
    /// Protected division: `a / b`, or 1 where `|b| < 1e-12`.
    Div,
    /// The smaller (a NaN side is ignored, as [`f64::min`]).
    Min,
    /// The larger (a NaN side is ignored, as [`f64::max`]).
    Max,
}

impl BinOp {
    /// Every operator.
    pub const ALL: [BinOp; 6] = [BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div, BinOp::Min, BinOp::Max];

    /// The s-expression name.
    pub fn name(self) -> &'static str {
        match self {
            BinOp::Add => "add",
            BinOp::Sub => "sub",
            BinOp::Mul => "mul",
            BinOp::Div => "div",
            BinOp::Min => "min",
            BinOp::Max => "max",
        }
    }

    /// Whether `a op b == b op a` bit for bit (so the simplifier may order the arguments).
    pub fn commutes(self) -> bool {
        matches!(self, BinOp::Add | BinOp::Mul | BinOp::Min | BinOp::Max)
    }
}

/// A numeric series: one value per bar of each traded symbol.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub enum Num {
    /// A bar field.
    Field(Field),
    /// A constant.
    Const(Const),
    /// The market regime from a VIX-like index in the data: 0 calm, 1 normal, 2 stressed,
    /// 3 crisis ([`kernel::regime`]); NaN when the data has no such index.
    Regime,
    /// An indicator of a field with a window.
    Ind(Indicator, Field, Window),
    /// A one-argument operator.
    Un(UnOp, Box<Num>),
    /// A windowed operator.
    Win(WinOp, Window, Box<Num>),
    /// A two-argument operator.
    Bin(BinOp, Box<Num>, Box<Num>),
}

/// Comparisons of two numeric series; NaN on either side compares false.
///
/// New variants go at the end: the binary form (postcard) numbers them in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CmpOp {
    /// `a > b`.
    Gt,
    /// `a < b`.
    Lt,
    /// `a` crosses above `b` at `t`: `a[t−1] < b[t−1]` and `a[t] > b[t]` (the kernel's cross).
    CrossAbove,
    /// `a` crosses below `b` at `t`: `a[t−1] > b[t−1]` and `a[t] < b[t]`.
    CrossBelow,
    /// `a ≥ b` (the built-in families' thresholds are inclusive, e.g. `z ≤ −entry_z`).
    Ge,
    /// `a ≤ b`.
    Le,
}

impl CmpOp {
    /// Every comparison.
    pub const ALL: [CmpOp; 6] =
        [CmpOp::Gt, CmpOp::Lt, CmpOp::CrossAbove, CmpOp::CrossBelow, CmpOp::Ge, CmpOp::Le];

    /// The comparisons random trees and point mutations draw from. `ge` and `le` differ from
    /// `gt` and `lt` only where both sides are exactly equal, so drawing them too would add no
    /// behaviour, only reshuffle every seeded run's random stream; they enter a run through its
    /// seeds (`[discover] seeds`) and are kept by crossover, mutation elsewhere in the tree and
    /// simplification like any operator.
    pub const DRAWN: [CmpOp; 4] = [CmpOp::Gt, CmpOp::Lt, CmpOp::CrossAbove, CmpOp::CrossBelow];

    /// The s-expression name.
    pub fn name(self) -> &'static str {
        match self {
            CmpOp::Gt => "gt",
            CmpOp::Lt => "lt",
            CmpOp::CrossAbove => "cross-above",
            CmpOp::CrossBelow => "cross-below",
            CmpOp::Ge => "ge",
            CmpOp::Le => "le",
        }
    }

    /// The comparison with its arguments swapped: `a op b == b op.swapped() a`.
    pub fn swapped(self) -> CmpOp {
        match self {
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::CrossAbove => CmpOp::CrossBelow,
            CmpOp::CrossBelow => CmpOp::CrossAbove,
            CmpOp::Ge => CmpOp::Le,
            CmpOp::Le => CmpOp::Ge,
        }
    }

    /// The truth of `x op y` for two constants (a cross needs two bars, so it is false).
    pub fn holds(self, x: f64, y: f64) -> bool {
        match self {
            CmpOp::Gt => x > y,
            CmpOp::Lt => x < y,
            CmpOp::Ge => x >= y,
            CmpOp::Le => x <= y,
            CmpOp::CrossAbove | CmpOp::CrossBelow => false,
        }
    }
}

/// Boolean connectives of two series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Logic {
    /// Both.
    And,
    /// Either.
    Or,
}

impl Logic {
    /// The s-expression name.
    pub fn name(self) -> &'static str {
        match self {
            Logic::And => "and",
            Logic::Or => "or",
        }
    }
}

/// A boolean series: one truth value per bar of each traded symbol.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub enum Bool {
    /// Always or never.
    Const(bool),
    /// A comparison of two numeric series.
    Cmp(CmpOp, Box<Num>, Box<Num>),
    /// `and` / `or` of two boolean series.
    Logic(Logic, Box<Bool>, Box<Bool>),
    /// Negation.
    Not(Box<Bool>),
}

impl Num {
    /// Number of nodes.
    pub fn size(&self) -> usize {
        match self {
            Num::Field(_) | Num::Const(_) | Num::Regime | Num::Ind(..) => 1,
            Num::Un(_, a) | Num::Win(_, _, a) => 1 + a.size(),
            Num::Bin(_, a, b) => 1 + a.size() + b.size(),
        }
    }

    /// Depth: a terminal is 1.
    pub fn depth(&self) -> usize {
        match self {
            Num::Field(_) | Num::Const(_) | Num::Regime | Num::Ind(..) => 1,
            Num::Un(_, a) | Num::Win(_, _, a) => 1 + a.depth(),
            Num::Bin(_, a, b) => 1 + a.depth().max(b.depth()),
        }
    }

    /// A constant node (`x` must be finite).
    pub fn constant(x: f64) -> Num {
        Num::Const(Const::new(x).expect("a finite constant"))
    }

    /// The constant value, if this is a constant.
    pub fn as_const(&self) -> Option<f64> {
        match self {
            Num::Const(c) => Some(c.get()),
            _ => None,
        }
    }
}

impl Bool {
    /// Number of nodes.
    pub fn size(&self) -> usize {
        match self {
            Bool::Const(_) => 1,
            Bool::Cmp(_, a, b) => 1 + a.size() + b.size(),
            Bool::Logic(_, p, q) => 1 + p.size() + q.size(),
            Bool::Not(p) => 1 + p.size(),
        }
    }

    /// Depth: a constant is 1.
    pub fn depth(&self) -> usize {
        match self {
            Bool::Const(_) => 1,
            Bool::Cmp(_, a, b) => 1 + a.depth().max(b.depth()),
            Bool::Logic(_, p, q) => 1 + p.depth().max(q.depth()),
            Bool::Not(p) => 1 + p.depth(),
        }
    }
}

/// The type of a node: what a slot of a tree accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// A numeric series.
    Num,
    /// A boolean series.
    Bool,
}

/// A typed subtree, owned: what crossover moves between trees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subtree {
    /// A numeric subtree.
    Num(Num),
    /// A boolean subtree.
    Bool(Bool),
}

impl Subtree {
    /// Its type.
    pub fn ty(&self) -> Type {
        match self {
            Subtree::Num(_) => Type::Num,
            Subtree::Bool(_) => Type::Bool,
        }
    }
}

/// Preorder walk over a boolean tree: each node's type and depth (root depth 0).
pub fn node_types(root: &Bool) -> Vec<(Type, usize)> {
    fn num(n: &Num, d: usize, out: &mut Vec<(Type, usize)>) {
        out.push((Type::Num, d));
        match n {
            Num::Field(_) | Num::Const(_) | Num::Regime | Num::Ind(..) => {}
            Num::Un(_, a) | Num::Win(_, _, a) => num(a, d + 1, out),
            Num::Bin(_, a, b) => {
                num(a, d + 1, out);
                num(b, d + 1, out);
            }
        }
    }
    fn boolean(p: &Bool, d: usize, out: &mut Vec<(Type, usize)>) {
        out.push((Type::Bool, d));
        match p {
            Bool::Const(_) => {}
            Bool::Cmp(_, a, b) => {
                num(a, d + 1, out);
                num(b, d + 1, out);
            }
            Bool::Logic(_, p, q) => {
                boolean(p, d + 1, out);
                boolean(q, d + 1, out);
            }
            Bool::Not(p) => boolean(p, d + 1, out),
        }
    }
    let mut out = Vec::with_capacity(root.size());
    boolean(root, 0, &mut out);
    out
}

/// A mutable typed reference to one node found by its preorder index.
enum NodeMut<'a> {
    Num(&'a mut Num),
    Bool(&'a mut Bool),
}

/// The node at preorder index `*i` (counting down), if it lies in this subtree.
fn find_num<'a>(n: &'a mut Num, i: &mut usize) -> Option<NodeMut<'a>> {
    if *i == 0 {
        return Some(NodeMut::Num(n));
    }
    *i -= 1;
    match n {
        Num::Field(_) | Num::Const(_) | Num::Regime | Num::Ind(..) => None,
        Num::Un(_, a) | Num::Win(_, _, a) => find_num(a, i),
        Num::Bin(_, a, b) => match find_num(a, i) {
            Some(found) => Some(found),
            None => find_num(b, i),
        },
    }
}

fn find_bool<'a>(p: &'a mut Bool, i: &mut usize) -> Option<NodeMut<'a>> {
    if *i == 0 {
        return Some(NodeMut::Bool(p));
    }
    *i -= 1;
    match p {
        Bool::Const(_) => None,
        Bool::Cmp(_, a, b) => match find_num(a, i) {
            Some(found) => Some(found),
            None => find_num(b, i),
        },
        Bool::Logic(_, p, q) => match find_bool(p, i) {
            Some(found) => Some(found),
            None => find_bool(q, i),
        },
        Bool::Not(p) => find_bool(p, i),
    }
}

/// A copy of the subtree at preorder index `i` of `root` (`None` past the end).
pub fn subtree(root: &Bool, i: usize) -> Option<Subtree> {
    // Walking a clone keeps one traversal for reading and writing; trees are small.
    let mut copy = root.clone();
    let mut k = i;
    find_bool(&mut copy, &mut k).map(|node| match node {
        NodeMut::Num(n) => Subtree::Num(n.clone()),
        NodeMut::Bool(p) => Subtree::Bool(p.clone()),
    })
}

/// Replaces the node at preorder index `i` of `root` with `with` when their types match;
/// returns whether it did. A type mismatch leaves the tree untouched, so no caller can make
/// an ill-typed tree through this function.
pub fn replace(root: &mut Bool, i: usize, with: Subtree) -> bool {
    let mut k = i;
    match (find_bool(root, &mut k), with) {
        (Some(NodeMut::Num(slot)), Subtree::Num(n)) => *slot = n,
        (Some(NodeMut::Bool(slot)), Subtree::Bool(p)) => *slot = p,
        _ => return false,
    }
    true
}

/// Applies `f` to every numeric node of `root`, children before parents.
pub fn map_nums(root: &mut Bool, f: &mut impl FnMut(&mut Num)) {
    fn num(n: &mut Num, f: &mut impl FnMut(&mut Num)) {
        match n {
            Num::Field(_) | Num::Const(_) | Num::Regime | Num::Ind(..) => {}
            Num::Un(_, a) | Num::Win(_, _, a) => num(a, f),
            Num::Bin(_, a, b) => {
                num(a, f);
                num(b, f);
            }
        }
        f(n);
    }
    match root {
        Bool::Const(_) => {}
        Bool::Cmp(_, a, b) => {
            num(a, f);
            num(b, f);
        }
        Bool::Logic(_, p, q) => {
            map_nums(p, f);
            map_nums(q, f);
        }
        Bool::Not(p) => map_nums(p, f),
    }
}
