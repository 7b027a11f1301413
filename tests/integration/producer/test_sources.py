"""Every source of ``fraudstream produce`` into a real broker: the simulator with its delayed
labels, CSV and Parquet files (with and without the index column) from disk, S3 (moto) and
HTTP, and an HTTP feed that answers one transaction per call, failing now and then."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pandas as pd
import pytest
from aiokafka.partitioner import murmur2

from fixtures.s3 import s3_client, s3_settings
from fixtures.topics import read_topic
from fraudstream.config import Settings
from fraudstream.dead_letters import REASON_HEADER, SOURCE_HEADER
from fraudstream.kafka.admin import ensure_topics, topic_specs
from fraudstream.kafka.types import Message
from fraudstream.producer.feed import FeedPoller
from fraudstream.producer.frames import replayed_items, simulated_items
from fraudstream.producer.labels import LabelSchedule
from fraudstream.producer.run import ProduceRun, RunOptions, Source, Stop
from fraudstream.schema import LABEL_COLUMN, TIMESTAMP_FORMAT, LabelEvent
from fraudstream.simulator import SimParams, Simulator

pytestmark = pytest.mark.integration

CUSTOMERS = 300


@pytest.fixture
def settings(kafka_settings: Settings) -> Settings:
    """This test's topics, created; small file chunks so that every replay crosses several."""
    ensure_topics(kafka_settings.kafka, topic_specs(kafka_settings.topics))
    return kafka_settings.replace(produce_chunk_rows=700)


def simulator(seed: int = 5, label_delay_days: float = 3.0) -> Simulator:
    params = SimParams(customers=CUSTOMERS, label_delay_days=label_delay_days)
    return Simulator(params, seed=seed)


