"""Every FRAUD_* variable of the flat settings still lands in its field of the sections.

The table is the list of variables the flat ``Settings`` read before it became sections (and
those added since): a variable that changes name, or a field that stops reading its variable,
fails here.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from fraudstream.config import Settings, flat_names, load_settings
from fraudstream.errors import ConfigError

pytestmark = pytest.mark.unit

VARIABLES = [
    ("FRAUD_HOME", "/tmp/somewhere", "home"),
    ("FRAUD_CACHE_DIR", "/tmp/somewhere", "cache_dir"),
    ("FRAUD_LOG_LEVEL", "ERROR", "log_level"),
    ("FRAUD_FREEZE_HEAP", "false", "freeze_heap"),
    ("FRAUD_GC_YOUNG_THRESHOLD", "700", "gc_young_threshold"),
    ("FRAUD_KAFKA_PORT", "9093", "kafka.port"),
    ("FRAUD_KAFKA_BOOTSTRAP_SERVERS", "value-x", "kafka.bootstrap_servers"),
    ("FRAUD_KAFKA_VERSION", "value-x", "local.kafka_version"),
    ("FRAUD_KAFKA_HEAP", "value-x", "local.kafka_heap"),
    ("FRAUD_TOPIC_TRANSACTIONS", "value-x", "topics.transactions"),
    ("FRAUD_TOPIC_VERDICTS", "value-x", "topics.verdicts"),
    ("FRAUD_TOPIC_DLQ", "value-x", "topics.dlq"),
    ("FRAUD_TOPIC_LABELS", "value-x", "topics.labels"),
    ("FRAUD_TOPIC_MODEL_EVENTS", "value-x", "topics.model_events"),
    ("FRAUD_TRANSACTIONS_PARTITIONS", "7", "topics.transactions_partitions"),
    ("FRAUD_VERDICTS_PARTITIONS", "7", "topics.verdicts_partitions"),
    ("FRAUD_OTHER_PARTITIONS", "2", "topics.other_partitions"),
    ("FRAUD_KAFKA_REPLICATION_FACTOR", "2", "topics.replication_factor"),
    ("FRAUD_KAFKA_TIMEOUT_SECONDS", "30.01", "kafka.timeout_seconds"),
    ("FRAUD_KAFKA_DELIVERY_TIMEOUT_SECONDS", "120.01", "kafka.delivery_timeout_seconds"),
    ("FRAUD_POSTGRES_PORT", "5433", "database.port"),
    ("FRAUD_POSTGRES_OS_USER", "value-x", "local.postgres_os_user"),
    ("FRAUD_DATABASE_URL", "postgresql://u@db.example/x", "database.url"),
    ("FRAUD_DATABASE_READONLY_URL", "postgresql://u@db.example/x", "database.readonly_url"),
    ("FRAUD_DATABASE_POOL_SIZE", "5", "database.pool_size"),
    ("FRAUD_DATABASE_TIMEOUT_SECONDS", "10.01", "database.timeout_seconds"),
    ("FRAUD_MLFLOW_TRACKING_URI", "value-x", "registry.tracking_uri"),
    ("FRAUD_MLFLOW_ARTIFACT_ROOT", "value-x", "registry.artifact_root"),
    ("FRAUD_MODEL_NAME", "value-x", "registry.model_name"),
    ("FRAUD_MLFLOW_PORT", "5001", "local.mlflow_port"),
    ("FRAUD_S3_ENDPOINT_URL", "value-x", "s3.s3_endpoint_url"),
    ("FRAUD_AWS_ACCESS_KEY_ID", "s3cret", "s3.aws_access_key_id"),
    ("FRAUD_AWS_SECRET_ACCESS_KEY", "s3cret", "s3.aws_secret_access_key"),
    ("FRAUD_AWS_REGION", "value-x", "s3.aws_region"),
    ("FRAUD_SERVICE_HOST", "value-x", "service.host"),
    ("FRAUD_SERVICE_PORT", "8001", "service.port"),
    ("FRAUD_MODEL_SERVICE_URL", "value-x", "service.url"),
    ("FRAUD_API_KEY", "s3cret", "service.api_key"),
    ("FRAUD_SERVICE_MAX_BATCH", "10001", "service.max_batch"),
    ("FRAUD_SERVICE_MAX_BODY_BYTES", "16777217", "service.max_body_bytes"),
    ("FRAUD_SERVICE_POLL_SECONDS", "10.01", "service.poll_seconds"),
    ("FRAUD_SERVICE_CORS_ORIGINS", '["http://a.example"]', "service.cors_origins"),
    ("FRAUD_STREAM_APP_ID", "value-x", "stream.app_id"),
    ("FRAUD_STREAM_BATCH_SIZE", "2001", "stream.batch_size"),
    ("FRAUD_STREAM_BATCH_SECONDS", "0.05", "stream.batch_seconds"),
    ("FRAUD_STREAM_MAX_PENDING", "20001", "stream.max_pending"),
    ("FRAUD_STREAM_SLOW_ATTEMPT_SECONDS", "0.25", "stream.slow_attempt_seconds"),
    ("FRAUD_STREAM_SESSION_TIMEOUT_SECONDS", "60.01", "stream.session_timeout_seconds"),
    ("FRAUD_STREAM_RETRY_BASE_SECONDS", "0.21", "stream.retry_base_seconds"),
    ("FRAUD_STREAM_RETRY_MAX_SECONDS", "5.01", "stream.retry_max_seconds"),
    ("FRAUD_STREAM_REQUEST_TIMEOUT_SECONDS", "10.01", "stream.request_timeout_seconds"),
    ("FRAUD_STREAM_MAX_ATTEMPTS", "4", "stream.max_attempts"),
    ("FRAUD_STREAM_TRANSACTION_TIMEOUT_SECONDS", "10.01", "stream.transaction_timeout_seconds"),
    ("FRAUD_STREAM_WEB_PORT", "6067", "stream.web_port"),
    ("FRAUD_STREAM_LOOP", "asyncio", "stream.loop"),
    ("FRAUD_STREAM_FAST_DRAIN", "false", "stream.fast_drain"),
    ("FRAUD_STREAM_METRICS_PORT", "9109", "stream.metrics_port"),
    ("FRAUD_SIM_SEED", "43", "simulator.seed"),
    ("FRAUD_SIM_CUSTOMERS", "2001", "simulator.customers"),
    ("FRAUD_SIM_MERCHANTS", "701", "simulator.merchants"),
    ("FRAUD_SIM_FRAUD_RATE", "0.015", "simulator.fraud_rate"),
    ("FRAUD_SIM_LABEL_DELAY_DAYS", "3.01", "simulator.label_delay_days"),
    ("FRAUD_SIM_DRIFT_AT", "2019-01-02T00:00:00", "simulator.drift_at"),
    ("FRAUD_SIM_DRIFT_SCENARIO", "value-x", "simulator.drift_scenario"),
    ("FRAUD_REAL_DATA", "/tmp/somewhere", "simulator.real_data"),
    ("FRAUD_PRODUCE_RATE", "200.01", "producer.rate"),
    ("FRAUD_PRODUCE_CHUNK_ROWS", "50001", "producer.chunk_rows"),
    ("FRAUD_PRODUCE_FEED_TIMEOUT_SECONDS", "5.01", "producer.feed_timeout_seconds"),
    ("FRAUD_PRODUCE_RETRY_BASE_SECONDS", "0.51", "producer.retry_base_seconds"),
    ("FRAUD_PRODUCE_RETRY_MAX_SECONDS", "10.01", "producer.retry_max_seconds"),
    ("FRAUD_UP_TRAIN_ROWS", "200001", "local.up_train_rows"),
    ("FRAUD_TRAIN_VALIDATION_FRACTION", "0.21", "trainer.validation_fraction"),
    ("FRAUD_TRAIN_TEST_FRACTION", "0.21", "trainer.test_fraction"),
    ("FRAUD_TRAIN_SEARCH_SECONDS", "120.01", "trainer.search_seconds"),
    ("FRAUD_TRAIN_MIN_FRAUDS", "6", "trainer.min_frauds"),
    ("FRAUD_TRAIN_SEARCH_ROWS", "250001", "trainer.search_rows"),
    ("FRAUD_TRAIN_THREADS", "1", "trainer.threads"),
    ("FRAUD_TRAIN_SEED", "43", "trainer.seed"),
    ("FRAUD_MLFLOW_EXPERIMENT", "value-x", "registry.experiment"),
    ("FRAUD_THRESHOLD_STRATEGY", "budget", "trainer.threshold_strategy"),
    ("FRAUD_THRESHOLD_TARGET_PRECISION", "0.91", "trainer.threshold_target_precision"),
    ("FRAUD_THRESHOLD_REVIEW_BUDGET", "0.015", "trainer.threshold_review_budget"),
    ("FRAUD_CHALLENGER_METRIC", "cost", "challenger.metric"),
    ("FRAUD_CHALLENGER_WINDOW_DAYS", "14.01", "challenger.window_days"),
    ("FRAUD_CHALLENGER_LABEL_WAIT_DAYS", "3.01", "challenger.label_wait_days"),
    ("FRAUD_CHALLENGER_MIN_FRAUDS", "31", "challenger.min_frauds"),
    ("FRAUD_CHALLENGER_MARGIN", "0.01", "challenger.margin"),
    ("FRAUD_CHALLENGER_BOOTSTRAP", "501", "challenger.bootstrap"),
    ("FRAUD_CHALLENGER_CONFIDENCE", "0.96", "challenger.confidence"),
    ("FRAUD_CHALLENGER_SEED", "8", "challenger.seed"),
    ("FRAUD_CHALLENGER_REVIEW_COST", "5.01", "challenger.review_cost"),
    ("FRAUD_CHALLENGER_CARDS_PER_DAY", "21", "challenger.cards_per_day"),
    ("FRAUD_CHALLENGER_EVERY", "value-x", "challenger.every"),
    ("FRAUD_CHALLENGER_HISTORY_DAYS", "30.01", "challenger.history_days"),
    ("FRAUD_CHALLENGER_SHADOW_COVERAGE", "0.96", "challenger.shadow_coverage"),
    ("FRAUD_CHALLENGER_RETRAIN", "false", "challenger.retrain"),
    ("FRAUD_CHALLENGER_TRAIN_DAYS", "30.01", "challenger.train_days"),
    ("FRAUD_CHALLENGER_TRAIN_HISTORY", "value-x", "challenger.train_history"),
    ("FRAUD_CHALLENGER_SEARCH_SECONDS", "30.01", "challenger.search_seconds"),
    ("FRAUD_CHALLENGER_METRICS_PORT", "9111", "challenger.metrics_port"),
    ("FRAUD_CHALLENGER_EXPERIMENT", "value-x", "challenger.experiment"),
    ("FRAUD_DRIFT_WINDOW_DAYS", "7.01", "drift.window_days"),
    ("FRAUD_DRIFT_PSI_THRESHOLD", "0.26", "drift.psi_threshold"),
    ("FRAUD_DRIFT_REFERENCE_ROWS", "5001", "drift.reference_rows"),
    ("FRAUD_DASHBOARD_HOST", "value-x", "dashboard.host"),
    ("FRAUD_DASHBOARD_PORT", "8502", "dashboard.port"),
    ("FRAUD_DASHBOARD_REFRESH_SECONDS", "10.01", "dashboard.refresh_seconds"),
    ("FRAUD_DASHBOARD_USERS_FILE", "/tmp/somewhere", "dashboard.users_file"),
    ("FRAUD_DASHBOARD_OIDC_CLIENT_ID", "value-x", "dashboard.oidc_client_id"),
    ("FRAUD_DASHBOARD_OIDC_CLIENT_SECRET", "s3cret", "dashboard.oidc_client_secret"),
    (
        "FRAUD_DASHBOARD_OIDC_SERVER_METADATA_URL",
        "https://idp.example/.well-known/openid-configuration",
        "dashboard.oidc_server_metadata_url",
    ),
    (
        "FRAUD_DASHBOARD_OIDC_REDIRECT_URI",
        "https://dash.example/oauth2callback",
        "dashboard.oidc_redirect_uri",
    ),
    ("FRAUD_DASHBOARD_OIDC_COOKIE_SECRET", "s3cret", "dashboard.oidc_cookie_secret"),
    ("FRAUD_DASHBOARD_OIDC_ROLES", "a@example.com=admin", "dashboard.oidc_roles"),
    ("FRAUD_DASHBOARD_OIDC_DEFAULT_ROLE", "analyst", "dashboard.oidc_default_role"),
]


def _as_text(value: object) -> str:
    """A parsed setting written back the way the table writes it."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return json.dumps(value)
    if isinstance(value, dict):
        return ",".join(f"{key}={item}" for key, item in value.items())
    return str(value)


