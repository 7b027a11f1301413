"""The MLflow tracking store and model registry: the only fraudstream package that imports
mlflow.

Where: ``RegistrySettings.tracking_uri`` (a SQLite file under the state folder by default; an
MLflow server, e.g. with a PostgreSQL backend store, by ``FRAUD_MLFLOW_TRACKING_URI``) and
``RegistrySettings.artifact_root`` (a folder by default; ``s3://bucket/prefix`` with
``FRAUD_S3_ENDPOINT_URL`` for MinIO or moto). Which models: one registered model
(``RegistrySettings.model_name``) whose aliases ``champion`` and ``challenger`` name the two live
versions.

- :mod:`~fraudstream.registry.client`: :class:`Registry` (versions, aliases, run files),
  :func:`load_model`, :func:`aliased_versions` (the dashboard's quick read);
- :mod:`~fraudstream.registry.runs`: writing a run (a training run with its model, a
  champion/challenger decision), whose contents the caller decides;
- :mod:`~fraudstream.registry.pyfunc`: the MLflow "model from code" a logged model carries;
- :mod:`~fraudstream.registry.translate`: the one place an MLflow failure becomes
  :class:`~fraudstream.errors.RegistryError` (the server did not answer or refused: retry) or
  :class:`~fraudstream.errors.ModelNotFound` (nothing behind that name or alias), so that no
  MLflow exception leaves this package.

mlflow itself is imported inside the functions that call it, so importing this package (for
:data:`Alias`, say) stays cheap.
"""

from fraudstream.registry.client import (
    ALIASES,
    Alias,
    AliasedVersion,
    Registry,
    aliased_versions,
    load_model,
)
from fraudstream.registry.runs import LoggedRun, ModelToLog, RunRecord, log_run

__all__ = [
    "ALIASES",
    "Alias",
    "AliasedVersion",
    "LoggedRun",
    "ModelToLog",
    "Registry",
    "RunRecord",
    "aliased_versions",
    "load_model",
    "log_run",
]
