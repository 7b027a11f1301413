"""Faust's own ceiling: a worker whose agent only iterates over the topic, nothing else.

Run as ``python bench/_faust_ceiling.py worker`` with CEILING_* variables. It takes events the
way the stream processor does (``noack_take`` of raw bytes, then an ack per event) and writes
how many it has seen to CEILING_COUNT_FILE every half second, so the benchmark can time it,
and how many partitions it was assigned beside it (``.assigned``).
With CEILING_STREAM_FAUST=1 it runs Faust configured exactly as the stream does (the
``FRAUD_*`` variables: uvloop, the draining fetch loop, the 65,536-event buffer, no Monitor);
otherwise Faust's defaults on asyncio's loop, the pattern of the ceiling's first measurements.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import faust

from fraudstream.config import load_settings
from fraudstream.stream_processor.app import faust_app

if os.environ.get("CEILING_STREAM_FAUST") == "1":
    # Faust as the stream runs it (its loop, drain, buffer, sensors), from FRAUD_* variables
    app = faust_app(load_settings())
else:  # Faust 0.15.3's defaults, with what any such worker sets
    app = faust.App(
        os.environ["CEILING_APP_ID"],
        broker=f"kafka://{os.environ['CEILING_BROKER']}",
        store="memory://",
        datadir=os.environ["CEILING_DATADIR"],
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        stream_wait_empty=False,
    )
source = app.topic(os.environ["CEILING_TOPIC"], value_type=bytes, key_type=bytes)
count_file = Path(os.environ["CEILING_COUNT_FILE"])
assigned_file = count_file.with_suffix(".assigned")
go = Path(os.environ["CEILING_GO_FILE"]) if os.environ.get("CEILING_GO_FILE") else None
"""With a go file, partitions stay paused until it exists: every worker joins, then all start."""
held: set[Any] = set()
seen = 0


@app.on_partitions_assigned.connect
async def assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
    mine = {tp for tp in (args[0] if args else ()) if tp.topic in source.topics}
    await asyncio.to_thread(assigned_file.write_text, str(len(mine)))
    if go is not None and not go.exists():
        app.consumer.pause_partitions(mine)
        held.update(mine)


@app.timer(0.02)
async def start_when_told() -> None:
    if held and go is not None and go.exists():
        app.consumer.resume_partitions(set(held))
        held.clear()


@app.agent(source)
async def iterate(stream: Any) -> None:
    global seen
    async for events in stream.noack_take(int(os.environ.get("CEILING_BATCH", "2000")), 0.1):
        for event in events:
            event.ack()
        seen += len(events)


@app.timer(0.5)
async def report() -> None:
    await asyncio.to_thread(count_file.write_text, str(seen))


if __name__ == "__main__":
    app.main()
