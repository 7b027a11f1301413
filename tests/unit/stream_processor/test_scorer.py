"""The scorer's guarantees in one process, in milliseconds: the real scorer, client and model
service, PostgreSQL and Kafka replaced by stand-ins that keep their contracts (see
``fixtures/stream_core``). The same guarantees are proved on the real parts in
``tests/integration/stream_processor``."""

from __future__ import annotations

import httpx
import orjson
import pytest

from fixtures.inprocess import broken_model, fails_on_amount
from fixtures.stream_core import TOPIC, Core, core, entry, record
from fraudstream.features import CardState

pytestmark = pytest.mark.unit

ROWM = record(0)["merchant"]


def verdicts_of(c: Core) -> list[str]:
    return c.kafka.verdicts(c.settings)


def letters_of(c: Core) -> dict[int, str]:
    """Offset -> reason of every dead letter committed."""
    return {
        int(dict(m.headers or [])["fraudstream.source"].decode().rsplit(":", 1)[1]): dict(
            m.headers or []
        )["fraudstream.reason"].decode()
        for m in c.kafka.on(c.settings.topics.dlq)
    }


def card_count(c: Core, card: int) -> int:
    return CardState.from_bytes(c.store.states[card][0]).count


async def test_a_clean_batch_is_stored_then_published_with_its_offsets_in_one_commit() -> None:
    c = core()
    await c.put([entry(record(i), offset=i) for i in range(20)])
    assert await c.attempt() is None
    assert sorted(c.store.verdicts) == [f"t{i:05d}" for i in range(20)]
    [(messages, offsets)] = c.kafka.committed
    assert len(messages) == 20
    assert offsets == {(TOPIC, 0): 20}
    assert len(c.pending) == 0
    assert card_count(c, record(0)["cc_num"]) == 20
    assert c.store.lookups == 0  # new transactions are stored as new, never looked up


async def test_malformed_messages_are_dead_lettered_and_the_others_scored() -> None:
    c = core()
    await c.put(
        [
            entry(record(0), 0),
            entry(b"\xff not even UTF-8", 1),
            entry(record(2, unix_time=10**19), 2),
            entry(record(3), 3),
        ]
    )
    assert await c.attempt() is None
    assert sorted(verdicts_of(c)) == ["t00000", "t00003"]
    reasons = letters_of(c)
    assert set(reasons) == {1, 2}
    assert reasons[1].startswith("not JSON")
    assert reasons[2].startswith("unix_time")
    assert c.kafka.offsets() == {(TOPIC, 0): 4}


@pytest.mark.parametrize("poison", [0, 17, 39])
async def test_an_item_the_model_cannot_score_is_named_by_the_service_and_dead_lettered(
    poison: int,
) -> None:
    c = core(fails_on_amount(0.0))
    await c.put([entry(record(i, amt=0.0 if i == poison else 10.0 + i), i) for i in range(40)])
    assert await c.attempt() is None
    assert len(verdicts_of(c)) == 39
    reasons = letters_of(c)
    assert list(reasons) == [poison]
    assert "refused by the model service: transaction: cannot be scored" in reasons[poison]
    assert c.kafka.offsets() == {(TOPIC, 0): 40}


@pytest.mark.parametrize("named", [True, False], ids=["row named", "row searched"])
async def test_rows_postgresql_refuses_are_isolated_then_dead_lettered_after_the_attempts(
    named: bool,
) -> None:
    c = core(stream_max_attempts=3)
    c.store.refuse = lambda row: row.transaction.merchant == "fraud_poison"
    c.store.names_the_row = named
    entries = [entry(record(i, merchant="fraud_poison" if i == 11 else ROWM), i) for i in range(30)]
    await c.put(entries)

    assert await c.attempt() is None  # everything but the poison goes through
    # named: the failed write, the probe's, the others' (searched: halving down to it)
    assert c.store.tries == 3 if named else c.store.tries > 3
    assert "t00011" not in c.store.verdicts
    assert len(c.store.verdicts) == 29
    assert c.kafka.offsets() == {(TOPIC, 0): 11}  # the commit waits below the suspect
    assert c.scorer.health.state == "isolating"
    assert "store" in (c.scorer.health.reason or "")

    assert await c.attempt() is None  # second failure alone
    assert letters_of(c) == {}
    assert await c.attempt() is None  # third: dead letter
    reasons = letters_of(c)
    assert list(reasons) == [11]
    assert reasons[11].startswith("store: PostgreSQL refused the rows")
    assert "failed alone 3 times" in reasons[11]
    assert c.kafka.offsets() == {(TOPIC, 0): 30}
    assert len(c.pending) == 0
    assert c.scorer.health.state == "flowing"
    # the dead letter never entered its card's history
    assert card_count(c, record(0)["cc_num"]) == 29


