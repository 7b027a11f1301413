"""Faust's own ceiling: a worker whose agent only iterates over the topic, nothing else.

Run as ``python bench/_faust_ceiling.py worker`` with CEILING_* variables. It takes events the
way the stream processor does (``noack_take`` of raw bytes, then an ack per event) and writes
how many it has seen to CEILING_COUNT_FILE every half second, so the benchmark can time it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import faust

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
seen = 0


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
