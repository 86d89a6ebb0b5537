//! Typed parameter spaces: what a strategy can be tuned on, shared with sweeps and the GA engine.
//!
//! A [`ParamSpace`] is an ordered, static list of [`ParamSpec`]s (name, kind with its bounds,
//! default). [`Params`] is a set of values for one space that has been checked against every
//! bound, so a strategy reading `params.int("fast")` never sees a value outside its range.
//! Cross-parameter constraints (e.g. `fast < slow`) belong to the strategy's `validate`.
//!
//! The one codec between values and what people write: [`ParamSpec::parse`] reads the command
//! line's text (`fast=10`), [`ParamSpec::decode`] a [`ParamLiteral`] from a file (an experiment's
//! TOML axes, a promoted strategy's JSON), [`ParamSpec::encode`] writes one back; every path
//! ends in [`ParamSpec::check`]'s bounds, and a GA's genes in [`Params::from_values`].

use std::fmt;

/// The domain of one parameter; bounds are inclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamKind {
    /// A whole number in `min..=max`.
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A finite real number in `[min, max]`.
    Real {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// One of a fixed list of named options.
    Choice(&'static [&'static str]),
}

impl fmt::Display for ParamKind {
    /// The allowed values in words, as error messages quote them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamKind::Integer { min, max } => write!(f, "an integer in {min}..={max}"),
            ParamKind::Real { min, max } => write!(f, "a number in [{min}, {max}]"),
            ParamKind::Choice(options) => write!(f, "one of {}", options.join(", ")),
        }
    }
}

/// One parameter value. A choice is stored as the index of its option, which is what a GA
/// mutates; [`Params::choice`] gives the name.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ParamValue {
    /// For [`ParamKind::Integer`].
    Int(i64),
    /// For [`ParamKind::Real`].
    Real(f64),
    /// For [`ParamKind::Choice`]: index into its options.
    Choice(usize),
}

/// A parameter value as a file spells it: a whole number, a real number or a choice's option
/// name (JSON and TOML untyped; which one a parameter takes comes from its [`ParamKind`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum ParamLiteral {
    /// A whole number (also accepted for a real parameter).
    Int(i64),
    /// A real number.
    Real(f64),
    /// The name of a choice's option.
    Name(String),
}

impl fmt::Display for ParamLiteral {
    /// As written: `10`, `0.5`, `zscore`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamLiteral::Int(v) => write!(f, "{v}"),
            ParamLiteral::Real(v) => write!(f, "{v}"),
            ParamLiteral::Name(v) => f.write_str(v),
        }
    }
}

/// One tunable parameter: its name, domain and default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamSpec {
    /// Name used on the command line (`name=value`) and in reports.
    pub name: &'static str,
    /// Domain, with bounds.
    pub kind: ParamKind,
    /// Default value (inside the domain; the registry test checks every one).
    pub default: ParamValue,
}

impl ParamSpec {
    /// Checks that `value` has this parameter's kind and lies in its bounds.
    pub fn check(&self, value: ParamValue) -> Result<ParamValue, ParamError> {
        let ok = match (self.kind, value) {
            (ParamKind::Integer { min, max }, ParamValue::Int(v)) => (min..=max).contains(&v),
            (ParamKind::Real { min, max }, ParamValue::Real(v)) => v.is_finite() && v >= min && v <= max,
            (ParamKind::Choice(options), ParamValue::Choice(i)) => i < options.len(),
            _ => false,
        };
        if ok { Ok(value) } else { Err(self.invalid(self.show(value))) }
    }

    /// Parses the textual form of a value (`10`, `0.5`, an option name) and checks it.
    pub fn parse(&self, text: &str) -> Result<ParamValue, ParamError> {
        let text = text.trim();
        let literal = match self.kind {
            ParamKind::Integer { .. } => text.parse().ok().map(ParamLiteral::Int),
            ParamKind::Real { .. } => text.parse().ok().map(ParamLiteral::Real),
            ParamKind::Choice(_) => Some(ParamLiteral::Name(text.to_string())),
        };
        match literal {
            Some(literal) => self.decode(&literal),
            None => Err(self.invalid(text.to_string())),
        }
    }

