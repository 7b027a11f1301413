"""What every benchmark shares: machine facts, a Sparkov-shaped message source, JSON results.

A figure means little without the machine it came from, so :func:`write_result` stores the CPU,
cores, memory and library versions beside every result in ``bench/results/<name>.json``.
"""

from __future__ import annotations

import json
import os
import platform
import random
import time
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

from fraudstream.schema import CATEGORIES, TIMESTAMP_FORMAT, Transaction

RESULTS = Path(__file__).resolve().parent / "results"

_TEMPLATE = Transaction.model_validate(
    {
        "trans_date_trans_time": "2020-06-21 12:14:25",
        "cc_num": 2291163933867244,
        "merchant": "fraud_Kirlin and Sons",
        "category": "personal_care",
        "amt": 2.86,
        "first": "Jeff",
        "last": "Elliott",
        "gender": "M",
        "street": "351 Darlene Green",
        "city": "Columbia",
        "state": "SC",
        "zip": 29209,
        "lat": 33.9659,
        "long": -80.9355,
        "city_pop": 333497,
        "job": "Mechanical engineer",
        "dob": "1968-03-19",
        "trans_num": "2da90c7d74bd46a0caf3777415b3ebd3",
        "unix_time": 1371816865,
        "merch_lat": 33.986391,
        "merch_long": -81.200714,
    }
).to_record()
_MERCHANTS = ("Kirlin and Sons", "Sporer-Keebler", "Swaniawski, Nitzsche and Welch", "Haley Group")
_JOBS = ("Mechanical engineer", "Sales professional, IT", "Librarian, public", "Set designer")


def sparkov_messages(n: int, seed: int = 0, cards: int = 1000) -> list[tuple[bytes, bytes]]:
    """``n`` (key, value) pairs: key = cc_num, value = a Sparkov transaction as JSON (~470 B).

    The fields vary (card, time, amount, category, merchant, place, trans_num) so compression
    and partitioning see realistic data; the formats are those of :mod:`fraudstream.schema`.
    A stand-in until ``fraudstream.simulator`` can feed benchmarks.
    """
    rng = random.Random(seed)
    card_numbers = [rng.randrange(10**15, 10**16) for _ in range(cards)]
    start = datetime(2020, 6, 21, 12, 0, 0)
    seconds = 0
    messages: list[tuple[bytes, bytes]] = []
    for _ in range(n):
        seconds += rng.randrange(0, 4)
        card = rng.randrange(cards)
        when = start + timedelta(seconds=seconds)
        record = dict(_TEMPLATE)
        record.update(
            trans_date_trans_time=when.strftime(TIMESTAMP_FORMAT),
            cc_num=card_numbers[card],
            merchant="fraud_" + rng.choice(_MERCHANTS),
            category=rng.choice(CATEGORIES),
            amt=round(rng.lognormvariate(3.5, 1.2), 2),
            job=_JOBS[card % len(_JOBS)],
            lat=round(30 + card % 17 + rng.random(), 4),
            long=round(-120 + card % 40 + rng.random(), 4),
            trans_num=rng.randbytes(16).hex(),
            unix_time=1_371_816_865 + seconds,
            merch_lat=round(30 + card % 17 + rng.uniform(-1, 1), 6),
            merch_long=round(-120 + card % 40 + rng.uniform(-1, 1), 6),
        )
        messages.append((str(record["cc_num"]).encode(), orjson.dumps(record)))
    return messages


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return 0.0


def versions(*packages: str) -> dict[str, str]:
    """Installed versions of the named distributions ("absent" when not installed)."""
    found: dict[str, str] = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def machine_facts() -> dict[str, Any]:
    """CPU model, cores, memory, OS and Python: the context of every figure."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` with the machine facts and the time of measurement."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "benchmark": name,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_facts(),
        **data,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
