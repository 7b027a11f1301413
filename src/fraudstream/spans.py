"""Which spans of transaction time a run reads, scores on, retrains on and checks for drift.

Shared by the champion/challenger job and the drift monitor (``fraudstream monitor drift``), so
it sits below both: a one-off drift report covers exactly the window a job run would.

Every time here is Sparkov's wall clock (``trans_date_trans_time``), never the machine's: a
replayed file or the simulator runs on its own clock, and "now" is the latest stored
transaction. Labels arrive days late, so the evaluation window closes
``challenger_label_wait_days`` before now: only transactions whose label window has closed
count.

A model trained on stored rows (``db://labelled``, which every retraining of the job is) has
seen the labels of those rows. Scoring it on them would flatter it, so the evaluation starts
after the latest training row of each such model; a model trained on a file or the simulator
has not seen the stored rows and restricts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from fraudstream.config import Settings
from fraudstream.features.definition import LONGEST_WINDOW

_ONE_SECOND: Final = timedelta(seconds=1)


@dataclass(frozen=True)
class Spans:
    """The spans of one run, each ``[start, end)``.

    ``evaluate`` is the labelled window both models are scored on; ``history_start`` is where
    card history for offline features begins; ``train`` the rows a retraining learns from;
    ``drift`` the recent traffic compared with the training reference.
    """

    now: datetime
    evaluate_start: datetime
    evaluate_end: datetime
    history_start: datetime
    train_start: datetime
    drift_start: datetime
    held_back_until: datetime | None = None
    """Set when the window was shortened to leave out rows a model was trained on."""

    @property
    def read_start(self) -> datetime:
        """The earliest row any part of the run needs."""
        return min(self.history_start, self.train_start, self.drift_start - self.drift_history)

    @property
    def read_end(self) -> datetime:
        """Just past ``now``: the latest stored transaction is part of the drift window."""
        return self.now + _ONE_SECOND

    @property
    def drift_history(self) -> timedelta:
        """Card history before the drift window: the longest velocity window."""
        return timedelta(seconds=LONGEST_WINDOW)


def plan(now: datetime, settings: Settings, seen_until: Iterable[datetime | None] = ()) -> Spans:
    """The spans of a run whose latest stored transaction is at ``now``.

    ``seen_until`` holds, for each model, the latest stored row it was trained on (None for a
    model trained elsewhere); the evaluation starts after all of them.
    """
    # transactions at or before the cut-off count: times have whole seconds
    end = now - timedelta(days=settings.challenger.label_wait_days) + _ONE_SECOND
    start = end - timedelta(days=settings.challenger.window_days)
    held_back = None
    for seen in seen_until:
        if seen is not None and seen + _ONE_SECOND > start:
            start, held_back = seen + _ONE_SECOND, seen
    start = min(start, end)
    return Spans(
        now=now,
        evaluate_start=start,
        evaluate_end=end,
        history_start=start - timedelta(days=settings.challenger.history_days),
        train_start=end - timedelta(days=settings.challenger.train_days),
        drift_start=now - timedelta(days=settings.drift.window_days),
        held_back_until=held_back,
    )
