"""The one settings object of fraudstream.

Read once at an entry point (a CLI command or an app factory) and passed down; nothing else
reads the environment. Every field is an environment variable with the ``FRAUD_`` prefix
(``database_url`` is ``FRAUD_DATABASE_URL``), or a line of a ``.env`` file. The defaults run the
local stack of ``fraudstream up`` with no set-up at all. Secrets are ``SecretStr``: they print
as ``**********`` in logs, reprs and errors.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from fraudstream.errors import ConfigError

ENV_PREFIX = "FRAUD_"
LOCAL_DATABASE: Final = "fraudstream"
"""Database and owner role that the local server creates on its first start."""
LOCAL_READER_ROLE: Final = "fraudstream_reader"
"""Read-only role of the local server (SELECT on every table), for the dashboard."""


def local_database_url(port: int, *, role: str = LOCAL_DATABASE) -> str:
    """Where the local server of ``fraudstream up`` answers (loopback, no password: trust)."""
    return f"postgresql://{role}@127.0.0.1:{port}/{LOCAL_DATABASE}"


def mask_url(url: str) -> str:
    """Hide the password of a URL, keep the rest readable for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else f"***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


class Settings(BaseSettings):
    """Every knob of fraudstream, with local defaults."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    # -- the local state folder (Kafka data, PostgreSQL data, MLflow store, logs) ---------------
    home: Path = Field(default=Path(".fraudstream"), description="State folder of the local stack.")
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "fraudstream",
        description="Downloaded build inputs (Kafka jars); shared by every state folder.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # -- Kafka ----------------------------------------------------------------------------------
    kafka_port: int = Field(
        default=9092, ge=1, le=65535, description="Port of the local broker of `fraudstream up`."
    )
    kafka_bootstrap_servers: str = Field(
        default_factory=lambda data: f"127.0.0.1:{data['kafka_port']}",
        description="Set it to use any external Kafka; unset, the local broker is used.",
    )
    kafka_version: str = Field(default="4.1.1", description="Broker version the launcher fetches.")
    kafka_heap: str = "256m"
    topic_transactions: str = "transactions"
    topic_verdicts: str = "verdicts"
    topic_dlq: str = "transactions.dlq"
    topic_labels: str = "labels"
    topic_model_events: str = "model-events"
    transactions_partitions: int = Field(default=6, ge=1)
    verdicts_partitions: int = Field(default=6, ge=1)
    other_partitions: int = Field(default=1, ge=1, description="dlq, labels, model-events.")
    kafka_replication_factor: int = Field(default=1, ge=1, description="Of the five topics.")
    kafka_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Admin calls, metadata waits and flushes give up after it."
    )
    kafka_delivery_timeout_seconds: float = Field(
        default=120.0, gt=0, description="A produced message that is not stored by then fails."
    )

    # -- PostgreSQL -----------------------------------------------------------------------------
    postgres_port: int = Field(
        default=5432, ge=1, le=65535, description="Port of the local server of `fraudstream up`."
    )
    postgres_os_user: str = Field(
        default="fraudstream",
        description="System user that runs the local server when started as root.",
    )
    database_url: SecretStr = Field(
        default_factory=lambda data: SecretStr(local_database_url(data["postgres_port"])),
        description="Set it to use any external PostgreSQL; unset, the local server is used.",
    )
    database_readonly_url: SecretStr | None = Field(
        default=None, description="Dashboard connection; a read-only role. Defaults to ours."
    )
    database_pool_size: int = Field(default=4, ge=1)
    database_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Connect and statement timeout of the repository."
    )

    # -- MLflow and S3 --------------------------------------------------------------------------
    mlflow_tracking_uri: str | None = Field(
        default=None, description="Defaults to a SQLite store under home."
    )
    mlflow_artifact_root: str | None = Field(
        default=None, description="s3://bucket/prefix or a folder; defaults to a folder under home."
    )
    model_name: str = "fraudstream"
    mlflow_port: int = Field(
        default=5000, ge=1, le=65535, description="Port of the MLflow server of `fraudstream up`."
    )
    s3_endpoint_url: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_region: str = "us-east-1"

    # -- model service --------------------------------------------------------------------------
    service_host: str = "127.0.0.1"
    service_port: int = Field(default=8000, ge=1, le=65535)
    model_service_url: str | None = Field(
        default=None, description="Where the stream calls the service; defaults to host:port."
    )
    api_key: SecretStr | None = Field(default=None, description="Required in X-API-Key when set.")
    service_max_batch: int = Field(default=10_000, ge=1)
    service_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    service_poll_seconds: float = Field(default=10.0, gt=0)
    service_cors_origins: list[str] = Field(default_factory=list)

    # -- stream processor -----------------------------------------------------------------------
    stream_app_id: str = "fraudstream-stream"
    stream_batch_size: int = Field(default=2000, ge=1)
    stream_batch_seconds: float = Field(
        default=0.05, gt=0, description="Longest wait for a micro-batch to fill."
    )
    stream_max_pending: int = Field(default=20_000, ge=1)
    stream_session_timeout_seconds: float = Field(
        default=60.0,
        ge=6,
        description="A worker that stops heartbeating (killed, frozen) keeps its partitions this "
        "long before the group moves them (Faust's default). Lower means faster recovery from a "
        "crash and more risk of a needless rebalance on a starved machine.",
    )
    stream_retry_base_seconds: float = Field(default=0.2, gt=0)
    stream_retry_max_seconds: float = Field(default=5.0, gt=0)
    stream_request_timeout_seconds: float = Field(default=10.0, gt=0)
    stream_max_attempts: int = Field(
        default=3,
        ge=1,
        description="Times a message may fail alone (its content breaking a stage while a "
        "known-good transaction goes through) before it goes to the dead-letter topic. An "
        "outage never counts: it is retried for ever.",
    )
    stream_transaction_timeout_seconds: float = Field(
        default=10.0,
        ge=1,
        description="Kafka transaction timeout: how long a worker that died in the middle of a "
        "commit can hold back read_committed consumers of the verdicts topic.",
    )
    stream_web_port: int = Field(default=6066, ge=0, le=65535)
    stream_metrics_port: int = Field(
        default=9108,
        ge=1,
        le=65535,
        description="Prometheus port of the stream of `fraudstream up`.",
    )

    # -- simulator and producer -----------------------------------------------------------------
    sim_seed: int = 42
    sim_customers: int = Field(default=2000, ge=1)
    sim_merchants: int = Field(default=700, ge=14)
    sim_fraud_rate: float = Field(default=0.005, ge=0, le=0.5)
    sim_label_delay_days: float = Field(default=3.0, ge=0)
    sim_drift_at: datetime | None = Field(
        default=None, description="Simulated time from which the feed of `up` drifts."
    )
    sim_drift_scenario: str = Field(
        default="card_testing", description="The fraud pattern that appears at sim_drift_at."
    )
    real_data: Path | None = Field(
        default=None, description="Real Sparkov rows (Kaggle layout) for calibration and fidelity."
    )
    produce_rate: float = Field(default=200.0, ge=0, description="Transactions/s; 0 = unpaced.")
    produce_chunk_rows: int = Field(default=50_000, ge=1, description="File replay reads so many.")
    produce_feed_timeout_seconds: float = Field(default=5.0, gt=0, description="One feed GET.")
    produce_retry_base_seconds: float = Field(default=0.5, gt=0, description="Feed backoff.")
    produce_retry_max_seconds: float = Field(default=10.0, gt=0, description="Feed backoff cap.")
    up_train_rows: int = Field(
        default=200_000, ge=10_000, description="Simulated rows of the first champion of `up`."
    )

    # -- trainer --------------------------------------------------------------------------------
    train_validation_fraction: float = Field(default=0.2, gt=0, lt=1)
    train_test_fraction: float = Field(
        default=0.2, gt=0, lt=1, description="The latest rows, held out for the final metrics."
    )
    train_search_seconds: float = Field(default=120.0, ge=0)
    train_min_frauds: int = Field(default=5, ge=1, description="In each time slice.")
    train_search_rows: int = Field(
        default=250_000,
        ge=0,
        description="Benchmark and search on the latest N training rows (0: all); the winner "
        "is then refitted on every training row.",
    )
    train_threads: int = Field(default=0, ge=0, description="0 uses every core.")
    train_seed: int = 42
    mlflow_experiment: str = "fraudstream"
    threshold_strategy: Literal["f1", "precision", "budget"] = "f1"
    threshold_target_precision: float = Field(default=0.9, gt=0, le=1)
    threshold_review_budget: float = Field(
        default=0.005, gt=0, lt=1, description="Share of transactions analysts can review."
    )

    # -- champion / challenger and monitoring ---------------------------------------------------
    challenger_metric: Literal["pr_auc", "cost"] = Field(
        default="pr_auc",
        description="pr_auc, or cost: fraud amount caught minus review cost per flagged row.",
    )
    challenger_window_days: float = Field(
        default=14.0, gt=0, description="Labelled transaction time both models are scored on."
    )
    challenger_label_wait_days: float = Field(
        default=3.0, ge=0, description="The window ends this long before the latest transaction."
    )
    challenger_min_frauds: int = Field(
        default=30, ge=1, description="Fewer labelled frauds in the window: no decision."
    )
    challenger_margin: float = Field(
        default=0.0,
        ge=0,
        description="The challenger wins when the low end of the metric difference's CI beats "
        "it (metric units: PR-AUC, or money for cost).",
    )
    challenger_bootstrap: int = Field(default=500, ge=50, description="Paired bootstrap draws.")
    challenger_confidence: float = Field(default=0.95, gt=0.5, lt=1)
    challenger_seed: int = Field(default=7, description="Bootstrap seed: same data, same decision.")
    challenger_review_cost: float = Field(
        default=5.0, ge=0, description="Cost of reviewing one flagged transaction (cost metric)."
    )
    challenger_every: str = Field(default="10m", description="Period of `challenger schedule`.")
    challenger_history_days: float = Field(
        default=30.0,
        ge=0,
        description="Card history read before the window when both models are scored offline.",
    )
    challenger_shadow_coverage: float = Field(
        default=0.95,
        gt=0,
        le=1,
        description="Stored scores (verdict + shadow) are used when they cover this share of "
        "the window's labelled rows; else both models are scored offline.",
    )
    challenger_retrain: bool = Field(
        default=True, description="Retrain the loser after each decision as the new challenger."
    )
    challenger_train_days: float = Field(
        default=30.0, gt=0, description="Recent labelled transaction time the loser retrains on."
    )
    challenger_train_history: str | None = Field(
        default=None,
        description="A data source (file, s3://, sim://, db://labelled...) whose earlier rows "
        "are added to the recent ones for retraining.",
    )
    challenger_search_seconds: float = Field(
        default=30.0, ge=0, description="Search budget of a retraining (FRAUD_TRAIN_* otherwise)."
    )
    challenger_metrics_port: int = Field(
        default=9110, ge=0, le=65535, description="Prometheus port of the scheduler; 0: none."
    )
    challenger_experiment: str = Field(
        default="fraudstream-challenger", description="MLflow experiment of the decisions."
    )
    drift_window_days: float = Field(
        default=7.0,
        gt=0,
        description="Recent transaction time compared with the reference (a whole week, so "
        "that weekdays compare).",
    )
    drift_psi_threshold: float = Field(
        default=0.25, gt=0, description="A feature (or the score) drifted above this PSI."
    )
    drift_reference_rows: int = Field(
        default=5000, ge=100, description="Training rows kept with a model as drift reference."
    )

    # -- dashboard ------------------------------------------------------------------------------
    dashboard_host: str = Field(default="127.0.0.1", description="0.0.0.0 in a container.")
    dashboard_port: int = Field(default=8501, ge=1, le=65535)
    dashboard_refresh_seconds: float = Field(
        default=10.0, ge=0, description="Pages re-query this often (0: only on interaction)."
    )

    @cached_property
    def tracking_uri(self) -> str:
        """The MLflow tracking URI, a SQLite file under ``home`` unless set."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.home / 'mlflow' / 'mlflow.db').resolve()}"

    @cached_property
    def artifact_root(self) -> str:
        """Where MLflow writes model files: S3 or a folder under ``home``."""
        return self.mlflow_artifact_root or str((self.home / "mlflow" / "artifacts").resolve())

    @cached_property
    def service_url(self) -> str:
        """Base URL of the model service, as the stream processor calls it."""
        return self.model_service_url or f"http://{self.service_host}:{self.service_port}"

    @cached_property
    def safe_database_url(self) -> str:
        """The database URL with its password hidden, for logs and status lines."""
        return mask_url(self.database_url.get_secret_value())

    @property
    def database_is_local(self) -> bool:
        """True unless FRAUD_DATABASE_URL names a server: then the stack launches none."""
        return "database_url" not in self.model_fields_set

    @cached_property
    def reader_database_url(self) -> SecretStr:
        """The dashboard's connection: the read-only role of the local server unless set."""
        if self.database_readonly_url is not None:
            return self.database_readonly_url
        if self.database_is_local:
            return SecretStr(local_database_url(self.postgres_port, role=LOCAL_READER_ROLE))
        return self.database_url


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment and ``.env``; a bad value is one readable ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ENV_PREFIX + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{name}: {err['msg']}")
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None
