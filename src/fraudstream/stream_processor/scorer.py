"""The scorer: everything pending, to verdicts stored, published and acknowledged.

It runs as its own task, on its own clock: after a failure it sleeps its backoff and tries
again whether or not new messages arrived, and each new attempt takes everything pending, so
the batch grows while the model service (or the database, or the broker) is away. One attempt:

1. malformed messages go to the dead-letter topic, then are acknowledged;
2. transactions whose verdict is already stored (a replay after a crash or a rebalance) have
   that verdict published again and are acknowledged, without being scored or counted twice
   in their card's history;
3. the others get their card's history (from the worker's cache of card states, loaded from
   PostgreSQL on first sight) and go to the model service, in chunks it accepts;
4. their verdicts and the cards' new states are stored in ONE PostgreSQL transaction, guarded by
   a version per card, so a replay never double-counts a card and two workers never overwrite
   each other's state; then the verdicts are published; then, only then, the messages are
   acknowledged (offsets commit for stored verdicts only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
from pydantic import BaseModel

from fraudstream.config import Settings
from fraudstream.errors import BrokerError, FraudstreamError, StateConflict, StorageError
from fraudstream.features import CardHistory, CardState, advance
from fraudstream.schema import Reason, Transaction, Verdict
from fraudstream.storage.models import DeadLetter, ScoredTransaction
from fraudstream.stream_processor import metrics
from fraudstream.stream_processor.backoff import Backoff
from fraudstream.stream_processor.client import Answer, ModelClient, ServiceVerdict
from fraudstream.stream_processor.incoming import Incoming
from fraudstream.stream_processor.pending import Entry, Pending, Position
from fraudstream.stream_processor.publish import Publisher
from fraudstream.wire import struct_for

log = logging.getLogger(__name__)

T = typing.TypeVar("T")
Versioned = tuple[CardState, int]
"""A card's state and the version stored with it (0: no row yet)."""


class Store(Protocol):
    """What the scorer needs of PostgreSQL (``fraudstream.storage.repository.Repository``)."""

    async def stored_verdicts(self, trans_nums: Sequence[str]) -> dict[str, Verdict]: ...

    async def card_states(self, cards: Sequence[int]) -> dict[int, Versioned]: ...

    async def store_scored(
        self, rows: Sequence[ScoredTransaction], states: Sequence[tuple[int, CardState, int]]
    ) -> int:
        """Verdicts and card states (cc_num, state, new version) in one transaction; raises
        :class:`StateConflict` when a card's stored version is not ``new version - 1``."""
        ...

    async def record_dead_letters(self, letters: Sequence[DeadLetter]) -> int: ...


def dead_letter(message: Incoming, reason: str) -> DeadLetter:
    """The PostgreSQL mirror of a dead-letter message, for the dashboard."""
    return DeadLetter(
        failed_at=datetime.now(UTC),
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        reason=reason,
        key=message.key,
        payload=message.raw,
    )


class Retry(FraudstreamError):
    """This attempt could not finish; everything not acknowledged stays pending."""


@dataclass
class CardCache:
    """This worker's view of the cards it scores; cleared on every rebalance."""

    states: dict[int, Versioned] = field(default_factory=dict)

    async def get(self, store: Store, cards: Sequence[int]) -> dict[int, Versioned]:
        missing = [c for c in set(cards) if c not in self.states]
        if missing:
            loaded = await store.card_states(missing)
            for card in missing:
                self.states[card] = loaded.get(card, (CardState(), 0))
        return {c: self.states[c] for c in cards}

    def forget(self, cards: Sequence[int] | None = None) -> None:
        if cards is None:
            self.states.clear()
        else:
            for card in cards:
                self.states.pop(card, None)


def _copy(state: CardState) -> CardState:
    return CardState.from_bytes(state.to_bytes())


def _txn_json(txn: Transaction) -> bytes:
    if isinstance(txn, BaseModel):
        return txn.model_dump_json(exclude={"is_fraud"}).encode()
    return msgspec.json.encode(txn)


def request_body(txns: Sequence[Transaction], histories: Sequence[CardHistory]) -> bytes:
    """The /predict body: each transaction with its card's history as the last field, so
    whatever a producer put in the message, the history the service reads is the stream's."""
    parts = [
        _txn_json(t)[:-1] + b',"history":' + h.model_dump_json().encode() + b"}"
        for t, h in zip(txns, histories, strict=True)
    ]
    return b"[" + b",".join(parts) + b"]"


