"""What the agent hands to the scorer: one Kafka message, decoded (or why it could not be).

Decoding happens once, per message, on raw bytes with the fast decoder of
:mod:`fraudstream.wire`; a message that does not decode carries its reason instead of a
transaction and will go to the dead-letter topic with its original bytes.
"""

from __future__ import annotations

import typing
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from fraudstream.errors import InvalidTransaction
from fraudstream.schema import Transaction, parse_transaction
from fraudstream.stream_processor.pending import Entry
from fraudstream.wire import struct_for

TransactionWire = struct_for(Transaction)
_NOT_JSON: Final = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
"""What msgspec raises for bytes that are not JSON it can read: invalid UTF-8 is a
UnicodeDecodeError, nesting deeper than Python's stack a RecursionError."""
_decode = msgspec.json.Decoder(TransactionWire).decode


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message of the ``transactions`` topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    raw: bytes
    produced_at: datetime
    """The Kafka timestamp: when the transaction entered the system."""
    txn: Transaction | None
    """The decoded transaction (a struct with Transaction's fields), or None when malformed."""
    problem: str | None = None
    """Why the message is malformed (goes to the dead-letter topic)."""


def decode(topic: str, partition: int, offset: int, key: Any, value: Any, ts: float) -> Incoming:
    """Decode one raw message; never raises (a bad message is a value with a reason)."""
    produced_at = datetime.fromtimestamp(ts, UTC) if ts else datetime.now(UTC)
    raw = value if isinstance(value, bytes) else b"" if value is None else str(value).encode()
    key_bytes = key if isinstance(key, bytes) or key is None else str(key).encode()
    txn: Transaction | None = None
    problem: str | None = None
    try:
        # a struct with Transaction's fields and rules (see fraudstream.wire)
        txn = typing.cast(Transaction, _decode(raw))
    except msgspec.ValidationError:
        txn, problem = _exact(raw)
    except _NOT_JSON as exc:
        problem = f"not JSON: {exc}"
    return Incoming(topic, partition, offset, key_bytes, raw, produced_at, txn, problem)


def entries(events: Iterable[Any], assigned: Container[Any]) -> list[Entry[Incoming]]:
    """The Faust events of one take, decoded, without those of partitions no longer assigned
    (fetched before a rebalance took their partition away)."""
    found = []
    for event in events:
        message = event.message
        if message.tp not in assigned:
            continue
        incoming = decode(
            message.topic,
            message.partition,
            message.offset,
            message.key,
            message.value,
            message.timestamp,
        )
        position = (message.topic, message.partition, message.offset)
        found.append(Entry(position, event, incoming))
    return found


def _exact(raw: bytes) -> tuple[Transaction | None, str | None]:
    """The slow path: pydantic accepts foreign forms (a card number as text) and names every
    bad field of a message it refuses."""
    try:
        record = msgspec.json.decode(raw)
    except _NOT_JSON as exc:
        return None, f"not JSON: {exc}"
    if not isinstance(record, dict):
        return None, "not a JSON object"
    try:
        return parse_transaction(record), None
    except InvalidTransaction as exc:
        return None, str(exc)
