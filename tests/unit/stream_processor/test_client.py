"""Every answer of the model service is sorted into what the scorer does next; a body that does
not match the request is never trusted. Through ``httpx.MockTransport``: no server needed (but
for the cost of a request, which needs httpcore's connection pool and so a socket)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

import httpx
import orjson
import pytest

from fixtures.inprocess import service_settings
from fraudstream.stream_processor.client import Answer, ModelClient

pytestmark = pytest.mark.unit

ASKED = ["a", "b", "c"]


def verdict(trans_num: str, **fields: object) -> dict[str, object]:
    return {
        "trans_num": trans_num,
        "is_fraud": 0,
        "score": 0.1,
        "threshold": 0.5,
        "model_name": "m",
        "model_version": "1",
        "reasons": [],
        **fields,
    }


async def ask(handler: Callable[[httpx.Request], httpx.Response]) -> Answer:
    settings = service_settings(model_service_url="http://service")
    client = ModelClient(
        settings.service,
        settings.stream.request_timeout_seconds,
        transport=httpx.MockTransport(handler),
    )
    try:
        return await client.predict(b"[]", ASKED)
    finally:
        await client.aclose()


def answering(status: int, body: object) -> Callable[[httpx.Request], httpx.Response]:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return lambda _request: httpx.Response(status, content=content)


async def test_verdicts_for_exactly_the_transactions_asked() -> None:
    answer = await ask(answering(200, [verdict(t) for t in ASKED]))
    assert answer.verdicts is not None
    assert [v.trans_num for v in answer.verdicts] == ASKED


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([verdict("a"), verdict("b")], "2 verdicts for 3 transactions"),
        ([verdict("a"), verdict("x"), verdict("c")], "verdict 1 is for 'x', not 'b'"),
        ([verdict("c"), verdict("b"), verdict("a")], "verdict 0 is for 'c', not 'a'"),
        (b"<html>oops</html>", "unreadable"),
        (b"\xff\xfe", "unreadable"),
        ([verdict(t, score=1.5) for t in ASKED], "unreadable"),
        ([verdict(t, reasons=[{"feature": 1}]) for t in ASKED], "unreadable"),
        ({"not": "a list"}, "unreadable"),
    ],
)
async def test_a_200_that_does_not_match_the_request_is_a_suspect(body: object, words: str) -> None:
    answer = await ask(answering(200, body))
    assert answer.verdicts is None
    assert not answer.outage
    assert words in (answer.failure or "")


async def test_a_422_naming_items_names_only_items_of_the_request() -> None:
    errors = [
        {"index": 1, "field": "amt", "problem": "too big"},
        {"index": 1, "field": "dob", "problem": "bad"},
        {"index": 7, "field": "amt", "problem": "out of range"},
        {"index": None, "field": "body", "problem": "?"},
    ]
    answer = await ask(answering(422, {"detail": "1 invalid", "errors": errors}))
    assert answer.invalid == {1: "amt: too big; dob: bad"}


async def test_a_422_naming_nothing_is_a_suspect() -> None:
    answer = await ask(answering(422, {"detail": "the body must be a JSON array"}))
    assert answer.verdicts is None
    assert not answer.invalid
    assert not answer.outage


@pytest.mark.parametrize(
    ("status", "outage"),
    [(503, True), (401, True), (403, True), (500, False), (502, False), (404, False)],
)
async def test_statuses_that_say_the_service_is_away_are_outages(status: int, outage: bool) -> None:
    answer = await ask(answering(status, {"detail": "x"}))
    assert answer.verdicts is None
    assert answer.outage is outage
    assert f"HTTP {status}" in (answer.failure or "")


async def test_no_connection_is_an_outage_and_a_timeout_a_suspect() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    assert (await ask(refused)).outage
    timed_out = await ask(slow)
    assert not timed_out.outage
    assert "in time" in (timed_out.failure or "")


class _Lookups:
    """A finder that records every module the import system goes looking for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        self.names.append(name)


async def test_a_request_looks_no_module_up() -> None:
    """httpcore imports sniffio on every request (in its locks and cancellation shields); when
    it is not installed each import searches the whole path: ~60 µs of the worker's CPU each,
    several times per request (found in a profile of a worker at 2,000 tx/s). Through a real
    socket, so that httpcore's connection pool runs."""
    body = orjson.dumps([verdict(t) for t in ASKED])

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n\r\n".encode()
        try:
            while True:  # keep-alive: the client's requests, each with the body b"[]"
                await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(2)
                writer.write(head + body)
                await writer.drain()
        except asyncio.IncompleteReadError:  # the client closed the connection
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = service_settings(model_service_url=f"http://127.0.0.1:{port}")
    client = ModelClient(settings.service, settings.stream.request_timeout_seconds)
    lookups = _Lookups()
    try:
        assert (await client.predict(b"[]", ASKED)).verdicts is not None  # imports done once
        sys.meta_path.insert(0, lookups)
        try:
            answer = await client.predict(b"[]", ASKED)
        finally:
            sys.meta_path.remove(lookups)
    finally:
        await client.aclose()
        server.close()
    assert answer.verdicts is not None
    assert lookups.names == []
