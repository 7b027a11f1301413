"""Read what a reconciliation needs: the input range, the stream's committed offsets, the
stored verdicts and card states, the dead-letter and verdicts topics as consumers see them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

import msgspec

from fraudstream.config import Settings
from fraudstream.dead_letters import SOURCE_HEADER
from fraudstream.kafka.admin import committed_offsets, partition_offsets
from fraudstream.kafka.consumer import read_partitions
from fraudstream.reconcile.ledger import InputMessage, Position, Report, account
from fraudstream.storage.repository import Repository
from fraudstream.stream_processor.incoming import decode

log = logging.getLogger(__name__)


class _Identified(msgspec.Struct):
    trans_num: str


_trans_num = msgspec.json.Decoder(_Identified)


def reconcile(
    settings: Settings, *, since: datetime | None = None, until: datetime | None = None
) -> Report:
    """Account for every message of the ``transactions`` topic whose Kafka timestamp is in
    ``[since, until)`` (the whole topic by default)."""
    topic = settings.topics.transactions
    committed = {
        p: o
        for (_, p), o in committed_offsets(settings.kafka, settings.stream.app_id, [topic]).items()
    }
    inputs, cards = _inputs(settings, topic, _ranges(settings, topic, since, until))
    log.info("%s: %d messages read", topic, len(inputs))
    trans_nums = [m.trans_num for m in inputs if m.trans_num is not None]
    stored, card_counts = asyncio.run(_stored(settings, trans_nums, cards))
    return account(
        topic,
        inputs,
        committed,
        {t: source for t, (_, source) in stored.items()},
        _dead_letter_sources(settings, topic),
        _verdict_ids(settings, since),
        card_counts,
    )


def _ranges(
    settings: Settings, topic: str, since: datetime | None = None, until: datetime | None = None
) -> dict[int, tuple[int, int]]:
    """Per partition: [first offset at ``since`` (or the start), offset at ``until`` (or the
    end)), the end read now."""
    if since is not None:
        starts = partition_offsets(settings.kafka, topic, since)
    else:
        starts = partition_offsets(settings.kafka, topic, earliest=True)
    ends = partition_offsets(settings.kafka, topic, until) if until is not None else None
    ends = ends or partition_offsets(settings.kafka, topic)
    return {p: (starts[p], end) for p, end in ends.items()}


def _inputs(
    settings: Settings, topic: str, ranges: dict[int, tuple[int, int]]
) -> tuple[list[InputMessage], list[int]]:
    inputs: list[InputMessage] = []
    cards: set[int] = set()
    for m in read_partitions(settings.kafka, topic, ranges):
        incoming = decode(topic, m.partition() or 0, m.offset() or 0, m.key(), m.value(), 0)
        txn = incoming.txn
        trans_num = txn.trans_num if txn is not None else None
        inputs.append(InputMessage(incoming.partition, incoming.offset, trans_num))
        if txn is not None:
            cards.add(txn.cc_num)
    return inputs, sorted(cards)


async def _stored(
    settings: Settings, trans_nums: Sequence[str], cards: Sequence[int]
) -> tuple[dict[str, tuple[int, Position | None]], dict[int, tuple[int, int]]]:
    async with Repository.connect(settings.database, application="fraudstream-reconcile") as repo:
        stored: dict[str, tuple[int, Position | None]] = {}
        for start in range(0, len(trans_nums), 50_000):
            stored.update(await repo.scored_sources(trans_nums[start : start + 50_000]))
        return stored, await repo.card_counts(cards)


def _dead_letter_sources(settings: Settings, topic: str) -> list[Position]:
    """Where each dead letter of ``topic`` came from, as its ``fraudstream.source`` header says."""
    prefix = f"{topic}:"
    found: list[Position] = []
    dlq = settings.topics.dlq
    for m in read_partitions(settings.kafka, dlq, _ranges(settings, dlq)):
        source = dict(m.headers() or []).get(SOURCE_HEADER)
        text = source.decode(errors="replace") if isinstance(source, bytes) else ""
        if text.startswith(prefix):
            partition, _, offset = text[len(prefix) :].partition(":")
            if partition.isdigit() and offset.isdigit():
                found.append((int(partition), int(offset)))
    return found


def _verdict_ids(settings: Settings, since: datetime | None) -> list[str]:
    """The trans_num of every verdict a ``read_committed`` consumer sees (from ``since``)."""
    topic = settings.topics.verdicts
    ids: list[str] = []
    for m in read_partitions(settings.kafka, topic, _ranges(settings, topic, since)):
        try:
            ids.append(_trans_num.decode(m.value() or b"").trans_num)
        except (msgspec.DecodeError, UnicodeDecodeError):
            log.warning("%s[%s]@%s is not a verdict", topic, m.partition(), m.offset())
    return ids
