"""Topics and offsets: creating fraudstream's topics, waiting until they serve, reading offsets.

Called by ``fraudstream up`` once the broker answers, by ``fraudstream topics``, and by the test
fixtures. Creating a topic is not the end of it: for about a second after "Kafka Server
started", and after a topic is created, clients still see NOT_LEADER_FOR_PARTITION; hence
:func:`wait_for_topics`, which waits until every partition has a leader that answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._listoffsets import OffsetSpec
from confluent_kafka.admin._metadata import ClusterMetadata
from confluent_kafka.cimpl import NewTopic

from fraudstream.config import ENV_PREFIX, KafkaSettings, TopicSettings
from fraudstream.errors import BrokerError, ConfigError
from fraudstream.kafka.config import admin_config, consumer_config
from fraudstream.kafka.errors import broker_error, describe, error_code, hint, librdkafka_log
from fraudstream.kafka.types import ConfigValue

_POLL_SECONDS = 0.1
_QUIET: dict[str, ConfigValue] = {"log_level": 0}
"""Admin calls report their failures themselves; librdkafka's log lines would repeat them."""
_TRANSIENT: Final = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    }
)
"""What a broker answers for a second or so after it starts or creates a topic."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic as fraudstream wants it."""

    name: str
    partitions: int
    replication_factor: int = 1
    setting: str | None = None
    """The settings field that chose ``partitions``, named in errors so the operator can fix it."""


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """A topic as the broker has it."""

    name: str
    partitions: int
    messages: int
    """Messages currently stored (end offset minus start offset, summed over partitions)."""


def topic_specs(topics: TopicSettings) -> tuple[TopicSpec, ...]:
    """The five topics of fraudstream, named and sized by the settings."""
    rf = topics.replication_factor
    return (
        TopicSpec(
            topics.transactions,
            topics.transactions_partitions,
            rf,
            "transactions_partitions",
        ),
        TopicSpec(topics.verdicts, topics.verdicts_partitions, rf, "verdicts_partitions"),
        TopicSpec(topics.dlq, topics.other_partitions, rf, "other_partitions"),
        TopicSpec(topics.labels, topics.other_partitions, rf, "other_partitions"),
        TopicSpec(topics.model_events, topics.other_partitions, rf, "other_partitions"),
    )


def _client(kafka: KafkaSettings) -> AdminClient:
    return AdminClient({**admin_config(kafka), **_QUIET}, logger=librdkafka_log)


def _metadata(admin: AdminClient, bootstrap: str, timeout: float) -> ClusterMetadata:
    try:
        return admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise broker_error("read the cluster's metadata", exc, bootstrap) from exc


def _retrying(action: str, call: Callable[[], T], bootstrap: str, timeout: float) -> T:
    """Run ``call`` until it stops failing with a transient error, for at most ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except KafkaException as exc:
            if error_code(exc) not in _TRANSIENT or time.monotonic() >= deadline:
                raise broker_error(action, exc, bootstrap) from exc
        time.sleep(_POLL_SECONDS)


def _mismatch(spec: TopicSpec, existing: int) -> ConfigError:
    """The error for a topic that exists with another partition count than configured."""
    fix = (
        f"set {ENV_PREFIX}{spec.setting.upper()}={existing} to use it as it is, or"
        if spec.setting
        else "use it as it is, or"
    )
    return ConfigError(
        f"topic {spec.name!r} exists with {existing} partitions but {spec.partitions} are "
        f"configured: {fix} delete the topic to have it recreated (its messages are lost)"
    )


def ensure_topics(kafka: KafkaSettings, specs: Sequence[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet, wait until all of them serve; idempotent.

    ``specs`` are usually :func:`topic_specs`. A topic that exists with the same partition
    count is kept as it is; with another count it is a ConfigError, because moving a card to
    another partition would split its per-card state. Returns the names it created.
    """
    bootstrap = kafka.bootstrap_servers
    timeout = kafka.timeout_seconds
    admin = _client(kafka)
    existing = {
        name: len(meta.partitions)
        for name, meta in _metadata(admin, bootstrap, timeout).topics.items()
    }
    for spec in specs:
        if spec.name in existing and existing[spec.name] != spec.partitions:
            raise _mismatch(spec, existing[spec.name])
    missing = [spec for spec in specs if spec.name not in existing]
    created: list[str] = []
    if missing:
        futures = admin.create_topics(
            [NewTopic(s.name, s.partitions, s.replication_factor) for s in missing],
            request_timeout=timeout,
            operation_timeout=timeout,
        )
        for name, future in futures.items():
            try:
                future.result()
            except KafkaException as exc:
                if error_code(exc) == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue  # another process created it between our two calls
                raise broker_error(f"create topic {name!r}", exc, bootstrap) from exc
            created.append(name)
    wait_for_topics(bootstrap, [s.name for s in specs], timeout)
    return created


