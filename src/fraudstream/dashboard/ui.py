"""What every page shares: settings, the cached connection and query results, the refresh
period, the time-window picker, and the one way a failure or an empty table is shown.

A query result is cached for half the refresh period, keyed by the query, the database and the
arguments: many browsers on the same page cost the database one query per period, and an
analyst changing a filter gets fresh rows at once (new arguments, new key).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final, NoReturn, TypeVar

import streamlit as st

from fraudstream.config import Settings, load_settings
from fraudstream.dashboard import queries
from fraudstream.errors import FraudstreamError
from fraudstream.storage.readonly import ReadOnlyDatabase

T = TypeVar("T")

WINDOWS: Final = {
    "15 min": timedelta(minutes=15),
    "1 h": timedelta(hours=1),
    "6 h": timedelta(hours=6),
    "24 h": timedelta(hours=24),
    "7 days": timedelta(days=7),
    "30 days": timedelta(days=30),
}


def settings() -> Settings:
    """The settings of this run (read from the environment the server was started with)."""
    try:
        return load_settings()
    except FraudstreamError as exc:
        fail(exc)


def fail(exc: FraudstreamError) -> NoReturn:
    """Show what went wrong and what to do, then stop this page (or fragment) run."""
    st.error(str(exc), icon=":material/error:")
    st.stop()


@st.cache_resource(show_spinner=False)
def _database(url: str, timeout_seconds: float) -> ReadOnlyDatabase:
    return ReadOnlyDatabase(url, timeout_seconds=timeout_seconds)


@st.cache_resource(show_spinner=False)
def _cached_runner(ttl_seconds: float) -> Callable[..., Any]:
    @st.cache_data(ttl=ttl_seconds, show_spinner=False, max_entries=512)
    def run(name: str, url: str, timeout_seconds: float, args: tuple[Any, ...]) -> Any:
        return getattr(queries, name)(_database(url, timeout_seconds), *args)

    return run


def query(fn: Callable[..., T], *args: Any) -> T:
    """``fn(database, *args)`` for one of :mod:`queries`' functions, cached, failures shown."""
    current = settings()
    url = current.database.reader_url.get_secret_value()
    timeout = current.database.timeout_seconds
    ttl = current.dashboard.refresh_seconds / 2
    try:
        if ttl <= 0:
            return fn(_database(url, timeout), *args)
        result: T = _cached_runner(ttl)(fn.__name__, url, timeout, args)
    except FraudstreamError as exc:
        fail(exc)
    return result


def refresh_every() -> float | None:
    """The fragments' re-run period, None when auto-refresh is off."""
    seconds = settings().dashboard.refresh_seconds
    return seconds if seconds > 0 else None


def window_picker(label: str = "Time window", *, default: str = "1 h", key: str) -> timedelta:
    """A choice of look-back windows; the value is a timedelta."""
    names = list(WINDOWS)
    choice = st.selectbox(label, names, index=names.index(default), key=key)
    return WINDOWS[str(choice)]


def no_data(what: str, hint: str) -> None:
    """The friendly empty state: what is missing and what would bring it."""
    st.info(f"**No {what} yet.** {hint}", icon=":material/hourglass_empty:")


def footer() -> None:
    current = settings()
    every = current.dashboard.refresh_seconds
    refresh = f"refreshes every {every:g} s" if every > 0 else "auto-refresh off"
    st.caption(
        f"PostgreSQL {_masked(current)} (read-only) · {refresh} (FRAUD_DASHBOARD_REFRESH_SECONDS)"
    )


def _masked(current: Settings) -> str:
    from fraudstream.config import mask_url

    return mask_url(current.database.reader_url.get_secret_value())
