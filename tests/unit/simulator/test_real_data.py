"""The simulator answers to real Sparkov rows: committed calibration, fidelity bounds.

Needs the real sample (``FRAUD_REAL_DATA``, set by ``.ci/run``); skipped elsewhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fraudstream.simulator.calibration.calibrate import default_output, derive
from fraudstream.simulator.calibration.fidelity import load_samples, run_report
from fraudstream.simulator.calibration.real_profile import REAL_DATA_ENV, load_real
from fraudstream.simulator.params import default_calibration

REAL = os.environ.get(REAL_DATA_ENV, "")

pytestmark = [
    pytest.mark.unit,
    pytest.mark.realdata,
    pytest.mark.skipif(
        not REAL or not Path(REAL).is_file(),
        reason=f"{REAL_DATA_ENV} does not point at the real Sparkov sample",
    ),
]


def test_committed_defaults_are_what_calibration_derives() -> None:
    derived = derive(load_real(Path(REAL)))
    committed = json.loads(default_output().read_text(encoding="utf-8"))
    assert json.loads(derived.to_json()) == committed
    assert default_calibration() == derived


@pytest.mark.slow
def test_simulated_rows_stay_under_the_psi_bounds(tmp_path: Path) -> None:
    # A high fraud rate gives enough frauds to compare; the class-conditional shapes the
    # report measures do not depend on it.
    samples = load_samples(Path(REAL), rows=300_000, seed=42, fraud_rate=0.05)
    report = run_report(samples, tmp_path)
    assert report.failing == [], [(r.feature, r.label, r.psi) for r in report.failing]
    features = {(r.feature, r.label) for r in report.results}
    for label in ("legit", "fraud"):
        for feature in ("hour", "weekday", "category", "age", "distance_km", "city_pop"):
            assert (feature, label) in features
        assert ("amt:grocery_pos", label) in features
    assert ("card_daily_rate", "legit") in features
    table = json.loads((tmp_path / "fidelity.json").read_text(encoding="utf-8"))
    assert len(table["features"]) == len(report.results)
