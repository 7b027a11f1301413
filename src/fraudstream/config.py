"""The settings of fraudstream: one object of sections, one section per component.

Read once at an entry point (a CLI command or an app factory) and passed down, each component
receiving only the section(s) it reads: the stream's ``Scorer`` sees ``StreamSettings``, not the
trainer's search budget or the launcher's heap size. Nothing else reads the environment.

Every field is an environment variable with the ``FRAUD_`` prefix, or a line of a ``.env``
file. A section reads its own variables under its own prefix (``StreamSettings.batch_size`` is
``FRAUD_STREAM_BATCH_SIZE``); a field whose historical name does not start with its section's
prefix names its variable as an alias (``TopicSettings.transactions`` is
``FRAUD_TOPIC_TRANSACTIONS``), so no variable changed name when the flat object became sections.
The defaults run the local stack of ``fraudstream up`` with no set-up at all. Secrets are
``SecretStr``: they print as ``**********`` in logs, reprs and errors.

``Settings(**overrides)`` and ``Settings.replace(**overrides)`` take the flat names (a
variable's name without ``FRAUD_``, lower case: ``kafka_bootstrap_servers=...``) and route each
to its section, so a caller never needs to know which section holds a knob.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from fraudstream.errors import ConfigError

ENV_PREFIX: Final = "FRAUD_"
ENV_FILE: Final = ".env"
LOCAL_DATABASE: Final = "fraudstream"
"""Database and owner role that the local server creates on its first start."""
LOCAL_READER_ROLE: Final = "fraudstream_reader"
"""Read-only role of the local server (SELECT on every table), for the dashboard."""
DEFAULT_HOME: Final = Path(".fraudstream")


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


class Section(BaseSettings):
    """One component's settings: read from ``FRAUD_*`` variables and ``.env``, then frozen."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Each field's environment variable: its alias, else the section's prefix + its name."""
        prefix = str(cls.model_config.get("env_prefix", ENV_PREFIX))
        return {
            name: str(field.validation_alias or prefix + name).upper()
            for name, field in cls.model_fields.items()
            if not (isinstance(field.annotation, type) and issubclass(field.annotation, Section))
        }


# -- Kafka --------------------------------------------------------------------------------------
class KafkaSettings(Section):
    """Where the brokers are and how long a client waits for them."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_KAFKA_")

    port: int = Field(
        default=9092, ge=1, le=65535, description="Port of the local broker of `fraudstream up`."
    )
    bootstrap_servers: str = Field(
        default_factory=lambda data: f"127.0.0.1:{data['port']}",
        description="Set it to use any external Kafka; unset, the local broker is used.",
    )
    timeout_seconds: float = Field(
        default=30.0, gt=0, description="Admin calls, metadata waits and flushes give up after it."
    )
    delivery_timeout_seconds: float = Field(
        default=120.0, gt=0, description="A produced message that is not stored by then fails."
    )


class TopicSettings(Section):
    """The five topics: their names, and the partitions they are created with."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_TOPIC_")

    transactions: str = "transactions"
    verdicts: str = "verdicts"
    dlq: str = "transactions.dlq"
    labels: str = "labels"
    model_events: str = "model-events"
    replication_factor: int = Field(
        default=1, ge=1, validation_alias="FRAUD_KAFKA_REPLICATION_FACTOR"
    )
    transactions_partitions: int = Field(
        default=6, ge=1, validation_alias="FRAUD_TRANSACTIONS_PARTITIONS"
    )
    verdicts_partitions: int = Field(default=6, ge=1, validation_alias="FRAUD_VERDICTS_PARTITIONS")
    other_partitions: int = Field(
        default=1,
        ge=1,
        validation_alias="FRAUD_OTHER_PARTITIONS",
        description="dlq, labels, model-events.",
    )


