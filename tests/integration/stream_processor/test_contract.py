"""One contract of what the system accepts: whatever the decoder accepts, every later stage can
hold. The bounds live once, in :mod:`fraudstream.schema`; these tests hold them against the real
PostgreSQL columns and push extreme transactions through every stage for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import annotated_types as at
import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.inprocess import StaticSource, service_settings
from fraudstream.config import Settings
from fraudstream.features import CardState, advance
from fraudstream.model_service.app import create_app
from fraudstream.schema import (
    AMOUNT_MAX,
    CARD_MAX,
    CARD_MIN,
    CATEGORIES,
    EARLIEST,
    FEED_COLUMNS,
    ID_MAX,
    INT32_MAX,
    LATEST,
    TEXT_MAX,
    UNIX_TIME_MAX,
    Prediction,
    Transaction,
)
from fraudstream.storage.models import ScoredTransaction
from fraudstream.storage.repository import Repository
from fraudstream.stream_processor.incoming import decode
from fraudstream.stream_processor.scorer import request_body, to_verdict
from fraudstream.trainer.pipeline import TrainingResult

pytestmark = [pytest.mark.integration]

# PostgreSQL's own limits, by column type
_INTEGER = {"integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
_FLOAT = {"double precision"}
_TEXT = {"text"}
_TIME = {"timestamp without time zone": (datetime(1, 1, 1), datetime(9999, 12, 31))}
_DATE = {"date": (date(1, 1, 1), date(9999, 12, 31))}


_CONSTRAINTS: dict[type, str] = {
    at.Ge: "ge",
    at.Gt: "gt",
    at.Le: "le",
    at.Lt: "lt",
    at.MaxLen: "max_length",
}


def _bounds(field: str) -> dict[str, Any]:
    """The declared constraints of one Transaction field, flattened."""
    found: dict[str, Any] = {}
    info = Transaction.model_fields[field]
    metadata = list(info.metadata)
    annotation: Any = info.annotation
    while hasattr(annotation, "__metadata__"):
        for item in annotation.__metadata__:
            metadata.extend(getattr(item, "metadata", [item]))
        annotation = annotation.__origin__
    for item in metadata:
        for kind in (at.Ge, at.Gt, at.Le, at.Lt, at.MaxLen):
            if isinstance(item, kind):
                found[kind.__name__] = getattr(
                    item, kind.__name__.lower().replace("maxlen", "max_length")
                )
        if getattr(item, "pattern", None):
            found["pattern"] = item.pattern
        if getattr(item, "allow_inf_nan", None) is False:
            found["finite"] = True
    return found


def test_every_bound_of_the_schema_fits_its_postgresql_column(database_url: str) -> None:
    """Read each feed column's type from PostgreSQL itself: an integer bound must fit the
    integer type, a float must be finite and bounded, a text bounded and NUL-free, a time within
    the window. A migration that narrows a column, or a schema that widens a bound, fails here."""
    with psycopg.connect(database_url) as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'scored_transactions'"
            ).fetchall()
        )
    for field in FEED_COLUMNS:
        column, bounds = types[field], _bounds(field)
        annotation = Transaction.model_fields[field].annotation
        if column in _INTEGER:
            low, high = _INTEGER[column]
            if field == "cc_num":
                bounds = {"Ge": CARD_MIN, "Le": CARD_MAX}
            elif annotation is not int and "Le" not in bounds and "Lt" not in bounds:
                continue  # a Literal (is_fraud is not stored as a feed column)
            assert low <= bounds["Ge"], field
            assert bounds.get("Le", bounds.get("Lt", high + 1) - 1) <= high, field
        elif column in _FLOAT:
            assert bounds.get("finite") or "Le" in bounds, f"{field} may be infinite"
            assert "Le" in bounds or "Lt" in bounds, f"{field} has no upper bound"
        elif column in _TEXT:
            if field == "gender":
                continue  # a Literal of two letters
            assert bounds.get("MaxLen"), f"{field} has no maximum length"
            assert "\\x00" in bounds.get("pattern", ""), f"{field} may hold NUL"
        elif column in _TIME or column in _DATE:
            low, high = (_TIME | _DATE)[column]
            assert low <= bounds["Ge"], field
            assert bounds["Lt"] <= high, field
        else:
            raise AssertionError(f"{field}: a column of type {column} nobody checks")


# -- every stage, for real, on extreme values -----------------------------------------------

_text = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=TEXT_MAX
)
_nonblank = _text.filter(lambda t: t.strip() != "")
_moment = st.datetimes(EARLIEST, LATEST - timedelta(seconds=1))


def _extreme(low: float, high: float) -> st.SearchStrategy[float]:
    return st.sampled_from([low, high]) | st.floats(low, high, allow_nan=False)


transactions = st.fixed_dictionaries(
    {
        "trans_date_trans_time": _moment.map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),
        "cc_num": st.sampled_from([CARD_MIN, CARD_MAX]) | st.integers(CARD_MIN, CARD_MAX),
        "merchant": _nonblank,
        "category": st.sampled_from(CATEGORIES) | _nonblank,
        "amt": _extreme(0.0, AMOUNT_MAX),
        "first": _text,
        "last": _text,
        "gender": st.sampled_from(["F", "M"]),
        "street": _text,
        "city": _text,
        "state": st.text(
            st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
            min_size=2,
            max_size=2,
        ),
        "zip": st.sampled_from([0, 99999]) | st.integers(0, 99999),
        "lat": _extreme(-90.0, 90.0),
        "long": _extreme(-180.0, 180.0),
        "city_pop": st.sampled_from([0, INT32_MAX]) | st.integers(0, INT32_MAX),
        "job": _text,
        "dob": st.dates(EARLIEST.date(), LATEST.date() - timedelta(days=1)).map(str),
        "trans_num": st.text(
            st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
            min_size=1,
            max_size=ID_MAX,
        ).filter(lambda t: t.strip() != ""),
        "unix_time": st.sampled_from([0, UNIX_TIME_MAX - 1]) | st.integers(0, UNIX_TIME_MAX - 1),
        "merch_lat": _extreme(-90.0, 90.0),
        "merch_long": _extreme(-180.0, 180.0),
    }
)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def service(small_model: TrainingResult) -> Iterator[TestClient]:
    app = create_app(service_settings(), source=StaticSource(small_model.model))
    with TestClient(app) as client:
        yield client


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(record=transactions)
def test_what_the_decoder_accepts_every_stage_holds(
    record: dict[str, Any],
    service: TestClient,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    loop: asyncio.AbstractEventLoop,
) -> None:
    raw = orjson.dumps(record)
    incoming = decode("transactions", 0, 0, None, raw, 0)
    if incoming.txn is None:  # refused: only ever with a reason that names a field
        assert incoming.problem, record
        assert incoming.problem.split(":")[0] in record, incoming.problem
        return
    txn = incoming.txn
    state = CardState()
    history = advance(state, txn)
    assert CardState.from_bytes(state.to_bytes()) == state
    answer = service.post("/predict?reasons=all", content=request_body([txn], [history]))
    assert answer.status_code == 200, answer.text
    [prediction] = [Prediction.model_validate(p) for p in answer.json()]
    assert prediction.trans_num == txn.trans_num
    now = datetime.now(UTC)
    row = ScoredTransaction(txn, to_verdict(txn, prediction, now), now, now, (0, 0))
    database = Settings(
        _env_file=None, database_url=database_url, home=tmp_path_factory.getbasetemp()
    )

    async def store() -> None:
        async with Repository.connect(database.database) as repo:
            versions = await repo.card_states([txn.cc_num])
            version = versions.get(txn.cc_num, (CardState(), 0))[1]
            await repo.store_scored([row], [(txn.cc_num, state, version + 1)])
            stored = await repo.stored_verdicts([txn.trans_num])
            assert stored[txn.trans_num].verdict.trans_num == txn.trans_num

    loop.run_until_complete(store())
