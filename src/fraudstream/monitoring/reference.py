"""The training reference of a model: what "no drift" looks like for it.

A drift report compares recent traffic with the data the serving model learnt from. The choice
made here: keep a **sample of the training rows' features** (``drift_reference_rows``, 5,000 by
default, drawn with a fixed seed) together with **the model's own scores on them** and the
training fraud rate, as one ``drift_reference.npz`` file in the model's MLflow run. A sample
rather than histograms, because KS needs values and PSI's bins are drawn from the reference's
quantiles at report time; 5,000 rows keep PSI and KS stable to about ±0.01 and weigh ~1 MB.

The challenger job writes it when it registers a model. A model registered by any other path
(``fraudstream train``, the first champion of ``fraudstream up``) gets it on its first report:
its training source (from the run's data report) is read again, featurised, sampled, and the
file is added to the run, so the cost is paid once per model version.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from fraudstream.errors import DataError, ModelIncompatible
from fraudstream.features import FEATURE_NAMES, FEATURE_VERSION

if TYPE_CHECKING:
    import pandas as pd

    from fraudstream.config import Settings
    from fraudstream.registry import Registry
    from fraudstream.trainer.artifact import ScoringModel

log = logging.getLogger(__name__)

REFERENCE_FILE: Final = "drift_reference.npz"


@dataclass(frozen=True)
class Reference:
    """A sample of a model's training rows: features, the model's scores, and the fraud rate."""

    features: npt.NDArray[np.float64]
    """Rows of the sample, columns in FEATURE_NAMES order."""
    scores: npt.NDArray[np.float64]
    fraud_rate: float
    """Share of frauds among all training rows (not only the sample)."""
    training_rows: int
    description: str
    """What the sample was drawn from, for the report (model, version, data source)."""

    def to_bytes(self) -> bytes:
        meta = {
            "feature_version": FEATURE_VERSION,
            "feature_names": list(FEATURE_NAMES),
            "fraud_rate": self.fraud_rate,
            "training_rows": self.training_rows,
            "description": self.description,
        }
        out = io.BytesIO()
        np.savez_compressed(
            out,
            features=self.features.astype(np.float32),
            scores=self.scores.astype(np.float32),
            meta=np.array(json.dumps(meta)),
        )
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Reference:
        with np.load(io.BytesIO(data)) as arrays:
            meta = json.loads(str(arrays["meta"]))
            if meta["feature_version"] != FEATURE_VERSION:
                raise ModelIncompatible(
                    f"the drift reference was built with feature version "
                    f"{meta['feature_version']}, this code computes {FEATURE_VERSION}"
                )
            return cls(
                features=arrays["features"].astype(np.float64),
                scores=arrays["scores"].astype(np.float64),
                fraud_rate=float(meta["fraud_rate"]),
                training_rows=int(meta["training_rows"]),
                description=str(meta["description"]),
            )


def sample_reference(
    features: npt.NDArray[np.float64],
    labels: npt.ArrayLike,
    model: ScoringModel,
    *,
    rows: int,
    description: str,
    seed: int = 0,
) -> Reference:
    """Draw the reference from a model's training features (every training row, in any order)."""
    y = np.asarray(labels)
    if len(features) == 0:
        raise DataError("a drift reference needs at least one training row")
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(features), size=min(rows, len(features)), replace=False))
    sample = np.asarray(features[take], dtype=np.float64)
    return Reference(
        features=sample,
        scores=model.score(sample),
        fraud_rate=float(np.mean(y == 1)),
        training_rows=len(features),
        description=description,
    )


def reference_from_frame(
    frame: pd.DataFrame, model: ScoringModel, *, rows: int, description: str
) -> Reference:
    """The reference of a model trained on ``frame`` (a prepared, labelled Kaggle frame)."""
    from fraudstream.features import batch_features
    from fraudstream.schema import LABEL_COLUMN

    features = batch_features(frame).to_numpy()
    return sample_reference(
        features, frame[LABEL_COLUMN].to_numpy(), model, rows=rows, description=description
    )


def save_reference(registry: Registry, run_id: str, reference: Reference) -> None:
    """Keep the reference with the model: a file of its MLflow run."""
    with tempfile.TemporaryDirectory(prefix="fraudstream-reference-") as tmp:
        path = Path(tmp) / REFERENCE_FILE
        path.write_bytes(reference.to_bytes())
        registry.log_run_file(run_id, path)


def reference_for(
    registry: Registry, version: str, model: ScoringModel, settings: Settings
) -> Reference:
    """The reference of a registered version: its run's file, else rebuilt from its training
    source and saved to the run (once per version). Raises DataError (e.g. SourceError) when
    neither is possible, with the reason."""
    run_id = registry.run_of(version)
    with tempfile.TemporaryDirectory(prefix="fraudstream-reference-") as tmp:
        stored = registry.run_file(run_id, REFERENCE_FILE, Path(tmp))
        if stored is not None:
            return Reference.from_bytes(stored.read_bytes())
        report = registry.run_file(run_id, "data_report.json", Path(tmp))
        if report is None:
            raise DataError(
                f"version {version} has neither a drift reference nor a data report to rebuild "
                "it from; retrain it with `fraudstream train`"
            )
        source = str(json.loads(report.read_text()).get("source", ""))
    log.info("building the drift reference of version %s from %s", version, source)
    reference = _rebuild(source, model, settings, f"version {version}, trained on {source}")
    save_reference(registry, run_id, reference)
    return reference


def _rebuild(source: str, model: ScoringModel, settings: Settings, description: str) -> Reference:
    from fraudstream.sources import read_frame
    from fraudstream.trainer.validation import prepare

    frame, _ = prepare(read_frame(source, settings), source)
    return reference_from_frame(
        frame, model, rows=settings.drift_reference_rows, description=description
    )
