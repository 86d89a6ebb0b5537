//! Strategy files (`.tbs`, "tradebot strategy"): a user's own strategy as text, with named,
//! bounded parameters, run like any built-in family.
//!
//! ```text
//! ; A moving-average cross with a stop.
//! (param fast int 10 2 50)        ; name, int|float, default, min, max
//! (param slow int 40 10 200)
//! (param stop float 0.05 0.01 0.2)
//! (strategy
//!   (entry (cross-above (sma fast close) (sma slow close)))
//!   (exit (cross-below (sma fast close) (sma slow close)))
//!   (size 1)
//!   (stop-loss stop))
//! ```
//!
//! A file is `;` comments, zero or more `(param NAME int|float DEFAULT MIN MAX)` forms, then
//! one `(strategy …)` form ([`crate::sexpr`]) in which a parameter's name may stand wherever a
//! number may. Parameters are checked once, over their whole declared range, against every
//! place they stand (an `int` for a window or a time-stop, a range inside the window's or
//! the gene's), so every value a sweep, a GA or `--param` gives them binds to a valid genome.
//! Their [`ParamSpec`]s are the kernel's, so sweeps, evolution and the command line read and
//! write their values through the one codec.
//!
//! [`FileStrategy`] is a [`Strategy`] like the built-in families: interned once per process
//! (its space must be `'static`, as the registry's are), it runs in backtests, sweeps,
//! evolution and research.

use std::cell::Cell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use kernel::sim::ExitRules;
use kernel::strategy::{
    Cadence, MarketData, ParamKind, ParamSpace, ParamSpec, ParamValue, Params, SignalSet, Strategy,
    StrategyError,
};

use crate::genome::Genome;
use crate::sexpr::{self, Names, ParseError, Slot, Tok};

/// The file extension of a strategy file (`.sexp` is read alike).
pub const EXTENSION: &str = "tbs";

/// Most parameters one file declares.
pub const MAX_PARAMS: usize = 64;

/// Words a parameter cannot be called: the language's own names.
fn reserved(name: &str) -> bool {
    let words = ["open", "high", "low", "close", "volume", "regime", "true", "false", "param", "strategy"];
    words.contains(&name)
        || sexpr::PARTS.contains(&name)
        || sexpr::operators().iter().any(|op| op.name == name)
}

/// A strategy file that cannot be read or is not a valid strategy.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not a valid strategy: where and what was expected.
    #[error("{file}:{}:{}: {}", .at.line, .at.column, .at.message)]
    Syntax {
        /// The file.
        file: String,
        /// The position and message.
        at: ParseError,
    },
}

/// A parsed, type-checked strategy file.
#[derive(Clone, Debug)]
pub struct StrategyFile {
    file: String,
    text: String,
    params: Vec<ParamSpec>,
    /// Byte offset of the `(strategy` form.
    from: usize,
}

/// The declared parameters with the values they stand for, recording which ones are used.
struct Binding<'p> {
    params: &'p [ParamSpec],
    values: Vec<f64>,
    used: Vec<Cell<bool>>,
}

impl<'p> Binding<'p> {
    fn new(params: &'p [ParamSpec], values: Vec<f64>) -> Self {
        Binding { params, values, used: params.iter().map(|_| Cell::new(false)).collect() }
    }
}

/// A parameter's value as a number.
fn number(v: ParamValue) -> f64 {
    match v {
        ParamValue::Int(x) => x as f64,
        ParamValue::Real(x) => x,
        ParamValue::Choice(i) => i as f64,
    }
}

/// A parameter's declared range as numbers, and whether it is whole.
fn range(kind: ParamKind) -> (f64, f64, bool) {
    match kind {
        ParamKind::Integer { min, max } => (min as f64, max as f64, true),
        ParamKind::Real { min, max } => (min, max, false),
        ParamKind::Choice(options) => (0.0, options.len().saturating_sub(1) as f64, true),
    }
}

