"""An HTTP feed that answers one transaction per GET, as the original system's live feed did.

The feed is a server we do not run: it may answer 500, time out, or send a body that is not a
transaction. None of that stops the producer. A failed call is counted and the next one waits
with exponential backoff and jitter; a bad body is handed on as a rejected record (to the
dead-letter topic or skipped) and the next call backs off the same way. The backoff resets at
the first good answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Final

import httpx

from fraudstream.backoff import Backoff
from fraudstream.config import ProducerSettings
from fraudstream.producer.items import Item, Rejected, answer_item

log = logging.getLogger(__name__)

_REPEAT_SECONDS: Final = 30.0
"""The same failure is logged again at most this often; the count says how many there were."""
_OUTAGE_CALLS: Final = 5
"""So many failed calls in a row are an outage worth a line when it begins and when it ends."""

FEED_SCHEME = "feed+"
"""``--source feed+http://host/path`` names a feed; the address polled is the part after it."""


def feed_url(source: str) -> str | None:
    """The URL to poll when ``source`` names a feed, else None."""
    if source.lower().startswith(FEED_SCHEME + "http"):
        return source[len(FEED_SCHEME) :]
    return None


class FeedPoller:
    """Polls ``url`` for transactions; :attr:`errors` counts calls that brought none."""

    def __init__(self, url: str, producer: ProducerSettings, stop: threading.Event) -> None:
        self.url = url
        self.errors = 0
        self._stop = stop
        self._backoff = Backoff(producer.retry_base_seconds, producer.retry_max_seconds)
        self._client = httpx.Client(
            timeout=httpx.Timeout(producer.feed_timeout_seconds),
            follow_redirects=True,
            headers={"Accept": "application/json"},
        )
        self._in_a_row = 0
        self._said = ""
        self._said_at = 0.0

    def items(self) -> Iterator[Item]:
        """One item per answer with a body, endlessly (until the stop event is set)."""
        answers = 0
        wait = 0.0
        with self._client:
            while not self._stop.wait(wait):
                problem, body = self._call()
                if body is None:
                    self._failed(problem)
                    wait = self._backoff.next_delay()
                    continue
                answers += 1
                item = answer_item(body, f"feed {self.url} answer {answers}")
                if isinstance(item, Rejected):
                    wait = self._backoff.next_delay()
                else:
                    self._recovered()
                    wait = 0.0
                yield item

    def _call(self) -> tuple[str, bytes | None]:
        try:
            response = self._client.get(self.url)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}", None
        if response.status_code != 200:
            return f"HTTP {response.status_code}", None
        return "", response.content

    def _failed(self, problem: str) -> None:
        """Count a failed call; say so when the problem is new or a while has passed."""
        self.errors += 1
        self._in_a_row += 1
        now = time.monotonic()
        if problem != self._said or now - self._said_at >= _REPEAT_SECONDS:
            log.warning(
                "feed %s: %s (%d failed call(s) so far); retrying with backoff",
                self.url,
                problem,
                self.errors,
            )
            self._said, self._said_at = problem, now
        if self._in_a_row == _OUTAGE_CALLS:
            log.warning("feed %s: %d calls in a row failed", self.url, self._in_a_row)

    def _recovered(self) -> None:
        if self._in_a_row >= _OUTAGE_CALLS:
            log.info("feed %s answers again after %d failed calls", self.url, self._in_a_row)
        self._in_a_row = 0
        self._backoff.reset()
