"""The product's loader and trainer on real Sparkov rows (``FRAUD_REAL_DATA``): every row loads,
cards without history score without a crash, and a model trained on the rows before
2020-06-21 ranks the later ones well."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudstream.config import Settings
from fraudstream.quality import natural_rate_weights, pr_auc, roc_auc
from fraudstream.sources import read_frame
from fraudstream.trainer.evaluation import score_frame
from fraudstream.trainer.pipeline import train
from fraudstream.trainer.validation import prepare

pytestmark = [pytest.mark.integration, pytest.mark.realdata, pytest.mark.slow]

CUT = datetime(2020, 6, 21)


@pytest.fixture(scope="module")
def real_path() -> Path:
    path = os.environ.get("FRAUD_REAL_DATA")
    if not path or not Path(path).is_file():
        pytest.skip("FRAUD_REAL_DATA is not set to the real Sparkov sample")
    return Path(path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, home=tmp_path, train_search_seconds=0)


def test_every_real_row_loads_with_and_without_the_index_column(
    real_path: Path, settings: Settings, tmp_path: Path
) -> None:
    frame, report = prepare(read_frame(str(real_path), settings), str(real_path))
    assert report.bad_rows == 0
    assert len(frame) == report.rows == 27_238
    kaggle_copy = tmp_path / "fraudTest.csv"
    pd.read_csv(real_path).to_csv(kaggle_copy)  # the leading unnamed index of the Kaggle files
    again, _ = prepare(read_frame(str(kaggle_copy), settings), "copy")
    assert again["trans_num"].tolist() == frame["trans_num"].tolist()


def test_trained_before_the_cut_ranks_the_later_rows(real_path: Path, settings: Settings) -> None:
    frame, _ = prepare(read_frame(str(real_path), settings), str(real_path))
    before = frame[frame["trans_date_trans_time"] < pd.Timestamp(CUT)]
    result = train(before, settings, source="real", workdir=settings.home)
    later = score_frame(result.model, frame, since=CUT)
    assert len(later.labels) == 8_552
    assert later.labels.sum() == 2_145
    assert roc_auc(later.labels, later.scores) > 0.9
    natural = natural_rate_weights(later.labels, 2_145 / 555_719)
    assert pr_auc(later.labels, later.scores, natural) > 0.3
    # cards seen for the first time (no history) are scored, with the no-history values
    alone = score_frame(result.model, frame.assign(cc_num=np.arange(len(frame))), since=CUT)
    assert np.isfinite(alone.scores).all()