    /// The value a file's `literal` stands for, checked: an integer for an integer parameter,
    /// a real or an integer for a real one, an option's name for a choice.
    pub fn decode(&self, literal: &ParamLiteral) -> Result<ParamValue, ParamError> {
        let value = match (self.kind, literal) {
            (ParamKind::Integer { .. }, ParamLiteral::Int(v)) => Some(ParamValue::Int(*v)),
            (ParamKind::Real { .. }, ParamLiteral::Real(v)) => Some(ParamValue::Real(*v)),
            (ParamKind::Real { .. }, ParamLiteral::Int(v)) => Some(ParamValue::Real(*v as f64)),
            (ParamKind::Choice(options), ParamLiteral::Name(name)) => {
                options.iter().position(|o| o == name).map(ParamValue::Choice)
            }
            _ => None,
        };
        self.check(value.ok_or_else(|| self.invalid(literal.to_string()))?)
    }

    /// `value` as a file writes it ([`ParamSpec::decode`] reads it back): a choice by its
    /// option's name.
    pub fn encode(&self, value: ParamValue) -> ParamLiteral {
        match (self.kind, value) {
            (ParamKind::Choice(options), ParamValue::Choice(i)) if i < options.len() => {
                ParamLiteral::Name(options[i].to_string())
            }
            (_, ParamValue::Int(v)) => ParamLiteral::Int(v),
            (_, ParamValue::Real(v)) => ParamLiteral::Real(v),
            (_, ParamValue::Choice(i)) => ParamLiteral::Int(i as i64),
        }
    }

    fn invalid(&self, given: String) -> ParamError {
        ParamError::Invalid { name: self.name, given, expected: self.kind.to_string() }
    }

    /// The textual form of `value` for this parameter (an option's name for a choice).
    pub fn show(&self, value: ParamValue) -> String {
        match (self.kind, value) {
            (ParamKind::Choice(options), ParamValue::Choice(i)) if i < options.len() => {
                options[i].to_string()
            }
            (_, ParamValue::Int(v)) => v.to_string(),
            (_, ParamValue::Real(v)) => v.to_string(),
            (_, ParamValue::Choice(i)) => format!("option #{i}"),
        }
    }
}

/// An ordered list of parameters; a strategy's public tuning contract.
#[derive(Debug, PartialEq)]
pub struct ParamSpace {
    specs: &'static [ParamSpec],
}

impl ParamSpace {
    /// A space over `specs`, in the order they are listed, shown and hashed.
    pub const fn new(specs: &'static [ParamSpec]) -> Self {
        ParamSpace { specs }
    }

    /// The parameters in order.
    pub fn specs(&self) -> &'static [ParamSpec] {
        self.specs
    }

    /// Position of the parameter called `name`.
    pub fn index_of(&self, name: &str) -> Result<usize, ParamError> {
        self.specs.iter().position(|s| s.name == name).ok_or_else(|| ParamError::Unknown {
            name: name.to_string(),
            known: self.specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
        })
    }
}

/// A parameter set that cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// A name the space does not have.
    #[error("unknown parameter `{name}` (parameters: {known})")]
    Unknown {
        /// The name given.
        name: String,
        /// The space's parameter names.
        known: String,
    },
    /// A `k=v` assignment without `=`.
    #[error("`{given}` is not a `name=value` assignment")]
    Syntax {
        /// The text given.
        given: String,
    },
    /// A value of the wrong kind or outside the bounds.
    #[error("parameter `{name}` = {given} is invalid: expected {expected}")]
    Invalid {
        /// Parameter name.
        name: &'static str,
        /// The value given, as text.
        given: String,
        /// The allowed values in words, e.g. `an integer in 2..=200`.
        expected: String,
    },
    /// A value vector of the wrong length for the space.
    #[error("{given} parameter values given for a space of {expected}")]
    Count {
        /// Number of values given.
        given: usize,
        /// Number of parameters in the space.
        expected: usize,
    },
    /// Values that are each valid but break a rule between parameters (checked by the strategy).
    #[error("{strategy}: {rule}")]
    Constraint {
        /// Strategy name.
        strategy: &'static str,
        /// The rule broken, with the values, e.g. `fast (30) must be below slow (20)`.
        rule: String,
    },
}

