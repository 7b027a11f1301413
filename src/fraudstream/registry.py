"""The MLflow tracking store and model registry, as the trainer, the model service and the
champion/challenger job use them.

Where: ``settings.tracking_uri`` (a SQLite file under the state folder by default; an MLflow
server, e.g. with a PostgreSQL backend store, by ``FRAUD_MLFLOW_TRACKING_URI``) and
``settings.artifact_root`` (a folder by default; ``s3://bucket/prefix`` with
``FRAUD_S3_ENDPOINT_URL`` for MinIO or moto). Which models: one registered model
(``settings.model_name``) whose aliases ``champion`` and ``challenger`` name the two live versions.

Every MLflow failure is re-raised as :class:`RegistryError` (the server did not answer: retry)
or :class:`ModelNotFound` (nothing behind that name or alias), never as an MLflow exception.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from fraudstream.config import Settings
from fraudstream.errors import ModelNotFound, RegistryError
from fraudstream.trainer.artifact import ScoringModel, read_artifact

Alias = Literal["champion", "challenger"]
ALIASES: Final[tuple[Alias, ...]] = ("champion", "challenger")
MODEL_PATH: Final = "model"
"""The name a training run logs its model under."""


def configure(settings: Settings) -> None:
    """Point this process's MLflow client at the settings' store and S3 endpoint.

    MLflow and boto3 read the S3 endpoint and credentials from the environment only, so they
    are exported here, once, at the entry point of a command or app.
    """
    import mlflow

    if settings.s3_endpoint_url:
        os.environ["MLFLOW_S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    if settings.aws_access_key_id and settings.aws_secret_access_key:
        os.environ["AWS_ACCESS_KEY_ID"] = settings.aws_access_key_id.get_secret_value()
        os.environ["AWS_SECRET_ACCESS_KEY"] = settings.aws_secret_access_key.get_secret_value()
    os.environ.setdefault("AWS_DEFAULT_REGION", settings.aws_region)
    if settings.tracking_uri.startswith("sqlite:///"):
        Path(settings.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    mlflow.set_tracking_uri(settings.tracking_uri)


class Registry:
    """The registered model of ``settings.model_name`` and its two aliases.

    Also the model service's model source: :meth:`resolve` (alias -> version) and
    :meth:`load` (version -> checked :class:`ScoringModel`).
    """

    def __init__(self, settings: Settings) -> None:
        from mlflow import MlflowClient

        configure(settings)
        self.settings = settings
        self.name = settings.model_name
        self.client = MlflowClient(tracking_uri=settings.tracking_uri)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return fn(*args, **kwargs)
        except MlflowException as exc:
            code = str(getattr(exc, "error_code", ""))
            if code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
                raise ModelNotFound(f"{what}: {exc.message}") from exc
            raise RegistryError(
                f"{what}: MLflow at {self.settings.tracking_uri} failed: {exc.message}"
            ) from exc
        except OSError as exc:  # connection refused, DNS, S3 transport
            raise RegistryError(
                f"{what}: cannot reach MLflow at {self.settings.tracking_uri}: {exc}"
            ) from exc

    def experiment_id(self) -> str:
        """The experiment of every training run, created with the settings' artifact root."""
        name = self.settings.mlflow_experiment
        found = self._call("find experiment", self.client.get_experiment_by_name, name)
        if found is not None:
            return str(found.experiment_id)
        return str(
            self._call(
                "create experiment",
                self.client.create_experiment,
                name,
                artifact_location=self.settings.artifact_root,
            )
        )

    def register(self, model_uri: str, run_id: str) -> str:
        """Register a logged model (``models:/m-...`` of ``log_model``) as a new version.

        The logged model's id travels with it: an MLflow server (unlike a local store) refuses
        a ``models:/`` source without it.
        """
        self._call("create registered model", self._ensure_registered)
        model_id = (
            model_uri.removeprefix("models:/").strip("/")
            if model_uri.startswith("models:/m-")
            else None
        )
        version = self._call(
            "register model",
            self.client.create_model_version,
            self.name,
            model_uri,
            run_id=run_id,
            model_id=model_id,
        )
        return str(version.version)

    def _ensure_registered(self) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(self.name)
        except MlflowException:
            self.client.create_registered_model(
                self.name, description="fraudstream fraud scorer; aliases champion / challenger"
            )

    def set_alias(self, alias: Alias, version: str) -> None:
        """Point ``alias`` at ``version`` (the model service swaps within its poll period)."""
        self._call(
            f"set {alias}", self.client.set_registered_model_alias, self.name, alias, version
        )

    def delete_alias(self, alias: Alias) -> None:
        self._call(f"delete {alias}", self.client.delete_registered_model_alias, self.name, alias)

    def get_alias_version(self, alias: Alias) -> str | None:
        """The version behind ``alias``, or None when the alias (or the model) does not exist."""
        try:
            found = self._call(
                f"resolve {alias}", self.client.get_model_version_by_alias, self.name, alias
            )
        except ModelNotFound:
            return None
        return str(found.version)

    resolve = get_alias_version

    def load(self, version: str) -> ScoringModel:
        """Download and load one version; ModelIncompatible if this process cannot serve it."""
        return load_model(f"models:/{self.name}/{version}", self.settings)

    def load_alias(self, alias: Alias) -> ScoringModel:
        version = self.get_alias_version(alias)
        if version is None:
            raise ModelNotFound(
                f"no {alias} for model {self.name} in {self.settings.tracking_uri}; train one "
                f"with `fraudstream train --register-as {alias}`"
            )
        return self.load(version)

    def run_of(self, version: str) -> str:
        """The training run that produced a version."""
        found = self._call("find version", self.client.get_model_version, self.name, version)
        return str(found.run_id)

    def run_file(self, run_id: str, path: str, folder: Path) -> Path | None:
        """Download one file a run logged into ``folder``; None when the run has no such file."""
        parent = str(Path(path).parent)
        listed = self._call(
            f"list the files of run {run_id}",
            self.client.list_artifacts,
            run_id,
            None if parent == "." else parent,
        )
        if path not in {item.path for item in listed}:
            return None
        local = self._call(
            f"download {path} of run {run_id}",
            self.client.download_artifacts,
            run_id,
            path,
            str(folder),
        )
        return Path(local)

    def log_run_file(self, run_id: str, local_path: Path) -> None:
        """Add a file to a run's artifacts (a finished run too)."""
        self._call(
            f"log {local_path.name} to run {run_id}",
            self.client.log_artifact,
            run_id,
            str(local_path),
        )

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        self._call(f"tag run {run_id}", self.client.set_tag, run_id, key, value)


