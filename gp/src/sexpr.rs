//! The readable text form: s-expressions that parse back to the same genome.
//!
//! ```text
//! (strategy
//!   (entry (and (gt close (sma 50 close)) (lt (rsi 14 close) 30)))
//!   (exit (cross-below close (ema 20 close)))
//!   (size 0.5) (stop-loss 0.05) (take-profit 0.1) (time-stop 20))
//! ```
//!
//! Numeric: `open high low close volume regime`, a finite number, `(sma|ema|rsi|roc|zscore W
//! FIELD)`, `(atr W)`, `(relvol W)`, `(abs X)`, `(rank X)`, `(lag|mean|std|hi|lo W X)`,
//! `(add|sub|mul|div|min|max X Y)`. Boolean: `true false`, `(gt|lt|ge|le|cross-above|cross-below X Y)`,
//! `(and|or P Q)`, `(not P)`. The genes after `entry` and `exit` are optional (`size` defaults
//! to 1, the stops to none). Numbers print in Rust's shortest round-trip form, so text →
//! genome → text is the identity on printed text and genome → text → genome on genomes.
//! A parse error names the byte offset, line and column, and an unknown name suggests the
//! nearest known one. Text is bounded before any tree is built ([`MAX_TEXT`], [`MAX_DEPTH`],
//! [`MAX_NODES`]), so hostile input is refused with an error, never a stack overflow.

use std::fmt::{self, Display, Formatter};
use std::str::FromStr;

use crate::genome::{Genes, Genome, MIN_SIZE, STOP_LOSS, TAKE_PROFIT, TIME_STOP};
use crate::tree::{BinOp, Bool, CmpOp, Const, Field, Indicator, Logic, MAX_WINDOW, Num, UnOp, WinOp, Window};

/// The parts of a `(strategy …)` form, in the order they print.
pub const PARTS: [&str; 6] = ["entry", "exit", "size", "stop-loss", "take-profit", "time-stop"];

/// Longest text the parser reads, in bytes.
pub const MAX_TEXT: usize = 1 << 20;
/// Deepest nesting of parentheses (a rule of depth `d` nests `d + 2` deep in `(strategy (entry …))`).
pub const MAX_DEPTH: usize = 64;
/// Most nodes (names, numbers and parenthesised forms) in one text.
pub const MAX_NODES: usize = 10_000;

impl Display for Num {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Num::Field(x) => f.write_str(x.name()),
            Num::Const(c) => write!(f, "{}", c.get()),
            Num::Regime => f.write_str("regime"),
            Num::Ind(ind, field, w) if ind.takes_field() => {
                write!(f, "({} {} {})", ind.name(), w.raw(), field.name())
            }
            Num::Ind(ind, _, w) => write!(f, "({} {})", ind.name(), w.raw()),
            Num::Un(op, a) => write!(f, "({} {a})", op.name()),
            Num::Win(op, w, a) => write!(f, "({} {} {a})", op.name(), w.raw()),
            Num::Bin(op, a, b) => write!(f, "({} {a} {b})", op.name()),
        }
    }
}

impl Display for Bool {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Bool::Const(b) => write!(f, "{b}"),
            Bool::Cmp(op, a, b) => write!(f, "({} {a} {b})", op.name()),
            Bool::Logic(op, p, q) => write!(f, "({} {p} {q})", op.name()),
            Bool::Not(p) => write!(f, "(not {p})"),
        }
    }
}

impl Display for Genome {
    /// One line; `{:#}` puts each part on its own line for reading.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let sep = if f.alternate() { "\n  " } else { " " };
        write!(f, "(strategy{sep}(entry {}){sep}(exit {})", self.entry, self.exit)?;
        let g = &self.genes;
        write!(f, "{sep}(size {})", g.size)?;
        if let Some(s) = g.stop_loss {
            write!(f, "{sep}(stop-loss {s})")?;
        }
        if let Some(t) = g.take_profit {
            write!(f, "{sep}(take-profit {t})")?;
        }
        if let Some(m) = g.time_stop {
            write!(f, "{sep}(time-stop {m})")?;
        }
        f.write_str(")")
    }
}