def _not_ready(metadata: ClusterMetadata, topics: Sequence[str], bootstrap: str) -> str:
    """Why the topics cannot serve yet, or "" when every partition has a leader."""
    problems: list[str] = []
    for name in topics:
        topic = metadata.topics.get(name)
        if topic is None:
            problems.append(f"{name!r} does not exist")
        elif topic.error is not None:
            problems.append(f"{name!r}: {describe(topic.error, bootstrap)}")
        else:
            waiting = sorted(
                p.id for p in topic.partitions.values() if p.leader < 0 or p.error is not None
            )
            if waiting or not topic.partitions:
                problems.append(f"{name!r} partitions without a leader: {waiting or 'all'}")
    return "; ".join(problems)


def _not_serving(
    admin: AdminClient, metadata: ClusterMetadata, topics: Sequence[str], bootstrap: str
) -> str:
    """Which partitions do not answer an offsets request yet ("" when all of them do)."""
    partitions = [TopicPartition(t, p) for t in topics for p in metadata.topics[t].partitions]
    latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    try:
        futures = admin.list_offsets(dict.fromkeys(partitions, latest), request_timeout=2.0)
    except KafkaException as exc:
        return describe(exc.args[0], bootstrap)
    problems: list[str] = []
    for tp, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            problems.append(f"{tp.topic}[{tp.partition}]: {describe(exc.args[0], bootstrap)}")
    return "; ".join(sorted(problems)[:3])


def wait_for_topics(bootstrap: str, topics: Iterable[str], timeout: float) -> None:
    """Block until every partition of ``topics`` has a leader that serves; BrokerError after
    ``timeout``.

    A broker that has just started, or a topic just created, answers metadata requests before
    it can take writes: the metadata names a leader, yet the leader still answers
    NOT_LEADER_FOR_PARTITION for a moment. So ready means the metadata names a leader for every
    partition and every partition answers an offsets request.
    """
    wanted = list(topics)
    admin = AdminClient({"bootstrap.servers": bootstrap, **_QUIET}, logger=librdkafka_log)
    deadline = time.monotonic() + timeout
    problem = "no answer"
    while True:
        left = deadline - time.monotonic()
        try:
            metadata = admin.list_topics(timeout=max(_POLL_SECONDS, min(left, 2.0)))
        except KafkaException as exc:
            problem = describe(exc.args[0], bootstrap)
        else:
            problem = _not_ready(metadata, wanted, bootstrap) or _not_serving(
                admin, metadata, wanted, bootstrap
            )
            if not problem:
                return
        if time.monotonic() >= deadline:
            raise BrokerError(f"topics not ready after {timeout:.0f} s at {bootstrap}: {problem}")
        time.sleep(_POLL_SECONDS)


def cluster_id(bootstrap: str, timeout: float = 1.0) -> str | None:
    """The id of the cluster answering at ``bootstrap``, or None if nothing answers; never raises.

    A metadata request is the cheapest call a broker answers only once it serves clients.
    """
    try:
        admin = AdminClient({"bootstrap.servers": bootstrap, **_QUIET}, logger=librdkafka_log)
        metadata = admin.list_topics(timeout=timeout)
    except Exception:  # a probe reports "not ready"; the caller owns the timeout and the error
        return None
    return str(metadata.cluster_id) if metadata.brokers else None


def why_undelivered(bootstrap: str, topic: str, timeout: float) -> str:
    """Why messages to ``topic`` time out: is the broker down, or the topic missing?

    librdkafka says only "Message timed out" in both cases; one metadata request tells them
    apart. Called on failure only, so its cost does not matter.
    """
    admin = AdminClient({"bootstrap.servers": bootstrap, **_QUIET}, logger=librdkafka_log)
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException:
        return hint(KafkaError._TRANSPORT, bootstrap)
    if topic not in metadata.topics:
        return f"the broker answers but has no topic {topic!r}: " + hint(
            KafkaError.UNKNOWN_TOPIC_OR_PART, bootstrap
        )
    problem = _not_ready(metadata, [topic], bootstrap)
    return problem or "the broker answers and the topic serves now: the broker was too slow"


