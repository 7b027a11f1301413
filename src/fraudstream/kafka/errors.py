"""The one place where confluent-kafka's errors become :class:`~fraudstream.errors.BrokerError`.

librdkafka names its failures with codes (``_TRANSPORT``, ``UNKNOWN_TOPIC_OR_PART``...) that an
operator cannot act on. :func:`broker_error` keeps librdkafka's own words and adds what to do,
so every Kafka failure that reaches a terminal reads the same way, whichever client raised it.
"""

from __future__ import annotations

import logging
from typing import Final

from confluent_kafka import KafkaError, KafkaException

from fraudstream.errors import BrokerError

log = logging.getLogger(__name__)

_UNREACHABLE: Final = frozenset(
    {
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._TIMED_OUT,
        KafkaError._MSG_TIMED_OUT,
        KafkaError._RESOLVE,
        KafkaError.REQUEST_TIMED_OUT,
    }
)
_NO_TOPIC: Final = frozenset(
    {KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC, KafkaError._UNKNOWN_PARTITION}
)


def hint(code: int, bootstrap: str) -> str:
    """What the operator should do about one librdkafka error code ("" when we do not know)."""
    if code in _UNREACHABLE:
        return (
            f"no Kafka broker answered at {bootstrap}: start the local one with "
            "`fraudstream up`, or set FRAUD_KAFKA_BOOTSTRAP_SERVERS to a running broker"
        )
    if code in _NO_TOPIC:
        return "the topic does not exist: create the topics with `fraudstream topics create`"
    if code == KafkaError.INVALID_REPLICATION_FACTOR:
        return "set FRAUD_KAFKA_REPLICATION_FACTOR to at most the number of brokers"
    if code == KafkaError.MSG_SIZE_TOO_LARGE:
        return "the message is larger than the broker's message.max.bytes"
    if code in {KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED}:
        return "the broker refused this client: grant it access to the topic and group"
    return ""


def describe(error: KafkaError, bootstrap: str) -> str:
    """librdkafka's message, its code name, and the hint for it."""
    text = f"{error.str()} ({error.name()})"
    advice = hint(error.code(), bootstrap)
    return f"{text}; {advice}" if advice else text


def error_code(exc: KafkaException) -> int | None:
    """The librdkafka code carried by an exception, if any."""
    error = exc.args[0] if exc.args else None
    return error.code() if isinstance(error, KafkaError) else None


def broker_error(action: str, cause: KafkaException | KafkaError, bootstrap: str) -> BrokerError:
    """A readable BrokerError for ``action`` ("create topics", "produce to transactions")."""
    error = cause.args[0] if isinstance(cause, KafkaException) and cause.args else cause
    if isinstance(error, KafkaError):
        return BrokerError(f"cannot {action}: {describe(error, bootstrap)}")
    return BrokerError(f"cannot {action}: {error}")


class ClientErrors:
    """librdkafka's ``error_cb``: reports client-level failures once per change, keeps the fatal.

    A broker that stays down makes librdkafka call back every few hundred milliseconds with the
    same ``_TRANSPORT`` error; one warning per change of error is enough. A fatal error (the
    idempotent producer lost its guarantees) is kept so that the next flush raises it.
    """

    def __init__(self, role: str, bootstrap: str) -> None:
        self.role = role
        self.bootstrap = bootstrap
        self.fatal: KafkaError | None = None
        self._last: int | None = None

    def __call__(self, error: KafkaError) -> None:
        if error.fatal():
            self.fatal = self.fatal or error
            log.error("kafka %s: fatal: %s", self.role, describe(error, self.bootstrap))
        elif error.code() != self._last:
            log.warning("kafka %s: %s", self.role, describe(error, self.bootstrap))
        self._last = error.code()


class _DropRepeatedFailures(logging.Filter):
    """Connection failures reach us through ``error_cb`` already (see ClientErrors)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (isinstance(args, tuple) and args and args[0] == "FAIL")


librdkafka_log = logging.getLogger("fraudstream.kafka.librdkafka")
"""Where librdkafka's own log lines go, instead of raw lines on stderr."""
librdkafka_log.addFilter(_DropRepeatedFailures())