/// Text that is not a well-formed, well-typed genome.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column} (byte {offset}): {message}")]
pub struct ParseError {
    /// Byte offset of the offending token.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// A token with its byte offset.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Tok<'a> {
    Open(usize),
    Close(usize),
    Atom(usize, &'a str),
    End(usize),
}

impl Tok<'_> {
    /// Byte offset in the text.
    pub(crate) fn offset(&self) -> usize {
        match *self {
            Tok::Open(o) | Tok::Close(o) | Tok::Atom(o, _) | Tok::End(o) => o,
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Tok<'a>>,
    at: usize,
    names: Option<&'a dyn Names>,
}

/// What a numeric place in the text accepts; a parameter standing there must fit it over its
/// whole declared range, so every value a sweep or a GA gives it is valid.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot<'s> {
    /// The place in words, e.g. "the window of `sma`".
    pub(crate) what: &'s str,
    /// Whether only whole numbers fit.
    pub(crate) whole: bool,
    /// The values that fit, inclusive.
    pub(crate) range: (f64, f64),
}

/// Names that stand for numbers: a strategy file's parameters.
pub(crate) trait Names {
    /// `None` when `name` is not one of them; else its value, or why it does not fit `slot`.
    fn resolve(&self, name: &str, slot: &Slot<'_>) -> Option<Result<f64, String>>;
    /// Every name, for suggestions.
    fn names(&self) -> Vec<&str>;
}

/// The name in `known` nearest to `word` by edit distance, when it is near enough to be a typo.
pub fn nearest<'k>(word: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let limit = 2.max(word.chars().count() / 3);
    known
        .into_iter()
        .map(|k| (strsim::levenshtein(word, k), k))
        .filter(|&(d, k)| d <= limit && d < k.chars().count().max(word.chars().count()))
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// `message`, with "did you mean `x`?" when a known name is near `word`.
pub(crate) fn suggest<'k>(message: String, word: &str, known: impl IntoIterator<Item = &'k str>) -> String {
    match nearest(word, known) {
        Some(k) => format!("{message}; did you mean `{k}`?"),
        None => message,
    }
}

/// One operator of the language as the documentation lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    /// Its name, e.g. `sma`.
    pub name: &'static str,
    /// Its form with argument placeholders, e.g. `(sma W FIELD)`: `W` a window, `FIELD` a bar
    /// field, `X Y` numbers, `P Q` booleans.
    pub shape: String,
    /// What it gives: `number` or `boolean`.
    pub gives: &'static str,
}

/// Every operator the parser reads, in a fixed order: for suggestions and for the
/// documentation's operator table (a test keeps the two equal).
pub fn operators() -> Vec<Operator> {
    let num =
        |name: &'static str, args: &str| Operator { name, shape: format!("({name}{args})"), gives: "number" };
    let boolean = |name: &'static str, args: &str| Operator {
        name,
        shape: format!("({name}{args})"),
        gives: "boolean",
    };
    let mut out = Vec::new();
    for ind in Indicator::ALL {
        out.push(num(ind.name(), if ind.takes_field() { " W FIELD" } else { " W" }));
    }
    out.extend(UnOp::ALL.map(|op| num(op.name(), " X")));
    out.extend(WinOp::ALL.map(|op| num(op.name(), " W X")));
    out.extend(BinOp::ALL.map(|op| num(op.name(), " X Y")));
    out.extend(CmpOp::ALL.map(|op| boolean(op.name(), " X Y")));
    out.extend([Logic::And, Logic::Or].map(|op| boolean(op.name(), " P Q")));
    out.push(boolean("not", " P"));
    out
}

/// The error at byte `offset` of `text`, with its line and column.
pub(crate) fn locate(text: &str, offset: usize, message: impl Into<String>) -> ParseError {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    ParseError { offset, line, column, message: message.into() }
}