async def test_an_outage_of_the_service_blames_no_message() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    c = core(transport=httpx.MockTransport(refused))
    await c.put([entry(record(i), i) for i in range(10)])
    for _ in range(5):
        why = await c.attempt()
        assert why is not None
        assert "unreachable" in why
    assert c.scorer.suspects == {}
    assert c.kafka.committed == []
    assert len(c.pending) == 10


async def test_a_service_failing_for_everybody_is_an_outage_not_poison() -> None:
    c = core(broken_model())  # 500 for every request, the probe's included
    await c.put([entry(record(i), i) for i in range(10)])
    for _ in range(4):
        why = await c.attempt()
        assert why is not None
        assert "a known-good transaction fails too" in why
    assert c.scorer.suspects == {}
    assert c.kafka.committed == []


async def test_postgresql_refusing_every_row_is_an_outage_not_poison() -> None:
    c = core()
    c.store.refuse = lambda _row: True  # the probe's rehearsal is refused too
    await c.put([entry(record(i), i) for i in range(10)])
    for _ in range(4):
        assert await c.attempt() is not None
    assert c.scorer.suspects == {}
    assert c.kafka.committed == []
    assert c.store.dead == {}


async def test_a_failed_commit_publishes_the_stored_verdicts_once_on_the_next_attempt() -> None:
    c = core()
    await c.put([entry(record(i), i) for i in range(10)])
    c.kafka.down = True
    why = await c.attempt()
    assert why is not None
    assert "Kafka is down" in why
    assert len(c.store.verdicts) == 10  # stored, not published, not committed
    assert len(c.pending) == 10
    c.kafka.down = False
    assert await c.attempt() is None
    assert sorted(verdicts_of(c)) == [f"t{i:05d}" for i in range(10)]  # once each
    assert c.store.writes == 1  # replayed, not scored again
    assert card_count(c, record(0)["cc_num"]) == 10  # not counted twice
    assert c.store.lookups == 1  # once the store as new met them, nothing written


async def test_a_message_delivered_again_republishes_and_a_repeat_does_not() -> None:
    c = core()
    await c.put([entry(record(0), 0)])
    c.kafka.down = True  # stored, then the worker "crashed" before its Kafka commit
    assert await c.attempt() is not None
    c.kafka.down = False
    await c.pending.drop_partitions({(TOPIC, 0)})
    await c.pending.assign([(TOPIC, 0)], {})  # the next owner: nothing committed yet
    # offset 0 again (the replay), and offset 1 bringing the same trans_num
    await c.put([entry(record(0), 0), entry(record(0), 1)])
    assert await c.attempt() is None
    assert verdicts_of(c) == ["t00000"]  # the stored one, once; the repeat adds none
    assert c.kafka.offsets() == {(TOPIC, 0): 2}
    # a repeat on its own (another attempt): finds a verdict stored from offset 0, adds none
    await c.put([entry(record(0), 2)])
    assert await c.attempt() is None
    assert verdicts_of(c) == ["t00000"]
    assert c.kafka.offsets() == {(TOPIC, 0): 3}
    # a stale delivery of a committed message (Faust's buffer after a rebalance): nothing
    await c.put([entry(record(0), 0)])
    assert len(c.pending) == 0
    assert verdicts_of(c) == ["t00000"]
    assert card_count(c, record(0)["cc_num"]) == 1


async def test_an_answer_for_other_transactions_is_isolated_not_trusted() -> None:
    """A service (or proxy) that answers 200 with verdicts for other trans_nums whenever one
    particular transaction is in the batch."""
    real = httpx.ASGITransport(app=core().app)

    async def mixing(request: httpx.Request) -> httpx.Response:
        answer = await real.handle_async_request(request)
        body = await answer.aread()
        if b"t00005" in request.content:
            verdicts = orjson.loads(body)
            verdicts[0]["trans_num"] = "someone-else"
            body = orjson.dumps(verdicts)
        return httpx.Response(answer.status_code, content=body)

    c = core(transport=httpx.MockTransport(mixing), stream_max_attempts=2)
    await c.put([entry(record(i), i) for i in range(12)])
    assert await c.attempt() is None
    assert await c.attempt() is None
    assert sorted(verdicts_of(c)) == [f"t{i:05d}" for i in range(12) if i != 5]
    reasons = letters_of(c)
    assert list(reasons) == [5]
    assert "is for 'someone-else'" in reasons[5]


async def test_revoked_partitions_forget_their_pending_entries_and_suspects() -> None:
    c = core()
    c.store.refuse = lambda row: row.transaction.trans_num == "t00001"
    await c.put([entry(record(0), 0, partition=0), entry(record(1), 0, partition=1)])
    assert await c.attempt() is None
    assert list(c.scorer.suspects) == [(TOPIC, 1, 0)]
    await c.scorer.on_revoked({(TOPIC, 1)})
    assert c.scorer.suspects == {}
    assert len(c.pending) == 0
