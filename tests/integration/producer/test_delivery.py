"""What the producer promises about delivery, counted on the real broker: invalid rows reach the
dead-letter topic with their reasons (or are skipped), SIGTERM mid-run loses nothing that was
accepted, a missing topic fails at once with advice, and the command itself runs end to end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

from fixtures.frames import frame_of, record
from fixtures.kafka import unique
from fixtures.topics import read_topic, stored
from fraudstream.cli import _register, app
from fraudstream.config import ENV_PREFIX, Settings
from fraudstream.dead_letters import FAILED_AT_HEADER, REASON_HEADER, SOURCE_HEADER
from fraudstream.errors import BrokerError
from fraudstream.kafka.admin import ensure_topics, topic_specs
from fraudstream.producer.frames import replayed_items
from fraudstream.producer.run import ProduceRun, RunOptions, Source
from fraudstream.schema import LabelEvent

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(kafka_settings: Settings) -> Settings:
    ensure_topics(kafka_settings.kafka, topic_specs(kafka_settings.topics))
    return kafka_settings


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    """20 rows of which 3 break the schema, each in another field."""
    rows = [record(seconds=i, trans_num=f"t{i:02d}", is_fraud=i % 2) for i in range(20)]
    rows[3]["amt"] = "n/a"
    rows[8]["cc_num"] = "12"
    rows[15]["state"] = "Carolina"
    path = tmp_path / "bad.csv"
    frame_of(rows).to_csv(path)
    return path


def produce_file(settings: Settings, path: Path, on_invalid: str) -> ProduceRun:
    run = ProduceRun(
        settings,
        RunOptions(topic=settings.topics.transactions, on_invalid=on_invalid),  # type: ignore[arg-type]
    )
    run.run(Source(path.name, replayed_items(str(path), settings)))
    return run


def test_invalid_rows_go_to_the_dead_letter_topic_with_their_reasons(
    settings: Settings, bad_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    counts = produce_file(settings, bad_file, "dlq").counts

    assert (counts.read, counts.sent, counts.delivered) == (20, 17, 17)
    assert (counts.invalid, counts.dead_lettered, counts.failed) == (3, 3, 0)
    dead = read_topic(settings, settings.topics.dlq, 3)
    assert len(dead) == 3
    headers = [dict(m.headers() or []) for m in dead]
    assert [h[SOURCE_HEADER] for h in headers] == [
        b"bad.csv row 4",
        b"bad.csv row 9",
        b"bad.csv row 16",
    ]
    reasons = [h[REASON_HEADER].decode() for h in headers]
    assert reasons[0] == "amt: must be a number"
    assert reasons[1].startswith("cc_num: must be a card number")
    assert reasons[2].startswith("state: ")
    assert all(FAILED_AT_HEADER in h for h in headers)
    assert [orjson.loads(m.value() or b"")["trans_num"] for m in dead] == ["t03", "t08", "t15"]
    assert dead[0].key() == b"4000000000000001"
    good = read_topic(settings, settings.topics.transactions, 17)
    assert sorted(orjson.loads(m.value() or b"")["trans_num"] for m in good) == sorted(
        f"t{i:02d}" for i in range(20) if i not in (3, 8, 15)
    )
    logged = [r.getMessage() for r in caplog.records if r.name == "fraudstream.producer.run"]
    assert "invalid, dead-lettered: bad.csv row 4: amt: must be a number" in logged


def test_invalid_rows_can_be_skipped(settings: Settings, bad_file: Path) -> None:
    counts = produce_file(settings, bad_file, "skip").counts

    assert (counts.sent, counts.delivered, counts.invalid, counts.dead_lettered) == (17, 17, 3, 0)
    assert stored(settings)[settings.topics.dlq] == 0


def test_a_missing_topic_fails_before_anything_is_read(kafka_settings: Settings) -> None:
    settings = kafka_settings.replace(kafka_timeout_seconds=1.0)
    run = ProduceRun(settings, RunOptions(topic=unique("nowhere"), on_invalid="skip"))
    read: list[int] = []

    with pytest.raises(BrokerError) as caught:
        run.run(Source("nothing", iter(read)))

    assert "does not exist" in str(caught.value)
    assert "fraudstream topics create" in str(caught.value)


def env_of(settings: Settings, **extra: str) -> dict[str, str]:
    """The settings a child process needs, as FRAUD_* variables."""
    names = ("kafka_bootstrap_servers", "topic_transactions", "topic_labels", "topic_dlq", "home")
    env = {ENV_PREFIX + n.upper(): str(settings.value(n)) for n in names}
    return {**env, **extra}


@pytest.mark.slow
def test_sigterm_mid_run_flushes_everything_accepted(settings: Settings, tmp_path: Path) -> None:
    env = env_of(settings, FRAUD_SIM_CUSTOMERS="300", FRAUD_SIM_LABEL_DELAY_DAYS="0.2")
    command = [sys.executable, "-m", "fraudstream", "produce", "--source", "sim", "--rate", "0"]
    child = subprocess.Popen(
        command,
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while stored(settings)[settings.topics.transactions] < 20_000:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the producer never got going"
            time.sleep(0.2)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    assert child.returncode == 0, err
    summary = re.search(
        r"read ([\d,]+) · sent ([\d,]+) to \S+ · delivered ([\d,]+) · invalid 0 · failed 0 · "
        r"labels delivered ([\d,]+) \(pending ([\d,]+)\)",
        out,
    )
    assert summary is not None, out
    read, sent, delivered, labels, pending = (int(g.replace(",", "")) for g in summary.groups())
    assert read == sent == delivered > 20_000
    assert labels > 0
    assert pending > 0  # the clock stopped with the run: labels still in the future stay unsent
    on_topics = stored(settings)
    assert on_topics[settings.topics.transactions] == delivered
    assert on_topics[settings.topics.labels] == labels
    assert "SIGTERM: stopping" in err


@pytest.fixture(scope="module")
def cli() -> CliRunner:
    _register()
    return CliRunner()


def test_the_command_replays_a_file_with_labels_on_the_real_clock(
    cli: CliRunner, settings: Settings, tmp_path: Path
) -> None:
    rows = [record(seconds=86_400 * i, trans_num=f"d{i}", is_fraud=int(i == 2)) for i in range(5)]
    path = tmp_path / "days.csv"
    frame_of(rows).to_csv(path, index=False)

    result = cli.invoke(
        app,
        ["produce", "--source", str(path), "--labels", "--label-delay-seconds", "0.5"],
        env=env_of(settings),
    )

    assert result.exit_code == 0, result.output
    # five days of transactions, a label three days after each: on the file's clock only two
    # would be known at its end; on the real clock all five come half a second after sending
    assert "sent 5 to" in result.stdout
    assert "labels delivered 5 (pending 0)" in result.stdout
    labels = [
        LabelEvent.model_validate_json(m.value() or b"")
        for m in read_topic(settings, settings.topics.labels, 5)
    ]
    assert sorted((e.trans_num, e.is_fraud) for e in labels) == [
        (f"d{i}", int(i == 2)) for i in range(5)
    ]
    assert pd.Timestamp(labels[0].labelled_at).tzname() == "UTC"