def _version_of(uri: str, settings: Settings) -> tuple[str, str]:
    """(model name, version) that a ``models:/`` URI names; aliases are resolved."""
    path = uri.removeprefix("models:/").strip("/")
    name, _, ref = path.partition("@") if "@" in path else path.partition("/")
    if ref.isdigit():
        return name, ref
    registry = Registry(settings.model_copy(update={"model_name": name}))
    version = registry.get_alias_version(ref)  # type: ignore[arg-type]
    if version is None:
        raise ModelNotFound(f"{uri}: no version has the alias {ref!r}")
    return name, version


def load_model(uri: str, settings: Settings) -> ScoringModel:
    """Load a fraudstream model from ``models:/name/3``, ``models:/name@champion``,
    ``runs:/<run_id>/model``, any MLflow artifact URI, or a local artifact folder.

    Raises ModelNotFound, RegistryError, or ModelIncompatible (with what to do) instead of
    failing inside a library.
    """
    local = Path(uri)
    scheme = urlsplit(uri).scheme
    if not scheme or len(scheme) == 1:
        if not local.exists():
            raise ModelNotFound(f"{uri}: no such model folder")
        return read_artifact(local)
    import mlflow
    from mlflow.exceptions import MlflowException

    configure(settings)
    name, version = settings.model_name, "run"
    if uri.startswith("models:/"):
        name, version = _version_of(uri, settings)
        uri = f"models:/{name}/{version}"
    with tempfile.TemporaryDirectory(prefix="fraudstream-model-") as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp)
        except MlflowException as exc:
            raise ModelNotFound(f"{uri}: {exc.message}") from exc
        except OSError as exc:
            raise RegistryError(f"{uri}: cannot download the model: {exc}") from exc
        return read_artifact(Path(path), name=name, version=version)
