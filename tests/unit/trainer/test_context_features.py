"""Sparse labels keep their card history: features of a few labelled rows computed with the
unlabelled rows around them equal the features the whole stream gives them."""

from __future__ import annotations

import numpy as np
import pytest

from fraudstream.features import batch_features
from fraudstream.schema import LABEL_COLUMN
from fraudstream.simulator import SimParams, Simulator
from fraudstream.trainer.pipeline import features_with_context
from fraudstream.trainer.validation import typed

pytestmark = pytest.mark.unit


def test_a_few_labelled_rows_get_the_history_of_the_whole_stream() -> None:
    stream = typed(Simulator(SimParams(customers=50), seed=3).frame(3000))
    whole = batch_features(stream).to_numpy()
    picked = np.zeros(len(stream), dtype=bool)
    picked[::10] = True  # an analyst's labels: one transaction in ten
    rows = stream[picked].reset_index(drop=True)
    context = stream[~picked].drop(columns=[LABEL_COLUMN]).sample(frac=1.0, random_state=1)
    np.testing.assert_allclose(features_with_context(rows, context), whole[picked])
    # without the context, the velocity features are wrong: the reason it exists
    assert not np.allclose(features_with_context(rows, None), whole[picked])


def test_context_rows_that_are_also_labelled_count_once() -> None:
    stream = typed(Simulator(SimParams(customers=20), seed=4).frame(500))
    whole = batch_features(stream).to_numpy()
    np.testing.assert_allclose(
        features_with_context(stream, stream.drop(columns=[LABEL_COLUMN])), whole
    )
