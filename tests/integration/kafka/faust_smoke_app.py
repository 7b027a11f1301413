"""A tiny Faust app for the smoke test, run as a worker in its own process.

Its agent reads the lz4-compressed JSON transactions our confluent-kafka producer wrote, counts
them per card in a table (so a changelog topic is created and written), and sends each
trans_num on to the sink topic, keyed by the card. Everything comes from SMOKE_* variables.
"""

from __future__ import annotations

import os

import faust
import orjson

app = faust.App(
    os.environ["SMOKE_APP_ID"],
    broker=f"kafka://{os.environ['SMOKE_BROKER']}",
    store="memory://",
    datadir=os.environ["SMOKE_DATADIR"],
    web_enabled=False,
    topic_partitions=int(os.environ["SMOKE_PARTITIONS"]),
)
source = app.topic(os.environ["SMOKE_SOURCE"], key_serializer="raw", value_serializer="raw")
sink = app.topic(os.environ["SMOKE_SINK"], key_serializer="raw", value_serializer="raw")
seen = app.Table("seen-per-card", default=int)


@app.agent(source)
async def copy(stream: faust.StreamT[bytes]) -> None:
    async for event in stream.events():
        record = orjson.loads(event.value)
        seen[event.key] += 1
        await sink.send(key=event.key, value=record["trans_num"].encode())