/// The tokens of `text`, refused past [`MAX_TEXT`] bytes, [`MAX_DEPTH`] nested parentheses or
/// [`MAX_NODES`] nodes before anything is built from them.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Tok<'_>>, ParseError> {
    if text.len() > MAX_TEXT {
        let message = format!("the text is {} bytes, above the limit of {MAX_TEXT}", text.len());
        return Err(locate(text, MAX_TEXT, message));
    }
    let mut toks = Vec::new();
    let bytes = text.as_bytes();
    let (mut i, mut depth, mut nodes) = (0, 0usize, 0usize);
    while i < bytes.len() {
        let start = i;
        match bytes[i] {
            b'(' => {
                toks.push(Tok::Open(i));
                depth += 1;
                i += 1;
            }
            b')' => {
                toks.push(Tok::Close(i));
                depth = depth.saturating_sub(1);
                i += 1;
                continue;
            }
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b';' => {
                // A comment runs to the end of the line.
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            _ => {
                while i < bytes.len()
                    && !matches!(bytes[i], b'(' | b')' | b';')
                    && !bytes[i].is_ascii_whitespace()
                {
                    i += 1;
                }
                toks.push(Tok::Atom(start, &text[start..i]));
            }
        }
        nodes += 1;
        if depth > MAX_DEPTH {
            let message = format!("parentheses nest deeper than {MAX_DEPTH} levels: simplify the expression");
            return Err(locate(text, start, message));
        }
        if nodes > MAX_NODES {
            let message = format!("more than {MAX_NODES} names, numbers and forms: the text is too large");
            return Err(locate(text, start, message));
        }
    }
    toks.push(Tok::End(text.len()));
    Ok(toks)
}

impl<'a> Parser<'a> {
    fn error(&self, offset: usize, message: impl Into<String>) -> ParseError {
        locate(self.text, offset, message)
    }