impl Names for Binding<'_> {
    fn resolve(&self, name: &str, slot: &Slot<'_>) -> Option<Result<f64, String>> {
        let i = self.params.iter().position(|p| p.name == name)?;
        self.used[i].set(true);
        let (lo, hi, whole) = range(self.params[i].kind);
        let what = slot.what;
        if slot.whole && !whole {
            return Some(Err(format!(
                "param `{name}` is a float but {what} takes a whole number: declare it `int`"
            )));
        }
        let (min, max) = slot.range;
        if lo < min || hi > max {
            let bounds = |a: f64, b: f64, whole: bool| {
                if whole { format!("{a}..={b}") } else { format!("[{a}, {b}]") }
            };
            return Some(Err(format!(
                "param `{name}` ranges over {} but {what} takes {}: narrow its bounds",
                bounds(lo, hi, whole),
                bounds(min, max, slot.whole)
            )));
        }
        Some(Ok(self.values[i]))
    }

    fn names(&self) -> Vec<&str> {
        self.params.iter().map(|p| p.name).collect()
    }
}

/// Interned parameter names: a [`ParamSpec`]'s name is `'static`, as the registry's are; each
/// distinct name is kept once per process.
fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<Vec<&'static str>>> = OnceLock::new();
    let mut names = NAMES.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&n) = names.iter().find(|&&n| n == name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.push(n);
    n
}

/// Reads the top-level forms of a file.
struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    toks: Vec<Tok<'a>>,
    at: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, offset: usize, message: impl Into<String>) -> FileError {
        FileError::Syntax { file: self.file.to_string(), at: sexpr::locate(self.text, offset, message) }
    }

    fn next(&mut self) -> Tok<'a> {
        let t = self.toks[self.at];
        if !matches!(t, Tok::End(_)) {
            self.at += 1;
        }
        t
    }

    /// The next token as a word, or an error saying `what` was expected.
    fn word(&mut self, what: &str) -> Result<(usize, &'a str), FileError> {
        match self.next() {
            Tok::Atom(o, a) => Ok((o, a)),
            Tok::End(o) => Err(self.error(o, format!("unexpected end of file: expected {what}"))),
            Tok::Open(o) => Err(self.error(o, format!("expected {what}, found `(`"))),
            Tok::Close(o) => Err(self.error(o, format!("expected {what}, found `)`"))),
        }
    }

    /// `(param NAME int|float DEFAULT MIN MAX)`, after `(param`; the spec and where its name is.
    fn param(&mut self, declared: &[ParamSpec]) -> Result<(ParamSpec, usize), FileError> {
        let (o, name) = self.word("a parameter name")?;
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            let message =
                format!("`{name}` is not a parameter name (a letter, then letters, digits, `_` or `-`)");
            return Err(self.error(o, message));
        }
        if reserved(name) {
            return Err(
                self.error(o, format!("`{name}` is a name of the language: call the parameter otherwise"))
            );
        }
        if declared.iter().any(|p| p.name == name) {
            return Err(self.error(o, format!("param `{name}` is declared twice")));
        }
        let (ko, kind) = self.word("the parameter's type, `int` or `float`")?;
        let mut values = [0.0; 3];
        let mut ints = [0i64; 3];
        let mut offsets = [0usize; 3];
        for (k, what) in ["default", "min", "max"].into_iter().enumerate() {
            let (vo, v) = self.word(&format!("the {what} of param `{name}`"))?;
            offsets[k] = vo;
            match kind {
                "int" => {
                    ints[k] = v.parse().map_err(|_| {
                        self.error(
                            vo,
                            format!("the {what} of int param `{name}` must be a whole number, found `{v}`"),
                        )
                    })?;
                }
                "float" => {
                    values[k] = v.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| {
                        self.error(
                            vo,
                            format!(
                                "the {what} of float param `{name}` must be a finite number, found `{v}`"
                            ),
                        )
                    })?;
                }
                other => {
                    let message = format!("unknown parameter type `{other}`: expected `int` or `float`");
                    return Err(self.error(ko, message));
                }
            }
        }
        match self.next() {
            Tok::Close(_) => {}
            t => {
                return Err(self.error(
                    t.offset(),
                    format!("param `{name}` takes NAME TYPE DEFAULT MIN MAX: expected `)`"),
                ));
            }
        }
        let (kind, default) = if kind == "int" {
            let [d, min, max] = ints;
            (ParamKind::Integer { min, max }, ParamValue::Int(d))
        } else {
            let [d, min, max] = values;
            (ParamKind::Real { min, max }, ParamValue::Real(d))
        };
        let (lo, hi, _) = range(kind);
        if lo > hi {
            return Err(self.error(offsets[1], format!("param `{name}`: min {lo} is above max {hi}")));
        }
        let spec = ParamSpec { name: intern(name), kind, default };
        spec.check(default)
            .map_err(|e| self.error(offsets[0], format!("the default is outside the bounds: {e}")))?;
        Ok((spec, o))
    }
}