/// Values for every parameter of one space, each checked against its bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    space: &'static ParamSpace,
    values: Vec<ParamValue>,
}

impl Params {
    /// Every parameter at its default.
    pub fn defaults(space: &'static ParamSpace) -> Self {
        Params { space, values: space.specs.iter().map(|s| s.default).collect() }
    }

    /// Values in the space's order (as a sweep or GA produces them), each checked.
    pub fn from_values(space: &'static ParamSpace, values: Vec<ParamValue>) -> Result<Self, ParamError> {
        if values.len() != space.specs.len() {
            return Err(ParamError::Count { given: values.len(), expected: space.specs.len() });
        }
        for (spec, &v) in space.specs.iter().zip(&values) {
            spec.check(v)?;
        }
        Ok(Params { space, values })
    }

    /// Defaults overridden by `name=value` assignments (later ones win), e.g. `["fast=10"]`.
    pub fn parse<'a>(
        space: &'static ParamSpace,
        assignments: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, ParamError> {
        let mut params = Params::defaults(space);
        for text in assignments {
            let (name, value) =
                text.split_once('=').ok_or_else(|| ParamError::Syntax { given: text.to_string() })?;
            let i = space.index_of(name.trim())?;
            params.values[i] = space.specs[i].parse(value)?;
        }
        Ok(params)
    }

    /// Sets one parameter, checked.
    pub fn set(&mut self, name: &str, value: ParamValue) -> Result<(), ParamError> {
        let i = self.space.index_of(name)?;
        self.values[i] = self.space.specs[i].check(value)?;
        Ok(())
    }

    /// The space these values belong to.
    pub fn space(&self) -> &'static ParamSpace {
        self.space
    }

    /// The values in the space's order.
    pub fn values(&self) -> &[ParamValue] {
        &self.values
    }

    fn value(&self, name: &str) -> ParamValue {
        match self.space.index_of(name) {
            Ok(i) => self.values[i],
            Err(e) => panic!("strategy bug: {e}"),
        }
    }

    /// An integer parameter. Panics if `name` is not an integer parameter of the space: a
    /// strategy reading its own space wrongly is a bug, not an input error.
    pub fn int(&self, name: &str) -> i64 {
        match self.value(name) {
            ParamValue::Int(v) => v,
            other => panic!("strategy bug: parameter `{name}` is {other:?}, not an integer"),
        }
    }

    /// An integer parameter as a count or window length (its space bounds it at 0 or above).
    pub fn usize(&self, name: &str) -> usize {
        usize::try_from(self.int(name))
            .unwrap_or_else(|_| panic!("strategy bug: parameter `{name}` is negative"))
    }

    /// A real parameter. Panics like [`Params::int`] on a wrong name or kind.
    pub fn real(&self, name: &str) -> f64 {
        match self.value(name) {
            ParamValue::Real(v) => v,
            other => panic!("strategy bug: parameter `{name}` is {other:?}, not a real"),
        }
    }

    /// A choice parameter's option name. Panics like [`Params::int`] on a wrong name or kind.
    pub fn choice(&self, name: &str) -> &'static str {
        let i = self.space.index_of(name).unwrap_or_else(|e| panic!("strategy bug: {e}"));
        match (self.space.specs[i].kind, self.values[i]) {
            (ParamKind::Choice(options), ParamValue::Choice(k)) => options[k],
            (_, other) => panic!("strategy bug: parameter `{name}` is {other:?}, not a choice"),
        }
    }

    /// A stable 64-bit hash of the values: xxh3 of the canonical encoding `name \0 tag value`
    /// per parameter in order (integers and reals as little-endian bytes, −0.0 as 0.0, choices
    /// by option name), so it survives reordering options' indices only if names stay put and
    /// is the same on every platform and run.
    pub fn hash(&self) -> u64 {
        let mut buf = Vec::with_capacity(16 * self.values.len());
        for (spec, &v) in self.space.specs.iter().zip(&self.values) {
            buf.extend_from_slice(spec.name.as_bytes());
            buf.push(0);
            match v {
                ParamValue::Int(x) => {
                    buf.push(b'i');
                    buf.extend_from_slice(&x.to_le_bytes());
                }
                ParamValue::Real(x) => {
                    buf.push(b'r');
                    let x = if x == 0.0 { 0.0 } else { x };
                    buf.extend_from_slice(&x.to_bits().to_le_bytes());
                }
                ParamValue::Choice(_) => {
                    buf.push(b'c');
                    buf.extend_from_slice(spec.show(v).as_bytes());
                    buf.push(0);
                }
            }
        }
        xxhash_rust::xxh3::xxh3_64(&buf)
    }
}

