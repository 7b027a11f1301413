"""A full training run on simulated data, logged to a real MLflow store whose artifacts live
in S3 (a local moto server), registered, aliased, and loaded back the way the model service
loads it."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest

from fixtures.s3 import s3_client, s3_settings
from fraudstream.config import Settings
from fraudstream.errors import ModelIncompatible, ModelNotFound
from fraudstream.features import FEATURE_NAMES
from fraudstream.registry import Registry, load_model
from fraudstream.sources import read_frame
from fraudstream.trainer.pipeline import TrainingResult, train
from fraudstream.trainer.tracking import log_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_MLFLOW_ENV = ("MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainingResult:
    """One small run: 60,000 simulated rows, the three families, no search."""
    folder = tmp_path_factory.mktemp("train")
    settings = Settings(_env_file=None, home=folder, train_search_seconds=0)
    frame = read_frame("sim://?rows=60000&seed=11", settings)
    return train(frame, settings, source="sim://?rows=60000&seed=11", workdir=folder)


@pytest.fixture
def registry_settings(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """A SQLite tracking store of this test, artifacts in this test's S3 bucket."""
    for name in _MLFLOW_ENV:  # registry.configure exports these; undo it after the test
        monkeypatch.setenv(name, "unset")
    return s3_settings(
        s3_endpoint,
        home=tmp_path,
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        mlflow_artifact_root=f"s3://{s3_bucket}/mlflow",
        mlflow_experiment="test",
    )


def test_the_model_beats_a_trivial_baseline_on_later_data(trained: TrainingResult) -> None:
    test = trained.test
    assert test.frauds >= 20
    # the trivial rule "the bigger the amount, the more suspect", and a random guess
    assert test.pr_auc > trained.baseline_test_pr_auc + 0.3
    assert test.pr_auc > 10 * (test.frauds / test.rows)
    assert test.roc_auc > 0.95
    assert 0 < trained.threshold < 1
    assert {c.stage for c in trained.candidates} == {"benchmark"}
    assert {c.family for c in trained.candidates} == {
        "logistic_regression",
        "random_forest",
        "xgboost",
    }


def test_run_is_registered_with_s3_artifacts_and_aliases(
    trained: TrainingResult, registry_settings: Settings, s3_endpoint: str, s3_bucket: str
) -> None:
    registry = Registry(registry_settings.registry)
    assert registry.get_alias_version("champion") is None

    first = log_run(trained, registry_settings)  # no champion yet: it becomes the champion
    second = log_run(trained, registry_settings)  # a champion exists: challenger
    assert (first.version, first.alias) == ("1", "champion")
    assert (second.version, second.alias) == ("2", "challenger")
    assert registry.get_alias_version("champion") == "1"
    assert registry.resolve("challenger") == "2"

    registry.set_alias("champion", "2")  # what the challenger job does on a promotion
    assert registry.get_alias_version("champion") == "2"

    features = trained.example.to_numpy()
    champion = registry.load_alias("champion")
    assert (champion.name, champion.version) == ("fraudstream", "2")
    np.testing.assert_array_equal(champion.score(features), trained.model.score(features))
    assert champion.threshold == trained.threshold
    assert champion.metrics["test_pr_auc"] == pytest.approx(trained.test.pr_auc)
    assert load_model("models:/fraudstream@challenger", registry_settings.registry).version == "2"
    assert load_model("models:/fraudstream/1", registry_settings.registry).version == "1"

    keys = [o["Key"] for o in s3_client(s3_endpoint).list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert any(k.endswith("manifest.json") for k in keys)
    assert any(k.endswith("model.ubj") or k.endswith(".npz") or k.endswith(".json") for k in keys)
    assert any(k.endswith("plots/pr_curve.png") for k in keys)
    assert any(k.endswith("plots/confusion_matrix.png") for k in keys)
    assert any(k.endswith("plots/importance.png") for k in keys)

    run = mlflow.get_run(first.run_id)
    assert run.data.metrics["test_pr_auc"] == pytest.approx(trained.test.pr_auc)
    assert run.data.params["feature_version"] == "1"
    assert run.data.params["data_fingerprint"] == trained.fingerprint


def test_pyfunc_clients_score_the_same_without_unpickling(
    trained: TrainingResult, registry_settings: Settings
) -> None:
    logged = log_run(trained, registry_settings, register_as="none")
    assert logged.version is None
    pyfunc = mlflow.pyfunc.load_model(logged.model_uri)
    scores = np.asarray(pyfunc.predict(trained.example))
    np.testing.assert_allclose(scores, trained.model.score(trained.example.to_numpy()))
    schema = pyfunc.metadata.get_input_schema()
    assert schema.input_names() == list(FEATURE_NAMES)


def test_a_model_this_process_cannot_serve_is_refused_not_crashed(
    trained: TrainingResult, registry_settings: Settings, s3_endpoint: str, s3_bucket: str
) -> None:
    log_run(trained, registry_settings, register_as="champion")
    # a newer trainer logged it: rewrite its manifest in S3 as that trainer would have
    client = s3_client(s3_endpoint)
    objects = client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    key = next(o["Key"] for o in objects if o["Key"].endswith("manifest.json"))
    manifest = json.loads(client.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
    manifest["libraries"]["xgboost"] = "99.1.0"
    manifest["feature_version"] = "2"
    client.put_object(Bucket=s3_bucket, Key=key, Body=json.dumps(manifest).encode())
    with pytest.raises(ModelIncompatible, match="model fraudstream version 1 cannot be served"):
        Registry(registry_settings.registry).load_alias("champion")


def test_missing_alias_and_model(registry_settings: Settings) -> None:
    registry = Registry(registry_settings.registry)
    with pytest.raises(ModelNotFound, match="fraudstream train --register-as challenger"):
        registry.load_alias("challenger")
    with pytest.raises(ModelNotFound):
        load_model("models:/fraudstream/9", registry_settings.registry)