@pytest.mark.parametrize(("variable", "raw", "where"), VARIABLES)
def test_each_variable_lands_in_its_field(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str, where: str
) -> None:
    default = Settings(_env_file=None)
    monkeypatch.setenv(variable, raw)
    settings = Settings(_env_file=None)
    holder: object = settings
    *sections, field = where.split(".")
    for section in sections:
        holder = getattr(holder, section)
    assert _as_text(getattr(holder, field)) == raw
    before: object = default
    for section in sections:
        before = getattr(before, section)
    assert getattr(before, field) != getattr(holder, field)


def test_the_table_is_every_variable() -> None:
    listed = {variable.removeprefix("FRAUD_").lower() for variable, _, _ in VARIABLES}
    assert listed == set(flat_names())


def test_the_registry_reaches_the_same_s3_store_as_the_data_sources() -> None:
    settings = Settings(_env_file=None, s3_endpoint_url="http://s3.example")
    assert settings.registry.s3 == settings.s3
    changed = settings.replace(aws_region="eu-west-1")
    assert changed.registry.s3.aws_region == "eu-west-1"


def test_home_also_moves_the_default_registry_store(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, home=tmp_path)
    assert settings.registry.tracking_uri == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    assert settings.registry.artifact_root == str(tmp_path / "mlflow" / "artifacts")


def test_flat_overrides_route_to_their_section() -> None:
    settings = Settings(_env_file=None, kafka_bootstrap_servers="k:1", stream_batch_size=7)
    assert settings.kafka.bootstrap_servers == "k:1"
    assert settings.stream.batch_size == 7
    changed = settings.replace(kafka_timeout_seconds=2.0, model_service_url="http://svc")
    assert changed.kafka.timeout_seconds == 2.0
    assert changed.kafka.bootstrap_servers == "k:1"
    assert changed.service.base_url == "http://svc"
    assert settings.kafka.timeout_seconds == 30.0
    assert settings.value("stream_batch_size") == 7
    assert settings.value("kafka_bootstrap_servers") == "k:1"


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(TypeError, match="stream_batch_sise"):
        Settings(_env_file=None, stream_batch_sise=7)


def test_bad_values_of_several_sections_are_named_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRAUD_THRESHOLD_STRATEGY", "never")
    monkeypatch.setenv("FRAUD_STREAM_BATCH_SIZE", "0")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert "FRAUD_THRESHOLD_STRATEGY" in str(caught.value)
    assert "FRAUD_STREAM_BATCH_SIZE" in str(caught.value)
