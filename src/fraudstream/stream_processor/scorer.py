"""The scorer: everything pending, to verdicts stored, published and committed.

It runs as its own task, on its own clock: after a failure it sleeps its backoff and tries again
whether or not new messages arrived, and each new attempt takes everything pending, so the batch
grows while the model service (or the database, or the broker) is away. One attempt:

1. malformed messages become dead letters;
2. the others get their card's history (from the worker's cache of card states, loaded from
   PostgreSQL on first sight) and go to the model service, in chunks it accepts; items the
   service names go to the dead-letter topic, the rest is sent again;
3. their verdicts and the cards' new states are stored in ONE PostgreSQL transaction, guarded by
   a version per card, so a replay never double-counts a card and two workers never overwrite
   each other's state. They are stored *as new*: when one is stored already, nothing is written
   and the piece is done again knowing what is stored. A transaction whose verdict is stored
   has it published again when it is the very message the verdict was scored from (delivered
   again after a crash or a rebalance), and is finished without a second verdict when another
   message brought the same trans_num first; the rest is scored again and stored;
4. last, ONE Kafka transaction publishes every verdict and dead letter of the attempt and
   commits the offsets of the messages finished: a ``read_committed`` consumer sees each verdict
   once, and an offset moves only past stored and published work.

Outage or poison. A failure is an *outage* when it says so (the service unreachable, not ready or
refusing our key; PostgreSQL or Kafka unavailable): the attempt ends, nothing is blamed, the
batch waits and grows. Any other failure (a 5xx from a service that answers, a timeout, a 200
that does not match the request, rows PostgreSQL refuses, an exception in our own code) may lie
in one message's content. The scorer then sends a known-good transaction through the same stages
(a *probe*); if that fails too it is an outage after all. Otherwise the batch is split in halves,
each half tried on its own, down to the messages that fail alone; such a message is held back and
tried alone again in the next attempts, and after ``stream_max_attempts`` failures it goes to the
dead-letter topic with the stage and the error. When the stage names the message (PostgreSQL
names the row a COPY failed on), there is no search: it becomes a suspect at once and the others
go on without it. Nothing a message contains can stop the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Protocol

import msgspec
from pydantic import BaseModel

from fraudstream.backoff import Backoff
from fraudstream.config import StreamSettings, TopicSettings
from fraudstream.errors import (
    AlreadyStored,
    BrokerError,
    DatabaseUnavailable,
    FraudstreamError,
    RowsRefused,
    StateConflict,
    StorageError,
)
from fraudstream.features import CardHistory, CardState, advance
from fraudstream.kafka.transactions import Outgoing
from fraudstream.schema import CARD_MIN, EXAMPLE_RECORD, Prediction, Transaction, Verdict
from fraudstream.storage.models import DeadLetter, ScoredTransaction, StoredVerdict
from fraudstream.stream_processor import metrics
from fraudstream.stream_processor.client import ModelClient
from fraudstream.stream_processor.health import Health
from fraudstream.stream_processor.incoming import Incoming
from fraudstream.stream_processor.pending import Entry, Pending, Position
from fraudstream.stream_processor.publish import DeadLetters, Output, Publisher, verdict_json
from fraudstream.wire import struct_for

log = logging.getLogger(__name__)

Versioned = tuple[CardState, int]
"""A card's state and the version stored with it (0: no row yet)."""

CANARY: Final = Transaction.model_validate(
    {**EXAMPLE_RECORD, "trans_num": "fraudstream-probe", "cc_num": CARD_MIN}
)
"""The probe: a real Sparkov transaction, on a card number no issuer gives out, whose writes
are always rolled back."""


class Store(Protocol):
    """What the scorer needs of PostgreSQL (``fraudstream.storage.repository.Repository``)."""

    async def stored_verdicts(self, trans_nums: Sequence[str]) -> dict[str, StoredVerdict]: ...

    async def card_states(self, cards: Sequence[int]) -> dict[int, Versioned]: ...

    async def store_scored(
        self,
        rows: Sequence[ScoredTransaction],
        states: Sequence[tuple[int, CardState, int]],
        *,
        only_new: bool = False,
    ) -> int:
        """Verdicts and card states (cc_num, state, new version) in one transaction; raises
        :class:`StateConflict` when a card's stored version is not ``new version - 1``, and
        with ``only_new`` :class:`AlreadyStored` when a verdict is stored already (nothing is
        written then)."""
        ...

    async def rehearse_scored(
        self, rows: Sequence[ScoredTransaction], states: Sequence[tuple[int, CardState, int]]
    ) -> None:
        """The same writes, rolled back."""
        ...

    async def record_dead_letters(self, letters: Sequence[DeadLetter]) -> int: ...


