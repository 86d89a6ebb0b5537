//! Portfolio-fitness settings (an experiment file's `[portfolio_fitness]` table) and errors.

use serde::{Deserialize, Serialize};

/// Settings of the portfolio score. Missing fields take the defaults, unknown ones are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortfolioFitnessConfig {
    /// Allocation the candidate joins the promoted portfolio with, in (0, 1], before the
    /// weights are rescaled to sum to 1.
    pub candidate_allocation: f64,
    /// Correlation to a promoted strategy tolerated without penalty, in [0, 1].
    pub correlation_threshold: f64,
    /// Sharpe units subtracted per unit of correlation above the threshold (≥ 0).
    pub correlation_weight: f64,
    /// Fewest common days for a correlation to be measured (≥ 2); below it the correlation is
    /// unknown and not penalised.
    pub min_overlap_days: usize,
    /// Days per year for annualising the Sharpe ratio (252 for US equities).
    pub periods_per_year: f64,
    /// Annual risk-free rate (0.02 = 2 %).
    pub risk_free_rate: f64,
}

impl Default for PortfolioFitnessConfig {
    fn default() -> Self {
        PortfolioFitnessConfig {
            candidate_allocation: 0.1,
            correlation_threshold: 0.5,
            correlation_weight: 1.0,
            min_overlap_days: 60,
            periods_per_year: 252.0,
            risk_free_rate: 0.0,
        }
    }
}

/// A bad setting or promoted set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PortfolioFitnessError {
    /// A field out of its range.
    #[error("portfolio fitness config: `{field}` {reason}")]
    Config {
        /// Field name, e.g. `candidate_allocation`.
        field: &'static str,
        /// What is wrong, with the value given.
        reason: String,
    },
    /// A promoted strategy's allocation out of (0, 1], or allocations summing above 1.
    #[error(
        "promoted strategy `{strategy}`: allocation {allocation} is invalid (each in (0, 1], total {total} must be <= 1)"
    )]
    Allocation {
        /// The strategy's name.
        strategy: String,
        /// Its allocation.
        allocation: f64,
        /// Sum of all allocations.
        total: f64,
    },
}

impl PortfolioFitnessConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), PortfolioFitnessError> {
        let bad = |field: &'static str, reason: String| Err(PortfolioFitnessError::Config { field, reason });
        if !(self.candidate_allocation > 0.0 && self.candidate_allocation <= 1.0) {
            return bad(
                "candidate_allocation",
                format!("must be in (0, 1] (got {})", self.candidate_allocation),
            );
        }
        if !(0.0..=1.0).contains(&self.correlation_threshold) {
            return bad(
                "correlation_threshold",
                format!("must be in [0, 1] (got {})", self.correlation_threshold),
            );
        }
        if !(self.correlation_weight.is_finite() && self.correlation_weight >= 0.0) {
            return bad(
                "correlation_weight",
                format!("must be finite and not negative (got {})", self.correlation_weight),
            );
        }
        if self.min_overlap_days < 2 {
            return bad("min_overlap_days", format!("must be at least 2 (got {})", self.min_overlap_days));
        }
        if !(self.periods_per_year.is_finite() && self.periods_per_year > 0.0) {
            return bad(
                "periods_per_year",
                format!("must be finite and positive (got {})", self.periods_per_year),
            );
        }
        if !(self.risk_free_rate.is_finite() && self.risk_free_rate > -1.0) {
            return bad(
                "risk_free_rate",
                format!("must be finite and above −1 (got {})", self.risk_free_rate),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Puts one field out of its range.
    type Spoil = fn(&mut PortfolioFitnessConfig);

    #[test]
    fn toml_defaults_unknown_keys_and_named_validation_errors() {
        let c: PortfolioFitnessConfig = toml::from_str("correlation_weight = 2.5").unwrap();
        assert_eq!(
            c,
            PortfolioFitnessConfig { correlation_weight: 2.5, ..PortfolioFitnessConfig::default() }
        );
        c.validate().unwrap();
        let err = toml::from_str::<PortfolioFitnessConfig>("correlation_wieght = 2.5").unwrap_err();
        assert!(err.to_string().contains("correlation_wieght"), "{err}");
        let cases: [(&str, Spoil); 6] = [
            ("candidate_allocation", |c| c.candidate_allocation = 0.0),
            ("correlation_threshold", |c| c.correlation_threshold = 1.5),
            ("correlation_weight", |c| c.correlation_weight = f64::INFINITY),
            ("min_overlap_days", |c| c.min_overlap_days = 1),
            ("periods_per_year", |c| c.periods_per_year = 0.0),
            ("risk_free_rate", |c| c.risk_free_rate = f64::NAN),
        ];
        for (field, spoil) in cases {
            let mut c = PortfolioFitnessConfig::default();
            spoil(&mut c);
            let err = c.validate().unwrap_err();
            assert!(matches!(err, PortfolioFitnessError::Config { field: f, .. } if f == field), "{err}");
            assert!(err.to_string().contains(&format!("`{field}`")), "{err}");
        }
    }
}
