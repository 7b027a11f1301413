"""The generator proper: transactions week by week, as columns of numbers.

Time is cut into blocks of seven days from midnight of the start date. Each block has its own
random stream (seeded from the simulation seed and the block number), so the output is a pure
function of params and seed, however it is consumed: a frame, a file or a paced stream give
the same transactions. What crosses a block boundary is carried as state: fraud streaks that
run past the block's end, the spending each streak silences, and blocked cards.

Strings come later (:mod:`fraudstream.simulator.output`); here every column is numeric, which
is what keeps a million rows at a few seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Final, Self

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from fraudstream.schema import CATEGORIES
from fraudstream.simulator.calendar import SECONDS_PER_DAY, is_leap_day, to_seconds, weekdays
from fraudstream.simulator.params import Scenario, SimParams
from fraudstream.simulator.population import Population
from fraudstream.simulator.scenarios import BLOCKS_CARD, GENERATORS, Sampler, mean_size

BLOCK_DAYS: Final = 7
LEGIT: Final = -1
SCENARIOS: Final = tuple(Scenario)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_HEX: Final = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NEVER: Final = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class Batch:
    """Transactions as parallel arrays; ``scenario`` and ``streak`` are -1 for legit ones."""

    t: IntArray
    """Kaggle-clock seconds."""
    customer: IntArray
    category: IntArray
    merchant: IntArray
    amt: FloatArray
    merch_lat: FloatArray
    merch_long: FloatArray
    scenario: IntArray
    streak: IntArray
    trans_num: NDArray[np.bytes_]

    @property
    def size(self) -> int:
        return int(self.t.size)

    @property
    def is_fraud(self) -> IntArray:
        return np.asarray((self.scenario != LEGIT).astype(np.int64))

    def take(self, index: IntArray | NDArray[np.bool_] | slice) -> Self:
        return type(self)(*(getattr(self, f.name)[index] for f in fields(self)))

    @classmethod
    def concat(cls, batches: list[Self]) -> Self:
        return cls(*(np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(cls)))

    @classmethod
    def empty(cls) -> Self:
        no_int = np.empty(0, dtype=np.int64)
        no_float = np.empty(0, dtype=np.float64)
        return cls(
            t=no_int,
            customer=no_int,
            category=no_int,
            merchant=no_int,
            amt=no_float,
            merch_lat=no_float,
            merch_long=no_float,
            scenario=no_int,
            streak=no_int,
            trans_num=np.empty(0, dtype="S32"),
        )

    def with_trans_num(self, trans_num: NDArray[np.bytes_]) -> Self:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["trans_num"] = trans_num
        return type(self)(**values)


def _hex_ids(rng: np.random.Generator, n: int) -> NDArray[np.bytes_]:
    """``n`` random 32-character lowercase hex ids, like Sparkov's trans_num."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16)
    chars = np.empty((n, 32), dtype=np.uint8)
    chars[:, 0::2] = _HEX[raw >> 4]
    chars[:, 1::2] = _HEX[raw & 15]
    return np.asarray(chars.view("S32").ravel())


