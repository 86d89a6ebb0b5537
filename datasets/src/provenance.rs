//! Where a stored series came from: the provider, its feed and the price adjustment, recorded
//! per series in the manifest (`SymbolMeta::sources`) so that a later fetch never mixes
//! differently adjusted prices into one series and a research report can say what it ran on.

use serde::{Deserialize, Serialize};

/// How a provider adjusts historical prices for corporate actions (Alpaca's `adjustment`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjustment {
    /// Prices as they traded: a 2-for-1 split looks like a 50 % crash.
    Raw,
    /// Prices before each split divided by its ratio (the store's default).
    #[default]
    Split,
    /// Prices before each dividend lowered by it (splits not adjusted).
    Dividend,
    /// Splits and dividends both.
    All,
}

/// An adjustment name other than `raw`, `split`, `dividend` or `all`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown adjustment `{0}` (known: raw, split, dividend, all)")]
pub struct UnknownAdjustment(pub String);

impl Adjustment {
    /// The lower-case name Alpaca's API, the manifest and the command line use.
    pub fn as_str(self) -> &'static str {
        match self {
            Adjustment::Raw => "raw",
            Adjustment::Split => "split",
            Adjustment::Dividend => "dividend",
            Adjustment::All => "all",
        }
    }

    /// The adjustment in words, for reports and messages (`split-adjusted`, `unadjusted`).
    pub fn describe(self) -> &'static str {
        match self {
            Adjustment::Raw => "unadjusted",
            Adjustment::Split => "split-adjusted",
            Adjustment::Dividend => "dividend-adjusted",
            Adjustment::All => "split- and dividend-adjusted",
        }
    }
}

impl std::fmt::Display for Adjustment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Adjustment {
    type Err = UnknownAdjustment;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "raw" => Ok(Adjustment::Raw),
            "split" => Ok(Adjustment::Split),
            "dividend" => Ok(Adjustment::Dividend),
            "all" => Ok(Adjustment::All),
            _ => Err(UnknownAdjustment(s.to_string())),
        }
    }
}

/// The origin of one stored series (one symbol at one timeframe).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesSource {
    /// The data provider, e.g. `alpaca`.
    pub provider: String,
    /// The provider's feed (`iex`, `sip`), if it has one (crypto has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
    /// How its prices are adjusted; every bar of the series has the same.
    pub adjustment: Adjustment,
}

impl std::fmt::Display for SeriesSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.provider)?;
        if let Some(feed) = &self.feed {
            write!(f, " {feed}")?;
        }
        write!(f, ", {}", self.adjustment.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjustments_round_trip_through_their_names() {
        for a in [Adjustment::Raw, Adjustment::Split, Adjustment::Dividend, Adjustment::All] {
            assert_eq!(a.as_str().parse::<Adjustment>(), Ok(a));
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
        }
        assert_eq!(
            "splits".parse::<Adjustment>().unwrap_err().to_string(),
            "unknown adjustment `splits` (known: raw, split, dividend, all)"
        );
    }

    #[test]
    fn a_source_reads_as_words() {
        let source = |feed: Option<&str>, adjustment| SeriesSource {
            provider: "alpaca".into(),
            feed: feed.map(String::from),
            adjustment,
        };
        assert_eq!(source(Some("iex"), Adjustment::Split).to_string(), "alpaca iex, split-adjusted");
        assert_eq!(source(None, Adjustment::Raw).to_string(), "alpaca, unadjusted");
        assert_eq!(source(None, Adjustment::All).to_string(), "alpaca, split- and dividend-adjusted");
    }
}
