"""The two models behind the aliases, with what the job must know about their training data.

The training run of every version logged ``data_report.json`` (see
:mod:`fraudstream.trainer.tracking`): its source says whether the model learnt from stored
rows (``db://labelled...``) and its end is the latest transaction it saw, which
:func:`fraudstream.spans.plan` keeps out of the evaluation.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from fraudstream.artifact import ScoringModel
from fraudstream.registry import Alias, Registry

STORED_SOURCE: Final = "db://"
"""Prefix of the data source of a model trained on the stored, labelled transactions."""
DATA_REPORT: Final = "data_report.json"


@dataclass(frozen=True)
class Candidate:
    """One live model: its alias and version, the loaded model, and its training data."""

    alias: Alias
    version: str
    run_id: str
    model: ScoringModel
    source: str
    """Where its training rows came from (the data report's source)."""
    trained_from: datetime | None
    trained_until: datetime | None
    """The latest transaction time among its training rows."""

    @property
    def saw_stored_rows(self) -> bool:
        """True when it was trained on the stored transactions (their labels included)."""
        return self.source.startswith(STORED_SOURCE)

    @property
    def seen_until(self) -> datetime | None:
        """The latest stored row it learnt from, or None when it learnt from elsewhere."""
        return self.trained_until if self.saw_stored_rows else None

    def describe(self) -> str:
        span = (
            f" ({self.trained_from:%Y-%m-%d} -> {self.trained_until:%Y-%m-%d})"
            if self.trained_from and self.trained_until
            else ""
        )
        return f"{self.alias} version {self.version}, trained on {self.source}{span}"


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def load_candidate(registry: Registry, alias: Alias) -> Candidate | None:
    """The model behind ``alias``, or None when the alias points nowhere."""
    version = registry.get_alias_version(alias)
    if version is None:
        return None
    run_id = registry.run_of(version)
    model = registry.load(version)
    with tempfile.TemporaryDirectory(prefix="fraudstream-report-") as tmp:
        path = registry.run_file(run_id, DATA_REPORT, Path(tmp))
        # a run logged by something other than fraudstream's trainer: nothing is known
        report = json.loads(path.read_text()) if path is not None else {}
    return Candidate(
        alias=alias,
        version=version,
        run_id=run_id,
        model=model,
        source=str(report.get("source", "unknown")),
        trained_from=_moment(report.get("start")),
        trained_until=_moment(report.get("end")),
    )
