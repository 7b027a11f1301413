"""The registered model and its aliases, as the trainer, the model service, the
champion/challenger job, monitoring and the dashboard use them, and :func:`load_model`.

Where the store is and which model it holds: see :mod:`fraudstream.registry`. Every MLflow call
here runs inside :func:`~fraudstream.registry.translate.translated`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, TypeVar
from urllib.parse import urlsplit

from fraudstream.artifact import ScoringModel, read_artifact
from fraudstream.config import RegistrySettings
from fraudstream.errors import ModelNotFound, RegistryError
from fraudstream.registry.translate import translated

Alias = Literal["champion", "challenger"]
"""The two live versions of the registered model (the only alias type of fraudstream)."""
ALIASES: Final[tuple[Alias, ...]] = ("champion", "challenger")
_QUICK_HTTP_TIMEOUT_SECONDS: Final = "5"
T = TypeVar("T")


def configure(registry: RegistrySettings) -> None:
    """Point this process's MLflow client at the settings' store and S3 endpoint.

    MLflow and boto3 read the S3 endpoint and credentials from the environment only, so they
    are exported here, once, at the entry point of a command or app.
    """
    import mlflow

    if registry.s3.s3_endpoint_url:
        os.environ["MLFLOW_S3_ENDPOINT_URL"] = registry.s3.s3_endpoint_url
    if registry.s3.aws_access_key_id and registry.s3.aws_secret_access_key:
        os.environ["AWS_ACCESS_KEY_ID"] = registry.s3.aws_access_key_id.get_secret_value()
        os.environ["AWS_SECRET_ACCESS_KEY"] = registry.s3.aws_secret_access_key.get_secret_value()
    os.environ.setdefault("AWS_DEFAULT_REGION", registry.s3.aws_region)
    if registry.tracking_uri.startswith("sqlite:///"):
        Path(registry.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    mlflow.set_tracking_uri(registry.tracking_uri)


class Registry:
    """The registered model of ``RegistrySettings.model_name`` and its two aliases.

    Also the model service's model source: :meth:`resolve` (alias -> version) and
    :meth:`load` (version -> checked :class:`ScoringModel`).
    """

    def __init__(self, registry: RegistrySettings) -> None:
        from mlflow import MlflowClient

        configure(registry)
        self.settings = registry
        self.name = registry.model_name
        self.client = MlflowClient(tracking_uri=registry.tracking_uri)

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One client call about the registered model (a missing one is :class:`ModelNotFound`)."""
        with translated(what, self.settings, lookup=True):
            return fn(*args, **kwargs)

    def experiment_id(self, name: str) -> str:
        """The id of experiment ``name``, created with the settings' artifact root."""
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
        from mlflow.exceptions import MlflowException  # "no such model" here means: create it

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

    def aliased(self, alias: Alias) -> AliasedVersion | None:
        """The version behind ``alias`` with its training run's tags and metrics, or None when
        the alias names nothing."""
        version = self.get_alias_version(alias)
        if version is None:
            return None
        with translated(f"read {alias} version {version}", self.settings):
            found = self.client.get_model_version(self.name, version)
            run = self.client.get_run(str(found.run_id))
        return AliasedVersion(
            alias=alias,
            version=version,
            registered_at=datetime.fromtimestamp(found.creation_timestamp / 1000, UTC),
            run_id=str(found.run_id),
            tags=dict(run.data.tags),
            metrics=dict(run.data.metrics),
        )

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


@dataclass(frozen=True)
class AliasedVersion:
    """A version that an alias names, and what its training run recorded."""

    alias: Alias
    version: str
    registered_at: datetime
    run_id: str
    tags: dict[str, str]
    metrics: dict[str, float]


def aliased_versions(registry: RegistrySettings) -> list[AliasedVersion]:
    """What each alias names, for a reader that must answer now and change nothing (the
    dashboard): a local SQLite store that does not exist yet is reported, not created, and an
    MLflow server that does not answer within seconds is a :class:`RegistryError`, not minutes
    of retries. An alias that names nothing is simply absent."""
    uri = registry.tracking_uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        raise RegistryError(
            f"no MLflow store at {uri} yet; train a first model with `fraudstream train`, or set "
            "FRAUD_MLFLOW_TRACKING_URI to the registry the model service uses"
        )
    # MLflow's HTTP client retries for minutes by default (read at each request).
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", _QUICK_HTTP_TIMEOUT_SECONDS)
    aliases = Registry(registry)
    return [found for alias in ALIASES if (found := aliases.aliased(alias)) is not None]


def _version_of(uri: str, registry: RegistrySettings) -> tuple[str, str]:
    """(model name, version) that a ``models:/`` URI names; aliases are resolved."""
    path = uri.removeprefix("models:/").strip("/")
    name, _, ref = path.partition("@") if "@" in path else path.partition("/")
    if ref.isdigit():
        return name, ref
    named = Registry(registry.model_copy(update={"model_name": name}))
    version = named.get_alias_version(ref)  # type: ignore[arg-type]
    if version is None:
        raise ModelNotFound(f"{uri}: no version has the alias {ref!r}")
    return name, version


def load_model(uri: str, registry: RegistrySettings) -> ScoringModel:
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

    configure(registry)
    name, version = registry.model_name, "run"
    if uri.startswith("models:/"):
        name, version = _version_of(uri, registry)
        uri = f"models:/{name}/{version}"
    with tempfile.TemporaryDirectory(prefix="fraudstream-model-") as tmp:
        with translated(f"download {uri}", registry, lookup=True):
            path = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp)
        return read_artifact(Path(path), name=name, version=version)
