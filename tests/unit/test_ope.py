"""Off-policy estimators on synthetic logs whose true value is known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.models import ope

N_CONTEXTS, N_ACTIONS = 6, 4


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def world():
    """Reward probabilities q(x, a), a logging and a (quite different) target policy, and
    the target's true value sum_x P(x) sum_a pi_e(a|x) q(x, a)."""
    rng = np.random.default_rng(42)
    q = rng.uniform(0.02, 0.35, (N_CONTEXTS, N_ACTIONS))
    p_x = rng.dirichlet(np.ones(N_CONTEXTS) * 3)
    logging = _softmax(rng.normal(0, 0.7, (N_CONTEXTS, N_ACTIONS)))
    target = _softmax(8.0 * q)  # prefers the better actions
    truth = float(p_x @ (target * q).sum(axis=1))
    return q, p_x, logging, target, truth


def simulate(world, n: int, seed: int):
    q, p_x, logging, _target, _ = world
    rng = np.random.default_rng(seed)
    x = rng.choice(N_CONTEXTS, n, p=p_x)
    u = rng.random(n)
    a = (logging[x].cumsum(axis=1) < u[:, None]).sum(axis=1)
    r = (rng.random(n) < q[x, a]).astype(float)
    return x, a, r


def estimates(world, x, a, r, q_hat=None):
    _, _, logging, target, _ = world
    rows = np.arange(len(x))
    if q_hat is None:  # a cross-fitted tabular reward model

        def fit_predict(train, test):
            sums = np.zeros((N_CONTEXTS, N_ACTIONS))
            counts = np.zeros((N_CONTEXTS, N_ACTIONS))
            np.add.at(sums, (x[train], a[train]), r[train])
            np.add.at(counts, (x[train], a[train]), 1)
            table = (sums + r[train].mean()) / (counts + 1)
            return table[x[test]]

        q_rows = ope.cross_fit(len(x), fit_predict, folds=2, seed=1)
    else:
        q_rows = q_hat[x]
    return ope.evaluate(
        r,
        target[x, a],
        logging[x, a],
        q_logged=q_rows[rows, a],
        q_target=(target[x] * q_rows).sum(axis=1),
    )


def test_each_estimator_covers_the_true_value(world):
    truth = world[-1]
    x, a, r = simulate(world, 20_000, seed=7)
    found = estimates(world, x, a, r)
    for name in ("ips", "snips", "dr"):
        est = found[name]
        assert est.covers(truth), (name, est, truth)
        assert est.lower < est.value < est.upper
    # The logged policy's own mean reward is clearly not the target's value.
    assert abs(r.mean() - truth) > 3 * found["ips"].std_error


def test_normal_intervals_cover_at_about_their_level(world):
    truth = world[-1]
    covered = {"ips": 0, "snips": 0, "dr": 0}
    replicates = 200
    for seed in range(replicates):
        x, a, r = simulate(world, 2_000, seed=1000 + seed)
        for name, est in estimates(world, x, a, r).items():
            if name in covered:
                covered[name] += est.covers(truth)
    for name, hits in covered.items():
        assert hits / replicates >= 0.90, (name, hits)


def test_doubly_robust_stays_unbiased_with_a_wrong_reward_model(world):
    truth = world[-1]
    wrong = np.full((N_CONTEXTS, N_ACTIONS), 0.5)
    values = []
    for seed in range(100):
        x, a, r = simulate(world, 2_000, seed=5000 + seed)
        values.append(estimates(world, x, a, r, q_hat=wrong)["dr"].value)
    mean, se = np.mean(values), np.std(values, ddof=1) / np.sqrt(len(values))
    assert abs(mean - truth) < 3 * se
    # ... while the direct method with that model is simply wrong.
    x, a, r = simulate(world, 2_000, seed=1)
    dm = estimates(world, x, a, r, q_hat=wrong)["dm"]
    assert not dm.covers(truth)


def test_on_policy_weights_are_one_and_give_the_logged_mean():
    rng = np.random.default_rng(0)
    r = (rng.random(500) < 0.3).astype(float)
    p = rng.uniform(0.1, 0.9, 500)
    ips, snips = ope.ips(r, p, p), ope.snips(r, p, p)
    assert ips.value == pytest.approx(r.mean())
    assert snips.value == pytest.approx(r.mean())
    assert ips.ess == pytest.approx(500)


def test_effective_sample_size_shrinks_with_uneven_weights():
    assert ope.effective_sample_size(np.ones(100)) == pytest.approx(100)
    assert ope.effective_sample_size(np.r_[np.ones(99) * 0.01, 50.0]) < 2


def test_bad_logs_are_refused():
    with pytest.raises(ValueError, match="logging propensities must be > 0"):
        ope.ips([1.0, 0.0], [0.5, 0.5], [0.5, 0.0])
    with pytest.raises(ValueError, match="same length"):
        ope.snips([1.0], [0.5, 0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="empty"):
        ope.ips([], [], [])


def test_bootstrap_interval_brackets_the_estimate(world):
    x, a, r = simulate(world, 3_000, seed=3)
    _, _, logging, target, _truth = world
    w = target[x, a] / logging[x, a]

    def snips_of(idx: np.ndarray) -> float:
        return float(np.sum(w[idx] * r[idx]) / np.sum(w[idx]))

    lo, hi = ope.bootstrap(snips_of, len(r), rounds=300, seed=2)
    point = ope.snips(r, target[x, a], logging[x, a])
    assert lo < point.value < hi
    # The bootstrap and the delta method agree on the width to within a third.
    assert (hi - lo) == pytest.approx(point.upper - point.lower, rel=0.35)
