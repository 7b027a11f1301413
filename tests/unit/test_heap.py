"""The heap of a long-running process: frozen once started, its collector's pauses timed."""

from __future__ import annotations

import gc

import pytest

from fraudstream import heap

pytestmark = pytest.mark.unit


def pauses(generation: str) -> float:
    for metric in heap.GC_PAUSE.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count") and sample.labels["generation"] == generation:
                return sample.value
    return 0.0


def test_every_collection_is_timed_by_generation() -> None:
    heap.watch_collector()
    try:
        before = pauses("2")
        gc.collect()
        gc.collect()
        assert pauses("2") == before + 2
    finally:
        gc.callbacks.pop()


def test_what_is_alive_when_frozen_is_left_out_of_collections() -> None:
    held = [[index] for index in range(10_000)]  # tracked containers that stay
    try:
        heap.freeze()
        visited = {id(found) for generation in range(3) for found in gc.get_objects(generation)}
        assert not any(id(item) in visited for item in held)
        assert gc.get_freeze_count() >= len(held)
    finally:
        gc.unfreeze()
