//! Algebraic simplification and constant folding that never change a result.
//!
//! Every rewrite is exact on every input, NaN warm-up bars included (a test checks this on
//! random trees and random data), so a simplified genome trades bar for bar like the
//! original. Rewrites, bottom up:
//!
//! - constant folding: an operator of constants becomes the constant (the same arithmetic as
//!   evaluation, [`crate::operators::apply`]); `abs` of a constant, `rank` of a constant (0.5);
//!   comparisons of constants; `not` of a constant;
//! - identities: `x + 0`, `x − 0`, `x × 1`, `x / 1`, `min(x, x)`, `max(x, x)` → `x`;
//!   `abs(abs x)` → `abs x`; `lag a (lag b x)` → `lag (a + b) x`;
//! - booleans: `p and p`, `p or p` → `p`; `p and true`, `p or false` → `p`; `p and false` →
//!   false; `p or true` → true; `not not p` → `p`; `x > x`, `x < x` and a line crossing itself
//!   → false;
//! - canonical forms, so equal strategies hash equal and share nodes: `a < b` → `b > a`,
//!   `cross-below a b` → `cross-above b a`, and the arguments of `+ × min max and or` in a
//!   fixed order; ATR and relative volume carry `close` as their (unused) field.

use std::cmp::Ordering;

use crate::genome::Genome;
use crate::operators::apply;
use crate::tree::{BinOp, Bool, CmpOp, Const, Field, Logic, MAX_WINDOW, Num, UnOp, WinOp, Window};

/// The simplified genome (same behaviour on any data).
pub fn simplify(genome: &Genome) -> Genome {
    Genome { entry: simplify_bool(&genome.entry), exit: simplify_bool(&genome.exit), genes: genome.genes }
}

/// A fixed total order on subtrees, for the canonical argument order of commutative operators.
fn order<T: serde::Serialize>(a: &T, b: &T) -> Ordering {
    let bytes = |t: &T| postcard::to_allocvec(t).expect("trees serialise");
    bytes(a).cmp(&bytes(b))
}

fn sorted<T: serde::Serialize>(a: T, b: T) -> (T, T) {
    if order(&a, &b) == Ordering::Greater { (b, a) } else { (a, b) }
}

fn constant(x: f64) -> Option<Num> {
    Const::new(x).map(Num::Const)
}

/// The simplified numeric tree.
pub fn simplify_num(n: &Num) -> Num {
    match n {
        Num::Field(_) | Num::Const(_) | Num::Regime => n.clone(),
        Num::Ind(ind, field, w) => Num::Ind(*ind, if ind.takes_field() { *field } else { Field::Close }, *w),
        Num::Un(op, a) => {
            let a = simplify_num(a);
            match (op, &a) {
                (UnOp::Abs, Num::Const(c)) => Num::constant(c.get().abs()),
                (UnOp::Abs, Num::Un(UnOp::Abs, _)) => a,
                (UnOp::Rank, Num::Const(_)) => Num::constant(0.5),
                _ => Num::Un(*op, Box::new(a)),
            }
        }
        Num::Win(op, w, a) => {
            let a = simplify_num(a);
            if let (WinOp::Lag, Num::Win(WinOp::Lag, inner, x)) = (op, &a) {
                let total = w.raw() + inner.raw();
                if total <= MAX_WINDOW {
                    return Num::Win(WinOp::Lag, Window::new(total).expect("within range"), x.clone());
                }
            }
            Num::Win(*op, *w, Box::new(a))
        }
        Num::Bin(op, a, b) => {
            let (a, b) = (simplify_num(a), simplify_num(b));
            if let (Some(x), Some(y)) = (a.as_const(), b.as_const())
                && let Some(c) = constant(apply(*op, x, y))
            {
                return c;
            }
            let is = |t: &Num, v: f64| t.as_const() == Some(v);
            match op {
                BinOp::Add if is(&b, 0.0) => return a,
                BinOp::Add if is(&a, 0.0) => return b,
                BinOp::Sub if is(&b, 0.0) => return a,
                BinOp::Mul if is(&b, 1.0) => return a,
                BinOp::Mul if is(&a, 1.0) => return b,
                BinOp::Div if is(&b, 1.0) => return a,
                BinOp::Min | BinOp::Max if a == b => return a,
                _ => {}
            }
            let (a, b) = if op.commutes() { sorted(a, b) } else { (a, b) };
            Num::Bin(*op, Box::new(a), Box::new(b))
        }
    }
}

/// The simplified boolean tree.
pub fn simplify_bool(p: &Bool) -> Bool {
    match p {
        Bool::Const(_) => p.clone(),
        Bool::Cmp(op, a, b) => {
            let (a, b) = (simplify_num(a), simplify_num(b));
            // `x ≥ x` is false where `x` is NaN, so only the strict comparisons fold.
            if a == b && !matches!(op, CmpOp::Ge | CmpOp::Le) {
                return Bool::Const(false);
            }
            if let (Some(x), Some(y)) = (a.as_const(), b.as_const()) {
                return Bool::Const(op.holds(x, y));
            }
            match op {
                CmpOp::Lt | CmpOp::CrossBelow | CmpOp::Le => {
                    Bool::Cmp(op.swapped(), Box::new(b), Box::new(a))
                }
                _ => Bool::Cmp(*op, Box::new(a), Box::new(b)),
            }
        }
        Bool::Logic(op, p, q) => {
            let (p, q) = (simplify_bool(p), simplify_bool(q));
            match (op, &p, &q) {
                (Logic::And, Bool::Const(false), _) | (Logic::And, _, Bool::Const(false)) => {
                    Bool::Const(false)
                }
                (Logic::Or, Bool::Const(true), _) | (Logic::Or, _, Bool::Const(true)) => Bool::Const(true),
                (_, Bool::Const(_), _) => q,
                (_, _, Bool::Const(_)) => p,
                _ if p == q => p,
                _ => {
                    let (p, q) = sorted(p, q);
                    Bool::Logic(*op, Box::new(p), Box::new(q))
                }
            }
        }
        Bool::Not(p) => match simplify_bool(p) {
            Bool::Const(b) => Bool::Const(!b),
            Bool::Not(inner) => *inner,
            p => Bool::Not(Box::new(p)),
        },
    }
}
