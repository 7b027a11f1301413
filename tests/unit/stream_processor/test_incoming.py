"""The agent's decoder never raises, whatever the bytes: a message is a transaction or a reason.

An exception here would end Faust's agent and stop every partition of the worker (Faust's
users report exactly that: robinhood/faust #586), so the nastiest inputs are listed by name and
hypothesis adds its own.
"""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixtures.records import GOOD
from fraudstream.stream_processor.incoming import decode

pytestmark = pytest.mark.unit

NASTY = {
    "invalid UTF-8": b'{"merchant": "\xff\xfe"}',
    "lone surrogate": b'{"merchant": "\\ud800"}',
    "nested arrays": b"[" * 100_000 + b"]" * 100_000,
    "nested objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "huge number": orjson.dumps({**GOOD, "unix_time": 10**19}),
    "number beyond every type": json.dumps({**GOOD, "zip": 10**400}).encode(),
    "NUL in text": orjson.dumps({**GOOD, "first": "a\x00b"}),
    "empty": b"",
    "null": b"null",
    "a bare string": b'"transaction"',
}


@pytest.mark.parametrize("raw", NASTY.values(), ids=NASTY.keys())
def test_nasty_messages_come_back_with_a_reason(raw: bytes) -> None:
    incoming = decode("transactions", 0, 7, b"k", raw, 0)
    assert incoming.txn is None
    assert incoming.problem


_values = st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary()


@given(
    st.binary(max_size=500) | st.builds(lambda f, v: (f, v), st.sampled_from(list(GOOD)), _values)
)
def test_any_message_decodes_or_comes_back_with_a_reason(case: bytes | tuple[str, object]) -> None:
    if isinstance(case, bytes):
        raw = case
    else:
        field, value = case
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        raw = json.dumps({**GOOD, field: value}).encode()
    incoming = decode("transactions", 0, 7, None, raw, 0)
    assert (incoming.txn is None) == bool(incoming.problem)
