"""One run of the champion/challenger job, from the lock to the announcement.

The order is what makes a failed run change nothing:

1. take the run lock (:mod:`.lock`); another run holding it means this one skips;
2. read the two models and the stored rows; score both on the same labelled rows
   (:mod:`.scoring`); measure drift against the champion's training reference;
3. decide (:mod:`.decision`);
4. retrain the loser and register it **without an alias** (:mod:`.retrain`);
5. check that PostgreSQL still answers, then move the aliases; if a move fails, the moves
   already made are undone;
6. record the decision and its drift report in one transaction; if that fails, the aliases are
   put back;
7. announce the moves on ``model-events`` and log the decision run to MLflow (best effort).

Any error before step 5 leaves the aliases where they were; a version registered in step 4 then
stays without an alias, and the failure record says so. A failed run is recorded as ``failed``
with its error, in PostgreSQL and in MLflow, whichever of the two still answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from fraudstream.champion_challenger import metrics
from fraudstream.champion_challenger.announce import AliasMove, announce
from fraudstream.champion_challenger.candidates import Candidate, load_candidate
from fraudstream.champion_challenger.decision import (
    Comparison,
    Ruling,
    compare,
    rule,
    too_few_frauds,
)
from fraudstream.champion_challenger.maturity import mature
from fraudstream.champion_challenger.record import log_decision_quietly, store_decision
from fraudstream.champion_challenger.retrain import Retrained, retrain, training_rows
from fraudstream.champion_challenger.scoring import Scored, offline_scores, stored_scores
from fraudstream.config import Settings
from fraudstream.errors import DataError, DataRefused, FraudstreamError, ModelError
from fraudstream.registry import Alias, Registry
from fraudstream.schema import LABEL_COLUMN
from fraudstream.spans import Spans, plan
from fraudstream.storage.lock import RunLock
from fraudstream.storage.models import ChallengerDecision, DailyMetric, DayValues, DriftReport
from fraudstream.storage.window import latest_transaction_time

if TYPE_CHECKING:
    import pandas as pd

    from fraudstream.monitoring.report import DriftResult

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Outcome:
    """What a run did: its decision (None when it skipped), and the error of a failed run."""

    decision: ChallengerDecision | None
    decision_id: int | None = None
    skipped: str | None = None
    error: FraudstreamError | None = None
    drift: DriftResult | None = None

    @property
    def action(self) -> str:
        return "skipped" if self.decision is None else self.decision.action


@dataclass
class _Run:
    settings: Settings
    say: Progress
    as_of: datetime | None
    started: float = field(default_factory=time.perf_counter)
    champion: Candidate | None = None
    challenger: Candidate | None = None
    spans: Spans | None = None
    n_rows: int = 0
    n_frauds: int = 0
    registered: str | None = None
    drift: DriftResult | None = None
    drift_error: str | None = None
    lock: RunLock | None = None
    _features: npt.NDArray[np.float64] | None = None

    # -- the steps ---------------------------------------------------------------------------

    def execute(self, lock: RunLock) -> tuple[ChallengerDecision, int]:
        self.lock = lock
        settings = self.settings
        url = settings.database.url.get_secret_value()
        registry = Registry(settings.registry)
        self.champion = load_candidate(registry, "champion")
        if self.champion is None:
            return self._finish(
                registry,
                Ruling(
                    "no_decision",
                    f"no champion for model {settings.registry.model_name}: train one with "
                    "`fraudstream train --register-as champion`",
                ),
            )
        self.challenger = load_candidate(registry, "challenger")
        for candidate in (self.champion, self.challenger):
            if candidate is not None:
                self.say(candidate.describe())
        now = self.as_of or latest_transaction_time(url)
        if now is None:
            return self._finish(
                registry, Ruling("no_decision", "no stored transactions yet: nothing to score")
            )
        seen = [c.seen_until for c in (self.champion, self.challenger) if c is not None]
        spans = self.spans = plan(now, settings, seen)
        frame = self._read(url, spans)
        times = frame["trans_date_trans_time"]
        # the window's chargebacks, and the analysts' decisions up to now (docs/labels.md)
        in_window = (times >= spans.evaluate_start) & mature(frame, spans.evaluate_end)
        rows = frame.loc[in_window]
        self.n_rows = len(rows)
        self.n_frauds = int((rows[LABEL_COLUMN] == 1).sum())
        fresh = int((rows["trans_date_trans_time"] >= spans.evaluate_end).sum())
        self.say(
            f"evaluation window {spans.evaluate_start} -> {spans.evaluate_end}: "
            f"{self.n_rows:,} labelled rows, {self.n_frauds:,} frauds"
            + (f" ({fresh:,} decided by analysts since the window's end)" if fresh else "")
        )
        drift_report = self._measure_drift(registry, frame)
        comparison: Comparison | None = None
        scored: Scored | None = None
        ruling: Ruling | None
        if self.challenger is None:
            ruling = Ruling("no_decision", "no challenger to compare with the champion")
        else:
            ruling = too_few_frauds(self.n_frauds, self.n_rows, settings.challenger.min_frauds)
            if ruling is not None and spans.held_back_until is not None:
                ruling = Ruling(
                    ruling.action,
                    f"{ruling.reason}; the window starts after {spans.held_back_until}, the "
                    "latest stored row a model was trained on",
                )
            if ruling is None:
                scored = self._score(rows, in_window.to_numpy(), frame)
                paired = scored.paired
                ruling = too_few_frauds(paired.frauds, paired.rows, settings.challenger.min_frauds)
                if ruling is None:
                    comparison = compare(
                        paired,
                        settings.challenger.metric,
                        draws=settings.challenger.bootstrap,
                        confidence=settings.challenger.confidence,
                        review_cost=settings.challenger.review_cost,
                        cards_per_day=settings.challenger.cards_per_day,
                        seed=settings.challenger.seed,
                    )
                    ruling = rule(comparison, settings.challenger.margin)
        assert ruling is not None
        self.say(f"{ruling.action}: {ruling.reason}")
        return self._finish(registry, ruling, frame, comparison, scored, drift_report)

    def _read(self, url: str, spans: Spans) -> pd.DataFrame:
        from fraudstream.storage.window import stored_window

        started = time.perf_counter()
        shadow = self.challenger.version if self.challenger else None
        frame = stored_window(url, spans.read_start, spans.read_end, shadow_version=shadow)
        self.say(
            f"read {len(frame):,} stored transactions ({spans.read_start} -> {spans.now}) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        return frame

    def _features_of(self, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Features of every row read, each with the card history of the rows before it."""
        if self._features is None:
            from fraudstream.features import batch_features

            started = time.perf_counter()
            self._features = batch_features(frame).to_numpy()
            self.say(f"features of {len(frame):,} rows in {time.perf_counter() - started:.1f} s")
        return self._features

    def _score(
        self, rows: pd.DataFrame, mask: npt.NDArray[np.bool_], frame: pd.DataFrame
    ) -> Scored:
        assert self.champion is not None
        assert self.challenger is not None
        stored = stored_scores(
            rows,
            self.champion,
            self.challenger,
            model_name=self.settings.registry.model_name,
            coverage=self.settings.challenger.shadow_coverage,
        )
        if stored is not None:
            self.say(f"stored verdicts and shadow scores cover {stored.paired.rows:,} rows")
            return stored
        self.say("stored scores do not cover the window: scoring both models offline")
        return offline_scores(rows, self._features_of(frame)[mask], self.champion, self.challenger)

    def _measure_drift(self, registry: Registry, frame: pd.DataFrame) -> DriftReport | None:
        """The drift of the recent window against the champion's reference; a report that
        cannot be made (no recent rows, no drift reference) does not stop the run."""
        from fraudstream.monitoring import metrics as drift_metrics
        from fraudstream.monitoring.run import measure_drift

        champion, spans = self.champion, self.spans
        assert champion is not None
        assert spans is not None
        try:
            check = measure_drift(
                registry,
                champion.version,
                champion.model,
                frame,
                self._features_of(frame),
                spans,
                self.settings,
            )
        except (DataError, ModelError) as exc:
            log.warning("no drift report this run: %s", exc)
            self.drift_error = str(exc)
            return None
        self.drift = check.result
        drift_metrics.publish(self.drift)
        self.say(f"drift: {self.drift.summary()}")
        return check.report

    def _retrain(self, registry: Registry, frame: pd.DataFrame) -> tuple[Retrained | None, str]:
        """The new challenger, or None with the reason it was not made."""
        spans = self.spans
        assert spans is not None
        if not self.settings.challenger.retrain:
            return None, "retraining is off (FRAUD_CHALLENGER_RETRAIN)"
        recent = training_rows(frame, spans)
        latest = recent.latest
        current = self.challenger.seen_until if self.challenger else None
        if current is not None and latest is not None and latest <= current:
            return None, f"the challenger already learnt every labelled row up to {current}"
        try:
            made = retrain(
                recent,
                self.settings,
                registry,
                since=spans.train_start,
                until=spans.evaluate_end,
                progress=self.say,
            )
        except DataRefused as exc:
            return None, f"retraining refused: {exc}"
        self.registered = made.version
        return made, f"retrained version {made.version} ({made.family}) on {made.rows:,} rows"

    def _finish(
        self,
        registry: Registry,
        ruling: Ruling,
        frame: pd.DataFrame | None = None,
        comparison: Comparison | None = None,
        scored: Scored | None = None,
        drift_report: DriftReport | None = None,
    ) -> tuple[ChallengerDecision, int]:
        champion, challenger = self.champion, self.challenger
        moves: list[AliasMove] = []
        notes: list[str] = []
        wants_new = ruling.action in {"promoted", "kept"} or challenger is None
        made: Retrained | None = None
        if frame is not None and champion is not None and wants_new:
            made, note = self._retrain(registry, frame)
            notes.append(note)
        if ruling.action == "promoted" and champion is not None and challenger is not None:
            moves.append(AliasMove("champion", challenger.version, champion.version))
            # the old champion stays the candidate unless it was retrained
            moves.append(
                AliasMove(
                    "challenger", made.version if made else champion.version, challenger.version
                )
            )
        elif made is not None:
            moves.append(
                AliasMove("challenger", made.version, challenger.version if challenger else None)
            )
        assert self.lock is not None
        self.lock.check_alive()
        self._move(registry, moves)
        decided_at = datetime.now(UTC)
        decision = self._decision(ruling, comparison, scored, moves, notes, decided_at)
        try:
            decision_id = store_decision(self.settings, decision, drift_report)
        except FraudstreamError:
            self._undo(registry, moves)
            raise
        announce(self.settings, moves, decision.reason, decided_at)
        log_decision_quietly(self.settings, decision, decision_id)
        return decision, decision_id

    # -- aliases -----------------------------------------------------------------------------

    def _move(self, registry: Registry, moves: list[AliasMove]) -> None:
        done: list[AliasMove] = []
        try:
            for move in moves:
                registry.set_alias(move.alias, move.version)
                done.append(move)
                self.say(f"{move.alias} -> version {move.version}")
        except FraudstreamError:
            self._undo(registry, done)
            raise

    def _undo(self, registry: Registry, moves: list[AliasMove]) -> None:
        """Put aliases back where they were (best effort: the registry may be what failed)."""
        for move in reversed(moves):
            alias: Alias = move.alias
            try:
                if move.previous_version is None:
                    registry.delete_alias(alias)
                else:
                    registry.set_alias(alias, move.previous_version)
            except FraudstreamError as exc:
                log.error(
                    "could not put %s back on version %s: %s; set it by hand",
                    alias,
                    move.previous_version,
                    exc,
                )

    # -- the records -------------------------------------------------------------------------

    def _versions(self, moves: list[AliasMove]) -> tuple[str | None, str | None]:
        champion = self.champion.version if self.champion else None
        challenger = self.challenger.version if self.challenger else None
        for move in moves:
            if move.alias == "champion":
                champion = move.version
            else:
                challenger = move.version
        return champion, challenger

    def _drift_brief(self) -> dict[str, Any] | None:
        if self.drift is not None:
            return self.drift.brief()
        return None if self.drift_error is None else {"error": self.drift_error}

    def _decision(
        self,
        ruling: Ruling,
        comparison: Comparison | None,
        scored: Scored | None,
        moves: list[AliasMove],
        notes: list[str],
        decided_at: datetime,
    ) -> ChallengerDecision:
        new_champion, new_challenger = self._versions(moves)
        reason = ruling.reason
        if scored is not None and scored.left_out:
            notes.append(f"{scored.left_out:,} labelled rows without a stored pair left out")
        if notes:
            reason += "; " + "; ".join(notes)
        return ChallengerDecision(
            model_name=self.settings.registry.model_name,
            metric=self.settings.challenger.metric,
            champion_version=self.champion.version if self.champion else None,
            challenger_version=self.challenger.version if self.challenger else None,
            champion=comparison.champion if comparison else None,
            challenger=comparison.challenger if comparison else None,
            difference=comparison.difference if comparison else None,
            daily=_daily(comparison),
            window_start=self.spans.evaluate_start if self.spans else None,
            window_end=self.spans.evaluate_end if self.spans else None,
            n_rows=scored.paired.rows if scored else self.n_rows,
            n_frauds=scored.paired.frauds if scored else self.n_frauds,
            action=ruling.action,
            reason=reason,
            drift=self._drift_brief(),
            scoring=scored.method if scored else None,
            new_champion_version=new_champion,
            new_challenger_version=new_challenger,
            duration_seconds=time.perf_counter() - self.started,
            run_at=decided_at,
        )

    def failed(self, error: FraudstreamError) -> ChallengerDecision:
        reason = f"{type(error).__name__}: {error}"
        if self.registered:
            reason += (
                f"; version {self.registered} was registered by this run but no alias points to it"
            )
        reason += "; the aliases were left where they were"
        return ChallengerDecision(
            model_name=self.settings.registry.model_name,
            metric=self.settings.challenger.metric,
            champion_version=self.champion.version if self.champion else None,
            challenger_version=self.challenger.version if self.challenger else None,
            window_start=self.spans.evaluate_start if self.spans else None,
            window_end=self.spans.evaluate_end if self.spans else None,
            n_rows=self.n_rows,
            n_frauds=self.n_frauds,
            action="failed",
            reason=reason,
            drift=self._drift_brief(),
            new_champion_version=self.champion.version if self.champion else None,
            new_challenger_version=self.challenger.version if self.challenger else None,
            duration_seconds=time.perf_counter() - self.started,
            run_at=datetime.now(UTC),
        )


