"""The Hillstrom e-mail dataset (MineThatData, 64,000 customers): an outside check that the
engagement models learn who visits after an e-mail campaign.

The target is `visit` (two weeks after the campaign). Features are the pre-treatment
customer fields (recency, history, mens, womens, zip_code, newbie, channel) and the
randomised campaign `segment`; `conversion` and `spend` are outcomes and never features.
`history_segment` is a binned copy of `history` and is left out. The data lives outside
the product (`shared/data/hillstrom/hillstrom.csv`, found like other evaluation data);
without it these commands fail with a clear message and nothing else depends on it.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from rapport.core.config import Settings
from rapport.core.errors import NotFound, ValidationFailed, Violation
from rapport.models.engagement.features import FeatureSpec
from rapport.training.eval_matching import find_data_dir

MODEL_NAME = "rapport-engagement-hillstrom"
EXPERIMENT = "rapport-engagement-hillstrom"
TARGET = "visit"
OUTCOMES = ("visit", "conversion", "spend")
CUSTOMER_NUMERIC = ("recency", "history", "mens", "womens", "newbie")
CUSTOMER_CATEGORICAL = ("zip_code", "channel")

HILLSTROM_SPEC = FeatureSpec(
    version="hillstrom-1",
    numeric=CUSTOMER_NUMERIC,
    categorical=(*CUSTOMER_CATEGORICAL, "segment"),
    descriptions={
        "recency": "months since last purchase",
        "history": "dollars spent in the past year",
        "mens": "1 if bought men's merchandise in the past year",
        "womens": "1 if bought women's merchandise in the past year",
        "newbie": "1 if a new customer in the past twelve months",
        "zip_code": "Urban, Surburban or Rural",
        "channel": "Phone, Web or Multichannel purchases in the past year",
        "segment": "randomised campaign: Mens E-Mail, Womens E-Mail, No E-Mail",
    },
)
HILLSTROM_CUSTOMER_SPEC = FeatureSpec(
    version="hillstrom-customer-1",
    numeric=CUSTOMER_NUMERIC,
    categorical=CUSTOMER_CATEGORICAL,
    descriptions={k: v for k, v in HILLSTROM_SPEC.descriptions.items() if k != "segment"},
)


def find_hillstrom(explicit: str = "", settings: Settings | None = None) -> Path:
    """The CSV: `explicit` may be the file or a folder holding `hillstrom/hillstrom.csv`
    (or `hillstrom.csv`); otherwise RAPPORT_EVAL_DATA or a `shared/data` near the checkout."""
    settings = settings or Settings()
    if explicit and Path(explicit).is_file():
        return Path(explicit)
    folder = find_data_dir(explicit, settings)
    if folder is not None:
        for guess in (folder / "hillstrom" / "hillstrom.csv", folder / "hillstrom.csv"):
            if guess.is_file():
                return guess
    raise NotFound(
        "Hillstrom data",
        "hillstrom/hillstrom.csv (pass --data-dir DIR with hillstrom/hillstrom.csv, or set "
        "RAPPORT_EVAL_DATA)",
    )


def load_hillstrom(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """(features of HILLSTROM_SPEC, visit labels)."""
    frame = pd.read_csv(path)
    missing = [c for c in (*HILLSTROM_SPEC.names, TARGET) if c not in frame.columns]
    if missing:
        raise ValidationFailed(
            Violation("data", f"{path} lacks Hillstrom columns: {', '.join(missing)}")
        )
    y = frame[TARGET].to_numpy(dtype="int64")
    X = HILLSTROM_SPEC.conform(frame.drop(columns=list(OUTCOMES)))
    return X, y


def split(
    X: pd.DataFrame, y: np.ndarray, seed: int = 0
) -> tuple[tuple[pd.DataFrame, np.ndarray], ...]:
    """Stratified (fit 60%, calibration 15%, holdout 25%)."""
    X_train, X_hold, y_train, y_hold = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )
    X_fit, X_cal, y_fit, y_cal = train_test_split(
        X_train, y_train, test_size=0.2, stratify=y_train, random_state=seed
    )
    return (X_fit, y_fit), (X_cal, y_cal), (X_hold, y_hold)


def train_hillstrom(
    settings: Settings,
    *,
    data_dir: str = "",
    seed: int = 0,
    register: bool = True,
    with_segment: bool = True,
    rows: int | None = None,
):
    """`rapport train engagement --data hillstrom`: the same two models and metrics on a
    stratified split; logged to its own experiment and registered as `MODEL_NAME` (never
    as a `rapport-engagement` version: its features are not the store's)."""
    from rapport.models.engagement.registry import Registry
    from rapport.training.engagement import (
        TrainResult,
        fit_pair,
        fitting_threads,
        log_and_register,
    )

    started = time.perf_counter()
    path = find_hillstrom(data_dir, settings)
    X, y = load_hillstrom(path)
    if rows is not None and rows < len(y):  # a stratified subsample, for quick checks
        X, _, y, _ = train_test_split(X, y, train_size=rows, stratify=y, random_state=seed)
    spec = HILLSTROM_SPEC if with_segment else HILLSTROM_CUSTOMER_SPEC
    X = spec.conform(X)
    (X_fit, y_fit), (X_cal, y_cal), (X_hold, y_hold) = split(X, y, seed)
    with fitting_threads(settings):
        fitted = fit_pair(X_fit, y_fit, X_cal, y_cal, X_hold, y_hold, spec, MODEL_NAME, seed)
    params = {
        "data": "hillstrom",
        "path": str(path),
        "target": TARGET,
        "split": "stratified 60/15/25 (fit/calibration/holdout)",
        "rows": str(len(y)),
        "feature_spec_version": spec.version,
        "feature_spec_hash": spec.fingerprint(),
        "seed": str(seed),
    }
    h = pd.util.hash_pandas_object(X, index=True).to_numpy().tobytes() + y.tobytes()
    data_hash = hashlib.sha256(h).hexdigest()
    fitted.model.metadata.update(
        {
            "data": "hillstrom",
            "trained_at": datetime.now(UTC).isoformat(),
            "training_data_hash": data_hash,
            "label": "visit within two weeks of the campaign",
        }
    )
    result = TrainResult(
        "hillstrom",
        None,
        "",
        fitted.model_metrics,
        fitted.baseline_metrics,
        fitted.rows,
        params,
        {"fit": round(fitted.seconds, 2)},
        data_hash,
        fitted.importance,
    )
    if register:
        registry = Registry(settings)
        result.run_id, result.version = log_and_register(
            registry, fitted, params, data_hash, EXPERIMENT, MODEL_NAME, alias=None
        )
    result.timings["total"] = round(time.perf_counter() - started, 2)
    return result
