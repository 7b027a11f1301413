"""One training run: validate -> features -> time split -> benchmark -> bounded search ->
refit the winner on all training rows -> threshold on validation -> metrics on the latest,
held-out slice -> artifact.

No MLflow here (see :mod:`fraudstream.trainer.tracking`), so the whole run can be tested and
benchmarked on its own. Every figure that reaches the summary as a "test" metric comes from the
test slice, which is later in time than anything the model or the threshold was chosen on.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict

from fraudstream.artifact import ScoringModel, read_artifact
from fraudstream.config import Settings
from fraudstream.errors import DataRefused
from fraudstream.features import FEATURE_NAMES, FEATURE_VERSION, batch_features
from fraudstream.quality import Metrics, choose_threshold, evaluate, pr_auc
from fraudstream.schema import LABEL_COLUMN
from fraudstream.trainer.families import DEFAULTS, FAMILIES, Family, Fitted, fit, sample_params
from fraudstream.trainer.validation import DataReport, prepare, typed

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
_SCORING_BATCH: Final = 1_000


class Candidate(BaseModel):
    """One trained configuration and how it did on the validation slice."""

    model_config = ConfigDict(frozen=True)

    family: Family
    params: dict[str, Any]
    stage: str
    """``benchmark`` (the family's defaults), ``search``, or ``final`` (the winner refitted on
    every training row when benchmark and search used only the latest ones)."""
    valid_pr_auc: float
    fit_seconds: float
    score_rows_per_second: float
    cut_by_budget: bool = False
    """The search's deadline stopped it before its configured number of trees or rounds."""


@dataclass(frozen=True)
class Split:
    """Row ranges of the time-ordered frame: train < validation < test in time."""

    train: slice
    valid: slice
    test: slice

    def describe(self, frame: pd.DataFrame) -> dict[str, str]:
        out = {}
        for name in ("train", "valid", "test"):
            part = frame.iloc[getattr(self, name)]
            out[name] = (
                f"{len(part):,} rows, {int(part[LABEL_COLUMN].sum()):,} frauds, "
                f"{part['trans_date_trans_time'].min()} -> {part['trans_date_trans_time'].max()}"
            )
        return out


@dataclass
class TrainingResult:
    """Everything a run produced; :mod:`tracking` logs it, the CLI prints it."""

    report: DataReport
    split: dict[str, str]
    candidates: list[Candidate]
    winner: Fitted
    threshold: float
    validation: Metrics
    test: Metrics
    baseline_test_pr_auc: float
    """PR-AUC on the test slice of a trivial rule (the bigger the amount, the more suspect)."""
    no_history_test_pr_auc: float
    """The winner's test PR-AUC when every card history is withheld (a raw API caller)."""
    scoring_rows_per_second: float
    fingerprint: str
    artifact_dir: Path
    model: ScoringModel
    example: pd.DataFrame
    """A few feature rows of the test slice: the logged model's input example."""
    timings: dict[str, float] = field(default_factory=dict)
    test_scores: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    test_labels: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def feature_version(self) -> str:
        return FEATURE_VERSION


