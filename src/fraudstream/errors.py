"""The exception tree of what fraudstream's commands, workers and jobs can fail with.

Errors from the libraries underneath (confluent-kafka, asyncpg, mlflow, httpx, boto3) are caught
at the boundary that calls them and re-raised as one of these, ``from`` the original, so that no
foreign exception type leaks inward and every message says what the operator should do::

    FraudstreamError
    ├── ConfigError                 a setting is missing or malformed
    ├── DataError                   input data is unusable
    │   ├── InvalidTransaction      one transaction broke the schema (names the fields)
    │   ├── SourceError             a data source cannot be read (file, s3://, http(s)://)
    │   └── DataRefused             the data cannot train a model (no frauds, missing columns...)
    ├── InfrastructureError         a server the system needs did not answer
    │   ├── BrokerError             Kafka
    │   ├── StorageError            PostgreSQL
    │   │   ├── DatabaseUnavailable   down, unreachable or restarting: retry later
    │   │   ├── RowsRefused           the server refused the rows: a retry cannot succeed
    │   │   ├── StateConflict         a card's state moved under this worker: redo from fresh
    │   │   └── AlreadyStored         a write for new transactions met a stored one: nothing written
    │   └── RegistryError           MLflow tracking / registry
    ├── ModelError                  a model cannot be used
    │   ├── ModelNotFound           no version behind a name or alias
    │   ├── ModelIncompatible       library or feature-pipeline versions do not match
    │   └── NoDriftReference        the version was registered without its drift reference
    └── LocalStackError             the no-Docker launcher could not start or stop a component

Outside the tree, on purpose: the exceptions that live and die inside one HTTP request of the
model service (an empty or oversized batch, a body that is not JSON or breaks the schema, a
missing token, a service not ready yet; raised in :mod:`fraudstream.wire` and the
``model_service`` modules). Each is turned into its status and error body by
:mod:`fraudstream.model_service.problems` and never reaches an operator or another component.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class FraudstreamError(Exception):
    """Base of every error raised on purpose by fraudstream."""


class ConfigError(FraudstreamError):
    """A setting is missing or malformed; the message names the FRAUD_ variable to fix."""


class DataError(FraudstreamError):
    """Input data is unusable."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """What is wrong with one field of one record."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class InvalidTransaction(DataError):
    """A transaction broke the schema; ``problems`` names every bad field, not just the first."""

    def __init__(self, problems: Sequence[FieldProblem], *, index: int | None = None) -> None:
        self.problems = tuple(problems)
        self.index = index
        where = f"transaction {index}: " if index is not None else ""
        super().__init__(where + "; ".join(str(p) for p in self.problems))


class SourceError(DataError):
    """A data source (path, s3:// or http(s):// address) cannot be read."""


class DataRefused(DataError):
    """The data cannot train or evaluate a model; the message says why."""


class InfrastructureError(FraudstreamError):
    """A server that fraudstream needs did not answer as expected."""


class BrokerError(InfrastructureError):
    """Kafka did not answer, or refused an operation."""


class StorageError(InfrastructureError):
    """PostgreSQL did not answer, or refused an operation."""


class DatabaseUnavailable(StorageError):
    """PostgreSQL cannot be reached or is restarting; the same call may succeed later."""


class RowsRefused(StorageError):
    """PostgreSQL refused the rows themselves (a constraint, a value out of range): retrying the
    same rows cannot succeed, so a caller sets them aside instead of retrying forever.

    ``row``: the index of the refused row among those sent, when the server says which (a COPY
    names its line), so that a caller can set that one aside without searching for it.
    """

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


class StateConflict(StorageError):
    """A card's stored state changed since this worker read it (another worker, or a replay):
    the transaction was rolled back; redo the work from fresh state."""

    def __init__(self, cards: Sequence[int]) -> None:
        self.cards = tuple(cards)
        super().__init__(f"the state of {len(self.cards)} card(s) changed under this worker")


class AlreadyStored(StorageError):
    """A write meant for new transactions only met one whose verdict is stored (a message
    delivered again, or a producer's duplicate): the transaction was rolled back, nothing was
    written. The caller looks up what is stored and writes the rest the idempotent way."""


class RegistryError(InfrastructureError):
    """The MLflow tracking server or model registry did not answer, or refused an operation."""


class ModelError(FraudstreamError):
    """A model cannot be used."""


class ModelNotFound(ModelError):
    """No model version stands behind the requested name, version or alias."""


class ModelIncompatible(ModelError):
    """The model was built with library or feature versions this process cannot serve."""


class NoDriftReference(ModelError):
    """The version's run holds no drift reference (the trainer writes one with each model), so
    its drift cannot be measured; the monitor never rebuilds it from the training data."""


class LocalStackError(FraudstreamError):
    """The local (no-Docker) stack could not start, probe or stop a component."""
