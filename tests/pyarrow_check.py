"""Opens a tradebot store's segment files with pyarrow and prints one line per series.

Used by tests/cli.rs when pyarrow is installed: proves the files are plain Arrow IPC.
"""
import json
import pathlib
import sys

import pyarrow as pa

store = pathlib.Path(sys.argv[1])
manifest = json.loads((store / "MANIFEST.json").read_text())
for seg in manifest["segments"]:
    with pa.memory_map(str(store / seg["file"])) as source:
        reader = pa.ipc.open_file(source)
        index = json.loads(reader.schema.metadata.get(b"tradebot.index", b"null") or "null") if reader.schema.metadata else None
        if index is None:
            # The index lives in the file footer's custom metadata.
            index = json.loads(reader.metadata[b"tradebot.index"])
        for i, entry in enumerate(index):
            batch = reader.get_batch(i)
            assert batch.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
            print(f"{entry['symbol']} {seg['timeframe']} {batch.num_rows} rows, last close {batch.column('close')[-1].as_py()}")
