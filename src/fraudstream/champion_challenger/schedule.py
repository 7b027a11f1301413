"""``fraudstream challenger schedule``: a run every period, for as long as the process lives.

Started by ``fraudstream up`` beside servers that may still be starting, so it never exits on
an unreachable PostgreSQL or MLflow: a run that cannot start (no database for the lock) or that
fails on a server is retried after a backoff (5 s, doubling, at most the period), and the
normal period resumes after the first run that completes. Other errors (a bad setting) end it.

Runs skip when another scheduler's run holds the lock or was recorded less than half a period
ago, so any number of schedulers on one database act once per period between them.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import timedelta
from typing import Final

from fraudstream.champion_challenger.job import Outcome, run_once
from fraudstream.config import Settings
from fraudstream.errors import ConfigError, InfrastructureError

log = logging.getLogger(__name__)

_PART: Final = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
FIRST_BACKOFF_SECONDS: Final = 5.0


def parse_duration(text: str) -> timedelta:
    """``90s``, ``10m``, ``1h30m``, ``2d`` or a number of seconds, as a positive timedelta."""
    spec = text.strip().lower()
    try:
        seconds = float(spec)
    except ValueError:
        parts = _PART.findall(spec)
        if not parts or "".join(n + u for n, u in parts) != spec:
            raise ConfigError(
                f"{text!r} is not a duration: use a number of seconds or 90s, 10m, 1h30m, 2d"
            ) from None
        total = sum((timedelta(**{_UNITS[u]: float(n)}) for n, u in parts), timedelta())
    else:
        total = timedelta(seconds=seconds)
    if total <= timedelta(0):
        raise ConfigError(f"{text!r}: the period must be positive")
    return total


def describe(outcome: Outcome) -> str:
    """One log line for a run."""
    if outcome.decision is None:
        return f"skipped: {outcome.skipped}"
    decision = outcome.decision
    versions = (
        f"champion {decision.new_champion_version}, challenger {decision.new_challenger_version}"
    )
    took = f" in {decision.duration_seconds:.1f} s" if decision.duration_seconds else ""
    return f"{decision.action}{took} ({versions}): {decision.reason}"


def start_metrics(port: int, host: str) -> None:
    """Serve /metrics; a port already taken costs the metrics only, never the scheduler."""
    if not port:
        return
    from prometheus_client import start_http_server

    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        log.warning("no Prometheus metrics: cannot listen on %s:%d: %s", host, port, exc)
        return
    log.info("Prometheus metrics on http://%s:%d/metrics", host, port)


def schedule(
    settings: Settings,
    every: timedelta,
    *,
    stop: threading.Event | None = None,
    runs: int | None = None,
) -> None:
    """Run every ``every`` until ``stop`` is set (or ``runs`` runs were attempted)."""
    stop = stop or threading.Event()
    backoff = FIRST_BACKOFF_SECONDS
    attempted = 0
    log.info("champion/challenger every %s for model %s", every, settings.registry.model_name)
    while not stop.is_set() and (runs is None or attempted < runs):
        attempted += 1
        try:
            outcome = run_once(settings, min_interval=every / 2)
        except InfrastructureError as exc:
            wait = min(backoff, every.total_seconds())
            log.warning("cannot start a run: %s; retrying in %.0f s", exc, wait)
            backoff *= 2
            stop.wait(wait)
            continue
        log.info("%s", describe(outcome))
        if isinstance(outcome.error, InfrastructureError):
            wait = min(backoff, every.total_seconds())
            backoff *= 2
            log.info("retrying in %.0f s", wait)
        else:
            backoff = FIRST_BACKOFF_SECONDS
            wait = every.total_seconds()
        stop.wait(wait)
