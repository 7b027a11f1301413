"""The local Kafka broker: Apache Kafka from Maven Central, one KRaft node on the loopback.

No Docker and no tarball: ``kafka-pom.xml`` (package data) names the broker's Maven artifact,
Maven resolves it once into the cache folder, and :func:`kafka_spec` describes a broker that
runs from those jars with its state in one data folder. The same folder restarts with every
message and committed offset kept, on the same ports: they are chosen once and stored in
``ports.json``. ``fraudstream up`` and the test fixtures both build their broker here.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Final

from fraudstream.config import Settings
from fraudstream.errors import LocalStackError
from fraudstream.kafka.admin import cluster_id
from fraudstream.local.process import ProcessSpec, free_port

log = logging.getLogger(__name__)

HOST: Final = "127.0.0.1"
POM: Final = "kafka-pom.xml"
KAFKA_MAIN: Final = "kafka.Kafka"
STORAGE_TOOL: Final = "kafka.tools.StorageTool"
NODE_ID: Final = 1
_READY_MARKER: Final = "COMPLETE"
_MAVEN_TIMEOUT: Final = 900.0
_FORMAT_TIMEOUT: Final = 120.0

_LOG4J2: Final = """\
# Written by fraudstream: the broker's log goes to stdout, which the launcher sends to kafka.log.
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = stdout
appender.stdout.type = Console
appender.stdout.name = stdout
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
# The full configuration dump (300 lines) at every start says nothing server.properties does not.
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
"""


# -- the jars ------------------------------------------------------------------------------------


def kafka_home(settings: Settings) -> Path:
    """Where one Kafka version's jars live; shared by every data folder and every checkout."""
    return settings.cache_dir / f"kafka-{settings.local.kafka_version}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path``, so two processes never fetch or format at the same time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise LocalStackError(
            "Java 17 or newer is needed to run the local Kafka broker and was not found: "
            "install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set "
            "JAVA_HOME; or set FRAUD_KAFKA_BOOTSTRAP_SERVERS to use a broker you run yourself"
        )
    return java


def ensure_kafka_jars(settings: Settings) -> Path:
    """Fetch the broker's jars from Maven Central once; afterwards a fast no-op.

    Returns the folder of jars (the broker's class path). A marker file is written only when
    Maven succeeded, so an interrupted download is redone, and a file lock keeps two processes
    (two test sessions, ``fraudstream up`` and CI) from downloading into the same folder at once.
    """
    home = kafka_home(settings)
    jars = home / "jars"
    marker = home / _READY_MARKER
    if marker.exists():
        return jars
    _java()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalStackError(
            f"Apache Maven is needed once, to fetch Kafka {settings.local.kafka_version} from "
            "Maven Central: install it (Debian/Ubuntu: apt-get install maven), or set "
            "FRAUD_KAFKA_BOOTSTRAP_SERVERS to use a broker you run yourself"
        )
    with _locked(home / ".lock"):
        if marker.exists():  # another process fetched them while we waited for the lock
            return jars
        shutil.rmtree(jars, ignore_errors=True)
        log.info(
            "fetching Kafka %s from Maven Central into %s (about 45 MB, once)",
            settings.local.kafka_version,
            jars,
        )
        started = time.monotonic()
        with resources.as_file(resources.files("fraudstream.local") / POM) as pom:
            argv = [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                f"-Dkafka.version={settings.local.kafka_version}",
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={jars}",
            ]
            try:
                done = subprocess.run(
                    argv, capture_output=True, text=True, timeout=_MAVEN_TIMEOUT, check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise LocalStackError(
                    f"Maven did not fetch Kafka within {_MAVEN_TIMEOUT:.0f} s: check the network "
                    "access to repo.maven.apache.org (or your Maven mirror in ~/.m2/settings.xml)"
                ) from exc
        broker_jar = jars / f"kafka_2.13-{settings.local.kafka_version}.jar"
        if done.returncode != 0 or not broker_jar.exists():
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-12:])
            raise LocalStackError(
                f"Maven could not fetch Kafka {settings.local.kafka_version} (exit code "
                f"{done.returncode}): check FRAUD_KAFKA_VERSION and the network access to "
                f"repo.maven.apache.org. Maven said:\n{tail}"
            )
        names = sorted(p.name for p in jars.glob("*.jar"))
        marker.write_text("\n".join(names) + "\n")
        size = sum(p.stat().st_size for p in jars.glob("*.jar")) / 2**20
        log.info(
            "fetched %d jars (%.0f MB) in %.0f s", len(names), size, time.monotonic() - started
        )
    return jars


# -- the data folder -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokerPorts:
    """The two listeners of a single-node KRaft broker."""

    broker: int
    """PLAINTEXT: where clients connect."""
    controller: int
    """CONTROLLER: the KRaft quorum (this node talking to itself)."""


def broker_ports(data_dir: Path, port: int | None = None) -> BrokerPorts:
    """The ports of the broker in ``data_dir``: the stored ones, else free ones; then stored.

    ``port`` forces the client port. Kept ports mean a restarted broker has the same address,
    so clients and ``FRAUD_KAFKA_BOOTSTRAP_SERVERS`` stay valid across restarts.
    """
    path = data_dir / "ports.json"
    stored: dict[str, int] = {}
    with contextlib.suppress(OSError, ValueError):
        stored = {k: int(v) for k, v in json.loads(path.read_text()).items()}
    broker = port or stored.get("broker") or free_port(HOST)
    controller = stored.get("controller") or 0
    while controller in {0, broker}:
        controller = free_port(HOST)
    ports = BrokerPorts(broker=broker, controller=controller)
    if asdict(ports) != stored:
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(ports)) + "\n")
    return ports