VerdictWire = struct_for(Verdict)
ReasonWire = struct_for(Reason)


def to_verdict(txn: Transaction, answer: ServiceVerdict, scored_at: datetime) -> Verdict:
    """The verdict message, as the fast struct with :class:`Verdict`'s fields: the service's
    answer was already checked by its decoder, and pydantic would cost more than the model."""
    verdict = VerdictWire(
        trans_num=answer.trans_num,
        cc_num=txn.cc_num,
        is_fraud=1 if answer.is_fraud else 0,
        score=answer.score,
        threshold=answer.threshold,
        model_name=answer.model_name,
        model_version=answer.model_version,
        reasons=[ReasonWire(**r) for r in answer.reasons],
        scored_at=scored_at,
    )
    return typing.cast(Verdict, verdict)


class Scorer:
    """Drains :class:`Pending` into stored, published, acknowledged verdicts."""

    def __init__(
        self,
        settings: Settings,
        pending: Pending[Incoming],
        client: ModelClient,
        store: Store,
        publisher: Publisher,
        ack: Callable[[Any], None],
        *,
        observe_latency: Callable[[float], None] = lambda _seconds: None,
        run_in_thread: Callable[..., Any] = asyncio.to_thread,
    ) -> None:
        self.settings = settings
        self.pending = pending
        self.client = client
        self.store = store
        self.publisher = publisher
        self.ack = ack
        self.cards = CardCache()
        self.backoff = Backoff(
            settings.stream_retry_base_seconds, settings.stream_retry_max_seconds
        )
        self._thread = run_in_thread
        self._observe = observe_latency
        self.chunk = min(settings.service_max_batch, settings.stream_batch_size * 2)

    async def run(self) -> None:
        """Attempt, and after a failure back off and attempt again, until cancelled."""
        while True:
            await self.pending.wait_batch(
                self.settings.stream_batch_size, self.settings.stream_batch_seconds
            )
            batch = self.pending.snapshot()
            metrics.PENDING.set(len(batch))
            metrics.BATCH.observe(len(batch))
            try:
                await self.attempt(batch)
            except (Retry, StorageError, BrokerError) as exc:
                delay = self.backoff.next_delay()
                metrics.RETRIES.inc()
                log.warning(
                    "%d pending transaction(s) not done (%s); next attempt in %.2f s",
                    len(self.pending),
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
            else:
                self.backoff.reset()

    async def attempt(self, batch: Sequence[Entry[Incoming]]) -> None:
        bad = [e for e in batch if e.item.txn is None]
        if bad:
            await self._dead_letter([(e, e.item.problem or "malformed") for e in bad])
        good = [e for e in batch if e.item.txn is not None]
        for start in range(0, len(good), self.chunk):
            await self._chunk(good[start : start + self.chunk])

    async def _chunk(self, entries: list[Entry[Incoming]]) -> None:
        # The same transaction twice in one batch (a producer's retry): score the first,
        # acknowledge both.
        by_trans: dict[str, list[Entry[Incoming]]] = {}
        for entry in entries:
            by_trans.setdefault(_txn(entry).trans_num, []).append(entry)
        firsts = [group[0] for group in by_trans.values()]

        with _stage("lookup"):
            stored = await self.store.stored_verdicts(list(by_trans))
        if stored:
            replays = [e for e in firsts if _txn(e).trans_num in stored]
            await self._thread(
                self.publisher.verdicts, [stored[_txn(e).trans_num] for e in replays]
            )
            await self._finish([x for e in replays for x in by_trans[_txn(e).trans_num]])
            metrics.REPLAYED.inc(len(replays))
            firsts = [e for e in firsts if _txn(e).trans_num not in stored]
        while firsts:
            firsts = await self._score(firsts, by_trans)

    async def _score(
        self, entries: list[Entry[Incoming]], by_trans: dict[str, list[Entry[Incoming]]]
    ) -> list[Entry[Incoming]]:
        """Score, store, publish and acknowledge; return what must be tried again at once
        (the rest, after the service named invalid items)."""
        txns = [_txn(e) for e in entries]
        with _stage("card_state"):
            known = await self.cards.get(self.store, [t.cc_num for t in txns])
        with _stage("features"):
            overlay: dict[int, Versioned] = {}
            histories: list[CardHistory] = []
            for txn in txns:
                if txn.cc_num not in overlay:
                    state, version = known[txn.cc_num]
                    overlay[txn.cc_num] = (_copy(state), version)
                histories.append(advance(overlay[txn.cc_num][0], txn))
            body = request_body(txns, histories)

        started = time.perf_counter()
        answer: Answer = await self.client.predict(body, len(txns))
        elapsed = time.perf_counter() - started
        metrics.SERVICE_SECONDS.observe(elapsed)
        metrics.STAGE_SECONDS.labels("service").inc(elapsed)
        if answer.invalid:
            letters = [
                (entries[i], f"refused by the model service: {why}")
                for i, why in answer.invalid.items()
            ]
            await self._dead_letter(letters)
            return [e for i, e in enumerate(entries) if i not in answer.invalid]
        if answer.verdicts is None:
            raise Retry(f"model service: {answer.failure}")

        scored_at = datetime.now(UTC)
        with _stage("verdicts"):
            verdicts = [
                to_verdict(t, v, scored_at) for t, v in zip(txns, answer.verdicts, strict=True)
            ]
            rows = [
                ScoredTransaction(t, v, e.item.produced_at, scored_at)
                for t, v, e in zip(txns, verdicts, entries, strict=True)
            ]
        states = [(card, state, version + 1) for card, (state, version) in overlay.items()]
        # Storing and publishing overlap; the acknowledgement waits for both. A publish that
        # succeeds beside a failed store is repeated on the retry: at-least-once on the topic.
        store = asyncio.ensure_future(self._timed("store", self.store.store_scored(rows, states)))
        publish = asyncio.ensure_future(
            self._timed("publish", self._thread(self.publisher.verdicts, verdicts))
        )
        outcomes: list[object] = await asyncio.gather(store, publish, return_exceptions=True)
        conflict = next((o for o in outcomes if isinstance(o, StateConflict)), None)
        if conflict is not None:
            self.cards.forget(conflict.cards)
            raise Retry(str(conflict)) from conflict
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        for card, state, version in states:
            self.cards.states[card] = (state, version)
        with _stage("ack"):
            await self._finish([x for e in entries for x in by_trans[_txn(e).trans_num]])
        metrics.SCORED.inc(len(entries))
        metrics.FLAGGED.inc(sum(v.is_fraud for v in verdicts))
        now = time.time()
        for entry in entries:
            latency = max(0.0, now - entry.item.produced_at.timestamp())
            metrics.E2E_SECONDS.observe(latency)
            self._observe(latency)
        return []

    async def _timed(self, stage: str, work: typing.Awaitable[T]) -> T:
        with _stage(stage):
            return await work

    async def _dead_letter(self, letters: Sequence[tuple[Entry[Incoming], str]]) -> None:
        await self._thread(self.publisher.dead_letters, [(e.item, why) for e, why in letters])
        await self.store.record_dead_letters([dead_letter(e.item, why) for e, why in letters])
        await self._finish([e for e, _ in letters])
        metrics.DEAD_LETTERS.inc(len(letters))
        for entry, why in letters:
            log.info(
                "dead letter %s[%d]@%d: %s",
                entry.item.topic,
                entry.item.partition,
                entry.item.offset,
                why,
            )

    async def _finish(self, entries: Sequence[Entry[Incoming]]) -> None:
        for entry in entries:
            self.ack(entry.event)
        positions: list[Position] = [e.position for e in entries]
        await self.pending.remove(positions)

    async def on_revoked(self, partitions: set[tuple[str, int]]) -> None:
        """Partitions left this worker: forget their pending events (their next owner replays
        them) and every cached card state (their cards may be scored elsewhere now)."""
        dropped = await self.pending.drop_partitions(partitions)
        self.cards.forget()
        if dropped:
            log.info("rebalance: %d pending event(s) left for the partitions' next owner", dropped)


@contextlib.contextmanager
def _stage(name: str) -> Iterator[None]:
    """Count the wall time of a step (``fraudstream_stream_stage_seconds_total``)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics.STAGE_SECONDS.labels(name).inc(time.perf_counter() - started)


def _txn(entry: Entry[Incoming]) -> Transaction:
    txn = entry.item.txn
    assert txn is not None  # malformed entries never reach scoring
    return txn
