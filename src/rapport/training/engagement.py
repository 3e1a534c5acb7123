"""`rapport train engagement`: who is likely to respond soon, learned from the store's own
history (DESIGN §7).

The dataset is point-in-time: at each of K cutoffs, one horizon apart and ending at the
latest cutoff whose label window is fully observed, every candidate created before the
cutoff is a row with features from events before it and label "a response (reply, click,
application) within the horizon after it". The split is in time: the oldest K-2 cutoffs fit
the models, the next one calibrates the gradient-boosted model (Platt scaling of its logit,
on later data than it was fitted on, which also absorbs drift in the base rate), and the
latest is the holdout both models are measured on. Label windows never overlap the holdout.

Two models: a logistic-regression baseline (log-scaled numbers, one-hot categories) and a
HistGradientBoosting classifier. Both are measured (ROC-AUC, PR-AUC, Brier, ECE, top-decile
lift) and logged to MLflow with plots, the feature spec and a hash of the training data; the
boosted model is registered as a new version of `rapport-engagement` with alias
`challenger`. `rapport models promote` decides whether it becomes `champion`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from rapport.core.config import Settings
from rapport.core.errors import PreconditionFailed, ValidationFailed, Violation
from rapport.core.store import privacy
from rapport.core.store.db import Database
from rapport.models.engagement.features import (
    FEATURE_SPEC,
    FeatureSpec,
    build_feature_sets,
    data_span,
    labels_at,
    response_times,
)
from rapport.models.engagement.registry import (
    CHALLENGER,
    EXPERIMENT,
    MODEL_NAME,
    ModelVersionInfo,
    Registry,
)
from rapport.models.engagement.scorer import EngagementScorer, signed_log1p
from rapport.training.metrics import binary_metrics

log = logging.getLogger(__name__)

DEFAULT_HORIZON = timedelta(days=30)
DEFAULT_CUTOFFS = 12
MIN_CUTOFFS = 3  # fit, calibrate, hold out
IMPORTANCE_SAMPLE = 1000
# Early stopping with a loss tolerance: on the 1M-event store this stops near 90 trees with
# the holdout ROC-AUC of 300 trees at learning rate 0.06 (0.794), and every score and
# explanation costs a third.
HGB_PARAMS = {
    "learning_rate": 0.1,
    "max_iter": 200,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": True,
    "validation_fraction": 0.15,
    "n_iter_no_change": 20,
    "tol": 1e-4,
}
LOGISTIC_PARAMS = {"C": 1.0, "max_iter": 1000}
# Above this many fitting rows, negatives are sampled (every positive kept) and weighted back
# up: fitting time is linear in rows and responses are rare (~3%), so most rows are
# near-duplicate negatives. Calibration runs on the full later slice, unaffected.
MAX_FIT_ROWS = 250_000


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
_HORIZON = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|day|days|w|week|weeks|h|hour|hours)?\s*$", re.I)


def parse_horizon(text: str | timedelta) -> timedelta:
    """`30d`, `2w`, `36h` or a bare number of days; refuses zero and negative spans."""
    if isinstance(text, timedelta):
        horizon = text
    else:
        m = _HORIZON.match(str(text))
        if not m:
            raise ValidationFailed(
                Violation("horizon", f"{text!r} is not a span like 30d, 2w or 36h")
            )
        value, unit = float(m.group(1)), (m.group(2) or "d").lower()[0]
        horizon = timedelta(days=value * 7 if unit == "w" else value if unit == "d" else 0)
        if unit == "h":
            horizon = timedelta(hours=value)
    if horizon <= timedelta(0):
        raise ValidationFailed(Violation("horizon", "must be longer than zero"))
    return horizon


def parse_cutoff(text: str | datetime | None) -> datetime | None:
    """An ISO date or date-time; naive values are UTC."""
    if text is None or text == "":
        return None
    if isinstance(text, datetime):
        value = text
    else:
        try:
            value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed(
                Violation("cutoff", f"{text!r} is not an ISO date like 2025-06-01")
            ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def plan_cutoffs(
    first_created: datetime | None,
    first_event: datetime | None,
    last_event: datetime | None,
    horizon: timedelta,
    *,
    cutoff: datetime | None = None,
    count: int = DEFAULT_CUTOFFS,
    now: datetime | None = None,
) -> list[datetime]:
    """Cutoffs oldest first, one horizon apart, the last one the holdout. Without `cutoff`,
    the holdout is the latest cutoff whose whole label window has been recorded."""
    now = now or datetime.now(UTC)
    if first_event is None or last_event is None or first_created is None:
        raise PreconditionFailed(
            "the store has no timeline events to learn from: run `rapport seed` or import "
            "candidates with their history first"
        )
    start = max(first_created, first_event)
    if cutoff is not None:
        if cutoff > now:
            raise ValidationFailed(Violation("cutoff", f"{cutoff:%Y-%m-%d %H:%M} is in the future"))
        if cutoff + horizon > now:
            raise ValidationFailed(
                Violation(
                    "cutoff",
                    f"its label window ends {cutoff + horizon:%Y-%m-%d}, after now: pick a "
                    f"cutoff at least one horizon ({_days(horizon)} days) in the past",
                )
            )
        if cutoff <= start:
            raise ValidationFailed(
                Violation("cutoff", f"is before any data (the history starts {start:%Y-%m-%d})")
            )
        latest = cutoff
    else:
        latest = min(now, last_event) - horizon
        if latest <= start:
            raise PreconditionFailed(
                f"not enough history for a {_days(horizon)}-day horizon: events run from "
                f"{first_event:%Y-%m-%d} to {last_event:%Y-%m-%d}"
            )
    if count < MIN_CUTOFFS:
        raise ValidationFailed(Violation("cutoffs", f"need at least {MIN_CUTOFFS}"))
    cutoffs = [latest - k * horizon for k in range(count)]
    cutoffs = sorted(c for c in cutoffs if c > start)
    if len(cutoffs) < MIN_CUTOFFS:
        raise PreconditionFailed(
            f"only {len(cutoffs)} cutoff(s) of {_days(horizon)} days fit between "
            f"{start:%Y-%m-%d} and {latest:%Y-%m-%d}; need {MIN_CUTOFFS} (fit, calibrate, "
            "hold out): use a shorter --horizon or an earlier history"
        )
    return cutoffs


@contextlib.contextmanager
def fitting_threads(settings: Settings | None):
    """OpenMP threads for fitting (`engagement_train_threads`; 0: every core). One thread
    is much faster than two when the cores are busy with other work (CI workers, a
    server): OpenMP threads spin while they wait for each other (measured on the 1M-event
    store: fitting 166 s with two threads, 49 s with one, on a busy 2-core machine)."""
    from threadpoolctl import threadpool_limits

    threads = settings.engagement_train_threads if settings is not None else 0
    if threads > 0:
        with threadpool_limits(limits=threads, user_api="openmp"):
            yield
    else:
        yield


def _days(span: timedelta) -> float:
    return round(span.total_seconds() / 86_400, 2)


# --------------------------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------------------------
@dataclass
class Dataset:
    """Rows of (person, cutoff): spec features, label, and which cutoff they belong to."""

    X: pd.DataFrame  # index: candidate_pk (repeats across cutoffs)
    y: np.ndarray
    cutoff: np.ndarray  # position of the row's cutoff in `cutoffs`
    cutoffs: list[datetime]
    horizon: timedelta
    spec: FeatureSpec = FEATURE_SPEC

    def part(self, positions: Sequence[int]) -> tuple[pd.DataFrame, np.ndarray]:
        mask = np.isin(self.cutoff, list(positions))
        return self.X[mask], self.y[mask]

    def fingerprint(self) -> str:
        """sha256 of features, labels and cutoffs: two runs trained on the same data carry
        the same hash (MLflow tag `training_data_hash`)."""
        h = hashlib.sha256()
        h.update(pd.util.hash_pandas_object(self.X, index=True).to_numpy().tobytes())
        h.update(np.ascontiguousarray(self.y, dtype="int8").tobytes())
        h.update(np.ascontiguousarray(self.cutoff, dtype="int32").tobytes())
        h.update(json.dumps([c.isoformat() for c in self.cutoffs]).encode())
        return h.hexdigest()


def build_dataset(db: Database, cutoffs: Sequence[datetime], horizon: timedelta) -> Dataset:
    with db.read() as session:
        frames = build_feature_sets(session, cutoffs)
        responses = response_times(session, min(cutoffs))
    labels = [
        labels_at(responses, f.index, c, horizon) for f, c in zip(frames, cutoffs, strict=True)
    ]
    X = pd.concat(frames) if frames else pd.DataFrame(columns=list(FEATURE_SPEC.names))
    y = np.concatenate([lab.to_numpy() for lab in labels]).astype("int64")
    cutoff = np.concatenate([np.full(len(f), i, dtype="int32") for i, f in enumerate(frames)])
    # Erasure filter: people erased (or anonymised) while the dataset was being read are
    # dropped, so no model is trained on someone who asked to be forgotten (issue 7).
    with db.read() as session:
        gone = privacy.no_longer_trainable(session, X.index.unique().tolist())
    if gone:
        keep = ~np.isin(X.index.to_numpy(), list(gone))
        X, y, cutoff = X[keep], y[keep], cutoff[keep]
    return Dataset(X, y, cutoff, list(cutoffs), horizon)


def _require_both_classes(y: np.ndarray, what: str) -> None:
    positives = int(np.sum(y))
    if len(y) == 0 or positives in (0, len(y)):
        only = "no rows" if len(y) == 0 else "only positives" if positives else "no positives"
        raise PreconditionFailed(
            f"the {what} has one class ({only} in {len(y)} rows): a model cannot learn or be "
            "measured from it; use a longer --horizon, more --cutoffs or more history"
        )


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------
def fit_boosted(
    X_fit: pd.DataFrame,
    y_fit: np.ndarray,
    X_cal: pd.DataFrame,
    y_cal: np.ndarray,
    spec: FeatureSpec,
    name: str,
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
) -> EngagementScorer:
    """HistGradientBoosting on the fit rows, Platt-calibrated on the (later) calibration
    rows: calibrated logit = a * raw logit + b."""
    categories = EngagementScorer.learn_categories(X_fit, spec)
    reference = EngagementScorer.learn_reference(X_fit, spec)
    m_fit = EngagementScorer.encode(X_fit, spec, categories)
    mask = [False] * len(spec.numeric) + [True] * len(spec.categorical)
    model = HistGradientBoostingClassifier(
        **HGB_PARAMS, categorical_features=mask if any(mask) else None, random_state=seed
    )
    model.fit(m_fit, y_fit, sample_weight=sample_weight)
    raw = model.decision_function(EngagementScorer.encode(X_cal, spec, categories))
    platt = LogisticRegression(C=1e4, max_iter=1000).fit(raw.reshape(-1, 1), y_cal)
    calibration = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
    return EngagementScorer(
        name=name,
        feature_spec=spec,
        estimator=model,
        categories=categories,
        reference=reference,
        calibration=calibration,
        kind="hgb",
        metadata={"n_iter": int(model.n_iter_)},
    )


def fit_logistic(
    X: pd.DataFrame,
    y: np.ndarray,
    spec: FeatureSpec,
    name: str,
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
) -> EngagementScorer:
    """The baseline: logistic regression on log-scaled, standardised numbers and one-hot
    categories (an unseen category is all zeros)."""
    categories = EngagementScorer.learn_categories(X, spec)
    reference = EngagementScorer.learn_reference(X, spec)
    n_num = len(spec.numeric)
    num_idx = list(range(n_num))
    cat_idx = list(range(n_num, n_num + len(spec.categorical)))
    parts = [
        (
            "num",
            Pipeline([("log", FunctionTransformer(signed_log1p)), ("scale", StandardScaler())]),
            num_idx,
        )
    ]
    if cat_idx:
        parts.append(
            (
                "cat",
                Pipeline(
                    [
                        ("fill", SimpleImputer(strategy="constant", fill_value=-1.0)),
                        ("onehot", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                cat_idx,
            )
        )
    model = Pipeline(
        [
            ("prep", ColumnTransformer(parts)),
            ("lr", LogisticRegression(**LOGISTIC_PARAMS, random_state=seed)),
        ]
    )
    model.fit(EngagementScorer.encode(X, spec, categories), y, lr__sample_weight=sample_weight)
    return EngagementScorer(
        name=name,
        feature_spec=spec,
        estimator=model,
        categories=categories,
        reference=reference,
        kind="logistic",
    )


def sample_negatives(
    y: np.ndarray, max_rows: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray | None]:
    """(row indices, weights): all rows when there are at most `max_rows`; otherwise every
    positive and a uniform sample of negatives, weighted by 1 / sampling rate."""
    n = len(y)
    if n <= max_rows:
        return np.arange(n), None
    pos = np.flatnonzero(y == 1)
    neg = np.flatnonzero(y != 1)
    keep = max(max_rows - len(pos), min(len(neg), max_rows // 2))
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(neg, size=min(keep, len(neg)), replace=False))
    idx = np.sort(np.concatenate([pos, chosen]))
    weights = np.where(y[idx] == 1, 1.0, len(neg) / len(chosen))
    return idx, weights


@dataclass
class Fitted:
    """Both models of one training run and how they did on the holdout."""

    model: EngagementScorer
    baseline: EngagementScorer
    model_metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    holdout_y: np.ndarray
    holdout_model_p: np.ndarray
    holdout_baseline_p: np.ndarray
    importance: dict[str, float]
    rows: dict[str, int]
    seconds: float


def fit_pair(
    X_fit: pd.DataFrame,
    y_fit: np.ndarray,
    X_cal: pd.DataFrame,
    y_cal: np.ndarray,
    X_hold: pd.DataFrame,
    y_hold: np.ndarray,
    spec: FeatureSpec,
    name: str,
    seed: int = 0,
) -> Fitted:
    """Fit baseline (on fit + calibration rows) and boosted model (fit rows, calibrated on
    calibration rows) and measure both on the holdout."""
    _require_both_classes(np.concatenate([y_fit, y_cal]), "training set")
    _require_both_classes(y_fit, "fitting part of the training set")
    _require_both_classes(y_cal, "calibration part of the training set")
    _require_both_classes(y_hold, "holdout")
    started = time.perf_counter()
    fit_idx, fit_w = sample_negatives(y_fit, MAX_FIT_ROWS, seed)
    model = fit_boosted(
        X_fit.iloc[fit_idx], y_fit[fit_idx], X_cal, y_cal, spec, name, seed, sample_weight=fit_w
    )
    X_all, y_all = pd.concat([X_fit, X_cal]), np.concatenate([y_fit, y_cal])
    all_idx, all_w = sample_negatives(y_all, MAX_FIT_ROWS, seed)
    baseline = fit_logistic(
        X_all.iloc[all_idx], y_all[all_idx], spec, f"{name}-baseline", seed, sample_weight=all_w
    )
    seconds = time.perf_counter() - started
    p_model = model.predict_proba(X_hold)
    p_base = baseline.predict_proba(X_hold)
    sample = X_hold.sample(min(IMPORTANCE_SAMPLE, len(X_hold)), random_state=seed)
    return Fitted(
        model=model,
        baseline=baseline,
        model_metrics=binary_metrics(y_hold, p_model),
        baseline_metrics=binary_metrics(y_hold, p_base),
        holdout_y=y_hold,
        holdout_model_p=p_model,
        holdout_baseline_p=p_base,
        importance=model.importance(sample),
        rows={
            "fit": len(y_fit),
            "fit_sampled": len(fit_idx),
            "calibration": len(y_cal),
            "holdout": len(y_hold),
            "fit_positives": int(np.sum(y_fit)),
            "calibration_positives": int(np.sum(y_cal)),
            "holdout_positives": int(np.sum(y_hold)),
        },
        seconds=seconds,
    )


def fit_dataset(ds: Dataset, name: str = MODEL_NAME, seed: int = 0) -> Fitted:
    """The time split of a store dataset: oldest cutoffs fit, next-to-last calibrates,
    last holds out."""
    k = len(ds.cutoffs)
    if k < MIN_CUTOFFS:
        raise PreconditionFailed(f"need at least {MIN_CUTOFFS} cutoffs, got {k}")
    X_fit, y_fit = ds.part(range(k - 2))
    X_cal, y_cal = ds.part([k - 2])
    X_hold, y_hold = ds.part([k - 1])
    return fit_pair(X_fit, y_fit, X_cal, y_cal, X_hold, y_hold, ds.spec, name, seed)


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    data: str
    version: ModelVersionInfo | None
    run_id: str
    model_metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    rows: dict[str, int]
    params: dict[str, str]
    timings: dict[str, float]
    data_hash: str
    importance: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "data": self.data,
            "model_name": self.version.name if self.version else "",
            "version": self.version.version if self.version else "",
            "aliases": list(self.version.aliases) if self.version else [],
            "run_id": self.run_id,
            "model": _finite(self.model_metrics),
            "baseline": _finite(self.baseline_metrics),
            "rows": self.rows,
            "params": self.params,
            "timings_s": self.timings,
            "training_data_hash": self.data_hash,
            "top_features": dict(sorted(self.importance.items(), key=lambda kv: -kv[1])[:10]),
        }


def _finite(metrics: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if v != v else round(float(v), 6)) for k, v in metrics.items()}


def train_engagement(
    settings: Settings,
    *,
    cutoff: str | datetime | None = None,
    horizon: str | timedelta = DEFAULT_HORIZON,
    cutoffs: int = DEFAULT_CUTOFFS,
    seed: int = 0,
    register: bool = True,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda msg: None,
) -> TrainResult:
    """Build the dataset from the store, fit, log to MLflow and register a challenger."""
    horizon = parse_horizon(horizon)
    cut = parse_cutoff(cutoff)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    db = Database(settings.effective_database_url, settings=settings)
    try:
        with db.read() as session:
            span = data_span(session)
        planned = plan_cutoffs(*span, horizon, cutoff=cut, count=cutoffs, now=now)
        progress(f"building features at {len(planned)} cutoffs")
        ds = build_dataset(db, planned, horizon)
    finally:
        db.close()
    timings["dataset"] = round(time.perf_counter() - started, 2)
    progress(f"fitting on {len(ds.y):,} rows")
    with fitting_threads(settings):
        fitted = fit_dataset(ds, MODEL_NAME, seed)
    timings["fit"] = round(fitted.seconds, 2)
    data_hash = ds.fingerprint()
    params = {
        "data": "store",
        "horizon_days": str(_days(horizon)),
        "cutoffs": str(len(planned)),
        "first_cutoff": planned[0].isoformat(),
        "calibration_cutoff": planned[-2].isoformat(),
        "holdout_cutoff": planned[-1].isoformat(),
        "feature_spec_version": FEATURE_SPEC.version,
        "feature_spec_hash": FEATURE_SPEC.fingerprint(),
        "seed": str(seed),
    }
    metadata = {
        "data": "store",
        "horizon_days": _days(horizon),
        "holdout_cutoff": planned[-1].isoformat(),
        "trained_at": datetime.now(UTC).isoformat(),
        "training_data_hash": data_hash,
        "label": f"reply, click-through or application within {_days(horizon)} days",
        "metrics": _finite(fitted.model_metrics),
    }
    fitted.model.metadata.update(metadata)
    result = TrainResult(
        "store",
        None,
        "",
        fitted.model_metrics,
        fitted.baseline_metrics,
        fitted.rows,
        params,
        timings,
        data_hash,
        fitted.importance,
    )
    if register:
        progress("logging to MLflow")
        t0 = time.perf_counter()
        registry = Registry(settings)
        result.run_id, result.version = log_and_register(
            registry, fitted, params, data_hash, EXPERIMENT, MODEL_NAME, alias=CHALLENGER
        )
        timings["mlflow"] = round(time.perf_counter() - t0, 2)
    timings["total"] = round(time.perf_counter() - started, 2)
    return result


def log_and_register(
    registry: Registry,
    fitted: Fitted,
    params: dict[str, str],
    data_hash: str,
    experiment: str,
    model_name: str,
    alias: str | None,
) -> tuple[str, ModelVersionInfo]:
    """One MLflow run: params, both models' metrics, plots, spec, importance; the boosted
    model logged as a pyfunc and registered (with alias `alias` if given)."""
    import mlflow

    from rapport.training.plots import calibration_plot, importance_plot

    spec = fitted.model.feature_spec
    with registry.start_run(experiment, run_name=f"{model_name} {params.get('data', '')}") as run:
        mlflow.log_params(params)
        mlflow.log_params({f"hgb.{k}": v for k, v in HGB_PARAMS.items()})
        mlflow.log_params({f"logistic.{k}": v for k, v in LOGISTIC_PARAMS.items()})
        mlflow.log_params({f"rows.{k}": v for k, v in fitted.rows.items()})
        mlflow.set_tags({"training_data_hash": data_hash, "rapport.data": params.get("data", "")})
        metrics = {f"model_{k}": v for k, v in fitted.model_metrics.items()}
        metrics |= {f"baseline_{k}": v for k, v in fitted.baseline_metrics.items()}
        metrics["fit_seconds"] = fitted.seconds
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v == v})
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            calibration_plot(
                {
                    "gradient boosting (calibrated)": (fitted.holdout_y, fitted.holdout_model_p),
                    "logistic baseline": (fitted.holdout_y, fitted.holdout_baseline_p),
                },
                folder / "calibration.png",
                f"holdout calibration ({params.get('data', '')})",
            )
            importance_plot(
                fitted.importance, folder / "feature_importance.png", "what moves the score"
            )
            (folder / "feature_spec.json").write_text(json.dumps(spec.to_dict(), indent=2))
            (folder / "feature_importance.json").write_text(json.dumps(fitted.importance, indent=2))
            (folder / "holdout_metrics.json").write_text(
                json.dumps(
                    {
                        "model": _finite(fitted.model_metrics),
                        "baseline": _finite(fitted.baseline_metrics),
                        "rows": fitted.rows,
                    },
                    indent=2,
                )
            )
            mlflow.log_artifact(str(folder / "calibration.png"), "plots")
            mlflow.log_artifact(str(folder / "feature_importance.png"), "plots")
            for name in ("feature_spec.json", "feature_importance.json", "holdout_metrics.json"):
                mlflow.log_artifact(str(folder / name))
        example = fitted.model.feature_spec.conform(
            pd.DataFrame([fitted.model.reference], columns=list(spec.names))
        )
        model_uri = registry.log_model(fitted.model, example)
        run_id = run.info.run_id
    tags = {
        "training_data_hash": data_hash,
        "data": params.get("data", ""),
        "horizon_days": params.get("horizon_days", ""),
        "holdout_cutoff": params.get("holdout_cutoff", ""),
        "roc_auc": f"{fitted.model_metrics['roc_auc']:.4f}",
        "ece": f"{fitted.model_metrics['ece']:.4f}",
    }
    info = registry.register(model_uri, spec, name=model_name, tags=tags)
    if alias:
        registry.set_alias(model_name, alias, info.version)
        info = registry.get_version(info.version, model_name)
    return run_id, info
