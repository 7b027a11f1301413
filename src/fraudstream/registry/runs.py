"""Write one MLflow run: what the trainer logs for a model, what the champion/challenger job logs
for a decision.

The callers decide what a run carries (:class:`RunRecord`, built by
:mod:`fraudstream.trainer.tracking` and :mod:`fraudstream.champion_challenger.record`); this
module owns how it reaches MLflow, including what a logged fraudstream model is: the MLflow
pyfunc "model from code" of :mod:`fraudstream.registry.pyfunc` around the artifact folder, with
signature, input example, metadata and pinned requirements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from fraudstream.artifact import ScoringModel
from fraudstream.config import RegistrySettings
from fraudstream.registry.client import Registry
from fraudstream.registry.translate import translated

if TYPE_CHECKING:
    import pandas as pd

MODEL_PATH: Final = "model"
"""The name a run logs its model under."""
_PINNED: Final = ("fraudstream", "xgboost-cpu", "scikit-learn", "numpy", "pandas", "mlflow")


@dataclass(frozen=True)
class RunRecord:
    """What one run carries, as its caller decided it."""

    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, object] = field(default_factory=dict)
    """Logged as strings, as MLflow keeps every param."""
    metrics: Mapping[str, float] = field(default_factory=dict)
    documents: Mapping[str, Any] = field(default_factory=dict)
    """Artifact path (``decision.json``) -> a JSON-able object."""
    figures: Mapping[str, Any] = field(default_factory=dict)
    """Artifact path (``plots/pr_curve.png``) -> a matplotlib figure."""


@dataclass(frozen=True)
class ModelToLog:
    """A fraudstream artifact to log as the run's MLflow model."""

    folder: Path
    """The artifact folder the trainer wrote."""
    model: ScoringModel
    """The same artifact, loaded: it scores the example for the signature."""
    example: pd.DataFrame
    """A few FEATURE_NAMES rows: the signature's input; the first three are the input example."""


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    model_uri: str | None
    """``models:/m-...`` of the logged model, None when the run logged none."""


def _pip_requirements() -> list[str]:
    """Pinned requirements of the logged model (MLflow would take ~3 s to guess them)."""
    pins = []
    for dist in _PINNED:
        try:
            pins.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


def log_run(
    registry: RegistrySettings,
    experiment: str,
    record: RunRecord,
    *,
    model: ModelToLog | None = None,
    failed: bool = False,
) -> LoggedRun:
    """Write ``record`` (and ``model``) as one run of ``experiment``, created if needed.

    The run ends FAILED when ``failed`` (a decision run that records a failure) or when
    writing it failed; MLflow or its store failing is a :class:`RegistryError`.
    """
    import mlflow

    experiment_id = Registry(registry).experiment_id(experiment)  # also points mlflow at it
    with translated(f"log run {record.name}", registry):
        run = mlflow.start_run(
            experiment_id=experiment_id, run_name=record.name, tags=dict(record.tags)
        )
        try:
            mlflow.log_params({k: str(v) for k, v in record.params.items()})
            mlflow.log_metrics({k: float(v) for k, v in record.metrics.items()})
            for path, document in record.documents.items():
                mlflow.log_dict(document, path)
            for path, figure in record.figures.items():
                mlflow.log_figure(figure, path)
            model_uri = _log_model(model) if model is not None else None
        except BaseException:
            mlflow.end_run("FAILED")
            raise
        mlflow.end_run("FAILED" if failed else "FINISHED")
    return LoggedRun(run.info.run_id, model_uri)


def _log_model(model: ModelToLog) -> str:
    """Log the artifact as a pyfunc model of the active run; returns its ``models:/`` URI."""
    import mlflow
    from mlflow.models import infer_signature

    import fraudstream.registry.pyfunc as pyfunc  # here: importing it runs set_model

    features, scorer = model.example, model.model
    info = mlflow.pyfunc.log_model(
        name=MODEL_PATH,
        python_model=str(Path(pyfunc.__file__)),
        artifacts={pyfunc.ARTIFACT_KEY: str(model.folder)},
        signature=infer_signature(features, scorer.score(features.to_numpy())),
        input_example=features.head(3),
        pip_requirements=_pip_requirements(),
        metadata={"feature_version": scorer.feature_version, "threshold": scorer.threshold},
    )
    return str(info.model_uri)