class Engine:
    """Produces the simulation one block at a time; holds the state that crosses blocks."""

    def __init__(self, params: SimParams, seed: int, population: Population) -> None:
        self.params = params
        self.seed = seed
        self.pop = population
        self.sampler = Sampler(params.calibration)
        self._habits = params.habits
        cal = params.calibration
        self._start = to_seconds(params.start)
        self._origin = self._start - self._start % SECONDS_PER_DAY
        self._legit_weekday = 7 * np.asarray(cal.legit.weekday_p, dtype=np.float64)
        self._fraud_weekday = 7 * np.asarray(cal.fraud.weekday_p, dtype=np.float64)
        self._drift = None if params.drift_at is None else to_seconds(params.drift_at)
        self._mix_before = np.asarray(params.mix_vector(after_drift=False))
        self._mix_after = np.asarray(params.mix_vector(after_drift=True))
        self._block = 0
        self._streaks = 0
        self._pending = Batch.empty()
        n = population.size
        self._silenced_from = np.full(n, _NEVER, dtype=np.int64)
        self._silenced_to = np.full(n, -1, dtype=np.int64)
        self._blocked_at = np.full(n, _NEVER, dtype=np.int64)
        self._blocked_by = np.full(n, LEGIT, dtype=np.int64)

    def blocks(self) -> Iterator[Batch]:
        """Every block from the start on, sorted by time; never ends."""
        while True:
            yield self._next()

    @property
    def covered_until(self) -> int:
        """Kaggle-clock second up to which every transaction has been yielded."""
        return self._origin + self._block * BLOCK_DAYS * SECONDS_PER_DAY

    # -- one block ---------------------------------------------------------------------------

    def _next(self) -> Batch:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, self._block]))
        begin = self._origin + self._block * BLOCK_DAYS * SECONDS_PER_DAY
        end = begin + BLOCK_DAYS * SECONDS_PER_DAY
        self._block += 1
        day_seconds = begin + np.arange(BLOCK_DAYS, dtype=np.int64) * SECONDS_PER_DAY
        days = day_seconds.astype("datetime64[s]").astype("datetime64[D]")
        open_day = ~is_leap_day(days)
        weekday = weekdays(days)

        legit_rate = np.where(open_day, self._legit_weekday[weekday], 0.0)
        legit = self._legit(rng, day_seconds, legit_rate)
        fraud, silence = self._frauds(rng, day_seconds, legit_rate, open_day, weekday)

        # Earlier silences first, so a streak that continues this block still mutes its card.
        keep = ~self._muted(legit)
        self._apply_silence(silence)
        keep &= ~self._muted(legit)
        events = Batch.concat([self._pending, legit.take(keep), fraud])
        events = events.take(~self._blocked(events))
        events = events.take(np.argsort(events.t, kind="stable"))

        later = events.t >= end
        self._pending = events.take(later)
        out = events.take(~later & (events.t >= self._start))
        self._release(end)
        return out.with_trans_num(_hex_ids(rng, out.size))

    def _legit(self, rng: np.random.Generator, day_seconds: IntArray, rate: FloatArray) -> Batch:
        pop, s = self.pop, self.sampler
        counts = rng.poisson(np.outer(pop.daily_rate, rate))
        cell = np.repeat(np.arange(counts.size), counts.ravel())
        customer = cell // BLOCK_DAYS
        n = customer.size

        def habit(z: FloatArray, rho: float) -> FloatArray:
            return np.asarray(
                ndtr(rho * z[customer] + np.sqrt(1 - rho**2) * rng.standard_normal(n)),
                dtype=np.float64,
            )

        hour = s.hours(rng, habit(pop.hour_z, self._habits.hour_rho), n, fraud=False)
        t = day_seconds[cell % BLOCK_DAYS] + hour * 3600 + rng.integers(0, 3600, n)
        draw = rng.random(n)
        category = np.minimum(
            (draw[:, None] > pop.category_cdf[customer]).sum(axis=1), len(CATEGORIES) - 1
        ).astype(np.int64)
        amt = s.amounts(habit(pop.amount_z, self._habits.amount_rho), category, fraud=False)
        dlat, dlon = s.near_offsets(rng, n)
        return Batch(
            t=t,
            customer=customer,
            category=category,
            merchant=self._merchants(rng, category),
            amt=amt,
            merch_lat=np.round(pop.lat[customer] + dlat, 6),
            merch_long=np.round(pop.long[customer] + dlon, 6),
            scenario=np.full(n, LEGIT, dtype=np.int64),
            streak=np.full(n, LEGIT, dtype=np.int64),
            trans_num=np.empty(n, dtype="S32"),
        )

    def _merchants(self, rng: np.random.Generator, category: IntArray) -> IntArray:
        start = self.pop.merchant_start
        width = start[category + 1] - start[category]
        return np.asarray(start[category] + (rng.random(category.size) * width).astype(np.int64))

    def _frauds(
        self,
        rng: np.random.Generator,
        day_seconds: IntArray,
        legit_rate: FloatArray,
        open_day: NDArray[np.bool_],
        weekday: IntArray,
    ) -> tuple[Batch, list[tuple[IntArray, IntArray, IntArray]]]:
        """This block's fraud streaks, and for each victim the span its own spending stops."""
        rate = self.params.fraud_rate
        if rate <= 0:
            return Batch.empty(), []
        total_legit = float(self.pop.daily_rate.sum()) * legit_rate.sum() / BLOCK_DAYS
        fraud_rows = (
            rate / (1 - rate) * total_legit * np.where(open_day, self._fraud_weekday[weekday], 0.0)
        )
        after = (
            np.zeros(BLOCK_DAYS, dtype=bool) if self._drift is None else day_seconds >= self._drift
        )
        sizes = {sc: mean_size(sc, self.sampler) for sc in SCENARIOS}
        mean_len = np.array(
            [
                sum(m * sizes[sc] for m, sc in zip(mix, SCENARIOS, strict=True))
                for mix in (self._mix_after if a else self._mix_before for a in after)
            ]
        )
        per_day = rng.poisson(fraud_rows / mean_len)
        day = np.repeat(np.arange(BLOCK_DAYS), per_day)
        victims = self._victims(rng, day.size)
        day = day[: victims.size]
        if victims.size == 0:
            return Batch.empty(), []
        anchor = day_seconds[day]
        draw = rng.random(victims.size)
        scenario = np.where(
            after[day],
            np.searchsorted(np.cumsum(self._mix_after), draw, side="right"),
            np.searchsorted(np.cumsum(self._mix_before), draw, side="right"),
        )
        scenario = np.minimum(scenario, len(SCENARIOS) - 1)
        streak_ids = self._streaks + np.arange(victims.size, dtype=np.int64)
        self._streaks += victims.size

        parts: list[Batch] = []
        silence: list[tuple[IntArray, IntArray, IntArray]] = []
        for code, sc in enumerate(SCENARIOS):
            chosen = np.flatnonzero(scenario == code)
            if chosen.size == 0:
                continue
            who = victims[chosen]
            ev = GENERATORS[sc](rng, self.sampler, anchor[chosen], self.pop.lat[who])
            customer = who[ev.owner]
            n = customer.size
            batch = Batch(
                t=ev.t,
                customer=customer,
                category=ev.category,
                merchant=self._merchants(rng, ev.category),
                amt=ev.amt,
                merch_lat=np.round(
                    np.clip(self.pop.lat[customer] + ev.dlat, -89.9, 89.9), 6
                ).astype(np.float64),
                merch_long=np.round((self.pop.long[customer] + ev.dlon + 180.0) % 360.0 - 180.0, 6),
                scenario=np.full(n, code, dtype=np.int64),
                streak=streak_ids[chosen][ev.owner],
                trans_num=np.empty(n, dtype="S32"),
            )
            parts.append(batch)
            first = np.full(chosen.size, _NEVER, dtype=np.int64)
            last = np.full(chosen.size, -1, dtype=np.int64)
            np.minimum.at(first, ev.owner, ev.t)
            np.maximum.at(last, ev.owner, ev.t)
            if sc in BLOCKS_CARD:
                self._blocked_at[who] = last
                self._blocked_by[who] = streak_ids[chosen]
            silence.append((who, first, last))
        return Batch.concat(parts), silence

    def _victims(self, rng: np.random.Generator, wanted: int) -> IntArray:
        """Distinct cards to compromise, likelier where real fraud victims are likelier."""
        weight = np.where(self._blocked_at == _NEVER, self.pop.fraud_weight, 0.0)
        available = int(np.count_nonzero(weight))
        count = min(wanted, available)
        if count == 0:
            return np.empty(0, dtype=np.int64)
        return np.asarray(
            rng.choice(self.pop.size, size=count, replace=False, p=weight / weight.sum()),
            dtype=np.int64,
        )

    # -- state that crosses blocks -------------------------------------------------------------

    def _muted(self, batch: Batch) -> NDArray[np.bool_]:
        c = batch.customer
        return np.asarray((batch.t >= self._silenced_from[c]) & (batch.t <= self._silenced_to[c]))

    def _apply_silence(self, silence: list[tuple[IntArray, IntArray, IntArray]]) -> None:
        for who, first, last in silence:
            self._silenced_from[who] = first
            self._silenced_to[who] = last

    def _blocked(self, batch: Batch) -> NDArray[np.bool_]:
        c = batch.customer
        return np.asarray((batch.t > self._blocked_at[c]) & (batch.streak != self._blocked_by[c]))

    def _release(self, end: int) -> None:
        """Forget silences that ended before the next block begins."""
        done = self._silenced_to < end
        self._silenced_from[done] = _NEVER
        self._silenced_to[done] = -1
