"""What a training run records in MLflow, and where its model goes in the registry: params,
metrics, plots, the data fingerprint and report, the candidates table, the model, a registry
version, and an alias.

The trainer decides the contents here; :func:`fraudstream.registry.log_run` writes them (the
MLflow calls, the pyfunc model around the artifact, and the translation of MLflow's failures
all live in the registry package).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fraudstream.config import Settings
from fraudstream.features import FEATURE_VERSION
from fraudstream.registry import Alias, ModelToLog, Registry, RunRecord
from fraudstream.registry import log_run as write_run
from fraudstream.trainer import plots
from fraudstream.trainer.pipeline import TrainingResult

RegisterAs = Alias | Literal["auto", "none"]


@dataclass(frozen=True)
class Logged:
    run_id: str
    model_uri: str
    version: str | None
    alias: Alias | None


def _params(result: TrainingResult, settings: Settings) -> dict[str, Any]:
    params = {f"model.{k}": v for k, v in result.winner.params.items()}
    params |= {
        "family": result.winner.family,
        "feature_version": FEATURE_VERSION,
        "threshold_strategy": settings.trainer.threshold_strategy,
        "validation_fraction": settings.trainer.validation_fraction,
        "test_fraction": settings.trainer.test_fraction,
        "search_seconds": settings.trainer.search_seconds,
        "data_source": result.report.source,
        "data_fingerprint": result.fingerprint,
        "data_rows": result.report.rows,
    }
    return params


def _metrics(result: TrainingResult) -> dict[str, float]:
    metrics = {f"test_{k}": float(v) for k, v in result.test.model_dump().items()}
    metrics |= {f"valid_{k}": float(v) for k, v in result.validation.model_dump().items()}
    metrics |= {
        "baseline_test_pr_auc": result.baseline_test_pr_auc,
        "no_history_test_pr_auc": result.no_history_test_pr_auc,
        "scoring_rows_per_second": result.scoring_rows_per_second,
        "train_seconds": result.winner.fit_seconds,
        **result.timings,
    }
    return metrics


def _record(result: TrainingResult, settings: Settings) -> RunRecord:
    return RunRecord(
        name=f"{result.winner.family}-{result.fingerprint[:8]}",
        tags={"fraudstream.feature_version": FEATURE_VERSION, "family": result.winner.family},
        params=_params(result, settings),
        metrics=_metrics(result),
        documents={
            "data_report.json": result.report.model_dump(mode="json"),
            "split.json": result.split,
            "candidates.json": {
                "candidates": [c.model_dump(mode="json") for c in result.candidates]
            },
        },
        figures={
            "plots/pr_curve.png": plots.pr_curve_figure(
                result.test_labels, result.test_scores, result.test
            ),
            "plots/confusion_matrix.png": plots.confusion_figure(result.test),
            "plots/importance.png": plots.importance_figure(result.winner),
        },
    )


def log_run(
    result: TrainingResult,
    settings: Settings,
    *,
    register_as: RegisterAs = "auto",
) -> Logged:
    """Log the run, then (unless ``register_as="none"``) register the model and point an alias
    at it: ``auto`` makes it the champion when there is none, else the challenger (a manual
    new model replaces the challenger, never the serving champion)."""
    registry = Registry(settings.registry)
    run = write_run(
        settings.registry,
        settings.registry.experiment,
        _record(result, settings),
        model=ModelToLog(folder=result.artifact_dir, model=result.model, example=result.example),
    )
    assert run.model_uri is not None  # a model was given: the run logged it
    if register_as == "none":
        return Logged(run.run_id, run.model_uri, None, None)
    version = registry.register(run.model_uri, run.run_id)
    alias: Alias = (
        register_as
        if register_as != "auto"
        else ("champion" if registry.get_alias_version("champion") is None else "challenger")
    )
    registry.set_alias(alias, version)
    return Logged(run.run_id, run.model_uri, version, alias)


def summary(result: TrainingResult) -> dict[str, Any]:
    """The run's figures as plain data: what ``fraudstream train`` prints (``--json`` too)."""
    return {
        "winner": {"family": result.winner.family, "params": result.winner.params},
        "threshold": result.threshold,
        "test": result.test.model_dump(),
        "validation": result.validation.model_dump(),
        "baseline_test_pr_auc": result.baseline_test_pr_auc,
        "no_history_test_pr_auc": result.no_history_test_pr_auc,
        "scoring_rows_per_second": result.scoring_rows_per_second,
        "candidates": [c.model_dump() for c in result.candidates],
        "split": result.split,
        "data": result.report.model_dump(mode="json"),
        "fingerprint": result.fingerprint,
        "timings": result.timings,
    }