def _daily(comparison: Comparison | None) -> DailyMetric | None:
    """A card metric's per-day values as the decision records them (None for the others)."""
    if comparison is None or comparison.daily is None or comparison.cards_per_day is None:
        return None
    return DailyMetric(
        cards_per_day=comparison.cards_per_day,
        days=[
            DayValues(day=day, champion=champion, challenger=challenger)
            for day, (champion, challenger) in sorted(comparison.daily.items())
        ],
    )


def _record_failure(settings: Settings, decision: ChallengerDecision) -> int | None:
    """Record a failed run wherever possible: PostgreSQL, then MLflow."""
    decision_id = None
    try:
        decision_id = store_decision(settings, decision)
    except FraudstreamError as exc:
        log.error("the failed run could not be recorded in PostgreSQL: %s", exc)
    log_decision_quietly(settings, decision, decision_id)
    return decision_id


def run_once(
    settings: Settings,
    *,
    progress: Progress | None = None,
    min_interval: timedelta | None = None,
    as_of: datetime | None = None,
) -> Outcome:
    """One run: decide, retrain, move the aliases, record. See the module docstring.

    ``min_interval``: skip when a run was recorded less than this long ago (schedulers pass
    half their period). ``as_of``: run as if the latest stored transaction were at that
    Sparkov time (a backfill); rows after it are ignored.

    Raises StorageError when PostgreSQL cannot be reached to take the lock (the run did not
    start); every later failure is returned as a ``failed`` outcome, recorded in PostgreSQL and
    MLflow wherever they still answer.
    """
    say = progress or (lambda message: log.info("%s", message))
    url = settings.database.url.get_secret_value()
    run = _Run(settings, say, as_of)
    with RunLock(
        url, settings.registry.model_name
    ) as lock:  # no database: nothing starts, it raises
        if not lock.acquired:
            metrics.skipped()
            return Outcome(None, skipped="another challenger run holds the lock")
        if min_interval is not None and lock.recent_run(min_interval):
            metrics.skipped()
            return Outcome(None, skipped=f"a run was recorded less than {min_interval} ago")
        try:
            decision, decision_id = run.execute(lock)
        except FraudstreamError as exc:
            log.error("the run failed: %s", exc)
            failure = run.failed(exc)
            metrics.publish(failure)
            return Outcome(failure, _record_failure(settings, failure), error=exc, drift=run.drift)
    metrics.publish(decision)
    return Outcome(decision, decision_id, drift=run.drift)
