"""Record a training run in MLflow and register its model: params, metrics, plots, the data
fingerprint and report, the candidates table, the model with signature and input example, a
registry version, and an alias."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from fraudstream.config import Settings
from fraudstream.errors import RegistryError
from fraudstream.features import FEATURE_VERSION
from fraudstream.registry import MODEL_PATH, Alias, Registry
from fraudstream.trainer import plots, pyfunc
from fraudstream.trainer.pipeline import TrainingResult

RegisterAs = Alias | Literal["auto", "none"]


@dataclass(frozen=True)
class Logged:
    run_id: str
    model_uri: str
    version: str | None
    alias: Alias | None


def pip_requirements() -> list[str]:
    """Pinned requirements of the logged model (MLflow would take ~3 s to guess them)."""
    pins = []
    for dist in ("fraudstream", "xgboost-cpu", "scikit-learn", "numpy", "pandas", "mlflow"):
        try:
            pins.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


def _params(result: TrainingResult, settings: Settings) -> dict[str, Any]:
    params = {f"model.{k}": v for k, v in result.winner.params.items()}
    params |= {
        "family": result.winner.family,
        "feature_version": FEATURE_VERSION,
        "threshold_strategy": settings.threshold_strategy,
        "validation_fraction": settings.train_validation_fraction,
        "test_fraction": settings.train_test_fraction,
        "search_seconds": settings.train_search_seconds,
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


def log_run(
    result: TrainingResult,
    settings: Settings,
    *,
    register_as: RegisterAs = "auto",
) -> Logged:
    """Log the run, then (unless ``register_as="none"``) register the model and point an alias
    at it: ``auto`` makes it the champion when there is none, else the challenger (a manual
    new model replaces the challenger, never the serving champion)."""
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature

    registry = Registry(settings)
    experiment = registry.experiment_id()
    features = result.example
    try:
        with mlflow.start_run(
            experiment_id=experiment,
            run_name=f"{result.winner.family}-{result.fingerprint[:8]}",
        ) as run:
            mlflow.set_tags(
                {"fraudstream.feature_version": FEATURE_VERSION, "family": result.winner.family}
            )
            mlflow.log_params(_params(result, settings))
            mlflow.log_metrics(_metrics(result))
            mlflow.log_dict(result.report.model_dump(mode="json"), "data_report.json")
            mlflow.log_dict(result.split, "split.json")
            mlflow.log_dict(
                {"candidates": [c.model_dump(mode="json") for c in result.candidates]},
                "candidates.json",
            )
            mlflow.log_figure(
                plots.pr_curve_figure(result.test_labels, result.test_scores, result.test),
                "plots/pr_curve.png",
            )
            mlflow.log_figure(plots.confusion_figure(result.test), "plots/confusion_matrix.png")
            mlflow.log_figure(plots.importance_figure(result.winner), "plots/importance.png")
            info = mlflow.pyfunc.log_model(
                name=MODEL_PATH,
                python_model=str(Path(pyfunc.__file__)),
                artifacts={pyfunc.ARTIFACT_KEY: str(result.artifact_dir)},
                signature=infer_signature(features, result.model.score(features.to_numpy())),
                input_example=features.head(3),
                pip_requirements=pip_requirements(),
                metadata={"feature_version": FEATURE_VERSION, "threshold": result.threshold},
            )
            run_id = run.info.run_id
    except MlflowException as exc:
        raise RegistryError(f"MLflow at {settings.tracking_uri} failed: {exc.message}") from exc
    except OSError as exc:
        raise RegistryError(f"cannot write the run to {settings.artifact_root}: {exc}") from exc
    if register_as == "none":
        return Logged(run_id, info.model_uri, None, None)
    version = registry.register(info.model_uri, run_id)
    alias: Alias = (
        register_as
        if register_as != "auto"
        else ("champion" if registry.get_alias_version("champion") is None else "challenger")
    )
    registry.set_alias(alias, version)
    return Logged(run_id, info.model_uri, version, alias)


def write_summary(result: TrainingResult, path: Path) -> None:
    """The run's figures as JSON (the CLI's ``--json`` and the benchmark read it)."""
    path.write_text(json.dumps(summary(result), indent=2, default=str))


def summary(result: TrainingResult) -> dict[str, Any]:
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
