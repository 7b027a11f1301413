"""The launcher's pure parts: configuration, ports kept across restarts, cluster ids, jars."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from fraudstream.config import Settings
from fraudstream.errors import LocalStackError
from fraudstream.local.kafka import (
    BrokerPorts,
    broker_config,
    broker_ports,
    ensure_kafka_jars,
    formatted_cluster_id,
    kafka_home,
    new_cluster_id,
    server_properties,
)

pytestmark = pytest.mark.unit


def _properties(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_server_properties_describe_one_loopback_kraft_node(tmp_path: Path) -> None:
    props = _properties(server_properties(tmp_path, BrokerPorts(broker=19092, controller=19093)))

    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["log.dirs"] == str((tmp_path / "data").resolve())
    replication = {k: v for k, v in props.items() if k.endswith("replication.factor")}
    assert set(replication) >= {
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "share.coordinator.state.topic.replication.factor",
    }
    assert set(replication.values()) == {"1"}
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "false"
    assert int(props["log.cleaner.dedupe.buffer.size"]) <= 16 * 2**20


def test_ports_are_chosen_once_and_kept(tmp_path: Path) -> None:
    first = broker_ports(tmp_path)
    again = broker_ports(tmp_path)

    assert first == again
    assert first.broker != first.controller
    assert (tmp_path / "ports.json").exists()


def test_a_given_port_wins_and_is_kept(tmp_path: Path) -> None:
    chosen = broker_ports(tmp_path)

    forced = broker_ports(tmp_path, port=chosen.controller)

    assert forced.broker == chosen.controller
    assert forced.controller != forced.broker
    assert broker_ports(tmp_path) == forced


def test_cluster_ids_have_kafkas_shape() -> None:
    ids = {new_cluster_id() for _ in range(500)}

    assert len(ids) == 500
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", i) for i in ids)


def test_formatted_cluster_id_reads_meta_properties(tmp_path: Path) -> None:
    assert formatted_cluster_id(tmp_path) is None
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "meta.properties").write_text(
        "#\nnode.id=1\ndirectory.id=abc\nversion=1\ncluster.id=xMlAbqhIRBOla0VC6sBNiw\n"
    )

    assert formatted_cluster_id(tmp_path) == "xMlAbqhIRBOla0VC6sBNiw"


def test_fetched_jars_are_not_fetched_again(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path)
    home = kafka_home(settings)
    (home / "jars").mkdir(parents=True)
    (home / "COMPLETE").write_text("kafka_2.13-4.1.1.jar\n")

    assert ensure_kafka_jars(settings) == home / "jars"


def test_without_java_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)

    with pytest.raises(LocalStackError, match="openjdk-17-jre-headless"):
        ensure_kafka_jars(Settings(cache_dir=tmp_path))


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a Java runtime to get past it")
def test_without_maven_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    java = Path(shutil.which("java") or "").resolve()
    monkeypatch.setenv("JAVA_HOME", str(java.parent.parent))
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(LocalStackError, match="apt-get install maven"):
        ensure_kafka_jars(Settings(cache_dir=tmp_path))


def test_a_container_binds_every_interface_but_advertises_the_loopback() -> None:
    config = broker_config(BrokerPorts(broker=19092, controller=9093), "/data", bind="0.0.0.0")

    assert config["listeners"] == "PLAINTEXT://0.0.0.0:19092,CONTROLLER://0.0.0.0:9093"
    assert config["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert config["log.dirs"] == "/data"
