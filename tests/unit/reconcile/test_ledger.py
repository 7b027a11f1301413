"""The accounting of ``fraudstream reconcile``: each kind of fault is found, and counted once."""

from __future__ import annotations

import pytest

from fraudstream.reconcile.ledger import InputMessage, account, mask

pytestmark = pytest.mark.unit


def inputs(n: int, partition: int = 0) -> list[InputMessage]:
    return [InputMessage(partition, o, f"t{partition}-{o}") for o in range(n)]


def clean(n: int = 5) -> dict[str, object]:
    ids = [f"t0-{o}" for o in range(n)]
    return {
        "topic": "transactions",
        "inputs": inputs(n),
        "committed": {0: n},
        "stored": {t: (0, o) for o, t in enumerate(ids)},
        "dead_letter_sources": [],
        "verdict_ids": ids,
        "card_counts": {4111111111111111: (n, n)},
    }


def test_a_clean_run_is_ok() -> None:
    report = account(**clean())  # type: ignore[arg-type]
    assert (report.messages, report.scored, report.lost, report.duplicated) == (5, 5, 0, 0)
    assert report.ok


def test_a_committed_message_without_verdict_or_dead_letter_is_lost() -> None:
    case = clean()
    del case["stored"]["t0-2"]  # type: ignore[attr-defined]
    case["verdict_ids"] = [t for t in case["verdict_ids"] if t != "t0-2"]  # type: ignore[attr-defined]
    report = account(**case)  # type: ignore[arg-type]
    assert report.lost == 1
    assert report.examples["lost"] == ["transactions[0]@2 (t0-2)"]
    assert not report.ok


def test_an_uncommitted_message_is_pending_not_lost() -> None:
    case = clean()
    case["committed"] = {0: 3}
    del case["stored"]["t0-4"]  # type: ignore[attr-defined]
    report = account(**case)  # type: ignore[arg-type]
    assert (report.pending, report.lost) == (1, 0)
    assert report.ok


def test_a_second_verdict_on_the_topic_is_a_duplicate() -> None:
    case = clean()
    case["verdict_ids"] = [*case["verdict_ids"], "t0-1"]  # type: ignore[misc]
    report = account(**case)  # type: ignore[arg-type]
    assert report.verdicts_duplicated == 1
    assert report.examples["duplicated verdicts"] == ["t0-1 x2"]
    assert not report.ok


def test_a_stored_verdict_missing_from_the_topic_is_a_loss_once_committed() -> None:
    case = clean()
    case["verdict_ids"] = ["t0-0", "t0-1", "t0-2", "t0-3"]
    assert account(**case).verdicts_missing == 1  # type: ignore[arg-type]
    case["committed"] = {0: 4}  # the message of t0-4 is not committed: its publication neither
    assert account(**case).verdicts_missing == 0  # type: ignore[arg-type]


def test_dead_letters_and_repeats_account_for_their_offsets() -> None:
    case = clean()
    case["inputs"] = [*inputs(5), InputMessage(0, 5, None), InputMessage(0, 6, "t0-1")]
    case["committed"] = {0: 7}
    case["dead_letter_sources"] = [(0, 5)]
    report = account(**case)  # type: ignore[arg-type]
    assert (report.scored, report.dead_lettered, report.repeats, report.lost) == (5, 1, 1, 0)
    case["dead_letter_sources"] = [(0, 5), (0, 5)]
    assert account(**case).dead_letters_duplicated == 1  # type: ignore[arg-type]


def test_a_card_that_counted_a_transaction_twice_is_found_and_masked() -> None:
    case = clean()
    case["card_counts"] = {4111111111111111: (6, 5)}
    report = account(**case)  # type: ignore[arg-type]
    assert report.cards_counted_twice == 1
    assert report.examples["cards counted twice"] == ["411111******1111: 6 for 5"]
    assert not report.ok


def test_mask_never_shows_more_than_first_six_and_last_four() -> None:
    assert mask(2703186189652095) == "270318******2095"
    assert mask(12345678) == "12345678"  # 8 digits: nothing in between to hide
