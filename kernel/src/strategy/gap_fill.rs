//! `gap_fill`: buy an opening gap down on minute bars and sell when it fills.

use datasets::calendar::{self, Session};
use datasets::time::NANOS_PER_MIN;
use datasets::{Timeframe, Timestamp};

use super::{
    MarketData, ParamError, ParamKind, ParamSpace, ParamSpec, ParamValue, Params, SignalSet, Strategy,
    StrategyError, per_symbol,
};
use crate::sim::{Signal, Strength};

/// Signal-bar minutes after the open during which entries are allowed: 09:31 to 11:30 New York.
pub const ENTRY_WINDOW_MINUTES: std::ops::RangeInclusive<i64> = 1..=120;

/// On 1-minute bars: a session that opens below the previous session's last close by between
/// `min_gap` and `max_gap` (fractions) is bought once, at the first bar inside the 09:31–11:30
/// New York window (`ENTRY_WINDOW_MINUTES`) whose close is above the session's open (the
/// gap has started to close) and still below the previous close. The position is sold when a
/// close reaches the previous close (the gap has filled) or at `exit_minute` after the open,
/// and always by the session's second-to-last minute so it never holds overnight. Bars outside
/// a session are ignored. Long only: gaps up would need a short.
#[derive(Clone, Copy, Debug, Default)]
pub struct GapFill;

static SPACE: ParamSpace = ParamSpace::new(&[
    ParamSpec {
        name: "min_gap",
        kind: ParamKind::Real { min: 0.001, max: 0.2 },
        default: ParamValue::Real(0.005),
    },
    ParamSpec {
        name: "max_gap",
        kind: ParamKind::Real { min: 0.002, max: 0.5 },
        default: ParamValue::Real(0.06),
    },
    ParamSpec {
        name: "exit_minute",
        kind: ParamKind::Integer { min: 30, max: 388 },
        default: ParamValue::Int(385),
    },
]);

/// Per-session state of the rule.
struct Day {
    session: Session,
    open: f64,
    prev_close: f64,
    entered: bool,
}

impl Strategy for GapFill {
    fn name(&self) -> &'static str {
        "gap_fill"
    }

    fn description(&self) -> &'static str {
        "1Min: buy a gap down between 09:31 and 11:30 New York once it turns up, sell on the fill or at a set minute"
    }

    fn space(&self) -> &'static ParamSpace {
        &SPACE
    }

    fn validate(&self, params: &Params) -> Result<(), ParamError> {
        let (min, max) = (params.real("min_gap"), params.real("max_gap"));
        if min >= max {
            let rule = format!("min_gap ({min}) must be below max_gap ({max})");
            return Err(ParamError::Constraint { strategy: self.name(), rule });
        }
        Ok(())
    }

    fn signals(&self, params: &Params, data: &MarketData) -> Result<SignalSet, StrategyError> {
        if data.timeframe() != Timeframe::Min1 {
            return Err(StrategyError::Timeframe {
                strategy: self.name(),
                needs: "1Min",
                found: data.timeframe(),
            });
        }
        let (min_gap, max_gap) = (params.real("min_gap"), params.real("max_gap"));
        let exit_minute = params.int("exit_minute");
        per_symbol(self.name(), data, |s| {
            let (ts, open, close) = (s.bars.timestamps(), s.bars.open(), s.bars.close());
            let mut out = vec![Signal::Hold; ts.len()];
            let mut session: Option<Session> = None;
            let mut day: Option<Day> = None;
            let mut last_close: Option<f64> = None;
            let mut holding = false;
            for t in 0..ts.len() {
                let now = Timestamp(ts[t]);
                if !session.is_some_and(|s| s.contains(now)) {
                    let Some(new) =
                        calendar::session(calendar::session_date(now)).filter(|s| s.contains(now))
                    else {
                        continue;
                    };
                    session = Some(new);
                    day = last_close.map(|prev_close| Day {
                        session: new,
                        open: open[t],
                        prev_close,
                        entered: false,
                    });
                    holding = false;
                }
                last_close = Some(close[t]);
                let Some(d) = day.as_mut() else { continue };
                let minute = (now.0 - d.session.open.0) / NANOS_PER_MIN;
                let last_exit = exit_minute.min(d.session.minutes() - 2);
                if holding {
                    if close[t] >= d.prev_close || minute >= last_exit {
                        out[t] = Signal::Exit;
                        holding = false;
                    }
                    continue;
                }
                let gap = d.open / d.prev_close - 1.0;
                let gapped = gap <= -min_gap && gap >= -max_gap;
                if !d.entered
                    && gapped
                    && ENTRY_WINDOW_MINUTES.contains(&minute)
                    && minute < last_exit
                    && close[t] > d.open
                    && close[t] < d.prev_close
                {
                    out[t] = Signal::Enter(Strength::FULL);
                    d.entered = true;
                    holding = true;
                }
            }
            Ok(out)
        })
    }
}
