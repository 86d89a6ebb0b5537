"""Reads a `tradebot data export --all` directory with the one-liners of docs/export.md.

Used by tests/data_cli.rs when pyarrow is installed. Prints `LIBRARY SYMBOL BARS` for the 1Day
Parquet table with each library that is installed (pyarrow always; polars and duckdb if present)
and `pyarrow-ipc SYMBOL BARS` for the Arrow file; the test compares them with the store.
"""
import sys

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

out = sys.argv[1]

t = pq.read_table(f"{out}/1Day.parquet")
assert t.schema.names[0] == "symbol", t.schema
assert t.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC"), t.schema
for row in t.group_by("symbol").aggregate([("close", "count")]).sort_by("symbol").to_pylist():
    print("pyarrow", row["symbol"], row["close_count"])

t = feather.read_table(f"{out}/1Day.arrow")
for row in t.group_by("symbol").aggregate([("close", "count")]).sort_by("symbol").to_pylist():
    print("pyarrow-ipc", row["symbol"], row["close_count"])

try:
    import polars as pl
except ImportError:
    print("polars not installed: skipped", file=sys.stderr)
else:
    df = pl.read_parquet(f"{out}/1Day.parquet")
    for symbol, n in df.group_by("symbol").len().sort("symbol").iter_rows():
        print("polars", symbol, n)
    assert pl.read_ipc(f"{out}/1Day.arrow").height == df.height

try:
    import duckdb
except ImportError:
    print("duckdb not installed: skipped", file=sys.stderr)
else:
    rows = duckdb.sql(
        f"SELECT symbol, count(*) AS bars, min(timestamp) AS first, max(timestamp) AS last FROM '{out}/1Day.parquet' GROUP BY symbol ORDER BY symbol;"
    ).fetchall()
    for symbol, n, _first, _last in rows:
        print("duckdb", symbol, n)
