"""Statistics behind the analytics reports: rates with intervals, two-sample tests,
multiple-testing correction, quantiles, calibration and the population stability index.

Small, dependency-light and exact where it is cheap to be: the reports compare a few
hundred groups at most, so nothing here needs to be vectorised except PSI and calibration,
which take numpy arrays of scores and feature values.

Why these methods:
- Wilson score intervals for rates: well behaved at 0 and 1 and for small n, where the
  normal ("Wald") interval collapses to [0, 0] or spills outside [0, 1].
- Two-sided two-proportion z-test (pooled) when every expected cell count of the 2x2
  table is at least 5; Fisher's exact test otherwise (the z-test's normal approximation is
  poor there). Each comparison says which test it used.
- Holm's step-down correction over all comparisons of one report: A/B tables compare many
  pairs, and uncorrected p-values would call one in twenty pure-noise pairs "significant".
- Newcombe's hybrid score interval for a difference of proportions (method 10), built from
  the two Wilson intervals, consistent with the rates shown beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054
# A 2x2 table whose smallest expected count is below this is tested exactly (Fisher).
MIN_EXPECTED_FOR_Z = 5.0
PSI_EPSILON = 1e-4  # share given to an empty bin, so PSI stays finite


@dataclass(frozen=True)
class RateCI:
    """k out of n with a Wilson interval; `enough` says whether n reaches the minimum."""

    numerator: int
    denominator: int
    value: float
    low: float
    high: float
    enough: bool

    def to_dict(self) -> dict:
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": self.value,
            "ci_low": self.low,
            "ci_high": self.high,
            "enough_data": self.enough,
        }


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval of k/n; (0, 1) when n is 0 (nothing is known)."""
    if n <= 0:
        return 0.0, 1.0
    if k < 0 or k > n:
        raise ValueError(f"successes {k} outside 0..{n}")
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(k: int, n: int, min_n: int = 1) -> RateCI:
    """A rate that never divides by zero: with n below `min_n` it is marked not enough
    data (value 0, interval 0..1) and must be shown as such, not as a number."""
    k, n = int(k), int(n)
    if n <= 0:
        return RateCI(k, 0, 0.0, 0.0, 1.0, False)
    low, high = wilson(k, n)
    return RateCI(k, n, k / n, low, high, n >= max(1, min_n))


