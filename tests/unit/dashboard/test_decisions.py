"""An analyst's decision as the label it becomes on the labels topic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fraudstream.dashboard.decisions import label_event
from fraudstream.schema import NOTE_MAX, LabelEvent

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


def test_a_decision_is_an_analysts_label_that_the_sink_parses_back() -> None:
    event = label_event("t-1", "fraud", "ann", "  card tested at three gas stations  ", NOW)
    parsed = LabelEvent.parse_message(event.model_dump_json().encode())
    assert parsed == event
    assert (event.is_fraud, event.source, event.author) == (1, "analyst", "ann")
    assert event.note == "card tested at three gas stations"
    assert label_event("t-1", "not_fraud", "ann", "   ", NOW).note is None
    assert label_event("t-1", "not_fraud", "ann", now=NOW).is_fraud == 0
    # a case's note (the reviewed transaction's id, then the analyst's 500 characters) fits
    long = label_event("t-2", "fraud", "ann", "same case as t-1: " + "x" * NOTE_MAX, NOW)
    assert long.note is not None
    assert len(long.note) == NOTE_MAX


def test_a_label_without_source_is_a_chargeback_as_the_topic_always_said() -> None:
    parsed = LabelEvent.parse_message(
        b'{"trans_num": "t-1", "is_fraud": 1, "labelled_at": "2020-06-01T00:00:00Z"}'
    )
    assert isinstance(parsed, LabelEvent)
    assert (parsed.source, parsed.author) == ("chargeback", None)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (', "source": "analyst"', "author"),  # an analyst without a name
        (', "author": "ann"', "author"),  # a chargeback with one
        (', "source": "analyst", "author": "   "', "author"),
        (', "source": "bank"', "source"),
        (f', "source": "analyst", "author": "ann", "note": "{"x" * (NOTE_MAX + 1)}"', "note"),
    ],
)
def test_a_malformed_label_is_refused_naming_its_field(extra: str, field: str) -> None:
    value = '{"trans_num": "t-1", "is_fraud": 1, "labelled_at": "2020-06-01T00:00:00Z"' + extra
    problem = LabelEvent.parse_message((value + "}").encode())
    assert isinstance(problem, str)
    assert field in problem