    fn peek(&self) -> Tok<'a> {
        self.toks[self.at]
    }

    fn next(&mut self) -> Tok<'a> {
        let t = self.toks[self.at];
        if !matches!(t, Tok::End(_)) {
            self.at += 1;
        }
        t
    }

    fn expect_open(&mut self, what: &str) -> Result<(), ParseError> {
        match self.next() {
            Tok::Open(_) => Ok(()),
            t => Err(self.error(t.offset(), format!("expected `(` starting {what}"))),
        }
    }

    fn expect_close(&mut self, what: &str) -> Result<(), ParseError> {
        match self.next() {
            Tok::Close(_) => Ok(()),
            Tok::End(o) => Err(self.error(o, format!("unexpected end of text: `{what}` needs a `)`"))),
            t => Err(self.error(t.offset(), format!("too many arguments: `{what}` needs a `)` here"))),
        }
    }

    /// `(name` — the operator name after an opening parenthesis.
    fn head(&mut self) -> Result<(usize, &'a str), ParseError> {
        match self.next() {
            Tok::Atom(o, name) => Ok((o, name)),
            t => Err(self.error(t.offset(), "expected an operator name after `(`")),
        }
    }

    /// A parameter's value where `slot` stands, `None` when `word` is no parameter.
    fn param(&self, o: usize, word: &str, slot: &Slot<'_>) -> Option<Result<f64, ParseError>> {
        let found = self.names?.resolve(word, slot)?;
        Some(found.map_err(|message| self.error(o, message)))
    }

    /// The known parameter names, for suggestions.
    fn param_names(&self) -> Vec<&'a str> {
        self.names.map(|n| n.names()).unwrap_or_default()
    }

    fn number(&mut self, slot: Slot<'_>) -> Result<(usize, f64), ParseError> {
        let what = slot.what;
        match self.next() {
            Tok::Atom(o, a) => match a.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok((o, x)),
                _ => match self.param(o, a, &slot) {
                    Some(value) => Ok((o, value?)),
                    None => {
                        let message = format!("expected a finite number for {what}, found `{a}`");
                        Err(self.error(o, suggest(message, a, self.param_names())))
                    }
                },
            },
            t => Err(self.error(t.offset(), format!("expected a number for {what}"))),
        }
    }

    fn window(&mut self, op: &str, min: u16) -> Result<Window, ParseError> {
        let what = format!("the window of `{op}`");
        let slot = Slot { what: &what, whole: true, range: (f64::from(min), f64::from(MAX_WINDOW)) };
        let (o, x) = self.number(slot)?;
        let ok = x.fract() == 0.0 && x >= f64::from(min) && x <= f64::from(MAX_WINDOW);
        match Window::new(x as u16) {
            Some(w) if ok => Ok(w),
            _ => {
                Err(self.error(o, format!("`{op}` needs a whole window in {min}..={MAX_WINDOW}, found {x}")))
            }
        }
    }

    fn field(&mut self, op: &str) -> Result<Field, ParseError> {
        match self.next() {
            Tok::Atom(o, a) => Field::ALL.into_iter().find(|f| f.name() == a).ok_or_else(|| {
                self.error(
                    o,
                    format!("`{op}` reads a bar field (open, high, low, close, volume), found `{a}`"),
                )
            }),
            t => {
                Err(self
                    .error(t.offset(), format!("`{op}` reads a bar field (open, high, low, close, volume)")))
            }
        }
    }

    fn num(&mut self) -> Result<Num, ParseError> {
        match self.next() {
            Tok::Atom(o, a) => {
                if let Some(f) = Field::ALL.into_iter().find(|f| f.name() == a) {
                    return Ok(Num::Field(f));
                }
                if a == "regime" {
                    return Ok(Num::Regime);
                }
                if a == "true" || a == "false" {
                    return Err(self.error(o, format!("`{a}` is a boolean where a number is needed")));
                }
                if let Some(c) = a.parse::<f64>().ok().and_then(Const::new) {
                    return Ok(Num::Const(c));
                }
                let slot = Slot { what: "a number", whole: false, range: (f64::MIN, f64::MAX) };
                match self.param(o, a, &slot) {
                    Some(x) => Ok(Num::constant(x?)),
                    None => {
                        let terminals = Field::ALL.map(Field::name).into_iter().chain(["regime"]);
                        let known = terminals.chain(self.param_names());
                        Err(self.error(o, suggest(format!("unknown numeric terminal `{a}`"), a, known)))
                    }
                }
            }
            Tok::Open(_) => {
                let (o, name) = self.head()?;
                let node = self.num_op(o, name)?;
                self.expect_close(name)?;
                Ok(node)
            }
            Tok::Close(o) => Err(self.error(o, "expected a number, found `)`")),
            Tok::End(o) => Err(self.error(o, "unexpected end of text: expected a number")),
        }
    }

    fn num_op(&mut self, o: usize, name: &str) -> Result<Num, ParseError> {
        if let Some(ind) = Indicator::ALL.into_iter().find(|i| i.name() == name) {
            let w = self.window(name, ind.min_window())?;
            let field = if ind.takes_field() { self.field(name)? } else { Field::Close };
            return Ok(Num::Ind(ind, field, w));
        }
        if let Some(op) = UnOp::ALL.into_iter().find(|u| u.name() == name) {
            return Ok(Num::Un(op, Box::new(self.num()?)));
        }
        if let Some(op) = WinOp::ALL.into_iter().find(|u| u.name() == name) {
            let w = self.window(name, op.min_window())?;
            return Ok(Num::Win(op, w, Box::new(self.num()?)));
        }
        if let Some(op) = BinOp::ALL.into_iter().find(|u| u.name() == name) {
            let a = self.num()?;
            let b = self.num()?;
            return Ok(Num::Bin(op, Box::new(a), Box::new(b)));
        }
        let boolean = CmpOp::ALL.iter().any(|c| c.name() == name) || matches!(name, "and" | "or" | "not");
        Err(self.error(
            o,
            if boolean {
                format!("`{name}` gives a boolean where a number is needed")
            } else {
                let numeric = operators().into_iter().filter(|op| op.gives == "number").map(|op| op.name);
                suggest(format!("unknown numeric operator `{name}`"), name, numeric)
            },
        ))
    }

    fn boolean(&mut self) -> Result<Bool, ParseError> {
        match self.next() {
            Tok::Atom(o, a) => match a {
                "true" => Ok(Bool::Const(true)),
                "false" => Ok(Bool::Const(false)),
                _ => Err(self.error(o, format!("`{a}` is not a boolean (true, false or a comparison)"))),
            },
            Tok::Open(_) => {
                let (o, name) = self.head()?;
                let node = if let Some(op) = CmpOp::ALL.into_iter().find(|c| c.name() == name) {
                    let a = self.num()?;
                    let b = self.num()?;
                    Bool::Cmp(op, Box::new(a), Box::new(b))
                } else if let Some(op) = [Logic::And, Logic::Or].into_iter().find(|l| l.name() == name) {
                    let p = self.boolean()?;
                    let q = self.boolean()?;
                    Bool::Logic(op, Box::new(p), Box::new(q))
                } else if name == "not" {
                    Bool::Not(Box::new(self.boolean()?))
                } else {
                    let boolean =
                        operators().into_iter().filter(|op| op.gives == "boolean").map(|op| op.name);
                    let message = suggest(format!("`{name}` is not a boolean operator"), name, boolean);
                    return Err(self.error(o, message));
                };
                self.expect_close(name)?;
                Ok(node)
            }
            Tok::Close(o) => Err(self.error(o, "expected a boolean, found `)`")),
            Tok::End(o) => Err(self.error(o, "unexpected end of text: expected a boolean")),
        }
    }

    fn genome(&mut self) -> Result<Genome, ParseError> {
        self.expect_open("the genome")?;
        match self.head()? {
            (_, "strategy") => {}
            (o, other) => return Err(self.error(o, format!("expected `strategy`, found `{other}`"))),
        }
        let mut entry = None;
        let mut exit = None;
        let mut genes = Genes::default();
        let mut seen: Vec<&str> = Vec::new();
        while let Tok::Open(_) = self.peek() {
            self.next();
            let (o, name) = self.head()?;
            if seen.contains(&name) {
                return Err(self.error(o, format!("`{name}` is given twice")));
            }
            seen.push(name);
            let gene = |what, range| Slot { what, whole: false, range };
            match name {
                "entry" => entry = Some(self.boolean()?),
                "exit" => exit = Some(self.boolean()?),
                "size" => genes.size = self.number(gene("size", (MIN_SIZE, 1.0)))?.1,
                "stop-loss" => genes.stop_loss = Some(self.number(gene("stop-loss", STOP_LOSS))?.1),
                "take-profit" => genes.take_profit = Some(self.number(gene("take-profit", TAKE_PROFIT))?.1),
                "time-stop" => {
                    let range = (f64::from(TIME_STOP.0), f64::from(TIME_STOP.1));
                    let (o, x) = self.number(Slot { what: "time-stop", whole: true, range })?;
                    if x.fract() != 0.0 || !(0.0..=f64::from(u16::MAX)).contains(&x) {
                        return Err(
                            self.error(o, format!("time-stop must be a whole number of bars, found {x}"))
                        );
                    }
                    genes.time_stop = Some(x as u16);
                }
                other => {
                    let message = format!("unknown part `{other}` ({})", PARTS.join(", "));
                    return Err(self.error(o, suggest(message, other, PARTS)));
                }
            }
            self.expect_close(name)?;
            if let Err(message) = genes.check() {
                return Err(self.error(o, message));
            }
        }
        let close = self.peek().offset();
        self.expect_close("strategy")?;
        let entry = entry.ok_or_else(|| self.error(close, "the strategy has no `(entry …)`"))?;
        let exit = exit.ok_or_else(|| self.error(close, "the strategy has no `(exit …)`"))?;
        if let Tok::Atom(o, _) | Tok::Open(o) | Tok::Close(o) = self.peek() {
            return Err(self.error(o, "text after the end of the strategy"));
        }
        Ok(Genome { entry, exit, genes })
    }
}