# -- PostgreSQL ---------------------------------------------------------------------------------
class DatabaseSettings(Section):
    """Which PostgreSQL: the local server of ``fraudstream up`` unless a URL names another."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_DATABASE_")

    port: int = Field(
        default=5432,
        ge=1,
        le=65535,
        validation_alias="FRAUD_POSTGRES_PORT",
        description="Port of the local server of `fraudstream up`.",
    )
    url: SecretStr = Field(
        default_factory=lambda data: SecretStr(local_database_url(data["port"])),
        description="Set it to use any external PostgreSQL; unset, the local server is used.",
    )
    readonly_url: SecretStr | None = Field(
        default=None, description="Dashboard connection; a read-only role. Defaults to ours."
    )
    pool_size: int = Field(default=4, ge=1)
    timeout_seconds: float = Field(
        default=10.0, gt=0, description="Connect and statement timeout of the repository."
    )

    @property
    def safe_url(self) -> str:
        """The database URL with its password hidden, for logs and status lines."""
        return mask_url(self.url.get_secret_value())

    @property
    def is_local(self) -> bool:
        """True unless FRAUD_DATABASE_URL names a server: then the stack launches none."""
        return "url" not in self.model_fields_set

    @property
    def reader_url(self) -> SecretStr:
        """The dashboard's connection: the read-only role of the local server unless set."""
        if self.readonly_url is not None:
            return self.readonly_url
        if self.is_local:
            return SecretStr(local_database_url(self.port, role=LOCAL_READER_ROLE))
        return self.url


# -- MLflow and S3 ------------------------------------------------------------------------------
class S3Settings(Section):
    """An S3-compatible object store: model artifacts and s3:// data sources."""

    s3_endpoint_url: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_region: str = "us-east-1"


class RegistrySettings(Section):
    """The MLflow tracking server and model registry."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_MLFLOW_")

    home: Path = Field(
        default=DEFAULT_HOME,
        validation_alias="FRAUD_HOME",
        description="The state folder: the default store lives under it.",
    )
    tracking_uri: str = Field(
        default_factory=lambda data: (
            f"sqlite:///{(data['home'] / 'mlflow' / 'mlflow.db').resolve()}"
        ),
        description="Defaults to a SQLite store under home.",
    )
    artifact_root: str = Field(
        default_factory=lambda data: str((data["home"] / "mlflow" / "artifacts").resolve()),
        description="s3://bucket/prefix or a folder; defaults to a folder under home.",
    )
    model_name: str = Field(default="fraudstream", validation_alias="FRAUD_MODEL_NAME")
    experiment: str = Field(default="fraudstream", description="Experiment of training runs.")
    s3: S3Settings = Field(
        default_factory=S3Settings,
        description="Where s3:// artifacts are: the same store as ``Settings.s3``.",
    )


# -- model service ------------------------------------------------------------------------------
class ServiceSettings(Section):
    """The model service: where it listens, what it accepts, where its clients call it."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_SERVICE_")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    url: str | None = Field(
        default=None,
        validation_alias="FRAUD_MODEL_SERVICE_URL",
        description="Where the stream calls the service; defaults to host:port.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias="FRAUD_API_KEY",
        description="Required in X-API-Key when set.",
    )
    max_batch: int = Field(default=10_000, ge=1)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    poll_seconds: float = Field(default=10.0, gt=0)
    cors_origins: list[str] = Field(default_factory=list)

    @property
    def base_url(self) -> str:
        """Base URL of the model service, as the stream processor calls it."""
        return self.url or f"http://{self.host}:{self.port}"