impl fmt::Display for Params {
    /// `name=value` pairs separated by spaces, in the space's order; parses back with
    /// [`Params::parse`]. A precision (`{:.4}`) rounds real values for display only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, (spec, &v)) in self.space.specs.iter().zip(&self.values).enumerate() {
            let sep = if k == 0 { "" } else { " " };
            match (v, f.precision()) {
                (ParamValue::Real(x), Some(digits)) => write!(f, "{sep}{}={x:.digits$}", spec.name)?,
                _ => write!(f, "{sep}{}={}", spec.name, spec.show(v))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SPACE: ParamSpace = ParamSpace::new(&[
        ParamSpec {
            name: "fast",
            kind: ParamKind::Integer { min: 2, max: 200 },
            default: ParamValue::Int(10),
        },
        ParamSpec { name: "k", kind: ParamKind::Real { min: 0.5, max: 5.0 }, default: ParamValue::Real(2.0) },
        ParamSpec {
            name: "mode",
            kind: ParamKind::Choice(&["zscore", "rsi"]),
            default: ParamValue::Choice(0),
        },
    ]);

    #[test]
    fn parse_overrides_defaults_and_reads_typed_values() {
        let p = Params::parse(&SPACE, ["fast=25", " k = 1.5", "mode=rsi"]).unwrap();
        assert_eq!((p.int("fast"), p.usize("fast"), p.real("k"), p.choice("mode")), (25, 25, 1.5, "rsi"));
        assert_eq!(p.to_string(), "fast=25 k=1.5 mode=rsi");
        let back = Params::parse(&SPACE, p.to_string().split(' ')).unwrap();
        assert_eq!(back, p);
        let long = Params::parse(&SPACE, ["k=1.23456789"]).unwrap();
        assert_eq!(format!("{long:.3}"), "fast=10 k=1.235 mode=zscore", "a precision rounds reals only");
        assert_eq!(long.to_string(), "fast=10 k=1.23456789 mode=zscore");
        let d = Params::defaults(&SPACE);
        assert_eq!((d.int("fast"), d.real("k"), d.choice("mode")), (10, 2.0, "zscore"));
    }

    #[test]
    fn parse_errors_name_the_parameter_and_the_allowed_values() {
        let err = |a: &str| Params::parse(&SPACE, [a]).unwrap_err().to_string();
        assert_eq!(err("fast=1"), "parameter `fast` = 1 is invalid: expected an integer in 2..=200");
        assert_eq!(err("fast=ten"), "parameter `fast` = ten is invalid: expected an integer in 2..=200");
        assert_eq!(err("k=9"), "parameter `k` = 9 is invalid: expected a number in [0.5, 5]");
        assert_eq!(err("k=NaN"), "parameter `k` = NaN is invalid: expected a number in [0.5, 5]");
        assert_eq!(err("mode=both"), "parameter `mode` = both is invalid: expected one of zscore, rsi");
        assert_eq!(err("slow=3"), "unknown parameter `slow` (parameters: fast, k, mode)");
        assert_eq!(err("fast"), "`fast` is not a `name=value` assignment");
        let values = vec![ParamValue::Real(10.0), ParamValue::Real(1.0), ParamValue::Choice(0)];
        assert!(matches!(Params::from_values(&SPACE, values), Err(ParamError::Invalid { name: "fast", .. })));
        assert_eq!(
            Params::from_values(&SPACE, vec![]).unwrap_err(),
            ParamError::Count { given: 0, expected: 3 }
        );
        let mut p = Params::defaults(&SPACE);
        assert!(p.set("mode", ParamValue::Choice(2)).is_err());
        assert_eq!(p, Params::defaults(&SPACE), "a refused set changes nothing");
    }

    #[test]
    fn hash_is_stable_and_separates_values() {
        let d = Params::defaults(&SPACE);
        // Pinned: the hash is stored with signals, so it must not drift between builds.
        assert_eq!(d.hash(), Params::defaults(&SPACE).hash());
        assert_eq!(d.hash(), 0x7c99_9a31_22c7_dc10, "update only with a storage migration");
        let mut other = d.clone();
        other.set("fast", ParamValue::Int(11)).unwrap();
        assert_ne!(other.hash(), d.hash());
        let mut real = d.clone();
        real.set("k", ParamValue::Real(2.0000000001)).unwrap();
        assert_ne!(real.hash(), d.hash());
        let mut choice = d.clone();
        choice.set("mode", ParamValue::Choice(1)).unwrap();
        assert_ne!(choice.hash(), d.hash());
    }

    /// The one codec: a file's literal and the command line's text decode to the same checked
    /// value, encode writes it back, and every refusal names the parameter and its domain.
    #[test]
    fn literals_and_text_decode_alike_and_encode_back() {
        let [fast, k, mode] = SPACE.specs() else { panic!("three parameters") };
        let cases = [
            (fast, ParamLiteral::Int(25), "25", ParamValue::Int(25)),
            (k, ParamLiteral::Real(1.5), "1.5", ParamValue::Real(1.5)),
            (mode, ParamLiteral::Name("rsi".into()), "rsi", ParamValue::Choice(1)),
        ];
        for (spec, literal, text, value) in cases {
            assert_eq!(spec.decode(&literal).unwrap(), value, "{}", spec.name);
            assert_eq!(spec.parse(text).unwrap(), value, "{}", spec.name);
            assert_eq!(spec.encode(value), literal, "{}", spec.name);
        }
        assert_eq!(k.decode(&ParamLiteral::Int(2)).unwrap(), ParamValue::Real(2.0), "an integer for a real");
        let err = |spec: &ParamSpec, l: ParamLiteral| spec.decode(&l).unwrap_err().to_string();
        assert_eq!(
            err(fast, ParamLiteral::Real(1.5)),
            "parameter `fast` = 1.5 is invalid: expected an integer in 2..=200"
        );
        assert_eq!(
            err(fast, ParamLiteral::Int(1)),
            "parameter `fast` = 1 is invalid: expected an integer in 2..=200"
        );
        assert_eq!(
            err(k, ParamLiteral::Name("x".into())),
            "parameter `k` = x is invalid: expected a number in [0.5, 5]"
        );
        assert_eq!(
            err(mode, ParamLiteral::Name("both".into())),
            "parameter `mode` = both is invalid: expected one of zscore, rsi"
        );
        let json: Vec<ParamLiteral> = serde_json::from_str(r#"[10, 0.5, "rsi"]"#).unwrap();
        assert_eq!(json, [ParamLiteral::Int(10), ParamLiteral::Real(0.5), ParamLiteral::Name("rsi".into())]);
        assert_eq!(serde_json::to_string(&json).unwrap(), r#"[10,0.5,"rsi"]"#);
    }
}
