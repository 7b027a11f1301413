"""The trainer writes each model's drift reference; the drift monitor only reads it.

The reference (:mod:`fraudstream.monitoring.reference`) is a sample of the training rows'
features with the model's scores on them. It is made here, while the training rows are at hand
and prepared exactly as the model saw them, and kept as a file of the model's run. Every path
that registers a model calls :func:`write_reference`: ``fraudstream train`` (and so the first
champion of ``fraudstream up``) and the challenger job's retraining.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fraudstream.monitoring.reference import Reference, reference_from_frame, save_reference
from fraudstream.trainer.validation import prepare

if TYPE_CHECKING:
    import pandas as pd

    from fraudstream.artifact import ScoringModel
    from fraudstream.registry import Registry


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