# -- stream processor ---------------------------------------------------------------------------
class StreamSettings(Section):
    """The stream processor: batching, retries, isolation, its Kafka transaction."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_STREAM_")

    app_id: str = "fraudstream-stream"
    batch_size: int = Field(default=2000, ge=1)
    batch_seconds: float = Field(
        default=0.0,
        ge=0,
        description="How long the scorer, once free and holding less than batch_size, waits "
        "for more before an attempt. 0 (the default): no wait, the batch is whatever is pending "
        "(dynamic batching: a lower p50 at every rate measured, and it holds 4,000 tx/s on 2 "
        "cores since Faust's fetch loop costs less; BENCHMARKS.md). A window trades latency "
        "for fewer, larger attempts where each attempt's fixed cost is high.",
    )
    max_pending: int = Field(default=20_000, ge=1)
    slow_attempt_seconds: float = Field(
        default=1.0,
        gt=0,
        description="An attempt that takes longer, or whose oldest transaction waited longer "
        "before it started, is logged with the time of each of its steps.",
    )
    session_timeout_seconds: float = Field(
        default=60.0,
        ge=6,
        description="A worker that stops heartbeating (killed, frozen) keeps its partitions this "
        "long before the group moves them (Faust's default). Lower means faster recovery from a "
        "crash and more risk of a needless rebalance on a starved machine.",
    )
    retry_base_seconds: float = Field(default=0.2, gt=0)
    retry_max_seconds: float = Field(default=5.0, gt=0)
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(
        default=3,
        ge=1,
        description="Times a message may fail alone (its content breaking a stage while a "
        "known-good transaction goes through) before it goes to the dead-letter topic. An "
        "outage never counts: it is retried for ever.",
    )
    transaction_timeout_seconds: float = Field(
        default=10.0,
        ge=1,
        description="Kafka transaction timeout: how long a worker that died in the middle of a "
        "commit can hold back read_committed consumers of the verdicts topic.",
    )
    web_port: int = Field(default=6066, ge=0, le=65535)
    loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop",
        description="The worker's event loop: uvloop costs Faust ~13 % less CPU per message "
        "(MEASURED.md); asyncio is the fallback where uvloop is not installed.",
    )
    fast_drain: bool = Field(
        default=True,
        description="Faust's fetch loop hands a message straight to the stream when that cannot "
        "wait, instead of racing every delivery against a rebalance (stream_processor/drain.py, "
        "docs/faust-drain.md). false: Faust's own loop, unchanged.",
    )
    metrics_port: int = Field(
        default=9108,
        ge=1,
        le=65535,
        description="Prometheus port of the stream of `fraudstream up`.",
    )


# -- simulator and producer ---------------------------------------------------------------------
class SimulatorSettings(Section):
    """The simulated population and its fraud, and the real rows it is calibrated against."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_SIM_")

    seed: int = 42
    customers: int = Field(default=2000, ge=1)
    merchants: int = Field(default=700, ge=14)
    fraud_rate: float = Field(default=0.005, ge=0, le=0.5)
    label_delay_days: float = Field(default=3.0, ge=0)
    drift_at: datetime | None = Field(
        default=None, description="Simulated time from which the feed of `up` drifts."
    )
    drift_scenario: str = Field(
        default="card_testing", description="The fraud pattern that appears at drift_at."
    )
    real_data: Path | None = Field(
        default=None,
        validation_alias="FRAUD_REAL_DATA",
        description="Real Sparkov rows (Kaggle layout) for calibration and fidelity.",
    )


class ProducerSettings(Section):
    """The producer: its pace, and how it reads files and feeds."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_PRODUCE_")

    rate: float = Field(default=200.0, ge=0, description="Transactions/s; 0 = unpaced.")
    chunk_rows: int = Field(default=50_000, ge=1, description="File replay reads so many.")
    feed_timeout_seconds: float = Field(default=5.0, gt=0, description="One feed GET.")
    retry_base_seconds: float = Field(default=0.5, gt=0, description="Feed backoff.")
    retry_max_seconds: float = Field(default=10.0, gt=0, description="Feed backoff cap.")


# -- trainer ------------------------------------------------------------------------------------
class TrainerSettings(Section):
    """How the trainer splits, searches and picks a threshold."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_TRAIN_")

    validation_fraction: float = Field(default=0.2, gt=0, lt=1)
    test_fraction: float = Field(
        default=0.2, gt=0, lt=1, description="The latest rows, held out for the final metrics."
    )
    search_seconds: float = Field(default=120.0, ge=0)
    min_frauds: int = Field(default=5, ge=1, description="In each time slice.")
    search_rows: int = Field(
        default=250_000,
        ge=0,
        description="Benchmark and search on the latest N training rows (0: all); the winner "
        "is then refitted on every training row.",
    )
    threads: int = Field(default=0, ge=0, description="0 uses every core.")
    seed: int = 42
    threshold_strategy: Literal["f1", "precision", "budget"] = Field(
        default="f1", validation_alias="FRAUD_THRESHOLD_STRATEGY"
    )
    threshold_target_precision: float = Field(
        default=0.9, gt=0, le=1, validation_alias="FRAUD_THRESHOLD_TARGET_PRECISION"
    )
    threshold_review_budget: float = Field(
        default=0.005,
        gt=0,
        lt=1,
        validation_alias="FRAUD_THRESHOLD_REVIEW_BUDGET",
        description="Share of transactions analysts can review.",
    )


