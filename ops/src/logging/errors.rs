//! The tracing layer that copies every ERROR-level event into the `error_log` table.
//!
//! The layer itself only formats the event and hands it to a bounded channel (`try_send`):
//! a background thread owns the SQLite connection and writes in batches, so a locked or slow
//! database never blocks, and never crashes, the code that logged. When the channel is full the
//! record is dropped and counted ([`ErrorLogStats::dropped`]); the line still reaches the log
//! file through the file layer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::alert::{Alert, Notifier};
use crate::db::{ErrorRecord, OpsDb};
use crate::now_ns;

/// The field that names a component, on an event or on any enclosing span.
pub const COMPONENT_FIELD: &str = "component";

/// Records waiting for the writer thread; beyond this they are dropped and counted.
const QUEUE: usize = 1024;

/// Most records written per transaction.
const BATCH: usize = 256;

/// Counters of the error-log writer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorLogStats {
    /// Rows committed to `error_log`.
    pub written: u64,
    /// Events not stored because the queue was full.
    pub dropped: u64,
    /// Events lost because SQLite refused the write.
    pub failed: u64,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

/// Forwards ERROR events to the writer thread (and, when configured, to the notifier).
pub struct ErrorLayer {
    service: String,
    queue: SyncSender<ErrorRecord>,
    counters: Arc<Counters>,
    notifier: Option<Notifier>,
}

/// The writer thread's handle: counters, and a way to wait for the queue to drain.
pub struct ErrorWriter {
    _thread: JoinHandle<()>,
    counters: Arc<Counters>,
}

/// Builds the layer and starts its writer on `db`.
pub fn error_layer(service: &str, db: OpsDb, notifier: Option<Notifier>) -> (ErrorLayer, ErrorWriter) {
    let (queue, rx) = std::sync::mpsc::sync_channel(QUEUE);
    let counters = Arc::new(Counters::default());
    let writer_counters = Arc::clone(&counters);
    let thread = std::thread::Builder::new()
        .name("error-log".into())
        .spawn(move || write_loop(db, rx, &writer_counters))
        .expect("spawning the error-log writer thread");
    let layer = ErrorLayer { service: service.to_string(), queue, counters: Arc::clone(&counters), notifier };
    (layer, ErrorWriter { _thread: thread, counters })
}

fn write_loop(mut db: OpsDb, rx: Receiver<ErrorRecord>, counters: &Counters) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        match db.insert_errors(&batch) {
            Ok(()) => counters.written.fetch_add(n, Ordering::Release),
            // Not through tracing: that would feed the failure back into this queue.
            Err(e) => {
                eprintln!("error log: {n} record(s) lost: {e}");
                counters.failed.fetch_add(n, Ordering::Release)
            }
        };
    }
}

impl ErrorWriter {
    /// The counters so far.
    pub fn stats(&self) -> ErrorLogStats {
        ErrorLogStats {
            written: self.counters.written.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
    }

    /// Waits (at most `timeout`) until every queued record is written or has failed. The
    /// thread itself ends when the layer, i.e. the subscriber holding it, is dropped.
    pub fn drain(&self, timeout: Duration) -> ErrorLogStats {
        let deadline = Instant::now() + timeout;
        loop {
            let c = &self.counters;
            let done = c.written.load(Ordering::Acquire) + c.failed.load(Ordering::Acquire);
            if done >= c.queued.load(Ordering::Acquire) || Instant::now() >= deadline {
                return self.stats();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// The `component` field of a span, kept in its extensions.
struct SpanComponent(String);

impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for ErrorLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let (Some(Value::String(c)), Some(span)) = (fields.map.remove(COMPONENT_FIELD), ctx.span(id)) {
            span.extensions_mut().insert(SpanComponent(c));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() != Level::ERROR {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut spans = Vec::new();
        let mut span_component = None;
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                spans.push(Value::String(span.name().to_string()));
                if span_component.is_none() {
                    span_component = span.extensions().get::<SpanComponent>().map(|c| c.0.clone());
                }
            }
        }
        let component = match fields.map.remove(COMPONENT_FIELD) {
            Some(Value::String(c)) => c,
            Some(other) => other.to_string(),
            None => span_component.unwrap_or_else(|| event.metadata().target().to_string()),
        };
        if !spans.is_empty() {
            spans.reverse();
            fields.map.insert("spans".into(), Value::Array(spans));
        }
        let message = fields.message.unwrap_or_default();
        if let Some(notifier) = &self.notifier {
            notifier.notify(Alert::error(&component, &message));
        }
        let record = ErrorRecord {
            time_ns: now_ns(),
            service: self.service.clone(),
            component,
            message,
            context: Value::Object(fields.map).to_string(),
        };
        // Counted before sending so `drain` never sees a write it has not been told of.
        self.counters.queued.fetch_add(1, Ordering::AcqRel);
        if self.queue.try_send(record).is_err() {
            self.counters.queued.fetch_sub(1, Ordering::AcqRel);
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// An event's or span's fields: the message apart, the rest as JSON values.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    map: Map<String, Value>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.map.insert(field.name().to_string(), value);
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}
