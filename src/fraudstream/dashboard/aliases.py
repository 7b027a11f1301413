"""The Models page's view of the registry: which version each alias names, and its test metrics.

Read-only, and careful not to hang or to create anything:
:func:`fraudstream.registry.aliased_versions` reports a registry that does not answer within
seconds, or a local SQLite store that does not exist yet, instead of waiting for it or
creating it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from fraudstream.config import Settings

if TYPE_CHECKING:
    import pandas as pd

METRICS: Final = ("test_pr_auc", "test_roc_auc")
"""The run metrics shown beside each alias (as the trainer logs them)."""


def current_aliases(settings: Settings) -> pd.DataFrame:
    """One row per alias that names a version: version, when it was registered, its training
    run, model family and test metrics. Raises :class:`~fraudstream.errors.RegistryError` when
    the registry cannot be read; an alias that names nothing is simply absent."""
    import pandas as pd

    from fraudstream.registry import aliased_versions

    rows: list[dict[str, Any]] = []
    for found in aliased_versions(settings.registry):
        row: dict[str, Any] = {
            "alias": found.alias,
            "version": found.version,
            # naive UTC, as every time the dashboard shows (see storage.readonly)
            "registered_at": found.registered_at.replace(tzinfo=None),
            "family": found.tags.get("family", ""),
            "run_id": found.run_id,
        }
        row |= {name: found.metrics.get(name) for name in METRICS}
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["alias", "version", "registered_at", "family", "run_id", *METRICS]
    )
