"""The dead-letter contract: what a message set aside carries, whoever set it aside.

The producer (a record it could not send), the stream (a message it could not score) and its
labels sink (a message that is not a label) all write to the dead-letter topic the same way,
through :func:`letter`: the original key and bytes, and the headers below. Anyone can replay a
dead letter once its cause is fixed, and read why it is there without fraudstream's code. (The
stream also mirrors its dead letters in PostgreSQL: ``stream_processor.publish.DeadLetters``.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

REASON_HEADER: Final = "fraudstream.reason"
"""What broke, naming the field or the stage (UTF-8 text, one line)."""
SOURCE_HEADER: Final = "fraudstream.source"
"""Where the message came from: ``topic:partition:offset``, or the producer's file and line."""
FAILED_AT_HEADER: Final = "fraudstream.failed_at"
"""When it was set aside (ISO 8601, UTC)."""
TRUNCATED_HEADER: Final = "fraudstream.truncated"
"""Present when the payload was cut to fit the topic: the original size in bytes."""

PAYLOAD_LIMIT: Final = 900_000
"""Bytes of key and value kept: under librdkafka's default ``message.max.bytes`` (1,000,000)
with room for the headers, so a dead letter can always be written, however large its message."""
REASON_LIMIT: Final = 1_000
"""Characters of a reason kept (an exception's text can be long)."""


def clean_reason(text: str) -> str:
    """One line, no NUL (PostgreSQL's text refuses it), at most :data:`REASON_LIMIT` characters."""
    line = " ".join(text.replace("\x00", "\\x00").split())
    return line if len(line) <= REASON_LIMIT else line[: REASON_LIMIT - 3] + "..."


def fit(key: bytes | None, value: bytes | None) -> tuple[bytes | None, bytes | None, int | None]:
    """Key and value cut to :data:`PAYLOAD_LIMIT` bytes together; the third item is the original
    size when anything was cut (None otherwise)."""
    size = len(key or b"") + len(value or b"")
    if size <= PAYLOAD_LIMIT:
        return key, value, None
    key = key[: PAYLOAD_LIMIT // 10] if key else key
    room = PAYLOAD_LIMIT - len(key or b"")
    return key, value[:room] if value else value, size


def headers(
    reason: str, source: str, failed_at: datetime, truncated: int | None = None
) -> list[tuple[str, bytes]]:
    """The headers of a dead letter."""
    found = [
        (REASON_HEADER, clean_reason(reason).encode()),
        (SOURCE_HEADER, source.encode()),
        (FAILED_AT_HEADER, failed_at.isoformat().encode()),
    ]
    if truncated is not None:
        found.append((TRUNCATED_HEADER, str(truncated).encode()))
    return found


@dataclass(frozen=True, slots=True)
class Letter:
    """A dead letter ready to produce: what is kept of the message, and why it was set aside."""

    key: bytes | None
    value: bytes | None
    reason: str
    """The reason as the headers carry it (one line, bounded)."""
    headers: list[tuple[str, bytes]]


def letter(
    key: bytes | None, value: bytes | None, reason: str, source: str, failed_at: datetime
) -> Letter:
    """The dead letter of a message, as every writer sends it: cut to fit, with its headers."""
    key, value, truncated = fit(key, value)
    reason = clean_reason(reason)
    return Letter(key, value, reason, headers(reason, source, failed_at, truncated))
