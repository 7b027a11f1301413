"""Cardholders and merchants: who transacts, where they live, and their habits.

Sparkov drew cardholders with Faker and placed them in real US towns; so does this module:
names, streets, jobs and merchant companies come from Faker (seeded), homes from the real US
zip codes of the ``zipcodes`` package. What Faker cannot know comes from the calibration: the
age, gender and city-population mix of real cardholders, how often a card is used and which
card-number lengths occur. Each cardholder also gets habits of their own (activity level,
category tastes, spending level, hours), drawn so that the population as a whole still shows
the calibrated distributions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

from fraudstream.schema import CATEGORIES
from fraudstream.simulator.calendar import DAYS_PER_YEAR
from fraudstream.simulator.params import Calibration, SimParams

if TYPE_CHECKING:
    from faker import Faker

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ObjArray = NDArray[np.object_]

# fmt: off
_STATES: Final = frozenset((
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY",
))
# fmt: on

_CARD_PREFIXES: Final = {
    11: ("6",),
    12: ("5018", "5020", "5038", "6304"),
    13: ("4",),
    14: ("300", "301", "36", "38"),
    15: ("34", "37", "2131", "1800"),
    16: ("4", "51", "52", "53", "54", "55", "6011", "65", "35"),
    19: ("4",),
}
"""Issuer prefixes by card-number length, as Faker's card types use them."""


@dataclass(frozen=True, slots=True)
class Places:
    """Real US towns (one row per town), ordered from fewest to most zip codes."""

    city: ObjArray
    state: ObjArray
    zips: tuple[tuple[tuple[int, float, float], ...], ...]
    """Per town: (zip, lat, long) of each of its zip codes."""


@cache
def us_places() -> Places:
    """Towns of the 50 states and DC from standard, active zip codes; read once."""
    import zipcodes

    towns: dict[tuple[str, str], list[tuple[int, float, float]]] = {}
    for record in zipcodes.filter_by(active=True, zip_code_type="STANDARD"):  # type: ignore[no-untyped-call]
        if record["state"] not in _STATES or not record["lat"]:
            continue
        key = (record["city"], record["state"])
        entry = (int(record["zip_code"]), float(record["lat"]), float(record["long"]))
        towns.setdefault(key, []).append(entry)
    # Stable order: by size (zip count), then by name, so a seed always means the same town.
    keys = sorted(towns, key=lambda k: (len(towns[k]), k))
    return Places(
        city=np.array([k[0] for k in keys], dtype=object),
        state=np.array([k[1] for k in keys], dtype=object),
        zips=tuple(tuple(sorted(towns[k])) for k in keys),
    )


def sample_quantiles(
    u: FloatArray, probs: list[float], values: list[float], log: bool = False
) -> FloatArray:
    """Inverse-CDF draw: ``u`` in [0, 1] through a piecewise-linear quantile function."""
    knots = np.asarray(values, dtype=np.float64)
    out = np.interp(u, np.asarray(probs), np.log(np.maximum(knots, 1e-9)) if log else knots)
    return np.exp(out) if log else out


def _share_ratio(
    values: FloatArray, probs: list[float], legit_q: list[float], fraud_q: list[float]
) -> FloatArray:
    """How much likelier a fraud victim is than a cardholder to have each value (decile bins)."""
    edges = np.interp(np.linspace(0, 1, 11), probs, legit_q)[1:-1]
    fraud_cdf = np.interp(edges, fraud_q, probs)
    fraud_share = np.diff(np.concatenate([[0.0], fraud_cdf, [1.0]]))
    ratio = np.maximum(fraud_share, 1e-3) / 0.1
    return np.asarray(ratio[np.searchsorted(edges, values)])


