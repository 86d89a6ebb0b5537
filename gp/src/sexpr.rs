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
//! A parse error names the byte offset, line and column.

use std::fmt::{self, Display, Formatter};
use std::str::FromStr;

use crate::genome::{Genes, Genome};
use crate::tree::{BinOp, Bool, CmpOp, Const, Field, Indicator, Logic, Num, UnOp, WinOp, Window};

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
enum Tok<'a> {
    Open(usize),
    Close(usize),
    Atom(usize, &'a str),
    End(usize),
}

impl Tok<'_> {
    fn offset(&self) -> usize {
        match *self {
            Tok::Open(o) | Tok::Close(o) | Tok::Atom(o, _) | Tok::End(o) => o,
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Tok<'a>>,
    at: usize,
}

fn tokenize(text: &str) -> Vec<Tok<'_>> {
    let mut toks = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => {
                toks.push(Tok::Open(i));
                i += 1;
            }
            b')' => {
                toks.push(Tok::Close(i));
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            b';' => {
                // A comment runs to the end of the line.
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            _ => {
                let start = i;
                while i < bytes.len()
                    && !matches!(bytes[i], b'(' | b')' | b';')
                    && !bytes[i].is_ascii_whitespace()
                {
                    i += 1;
                }
                toks.push(Tok::Atom(start, &text[start..i]));
            }
        }
    }
    toks.push(Tok::End(text.len()));
    toks
}

impl<'a> Parser<'a> {
    fn error(&self, offset: usize, message: impl Into<String>) -> ParseError {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ParseError { offset, line, column, message: message.into() }
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

    fn number(&mut self, what: &str) -> Result<(usize, f64), ParseError> {
        match self.next() {
            Tok::Atom(o, a) => match a.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok((o, x)),
                _ => Err(self.error(o, format!("expected a finite number for {what}, found `{a}`"))),
            },
            t => Err(self.error(t.offset(), format!("expected a number for {what}"))),
        }
    }

    fn window(&mut self, op: &str, min: u16) -> Result<Window, ParseError> {
        let (o, x) = self.number(&format!("the window of `{op}`"))?;
        let ok = x.fract() == 0.0 && x >= f64::from(min) && x <= f64::from(crate::tree::MAX_WINDOW);
        match Window::new(x as u16) {
            Some(w) if ok => Ok(w),
            _ => Err(self.error(
                o,
                format!("`{op}` needs a whole window in {min}..={}, found {x}", crate::tree::MAX_WINDOW),
            )),
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
                match a.parse::<f64>().ok().and_then(Const::new) {
                    Some(c) => Ok(Num::Const(c)),
                    None => Err(self.error(o, format!("unknown numeric terminal `{a}`"))),
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
                format!("unknown numeric operator `{name}`")
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
                    return Err(self.error(o, format!("`{name}` is not a boolean operator")));
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
            match name {
                "entry" => entry = Some(self.boolean()?),
                "exit" => exit = Some(self.boolean()?),
                "size" => genes.size = self.number("size")?.1,
                "stop-loss" => genes.stop_loss = Some(self.number("stop-loss")?.1),
                "take-profit" => genes.take_profit = Some(self.number("take-profit")?.1),
                "time-stop" => {
                    let (o, x) = self.number("time-stop")?;
                    if x.fract() != 0.0 || !(0.0..=f64::from(u16::MAX)).contains(&x) {
                        return Err(
                            self.error(o, format!("time-stop must be a whole number of bars, found {x}"))
                        );
                    }
                    genes.time_stop = Some(x as u16);
                }
                other => {
                    return Err(self.error(
                        o,
                        format!(
                            "unknown part `{other}` (entry, exit, size, stop-loss, take-profit, time-stop)"
                        ),
                    ));
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
    let mut p = Parser { text, toks: tokenize(text), at: 0 };
    let value = f(&mut p)?;
    match p.peek() {
        Tok::End(_) => Ok(value),
        t => Err(p.error(t.offset(), "text after the end of the expression")),
    }
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