# -- champion / challenger and monitoring -------------------------------------------------------
class ChallengerSettings(Section):
    """The champion/challenger job: its window, its decision rule, its retraining."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_CHALLENGER_")

    metric: Literal["pr_auc", "cost", "cp_at_k", "amount_at_k"] = Field(
        default="pr_auc",
        description="pr_auc; cost: fraud amount caught minus review cost per flagged row; "
        "cp_at_k: card precision top-k per day (share of fraud cards among the k a day ranked "
        "highest, averaged over the days); amount_at_k: fraud amount of those top-k cards.",
    )
    window_days: float = Field(
        default=14.0, gt=0, description="Labelled transaction time both models are scored on."
    )
    label_wait_days: float = Field(
        default=3.0, ge=0, description="The window ends this long before the latest transaction."
    )
    min_frauds: int = Field(
        default=30, ge=1, description="Fewer labelled frauds in the window: no decision."
    )
    margin: float = Field(
        default=0.0,
        ge=0,
        description="The challenger wins when the low end of the metric difference's CI beats "
        "it (metric units: PR-AUC, CP@k, or money for cost and amount_at_k).",
    )
    bootstrap: int = Field(default=500, ge=50, description="Paired bootstrap draws.")
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    seed: int = Field(default=7, description="Bootstrap seed: same data, same decision.")
    review_cost: float = Field(
        default=5.0, ge=0, description="Cost of reviewing one flagged transaction (cost metric)."
    )
    cards_per_day: int = Field(
        default=20,
        ge=1,
        description="k of cp_at_k and amount_at_k: cards the fraud team reviews a day. The "
        "default simulator (2,000 cards) has about 1,700 active cards and 6 fraud cards a day "
        "(12 on the worst day of 54): 20 is about 1 % of the day's cards, one analyst-day at "
        "20 minutes a card, and above the busiest day's fraud cards, so a perfect ranking is "
        "never capped by the budget while a model must still put the frauds in the top 1 %.",
    )
    every: str = Field(default="10m", description="Period of `challenger schedule`.")
    history_days: float = Field(
        default=30.0,
        ge=0,
        description="Card history read before the window when both models are scored offline.",
    )
    shadow_coverage: float = Field(
        default=0.95,
        gt=0,
        le=1,
        description="Stored scores (verdict + shadow) are used when they cover this share of "
        "the window's labelled rows; else both models are scored offline.",
    )
    retrain: bool = Field(
        default=True, description="Retrain the loser after each decision as the new challenger."
    )
    train_days: float = Field(
        default=30.0, gt=0, description="Recent labelled transaction time the loser retrains on."
    )
    train_history: str | None = Field(
        default=None,
        description="A data source (file, s3://, sim://, db://labelled...) whose earlier rows "
        "are added to the recent ones for retraining.",
    )
    search_seconds: float = Field(
        default=30.0, ge=0, description="Search budget of a retraining (FRAUD_TRAIN_* otherwise)."
    )
    metrics_port: int = Field(
        default=9110, ge=0, le=65535, description="Prometheus port of the scheduler; 0: none."
    )
    experiment: str = Field(
        default="fraudstream-challenger", description="MLflow experiment of the decisions."
    )


class DriftSettings(Section):
    """Drift monitoring: the window compared with a model's reference, and when it drifted."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_DRIFT_")

    window_days: float = Field(
        default=7.0,
        gt=0,
        description="Recent transaction time compared with the reference (a whole week, so "
        "that weekdays compare).",
    )
    psi_threshold: float = Field(
        default=0.25, gt=0, description="A feature (or the score) drifted above this PSI."
    )
    reference_rows: int = Field(
        default=5000, ge=100, description="Training rows kept with a model as drift reference."
    )


# -- dashboard ----------------------------------------------------------------------------------
DashboardRole = Literal["viewer", "analyst", "admin"]
"""What a dashboard user may do, lowest first: see the pages; also review; also manage users."""


