"""The training reference of a model: what "no drift" looks like for it.

A drift report compares recent traffic with the data the serving model learnt from. The choice
made here: keep a **sample of the training rows' features** (``drift_reference_rows``, 5,000 by
default, drawn with a fixed seed) together with **the model's own scores on them** and the
training fraud rate, as one ``drift_reference.npz`` file in the model's MLflow run. A sample
rather than histograms, because KS needs values and PSI's bins are drawn from the reference's
quantiles at report time; 5,000 rows keep PSI and KS stable to about ±0.01 and weigh ~1 MB.

Training writes it, monitoring only reads it: ``fraudstream train`` (and so the first champion of
``fraudstream up``) and the challenger job's retraining add the file to the run they register
(:mod:`fraudstream.trainer.reference`), while the training rows are at hand. A version
registered without it (by an older release, or by logging a run without that step) has no drift
report: :func:`stored_reference` raises :class:`~fraudstream.errors.NoDriftReference` rather
than reading the training source again, which would make the monitor depend on the trainer's
data preparation and on a source that may have gone.
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from fraudstream.errors import DataError, ModelIncompatible, NoDriftReference
from fraudstream.features import FEATURE_NAMES, FEATURE_VERSION

if TYPE_CHECKING:
    import pandas as pd

    from fraudstream.artifact import ScoringModel
    from fraudstream.registry import Registry

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


def stored_reference(registry: Registry, version: str) -> Reference:
    """The reference saved in a registered version's run; NoDriftReference when it has none."""
    run_id = registry.run_of(version)
    with tempfile.TemporaryDirectory(prefix="fraudstream-reference-") as tmp:
        stored = registry.run_file(run_id, REFERENCE_FILE, Path(tmp))
        if stored is None:
            raise NoDriftReference(
                f"no drift reference for version {version}: its run {run_id} has no "
                f"{REFERENCE_FILE} (the trainer writes it); retrain the model with "
                "`fraudstream train` to monitor its drift"
            )
        return Reference.from_bytes(stored.read_bytes())