# ------------------------------------------------------------------ two-sample tests


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test on [[k1, n1-k1], [k2, n2-k2]]: the total
    probability of every table with the same margins that is no more likely than this one
    (the same rule as R's fisher.test and scipy.stats.fisher_exact)."""
    successes, total = k1 + k2, n1 + n2
    if total == 0 or successes in (0, total) or n1 == 0 or n2 == 0:
        return 1.0
    lo, hi = max(0, successes - n2), min(successes, n1)
    denom = _log_comb(total, successes)

    def logp(x: int) -> float:
        return _log_comb(n1, x) + _log_comb(n2, successes - x) - denom

    observed = logp(k1)
    cutoff = observed + 1e-7 * abs(observed) + 1e-12  # ties within rounding count as equal
    p = sum(math.exp(lp) for x in range(lo, hi + 1) if (lp := logp(x)) <= cutoff)
    return min(1.0, p)


def z_test(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test."""
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0.0:
        return 1.0
    z = (k1 / n1 - k2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2.0))


@dataclass(frozen=True)
class TwoSample:
    p_value: float
    test: str
    difference: float  # p2 - p1
    low: float
    high: float


def compare(k1: int, n1: int, k2: int, n2: int) -> TwoSample:
    """Difference of two proportions (second minus first) with its test and interval."""
    successes, failures = k1 + k2, (n1 + n2) - (k1 + k2)
    total = n1 + n2
    expected = (
        min(n1, n2) * min(successes, failures) / total if total else 0.0
    )  # the smallest expected cell of the 2x2 table
    if expected >= MIN_EXPECTED_FOR_Z:
        p, test = z_test(k1, n1, k2, n2), "two-proportion z-test"
    else:
        p, test = fisher_exact(k1, n1, k2, n2), "Fisher exact test"
    d, low, high = newcombe(k1, n1, k2, n2)
    return TwoSample(p, test, d, low, high)


def newcombe(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, float]:
    """p2 - p1 and Newcombe's hybrid score 95% interval (method 10)."""
    if n1 == 0 or n2 == 0:
        return 0.0, -1.0, 1.0
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p2 - p1
    low = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return d, max(-1.0, low), min(1.0, high)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given), monotone and capped at 1."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


# ------------------------------------------------------------------ quantiles


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile of already sorted values (numpy's default method)."""
    n = len(sorted_values)
    if n == 0:
        return float("nan")
    pos = q * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac)


# ------------------------------------------------------------------ calibration


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    count: int
    mean_predicted: float
    observed: RateCI


@dataclass(frozen=True)
class Calibration:
    bins: list[CalibrationBin]
    brier: float
    ece: float  # sum over bins of share * |observed - mean predicted|
    roc_auc: float
    mean_predicted: float
    observed: RateCI


def calibration(
    predicted: np.ndarray, outcome: np.ndarray, edges: Sequence[float], min_n: int = 1
) -> Calibration:
    """Reliability of probabilities against 0/1 outcomes over fixed bin edges."""
    p = np.asarray(predicted, dtype="float64")
    y = np.asarray(outcome, dtype="int64")
    if len(p) != len(y):
        raise ValueError("predicted and outcome differ in length")
    edges = np.asarray(edges, dtype="float64")
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    bins, ece = [], 0.0
    for b in range(len(edges) - 1):
        mask = which == b
        count = int(mask.sum())
        mean_p = float(p[mask].mean()) if count else float("nan")
        observed = rate(int(y[mask].sum()), count, min_n)
        if count:
            ece += count / len(p) * abs(observed.value - mean_p)
        bins.append(CalibrationBin(float(edges[b]), float(edges[b + 1]), count, mean_p, observed))
    brier = float(np.mean((p - y) ** 2)) if len(p) else float("nan")
    return Calibration(
        bins,
        brier,
        float(ece) if len(p) else float("nan"),
        roc_auc(p, y),
        float(p.mean()) if len(p) else float("nan"),
        rate(int(y.sum()), len(y), min_n),
    )


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve by ranks (ties averaged); NaN with one class only."""
    s = np.asarray(scores, dtype="float64")
    y = np.asarray(labels).astype(bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype="float64")
    sorted_s = s[order]
    # average ranks of ties
    i = 0
    n = len(s)
    while i < n:
        j = i
        while j + 1 < n and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def histogram(values: np.ndarray, edges: Sequence[float]) -> list[tuple[float, float, int]]:
    counts, used = np.histogram(np.asarray(values, dtype="float64"), bins=np.asarray(edges))
    return [(float(used[i]), float(used[i + 1]), int(c)) for i, c in enumerate(counts)]


# ------------------------------------------------------------------ drift (PSI)


def psi_from_shares(expected: np.ndarray, actual: np.ndarray, eps: float = PSI_EPSILON) -> float:
    """Population stability index sum((a - e) * ln(a / e)) over bins of two distributions
    given as shares (each summing to 1); empty bins get `eps` so the index stays finite."""
    e = np.clip(np.asarray(expected, dtype="float64"), eps, None)
    a = np.clip(np.asarray(actual, dtype="float64"), eps, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def numeric_bin_edges(reference: np.ndarray, bins: int = 10) -> np.ndarray:
    """Interior cut points at the reference's quantiles, deduplicated: a feature that is 0
    for 70% of people gets one bin for the zeros instead of seven identical ones."""
    ref = np.asarray(reference, dtype="float64")
    ref = ref[np.isfinite(ref)]
    if len(ref) == 0:
        return np.array([], dtype="float64")
    cuts = np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(cuts)


def numeric_shares(values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Shares of values in the bins (-inf, c0], (c0, c1], ... (c_last, inf); missing values
    (NaN) get a bin of their own, last."""
    v = np.asarray(values, dtype="float64")
    missing = ~np.isfinite(v)
    which = np.searchsorted(cuts, v[~missing], side="left")
    counts = np.bincount(which, minlength=len(cuts) + 1).astype("float64")
    counts = np.append(counts, float(missing.sum()))
    total = counts.sum()
    return counts / total if total else counts


def numeric_psi(reference: np.ndarray, recent: np.ndarray, bins: int = 10) -> float:
    cuts = numeric_bin_edges(reference, bins)
    return psi_from_shares(numeric_shares(reference, cuts), numeric_shares(recent, cuts))


def categorical_psi(reference: Sequence[str], recent: Sequence[str]) -> float:
    cats = sorted(set(reference) | set(recent))
    index = {c: i for i, c in enumerate(cats)}

    def shares(values: Sequence[str]) -> np.ndarray:
        counts = np.zeros(len(cats))
        for v in values:
            counts[index[v]] += 1
        return counts / counts.sum() if counts.sum() else counts

    return psi_from_shares(shares(reference), shares(recent))


__all__ = [
    "Z95",
    "Calibration",
    "CalibrationBin",
    "RateCI",
    "TwoSample",
    "calibration",
    "categorical_psi",
    "compare",
    "fisher_exact",
    "histogram",
    "holm",
    "newcombe",
    "numeric_psi",
    "psi_from_shares",
    "quantile",
    "rate",
    "roc_auc",
    "wilson",
    "z_test",
]
