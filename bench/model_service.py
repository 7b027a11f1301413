"""Model service benchmark: transactions/s and latency over HTTP against in-process scoring.

For batch sizes 1, 100 and 1,000, the same pre-encoded batches of simulated transactions (each
with its card's history, as the stream sends them) go to a real ``fraudstream serve`` (uvicorn,
one worker, keep-alive) and, in the same run, through the same code in this process:

- ``in-process score``: features + model + reasons of already-decoded transactions;
- ``in-process decode + score``: the same, starting from the JSON bytes (the fast decoder);
- ``HTTP``: the whole request, client included (client and server share the 2 cores).

The ratio HTTP / in-process score at batch 1,000 is the overhead the issue bounds (<= 2x). The
decoders are compared too (pydantic ``validate_json`` vs the msgspec fast path), since
validation is what would dominate.

Usage: ``.venv/bin/python bench/model_service.py [--seconds 8]``; writes
``bench/results/model_service.json``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import numpy as np
import orjson
from pydantic import TypeAdapter

from _common import versions, write_result
from _stack import registered_model, start_service
from fraudstream.features import CardState, advance, transaction_features
from fraudstream.model_service.live import verdict_rows
from fraudstream.model_service.schemas import PredictItem
from fraudstream.registry import Registry
from fraudstream.simulator import Simulator
from fraudstream.wire import BatchDecoder, struct_for

SIZES = (1, 100, 1000)


def batches(size: int, count: int, seed: int) -> list[bytes]:
    """``count`` JSON bodies of ``size`` transactions with their card histories."""
    records = list(Simulator(seed=seed).records(size * count, with_label=False))
    states: dict[int, CardState] = {}
    decoder = BatchDecoder(PredictItem)
    txns = decoder.decode(orjson.dumps(records))
    items = []
    for record, txn in zip(records, txns, strict=True):
        history = advance(states.setdefault(txn.cc_num, CardState()), txn)
        items.append({**record, "history": history.model_dump()})
    return [orjson.dumps(items[i : i + size]) for i in range(0, len(items), size)]


def timed(fn: Any, seconds: float) -> list[float]:
    """Call ``fn()`` repeatedly for ``seconds``; the duration of each call."""
    durations: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - start)
    return durations


def summary(durations: list[float], size: int) -> dict[str, float]:
    ms = np.array(durations) * 1000
    return {
        "requests": len(durations),
        "transactions_per_s": size * len(durations) / sum(durations),
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


def measure_size(
    client: httpx.Client, model: Any, decoder: BatchDecoder[PredictItem], size: int, seconds: float
) -> dict[str, Any]:
    """The three ways of scoring the same batches of ``size`` transactions."""
    bodies = batches(size, max(4, 2000 // size), seed=size)
    decoded = [decoder.decode(b) for b in bodies]
    turn = iter(range(10**9))

    def pick(seq: list[Any]) -> Any:
        return seq[next(turn) % len(seq)]

    def score(items: list[Any]) -> None:
        features = transaction_features(items, [i.history for i in items])
        verdict_rows(model, [i.trans_num for i in items], features, 3)

    def post() -> None:
        client.post(
            "/predict", content=pick(bodies), headers={"Content-Type": "application/json"}
        ).raise_for_status()

    post()  # warm-up: the connection and the first request
    row: dict[str, Any] = {
        "in_process_score": summary(timed(lambda: score(pick(decoded)), seconds), size),
        "in_process_decode_score": summary(
            timed(lambda: score(decoder.decode(pick(bodies))), seconds), size
        ),
        "http": summary(timed(post, seconds), size),
    }
    row["http_over_in_process"] = (
        row["in_process_score"]["transactions_per_s"] / row["http"]["transactions_per_s"]
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per measured loop")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-service-") as folder:
        home = Path(folder)
        print("training and registering a model (60,000 simulated rows)...", flush=True)
        settings = registered_model(home)
        model = Registry(settings.registry).load_alias("champion")
        service, url = start_service(settings, home / "service.log")
        decoder = BatchDecoder(PredictItem)
        exact = TypeAdapter(list[PredictItem])
        results: dict[str, Any] = {"batch_sizes": {}}
        try:
            with httpx.Client(base_url=url, timeout=30) as client:
                for size in SIZES:
                    row = measure_size(client, model, decoder, size, args.seconds)
                    results["batch_sizes"][str(size)] = row
                    print(
                        f"batch {size}: {row['http']['transactions_per_s']:,.0f} tx/s over HTTP,"
                        f" ratio {row['http_over_in_process']:.2f}",
                        flush=True,
                    )

                # the decoders alone, at batch 1,000
                body = batches(1000, 1, seed=99)[0]
                fast = statistics.median(timed(lambda: decoder.decode(body), 2.0))
                # the fast path as it was: each item's dates and texts checked one by one
                checked = msgspec.json.Decoder(list[struct_for(PredictItem)])  # type: ignore[valid-type]
                per_item = statistics.median(timed(lambda: checked.decode(body), 2.0))
                slow = statistics.median(timed(lambda: exact.validate_json(body), 2.0))
                results["decode_batch_1000_ms"] = {
                    "msgspec_fast_path": fast * 1000,
                    "msgspec_per_item_checks": per_item * 1000,
                    "pydantic_validate_json": slow * 1000,
                }
                results["batch_checks_speedup"] = per_item / fast
                print(
                    f"decode 1,000 items: {fast * 1000:.2f} ms, {per_item / fast:.2f}x faster"
                    " than checking each item's dates and texts",
                    flush=True,
                )

                # the service's ceiling: 4 clients at batch 1,000 for the same time
                bodies = batches(1000, 8, seed=7)
                done: list[float] = []

                def client_loop() -> None:
                    with httpx.Client(base_url=url, timeout=30) as own:
                        done.extend(
                            timed(
                                lambda: own.post(
                                    "/predict",
                                    content=bodies[len(done) % len(bodies)],
                                    headers={"Content-Type": "application/json"},
                                ).raise_for_status(),
                                args.seconds,
                            )
                        )

                threads = [threading.Thread(target=client_loop) for _ in range(4)]
                started = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                results["concurrent_4_clients_batch_1000_tx_per_s"] = (
                    1000 * len(done) / (time.perf_counter() - started)
                )
        finally:
            service.stop()
    results["versions"] = versions("fastapi", "uvicorn", "pydantic", "msgspec", "xgboost")
    path = write_result("model_service", results)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
