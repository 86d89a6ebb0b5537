//! CSV and JSON ingest (being written).