class DashboardSettings(Section):
    """The Streamlit dashboard: where it listens, who may sign in, and how."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_DASHBOARD_")

    host: str = Field(default="127.0.0.1", description="0.0.0.0 in a container.")
    port: int = Field(default=8501, ge=1, le=65535)
    refresh_seconds: float = Field(
        default=10.0, ge=0, description="Pages re-query this often (0: only on interaction)."
    )
    home: Path = Field(
        default=DEFAULT_HOME,
        validation_alias="FRAUD_HOME",
        description="The state folder: the users file and the sign-in cookie secret live in it.",
    )
    users_file: Path = Field(
        default_factory=lambda data: (data["home"] / "dashboard-users.toml").resolve(),
        description="Names, roles and argon2 hashes of the users who sign in with a password; "
        "created with an admin, an analyst and a viewer on the dashboard's first start.",
    )
    oidc_client_id: str | None = Field(
        default=None,
        description="Set with the secret and the metadata URL, the sign-in page also offers "
        "the identity provider (Streamlit's st.login).",
    )
    oidc_client_secret: SecretStr | None = None
    oidc_server_metadata_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="The provider's .well-known/openid-configuration address.",
    )
    oidc_redirect_uri: str = Field(
        default_factory=lambda data: f"http://{data['host']}:{data['port']}/oauth2callback",
        pattern=r"^https?://.+/oauth2callback$",
        description="The address the provider sends users back to (registered with it).",
    )
    oidc_cookie_secret: SecretStr | None = Field(
        default=None,
        description="Signs the sign-in cookie; unset, one is generated and kept under home.",
    )
    oidc_roles: Annotated[dict[str, DashboardRole], NoDecode] = Field(
        default_factory=dict,
        description="Roles of provider users by e-mail: "
        "alice@example.com=analyst,bob@example.com=admin.",
    )
    oidc_default_role: DashboardRole | Literal["none"] = Field(
        default="viewer",
        description="Role of every other user the provider signs in; none turns them away.",
    )

    @field_validator("oidc_roles", mode="before")
    @classmethod
    def _role_pairs(cls, value: object) -> object:
        """``e-mail=role`` pairs separated by commas; e-mails compared in lower case."""
        if isinstance(value, dict):
            return {str(email).strip().lower(): role for email, role in value.items()}
        if not isinstance(value, str):
            return value
        pairs: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            email, equals, role = item.rpartition("=")
            if not equals or not email.strip():
                raise ValueError(f"{item!r} is not e-mail=role")
            pairs[email.strip().lower()] = role.strip()
        return pairs


# -- the local stack of `fraudstream up` --------------------------------------------------------
class LocalSettings(Section):
    """What only the launcher of the bare-machine stack reads: never a service's concern."""

    kafka_version: str = Field(default="4.1.1", description="Broker version the launcher fetches.")
    kafka_heap: str = Field(
        default="1g",
        description="The local broker's JVM heap, fixed (-Xms = -Xmx), as Kafka's own start script "
        "sets it; at 256m its young collections put the stream's transactions' p99 at 1.5x "
        "(decision 26).",
    )
    postgres_os_user: str = Field(
        default="fraudstream",
        description="System user that runs the local server when started as root.",
    )
    mlflow_port: int = Field(
        default=5000, ge=1, le=65535, description="Port of the MLflow server of `fraudstream up`."
    )
    up_train_rows: int = Field(
        default=200_000, ge=10_000, description="Simulated rows of the first champion of `up`."
    )


