"""The trainer writes each model's drift reference; the drift monitor only reads it.

The reference (:mod:`fraudstream.monitoring.reference`) is a sample of the training rows'
features with the model's scores on them. It is made here, while the training rows are at hand
and prepared exactly as the model saw them, and kept as a file of the model's run. Every path
that registers a model calls :func:`write_reference`: ``fraudstream train`` (and so the first
champion of ``fraudstream up``) through :func:`log_with_reference`, and the challenger job's
retraining.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fraudstream.monitoring.reference import Reference, reference_from_frame, save_reference
from fraudstream.registry import Registry
from fraudstream.trainer.tracking import Logged, RegisterAs, log_run
from fraudstream.trainer.validation import prepare

if TYPE_CHECKING:
    import pandas as pd

    from fraudstream.artifact import ScoringModel
    from fraudstream.config import Settings
    from fraudstream.trainer.pipeline import TrainingResult


def write_reference(
    registry: Registry,
    run_id: str,
    frame: pd.DataFrame,
    model: ScoringModel,
    *,
    source: str,
    rows: int,
    description: str,
) -> Reference:
    """Sample the reference of ``model`` from its training rows ``frame`` (as read from
    ``source``, before preparation) and save it in the run ``run_id``; returns it."""
    clean, _ = prepare(frame, source)
    reference = reference_from_frame(clean, model, rows=rows, description=description)
    save_reference(registry, run_id, reference)
    return reference


def log_with_reference(
    result: TrainingResult,
    settings: Settings,
    frame: pd.DataFrame,
    *,
    source: str,
    register_as: RegisterAs = "auto",
) -> Logged:
    """Log and register ``result`` as :func:`log_run` does, with the drift reference sampled
    from ``frame``, the rows it was trained on (read from ``source``): what ``fraudstream
    train`` does, so that every version it registers can be checked for drift."""
    logged = log_run(result, settings, register_as=register_as)
    named = f"version {logged.version}" if logged.version else f"run {logged.run_id}"
    write_reference(
        Registry(settings.registry),
        logged.run_id,
        frame,
        result.model,
        source=source,
        rows=settings.drift.reference_rows,
        description=f"{named}, trained on {source}",
    )
    return logged
