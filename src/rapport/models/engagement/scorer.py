"""The packaged engagement model: what a service holds and what training registers.

An `EngagementScorer` wraps one fitted scikit-learn classifier (the calibrated
HistGradientBoosting model, or the logistic baseline) behind the feature spec it was trained
on. It turns a feature frame into a numeric matrix (categories as codes learned in
training), a raw logit, then a calibrated probability by Platt scaling of that logit
(`calibration = (slope, intercept)`, fitted on a later time slice than the model).

`explain` gives each person's top factors: the change in calibrated logit when one feature
is replaced by its training reference value (median, or most frequent category), i.e. "how
much this value moves this person's score compared with a typical person". All the
what-if rows for a batch go through the model in one call, so one person costs one
prediction of `len(features) + 1` rows; small batches walk the trees in numpy
(`trees.CompiledTrees`), a fraction of a millisecond per person instead of scikit-learn's
per-tree overhead.

Saved as one pickle (`save` / `load`); `rapport.models.engagement.registry` ships it inside
an MLflow pyfunc model and loads it back without MLflow when serving from a local cache.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from rapport.models.engagement.features import UNKNOWN, FeatureSpec, SpecMismatch
from rapport.models.engagement.trees import compile_trees

__all__ = ["FORMAT", "EngagementScorer", "Factor", "signed_log1p"]

FORMAT = 1  # bump when the pickled layout changes incompatibly
SINGLE_THREAD_ROWS = 20_000  # batches up to this size are scored on the calling thread
COMPILED_MAX_CELLS = 20_000  # rows x trees up to which the numpy tree walk is used
MAX_CATEGORIES = 50  # rarer categories share the "other" code


@dataclass(frozen=True)
class Factor:
    """One feature's signed contribution to one person's score, in logit units."""

    feature: str
    value: float | str
    contribution: float


@lru_cache(maxsize=1)
def _threads():
    from threadpoolctl import ThreadpoolController  # scikit-learn's own dependency

    return ThreadpoolController()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0)))


@dataclass
class EngagementScorer:
    name: str
    feature_spec: FeatureSpec
    estimator: object  # fitted; has decision_function(matrix)
    categories: Mapping[str, Sequence[str]]  # per categorical feature, index = code
    reference: Mapping[str, float | str]  # per feature, the "typical" value for explain
    calibration: tuple[float, float] = (1.0, 0.0)  # Platt: logit = a * raw + b
    kind: str = "hgb"  # hgb | logistic
    version: str = ""  # set when loaded from the registry
    metadata: dict = field(default_factory=dict)  # horizon, cutoff, metrics, data hash...
    format: int = FORMAT

    # -- fitting helpers -----------------------------------------------------------------
    @staticmethod
    def learn_categories(frame: pd.DataFrame, spec: FeatureSpec) -> dict[str, list[str]]:
        """The most frequent values of each categorical feature (at most MAX_CATEGORIES)."""
        out = {}
        for name in spec.categorical:
            counts = frame[name].astype(str).value_counts()
            out[name] = sorted(counts.index[:MAX_CATEGORIES].tolist())
        return out

    @staticmethod
    def learn_reference(frame: pd.DataFrame, spec: FeatureSpec) -> dict[str, float | str]:
        ref: dict[str, float | str] = {n: float(frame[n].median()) for n in spec.numeric}
        for n in spec.categorical:
            ref[n] = str(frame[n].astype(str).mode().iloc[0]) if len(frame) else UNKNOWN
        return ref

    @staticmethod
    def encode(
        frame: pd.DataFrame, spec: FeatureSpec, categories: Mapping[str, Sequence[str]]
    ) -> np.ndarray:
        """Spec columns as a float matrix: numeric as is, categories as their code (NaN for
        a value not seen in training, which both model kinds treat as missing). One block
        conversion, not a pandas operation per column: a unary score pays for each."""
        n, k = len(frame), len(spec.numeric)
        in_order = tuple(frame.columns[: len(spec.names)]) == spec.names  # build_features'
        if not in_order:
            missing = [name for name in spec.names if name not in frame.columns]
            if missing:
                raise SpecMismatch(f"frame lacks feature columns: {', '.join(missing)}")
        out = np.empty((n, len(spec.names)), dtype="float64")
        if k:
            numeric = frame.iloc[:, :k] if in_order else frame[list(spec.numeric)]
            try:
                out[:, :k] = numeric.to_numpy(dtype="float64", na_value=np.nan)
            except (TypeError, ValueError):  # text in a numeric column: coerce like conform
                out[:, :k] = spec.conform(frame)[list(spec.numeric)].to_numpy(dtype="float64")
        for j, name in enumerate(spec.categorical, start=k):
            values = [_category(v) for v in frame[name].to_numpy(dtype=object)]
            if n <= 1000:
                lookup = {v: float(i) for i, v in enumerate(categories[name])}
                out[:, j] = [lookup.get(v, np.nan) for v in values]
            else:
                codes = pd.Categorical(values, categories=list(categories[name])).codes
                out[:, j] = np.where(codes >= 0, codes, np.nan)
        return out

    # -- scoring -------------------------------------------------------------------------
    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return self.encode(frame, self.feature_spec, self.categories)

    @cached_property
    def _compiled(self):
        return compile_trees(self.estimator) if self.kind == "hgb" else None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for derived in ("_compiled", "_reference_row"):  # rebuilt on demand after loading
            state.pop(derived, None)
        return state

    def _logit(self, x: np.ndarray) -> np.ndarray:
        a, b = self.calibration
        compiled = self._compiled
        if compiled is not None and len(x) * compiled.n_trees <= COMPILED_MAX_CELLS:
            raw = compiled.decision_function(x)  # a person or a few: no per-tree overhead
        elif len(x) <= SINGLE_THREAD_ROWS:
            # OpenMP threads cost more than they save on a few rows, and spin badly when a
            # server's request threads share two cores: one thread for small batches
            with _threads().limit(limits=1, user_api="openmp"):
                raw = self.estimator.decision_function(x)  # type: ignore[attr-defined]
        else:
            raw = self.estimator.decision_function(x)  # type: ignore[attr-defined]
        return a * np.asarray(raw, dtype="float64") + b

    def logit(self, frame: pd.DataFrame) -> np.ndarray:
        x = self.matrix(frame)
        return self._logit(x) if len(x) else np.empty(0)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of a response within the training horizon, per row."""
        return _sigmoid(self.logit(frame))

    @cached_property
    def _reference_row(self) -> np.ndarray:
        ref = pd.DataFrame([self.reference], columns=list(self.feature_spec.names))
        return self.matrix(ref)[0]

    def contributions(self, frame: pd.DataFrame) -> np.ndarray:
        """(rows, features): calibrated logit minus the logit with that one feature set to
        its reference value; 0 where the person already has the reference value."""
        x = self.matrix(frame)
        n, f = x.shape
        if n == 0:
            return np.zeros((0, f))
        ref = self._reference_row
        # what-if rows: row i with feature j set to its reference, for every (i, j)
        what_if = np.repeat(x, f, axis=0)
        cols = np.tile(np.arange(f), n)
        what_if[np.arange(n * f), cols] = ref[cols]
        logits = self._logit(np.vstack([x, what_if]))
        contrib = logits[:n, None] - logits[n:].reshape(n, f)
        same = (x == ref[None, :]) | (np.isnan(x) & np.isnan(ref)[None, :])
        contrib[same] = 0.0
        return contrib

    def explain(self, frame: pd.DataFrame, top: int = 5) -> list[list[Factor]]:
        """Per row, the `top` features whose value moves the score most against the
        reference, strongest first, with signed calibrated-logit contributions."""
        if top <= 0 or len(frame) == 0:
            return [[] for _ in range(len(frame))]
        contrib = self.contributions(frame)
        names = self.feature_spec.names
        order = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :top]
        columns: dict[str, np.ndarray] = {}  # only the columns some factor shows
        out = []
        for i in range(len(contrib)):
            row = []
            for j in order[i]:
                if contrib[i, j] == 0.0:
                    continue
                name = names[j]
                if name not in columns:
                    columns[name] = frame[name].to_numpy(dtype=object)
                row.append(Factor(name, _plain(columns[name][i]), round(float(contrib[i, j]), 6)))
            out.append(row)
        return out

    def importance(self, frame: pd.DataFrame) -> dict[str, float]:
        """Mean |contribution| per feature over `frame` (a sample of people)."""
        contrib = np.abs(self.contributions(frame))
        means = contrib.mean(axis=0) if len(contrib) else np.zeros(len(self.feature_spec.names))
        return {n: float(v) for n, v in zip(self.feature_spec.names, means, strict=True)}

    # -- persistence ---------------------------------------------------------------------
    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        return path

    @staticmethod
    def load(path: Path) -> EngagementScorer:
        """Unpickle a scorer written by `save` (only load files this system wrote)."""
        with Path(path).open("rb") as fh:
            scorer = pickle.load(fh)
        if not isinstance(scorer, EngagementScorer):
            raise TypeError(f"{path} does not hold an EngagementScorer")
        if getattr(scorer, "format", 0) != FORMAT:
            raise TypeError(f"{path} holds scorer format {scorer.format}, this code reads {FORMAT}")
        return scorer


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """sign(x) * log(1 + |x|): tames counts and day spans for the logistic baseline (here,
    not in training code, so a pickled baseline loads wherever the scorer does)."""
    x = np.asarray(x, dtype="float64")
    return np.sign(x) * np.log1p(np.abs(x))


def _plain(value) -> float | str:
    if isinstance(value, str):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return _category(value)


def _category(value) -> str:
    """A categorical value as the model sees it (missing: "unknown", like conform)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return UNKNOWN
    return str(value)
