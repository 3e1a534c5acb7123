"""The HTML reports: one self-contained page per report, charts as inline SVG.

Charts are drawn with matplotlib's SVG backend (text kept as text, so the page stays small
and its numbers searchable), the page is a Jinja2 template with autoescaping on, and
nothing is fetched: no scripts, fonts or images from anywhere. Input is the plain dict a
report prints with `--format json` (see `rapport.cli.report.to_plain`), so the page shows
exactly what the JSON says.
"""

from __future__ import annotations

import io
import math
import re
from collections import defaultdict
from datetime import datetime

import matplotlib

matplotlib.use("svg")  # before pyplot: no display, no Tk

import matplotlib.pyplot as plt
from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from rapport.cli.report_template import PAGE

INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
ACCENT = "#2563eb"
GOOD = "#059669"
BAD = "#dc2626"
GREY = "#9ca3af"
PALETTE = [
    "#2563eb",
    "#059669",
    "#d97706",
    "#7c3aed",
    "#db2777",
    "#0891b2",
    "#65a30d",
    "#ea580c",
    "#4b5563",
    "#be123c",
]

plt.rcParams.update(
    {
        "svg.fonttype": "none",  # text stays text
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"],
        "font.size": 10,
        "axes.edgecolor": GRID,
        "axes.labelcolor": INK,
        "axes.titlesize": 11,
        "axes.titleweight": "bold",
        "axes.titlecolor": INK,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "xtick.color": MUTED,
        "ytick.color": MUTED,
        "svg.hashsalt": "rapport",  # stable ids: the same report gives the same page
    }
)

# Figure widths in inches at the page's scale (main column ~1,100 px at 96 dpi), so that a
# chart's text comes out at the size it was drawn at instead of being stretched.
FULL = 11.0
HALF = 5.3

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


# ------------------------------------------------------------------ formatting


def pct(rate: dict | None, digits: int = 1) -> str:
    """A rate as "12.3%", or "n/a" when there is not enough data behind it."""
    if not rate or not rate.get("denominator"):
        return "n/a"
    if not rate.get("enough_data"):
        return f"n/a ({rate['numerator']:,}/{rate['denominator']:,})"
    return f"{100 * rate['value']:.{digits}f}%"


def ci(rate: dict | None) -> str:
    if not rate or not rate.get("enough_data"):
        return ""
    return f"{100 * rate['ci_low']:.1f}\u2013{100 * rate['ci_high']:.1f}%"


def num(value) -> str:
    if value is None:
        return "\u2013"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}"


def hours(value: float | None) -> str:
    if value is None or value != value:
        return "n/a"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} days"


def day(text: str | None) -> str:
    if not text:
        return ""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d")


_ENV.filters.update(pct=pct, ci=ci, num=num, hours=hours, day=day)


def _svg(fig) -> Markup:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", transparent=True)
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    # ids must be unique on a page with several charts
    prefix = f"c{next(_counter)}"
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", text)
    text = re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{prefix}-{m.group(1)}"', text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', text)
    return Markup(text.replace("<svg ", '<svg class="chart" role="img" ', 1))


def _counter_gen():
    n = 0
    while True:
        n += 1
        yield n


_counter = _counter_gen()


def _empty(message: str, width: float = FULL, height: float = 0.8) -> Markup:
    fig, ax = plt.subplots(figsize=(width, height))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", color=MUTED, fontsize=11)
    return _svg(fig)


