"""The Python heap of a long-running process: what it holds from its start set aside from the
cyclic garbage collector, and the collector's pauses measured.

A full collection visits every tracked object and stops the process's event loop while it does.
A stream worker holds about 150,000 objects once started (the model service about 350,000); a
full collection of a worker's 130,000 after its imports took 55 ms on an idle 2-core machine,
and of a running worker's 122 ms on average under 2,000 tx/s, while every transaction that
arrived meanwhile waited it out. Those objects live as long as the process, so there is nothing
to find among them: :func:`freeze` moves them to the permanent generation (``gc.freeze``), and a
full collection visits only what came later (7-10 ms on average under the same load;
BENCHMARKS.md).

The collector then still ran 37 times a second in a worker under 2,000 tx/s: CPython counts
tracked objects allocated minus freed, and each attempt builds and drops thousands of them, so
the count crossed Python's 700 again and again within one attempt. :func:`collect_young_every`
raises that threshold (``FRAUD_GC_YOUNG_THRESHOLD``, 10,000): a collection runs once the
process holds that many more objects than at the last one, about 8 times in 45 s (decision 25).
"""

from __future__ import annotations

import gc
import time
from typing import Any, Final

from prometheus_client import Histogram

GC_PAUSE: Final = Histogram(
    "fraudstream_gc_pause_seconds",
    "Pauses of Python's cyclic garbage collector, by generation (2: a full collection); the "
    "event loop stands still for each",
    ["generation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5),
)


def watch_collector() -> None:
    """Time every collection into :data:`GC_PAUSE`. Once per process: at its entry point."""
    started = 0.0

    def timed(phase: str, info: dict[str, Any]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
        else:
            GC_PAUSE.labels(str(info["generation"])).observe(time.perf_counter() - started)

    gc.callbacks.append(timed)


def collect_young_every(allocations: int) -> None:
    """Collect the youngest generation after ``allocations`` new tracked objects instead of
    Python's 700; the older generations keep their thresholds (counted in young collections), so
    they too run that much more rarely."""
    gc.set_threshold(allocations, *gc.get_threshold()[1:])


def freeze() -> None:
    """Collect once, then set every object alive now aside from future collections. Call it
    when the process has started (modules imported, clients built, a model loaded): what it
    holds then stays. Objects frozen are still freed when their last reference goes; only a
    cycle among them would stay until the process ends."""
    gc.collect()
    gc.freeze()
