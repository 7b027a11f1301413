"""The models this replica serves, swapped atomically while requests are in flight.

A request reads ``live.champion`` once, at its start, and scores the whole batch with that
object; a swap only rebinds the attribute. So a request in flight finishes on the model it
started with, and no request ever sees half a swap or waits for one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from fraudstream.schema import Reason

log = logging.getLogger(__name__)

Alias = Literal["champion", "challenger"]


class ScoringModel(Protocol):
    """What the service needs of a loaded model (``fraudstream.trainer.artifact`` builds it)."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def threshold(self) -> float: ...
    @property
    def feature_version(self) -> str: ...
    @property
    def metrics(self) -> dict[str, float]: ...

    def score(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...

    def reasons(self, features: npt.NDArray[np.float64], top: int = 3) -> list[list[Reason]]: ...


class ModelSource(Protocol):
    """Where models come from: ``fraudstream.registry.Registry`` (MLflow) satisfies it."""

    def get_alias_version(self, alias: Alias) -> str | None:
        """The version the alias points at now, or None when the alias is not set."""
        ...

    def load(self, version: str) -> ScoringModel:
        """Load one version; raise ModelError (refused) or RegistryError (try later)."""
        ...


@dataclass(frozen=True)
class Served:
    model: ScoringModel
    alias: Alias
    loaded_at: datetime


@dataclass
class LiveModels:
    """The champion and the challenger this replica serves, and the history of swaps."""

    champion: Served | None = None
    challenger: Served | None = None
    swaps: int = 0
    refused: dict[str, str] = field(default_factory=dict)

    def install(self, alias: Alias, model: ScoringModel) -> None:
        served = Served(model, alias, datetime.now(UTC))
        previous = getattr(self, alias)
        setattr(self, alias, served)
        if alias == "champion" and previous is not None:
            self.swaps += 1
        log.info(
            "serving %s %s version %s (was %s)",
            alias,
            model.name,
            model.version,
            previous.model.version if previous else "none",
        )

    def retire(self, alias: Alias) -> None:
        """The alias was removed from the registry: stop serving it (never the champion)."""
        if alias == "challenger" and self.challenger is not None:
            log.info("challenger alias removed: shadow scoring stops")
            self.challenger = None

    def version_of(self, alias: Alias) -> str | None:
        served: Served | None = getattr(self, alias)
        return served.model.version if served else None


def verdict_rows(
    model: ScoringModel,
    trans_nums: Sequence[str],
    features: npt.NDArray[np.float64],
    top_reasons: int,
    *,
    all_rows: bool = False,
) -> list[dict[str, object]]:
    """Score a feature matrix and shape one answer per row (as plain dicts, for orjson).

    Reasons cost a tree walk per row, so by default only flagged rows (the ones an analyst
    reads) get them; ``all_rows`` explains every row.
    """
    scores = model.score(features)
    if not np.isfinite(scores).all():
        raise ValueError(f"{int((~np.isfinite(scores)).sum())} score(s) are not finite numbers")
    threshold = model.threshold
    flagged = scores >= threshold
    reasons: list[list[Reason]] = [[] for _ in trans_nums]
    explain = np.ones_like(flagged) if all_rows else flagged
    if top_reasons and explain.any():
        idx = np.flatnonzero(explain)
        for i, row in zip(idx, model.reasons(features[idx], top_reasons), strict=True):
            if not all(math.isfinite(r.contribution) for r in row):
                raise ValueError("a reason's contribution is not a finite number")
            reasons[i] = row
    name, version = model.name, model.version
    return [
        {
            "trans_num": trans_nums[i],
            "is_fraud": int(flagged[i]),
            "score": float(scores[i]),
            "threshold": threshold,
            "model_name": name,
            "model_version": version,
            "reasons": [{"feature": r.feature, "contribution": r.contribution} for r in reasons[i]],
        }
        for i in range(len(trans_nums))
    ]