def _rate_bars(
    rows: list[tuple[str, dict]],
    title: str,
    xlabel: str,
    *,
    color: str = ACCENT,
    limit: int = 20,
    width: float = FULL,
) -> Markup:
    """Horizontal bars of rates with 95% interval whiskers; rows without enough data are
    drawn as a grey outline and labelled "not enough data"."""
    rows = rows[:limit]
    if not rows:
        return _empty("nothing to show in this range", width)
    height = 0.9 + 0.26 * len(rows)
    fig, ax = plt.subplots(figsize=(width, height))
    ys = list(range(len(rows)))[::-1]
    top = 0.0
    for y, (_, r) in zip(ys, rows, strict=True):
        enough = bool(r and r.get("enough_data"))
        value = (r or {}).get("value", 0.0) if enough else 0.0
        if enough:
            lo, hi = r["ci_low"], r["ci_high"]
            ax.barh(y, value, color=color, height=0.62)
            ax.errorbar(
                value,
                y,
                xerr=[[value - lo], [hi - value]],
                fmt="none",
                ecolor=INK,
                elinewidth=1,
                capsize=3,
            )
            ax.text(hi, y, f"  {100 * value:.1f}%", va="center", color=INK, fontsize=9)
            top = max(top, hi)
        else:
            ax.text(0, y, "  not enough data", va="center", color=GREY, fontsize=9)
    ax.set_yticks(ys, [label for label, _ in rows])
    ax.set_xlim(0, max(0.05, top * 1.25))
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(xlabel, color=MUTED)
    ax.set_title(title, loc="left")
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    return _svg(fig)


def _funnel(stages: list[tuple[str, int]], title: str) -> Markup:
    """Left-aligned bars, widest first, each labelled with its count and its share of the
    first stage."""
    if not stages or not stages[0][1]:
        return _empty("nobody in this range")
    fig, ax = plt.subplots(figsize=(FULL, 0.7 + 0.36 * len(stages)))
    first = stages[0][1]
    ys = list(range(len(stages)))[::-1]
    for i, (y, (_, count)) in enumerate(zip(ys, stages, strict=True)):
        share = count / first if first else 0.0
        ax.barh(y, share, color=PALETTE[i % len(PALETTE)], height=0.7)
        ax.text(
            share + 0.006,
            y,
            f"{count:,}  ({100 * share:.1f}%)",
            va="center",
            color=INK,
            fontsize=10,
        )
    ax.set_yticks(ys, [label for label, _ in stages], fontsize=10.5)
    ax.tick_params(axis="y", length=0, colors=INK)
    ax.set_xlim(0, 1.18)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    ax.spines["left"].set_visible(False)
    ax.set_title(title, loc="left")
    return _svg(fig)


# ------------------------------------------------------------------ campaigns


def _campaign_charts(r: dict) -> dict:
    t = r["totals"]
    stages = [
        ("sent", t["sent"]),
        ("delivered", t["delivered"]),
        ("opened", t["opened"]),
        ("clicked", t["clicked"]),
        ("replied", t["replied"]),
    ]
    templates = sorted(r["by_template"], key=lambda s: -(s["reply_rate"].get("value") or 0))
    steps = r["by_step"]
    return {
        "funnel": _funnel(stages, "What happened to the sends"),
        "templates": _rate_bars(
            [(s["key"], s["reply_rate"]) for s in templates],
            "Reply rate by template (95% interval)",
            "replies / sends",
            width=HALF,
        ),
        "opens": _rate_bars(
            [(s["key"], s["open_rate"]) for s in templates if s["delivered"]],
            "Human open rate by template (machine opens excluded)",
            "opened / delivered",
            color=GOOD,
            width=HALF,
        ),
        "steps": _rate_bars(
            [(s["label"], s["reply_rate"]) for s in steps],
            "Reply rate by step",
            "replies / sends",
            color="#7c3aed",
        ),
    }


# ------------------------------------------------------------------ pools