def _card_number(rng: np.random.Generator, length: int) -> int:
    prefixes = _CARD_PREFIXES.get(length, ("4",))
    prefix = prefixes[int(rng.integers(len(prefixes)))]
    body = prefix + "".join(str(d) for d in rng.integers(0, 10, length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        digit = int(ch)
        if i % 2 == 0:  # every second digit from the right, check digit still to come
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return int(body + str((10 - total % 10) % 10))


@dataclass(frozen=True, slots=True)
class Population:
    """The cardholders (arrays of length ``customers``) and merchants of one simulation."""

    cc_num: IntArray
    first: ObjArray
    last: ObjArray
    gender: ObjArray
    street: ObjArray
    city: ObjArray
    state: ObjArray
    zip: IntArray
    lat: FloatArray
    long: FloatArray
    city_pop: IntArray
    job: ObjArray
    dob: ObjArray
    """As Kaggle text, ``YYYY-MM-DD``."""
    daily_rate: FloatArray
    """Expected transactions per average day."""
    category_cdf: FloatArray
    """Per card, cumulative category tastes (``customers`` x 14)."""
    amount_z: FloatArray
    """Card's spending level as a standard-normal score (copula)."""
    hour_z: FloatArray
    """Card's time of day (early or late) as a standard-normal score (copula)."""
    fraud_weight: FloatArray
    """Relative chance of being a fraud victim, so victims look like real ones."""
    merchant_name: ObjArray
    merchant_start: IntArray
    """Merchants are sorted by category; category c owns [start[c], start[c+1])."""

    @property
    def size(self) -> int:
        return int(self.cc_num.size)


def _draw(rng: np.random.Generator, table: Mapping[str, float] | Sequence[str], n: int) -> ObjArray:
    """``n`` draws from one of Faker's word lists, weighted when it carries frequencies.

    Faker draws one name per call through Python; a numpy draw from the same list and weights
    is a hundred times faster and just as deterministic.
    """
    if isinstance(table, Mapping):
        words = np.array(list(table), dtype=object)
        weights = np.array(list(table.values()), dtype=np.float64)
        return np.asarray(words[rng.choice(words.size, size=n, p=weights / weights.sum())])
    words = np.array(list(table), dtype=object)
    return np.asarray(words[rng.integers(0, words.size, n)])


def _provider(fake: Faker, module: str) -> Any:
    """The Faker provider whose module path contains ``module`` (person, job...)."""
    return next(p for p in fake.get_providers() if module in type(p).__module__)


def _merchant_counts(total: int, shares: dict[str, float]) -> IntArray:
    raw = np.array([shares[c] for c in CATEGORIES]) * (total - len(CATEGORIES))
    counts = np.floor(raw).astype(np.int64) + 1
    leftover = total - int(counts.sum())
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    counts[order[:leftover]] += 1
    return np.asarray(counts, dtype=np.int64)


def build_population(params: SimParams, seed: int) -> Population:
    """Draw cardholders and merchants; the same params and seed give the same population."""
    from faker import Faker

    cal: Calibration = params.calibration
    probs = cal.quantile_probs
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC0FFEE]))
    fake = Faker("en_US")
    fake.seed_instance(seed)
    n = params.customers

    places = us_places()
    town_u = rng.random(n)
    town = np.minimum((town_u * places.city.size).astype(np.int64), places.city.size - 1)
    town_q = (town + 0.5) / places.city.size
    city_pop = np.rint(sample_quantiles(town_q, probs, cal.legit.city_pop_q, log=True))
    picks = [places.zips[t][int(rng.integers(len(places.zips[t])))] for t in town]

    age = sample_quantiles(rng.random(n), probs, cal.legit.age_q)
    start_day = np.datetime64(params.start.date(), "D")
    dob = start_day - np.rint(age * DAYS_PER_YEAR).astype("timedelta64[D]")
    female = rng.random(n) < cal.legit.female_share

    lengths = list(cal.card_digits_p)
    length_p = np.array([cal.card_digits_p[k] for k in lengths])
    card_len = rng.choice(lengths, size=n, p=length_p / length_p.sum())
    cards: list[int] = []
    seen: set[int] = set()
    for length in card_len:
        number = _card_number(rng, int(length))
        while number in seen:
            number = _card_number(rng, int(length))
        seen.add(number)
        cards.append(number)

    base = np.array([cal.legit.category_p[c] for c in CATEGORIES])
    tastes = rng.dirichlet(params.habits.category_concentration * base / base.sum(), size=n)
    shape = cal.activity.gamma_shape
    daily_rate = cal.activity.daily_mean * rng.gamma(shape, 1.0 / shape, size=n)

    weight = _share_ratio(age, probs, cal.legit.age_q, cal.fraud.age_q)
    weight = weight * _share_ratio(city_pop, probs, cal.legit.city_pop_q, cal.fraud.city_pop_q)
    weight = weight * np.where(
        female,
        cal.fraud.female_share / cal.legit.female_share,
        (1 - cal.fraud.female_share) / (1 - cal.legit.female_share),
    )

    merchant_counts = _merchant_counts(params.merchants, cal.merchant_share)
    names: list[str] = []
    seen_names: set[str] = set()
    while len(names) < params.merchants:
        name = "fraud_" + fake.company()
        if name not in seen_names:
            seen_names.add(name)
            names.append(name)

    person = _provider(fake, ".person.")
    first = np.where(
        female,
        _draw(rng, person.first_names_female, n),
        _draw(rng, person.first_names_male, n),
    )
    return Population(
        cc_num=np.array(cards, dtype=np.int64),
        first=first.astype(object),
        last=_draw(rng, person.last_names, n),
        gender=np.where(female, "F", "M").astype(object),
        street=np.array([fake.street_address() for _ in range(n)], dtype=object),
        city=places.city[town],
        state=places.state[town],
        zip=np.array([p[0] for p in picks], dtype=np.int64),
        lat=np.array([p[1] for p in picks], dtype=np.float64),
        long=np.array([p[2] for p in picks], dtype=np.float64),
        city_pop=city_pop.astype(np.int64),
        job=_draw(rng, _provider(fake, ".job.").jobs, n),
        dob=np.datetime_as_string(dob, unit="D").astype(object),
        daily_rate=daily_rate,
        category_cdf=np.cumsum(tastes, axis=1),
        amount_z=rng.standard_normal(n),
        hour_z=rng.standard_normal(n),
        fraud_weight=weight,
        merchant_name=np.array(names, dtype=object),
        merchant_start=np.asarray(
            np.concatenate([[0], np.cumsum(merchant_counts)]), dtype=np.int64
        ),
    )