impl StrategyFile {
    /// Parses and type-checks `text`; `file` names it in errors (`file:line:column: message`).
    pub fn parse(file: &str, text: &str) -> Result<StrategyFile, FileError> {
        let toks = sexpr::tokenize(text).map_err(|at| FileError::Syntax { file: file.to_string(), at })?;
        let mut r = Reader { file, text, toks, at: 0 };
        let mut params: Vec<ParamSpec> = Vec::new();
        let mut names_at = Vec::new();
        let from = loop {
            match r.next() {
                Tok::Open(open) => {
                    let (o, head) = r.word("`param` or `strategy` after `(`")?;
                    match head {
                        "param" if params.len() == MAX_PARAMS => {
                            return Err(r.error(o, format!("more than {MAX_PARAMS} params")));
                        }
                        "param" => {
                            let (spec, at) = r.param(&params)?;
                            params.push(spec);
                            names_at.push(at);
                        }
                        "strategy" => break open,
                        other => {
                            let message = format!("expected `(param …)` or `(strategy …)`, found `({other}`");
                            let known = ["param", "strategy"];
                            return Err(r.error(o, sexpr::suggest(message, other, known)));
                        }
                    }
                }
                Tok::End(o) => return Err(r.error(o, "the file has no `(strategy …)` form")),
                t => return Err(r.error(t.offset(), "expected `(param …)` or `(strategy …)`")),
            }
        };
        let parsed = StrategyFile { file: file.to_string(), text: text.to_string(), params, from };
        let defaults = parsed.params.iter().map(|p| number(p.default)).collect();
        let binding = Binding::new(&parsed.params, defaults);
        sexpr::genome_with(text, from, &binding).map_err(|at| parsed.syntax(at))?;
        if let Some(k) = binding.used.iter().position(|u| !u.get()) {
            let message = format!("param `{}` is declared but never used", parsed.params[k].name);
            return Err(parsed.syntax(sexpr::locate(text, names_at[k], message)));
        }
        Ok(parsed)
    }

