"""The statistics behind the reports, against textbook values and scipy where it exists."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rapport.models import analytics_stats as st


def test_wilson_interval_known_values():
    # Newcombe (1998), table I: 81/263 -> 0.2553 .. 0.3662; 0/10 -> 0 .. 0.2775
    low, high = st.wilson(81, 263)
    assert (low, high) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    low, high = st.wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert st.wilson(0, 0) == (0.0, 1.0)


def test_rate_never_divides_by_zero_and_flags_small_denominators():
    r = st.rate(0, 0, min_n=30)
    assert (r.value, r.enough) == (0.0, False)
    r = st.rate(1, 1, min_n=30)
    assert r.value == 1.0 and not r.enough  # a 100% that must not be shown as one
    assert st.rate(12, 40, min_n=30).enough


def test_fisher_exact_matches_textbook_and_scipy():
    # Fisher's lady tasting tea: [[3, 1], [1, 3]] -> two-sided p = 0.4857
    assert st.fisher_exact(3, 4, 1, 4) == pytest.approx(0.485714, abs=1e-6)
    scipy_stats = pytest.importorskip("scipy.stats")
    for k1, n1, k2, n2 in [(1, 2, 1, 3), (0, 20, 7, 25), (12, 40, 3, 41), (50, 500, 80, 510)]:
        expected = scipy_stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
        assert st.fisher_exact(k1, n1, k2, n2) == pytest.approx(expected, rel=1e-9)


def test_z_test_and_the_choice_of_test():
    # 100/1000 vs 50/1000: pooled p 0.075, se 0.011779, z = 4.2448, two-sided p = 2.19e-5
    assert st.z_test(100, 1000, 50, 1000) == pytest.approx(2.188e-5, rel=1e-3)
    big = st.compare(100, 1000, 50, 1000)
    assert big.test == "two-proportion z-test" and big.difference == pytest.approx(-0.05)
    assert big.low < -0.05 < big.high < 0
    small = st.compare(1, 8, 4, 9)
    assert small.test == "Fisher exact test"
    assert st.compare(0, 0, 0, 0).p_value == 1.0


def test_holm_adjustment():
    adjusted = st.holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert st.holm([]) == []


def test_quantile_matches_numpy():
    values = sorted([5.0, 24.0, 24.0, 1.0, 300.0, 7.5])
    for q in (0.0, 0.5, 0.9, 1.0):
        assert st.quantile(values, q) == pytest.approx(float(np.quantile(values, q)))
    assert math.isnan(st.quantile([], 0.5))


def test_psi_is_zero_for_the_same_distribution_and_grows_with_shift():
    rng = np.random.default_rng(3)
    ref = rng.normal(0, 1, 20_000)
    same = rng.normal(0, 1, 20_000)
    shifted = rng.normal(0.5, 1, 20_000)
    assert st.numeric_psi(ref, same) < 0.01
    psi = st.numeric_psi(ref, shifted)
    # a half-standard-deviation shift: PSI about 0.25 with deciles
    assert 0.18 < psi < 0.35
    # a feature that is mostly zero keeps one bin for its zeros
    zeros = np.where(rng.random(10_000) < 0.7, 0.0, rng.exponential(3, 10_000))
    assert st.numeric_psi(zeros, zeros[::-1]) < 1e-9
    assert st.categorical_psi(["a"] * 90 + ["b"] * 10, ["a"] * 50 + ["b"] * 50) > 0.5


def test_calibration_bins_ece_brier_auc():
    rng = np.random.default_rng(7)
    p = rng.uniform(0, 1, 50_000)
    y = (rng.uniform(0, 1, 50_000) < p).astype(int)  # perfectly calibrated
    cal = st.calibration(p, y, [0, 0.25, 0.5, 0.75, 1.0])
    assert cal.ece < 0.01
    assert cal.brier == pytest.approx(1 / 6, abs=0.01)  # E[p(1-p)] for uniform p
    assert cal.roc_auc == pytest.approx(0.833, abs=0.01)
    for b in cal.bins:
        assert b.observed.low <= b.mean_predicted <= b.observed.high or b.count < 100
    overconfident = st.calibration(np.clip(p * 1.6, 0, 1), y, [0, 0.25, 0.5, 0.75, 1.0])
    assert overconfident.ece > 0.1
    assert math.isnan(st.roc_auc(np.array([0.1, 0.2]), np.array([1, 1])))