class Settings(Section):
    """Every knob of fraudstream, with local defaults, in one section per component.

    ``home``, ``cache_dir``, ``log_level``, ``freeze_heap`` and ``gc_young_threshold`` are the
    few that every process shares.
    """

    home: Path = Field(default=DEFAULT_HOME, description="State folder of the local stack.")
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "fraudstream",
        description="Downloaded build inputs (Kafka jars); shared by every state folder.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    freeze_heap: bool = Field(
        default=True,
        description="A stream worker and the model service set what they hold once started "
        "aside from Python's cyclic garbage collector (fraudstream/heap.py): its full "
        "collections stop visiting ~150,000 objects (a worker) each time, 122 ms against 7-10 "
        "at 2,000 tx/s, the tail of the latency. "
        "false: every collection visits everything, as Python does by default.",
    )
    gc_young_threshold: int = Field(
        default=10_000,
        ge=100,
        le=1_000_000,
        description="Tracked objects a stream worker and the model service may gain before a "
        "young collection (gc.set_threshold's first value; Python's is 700). At 700 a worker "
        "collected 37 times a second under 2,000 tx/s (3 % of its time in pauses); at 10,000, "
        "8 times in 45 s, its p50 8-12 ms lower (fraudstream/heap.py, BENCHMARKS.md).",
    )
    kafka: KafkaSettings
    topics: TopicSettings
    database: DatabaseSettings
    s3: S3Settings
    registry: RegistrySettings
    service: ServiceSettings
    stream: StreamSettings
    simulator: SimulatorSettings
    producer: ProducerSettings
    trainer: TrainerSettings
    challenger: ChallengerSettings
    drift: DriftSettings
    dashboard: DashboardSettings
    local: LocalSettings

    def __init__(self, _env_file: str | None = ENV_FILE, **overrides: Any) -> None:
        """Read every section from the environment; ``overrides`` are flat names (see module).

        A bad value is a ConfigError naming its variable, with the bad values of every section.
        """
        routed = _route(overrides)
        built: dict[str, Any] = {}
        problems: list[str] = []
        for name, section in sections().items():
            if name == "registry" and "s3" in built:
                routed["registry"]["s3"] = built["s3"]  # one S3 store for data and artifacts
            try:
                built[name] = section(_env_file=_env_file, **routed.get(name, {}))
            except ValidationError as exc:
                problems += _named(section, exc)
        if not problems:
            try:
                super().__init__(_env_file=_env_file, **routed.get("", {}), **built)
                return
            except ValidationError as exc:
                problems += _named(Settings, exc)
        raise ConfigError("invalid settings: " + "; ".join(problems))

    def replace(self, **overrides: Any) -> Settings:
        """A copy with flat-named values changed; defaults derived from others are not redone."""
        routed = _route(overrides)
        changes: dict[str, Any] = routed.pop("", {})
        for name, fields in routed.items():
            changes[name] = getattr(self, name).model_copy(update=fields)
        if "s3" in changes:
            registry = changes.get("registry", self.registry)
            changes["registry"] = registry.model_copy(update={"s3": changes["s3"]})
        return self.model_copy(update=changes)

    def value(self, name: str) -> object:
        """The value of a flat name (``value("topic_dlq")`` is ``topics.dlq``)."""
        if name not in _FLAT:
            raise TypeError(f"no setting is called {name!r} (FRAUD_{name.upper()})")
        section, field = _FLAT[name][0]
        return getattr(getattr(self, section) if section else self, field)

    def explicit(self) -> dict[str, object]:
        """Every value set by the environment or an override, by its variable's name."""
        found: dict[str, object] = {}
        for holder in (self, *(getattr(self, name) for name in sections())):
            variables = holder.env_names()
            for name in holder.model_fields_set & variables.keys():
                found[variables[name]] = getattr(holder, name)
        return found


@cache
def sections() -> dict[str, type[Section]]:
    """The sections of ``Settings`` by attribute name."""
    return {
        name: field.annotation
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, Section)
    }


def flat_names() -> dict[str, list[tuple[str, str]]]:
    """Every flat name (``FRAUD_X`` → ``x``) and the (section, field) pairs it sets.

    The section ``""`` is ``Settings`` itself. ``home`` sets three fields: the state folder, and
    the registry's default store and the dashboard's users file under it.
    """
    names: dict[str, list[tuple[str, str]]] = defaultdict(list)
    everything: dict[str, type[Section]] = {"": Settings, **sections()}
    for section_name, section in everything.items():
        for field_name, env_name in section.env_names().items():
            names[env_name.removeprefix(ENV_PREFIX).lower()].append((section_name, field_name))
    return dict(names)


_FLAT: Final = flat_names()


def _route(overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Flat-named values grouped by the section that holds each."""
    routed: dict[str, dict[str, Any]] = defaultdict(dict)
    for name, value in overrides.items():
        if name not in _FLAT:
            raise TypeError(f"no setting is called {name!r} (FRAUD_{name.upper()})")
        for section_name, field_name in _FLAT[name]:
            routed[section_name][field_name] = value
    return routed


def _named(section: type[Section], exc: ValidationError) -> list[str]:
    """Each error of a section, named by the variable a user would set."""
    env_names = section.env_names()
    by_alias = {name.lower(): name for name in env_names.values()}
    problems = []
    for err in exc.errors():
        where = str(err["loc"][0]) if err["loc"] else ""
        name = env_names.get(where) or by_alias.get(where.lower(), ENV_PREFIX + where.upper())
        problems.append(f"{name}: {err['msg']}")
    return problems


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and ``.env`` (the entry points' one call)."""
    return Settings(**overrides)
