"""The one place where an MLflow failure becomes a fraudstream error.

Every call into MLflow, from any module of this package, runs inside :func:`translated`, so no
``MlflowException`` (nor the ``OSError`` of a refused connection or an unreachable artifact
store) leaves the registry package: callers only ever see :class:`RegistryError` (the server or
its store did not answer or refused: try again later) or :class:`ModelNotFound` (a lookup found
nothing behind that name, version or alias).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from fraudstream.config import RegistrySettings
from fraudstream.errors import ModelNotFound, RegistryError

_MISSING: Final = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"})
"""MLflow's codes for "no such model, version, alias or run" (a missing alias is an invalid
parameter to MLflow)."""


@contextmanager
def translated(what: str, registry: RegistrySettings, *, lookup: bool = False) -> Iterator[None]:
    """Run MLflow calls, re-raising their failures as fraudstream errors ``from`` the original.

    ``lookup``: the calls name a registered model, version or alias (to read it or to point
    at it), so MLflow saying it does not exist is an answer: :class:`ModelNotFound`. Elsewhere
    (logging a run, reading the run behind an alias) the same codes mean the server refused
    the call: :class:`RegistryError`, as for every other MLflow failure.
    """
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        if lookup and str(getattr(exc, "error_code", "")) in _MISSING:
            raise ModelNotFound(f"{what}: {exc.message}") from exc
        raise RegistryError(
            f"{what}: MLflow at {registry.tracking_uri} failed: {exc.message}"
        ) from exc
    except OSError as exc:  # connection refused, DNS, the S3 or folder artifact store
        raise RegistryError(
            f"{what}: cannot reach MLflow at {registry.tracking_uri} or its artifacts at "
            f"{registry.artifact_root}: {exc}"
        ) from exc
