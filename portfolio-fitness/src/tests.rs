//! Scorer tests: hand-computed cases, and real backtests on the GOOG sample.

use std::path::Path;

use datasets::ingest::{ImportOptions, read_file};
use datasets::{AssetClass, SymbolMeta};
use kernel::sim::TradeRules;
use kernel::strategy::{Backtest, MarketData, Params, RunResult, SmaCross, Strategy, SymbolData, backtest};

use super::*;

fn series(ts: &[i64], r: &[f64]) -> DailyReturns {
    DailyReturns::new(ts.to_vec(), r.to_vec()).unwrap()
}

fn promoted(name: &str, allocation: f64, returns: DailyReturns) -> PortfolioMember {
    PortfolioMember { name: name.into(), allocation, returns }
}

fn config(min_overlap_days: usize) -> PortfolioFitnessConfig {
    PortfolioFitnessConfig { min_overlap_days, ..PortfolioFitnessConfig::default() }
}

/// The definition, written plainly: `(mean × √252) / sample sd`.
fn sharpe(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    mean * 252f64.sqrt() / var.sqrt()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn marginal_sharpe_on_a_hand_computed_case_with_gaps() {
    // Two promoted strategies at 0.3 and 0.2 (A = 0.5); the candidate at 0.1.
    // `a` lacks day 3, `b` lacks days 1 and 5; the candidate has days 1..=5 (a has an extra 9).
    let a = series(&[1, 2, 4, 5, 9], &[0.01, -0.02, 0.03, 0.01, 0.5]);
    let b = series(&[2, 3, 4], &[0.02, 0.01, -0.01]);
    let cand = series(&[1, 2, 3, 4, 5], &[0.005, 0.01, -0.01, 0.02, 0.0]);
    let scorer = PortfolioScorer::new(config(2), vec![promoted("a", 0.3, a), promoted("b", 0.2, b)]).unwrap();
    let s = scorer.score(&cand);

    // Missing days are flat (0) in the portfolio.
    let xa = [0.01, -0.02, 0.0, 0.03, 0.01];
    let xb = [0.0, 0.02, 0.01, -0.01, 0.0];
    let r = cand.returns();
    let p: Vec<f64> = (0..5).map(|t| (0.3 * xa[t] + 0.2 * xb[t]) / 0.5).collect();
    let q: Vec<f64> = (0..5).map(|t| (0.3 * xa[t] + 0.2 * xb[t] + 0.1 * r[t]) / 0.6).collect();
    assert!(close(s.portfolio_sharpe, sharpe(&p)), "{} vs {}", s.portfolio_sharpe, sharpe(&p));
    assert!(close(s.combined_sharpe, sharpe(&q)));
    assert!(close(s.candidate_sharpe, sharpe(r)));
    assert!(close(s.marginal_sharpe, sharpe(&q) - sharpe(&p)));

    // Correlations over common days only: with a on days 1, 2, 4, 5; with b on 2, 3, 4.
    let pearson = |x: &[f64], y: &[f64]| {
        let n = x.len() as f64;
        let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
        let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
        cov / (vx.sqrt() * vy.sqrt())
    };
    let rho_a = pearson(&[0.005, 0.01, 0.02, 0.0], &[0.01, -0.02, 0.03, 0.01]);
    let rho_b = pearson(&[0.01, -0.01, 0.02], &[0.02, 0.01, -0.01]);
    let [Some(got_a), Some(got_b)] = s.correlations[..] else { panic!("{:?}", s.correlations) };
    assert!(close(got_a, rho_a) && close(got_b, rho_b), "{:?} vs {rho_a}, {rho_b}", s.correlations);
    let rho_max = rho_a.max(rho_b);
    assert_eq!(s.max_correlation, Some(got_a.max(got_b)));
    assert!(close(s.penalty, (rho_max - 0.5).max(0.0)));
    assert!(close(s.score, s.marginal_sharpe - s.penalty));

    // With 4 common days required, b (3 days) is unknown and left out of the maximum.
    let strict = PortfolioScorer::new(
        config(4),
        vec![
            promoted("a", 0.3, series(&[1, 2, 4, 5, 9], &[0.01, -0.02, 0.03, 0.01, 0.5])),
            promoted("b", 0.2, series(&[2, 3, 4], &[0.02, 0.01, -0.01])),
        ],
    )
    .unwrap();
    assert_eq!(strict.correlations(&cand)[1], None);
    assert_eq!(strict.max_correlation(&cand), strict.correlations(&cand)[0]);
}

#[test]
fn empty_promoted_set_scores_the_candidates_own_sharpe() {
    let scorer = PortfolioScorer::new(config(2), vec![]).unwrap();
    let r = [0.01, -0.005, 0.02, 0.0, 0.004];
    let s = scorer.score(&series(&[1, 2, 3, 4, 5], &r));
    assert!(close(s.score, sharpe(&r)));
    assert_eq!(
        (s.score, s.marginal_sharpe, s.portfolio_sharpe),
        (s.candidate_sharpe, s.candidate_sharpe, 0.0)
    );
    assert_eq!((s.max_correlation, s.penalty), (None, 0.0));
    assert!(s.correlations.is_empty());
}

#[test]
fn allocations_must_fit_the_account() {
    let r = series(&[1, 2], &[0.0, 0.0]);
    let err =
        PortfolioScorer::new(config(2), vec![promoted("x", 0.7, r.clone()), promoted("y", 0.4, r.clone())])
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "promoted strategy `x`: allocation 0.7 is invalid (each in (0, 1], total 1.1 must be <= 1)"
    );
    let err = PortfolioScorer::new(config(2), vec![promoted("z", 0.0, r.clone())]).unwrap_err();
    assert!(err.to_string().starts_with("promoted strategy `z`"), "{err}");
    // Ten tenths sum to 1 within rounding: accepted.
    let tenths: Vec<_> = (0..10).map(|i| promoted(&format!("s{i}"), 0.1, r.clone())).collect();
    PortfolioScorer::new(config(2), tenths).unwrap();
}

