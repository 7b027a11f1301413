"""The model artifact: each family round-trips exactly, and a process refuses what it cannot
serve with a message that says what to do."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fraudstream.artifact import (
    MANIFEST,
    ForestModel,
    LogisticModel,
    Manifest,
    incompatibility,
    library_versions,
    read_artifact,
)
from fraudstream.errors import ModelIncompatible
from fraudstream.features import FEATURE_NAMES
from fraudstream.trainer.families import DEFAULTS, FAMILIES, Family, Fitted, fit

pytestmark = pytest.mark.unit

N_FEATURES = len(FEATURE_NAMES)


def data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES))
    logit = 2 * x[:, 0] + x[:, 5] * x[:, 3] - 4
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return x, y


@pytest.fixture(scope="module")
def fitted() -> dict[Family, Fitted]:
    x, y = data(4_000, 0)
    xv, yv = data(1_000, 1)
    small = {
        "logistic_regression": DEFAULTS["logistic_regression"],
        "random_forest": {**DEFAULTS["random_forest"], "n_estimators": 20},
        "xgboost": {**DEFAULTS["xgboost"], "n_estimators": 50},
    }
    return {f: fit(f, small[f], x, y, xv, yv, threads=1, seed=0) for f in FAMILIES}


@pytest.mark.parametrize("family", FAMILIES)
def test_artifact_scores_exactly_as_the_trained_model(
    fitted: dict[Family, Fitted], family: Family, tmp_path: Path
) -> None:
    x, _ = data(500, 2)
    model = fitted[family]
    model.write(tmp_path, threshold=0.42, metrics={"test_pr_auc": 0.5})
    loaded = read_artifact(tmp_path, name="fraudstream", version="7")
    np.testing.assert_allclose(loaded.score(x), model.score(x), rtol=0, atol=1e-12)
    assert (loaded.name, loaded.version, loaded.threshold) == ("fraudstream", "7", 0.42)
    assert loaded.metrics == {"test_pr_auc": 0.5}
    assert loaded.feature_version == "1"


def test_forest_walk_equals_scikit_learn(fitted: dict[Family, Fitted], tmp_path: Path) -> None:
    x, _ = data(300, 3)
    fitted["random_forest"].write(tmp_path, threshold=0.5, metrics={})
    loaded = read_artifact(tmp_path)
    assert isinstance(loaded, ForestModel)
    expected = fitted["random_forest"].estimator.predict_proba(x)[:, 1]
    np.testing.assert_allclose(loaded.score(x), expected, atol=1e-12)
    # Saabas contributions add up to the score minus the forest's mean root value
    base = loaded.value[loaded.roots].mean()
    np.testing.assert_allclose(loaded.contributions(x).sum(axis=1) + base, expected, atol=1e-9)


def test_logistic_contributions_add_up_to_the_logit(
    fitted: dict[Family, Fitted], tmp_path: Path
) -> None:
    x, _ = data(100, 4)
    fitted["logistic_regression"].write(tmp_path, threshold=0.5, metrics={})
    loaded = read_artifact(tmp_path)
    assert isinstance(loaded, LogisticModel)
    logit = loaded.contributions(x).sum(axis=1) + loaded.intercept
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), loaded.score(x), atol=1e-12)


@pytest.mark.parametrize("family", FAMILIES)
def test_reasons_are_the_strongest_positive_pushes(
    fitted: dict[Family, Fitted], family: Family, tmp_path: Path
) -> None:
    x, _ = data(200, 5)
    fitted[family].write(tmp_path, threshold=0.5, metrics={})
    loaded = read_artifact(tmp_path)
    top = np.argsort(-loaded.score(x))[:20]
    reasons = loaded.reasons(x[top], top=3)
    assert len(reasons) == 20
    assert all(1 <= len(r) <= 3 for r in reasons)
    for row, chosen in zip(x[top], reasons, strict=True):
        contributions = [r.contribution for r in chosen]
        assert contributions == sorted(contributions, reverse=True)
        assert all(c > 0 for c in contributions)
        full = loaded.contributions(row[None, :])[0]
        assert chosen[0].contribution == pytest.approx(full.max())
        assert chosen[0].feature == FEATURE_NAMES[int(full.argmax())]


def test_wrong_feature_count_is_a_clear_error(fitted: dict[Family, Fitted], tmp_path: Path) -> None:
    fitted["xgboost"].write(tmp_path, threshold=0.5, metrics={})
    with pytest.raises(ValueError, match=f"expected {N_FEATURES} features, got 3"):
        read_artifact(tmp_path).score(np.zeros((2, 3)))


def _rewrite_manifest(folder: Path, **changes: object) -> None:
    path = folder / MANIFEST
    manifest = json.loads(path.read_text())
    for key, value in changes.items():
        if key.startswith("lib_"):
            manifest["libraries"][key.removeprefix("lib_")] = value
        else:
            manifest[key] = value
    path.write_text(json.dumps(manifest))


def test_a_model_from_a_newer_xgboost_is_refused_with_the_fix(
    fitted: dict[Family, Fitted], tmp_path: Path
) -> None:
    fitted["xgboost"].write(tmp_path, threshold=0.5, metrics={})
    _rewrite_manifest(tmp_path, lib_xgboost="99.0.0")
    with pytest.raises(ModelIncompatible, match=r"saved by xgboost 99\.0\.0.*constraints\.txt"):
        read_artifact(tmp_path, name="fraudstream", version="12")


def test_a_model_from_an_older_xgboost_loads(fitted: dict[Family, Fitted], tmp_path: Path) -> None:
    fitted["xgboost"].write(tmp_path, threshold=0.5, metrics={})
    _rewrite_manifest(tmp_path, lib_xgboost="2.0.0")
    assert read_artifact(tmp_path).kind == "xgboost"


@pytest.mark.parametrize("family", FAMILIES)
def test_another_feature_version_is_refused(
    fitted: dict[Family, Fitted], family: Family, tmp_path: Path
) -> None:
    fitted[family].write(tmp_path, threshold=0.5, metrics={})
    _rewrite_manifest(tmp_path, feature_version="0")
    with pytest.raises(ModelIncompatible, match=r"feature version 0.*retrain"):
        read_artifact(tmp_path)


def test_a_newer_artifact_format_and_a_corrupt_file_are_refused(
    fitted: dict[Family, Fitted], tmp_path: Path
) -> None:
    fitted["xgboost"].write(tmp_path / "a", threshold=0.5, metrics={})
    _rewrite_manifest(tmp_path / "a", format_version=2)
    with pytest.raises(ModelIncompatible, match="artifact format 2 is newer"):
        read_artifact(tmp_path / "a")
    fitted["xgboost"].write(tmp_path / "b", threshold=0.5, metrics={})
    (tmp_path / "b" / "model.ubj").write_bytes(b"\x00garbage")
    with pytest.raises(ModelIncompatible, match=r"cannot read model\.ubj"):
        read_artifact(tmp_path / "b")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelIncompatible, match="not a fraudstream model"):
        read_artifact(tmp_path / "empty")


def test_the_rules_on_their_own() -> None:
    running = library_versions()
    manifest = Manifest(kind="forest", family="random_forest", threshold=0.5)
    assert incompatibility(manifest, {**running, "xgboost": "0.1"}) is None  # no xgboost needed
    xgb = Manifest(kind="xgboost", family="xgboost", threshold=0.5)
    assert incompatibility(xgb, running) is None
    assert "not installed" in (incompatibility(xgb, {"numpy": "2.0"}) or "")
