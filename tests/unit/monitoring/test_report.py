"""Drift reports on real feature matrices: the simulator's rows against themselves, against a
drifted feed, and the reference's round trip."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from fraudstream.artifact import Manifest, ScoringModel
from fraudstream.errors import DataError, ModelIncompatible
from fraudstream.features import FEATURE_NAMES, batch_features
from fraudstream.monitoring.reference import Reference, sample_reference
from fraudstream.monitoring.report import (
    CATEGORY,
    LIFETIME,
    compare_to_reference,
    feature_kinds,
)
from fraudstream.simulator import Scenario, SimParams, Simulator

pytestmark = pytest.mark.unit


class AmountModel(ScoringModel):
    """A real (if simple) scoring model: the larger the amount, the more suspect."""

    def __init__(self) -> None:
        manifest = Manifest(kind="logistic", family="amount", threshold=0.5)
        super().__init__(manifest, name="amount", version="1")

    def score(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        amounts = self._check(features)[:, FEATURE_NAMES.index("amt")]
        out: npt.NDArray[np.float64] = 1 - np.exp(-amounts / 500)
        return out

    def contributions(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.zeros_like(self._check(features))


def features_of(frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    return batch_features(frame.drop(columns=["scenario"], errors="ignore")).to_numpy()


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    return Simulator(SimParams(customers=500), seed=1).frame(20_000)


@pytest.fixture(scope="module")
def reference(training: pd.DataFrame) -> Reference:
    return sample_reference(
        features_of(training),
        training["is_fraud"],
        AmountModel(),
        rows=3000,
        description="test rows",
    )


def test_every_feature_is_monitored_once_with_the_one_hots_as_one_category() -> None:
    kinds = feature_kinds()
    assert kinds[CATEGORY] == "categorical"
    assert not any(name.startswith("cat_") for name in kinds)
    assert kinds["amt"] == "numeric"
    assert kinds["hour"] == "categorical"
    assert len(kinds) == len(FEATURE_NAMES) - 14 + 1


def test_the_same_population_does_not_drift(reference: Reference) -> None:
    later = Simulator(SimParams(customers=500), seed=2).frame(20_000)
    matrix = features_of(later)
    result = compare_to_reference(
        reference,
        matrix,
        scores=AmountModel().score(matrix),
        labels=later["is_fraud"].to_numpy(dtype=float),
    )
    assert not result.drifted, result.summary()
    assert result.features["amt"].psi < 0.1
    assert result.features["amt"].ks is not None
    assert result.features[CATEGORY].ks is None
    assert result.score is not None
    assert result.score.psi < 0.1
    assert result.labelled_rows == len(later)
    assert result.fraud_rate == pytest.approx(later["is_fraud"].mean())


def test_a_new_fraud_pattern_and_pricier_spending_show_up(reference: Reference) -> None:
    params = SimParams(
        customers=500,
        fraud_rate=0.05,
        drift_at=datetime(2019, 1, 1),
        drift_scenario=Scenario.CARD_TESTING,
        drift_weight=1.0,
    )
    drifted = Simulator(params, seed=3).frame(20_000)
    drifted["amt"] = (drifted["amt"] * 3).round(2)
    matrix = features_of(drifted)
    labels = drifted["is_fraud"].to_numpy(dtype=float)
    labels[::2] = np.nan  # half the labels have not arrived yet
    result = compare_to_reference(
        reference, matrix, scores=AmountModel().score(matrix), labels=labels
    )
    assert result.drifted
    assert "amt" in result.drifted_features
    assert result.score_drifted
    assert result.labelled_rows == len(drifted) - len(drifted) // 2
    assert result.fraud_rate is not None
    assert result.fraud_rate > 2 * reference.fraud_rate
    stored = result.features_json()
    assert stored["amt"]["drifted"] is True
    assert stored["score"]["psi"] == pytest.approx(result.score.psi, abs=1e-6)  # type: ignore[union-attr]
    assert result.brief()["drifted_features"] == result.drifted_features
    assert "amt" in result.summary()


def test_lifetime_features_are_reported_but_never_make_a_report_drifted(
    reference: Reference,
) -> None:
    matrix = np.array(features_of(Simulator(SimParams(customers=500), seed=2).frame(20_000)))
    for name in LIFETIME:  # as if every card were watched far longer (or far shorter)
        matrix[:, FEATURE_NAMES.index(name)] = 0.0 if name == "has_history" else 9.0
    result = compare_to_reference(reference, matrix)
    assert all(result.features[name].psi > 0.25 for name in LIFETIME)
    assert not result.drifted
    assert all(result.features_json()[name]["counted"] is False for name in LIFETIME)


def test_no_recent_rows_is_a_data_error(reference: Reference) -> None:
    with pytest.raises(DataError, match="no recent transactions"):
        compare_to_reference(reference, np.zeros((0, len(FEATURE_NAMES))))


def test_the_reference_round_trips_and_refuses_other_feature_versions(
    reference: Reference, training: pd.DataFrame
) -> None:
    assert len(reference.scores) == 3000
    assert reference.training_rows == len(training)
    assert reference.fraud_rate == pytest.approx(training["is_fraud"].mean())
    back = Reference.from_bytes(reference.to_bytes())
    assert back.description == "test rows"
    np.testing.assert_allclose(back.features, reference.features, rtol=1e-6)
    np.testing.assert_allclose(back.scores, reference.scores, rtol=1e-6)

    import io
    import json

    with np.load(io.BytesIO(reference.to_bytes())) as arrays:
        parts = dict(arrays)
    meta = json.loads(str(parts["meta"]))
    meta["feature_version"] = "0"
    parts["meta"] = np.array(json.dumps(meta))
    out = io.BytesIO()
    np.savez(out, **parts)
    with pytest.raises(ModelIncompatible, match="feature version"):
        Reference.from_bytes(out.getvalue())