def broker_config(ports: BrokerPorts, log_dir: str, *, bind: str = HOST) -> dict[str, str]:
    """The configuration of a single node that is both broker and KRaft controller.

    The quorum is static (``controller.quorum.voters``): the controller's port is in the
    configuration, not in the formatted log, so it may change between starts. Every internal
    topic gets replication factor 1, since there is one broker. Topics are never created on
    first use: a misspelt name fails loudly instead of making a one-partition topic that would
    split a card's history (``ensure_topics`` creates them with their partitions). The log
    cleaner's dedupe buffer (128 MB on the heap by default) is cut to 8 MB so that a small heap
    starts at all. ``bind`` is the listeners' address (a container binds every interface);
    clients are always told to connect to the loopback.
    """
    config: dict[str, object] = {
        "process.roles": "broker,controller",
        "node.id": NODE_ID,
        "listeners": f"PLAINTEXT://{bind}:{ports.broker},CONTROLLER://{bind}:{ports.controller}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{ports.broker}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "controller.quorum.voters": f"{NODE_ID}@{HOST}:{ports.controller}",
        "log.dirs": log_dir,
        "auto.create.topics.enable": "false",
        "num.partitions": 1,
        "default.replication.factor": 1,
        "offsets.topic.replication.factor": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "group.initial.rebalance.delay.ms": 0,
        "log.cleaner.dedupe.buffer.size": 8 * 2**20,
    }
    return {key: str(value) for key, value in config.items()}


def server_properties(data_dir: Path, ports: BrokerPorts) -> str:
    """``server.properties`` of the broker in ``data_dir`` (see :func:`broker_config`)."""
    config = broker_config(ports, str((data_dir / "data").resolve()))
    lines = ["# Written by fraudstream.local.kafka at every start; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in config.items()]
    return "\n".join(lines) + "\n"


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes in URL-safe base64, never starting with '-'.

    The same shape ``kafka-storage random-uuid`` prints, without starting a JVM for it.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def formatted_cluster_id(data_dir: Path) -> str | None:
    """The cluster id written by a previous format of ``data_dir``, or None if unformatted."""
    meta = data_dir / "data" / "meta.properties"
    with contextlib.suppress(OSError):
        for line in meta.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "cluster.id":
                return value.strip()
    return None


def _format(java: str, jars: Path, data_dir: Path, properties: Path) -> str:
    """Format the storage once; a formatted folder is left as it is (its data is the point)."""
    existing = formatted_cluster_id(data_dir)
    if existing:
        return existing
    new_id = new_cluster_id()
    argv = [
        java,
        f"-Dlog4j2.configurationFile={data_dir / 'log4j2.properties'}",
        "-cp",
        f"{jars}/*",
        STORAGE_TOOL,
        "format",
        "--ignore-formatted",
        "-t",
        new_id,
        "-c",
        str(properties),
    ]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=_FORMAT_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise LocalStackError(f"formatting Kafka's storage in {data_dir} hung") from exc
    written = formatted_cluster_id(data_dir)
    if done.returncode != 0 or written is None:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-12:])
        raise LocalStackError(
            f"could not format Kafka's storage in {data_dir} (exit code {done.returncode}); "
            f"delete the folder to start afresh. The storage tool said:\n{tail}"
        )
    log.info("formatted Kafka storage in %s (cluster %s)", data_dir, written)
    return written


def kafka_spec(settings: Settings, data_dir: Path, port: int | None = None) -> ProcessSpec:
    """A single-node KRaft broker with its state in ``data_dir``, ready to start.

    Fetches the jars if needed, chooses (or reuses) the ports, writes the configuration and
    formats the storage the first time; calling it again on the same folder changes nothing
    but the configuration file. The probe asks for metadata and checks the cluster id, so
    another broker left on the same port is never mistaken for this one. Ready means the broker
    answers; use :func:`fraudstream.kafka.admin.wait_for_topics` before producing to new topics.
    """
    jars = ensure_kafka_jars(settings)
    java = _java()
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    with _locked(data_dir / ".lock"):
        ports = broker_ports(data_dir, port)
        properties = data_dir / "server.properties"
        properties.write_text(server_properties(data_dir, ports))
        (data_dir / "log4j2.properties").write_text(_LOG4J2)
        expected_id = _format(java, jars, data_dir, properties)
    address = f"{HOST}:{ports.broker}"

    def probe() -> bool:
        return cluster_id(address, timeout=1.0) == expected_id

    argv = [
        java,
        # fixed, so the collector never resizes it (decision 26)
        f"-Xms{settings.local.kafka_heap}",
        f"-Xmx{settings.local.kafka_heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={data_dir / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={data_dir}",
        "-cp",
        f"{jars}/*",
        KAFKA_MAIN,
        str(properties),
    ]
    return ProcessSpec(
        name="kafka",
        argv=argv,
        log_file=data_dir / "kafka.log",
        probe=probe,
        address=address,
        cwd=data_dir,
        ready_timeout=90.0,
        stop_timeout=30.0,
    )