fn parse_all<'a, T>(
    text: &'a str,
    f: impl FnOnce(&mut Parser<'a>) -> Result<T, ParseError>,
) -> Result<T, ParseError> {
    let mut p = Parser { text, toks: tokenize(text)?, at: 0, names: None };
    let value = f(&mut p)?;
    match p.peek() {
        Tok::End(_) => Ok(value),
        t => Err(p.error(t.offset(), "text after the end of the expression")),
    }
}

/// The genome whose `(strategy …)` form starts at byte `from` of `text` and runs to its end,
/// with `names` standing for numbers (a strategy file's parameters).
pub(crate) fn genome_with<'a>(
    text: &'a str,
    from: usize,
    names: &'a dyn Names,
) -> Result<Genome, ParseError> {
    let toks = tokenize(text)?;
    let at = toks.iter().position(|t| t.offset() >= from).unwrap_or(toks.len() - 1);
    Parser { text, toks, at, names: Some(names) }.genome()
}

impl FromStr for Genome {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Genome, ParseError> {
        parse_all(text, Parser::genome)
    }
}

impl FromStr for Num {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Num, ParseError> {
        parse_all(text, Parser::num)
    }
}

impl FromStr for Bool {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Bool, ParseError> {
        parse_all(text, Parser::boolean)
    }
}