    /// Reads and parses the file at `path`, refusing one above [`sexpr::MAX_TEXT`] bytes
    /// before reading it.
    pub fn read(path: &Path) -> Result<StrategyFile, FileError> {
        let file = path.display().to_string();
        let io = |source| FileError::Io { file: file.clone(), source };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > sexpr::MAX_TEXT as u64 {
            let message = format!("the file is {len} bytes, above the limit of {}", sexpr::MAX_TEXT);
            return Err(FileError::Syntax { file, at: sexpr::locate("", 0, message) });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        StrategyFile::parse(&file, &text)
    }

    fn syntax(&self, at: ParseError) -> FileError {
        FileError::Syntax { file: self.file.clone(), at }
    }

    /// The declared parameters, in the file's order.
    pub fn params(&self) -> &[ParamSpec] {
        &self.params
    }

    /// The file's text, verbatim.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The file's name as errors show it.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// A stable 64-bit identity of the text: xxh3 of its bytes.
    pub fn hash(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(self.text.as_bytes())
    }

    /// The genome with every parameter at its value in `values` (one per parameter, in order).
    pub fn bind_values(&self, values: &[ParamValue]) -> Result<Genome, FileError> {
        let values: Vec<f64> = values.iter().copied().map(number).collect();
        if values.len() != self.params.len() {
            let message = format!("{} values for {} params", values.len(), self.params.len());
            return Err(self.syntax(sexpr::locate(&self.text, self.from, message)));
        }
        let binding = Binding::new(&self.params, values);
        sexpr::genome_with(&self.text, self.from, &binding).map_err(|at| self.syntax(at))
    }

    /// The genome at `params` (checked against the declared bounds by [`Params`]).
    pub fn bind(&self, params: &Params) -> Result<Genome, FileError> {
        self.bind_values(params.values())
    }

    /// The genome with every parameter at its default.
    pub fn defaults(&self) -> Genome {
        let values: Vec<ParamValue> = self.params.iter().map(|p| p.default).collect();
        self.bind_values(&values).expect("a parsed file binds at its defaults")
    }

    /// Whether the strategy writes its own protective exits (stop-loss, take-profit, time-stop).
    pub fn has_own_exits(&self) -> bool {
        self.defaults().genes.exits() != ExitRules::default()
    }
}

/// A strategy file as a [`Strategy`]: a family named after the file (or its research table),
/// whose parameters are the file's.
#[derive(Debug)]
pub struct FileStrategy {
    name: &'static str,
    description: &'static str,
    space: &'static ParamSpace,
    file: StrategyFile,
    own_exits: bool,
}

impl FileStrategy {
    /// The strategy of `file` under `name`, interned: the same name and text give the same
    /// `'static` strategy for the rest of the process (its parameter space must be `'static`,
    /// as the built-in families' are), so loading a file again costs no memory.
    pub fn intern(name: &str, file: StrategyFile) -> &'static FileStrategy {
        type Table = HashMap<(String, u64), &'static FileStrategy>;
        static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
        let mut table = TABLE.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
        let key = (name.to_string(), file.hash());
        if let Some(&s) = table.get(&key) {
            return s;
        }
        let specs: &'static [ParamSpec] = Box::leak(file.params.clone().into_boxed_slice());
        let description = format!("strategy file {}", file.file);
        let own_exits = file.has_own_exits();
        let strategy: &'static FileStrategy = Box::leak(Box::new(FileStrategy {
            name: intern(name),
            description: Box::leak(description.into_boxed_str()),
            space: Box::leak(Box::new(ParamSpace::new(specs))),
            file,
            own_exits,
        }));
        table.insert(key, strategy);
        strategy
    }

    /// The name a strategy file runs under outside a research file (where its table names it):
    /// its file name with the extension, e.g. `trend_pullback.tbs`, so a file never takes a
    /// built-in family's name (`sma_cross.tbs` is not `sma_cross`).
    pub fn name_of(path: &Path) -> String {
        path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
    }

    /// Reads the file at `path` as a strategy named [`FileStrategy::name_of`] it.
    pub fn load(path: &Path) -> Result<&'static FileStrategy, FileError> {
        let file = StrategyFile::read(path)?;
        Ok(FileStrategy::intern(&FileStrategy::name_of(path), file))
    }

    /// The parsed file.
    pub fn file(&self) -> &StrategyFile {
        &self.file
    }
}

impl Strategy for FileStrategy {
    fn name(&self) -> &'static str {
        self.name
    }

    fn description(&self) -> &'static str {
        self.description
    }

    fn space(&self) -> &'static ParamSpace {
        self.space
    }

    fn signals(&self, params: &Params, data: &MarketData) -> Result<SignalSet, StrategyError> {
        let genome = self.file.bind(params).map_err(|e| StrategyError::Source(Box::new(e)))?;
        crate::eval::signals(&genome, data).map_err(|e| StrategyError::Source(Box::new(e)))
    }

    fn cadence(&self) -> Option<Cadence> {
        // A daily per-symbol rule, like a GP genome: 10:00 New York.
        Some(Cadence::daily(10, 0))
    }

    fn own_exits(&self, params: &Params) -> Option<ExitRules> {
        if !self.own_exits {
            return None;
        }
        self.file.bind(params).ok().map(|g| g.genes.exits())
    }
}

#[cfg(test)]
mod tests;
