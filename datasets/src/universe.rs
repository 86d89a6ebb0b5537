//! Universe files: the symbols a fetch or a research run works on, named once.
//!
//! Two forms, told apart by their content:
//! * a list, one symbol per line; blank lines and `#` comments are ignored;
//! * TOML with `name = "…"` and `symbols = ["…", …]` (what `tradebot data universe` writes).
//!
//! Every symbol passes [`crate::symbol::validate_symbol`]; a repeated symbol is an error (a
//! universe is a set, and a repeat is usually a typo for another name).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A named list of symbols.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Universe {
    /// Its name (for a list file, the file stem).
    pub name: String,
    /// The symbols, in file order.
    pub symbols: Vec<String>,
}

/// Why a universe file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UniverseError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A TOML universe that is not `name` + `symbols`.
    #[error("{path}: expected `name = \"…\"` and `symbols = [\"…\", …]`: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A symbol that is not valid, or repeated.
    #[error("{path}:{line}: `{symbol}`: {problem}")]
    Symbol {
        /// The file.
        path: PathBuf,
        /// Its line (1-based; 0 in a TOML array).
        line: usize,
        /// The symbol as written.
        symbol: String,
        /// What is wrong with it.
        problem: String,
    },
    /// No symbol at all.
    #[error("{path}: no symbols")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

impl Universe {
    /// Reads a universe file.
    pub fn read(path: &Path) -> Result<Universe, UniverseError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| UniverseError::Io { path: path.to_path_buf(), source })?;
        Universe::parse(path, &text)
    }

    /// Parses a universe file's text; `path` names it in errors and gives a list its name.
    pub fn parse(path: &Path, text: &str) -> Result<Universe, UniverseError> {
        let is_toml = text.lines().map(str::trim).any(|l| l.starts_with("symbols") && l.contains('='));
        let (name, entries): (String, Vec<(usize, String)>) = if is_toml {
            let u: Universe = toml::from_str(text).map_err(|e| UniverseError::Toml {
                path: path.to_path_buf(),
                message: e.message().to_string(),
            })?;
            (u.name, u.symbols.into_iter().map(|s| (0, s)).collect())
        } else {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("universe").to_string();
            let lines = text.lines().enumerate().filter_map(|(i, l)| {
                let l = l.split('#').next().unwrap_or_default().trim();
                (!l.is_empty()).then(|| (i + 1, l.to_string()))
            });
            (stem, lines.collect())
        };
        let mut symbols: Vec<String> = Vec::with_capacity(entries.len());
        for (line, symbol) in entries {
            let problem = match crate::symbol::validate_symbol(&symbol) {
                Err(e) => Some(e.to_string()),
                Ok(()) if symbols.contains(&symbol) => Some("listed twice".to_string()),
                Ok(()) => None,
            };
            if let Some(problem) = problem {
                return Err(UniverseError::Symbol { path: path.to_path_buf(), line, symbol, problem });
            }
            symbols.push(symbol);
        }
        if symbols.is_empty() {
            return Err(UniverseError::Empty { path: path.to_path_buf() });
        }
        Ok(Universe { name, symbols })
    }

    /// The TOML form, as `tradebot data universe` writes it.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a name and a list of strings serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_and_its_toml_form_are_the_same_universe() {
        let list = Universe::parse(
            Path::new("dir/sp5.txt"),
            "# five names\nAAPL\n\nMSFT  # big\nBRK.B\nBTC/USD\nSPY\n",
        )
        .unwrap();
        assert_eq!(list.name, "sp5");
        assert_eq!(list.symbols, ["AAPL", "MSFT", "BRK.B", "BTC/USD", "SPY"]);
        let again = Universe::parse(Path::new("u.toml"), &list.to_toml()).unwrap();
        assert_eq!(again, list);
    }

    #[test]
    fn bad_repeated_or_missing_symbols_name_the_file_and_line() {
        let p = Path::new("u.txt");
        assert_eq!(
            Universe::parse(p, "AAPL\nMS FT\n").unwrap_err().to_string(),
            "u.txt:2: `MS FT`: ' ' is not allowed in a symbol (use ASCII letters, digits and \".-_/^=:+\")"
        );
        assert_eq!(
            Universe::parse(p, "AAPL\nAAPL\n").unwrap_err().to_string(),
            "u.txt:2: `AAPL`: listed twice"
        );
        assert_eq!(Universe::parse(p, "# nothing\n").unwrap_err().to_string(), "u.txt: no symbols");
        assert!(
            Universe::parse(Path::new("u.toml"), "name = \"x\"\nsymbols = 3\n")
                .unwrap_err()
                .to_string()
                .starts_with("u.toml: expected `name = \"…\"` and `symbols = [\"…\", …]`")
        );
    }
}
