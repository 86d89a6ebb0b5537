//! PRE_MARKET's "refresh data" into the bar store, with staleness alerts
//! ([`crate::refresh`]).

use std::collections::BTreeMap;

use datasets::Timeframe;
use ops::alert::Alert;

use super::{Bridge, ServiceError};
use crate::refresh::{RefreshPlan, refresh_store};

impl Bridge {
    /// The store's refresh plan: daily bars of every enabled strategy's symbols and of
    /// `refresh_symbols`, 1-minute bars of the intraday strategies' symbols.
    fn refresh_plan(&self) -> RefreshPlan {
        let mut symbols: BTreeMap<Timeframe, Vec<String>> = BTreeMap::new();
        for r in self.strategies.iter().filter(|r| r.enabled()) {
            symbols.entry(Timeframe::Day1).or_default().extend(r.strategy.symbols.iter().cloned());
            if r.strategy.timeframe == Timeframe::Min1 {
                symbols.entry(Timeframe::Min1).or_default().extend(r.strategy.symbols.iter().cloned());
            }
        }
        let service = &self.config.service;
        symbols.entry(Timeframe::Day1).or_default().extend(service.refresh_symbols.iter().cloned());
        for list in symbols.values_mut() {
            list.sort();
            list.dedup();
        }
        RefreshPlan {
            symbols,
            daily_days: service.daily_history_days,
            minute_window_days: service.minute_window_days,
        }
    }

    /// Appends the bars completed since the store's last ones (backfilling missed days), keeps
    /// the 1-minute window, and alerts on every series still behind. Never fails the day.
    pub(super) async fn refresh_data(&mut self) -> Result<(), ServiceError> {
        let Some(dir) = self.config.service.store.clone() else { return Ok(()) };
        self.checkpoint("refresh", &dir.display().to_string())?;
        let plan = self.refresh_plan();
        match refresh_store(&self.client, &dir, &plan, self.clock.now()).await {
            Ok(report) => {
                tracing::info!(
                    "bar store refreshed: {:?} bars appended, {} old 1-minute bars dropped, {} refused",
                    report.appended,
                    report.dropped,
                    report.refused.len()
                );
                for s in &report.stale {
                    let what = format!("{} {}", s.symbol, s.timeframe);
                    let last = s.last.map_or("no bars".to_string(), |t| format!("last bar {t}"));
                    let detail = format!("{last}; expected the session of {}", s.expected);
                    tracing::warn!("stale data: {what}: {detail}");
                    self.notifier.notify(Alert::data_stale(&what, &detail).at(self.now_ns()));
                }
            }
            Err(e) => {
                tracing::warn!("bar store refresh failed: {e}");
                self.notifier.notify(Alert::data_stale("store", &e.to_string()).at(self.now_ns()));
            }
        }
        Ok(())
    }
}
