//! A sleeve's books stepped by event: each bar touches only the books with something to do.
//!
//! [`step_books`](super::step::step_books) visits every book in every phase of every bar, and so
//! reads every symbol's bars at every bar; over hundreds of symbols those reads miss the cache
//! far more often than they do any work. A [`Desk`] runs the same phases, in the same order, on
//! the same [`Book`]s, but visits
//!
//! - at the fill point, only the books *due* there ([`Book::next_due`]): a flat book whose
//!   signal is an entry or a short entry, a holding one whose signal is an exit or a short entry
//!   or whose time stop falls due. Each book's due bar is found once per change of its state by
//!   a forward scan of its own signals;
//! - for intrabar stops (only when the rules have any), the books holding a position;
//! - to mark the books at the close, the books holding a position, through compact arrays of
//!   units held and closes.
//!
//! A book that is not visited would have done nothing, and the visited ones move cash in the
//! same order, so every number is bit-identical to stepping all books (a property test compares
//! the two on random sleeves). The mark at a bar's close is also the next bar's sizing base:
//! positions do not change between one close and the next open.

use std::num::NonZeroUsize;

use super::book::Book;
use super::record::Activity;
use super::rules::{FillTiming, TradeRules};
use super::step::Slots;

/// Bits per word of the set of open books.
const WORD: usize = u64::BITS as usize;

/// The books of one sleeve (same rules, aligned bars) and what stepping them needs per bar.
pub(crate) struct Desk<'a> {
    books: Vec<Book<'a>>,
    /// Per book, the next bar at which it is due at the fill point (`usize::MAX`: never).
    due: Vec<usize>,
    /// The earliest of `due`.
    next_due: usize,
    /// Per book, the units held (0 when flat): what marking reads, next to `closes`.
    qty: Vec<f64>,
    /// Per book, its closes.
    closes: Vec<&'a [f64]>,
    /// One bit per book holding a position, in leg order.
    open: Vec<u64>,
    /// Number of books holding a position.
    open_count: usize,
    /// The positions' value at the last stepped bar's close (0 before the first).
    value: f64,
    max_positions: Option<NonZeroUsize>,
    fill: FillTiming,
    /// Whether intrabar stops can close positions.
    stops: bool,
    /// Scratch: the books due at the current bar, in leg order.
    due_now: Vec<usize>,
}

impl<'a> Desk<'a> {
    /// A desk over flat `books` that all trade under `rules`, holding at most `max_positions`.
    pub(crate) fn new(books: Vec<Book<'a>>, rules: &TradeRules, max_positions: Option<NonZeroUsize>) -> Self {
        let due: Vec<usize> = books.iter().map(|b| b.next_due(0).unwrap_or(usize::MAX)).collect();
        Desk {
            next_due: due.iter().copied().min().unwrap_or(usize::MAX),
            due,
            qty: vec![0.0; books.len()],
            closes: books.iter().map(Book::closes).collect(),
            open: vec![0; books.len().div_ceil(WORD)],
            open_count: 0,
            value: 0.0,
            max_positions,
            fill: rules.fill,
            stops: rules.exits.has_intrabar_stops(),
            due_now: Vec::new(),
            books,
        }
    }

    /// The positions' value at the close of the last bar stepped.
    pub(crate) fn value(&self) -> f64 {
        self.value
    }

    /// Runs bar `t` (bars must be stepped in order from 0) spending `cash`, exactly as
    /// [`step_books`](super::step::step_books) would; returns whether any book held a position
    /// at any moment of the bar.
    pub(crate) fn step(&mut self, t: usize, cash: &mut f64) -> bool {
        debug_assert!(self.next_due >= t, "a due bar was skipped");
        let slots = self.max_positions.map_or(self.books.len(), |m| m.get().min(self.books.len()));
        let base = (*cash + self.value) / slots as f64;
        let mut exposed = self.open_count > 0;
        if self.fill == FillTiming::SameBarClose && self.stops {
            self.check_stops(t, cash, t);
        }
        if self.next_due == t {
            self.due_now.clear();
            let mut later = usize::MAX;
            for (b, &d) in self.due.iter().enumerate() {
                if d == t {
                    self.due_now.push(b);
                } else {
                    later = later.min(d);
                }
            }
            for &b in &self.due_now {
                self.books[b].fill_exit(t, cash);
            }
            self.sync_all_due();
            let mut slots = Slots { open: self.open_count, max: self.max_positions };
            for &b in &self.due_now {
                exposed |= self.books[b].fill_entry(t, cash, base, &mut slots);
            }
            self.sync_all_due();
            for &b in &self.due_now {
                self.due[b] = self.books[b].next_due(t + 1).unwrap_or(usize::MAX);
                later = later.min(self.due[b]);
            }
            self.next_due = later;
        }
        if self.fill == FillTiming::NextOpen && self.stops {
            self.check_stops(t, cash, t + 1);
        }
        self.value = self.mark(t);
        exposed
    }

    /// Ends the run: each book, in leg order, closes or reports its open position.
    pub(crate) fn finish(self, cash: &mut f64) -> impl Iterator<Item = Activity> {
        self.books.into_iter().map(move |book| book.finish(cash))
    }

    /// Intrabar stops of bar `t` for every open book in leg order; a book they close is due
    /// again from bar `from`.
    fn check_stops(&mut self, t: usize, cash: &mut f64, from: usize) {
        for w in 0..self.open.len() {
            let mut bits = self.open[w];
            while bits != 0 {
                let b = w * WORD + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                self.books[b].check_stops(t, cash);
                if !self.books[b].is_open() {
                    self.sync(b);
                    self.due[b] = self.books[b].next_due(from).unwrap_or(usize::MAX);
                    self.next_due = self.next_due.min(self.due[b]);
                }
            }
        }
    }

    /// The open positions' value at bar `t`'s close, summed in leg order like `step_books`.
    fn mark(&self, t: usize) -> f64 {
        let mut value = 0.0;
        for (w, &word) in self.open.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let b = w * WORD + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                value += self.qty[b] * self.closes[b][t];
            }
        }
        value
    }

    /// Brings the compact state of every book due now up to date with its book.
    fn sync_all_due(&mut self) {
        for i in 0..self.due_now.len() {
            self.sync(self.due_now[i]);
        }
    }

    /// Brings book `b`'s compact state (units held, open bit, open count) up to date.
    fn sync(&mut self, b: usize) {
        let (word, bit) = (b / WORD, 1u64 << (b % WORD));
        let was_open = self.open[word] & bit != 0;
        let is_open = self.books[b].is_open();
        self.qty[b] = self.books[b].qty();
        if is_open != was_open {
            self.open[word] ^= bit;
            if is_open {
                self.open_count += 1;
            } else {
                self.open_count -= 1;
            }
        }
    }
}
