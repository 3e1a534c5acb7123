"""Off-policy estimators: the value of a target policy from a log of another one.

Each round i of a log has a reward r_i, the logging policy's probability p0_i of the
action it took, the target policy's probability p_i of that same action, and, for the
model-based estimators, a reward model's prediction for the logged action (q_i) and its
expectation under the target policy (qbar_i = sum_a pi(a|x_i) q(x_i, a)). With
w_i = p_i / p0_i:

* IPS    V = mean(w r)                        unbiased when p0 > 0 wherever p > 0
* SNIPS  V = sum(w r) / sum(w)                 a little biased, much less variance
* DR     V = mean(qbar + w (r - q))            unbiased if either p0 or q is right
* DM     V = mean(qbar)                        the reward model alone (for reference)

Confidence intervals are normal approximations from the per-round terms (the delta
method for SNIPS), or percentile bootstraps over rounds with `bootstrap`. For DR the
reward model should be fitted on other rounds than the ones it corrects (cross-fitting);
`cross_fit` helps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

__all__ = [
    "Estimate",
    "bootstrap",
    "cross_fit",
    "direct_method",
    "doubly_robust",
    "effective_sample_size",
    "evaluate",
    "ips",
    "snips",
]


@dataclass(frozen=True)
class Estimate:
    estimator: str
    value: float
    lower: float
    upper: float
    std_error: float
    n: int
    level: float = 0.95
    ess: float | None = None  # effective sample size of the importance weights

    def covers(self, truth: float) -> bool:
        return self.lower <= truth <= self.upper

    def to_dict(self, digits: int = 6) -> dict:
        out = asdict(self)
        for key in ("value", "lower", "upper", "std_error", "ess"):
            if out[key] is not None:
                out[key] = round(float(out[key]), digits)
        return out


def _arrays(*arrays) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=np.float64) for a in arrays]
    n = len(out[0])
    if any(a.shape != (n,) for a in out):
        raise ValueError("every per-round array must be one-dimensional and of the same length")
    if n == 0:
        raise ValueError("an empty log has no value")
    return out


def _weights(target_p: np.ndarray, logging_p: np.ndarray) -> np.ndarray:
    if np.any(logging_p <= 0):
        raise ValueError("logging propensities must be > 0 (the logged action was possible)")
    if np.any(target_p < 0):
        raise ValueError("target propensities must be >= 0")
    return target_p / logging_p


def effective_sample_size(w: np.ndarray) -> float:
    """(sum w)^2 / sum w^2: how many rounds the weighted log is worth."""
    w = np.asarray(w, dtype=np.float64)
    denom = float(np.sum(w * w))
    return float(np.sum(w) ** 2 / denom) if denom > 0 else 0.0


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def _from_terms(name: str, terms: np.ndarray, level: float, ess: float | None) -> Estimate:
    n = len(terms)
    value = float(terms.mean())
    se = float(terms.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    z = _z(level)
    return Estimate(name, value, value - z * se, value + z * se, se, n, level, ess)


def ips(rewards, target_p, logging_p, level: float = 0.95) -> Estimate:
    r, p, p0 = _arrays(rewards, target_p, logging_p)
    w = _weights(p, p0)
    return _from_terms("ips", w * r, level, effective_sample_size(w))


def snips(rewards, target_p, logging_p, level: float = 0.95) -> Estimate:
    r, p, p0 = _arrays(rewards, target_p, logging_p)
    w = _weights(p, p0)
    n = len(r)
    mean_w = float(w.mean())
    if mean_w <= 0:
        raise ValueError("the target policy never takes a logged action: SNIPS is undefined")
    value = float(np.sum(w * r) / np.sum(w))
    # Delta method: the ratio's influence terms are w (r - V) / mean(w).
    influence = w * (r - value) / mean_w
    se = float(influence.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    z = _z(level)
    return Estimate(
        "snips", value, value - z * se, value + z * se, se, n, level, effective_sample_size(w)
    )


def doubly_robust(
    rewards, target_p, logging_p, q_logged, q_target, level: float = 0.95
) -> Estimate:
    r, p, p0, q, qbar = _arrays(rewards, target_p, logging_p, q_logged, q_target)
    w = _weights(p, p0)
    return _from_terms("dr", qbar + w * (r - q), level, effective_sample_size(w))


def direct_method(q_target, level: float = 0.95) -> Estimate:
    (qbar,) = _arrays(q_target)
    return _from_terms("dm", qbar, level, None)


def evaluate(
    rewards, target_p, logging_p, q_logged=None, q_target=None, level: float = 0.95
) -> dict[str, Estimate]:
    """IPS and SNIPS, and DR and DM when reward-model predictions are given."""
    out = {
        "ips": ips(rewards, target_p, logging_p, level),
        "snips": snips(rewards, target_p, logging_p, level),
    }
    if q_logged is not None and q_target is not None:
        out["dr"] = doubly_robust(rewards, target_p, logging_p, q_logged, q_target, level)
        out["dm"] = direct_method(q_target, level)
    return out


def bootstrap(
    statistic: Callable[[np.ndarray], float],
    n: int,
    *,
    rounds: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of `statistic(indices)` over `rounds` resamples of n rounds."""
    rng = np.random.default_rng(seed)
    values = np.array([statistic(rng.integers(0, n, n)) for _ in range(rounds)])
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1.0 - alpha))


def cross_fit(
    n: int,
    fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    folds: int = 2,
    seed: int = 0,
) -> np.ndarray:
    """Out-of-fold predictions: `fit_predict(train_idx, test_idx)` returns predictions for
    test_idx from a model fitted on train_idx; each round is predicted by a model that
    never saw it. Returns an array of length n (or (n, ...) as fit_predict returns)."""
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(n) % folds
    out = None
    for f in range(folds):
        test = np.flatnonzero(fold_of == f)
        train = np.flatnonzero(fold_of != f)
        pred = np.asarray(fit_predict(train, test))
        if out is None:
            out = np.zeros((n, *pred.shape[1:]), dtype=np.float64)
        out[test] = pred
    assert out is not None
    return out
