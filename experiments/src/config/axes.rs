//! `[params]`: each parameter's range or list, checked against the strategy's space.

use std::collections::BTreeMap;
use std::ops::Range;

use kernel::strategy::{ParamLiteral, ParamSpec, ParamValue, Strategy};
use toml::{Spanned, Value};

use super::Mode;
use super::error::{ConfigError, Source};
use super::limits;
use super::raw::RawRange;

/// The values one parameter takes in a sweep.
#[derive(Clone, Debug, PartialEq)]
pub enum Axis {
    /// An explicit, ordered list (a grid range expands to one; an omitted parameter is its default).
    Values(Vec<ParamValue>),
    /// A real interval without a step: random mode draws uniformly from `[min, max]`.
    Interval {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
}

/// One axis per parameter of `strategy`'s space, in its order. A range that would expand to
/// more than `max` values is refused before it is expanded.
pub(crate) fn build(
    src: &Source<'_>,
    strategy: &dyn Strategy,
    params: &BTreeMap<Spanned<String>, Spanned<RawRange>>,
    mode: Mode,
    max: u64,
) -> Result<Vec<Axis>, ConfigError> {
    let space = strategy.space();
    for name in params.keys() {
        space
            .index_of(name.get_ref())
            .map_err(|e| src.error(name.span(), format!("params.{}", name.get_ref()), e.to_string()))?;
    }
    space
        .specs()
        .iter()
        .map(|spec| match params.iter().find(|(k, _)| k.get_ref() == spec.name) {
            None => Ok(Axis::Values(vec![spec.default])),
            Some((_, range)) => axis(&Field { src, spec, max }, range, mode),
        })
        .collect()
}

/// The parameter being read, for errors.
struct Field<'a> {
    src: &'a Source<'a>,
    spec: &'a ParamSpec,
    /// Most values the range may expand to.
    max: u64,
}

impl Field<'_> {
    fn error(&self, span: Range<usize>, sub: &str, message: impl Into<String>) -> ConfigError {
        let key = if sub.is_empty() {
            format!("params.{}", self.spec.name)
        } else {
            format!("params.{}.{sub}", self.spec.name)
        };
        self.src.error(span, key, message)
    }

    /// A value of the parameter's kind, inside its bounds.
    fn value(&self, v: &Spanned<Value>, sub: &str) -> Result<ParamValue, ConfigError> {
        let literal = match v.get_ref() {
            Value::Integer(i) => Some(ParamLiteral::Int(*i)),
            Value::Float(x) => Some(ParamLiteral::Real(*x)),
            Value::String(s) => Some(ParamLiteral::Name(s.clone())),
            _ => None,
        };
        let bad = || {
            let message = format!(
                "{} is not allowed for `{}`: expected {}",
                v.get_ref(),
                self.spec.name,
                self.spec.kind
            );
            self.error(v.span(), sub, message)
        };
        literal.and_then(|l| self.spec.decode(&l).ok()).ok_or_else(bad)
    }

    /// Refuses a range of `count` values past the limit, before it is expanded.
    fn check_count(&self, span: Range<usize>, count: u64) -> Result<usize, ConfigError> {
        match usize::try_from(count) {
            Ok(n) if count <= self.max => Ok(n),
            _ => Err(self.error(
                span,
                "",
                format!(
                    "this range has {count} values, above the limit of {} combinations \
                     (widen `step`, narrow `min`/`max`, or raise `[sweep] max_combinations`)",
                    self.max
                ),
            )),
        }
    }
}

fn axis(f: &Field<'_>, range: &Spanned<RawRange>, mode: Mode) -> Result<Axis, ConfigError> {
    let r = range.get_ref();
    if let Some(values) = &r.values {
        if let Some(extra) = r.min.as_ref().or(r.max.as_ref()).or(r.step.as_ref()) {
            return Err(f.error(extra.span(), "", "give either `values` or `min`/`max`/`step`, not both"));
        }
        if values.get_ref().is_empty() {
            return Err(f.error(values.span(), "values", "list at least one value"));
        }
        let list = values.get_ref().iter().map(|v| f.value(v, "values")).collect::<Result<_, _>>()?;
        return Ok(Axis::Values(list));
    }
    let (Some(min), Some(max)) = (&r.min, &r.max) else {
        return Err(f.error(range.span(), "", "give `min` and `max` (and optionally `step`), or `values`"));
    };
    let (lo, hi) = (f.value(min, "min")?, f.value(max, "max")?);
    match (lo, hi) {
        (ParamValue::Int(lo), ParamValue::Int(hi)) => {
            if lo > hi {
                return Err(f.error(max.span(), "max", format!("{hi} is below min {lo}")));
            }
            let step = match &r.step {
                None => 1,
                Some(s) => match s.get_ref() {
                    Value::Integer(k) if *k >= 1 => *k,
                    other => {
                        return Err(f.error(s.span(), "step", format!("{other} is not a positive integer")));
                    }
                },
            };
            f.check_count(range.span(), limits::int_count(lo, hi, step))?;
            Ok(Axis::Values((lo..=hi).step_by(step as usize).map(ParamValue::Int).collect()))
        }
        (ParamValue::Real(lo), ParamValue::Real(hi)) => {
            if lo > hi {
                return Err(f.error(max.span(), "max", format!("{hi} is below min {lo}")));
            }
            let step = match &r.step {
                None if mode == Mode::Grid => {
                    return Err(f.error(
                        range.span(),
                        "step",
                        "a grid over a real parameter needs `step` (or `values`)",
                    ));
                }
                None => return Ok(Axis::Interval { min: lo, max: hi }),
                Some(s) => match s.get_ref() {
                    Value::Integer(k) if *k > 0 => *k as f64,
                    Value::Float(x) if *x > 0.0 && x.is_finite() => *x,
                    other => {
                        return Err(f.error(s.span(), "step", format!("{other} is not a positive number")));
                    }
                },
            };
            // min + k·step (not repeated addition), up to max with a little slack for rounding.
            let count = f.check_count(range.span(), limits::real_count(lo, hi, step))?;
            Ok(Axis::Values((0..count).map(|k| ParamValue::Real((lo + k as f64 * step).min(hi))).collect()))
        }
        _ => Err(f.error(
            range.span(),
            "",
            format!("`{}` is a choice: list its options in `values`", f.spec.name),
        )),
    }
}
