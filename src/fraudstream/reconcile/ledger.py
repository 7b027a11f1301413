"""The accounting of a reconciliation: every input offset, every verdict, every card; pure.

Each message of the ``transactions`` topic must end in exactly one of:

- **scored**: its verdict is stored, scored from this very message;
- **repeat**: its trans_num was stored from another message (a producer sent it twice);
- **dead-lettered**: the dead-letter topic holds it (its ``fraudstream.source`` header);
- **pending**: the stream has not committed past it yet (it is still to be done);
- **lost**: none of the above although the stream committed past it. This must never happen.

Then the outputs: each stored verdict must be on the verdicts topic exactly once (a
``read_committed`` read: what a downstream consumer sees), each dead letter once, and each card's
stored state must count exactly the verdicts stored for it (a card that counted a transaction
twice scores every later one on a wrong history).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final

EXAMPLES: Final = 10
"""How many offsets or ids a report lists for each kind of fault."""

Position = tuple[int, int]
"""(partition, offset) of the transactions topic."""


@dataclass(frozen=True, slots=True)
class InputMessage:
    partition: int
    offset: int
    trans_num: str | None
    """None when the message is not a transaction (it must be dead-lettered)."""


@dataclass
class Report:
    topic: str
    messages: int = 0
    scored: int = 0
    repeats: int = 0
    dead_lettered: int = 0
    pending: int = 0
    lost: int = 0
    verdicts: int = 0
    """Verdicts on the topic for the stored transactions of the range."""
    verdicts_duplicated: int = 0
    """Extra copies beyond the first, summed."""
    verdicts_missing: int = 0
    """Stored verdicts of committed messages that the topic does not hold."""
    dead_letters_duplicated: int = 0
    cards: int = 0
    cards_counted_twice: int = 0
    """Cards whose state counts more transactions than they have stored verdicts."""
    cards_undercounted: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def duplicated(self) -> int:
        return self.verdicts_duplicated + self.dead_letters_duplicated + self.cards_counted_twice

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing duplicated."""
        return (
            self.lost == 0
            and self.verdicts_missing == 0
            and self.cards_undercounted == 0
            and self.duplicated == 0
        )

    def example(self, kind: str, what: str) -> None:
        listed = self.examples.setdefault(kind, [])
        if len(listed) < EXAMPLES:
            listed.append(what)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "duplicated": self.duplicated, "ok": self.ok}


def account(
    topic: str,
    inputs: Iterable[InputMessage],
    committed: Mapping[int, int],
    stored: Mapping[str, Position | None],
    dead_letter_sources: Iterable[Position],
    verdict_ids: Iterable[str],
    card_counts: Mapping[int, tuple[int, int]],
) -> Report:
    """The report for one range of ``topic``.

    ``committed``: partition -> the stream group's committed offset. ``stored``: trans_num ->
    the message its verdict was scored from (None: unknown, rows older than positions).
    ``dead_letter_sources``: the (partition, offset) of every dead letter of ``topic``.
    ``verdict_ids``: the trans_num of every verdict on the verdicts topic. ``card_counts``:
    card -> (transactions its state counts, verdicts stored for it).
    """
    report = Report(topic)
    letters = Counter(dead_letter_sources)
    seen_stored: set[str] = set()
    for m in inputs:
        report.messages += 1
        where = f"{topic}[{m.partition}]@{m.offset}"
        position = (m.partition, m.offset)
        source = stored.get(m.trans_num) if m.trans_num is not None else None
        if letters[position]:
            report.dead_lettered += 1
        elif m.trans_num is not None and m.trans_num in stored:
            if source is None or source == position:
                report.scored += 1
                seen_stored.add(m.trans_num)
            else:
                report.repeats += 1
        elif m.offset < committed.get(m.partition, 0):
            report.lost += 1
            report.example("lost", f"{where} ({m.trans_num or 'not a transaction'})")
        else:
            report.pending += 1
    report.dead_letters_duplicated = sum(n - 1 for n in letters.values() if n > 1)

    on_topic = Counter(t for t in verdict_ids if t in seen_stored)
    report.verdicts = sum(on_topic.values())
    for trans_num, n in on_topic.items():
        if n > 1:
            report.verdicts_duplicated += n - 1
            report.example("duplicated verdicts", f"{trans_num} x{n}")
    for trans_num in seen_stored:
        if not on_topic[trans_num]:
            source = stored[trans_num]
            if source is None or source[1] < committed.get(source[0], 0):
                report.verdicts_missing += 1
                report.example("verdicts missing", trans_num)

    report.cards = len(card_counts)
    for card, (counted, verdicts) in card_counts.items():
        if counted > verdicts:
            report.cards_counted_twice += 1
            report.example("cards counted twice", f"{mask(card)}: {counted} for {verdicts}")
        elif counted < verdicts:
            report.cards_undercounted += 1
            report.example("cards undercounted", f"{mask(card)}: {counted} for {verdicts}")
    return report


def mask(card: int) -> str:
    """A card number as an operator may see it: first 6 and last 4 digits."""
    text = str(card)
    return text[:6] + "*" * max(0, len(text) - 10) + text[-4:] if len(text) > 10 else text