def _growth_chart(r: dict) -> Markup:
    growth = r["growth"]
    if not growth:
        return _empty("nobody joined in this range")
    periods = sorted({day(g["period_start"]) for g in growth})
    sources = sorted({g["source"] or "(none)" for g in growth})
    added = defaultdict(int)
    for g in growth:
        added[(day(g["period_start"]), g["source"] or "(none)")] += g["added"]
    fig, ax = plt.subplots(figsize=(FULL, 3.4))
    bottom = [0] * len(periods)
    xs = list(range(len(periods)))
    for i, source in enumerate(sources):
        values = [added[(p, source)] for p in periods]
        ax.bar(xs, values, bottom=bottom, color=PALETTE[i % len(PALETTE)], label=source, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    step = max(1, len(periods) // 12)
    ax.set_xticks(xs[::step], [p[:7] for p in periods][::step], rotation=45, ha="right")
    ax.set_ylabel("people added", color=MUTED)
    ax.set_title(f"Pool growth by source (per {r['interval']})", loc="left")
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.legend(
        frameon=False,
        fontsize=8,
        ncol=min(4, len(sources)),
        loc="upper left",
        bbox_to_anchor=(0, -0.28),
    )
    return _svg(fig)


def _pool_charts(r: dict) -> dict:
    sources = r["sources"]
    return {
        "growth": _growth_chart(r),
        "funnel": _funnel([(f["stage"], f["count"]) for f in r["funnel"]], "From sourced to hired"),
        "interview": _rate_bars(
            [(s["source"], s["interview"]) for s in sources],
            "Share reaching interview, by source (95% interval)",
            "reached interview or later",
            width=HALF,
        ),
        "hired": _rate_bars(
            [(s["source"], s["hired"]) for s in sources],
            "Share hired, by source (95% interval)",
            "hired",
            color=GOOD,
            width=HALF,
        ),
    }


# ------------------------------------------------------------------ models


def _model_charts(r: dict) -> dict:
    charts = {}
    hist = r["score_histogram"]
    if hist and sum(b["count"] for b in hist):
        fig, ax = plt.subplots(figsize=(HALF, 3.6))
        ax.bar(
            [b["low"] for b in hist],
            [b["count"] for b in hist],
            width=[b["high"] - b["low"] for b in hist],
            align="edge",
            color=ACCENT,
            edgecolor="white",
        )
        ax.set_xlim(0, hist[-1]["high"])
        ax.set_xlabel("predicted probability of a response", color=MUTED)
        ax.set_ylabel("people", color=MUTED)
        ax.set_title("Score distribution now", loc="left")
        ax.grid(axis="y", color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        charts["histogram"] = _svg(fig)
    else:
        charts["histogram"] = _empty("no scores", HALF)
    bins = [b for b in r["calibration"] if b["count"]]
    judged = [b for b in bins if b["observed"]["enough_data"]]
    if judged:
        fig, ax = plt.subplots(figsize=(HALF, 3.6))
        top = max(
            max(b["mean_predicted"] for b in judged), max(b["observed"]["ci_high"] for b in judged)
        )
        top = min(1.0, max(0.05, top * 1.15))
        ax.plot(
            [0, top], [0, top], color=GREY, linestyle="--", linewidth=1, label="perfect calibration"
        )
        for b in judged:
            o = b["observed"]
            ax.errorbar(
                b["mean_predicted"],
                o["value"],
                yerr=[[o["value"] - o["ci_low"]], [o["ci_high"] - o["value"]]],
                fmt="o",
                color=ACCENT,
                ecolor=ACCENT,
                capsize=3,
                markersize=3 + 5 * min(1.0, math.sqrt(b["count"] / 2000)),
            )
        few = len(bins) - len(judged)
        if few:
            ax.text(
                0.98,
                0.03,
                f"{few} bin(s) with too few people not drawn",
                transform=ax.transAxes,
                ha="right",
                color=MUTED,
                fontsize=8,
            )
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel("mean predicted", color=MUTED)
        ax.set_ylabel("observed response rate (95% interval)", color=MUTED)
        ax.set_title("Calibration on recent outcomes", loc="left")
        ax.grid(color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        ax.legend(frameon=False, fontsize=8, loc="upper left")
        charts["calibration"] = _svg(fig)
    else:
        charts["calibration"] = _empty("not enough recent outcomes to calibrate against", HALF)
    drift = [d for d in r["drift"] if d["psi"] is not None][:15]
    if drift:
        fig, ax = plt.subplots(figsize=(FULL, 0.9 + 0.26 * len(drift)))
        ys = list(range(len(drift)))[::-1]
        warn = r["psi_warning"]
        ax.barh(
            ys,
            [d["psi"] for d in drift],
            height=0.62,
            color=[BAD if d["warning"] else ACCENT for d in drift],
        )
        ax.axvline(warn, color=BAD, linestyle="--", linewidth=1)
        ax.text(warn, len(drift) - 0.4, f" warning {warn:g}", color=BAD, fontsize=8, va="bottom")
        ax.set_yticks(ys, [d["feature"] for d in drift])
        ax.set_xlabel("population stability index (training data → now)", color=MUTED)
        ax.set_title("Feature drift", loc="left")
        ax.set_xlim(0, max(warn * 1.5, max(d["psi"] for d in drift) * 1.15))
        ax.grid(axis="x", color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        charts["drift"] = _svg(fig)
    else:
        charts["drift"] = _empty("drift not measured (see notes)")
    return charts


# ------------------------------------------------------------------ fairness


def _impact_chart(table: dict, threshold: float) -> Markup:
    groups = table["groups"][:24]
    if not groups:
        return _empty("no groups")
    fig, ax = plt.subplots(figsize=(FULL, 0.9 + 0.3 * len(groups)))
    ys = list(range(len(groups)))[::-1]
    for y, g in zip(ys, groups, strict=True):
        if g["too_small"] or g["impact_ratio"] is None:
            ax.barh(y, 1.0, height=0.62, color="none", edgecolor=GREY, hatch="///", linewidth=0.6)
            ax.text(
                0.02,
                y,
                "too small to judge" if g["too_small"] else "not judged",
                va="center",
                color=MUTED,
                fontsize=8.5,
            )
            continue
        ratio = g["impact_ratio"]
        ax.barh(y, ratio, height=0.62, color=BAD if g["flagged"] else GOOD)
        ax.text(ratio, y, f"  {ratio:.2f}", va="center", color=INK, fontsize=9)
    ax.axvline(threshold, color=BAD, linestyle="--", linewidth=1.2)
    ax.text(
        threshold,
        len(groups) - 0.4,
        f" {threshold:g} (four-fifths rule)",
        color=BAD,
        fontsize=8,
        va="bottom",
    )
    ax.set_yticks(ys, [g["group"] for g in groups])
    ax.set_xlim(0, 1.18)
    ax.set_xlabel("impact ratio (selection rate / highest group's rate)", color=MUTED)
    ax.set_title(f"Impact ratios: {table['characteristic']}", loc="left")
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    return _svg(fig)


def _fairness_charts(r: dict) -> dict:
    return {t["characteristic"]: _impact_chart(t, r["threshold"]) for t in r["tables"]}


CHARTS = {
    "campaigns": _campaign_charts,
    "pools": _pool_charts,
    "models": _model_charts,
    "fairness": _fairness_charts,
}
TITLES = {
    "campaigns": "Campaign report",
    "pools": "Pool and pipeline report",
    "models": "Engagement model report",
    "fairness": "Adverse-impact report",
}


def render(kind: str, report: dict, *, generated_at: datetime | None = None) -> str:
    """The whole page for one report (`kind`: campaigns | pools | models | fairness)."""
    if kind not in CHARTS:
        raise ValueError(f"unknown report {kind!r}")
    template = _ENV.from_string(PAGE)
    return template.render(
        kind=kind,
        title=TITLES[kind],
        r=report,
        charts=CHARTS[kind](report),
        generated_at=(generated_at or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z"),
        too_small=sum(g["too_small"] for t in report.get("tables", ()) for g in t["groups"]),
    )


__all__ = ["ci", "hours", "pct", "render"]
