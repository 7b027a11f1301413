"""No MLflow exception leaves the registry package: a lookup of something absent is
ModelNotFound, every other failure (a write refused, a server down) is RegistryError."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    RESOURCE_DOES_NOT_EXIST,
)

from fraudstream.config import Settings
from fraudstream.errors import ModelNotFound, RegistryError
from fraudstream.registry.translate import translated

pytestmark = pytest.mark.unit

SETTINGS = Settings(
    _env_file=None, mlflow_tracking_uri="http://mlflow:5000", mlflow_artifact_root="s3://b/m"
)


@pytest.mark.parametrize("code", [RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE])
def test_a_lookup_of_nothing_is_model_not_found(code: int) -> None:
    with (
        pytest.raises(ModelNotFound, match="resolve champion: no such alias") as caught,
        translated("resolve champion", SETTINGS.registry, lookup=True),
    ):
        raise MlflowException("no such alias", error_code=code)
    assert isinstance(caught.value.__cause__, MlflowException)


def test_the_same_codes_on_a_write_are_a_refusal() -> None:
    with (
        pytest.raises(RegistryError, match="log run x: MLflow at http://mlflow:5000 failed"),
        translated("log run x", SETTINGS.registry),
    ):
        raise MlflowException("no such experiment", error_code=RESOURCE_DOES_NOT_EXIST)


def test_a_server_failure_during_a_lookup_is_retried_not_refused() -> None:
    with (
        pytest.raises(RegistryError, match="MLflow at http://mlflow:5000 failed: 503"),
        translated("download models:/fraudstream/3", SETTINGS.registry, lookup=True),
    ):
        raise MlflowException("503", error_code=INTERNAL_ERROR)


def test_an_unreachable_store_is_a_registry_error() -> None:
    with (
        pytest.raises(RegistryError, match=r"cannot reach MLflow .* artifacts at s3://b/m"),
        translated("set champion", SETTINGS.registry, lookup=True),
    ):
        raise ConnectionRefusedError("refused")
