"""Types shared by the Kafka wrapper and the code above it."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import confluent_kafka

ConfigValue: TypeAlias = str | int | float | bool
"""A librdkafka configuration value (``"lz4"``, ``20``, ``True``)."""

if TYPE_CHECKING:
    Message: TypeAlias = confluent_kafka.Message[bytes, bytes]
else:
    Message = confluent_kafka.Message
"""A consumed message: confluent-kafka's own, handed through uncopied (a copy would cost more
than the consume itself at 500k messages/s). Read it with ``key()``, ``value()``,
``partition()``, ``offset()``..."""
