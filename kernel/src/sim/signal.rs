//! Per-bar strategy signals: what a strategy wants, decided from data up to and including its bar.
//!
//! Both hand-written strategies and GP trees feed the simulator through [`Signal`]; a GP tree's
//! boolean entry and exit series convert with [`Signal::from_entries_exits`].

/// How much of the sizing rule's budget an entry uses, a fraction in `(0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Strength(f64);

impl Strength {
    /// The whole budget.
    pub const FULL: Strength = Strength(1.0);

    /// A strength of `x`, or `None` unless `0 < x <= 1` (NaN is rejected).
    pub fn new(x: f64) -> Option<Self> {
        (x > 0.0 && x <= 1.0).then_some(Strength(x))
    }

    /// The fraction in `(0, 1]`.
    pub fn get(self) -> f64 {
        self.0
    }

    /// The strength whose bits [`Strength::get`] returned, for a decoder of stored signals that
    /// only ever stores valid strengths.
    pub(super) fn from_stored(x: f64) -> Self {
        debug_assert!(Strength::new(x).is_some(), "stored strength {x} out of (0, 1]");
        Strength(x)
    }
}

/// What a strategy asks for at the end of one bar, computed only from bars up to and including it.
///
/// A signal never acts on its own bar's prices in the default fill mode: it fills at the next
/// bar's open (see [`FillTiming`](super::FillTiming)).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Signal {
    /// Do nothing.
    #[default]
    Hold,
    /// Open a long position if flat, with this share of the sizing budget; ignored while long
    /// (no pyramiding).
    Enter(Strength),
    /// Close the long position if there is one; ignored while flat.
    Exit,
    /// Open a short position. A cash account cannot short, so the simulator always refuses it
    /// with [`RefusalReason::ShortSelling`](super::RefusalReason::ShortSelling): this is how a
    /// strategy that needs a short leg (e.g. pairs) is told no.
    EnterShort,
}

/// Entry and exit series of different lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("entry series has {entries} bars but exit series has {exits}")]
pub struct SignalLengthMismatch {
    /// Length of the entry series.
    pub entries: usize,
    /// Length of the exit series.
    pub exits: usize,
}

impl Signal {
    /// Converts boolean entry/exit series (e.g. from a GP tree) into signals, into a reused buffer.
    ///
    /// Bar `t` becomes `Exit` if `exits[t]`, else `Enter(FULL)` if `entries[t]`, else `Hold`:
    /// when both are true the exit wins, so a conflicting bar never opens a position.
    pub fn from_entries_exits_into(
        entries: &[bool],
        exits: &[bool],
        out: &mut Vec<Signal>,
    ) -> Result<(), SignalLengthMismatch> {
        if entries.len() != exits.len() {
            return Err(SignalLengthMismatch { entries: entries.len(), exits: exits.len() });
        }
        out.clear();
        out.extend(entries.iter().zip(exits).map(|(&entry, &exit)| match (entry, exit) {
            (_, true) => Signal::Exit,
            (true, false) => Signal::Enter(Strength::FULL),
            (false, false) => Signal::Hold,
        }));
        Ok(())
    }

    /// Allocating form of [`Signal::from_entries_exits_into`].
    pub fn from_entries_exits(entries: &[bool], exits: &[bool]) -> Result<Vec<Signal>, SignalLengthMismatch> {
        let mut out = Vec::with_capacity(entries.len());
        Signal::from_entries_exits_into(entries, exits, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_accepts_only_the_unit_interval() {
        assert_eq!(Strength::new(0.5).map(Strength::get), Some(0.5));
        assert_eq!(Strength::new(1.0), Some(Strength::FULL));
        for bad in [0.0, -0.1, 1.0001, f64::NAN, f64::INFINITY] {
            assert_eq!(Strength::new(bad), None, "{bad}");
        }
    }

    #[test]
    fn boolean_series_convert_with_exit_winning_conflicts() {
        let s = Signal::from_entries_exits(&[true, false, true, false], &[false, true, true, false]).unwrap();
        assert_eq!(s, [Signal::Enter(Strength::FULL), Signal::Exit, Signal::Exit, Signal::Hold]);
        let err = Signal::from_entries_exits(&[true], &[]).unwrap_err();
        assert_eq!(err, SignalLengthMismatch { entries: 1, exits: 0 });
    }
}