def fingerprint(frame: pd.DataFrame) -> str:
    """A short hash of the rows (ids, times, amounts, labels) a model was trained on."""
    cols = ["trans_num", "unix_time", "amt", LABEL_COLUMN]
    hashed = pd.util.hash_pandas_object(frame[cols], index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


def time_split(frame: pd.DataFrame, settings: Settings) -> Split:
    """Train on the earliest rows, validate on the next, test on the latest: never a random
    split, which would let a model learn a card's future to predict its past."""
    n = len(frame)
    n_test = math.ceil(n * settings.trainer.test_fraction)
    n_valid = math.ceil(n * settings.trainer.validation_fraction)
    n_train = n - n_test - n_valid
    if n_train <= 0:
        raise DataRefused(
            f"{n} rows cannot be split into train, validation and test slices; lower "
            "FRAUD_TRAIN_VALIDATION_FRACTION / FRAUD_TRAIN_TEST_FRACTION or give more rows"
        )
    split = Split(slice(0, n_train), slice(n_train, n_train + n_valid), slice(n_train + n_valid, n))
    labels = frame[LABEL_COLUMN].to_numpy()
    for name in ("train", "valid", "test"):
        frauds = int(labels[getattr(split, name)].sum())
        if frauds < settings.trainer.min_frauds:
            raise DataRefused(
                f"the {name} slice (in time order) has {frauds} frauds; at least "
                f"{settings.trainer.min_frauds} are needed in each slice (FRAUD_TRAIN_MIN_FRAUDS): "
                "give more or longer data"
            )
    return split


def scoring_speed(model: ScoringModel | Fitted, features: npt.NDArray[np.float64]) -> float:
    """Rows per second in batches of 1,000, the stream's batch size (best of a few rounds)."""
    batch = features[:_SCORING_BATCH]
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        model.score(batch)
        best = min(best, time.perf_counter() - start)
    return len(batch) / best if best > 0 else math.inf


def _threads(settings: Settings) -> int:
    import os

    return settings.trainer.threads or os.cpu_count() or 1


def train(
    frame: pd.DataFrame,
    settings: Settings,
    *,
    source: str,
    workdir: Path,
    progress: Progress | None = None,
    fresh: pd.DataFrame | None = None,
    context: pd.DataFrame | None = None,
) -> TrainingResult:
    """Train, choose and evaluate a model on a labelled frame; write its artifact to
    ``workdir/artifact``. Raises DataRefused when the data cannot train a model.

    ``fresh`` are labelled rows later than ``frame`` that only train: analysts' decisions on
    recent traffic, chosen by what the live model flagged, would make a biased validation or
    test slice, and they carry the newest pattern the model must learn. ``context`` are rows
    without a label that only give the labelled rows their card history: labels that arrive for
    a few transactions of a card (an analyst's) would otherwise be featurised as if the card's
    other transactions never happened.
    """
    say = progress or (lambda message: log.info("%s", message))
    timings: dict[str, float] = {}
    started = time.perf_counter()
    labelled = frame if fresh is None or fresh.empty else pd.concat([frame, fresh])
    everything, report = prepare(labelled, source, min_frauds=settings.trainer.min_frauds)
    for line in report.lines():
        say(line)
    is_fresh = (
        np.zeros(len(everything), dtype=bool)
        if fresh is None
        else everything["trans_num"].isin(fresh["trans_num"].astype("string")).to_numpy()
    )

    step = time.perf_counter()
    say(f"features for {len(everything):,} rows" + _with_context(context))
    all_features = features_with_context(everything, context)
    all_labels = everything[LABEL_COLUMN].to_numpy(dtype=np.int64)
    timings["features_seconds"] = time.perf_counter() - step
    say(f"features: {len(everything) / timings['features_seconds']:,.0f} rows/s")
    clean = everything[~is_fresh].reset_index(drop=True)
    features, labels = all_features[~is_fresh], all_labels[~is_fresh]
    split = time_split(clean, settings)
    x_train = np.concatenate([features[split.train], all_features[is_fresh]])
    y_train = np.concatenate([labels[split.train], all_labels[is_fresh]])
    if is_fresh.any():
        say(
            f"{int(is_fresh.sum()):,} fresh labelled rows ({int(all_labels[is_fresh].sum()):,} "
            "frauds) join the training slice"
        )
    x_valid, y_valid = features[split.valid], labels[split.valid]
    x_test, y_test = features[split.test], labels[split.test]
    threads, seed = _threads(settings), settings.trainer.seed
    # the quick benchmark and the search run on the latest training rows: on a million rows a
    # single fit would otherwise take most of the search budget
    recent = slice(
        max(0, len(y_train) - settings.trainer.search_rows) if settings.trainer.search_rows else 0,
        len(y_train),
    )
    x_recent, y_recent = x_train[recent], y_train[recent]
    if recent.start:
        say(f"benchmark and search on the latest {len(y_recent):,} training rows")

    def attempt(
        family: Family,
        params: dict[str, Any],
        stage: str,
        full: bool = False,
        deadline: float | None = None,
    ) -> tuple[Fitted, Candidate]:
        x_fit, y_fit = (x_train, y_train) if full else (x_recent, y_recent)
        fitted = fit(
            family,
            params,
            x_fit,
            y_fit,
            x_valid,
            y_valid,
            threads=threads,
            seed=seed,
            deadline=deadline,
        )
        candidate = Candidate(
            family=family,
            params=fitted.params,
            stage=stage,
            valid_pr_auc=pr_auc(y_valid, fitted.score(x_valid)),
            fit_seconds=fitted.fit_seconds,
            score_rows_per_second=scoring_speed(fitted, x_valid),
            cut_by_budget=fitted.cut,
        )
        say(
            f"{stage} {family}: validation PR-AUC {candidate.valid_pr_auc:.4f} "
            f"(fit {candidate.fit_seconds:.1f} s{', cut by the time budget' if fitted.cut else ''})"
        )
        return fitted, candidate

    step = time.perf_counter()
    results = [attempt(family, DEFAULTS[family], "benchmark") for family in FAMILIES]
    timings["benchmark_seconds"] = time.perf_counter() - step

    step = time.perf_counter()
    results += _search(results, settings, attempt, say)
    timings["search_seconds"] = time.perf_counter() - step

    winner, best = max(results, key=lambda pair: pair[1].valid_pr_auc)
    say(f"winner: {best.family} ({best.stage}), validation PR-AUC {best.valid_pr_auc:.4f}")
    if recent.start:
        step = time.perf_counter()
        refit, final = attempt(best.family, best.params, "final", full=True)
        results.append((refit, final))
        timings["final_fit_seconds"] = time.perf_counter() - step
        if final.valid_pr_auc >= best.valid_pr_auc:  # more history rarely hurts; check anyway
            winner = refit
        else:
            say("the refit on every training row validated worse: keeping the recent-rows fit")
    valid_scores = winner.score(x_valid)
    threshold = choose_threshold(
        y_valid,
        valid_scores,
        settings.trainer.threshold_strategy,
        target_precision=settings.trainer.threshold_target_precision,
        review_budget=settings.trainer.threshold_review_budget,
    )
    amounts = clean["amt"].to_numpy()
    validation = evaluate(y_valid, valid_scores, threshold, amount=amounts[split.valid])
    test_scores = winner.score(x_test)
    test = evaluate(y_test, test_scores, threshold, amount=amounts[split.test])
    no_history = _without_history(clean.iloc[split.test])
    no_history_pr_auc = pr_auc(y_test, winner.score(no_history))

    metrics = {f"test_{k}": float(v) for k, v in test.model_dump().items()}
    metrics |= {f"valid_{k}": float(v) for k, v in validation.model_dump().items()}
    artifact_dir = winner.write(workdir / "artifact", threshold=threshold, metrics=metrics)
    model = read_artifact(artifact_dir, name=settings.registry.model_name)
    speed = scoring_speed(model, x_test)
    timings["total_seconds"] = time.perf_counter() - started
    say(f"test PR-AUC {test.pr_auc:.4f}, scoring {speed:,.0f} rows/s")
    return TrainingResult(
        report=report,
        split=split.describe(clean),
        candidates=[c for _, c in results],
        winner=winner,
        threshold=threshold,
        validation=validation,
        test=test,
        baseline_test_pr_auc=pr_auc(y_test, amounts[split.test]),
        no_history_test_pr_auc=no_history_pr_auc,
        scoring_rows_per_second=speed,
        fingerprint=fingerprint(everything),
        artifact_dir=artifact_dir,
        model=model,
        example=pd.DataFrame(x_test[:5], columns=list(FEATURE_NAMES)),
        timings=timings,
        test_scores=test_scores,
        test_labels=y_test,
    )


def features_with_context(
    rows: pd.DataFrame, context: pd.DataFrame | None
) -> npt.NDArray[np.float64]:
    """Features of ``rows``, with the card history of ``context``'s rows too (those not in
    ``rows``); the history is ordered by time whatever the rows' order."""
    if context is None or context.empty:
        return batch_features(rows).to_numpy()
    columns = [c for c in rows.columns if c != LABEL_COLUMN]
    extra = context.loc[~context["trans_num"].astype("string").isin(rows["trans_num"]), columns]
    both = pd.concat([rows[columns], typed(extra)], ignore_index=True)
    return batch_features(both).to_numpy()[: len(rows)]


def _with_context(context: pd.DataFrame | None) -> str:
    if context is None or context.empty:
        return ""
    return f" (card history from {len(context):,} more rows)"


def _without_history(rows: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Features of each row as if its card had no earlier transaction (what a raw caller of
    the model service sends): each row is its own card."""
    alone = rows.assign(cc_num=np.arange(len(rows)))
    return batch_features(alone).to_numpy()


class Attempt(Protocol):
    def __call__(
        self, family: Family, params: dict[str, Any], stage: str, *, deadline: float | None
    ) -> tuple[Fitted, Candidate]: ...


def _search(
    benchmark: list[tuple[Fitted, Candidate]],
    settings: Settings,
    attempt: Attempt,
    say: Progress,
) -> list[tuple[Fitted, Candidate]]:
    """Random search over the two best families of the benchmark, alternating between them,
    within ``settings.trainer.search_seconds``: every fit gets the search's deadline (a forest or
    a boosted model stops growing there), and a new configuration starts only while at least
    half of the family's benchmark fit time remains (a fit cut much shorter is wasted time)."""
    budget = settings.trainer.search_seconds
    if budget <= 0:
        return []
    ranked = sorted(benchmark, key=lambda pair: -pair[1].valid_pr_auc)[:2]
    families = [c.family for _, c in ranked]
    cost = {c.family: c.fit_seconds for _, c in ranked}
    rng = np.random.default_rng(settings.trainer.seed)
    say(f"search over {' and '.join(families)} for at most {budget:.0f} s")
    found: list[tuple[Fitted, Candidate]] = []
    deadline = time.perf_counter() + budget
    for turn in itertools.count():
        family = families[turn % len(families)]
        left = deadline - time.perf_counter()
        if left < 0.5 * min(cost.values()):
            break
        if left < 0.5 * cost[family]:
            continue
        found.append(attempt(family, sample_params(family, rng), "search", deadline=deadline))
    return found
