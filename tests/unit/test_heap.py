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


def test_young_collections_wait_for_the_allocations_asked() -> None:
    before = gc.get_threshold()
    try:
        heap.collect_young_every(10_000)
        assert gc.get_threshold() == (10_000, *before[1:])
        gc.collect()
        held = [[index] for index in range(5_000)]  # tracked containers: below the threshold
        assert gc.get_count()[0] >= len(held)  # no young collection ran meanwhile
    finally:
        gc.set_threshold(*before)
