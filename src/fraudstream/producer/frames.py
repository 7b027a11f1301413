"""Sources that come as frames: the simulator, and files replayed from disk, S3 or HTTP.

A local file is streamed: CSV in chunks of ``FRAUD_PRODUCE_CHUNK_ROWS`` rows (card numbers read
as text, so that a 19-digit number stays exact even in a chunk with an empty cell), Parquet in
batches of as many rows. A remote file (``s3://``, ``http(s)://``) or
another address of :func:`fraudstream.sources.read_frame` (``sim://``, ``db://``) is loaded
whole by that one loader and then handed out in chunks of the same size: remote reading, its
credentials and its errors stay in one place, at the cost of holding that file in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pandas as pd

from fraudstream.config import Settings
from fraudstream.errors import SourceError
from fraudstream.producer.items import Item, frame_items
from fraudstream.schema import normalise_columns
from fraudstream.simulator import Simulator
from fraudstream.simulator.output import kaggle_frame

_PARQUET: Final = (".parquet", ".pq")
_CSV_TEXT: Final = dict.fromkeys(("cc_num", "trans_num", "dob", "zip"), "str")
"""Read as written: a card number with an empty cell nearby must not become a float."""


def simulated_items(sim: Simulator, limit: int | None) -> Iterator[Item]:
    """The simulator's feed with its labels, block by block; endless without ``limit``."""
    origin = f"simulator (seed {sim.seed})"
    position = 0
    for batch in sim.batches(limit):
        frame = kaggle_frame(batch, sim.population)
        yield from frame_items(frame, origin, position)
        position += len(frame)


def replayed_items(address: str, settings: Settings) -> Iterator[Item]:
    """Every row of the file at ``address``, in file order, chunk by chunk.

    A local file that does not exist is a SourceError at once; anything else is read when the
    items are.
    """
    if "://" in address:
        origin, chunks = address.rsplit("/", 1)[-1], _remote_chunks(address, settings)
    else:
        path = Path(address)
        if not path.is_file():
            raise SourceError(
                f"{path}: no such file (give a CSV or Parquet path, s3:// or http(s)://)"
            )
        origin, chunks = path.name, _local_chunks(path, settings.producer.chunk_rows)
    return _items(origin, chunks)


def _items(origin: str, chunks: Iterator[pd.DataFrame]) -> Iterator[Item]:
    position = 0
    for chunk in chunks:
        yield from frame_items(normalise_columns(chunk), origin, position)
        position += len(chunk)


def _remote_chunks(address: str, settings: Settings) -> Iterator[pd.DataFrame]:
    from fraudstream.sources import read_frame

    whole = read_frame(address, settings)
    rows = settings.producer.chunk_rows
    for start in range(0, len(whole), rows):
        yield whole.iloc[start : start + rows]


def _local_chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    kind = "Parquet" if path.suffix.lower() in _PARQUET else "CSV"
    try:
        if kind == "Parquet":
            yield from _parquet_chunks(path, rows)
        else:
            with pd.read_csv(path, dtype=_CSV_TEXT, chunksize=rows) as reader:
                yield from reader
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise SourceError(f"{path} is not a readable {kind} file: {exc}") from exc


def _parquet_chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        for batch in parquet.iter_batches(batch_size=rows):
            yield batch.to_pandas()
