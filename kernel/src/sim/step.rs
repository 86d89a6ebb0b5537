//! One bar for the books that share one cash balance, every book visited in every phase: the
//! definition of a bar. The single-symbol account (one book) runs it as is; a portfolio sleeve
//! runs the same phases through [`Desk`](super::desk::Desk), which skips the books with nothing
//! to do.
//!
//! Same-bar order: at a fill point every book's exits (exit signals, time stops) settle before
//! any book's entry, so a rotation — exit A, enter B on the same bar — can spend A's proceeds on
//! B at that very fill. Entries are then taken in leg order. Under [`FillTiming::NextOpen`] the
//! intrabar stops follow the open's fills; under [`FillTiming::SameBarClose`] they come first,
//! and the close's exits and entries after them.
//!
//! Sizing base: the books' equity at the previous close (their cash at the start of the bar plus
//! every position marked at the previous close) divided by the number of slots — `max_positions`
//! when given (at most the number of books), else the number of books.

use std::num::NonZeroUsize;

use super::book::Book;
use super::rules::FillTiming;

/// The positions a sleeve holds at one fill point, against its limit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slots {
    /// Positions open now.
    pub(crate) open: usize,
    /// The most that may be open at once, if limited.
    pub(crate) max: Option<NonZeroUsize>,
}

impl Slots {
    /// The limit, when every slot is taken.
    pub(crate) fn full(&self) -> Option<NonZeroUsize> {
        self.max.filter(|m| self.open >= m.get())
    }
}

/// Runs bar `t` for `books` (same rules, aligned bars) spending `cash`, visiting every book in
/// every phase; returns whether any book held a position at any moment of the bar.
///
/// This is the plain definition of a bar; [`Desk`](super::desk::Desk) runs the same phases
/// visiting only the books with something to do, with bit-identical results.
pub(crate) fn step_books(
    books: &mut [Book<'_>],
    t: usize,
    cash: &mut f64,
    max_positions: Option<NonZeroUsize>,
) -> bool {
    let Some(fill) = books.first().map(Book::fill_timing) else { return false };
    let held: f64 = if t > 0 { books.iter().map(|b| b.mark(t - 1)).sum() } else { 0.0 };
    let slots = max_positions.map_or(books.len(), |m| m.get().min(books.len()));
    let base = (*cash + held) / slots as f64;
    let mut exposed = books.iter().any(Book::is_open);
    if fill == FillTiming::SameBarClose {
        for book in books.iter_mut() {
            book.check_stops(t, cash);
        }
    }
    for book in books.iter_mut() {
        book.fill_exit(t, cash);
    }
    let mut slots = Slots { open: books.iter().filter(|b| b.is_open()).count(), max: max_positions };
    for book in books.iter_mut() {
        exposed |= book.fill_entry(t, cash, base, &mut slots);
    }
    if fill == FillTiming::NextOpen {
        for book in books.iter_mut() {
            book.check_stops(t, cash);
        }
    }
    exposed
}
