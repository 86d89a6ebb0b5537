//! The one symbol validator every entry point uses (CSV, JSON, multi-symbol keys, `--symbol`,
//! the store writer): a symbol is a short name, not a payload.
//!
//! A valid symbol is 1 to [`MAX_SYMBOL_LEN`] bytes of ASCII letters, digits and the
//! punctuation tickers use: `.` (`BRK.B`), `-` (`BTC-USD`), `_`, `/` (`BTC/USD`), `^`
//! (`^GSPC`), `=` (`EURUSD=X`, `ES=F`), `:` and `+`. No spaces, commas, quotes or control
//! characters, so a symbol is safe in a CSV cell, a file name part and a log line.

/// Longest accepted symbol, in bytes.
pub const MAX_SYMBOL_LEN: usize = 32;

/// The punctuation allowed besides ASCII letters and digits.
pub const SYMBOL_PUNCTUATION: &str = ".-_/^=:+";

/// Why a string is not a symbol.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    /// The empty string.
    #[error("a symbol cannot be empty")]
    Empty,
    /// Longer than [`MAX_SYMBOL_LEN`] bytes.
    #[error("a symbol is at most {MAX_SYMBOL_LEN} bytes, this one is {0}")]
    TooLong(usize),
    /// A character outside the documented set.
    #[error("{0:?} is not allowed in a symbol (use ASCII letters, digits and {SYMBOL_PUNCTUATION:?})")]
    BadChar(char),
}

/// Checks `symbol` against the rules in the module documentation.
pub fn validate_symbol(symbol: &str) -> Result<(), SymbolError> {
    if symbol.is_empty() {
        return Err(SymbolError::Empty);
    }
    if symbol.len() > MAX_SYMBOL_LEN {
        return Err(SymbolError::TooLong(symbol.len()));
    }
    match symbol.chars().find(|&c| !c.is_ascii_alphanumeric() && !SYMBOL_PUNCTUATION.contains(c)) {
        Some(c) => Err(SymbolError::BadChar(c)),
        None => Ok(()),
    }
}

/// `symbol` shortened for an error message: a rejected symbol may be megabytes long.
pub fn quoted_for_error(symbol: &str) -> String {
    const SHOWN: usize = 40;
    match symbol.char_indices().nth(SHOWN) {
        None => format!("{symbol:?}"),
        Some((end, _)) => format!("{:?}… ({} bytes)", &symbol[..end], symbol.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_tickers_pass() {
        for s in ["GOOG", "BRK.B", "BRK-B", "^GSPC", "EURUSD=X", "ES=F", "BTC/USD", "X", "SPY_2", "A:B+C"] {
            assert_eq!(validate_symbol(s), Ok(()), "{s}");
        }
        assert_eq!(validate_symbol(&"A".repeat(MAX_SYMBOL_LEN)), Ok(()));
    }

    #[test]
    fn payloads_are_refused_with_the_reason() {
        assert_eq!(validate_symbol(""), Err(SymbolError::Empty));
        assert_eq!(validate_symbol(&"A".repeat(33)), Err(SymbolError::TooLong(33)));
        assert_eq!(validate_symbol("a,b"), Err(SymbolError::BadChar(',')));
        assert_eq!(validate_symbol("A\u{7}"), Err(SymbolError::BadChar('\u{7}')));
        assert_eq!(validate_symbol("A B"), Err(SymbolError::BadChar(' ')));
        assert_eq!(validate_symbol("AÉ"), Err(SymbolError::BadChar('É')));
        assert_eq!(validate_symbol("\"A\""), Err(SymbolError::BadChar('"')));
    }

    #[test]
    fn long_symbols_are_shortened_in_messages() {
        let shown = quoted_for_error(&"x".repeat(1_000_000));
        assert!(shown.len() < 80 && shown.ends_with("(1000000 bytes)"), "{shown}");
        assert_eq!(quoted_for_error("a,b"), "\"a,b\"");
    }
}