def list_topics(kafka: KafkaSettings, *, internal: bool = False) -> list[TopicInfo]:
    """Every topic with its partition and message counts, sorted by name."""
    bootstrap = kafka.bootstrap_servers
    timeout = kafka.timeout_seconds
    admin = _client(kafka)
    metadata = _metadata(admin, bootstrap, timeout)
    names = sorted(n for n in metadata.topics if internal or not n.startswith("__"))
    partitions = [TopicPartition(n, p) for n in names for p in metadata.topics[n].partitions]
    counts = dict.fromkeys(names, 0)
    if partitions:
        latest, earliest = OffsetSpec.latest(), OffsetSpec.earliest()  # type: ignore[no-untyped-call]
        ends = _offsets(admin, partitions, latest, bootstrap, timeout)
        starts = _offsets(admin, partitions, earliest, bootstrap, timeout)
        for key, end in ends.items():
            counts[key[0]] += end - starts.get(key, 0)
    return [TopicInfo(n, len(metadata.topics[n].partitions), counts[n]) for n in names]


def _offsets(
    admin: AdminClient,
    partitions: list[TopicPartition],
    spec: OffsetSpec,
    bootstrap: str,
    timeout: float,
) -> dict[tuple[str, int], int]:
    def read() -> dict[tuple[str, int], int]:
        futures = admin.list_offsets(dict.fromkeys(partitions, spec), request_timeout=timeout)
        return {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}

    return _retrying("read the topics' offsets", read, bootstrap, timeout)


def committed_offsets(
    kafka: KafkaSettings, group_id: str, topics: Sequence[str]
) -> dict[tuple[str, int], int]:
    """The offsets group ``group_id`` has committed on ``topics``, by (topic, partition).

    An offset is the next message the group will read, as Kafka counts it; partitions the
    group never committed are left out. Read through a consumer that never joins the group,
    not the admin client: its ListConsumerGroupOffsets crashed the whole process (SIGSEGV) now
    and then on a freshly started broker with librdkafka 2.16.0, as reported in
    confluent-kafka-javascript #374 (a NOT_COORDINATOR answer handled on a client without a
    consumer group).
    """
    bootstrap = kafka.bootstrap_servers
    timeout = kafka.timeout_seconds
    metadata = _metadata(_client(kafka), bootstrap, timeout)
    partitions = [
        TopicPartition(topic, p)
        for topic in topics
        if topic in metadata.topics
        for p in sorted(metadata.topics[topic].partitions)
    ]
    if not partitions:
        return {}
    reader = Consumer({**consumer_config(kafka, group_id), **_QUIET}, logger=librdkafka_log)
    try:
        committed = _retrying(
            f"read the offsets of group {group_id!r}",
            lambda: reader.committed(partitions, timeout=timeout),
            bootstrap,
            timeout,
        )
    finally:
        reader.close()
    return {(tp.topic, tp.partition): tp.offset for tp in committed if tp.offset >= 0}


def partition_offsets(
    kafka: KafkaSettings, topic: str, at: datetime | None = None, *, earliest: bool = False
) -> dict[int, int]:
    """Per partition of ``topic``: its end (the next offset to be written), its start with
    ``earliest``, or with ``at`` the first offset whose message is that time or later (the end
    where there is none)."""
    bootstrap = kafka.bootstrap_servers
    timeout = kafka.timeout_seconds
    admin = _client(kafka)
    metadata = _metadata(admin, bootstrap, timeout)
    if topic not in metadata.topics:
        raise ConfigError(f"the topic {topic!r} does not exist at {bootstrap}")
    partitions = [TopicPartition(topic, p) for p in sorted(metadata.topics[topic].partitions)]
    if at is not None:
        spec = OffsetSpec.for_timestamp(int(at.timestamp() * 1000))
    elif earliest:
        spec = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
    else:
        spec = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    found = _offsets(admin, partitions, spec, bootstrap, timeout)
    if at is not None:  # -1: no message that late; the range ends at the partition's end
        ends = partition_offsets(kafka, topic)
        return {p: ends[p] if o < 0 else o for (_, p), o in found.items()}
    return {p: o for (_, p), o in found.items()}