def java_partition(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def values(messages: list[Message]) -> list[dict[str, Any]]:
    return [orjson.loads(m.value() or b"") for m in messages]


@pytest.mark.slow
def test_simulator_keys_partitions_and_delayed_labels(settings: Settings) -> None:
    n, delay_days = 3_000, 1.0
    expected = simulator().frame(n)
    run = ProduceRun(
        settings, RunOptions(topic=settings.topics.transactions), labels=LabelSchedule(delay_days)
    )

    counts = run.run(Source("simulator", simulated_items(simulator(), n)))

    assert (counts.read, counts.sent, counts.delivered) == (n, n, n)
    assert (counts.invalid, counts.failed) == (0, 0)
    messages = read_topic(settings, settings.topics.transactions, n)
    assert len(messages) == n
    for message, value in zip(messages, values(messages), strict=True):
        key = message.key()
        assert key == str(value["cc_num"]).encode()
        assert message.partition() == java_partition(key, settings.topics.transactions_partitions)
        assert LABEL_COLUMN not in value
    assert sorted(v["trans_num"] for v in values(messages)) == sorted(expected["trans_num"])

    # a label goes out once the simulated clock has passed its transaction time + the delay
    times = pd.to_datetime(expected["trans_date_trans_time"], format=TIMESTAMP_FORMAT)
    known = times + timedelta(days=delay_days) <= times.max()
    assert 0 < known.sum() < n
    assert counts.labels_delivered == counts.labels_sent == known.sum()
    assert counts.labels_pending == n - known.sum()
    labels = read_topic(settings, settings.topics.labels, int(known.sum()))
    events = {e.trans_num: e for e in (LabelEvent.model_validate_json(m.value()) for m in labels)}
    truth = expected[known.to_numpy()].set_index("trans_num")
    assert set(events) == set(truth.index)
    for trans_num, event in events.items():
        row = truth.loc[trans_num]
        assert event.is_fraud == row[LABEL_COLUMN]
        when = datetime.strptime(row["trans_date_trans_time"], TIMESTAMP_FORMAT)
        assert event.labelled_at == (when + timedelta(days=delay_days)).replace(tzinfo=UTC)
    assert {m.key() for m in labels} <= {str(c).encode() for c in truth["cc_num"]}


def write(frame: pd.DataFrame, path: Path, with_index: bool) -> None:
    if path.suffix == ".parquet":
        (frame.reset_index(names="Unnamed: 0") if with_index else frame).to_parquet(path)
    else:
        frame.to_csv(path, index=with_index)


def assert_replayed(settings: Settings, counts_sent: int, frame: pd.DataFrame) -> None:
    """The topic holds the file's transactions, each card's in file order."""
    messages = read_topic(settings, settings.topics.transactions, len(frame))
    assert counts_sent == len(frame) == len(messages)
    by_card: dict[int, list[str]] = {}
    for value in values(messages):
        by_card.setdefault(value["cc_num"], []).append(value["trans_num"])
    expected: dict[int, list[str]] = {}
    for card, trans_num in zip(frame["cc_num"], frame["trans_num"], strict=True):
        expected.setdefault(int(card), []).append(trans_num)
    assert by_card == expected


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("with_index", [False, True])
def test_file_replay(settings: Settings, tmp_path: Path, suffix: str, with_index: bool) -> None:
    frame = simulator(seed=9).frame(2_000)
    path = tmp_path / f"fraudTest{suffix}"
    write(frame, path, with_index)
    run = ProduceRun(settings, RunOptions(topic=settings.topics.transactions))

    counts = run.run(Source(path.name, replayed_items(str(path), settings)))

    assert (counts.read, counts.invalid, counts.delivered) == (2_000, 0, 2_000)
    assert_replayed(settings, counts.sent, frame)


def test_s3_replay(settings: Settings, s3_endpoint: str, s3_bucket: str, tmp_path: Path) -> None:
    frame = simulator(seed=10).frame(1_500)
    path = tmp_path / "fraudTrain.csv"
    write(frame, path, with_index=True)
    s3_client(s3_endpoint).upload_file(str(path), s3_bucket, "kaggle/fraudTrain.csv")
    s3 = s3_settings(s3_endpoint)
    both = settings.replace(
        s3_endpoint_url=s3.s3.s3_endpoint_url,
        aws_access_key_id=s3.s3.aws_access_key_id,
        aws_secret_access_key=s3.s3.aws_secret_access_key,
    )
    address = f"s3://{s3_bucket}/kaggle/fraudTrain.csv"

    counts = ProduceRun(both, RunOptions(topic=both.topics.transactions)).run(
        Source(address, replayed_items(address, both))
    )

    assert counts.delivered == 1_500
    assert_replayed(settings, counts.sent, frame)


@pytest.fixture
def serve() -> Iterator[Callable[[type[BaseHTTPRequestHandler]], str]]:
    """Start an HTTP server with a handler class on a free port; returns its base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(handler: type[BaseHTTPRequestHandler]) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True  # no waiting for a client's idle keep-alive connection
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_http_replay(
    settings: Settings, tmp_path: Path, serve: Callable[[type[BaseHTTPRequestHandler]], str]
) -> None:
    frame = simulator(seed=11).frame(1_200)
    write(frame, tmp_path / "fraudTest.parquet", with_index=False)
    base = serve(partial(QuietFiles, directory=str(tmp_path)))  # type: ignore[arg-type]
    address = f"{base}/fraudTest.parquet"

    counts = ProduceRun(settings, RunOptions(topic=settings.topics.transactions)).run(
        Source(address, replayed_items(address, settings))
    )

    assert counts.delivered == 1_200
    assert_replayed(settings, counts.sent, frame)


class Feed(BaseHTTPRequestHandler):
    """One transaction per GET; every 4th call is a 500, every 7th answer is not JSON."""

    records: ClassVar[list[dict[str, Any]]] = []
    calls: ClassVar[int] = 0
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            Feed.calls += 1
            call = Feed.calls
        if call % 4 == 0:
            self.answer(500, b'{"detail": "try again"}')
        elif call % 7 == 0:
            self.answer(200, b"<html>maintenance</html>")
        else:
            self.answer(200, orjson.dumps(self.records.pop(0)))

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_http_feed_one_transaction_per_call(
    settings: Settings, serve: Callable[[type[BaseHTTPRequestHandler]], str]
) -> None:
    fast = settings.replace(produce_retry_base_seconds=0.01, produce_retry_max_seconds=0.05)
    records = list(simulator(seed=12).records(100, with_label=True))
    Feed.records, Feed.calls = list(records), 0
    url = f"{serve(Feed)}/current-transactions"
    stop = Stop()
    poller = FeedPoller(url, fast.producer, stop.requested)
    run = ProduceRun(
        fast,
        RunOptions(topic=fast.topics.transactions, rate=500.0, limit=60),
        labels=LabelSchedule(0.0),  # the feed says is_fraud: with no delay, labels go at once
        stop=stop,
    )

    counts = run.run(Source(url, poller.items(), lambda: poller.errors))

    served = Feed.calls
    bad = len([c for c in range(1, served + 1) if c % 4 and c % 7 == 0])
    assert counts.read == 60  # answers with a body, good or bad
    assert counts.feed_errors == served // 4  # every 500 counted and retried
    assert counts.invalid == counts.dead_lettered == bad > 0
    assert counts.sent == counts.delivered == 60 - bad
    sent = values(read_topic(fast, fast.topics.transactions, counts.sent))
    assert sorted(v["trans_num"] for v in sent) == sorted(
        r["trans_num"] for r in records[: counts.sent]
    )
    assert counts.labels_delivered == counts.sent
    dead = read_topic(fast, fast.topics.dlq, bad)
    assert [m.value() for m in dead] == [b"<html>maintenance</html>"] * bad
    for message in dead:
        headers = dict(message.headers() or [])
        assert headers[REASON_HEADER].startswith(b"not JSON")
        assert headers[SOURCE_HEADER].startswith(f"feed {url} answer ".encode())
