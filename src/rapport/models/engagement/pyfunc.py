"""The MLflow pyfunc face of an `EngagementScorer`, so anyone can score a DataFrame with
plain MLflow: `mlflow.pyfunc.load_model("models:/rapport-engagement@champion").predict(df)`.

Imported only by `registry` (importing MLflow costs seconds); the scorer itself is an
artefact of the model (`artifacts/scorer.pkl`), so services load it without MLflow.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from rapport.models.engagement.scorer import EngagementScorer


class EngagementPyfunc(PythonModel):
    """`predict(frame)` -> calibrated probabilities; `.scorer` for factors and metadata."""

    scorer: EngagementScorer | None = None

    def load_context(self, context) -> None:
        self.scorer = EngagementScorer.load(context.artifacts["scorer"])

    def predict(
        self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> np.ndarray:
        if self.scorer is None:
            raise RuntimeError("model context not loaded")
        return self.scorer.predict_proba(model_input)
