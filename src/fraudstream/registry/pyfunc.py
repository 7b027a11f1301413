"""MLflow "model from code" entry: lets any pyfunc client (``mlflow models serve``,
``mlflow.pyfunc.load_model``) score a logged fraudstream model without unpickling anything.

MLflow executes this file when it loads the model (:func:`fraudstream.registry.runs.log_run`
logs a copy of it beside the artifact, and imports it only for its path and ARTIFACT_KEY). The
model service does not use it: it reads the artifact directly with
:func:`fraudstream.registry.load_model`, which also checks versions.
Input: a frame with the FEATURE_NAMES columns. Output: fraud scores in [0, 1].
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import numpy.typing as npt
import pandas as pd
from mlflow.pyfunc.model import PythonModel

from fraudstream.artifact import ScoringModel, read_artifact
from fraudstream.features import FEATURE_NAMES

ARTIFACT_KEY = "fraudstream"


class FraudstreamPyfunc(PythonModel):
    """Scores a FEATURE_NAMES frame with the artifact logged under ``artifacts/fraudstream``."""

    model: ScoringModel

    def load_context(self, context: Any) -> None:
        self.model = read_artifact(Path(context.artifacts[ARTIFACT_KEY]))

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> npt.NDArray[np.float64]:
        return self.model.score(model_input[list(FEATURE_NAMES)].to_numpy(dtype=np.float64))


mlflow.models.set_model(FraudstreamPyfunc())
