"""The Models page's view of the registry: which version each alias names, and its test metrics.

Read-only, and careful not to hang or to create anything: a registry that does not answer
within a few seconds, or a local SQLite store that does not exist yet, is reported as such
instead of being waited for or created.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from fraudstream.config import Settings
from fraudstream.errors import RegistryError

if TYPE_CHECKING:
    import pandas as pd

METRICS: Final = ("test_pr_auc", "test_roc_auc")
"""The run metrics shown beside each alias (as the trainer logs them)."""
_HTTP_TIMEOUT_SECONDS: Final = "5"


def current_aliases(settings: Settings) -> pd.DataFrame:
    """One row per alias that names a version: version, when it was registered, its training
    run, model family and test metrics. Raises :class:`RegistryError` when the registry cannot
    be read; an alias that names nothing is simply absent."""
    import pandas as pd

    from fraudstream.registry import ALIASES, Registry

    uri = settings.tracking_uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        raise RegistryError(
            f"no MLflow store at {uri} yet; train a first model with `fraudstream train`, or set "
            "FRAUD_MLFLOW_TRACKING_URI to the registry the model service uses"
        )
    # MLflow's HTTP client retries for minutes by default; a dashboard must answer now.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", _HTTP_TIMEOUT_SECONDS)
    from mlflow.exceptions import MlflowException

    registry = Registry(settings)
    rows: list[dict[str, Any]] = []
    for alias in ALIASES:
        version = registry.get_alias_version(alias)
        if version is None:
            continue
        try:
            found = registry.client.get_model_version(registry.name, version)
            run = registry.client.get_run(str(found.run_id))
        except (MlflowException, OSError) as exc:
            raise RegistryError(f"cannot read {alias} version {version} from {uri}: {exc}") from exc
        row: dict[str, Any] = {
            "alias": alias,
            "version": version,
            # naive UTC, as every time the dashboard shows (see dashboard.db)
            "registered_at": datetime.fromtimestamp(found.creation_timestamp / 1000, UTC).replace(
                tzinfo=None
            ),
            "family": run.data.tags.get("family", ""),
            "run_id": found.run_id,
        }
        row |= {name: run.data.metrics.get(name) for name in METRICS}
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["alias", "version", "registered_at", "family", "run_id", *METRICS]
    )