class Retry(FraudstreamError):
    """This attempt cannot finish and no message is to blame: everything not finished stays
    pending for the next attempt."""

    def __init__(self, stage: str, why: str) -> None:
        self.stage = stage
        super().__init__(f"{stage}: {why}")


class Outage(Retry):
    """A stage fails for every message (the service away, PostgreSQL or Kafka down)."""


class StageFailure(FraudstreamError):
    """A stage failed on a batch in a way a message's content may cause; ``culprit`` is the
    message, when the stage could say which (PostgreSQL names the row a COPY failed on)."""

    def __init__(self, stage: str, why: str, culprit: Position | None = None) -> None:
        self.stage = stage
        self.culprit = culprit
        super().__init__(f"{stage}: {why}")


_STEPS: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "steps", default=None
)
"""The wall time of each step of the attempt running in this context (for its slow log)."""


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Time a step (``fraudstream_stream_stage_seconds_total``, and the attempt's own steps)
    and sort what it raises."""
    started = time.perf_counter()
    try:
        yield
    except (Retry, StageFailure, AlreadyStored):
        raise
    except StateConflict as exc:
        raise Retry(name, str(exc)) from exc
    except RowsRefused as exc:
        raise StageFailure(name, str(exc)) from exc
    except (DatabaseUnavailable, BrokerError, StorageError) as exc:
        # any other StorageError (a missing table, a permission) needs an operator, not a
        # dead letter: it fails every message alike
        raise Outage(name, str(exc)) from exc
    except Exception as exc:
        raise StageFailure(name, f"{type(exc).__name__}: {exc}") from exc
    finally:
        took = time.perf_counter() - started
        metrics.STAGE_SECONDS.labels(name).inc(took)
        steps = _STEPS.get()
        if steps is not None:
            steps[name] = steps.get(name, 0.0) + took


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


@dataclass
class Suspect:
    """A message that failed alone; tried alone again until it passes or runs out of attempts."""

    failures: int = 0
    reason: str = ""


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


def to_verdict(txn: Transaction, answer: Prediction, scored_at: datetime) -> Verdict:
    """The verdict message, as the fast struct with :class:`Verdict`'s fields: the service's
    answer was already checked by its decoder, and pydantic would cost more than the model."""
    verdict = VerdictWire(
        trans_num=answer.trans_num,
        cc_num=txn.cc_num,
        is_fraud=answer.is_fraud,
        score=answer.score,
        threshold=answer.threshold,
        model_name=answer.model_name,
        model_version=answer.model_version,
        reasons=answer.reasons,
        scored_at=scored_at,
    )
    return typing.cast(Verdict, verdict)


@dataclass
class _Work:
    """What a piece of an attempt produced; merged into the attempt's output only when the
    whole piece succeeded (a piece that fails is done again, in halves)."""

    output: Output = field(default_factory=Output)
    scored: list[Entry[Incoming]] = field(default_factory=list)
    flagged: int = 0
    dead: dict[str, int] = field(default_factory=dict)
    replayed: int = 0
    repeats: int = 0

    def merge(self, other: _Work) -> None:
        self.output.messages += other.output.messages
        self.output.finished += other.output.finished
        self.scored += other.scored
        self.flagged += other.flagged
        for kind, n in other.dead.items():
            self.dead[kind] = self.dead.get(kind, 0) + n
        self.replayed += other.replayed
        self.repeats += other.repeats


class Scorer:
    """Drains :class:`Pending` into stored, published, committed verdicts."""

    def __init__(
        self,
        stream: StreamSettings,
        topics: TopicSettings,
        pending: Pending[Incoming],
        client: ModelClient,
        store: Store,
        publisher: Publisher,
        *,
        health: Health | None = None,
        observe_latency: Callable[[float], None] = lambda _seconds: None,
    ) -> None:
        self.stream = stream
        self.verdicts_topic = topics.verdicts
        self.pending = pending
        self.client = client
        self.store = store
        self.publisher = publisher
        self.dead_letters = DeadLetters(topics.dlq, store, publisher)
        self.health = health or Health()
        self.cards = CardCache()
        self.suspects: dict[Position, Suspect] = {}
        self.backoff = Backoff(stream.retry_base_seconds, stream.retry_max_seconds)
        self.lock = asyncio.Lock()
        """Held for the whole of an attempt: a rebalance or a stop waits for it."""
        self._observe = observe_latency
        self._evidence = 0
        self.chunk = min(client.max_batch, stream.batch_size * 2)

    async def run(self) -> None:
        """Attempt, and after a failure back off and attempt again, until cancelled."""
        while True:
            await self.pending.wait_batch(self.stream.batch_size, self.stream.batch_seconds)
            failure = await self.once()
            if failure is None:
                self.backoff.reset()
                continue
            delay = self.backoff.next_delay()
            metrics.RETRIES.inc()
            self.health.retrying(failure)
            log.warning(
                "%d pending transaction(s) not done (%s); next attempt in %.2f s",
                len(self.pending),
                failure,
                delay,
            )
            await asyncio.sleep(delay)

    async def once(self) -> str | None:
        """One attempt over everything pending now: why it must be retried, or None."""
        async with self.lock:
            batch = self.pending.snapshot()
            metrics.PENDING.set(len(batch))
            metrics.BATCH.observe(len(batch))
            age = 0.0
            if batch:  # a rebalance may have taken all of it since the scorer woke up
                oldest = min(e.item.produced_at for e in batch).timestamp()
                age = max(0.0, time.time() - oldest)  # Kafka timestamps are wall-clock
                metrics.BATCH_AGE_SECONDS.observe(age)
            steps: dict[str, float] = {}
            token = _STEPS.set(steps)
            started = time.perf_counter()
            try:
                failure = await self._attempt_safely(batch)
            finally:
                _STEPS.reset(token)
            took = time.perf_counter() - started
            metrics.ATTEMPT_SECONDS.observe(took)
        if max(took, age) >= self.stream.slow_attempt_seconds:
            log.warning(
                "slow attempt: %.0f ms for %d transaction(s) (%s); the oldest had waited %.0f ms",
                took * 1000,
                len(batch),
                ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in steps.items()) or "no step",
                age * 1000,
            )
        return failure

    async def _attempt_safely(self, batch: Sequence[Entry[Incoming]]) -> str | None:
        """One attempt; why it must be retried, or None. Never raises for what it met."""
        try:
            await self.attempt(batch)
        except Retry as exc:
            metrics.ATTEMPTS.labels("outage").inc()
            return str(exc)
        except Exception as exc:  # a bug of ours that no message explains: log it, retry
            metrics.ATTEMPTS.labels("error").inc()
            log.exception("the attempt failed unexpectedly")
            return f"unexpected {type(exc).__name__}: {exc}"
        metrics.ATTEMPTS.labels("done").inc()
        held = [s.reason for s in self.suspects.values()]
        self.health.suspecting(len(held), held[0] if held else "")
        metrics.SUSPECTS.set(len(held))
        return None

    async def attempt(self, batch: Sequence[Entry[Incoming]]) -> None:
        """Everything in ``batch`` that can be finished now, stored and committed."""
        work = _Work()
        self._evidence = 0
        try:
            malformed = [e for e in batch if e.item.txn is None]
            if malformed:
                pairs = [(e, e.item.problem or "malformed") for e in malformed]
                await self._dead_letter(work, pairs, "malformed")
            good = [e for e in batch if e.item.txn is not None]
            held = [e for e in good if e.position in self.suspects]  # once per attempt each
            fresh = [e for e in good if e.position not in self.suspects]
            for start in range(0, len(fresh), self.chunk):
                await self._isolating(fresh[start : start + self.chunk], work)
            for entry in held:
                await self._isolating([entry], work)
        finally:
            if work.output:
                with stage("publish"):
                    await self.publisher.commit(work.output)
                self._count(work)

    def _count(self, work: _Work) -> None:
        """Metrics of what was committed (never of what a failed commit will redo)."""
        metrics.SCORED.inc(len(work.scored))
        metrics.FLAGGED.inc(work.flagged)
        metrics.REPLAYED.inc(work.replayed)
        metrics.REPEATS.inc(work.repeats)
        for kind, n in work.dead.items():
            metrics.DEAD_LETTERS.labels(kind).inc(n)
        now = time.time()
        for entry in work.scored:
            latency = max(0.0, now - entry.item.produced_at.timestamp())
            metrics.E2E_SECONDS.observe(latency)
            self._observe(latency)

    # -- isolation ------------------------------------------------------------------------------

    async def _isolating(self, entries: list[Entry[Incoming]], work: _Work) -> None:
        """Process ``entries``; when content may be at fault, in halves, down to single
        messages, which become suspects."""
        piece = _Work()
        try:
            await self._process(entries, piece)
        except StageFailure as exc:
            failure = exc
        else:
            work.merge(piece)
            self._evidence += 1
            return
        self.health.failed(str(failure))
        await self._confirm(failure)
        if len(entries) == 1:
            await self._suspect(entries[0], failure, work)
            return
        metrics.ISOLATIONS.labels(failure.stage).inc()
        named = [e for e in entries if e.position == failure.culprit]
        if named:  # no search: a suspect at once, and the others without it
            log.info("%s: the message is named among %d", failure, len(entries))
            await self._suspect(named[0], failure, work)
            await self._isolating([e for e in entries if e is not named[0]], work)
            return
        log.info("%s: isolating the message(s) behind it among %d", failure, len(entries))
        middle = len(entries) // 2
        await self._isolating(entries[:middle], work)
        await self._isolating(entries[middle:], work)

    async def _confirm(self, failure: StageFailure) -> None:
        """Go on isolating only if the stages work for a known-good transaction: some piece of
        this attempt succeeded since the last failure, or a probe goes through now."""
        if self._evidence > 0:
            self._evidence = 0
            return
        why = await self.probe()
        if why is not None:
            raise Outage(failure.stage, f"{failure}; a known-good transaction fails too ({why})")

    async def probe(self) -> str | None:
        """Send :data:`CANARY` through the features, the service and a rolled-back write; why it
        failed, or None."""
        try:
            with stage("probe"):
                history = advance(CardState(), CANARY)
                body = request_body([CANARY], [history])
                # every answer field, reasons included (a flagged verdict carries them)
                answer = await self.client.predict(body, [CANARY.trans_num], explain_all=True)
                if answer.verdicts is None:
                    raise StageFailure("service", answer.failure or "no verdict")
                now = datetime.now(UTC)
                row = ScoredTransaction(
                    CANARY, to_verdict(CANARY, answer.verdicts[0], now), now, now
                )
                state = CardState()
                advance(state, CANARY)
                with contextlib.suppress(StateConflict):  # the write path worked
                    await self.store.rehearse_scored([row], [(CANARY.cc_num, state, 1)])
        except (Retry, StageFailure) as exc:
            metrics.PROBES.labels("failed").inc()
            return str(exc)
        metrics.PROBES.labels("passed").inc()
        return None

    async def _suspect(self, entry: Entry[Incoming], failure: StageFailure, work: _Work) -> None:
        suspect = self.suspects.setdefault(entry.position, Suspect())
        suspect.failures += 1
        suspect.reason = str(failure)
        where = f"{entry.item.topic}[{entry.item.partition}]@{entry.item.offset}"
        if suspect.failures < self.stream.max_attempts:
            log.warning(
                "%s failed alone (%d of %d): %s",
                where,
                suspect.failures,
                self.stream.max_attempts,
                failure,
            )
            return
        del self.suspects[entry.position]
        reason = f"{failure} (failed alone {suspect.failures} times)"
        await self._dead_letter(work, [(entry, reason)], "poison")

    # -- one piece ------------------------------------------------------------------------------

    async def _process(self, entries: list[Entry[Incoming]], work: _Work) -> None:
        # The same transaction twice in one piece (a producer's retry): score the first,
        # finish both.
        by_trans: dict[str, list[Entry[Incoming]]] = {}
        for entry in entries:
            by_trans.setdefault(_txn(entry).trans_num, []).append(entry)
        firsts = [group[0] for group in by_trans.values()]
        # Nearly every transaction is new: score them all and store them as new. Only when that
        # store meets a stored verdict (a message delivered again, a producer's duplicate; the
        # store then wrote nothing) are the stored verdicts looked up, and the rest scored again.
        trial = _Work()
        try:
            await self._score_all(firsts, by_trans, trial, only_new=True)
        except AlreadyStored:
            metrics.LOOKUPS.inc()
        else:
            work.merge(trial)
            return
        with stage("lookup"):
            stored = await self.store.stored_verdicts(list(by_trans))
        if stored:
            with stage("replay"):
                for entry in firsts:
                    known = stored.get(_txn(entry).trans_num)
                    if known is None:
                        continue
                    position = (entry.item.partition, entry.item.offset)
                    if known.source is None or known.source == position:
                        work.output.messages.append(self._verdict_message(known.verdict))
                        work.replayed += 1
                    else:
                        work.repeats += 1
                    work.output.finished += by_trans[_txn(entry).trans_num]
            firsts = [e for e in firsts if _txn(e).trans_num not in stored]
        await self._score_all(firsts, by_trans, work, only_new=False)

    async def _score_all(
        self,
        entries: list[Entry[Incoming]],
        by_trans: dict[str, list[Entry[Incoming]]],
        work: _Work,
        *,
        only_new: bool,
    ) -> None:
        """Score and store ``entries``, again without the items the service named invalid."""
        while entries:
            entries = await self._score(entries, by_trans, work, only_new=only_new)

    async def _score(
        self,
        entries: list[Entry[Incoming]],
        by_trans: dict[str, list[Entry[Incoming]]],
        work: _Work,
        *,
        only_new: bool,
    ) -> list[Entry[Incoming]]:
        """Score and store; return what must be scored again at once (the rest, after the
        service named invalid items)."""
        txns = [_txn(e) for e in entries]
        with stage("card_state"):
            known = await self.cards.get(self.store, [t.cc_num for t in txns])
        with stage("features"):
            overlay: dict[int, Versioned] = {}
            histories: list[CardHistory] = []
            for txn in txns:
                if txn.cc_num not in overlay:
                    state, version = known[txn.cc_num]
                    overlay[txn.cc_num] = (state.copy(), version)
                histories.append(advance(overlay[txn.cc_num][0], txn))
            body = request_body(txns, histories)

        started = time.perf_counter()
        with stage("service"):
            answer = await self.client.predict(body, [t.trans_num for t in txns])
        metrics.SERVICE_SECONDS.observe(time.perf_counter() - started)
        if answer.invalid:
            pairs = [
                (entries[i], f"refused by the model service: {why}")
                for i, why in answer.invalid.items()
            ]
            await self._dead_letter(work, pairs, "refused")
            return [e for i, e in enumerate(entries) if i not in answer.invalid]
        if answer.verdicts is None:
            why = answer.failure or "no verdict"
            raise Outage("service", why) if answer.outage else StageFailure("service", why)

        scored_at = datetime.now(UTC)
        with stage("verdicts"):
            verdicts = [
                to_verdict(t, v, scored_at) for t, v in zip(txns, answer.verdicts, strict=True)
            ]
            rows = [
                ScoredTransaction(
                    t, v, e.item.produced_at, scored_at, (e.item.partition, e.item.offset)
                )
                for t, v, e in zip(txns, verdicts, entries, strict=True)
            ]
            messages = [self._verdict_message(v) for v in verdicts]
        states = [(card, state, version + 1) for card, (state, version) in overlay.items()]
        with stage("store"):
            try:
                await self.store.store_scored(rows, states, only_new=only_new)
            except StateConflict as conflict:  # redo those cards from their stored state
                self.cards.forget(conflict.cards)
                raise
            except RowsRefused as refused:
                if refused.row is None or not 0 <= refused.row < len(entries):
                    raise
                culprit = entries[refused.row].position
                raise StageFailure("store", str(refused), culprit) from refused
        for card, state, version in states:
            self.cards.states[card] = (state, version)
        work.output.messages += messages
        for entry in entries:
            work.output.finished += by_trans[_txn(entry).trans_num]
        work.scored += entries
        work.flagged += sum(v.is_fraud for v in verdicts)
        return []

    def _verdict_message(self, verdict: Verdict) -> Outgoing:
        return Outgoing(self.verdicts_topic, verdict_json(verdict), str(verdict.cc_num))

    async def _dead_letter(
        self, work: _Work, letters: Sequence[tuple[Entry[Incoming], str]], kind: str
    ) -> None:
        """Set messages aside: the PostgreSQL mirror now, the dead letter with the attempt's
        Kafka transaction."""
        with stage("dead_letters"):
            messages = await self.dead_letters.set_aside([(e.item, why) for e, why in letters])
        work.output.messages += messages
        work.output.finished += [e for e, _ in letters]
        work.dead[kind] = work.dead.get(kind, 0) + len(letters)

    # -- rebalances and stops -------------------------------------------------------------------

    async def on_revoked(self, partitions: set[tuple[str, int]]) -> None:
        """Partitions left this worker. The attempt in flight finishes first (its commit
        included), so the next owner starts where this worker stopped and never races it; then
        their pending events are forgotten (the next owner replays them) with every cached card
        state (their cards may be scored elsewhere now)."""
        async with self.lock:
            dropped = await self.pending.drop_partitions(partitions)
            for position in [p for p in self.suspects if (p[0], p[1]) in partitions]:
                del self.suspects[position]
            self.cards.forget()
            self.publisher.forget(partitions)
        if dropped:
            log.info("rebalance: %d pending event(s) left for the partitions' next owner", dropped)

    async def stop(self) -> None:
        """Wait for the attempt in flight, then hold the lock so that no other starts: the
        worker's resources may then be closed (callers bound the wait)."""
        await self.lock.acquire()


def _txn(entry: Entry[Incoming]) -> Transaction:
    txn = entry.item.txn
    assert txn is not None  # malformed entries never reach scoring
    return txn
