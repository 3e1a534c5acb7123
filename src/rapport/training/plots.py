"""Figures logged with every training run: a reliability diagram and feature importance.
Matplotlib runs headless (Agg) so training works on servers and in CI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from rapport.training.metrics import calibration_bins


def calibration_plot(curves: Mapping[str, tuple[Sequence, Sequence]], path: Path, title: str):
    """Observed rate against mean prediction per probability bin, one line per model, over
    a histogram of the predictions (most rows sit near zero, hence the log scale)."""
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6, 7), gridspec_kw={"height_ratios": [3, 1]}, sharex=True
    )
    top.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    for name, (y, p) in curves.items():
        bins = calibration_bins(y, p, bins=20)
        top.plot(
            [b["mean_predicted"] for b in bins],
            [b["observed"] for b in bins],
            marker="o",
            markersize=3,
            label=name,
        )
        bottom.hist(p, bins=40, range=(0, 1), histtype="step", label=name)
    top.set_ylabel("observed response rate")
    top.set_title(title)
    top.legend(loc="upper left")
    bottom.set_yscale("log")
    bottom.set_xlabel("predicted probability")
    bottom.set_ylabel("rows")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def importance_plot(importance: Mapping[str, float], path: Path, title: str, top: int = 20):
    """Horizontal bars of the largest importances (mean |contribution| in logit units)."""
    items = sorted(importance.items(), key=lambda kv: -abs(kv[1]))[:top][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(items) + 1.2))
    ax.barh([k for k, _ in items], [v for _, v in items], color="#3b75af")
    ax.set_xlabel("mean |contribution| (logit)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