fn goog() -> MarketData {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/samples/GOOG.csv");
    let series = read_file(&path, &ImportOptions::default()).unwrap().remove(0);
    let meta = SymbolMeta::new("GOOG", AssetClass::Equity);
    MarketData::new(series.timeframe, vec![SymbolData { meta, bars: series.bars }]).unwrap()
}

fn run(data: &MarketData, strategy: &dyn Strategy, params: &[&str]) -> Backtest {
    let params = Params::parse(strategy.space(), params.iter().copied()).unwrap();
    backtest(strategy, &params, data, TradeRules::default(), 10_000.0).unwrap()
}

fn daily(days: &SessionDays, bt: &Backtest) -> DailyReturns {
    let RunResult::Single(result) = &bt.result else { panic!("one symbol") };
    days.daily_returns(result.initial_cash, &result.equity).unwrap()
}

#[test]
fn a_clone_of_a_promoted_strategy_scores_well_below_an_uncorrelated_one_of_equal_sharpe() {
    let data = goog();
    let days = SessionDays::new(data.timestamps()).unwrap();
    assert_eq!(days.days(), data.timestamps(), "daily bars are their own session days");
    let bt = run(&data, &SmaCross, &["fast=10", "slow=20"]);
    let held = daily(&days, &bt);
    // The promoted strategy's own Sharpe, from daily returns, is the kernel's figure.
    let alone = PortfolioScorer::new(PortfolioFitnessConfig::default(), vec![]).unwrap().score(&held);
    assert!((alone.score - bt.metrics.sharpe).abs() < 1e-12, "{} vs {}", alone.score, bt.metrics.sharpe);

    let scorer =
        PortfolioScorer::new(PortfolioFitnessConfig::default(), vec![promoted("sma", 0.5, held.clone())])
            .unwrap();
    let clone = scorer.score(&held);
    // The same returns in reverse order on the same days: the same Sharpe, no correlation.
    let mut reversed_returns = held.returns().to_vec();
    reversed_returns.reverse();
    let reversed = DailyReturns::new(held.timestamps().to_vec(), reversed_returns).unwrap();
    let fresh = scorer.score(&reversed);

    assert!((clone.candidate_sharpe - fresh.candidate_sharpe).abs() < 1e-9);
    assert!(clone.max_correlation.unwrap() > 0.999_999);
    assert!(fresh.max_correlation.unwrap().abs() < 0.1, "{:?}", fresh.max_correlation);
    // Adding a clone changes nothing; adding an uncorrelated strategy of equal Sharpe at 0.1
    // next to 0.5 diversifies: Sharpe × (0.6 / √(0.5² + 0.1²)) / 1 ≈ +17.7 % for ρ = 0.
    assert!(clone.marginal_sharpe.abs() < 1e-9, "{}", clone.marginal_sharpe);
    assert!(fresh.marginal_sharpe > 0.1 * fresh.portfolio_sharpe, "{fresh:?}");
    // The clone pays the full penalty: (1 − 0.5) × 1.
    assert!((clone.penalty - 0.5).abs() < 1e-6);
    assert_eq!(fresh.penalty, 0.0);
    assert!(clone.score < fresh.score - 0.5, "clone {} vs fresh {}", clone.score, fresh.score);

    // The window path (the portfolio laid out once on the run's days) gives the same scores.
    let window = scorer.window(days.days()).unwrap();
    assert_eq!(window.score(reversed.returns()).unwrap(), fresh);
    assert_eq!(window.portfolio_sharpe(), fresh.portfolio_sharpe);
    let err = window.score(&reversed.returns()[1..]).unwrap_err();
    assert_eq!(err.to_string(), "candidate returns: 2147 values but 2148 timestamps");
    let mut bad = reversed.returns().to_vec();
    bad[7] = f64::NAN;
    assert!(window.correlations(&bad).is_err());
}
