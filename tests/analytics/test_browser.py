"""Each HTML report rendered in a real headless browser (Debian's chromium): the charts
are SVG in the rendered DOM, the key numbers are on the page, nothing is fetched, and a
screenshot is kept (its path is printed; pytest keeps the last runs' tmp dirs).

Skips, saying so, when chromium is not installed (`apt-get install -y chromium`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from analytics_data import NOW, SINCE, UNTIL, bertrand_synthetic, planted_audit

from rapport.cli.report import to_plain
from rapport.cli.report_html import render
from rapport.models import fairness
from rapport.services.analytics import convert
from rapport.services.analytics.use_cases import AnalyticsUseCases

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI_REQUIRE_BROWSER") == "1":  # CI: never skip
    raise RuntimeError("CI_REQUIRE_BROWSER=1 but chromium is not installed (make browser)")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (make browser, or apt-get install chromium)"
)
BROWSER_TIMEOUT_S = 180


def browse(html: str, out_dir: Path, name: str) -> str:
    """Write the page, screenshot it, and return the DOM as the browser built it."""
    page = out_dir / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    shot = out_dir / f"{name}.png"
    # The background-networking flags keep chromium from dialling out (refused here, and
    # slow), and a fresh profile keeps runs apart.
    common = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={out_dir / (name + '-profile')}",
    ]
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=BROWSER_TIMEOUT_S,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a page, not a blank
    print(f"\nscreenshot of the {name} report: {shot}")
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_S,
    ).stdout
    assert "<script" not in dom
    assert not re.search(r'(src|href)="(https?:)?//', dom), "the page must fetch nothing"
    return dom


def svg_count(dom: str) -> int:
    return len(re.findall(r'<svg class="chart"', dom))


@pytest.fixture
def artefacts(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("report-screenshots")


@pytest.fixture
def uc(db, settings):
    return AnalyticsUseCases(db, settings.model_copy(update={"analytics_min_denominator": 1}))


def test_campaign_report_in_a_browser(known, uc, artefacts):
    data = to_plain(convert.campaign_to_pb(uc.campaigns(SINCE, UNTIL)))
    dom = browse(render("campaigns", data), artefacts, "campaigns")
    assert svg_count(dom) == 4  # outcomes, reply and open rate by template, steps
    for text in ("Campaign report", "t-a-1", "t-b-1", "42.9%", "Fisher exact test", "6 campaigns"):
        assert text in dom, text
    assert "What happened to the sends" in dom  # chart text is text, inside the SVG


def test_pool_report_in_a_browser(known, uc, artefacts):
    data = to_plain(convert.pool_to_pb(uc.pools(SINCE, UNTIL)))
    dom = browse(render("pools", data), artefacts, "pools")
    assert svg_count(dom) == 4  # growth, funnel, interview and hire rates by source
    for text in ("Pool and pipeline report", "From sourced to hired", "referral", "16.4 days"):
        assert text in dom, text


def test_model_report_in_a_browser(seeded, scorer, settings, artefacts):
    uc = AnalyticsUseCases(seeded, settings, models=lambda version: scorer)
    data = to_plain(convert.model_to_pb(uc.models(NOW - timedelta(days=365), NOW)))
    dom = browse(render("models", data), artefacts, "models")
    assert svg_count(dom) == 3  # histogram, calibration, drift
    for text in ("Engagement model report", "v7", "Feature drift", "not logged yet"):
        assert text in dom, text
    assert data["drift"][0]["feature"] in dom


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        (
            "fairness",
            planted_audit(
                {
                    ("female", "white"): 0.3,
                    ("male", "white"): 0.5,
                    ("female", "asian"): 0.3,
                    ("male", "asian"): 0.5,
                    ("male", "hispanic_or_latino"): 0.5,
                },
                {
                    ("female", "white"): 800,
                    ("male", "white"): 800,
                    ("female", "asian"): 600,
                    ("male", "asian"): 600,
                    ("male", "hispanic_or_latino"): 20,
                },
            ),
        ),
        ("fairness-bertrand-synthetic", bertrand_synthetic()),
    ],
)
def test_fairness_report_in_a_browser(uc, artefacts, name, rows):
    counts = fairness.ll144_counts(rows)
    outcome = uc.fairness_audit(
        ["sex", "race_ethnicity"],
        [(list(k), s, t) for k, (s, t) in counts.items()],
        source=f"{name}.csv",
    )
    data = to_plain(convert.fairness_to_pb(outcome))
    dom = browse(render("fairness", data), artefacts, name)
    assert svg_count(dom) == 3  # sex, race/ethnicity, their intersection
    assert "four-fifths rule" in dom and "Local Law 144" in dom
    assert "below 0.8" in dom  # the planted bias is flagged on the page
    if name == "fairness":
        assert "too small to judge" in dom  # 20 Hispanic men: under the minimum share
