//! `gap_fill`: buy an opening gap down on minute bars and sell when it fills.

use datasets::calendar::{self, Session};
use datasets::time::NANOS_PER_MIN;
use datasets::{Timeframe, Timestamp};

use super::{
    Cadence, Diagnostic, MarketData, ParamError, ParamKind, ParamSpace, ParamSpec, ParamValue, Params,
    SignalSet, Strategy, StrategyError, per_symbol,
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

/// The gap `open / prev_close − 1` (negative) when the session opened below the previous close
/// by between `min_gap` and `max_gap`: the entry rule's condition and its candidates'.
fn gap_down(open: f64, prev_close: f64, min_gap: f64, max_gap: f64) -> Option<f64> {
    let gap = open / prev_close - 1.0;
    (gap <= -min_gap && gap >= -max_gap).then_some(gap)
}

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

    fn cadence(&self) -> Option<Cadence> {
        // Intraday: every minute from 09:31 New York, so that exits fill by the close.
        Some(Cadence::repeating(9, 31, 1))
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

    /// The gap candidates of the last bar's session: every tradable symbol that opened below
    /// the previous close by between `min_gap` and `max_gap` (the entry rule's gap), traded or not.
    fn diagnostics(&self, params: &Params, data: &MarketData) -> Vec<Diagnostic> {
        let (min_gap, max_gap) = (params.real("min_gap"), params.real("max_gap"));
        let ts = data.timestamps();
        let Some(&last) = ts.last() else { return Vec::new() };
        let today = calendar::session_date(Timestamp(last));
        let Some(first) = ts.iter().position(|&t| calendar::session_date(Timestamp(t)) == today) else {
            return Vec::new();
        };
        if first == 0 {
            return Vec::new();
        }
        data.tradable()
            .filter_map(|i| {
                let bars = &data.symbols()[i].bars;
                let (open, prev_close) = (bars.open()[first], bars.close()[first - 1]);
                let gap = gap_down(open, prev_close, min_gap, max_gap)?;
                Some(Diagnostic {
                    bar: first,
                    symbol: i,
                    kind: "gap_candidate",
                    strength: -gap,
                    price: open,
                    detail: format!("opened {:.2}% below the previous close {prev_close}", -gap * 100.0),
                })
            })
            .collect()
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
                if !d.entered
                    && gap_down(d.open, d.prev_close, min_gap, max_gap).is_some()
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
