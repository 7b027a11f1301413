"""The simulator as other components use it: frames, records, labels, files (pacing the records
at a rate is the producer's: :mod:`fraudstream.producer.pacing`).

Every method starts from the same deterministic timeline (params + seed), so the first
thousand records of :meth:`Simulator.records` are the first thousand rows of
:meth:`Simulator.frame` and of a written file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast, overload

import numpy as np
import pandas as pd

from fraudstream.errors import ConfigError, SourceError
from fraudstream.schema import LABEL_COLUMN, Transaction
from fraudstream.simulator.calendar import to_seconds
from fraudstream.simulator.engine import Batch, Engine
from fraudstream.simulator.output import DelayedLabel, kaggle_frame, label_events
from fraudstream.simulator.params import SimParams
from fraudstream.simulator.population import Population, build_population

FileFormat = Literal["csv", "parquet"]


@dataclass(frozen=True, slots=True)
class WriteReport:
    """What :meth:`Simulator.write` wrote."""

    path: Path
    rows: int
    frauds: int
    seconds: float


class Simulator:
    """A Sparkov-like feed: ``Simulator(SimParams(...), seed=7).frame(100_000)``."""

    def __init__(self, params: SimParams | None = None, seed: int = 42) -> None:
        self.params = params or SimParams()
        self.seed = seed
        self._population: Population | None = None

    @property
    def population(self) -> Population:
        """Cardholders and merchants, drawn on first use."""
        if self._population is None:
            self._population = build_population(self.params, self.seed)
        return self._population

    # -- the timeline ------------------------------------------------------------------------

    def batches(
        self,
        n_rows: int | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Iterator[Batch]:
        """Blocks of transactions in time order, at most ``n_rows``, within [start, end).

        Endless when neither ``n_rows`` nor ``end`` is given.
        """
        if n_rows is not None and n_rows < 0:
            raise ConfigError("the number of rows must be >= 0")
        low = None if start is None else to_seconds(start)
        high = None if end is None else to_seconds(end)
        left = n_rows
        engine = Engine(self.params, self.seed, self.population)
        for batch in engine.blocks():
            if left == 0:
                return
            keep = np.ones(batch.size, dtype=bool)
            if low is not None:
                keep &= batch.t >= low
            if high is not None:
                keep &= batch.t < high
            part = batch.take(keep)
            if left is not None:
                part = part.take(slice(0, left))
                left -= part.size
            if part.size:
                yield part
            if high is not None and engine.covered_until >= high:
                return

    def frame(
        self,
        n_rows: int | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        scenario_column: bool = False,
    ) -> pd.DataFrame:
        """Transactions as a Kaggle-layout frame (``scenario_column`` adds each fraud's tag)."""
        if n_rows is None and end is None:
            raise ConfigError("give a number of rows or an end time for a frame")
        parts = list(self.batches(n_rows, start=start, end=end))
        batch = Batch.concat(parts) if parts else Batch.empty()
        return kaggle_frame(batch, self.population, scenario_column=scenario_column)

    @overload
    def records(
        self,
        n_rows: int | None = ...,
        *,
        start: datetime | None = ...,
        end: datetime | None = ...,
        with_label: bool = ...,
        as_model: Literal[False] = ...,
    ) -> Iterator[dict[str, Any]]: ...

    @overload
    def records(
        self,
        n_rows: int | None = ...,
        *,
        start: datetime | None = ...,
        end: datetime | None = ...,
        with_label: bool = ...,
        as_model: Literal[True],
    ) -> Iterator[Transaction]: ...

    def records(
        self,
        n_rows: int | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        with_label: bool = True,
        as_model: bool = False,
    ) -> Iterator[dict[str, Any]] | Iterator[Transaction]:
        """Transactions one by one, as Kaggle JSON dicts or :class:`Transaction` models.

        ``with_label=False`` drops ``is_fraud``, as the live feed does (labels then come from
        :meth:`labels`). Endless without ``n_rows`` or ``end``.
        """
        for batch in self.batches(n_rows, start=start, end=end):
            frame = kaggle_frame(batch, self.population)
            if not with_label:
                frame = frame.drop(columns=[LABEL_COLUMN])
            for record in frame.to_dict("records"):
                row = cast(dict[str, Any], record)
                yield Transaction.model_validate(row) if as_model else row

    def labels(
        self,
        n_rows: int | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Iterator[DelayedLabel]:
        """One label per transaction, ``label_delay_days`` after it, in order of availability."""
        delay = timedelta(days=self.params.label_delay_days)
        for batch in self.batches(n_rows, start=start, end=end):
            yield from label_events(batch, self.population, delay)

    # -- files -------------------------------------------------------------------------------

    def write(
        self,
        path: Path,
        n_rows: int | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        format: FileFormat | None = None,
        index_column: bool = False,
        progress: bool = False,
    ) -> WriteReport:
        """Write a CSV or Parquet file that loads exactly like fraudTrain.csv.

        ``index_column`` adds the unnamed leading index column many copies of the Kaggle
        files carry. The format comes from the suffix unless given.
        """
        if n_rows is None and end is None:
            raise ConfigError("give a number of rows or an end time for a file")
        kind = format or ("parquet" if path.suffix == ".parquet" else "csv")
        began = time.perf_counter()
        rows = frauds = 0
        bar = _Progress(n_rows, start or self.params.start, end) if progress else None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = _ParquetSink(path) if kind == "parquet" else _CsvSink(path)
            with writer:
                for batch in self.batches(n_rows, start=start, end=end):
                    frame = kaggle_frame(batch, self.population)
                    if index_column:
                        frame.index = pd.RangeIndex(rows, rows + len(frame))
                    writer.append(frame, index_column)
                    rows += len(frame)
                    frauds += int(batch.is_fraud.sum())
                    if bar is not None:
                        bar.advance(batch)
        except OSError as exc:
            raise SourceError(f"cannot write {path}: {exc}") from exc
        finally:
            if bar is not None:
                bar.close()
        return WriteReport(path, rows, frauds, time.perf_counter() - began)


class _CsvSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._first = True

    def __enter__(self) -> _CsvSink:
        self._handle = self.path.open("w", encoding="utf-8", newline="")
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def append(self, frame: pd.DataFrame, index_column: bool) -> None:
        frame.to_csv(self._handle, header=self._first, index=index_column)
        self._first = False


class _ParquetSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: Any = None

    def __enter__(self) -> _ParquetSink:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.close()

    def append(self, frame: pd.DataFrame, index_column: bool) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if index_column:
            frame = frame.reset_index(names="Unnamed: 0")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema)
        self._writer.write_table(table)


class _Progress:
    """A rich progress bar over rows (when counted) or over simulated time."""

    def __init__(self, n_rows: int | None, start: datetime, end: datetime | None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._by_rows = n_rows is not None
        self._start = to_seconds(start)
        total = float(n_rows) if n_rows is not None else float(to_seconds(end) - self._start)  # type: ignore[arg-type]
        self._bar = Progress(
            TextColumn("simulating"),
            BarColumn(),
            MofNCompleteColumn() if self._by_rows else TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(),
        )
        self._task = self._bar.add_task("rows", total=total)
        self._bar.start()

    def advance(self, batch: Batch) -> None:
        if self._by_rows:
            self._bar.advance(self._task, batch.size)
        else:
            self._bar.update(self._task, completed=float(batch.t[-1] - self._start))

    def close(self) -> None:
        self._bar.stop()
