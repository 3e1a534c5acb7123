"""Metrics for calibrated probability models, the same for training, promotion and eval.

ROC-AUC and PR-AUC (average precision) rank; Brier score and expected calibration error
(ECE: the mean |observed rate - mean prediction| over 10 equal-width probability bins,
weighted by the bins' shares of rows) say whether a probability can be taken at its word;
top-decile lift says how much better than random the first tenth of a list is.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

__all__ = [
    "binary_metrics",
    "calibration_bins",
    "expected_calibration_error",
    "top_decile_lift",
]

ECE_BINS = 10


def _arrays(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype="float64").ravel()
    p = np.asarray(p, dtype="float64").ravel()
    if y.shape != p.shape:
        raise ValueError(f"{len(y)} labels but {len(p)} predictions")
    if len(y) == 0:
        raise ValueError("no rows to measure")
    return y, p


def calibration_bins(y, p, bins: int = ECE_BINS) -> list[dict]:
    """Per non-empty equal-width bin: its range, rows, mean prediction, observed rate."""
    y, p = _arrays(y, p)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = idx == b
        n = int(mask.sum())
        if n:
            out.append(
                {
                    "lo": float(edges[b]),
                    "hi": float(edges[b + 1]),
                    "n": n,
                    "mean_predicted": float(p[mask].mean()),
                    "observed": float(y[mask].mean()),
                }
            )
    return out


def expected_calibration_error(y, p, bins: int = ECE_BINS) -> float:
    y, _ = _arrays(y, p)
    total = len(y)
    return float(
        sum(
            b["n"] / total * abs(b["observed"] - b["mean_predicted"])
            for b in calibration_bins(y, p, bins)
        )
    )


def top_decile_lift(y, p) -> float:
    """Positive rate among the 10% highest predictions over the overall positive rate
    (ties broken by order, so the decile is exactly ceil(n / 10) rows)."""
    y, p = _arrays(y, p)
    base = y.mean()
    if base == 0:
        return float("nan")
    k = max(1, int(np.ceil(len(y) / 10)))
    top = np.argsort(-p, kind="stable")[:k]
    return float(y[top].mean() / base)


def binary_metrics(y, p) -> dict[str, float]:
    """roc_auc, pr_auc, brier, ece, top_decile_lift, plus rows, positives and base rate.
    Ranking metrics are NaN when the labels have one class."""
    y, p = _arrays(y, p)
    two_classes = 0 < y.sum() < len(y)
    return {
        "roc_auc": float(roc_auc_score(y, p)) if two_classes else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if two_classes else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p),
        "top_decile_lift": top_decile_lift(y, p),
        "rows": float(len(y)),
        "positives": float(y.sum()),
        "base_rate": float(y.mean()),
    }
