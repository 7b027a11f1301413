"""What a worker tells operators about its assignment: the partitions it owns, and how often
a rebalance handed it some (each one pauses scoring)."""

from __future__ import annotations

from pathlib import Path

import pytest
from faust.types import TP
from prometheus_client import REGISTRY

from fraudstream.config import Settings
from fraudstream.stream_processor.incoming import Incoming
from fraudstream.stream_processor.pending import Pending
from fraudstream.stream_processor.worker import Pipeline

pytestmark = pytest.mark.unit


def sample(name: str) -> float | None:
    return REGISTRY.get_sample_value(f"fraudstream_stream_{name}")


async def test_each_assignment_sets_the_partitions_owned_and_is_counted(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, home=tmp_path, topic_transactions="tx")
    pending: Pending[Incoming] = Pending(10)
    pipeline = Pipeline(settings, pending, lambda: None)
    before = sample("assignments_total") or 0.0

    await pipeline.assigned([TP("tx", 0), TP("tx", 3), TP("labels", 0)])
    assert sample("partitions") == 2  # the labels topic is not scored
    await pipeline.assigned([TP("tx", 1)])
    assert sample("partitions") == 1
    assert sample("assignments_total") == before + 2
