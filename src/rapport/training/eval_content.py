"""`rapport eval content`: off-policy estimates (IPS, SNIPS, DR) where the truth is known.

(a) Open Bandit Dataset sample (the CSVs the PyPI package `obp` ships; its code is never
    imported). The evaluation policy is the Bernoulli Thompson Sampling policy ZOZOTOWN
    ran that week; its value is estimated from the uniform-random log and compared with
    the CTR the BTS log actually observed, per campaign (all, men, women).

    The BTS policy was updated every few minutes, so each BTS row's `propensity_score` is
    the probability of that (item, position) under the posterior of its moment, and the
    rows do not give the whole distribution of any moment. What IPS needs, under CTRs that
    hold over the week, is the week's average distribution: pi(a | k) = mean over rounds
    of p_t(a | k). Each (item, position)'s share of the BTS log's impressions is an
    unbiased estimate of exactly that (E[1{a_t = a}] = p_t(a)), so pi is read from the
    BTS log's impression shares. Intervals are percentile bootstraps over both logs (the
    reward noise of the random log and the estimation noise of pi), beside the normal
    approximation from the random log alone. The "truth" (the BTS log's CTR) has its own
    binomial interval: with ~40 clicks per campaign both are wide.

(b) Hillstrom's e-mail experiment as a three-arm logged bandit (no e-mail, men's, women's;
    randomised, 1/3 each): a reward model (per-arm gradient boosting on the pre-treatment
    features) is fitted on one half; on the other half the greedy targeting policy it
    implies is evaluated, beside "send one arm to everyone" (whose truth is that arm's
    visit rate in the experiment) and the uplift of the top 30% by predicted uplift.

(c) Rapport's own decision log: the logged policy (on-policy, the truth being its mean
    reward), uniform choice, greedy on the logged score and a colder softmax, from the
    eligible sets and propensities NextBestContent logged.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rapport.core.config import Settings
from rapport.core.errors import RapportError
from rapport.core.store import decisions
from rapport.core.store.db import Database
from rapport.models import ope

log = logging.getLogger(__name__)

CAMPAIGNS = ("all", "men", "women")
HILLSTROM_ARMS = ("No E-Mail", "Mens E-Mail", "Womens E-Mail")
HILLSTROM_FEATURES = ("recency", "history", "mens", "womens", "newbie", "zip_code", "channel")
UPLIFT_FRACTION = 0.30
MIN_LOGGED = 20
LEVEL = 0.95


def find_obd() -> Path | None:
    """The Open Bandit Dataset sample inside the installed `obp` package, if any."""
    try:
        spec = importlib.util.find_spec("obp")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "dataset" / "obd"
    return folder if (folder / "random" / "all" / "all.csv").exists() else None


def _rel_error(value: float, truth: float) -> float | None:
    return round(abs(value - truth) / truth, 4) if truth else None


def _binomial(successes: float, n: int) -> dict:
    """A rate with its normal-approximation interval."""
    p = successes / n
    half = 1.959964 * np.sqrt(max(p * (1 - p), 1e-12) / n)
    return {"value": round(p, 6), "lower": round(p - half, 6), "upper": round(p + half, 6), "n": n}


def _report(est: ope.Estimate, truth: float | None, boot: tuple[float, float] | None = None):
    out = est.to_dict()
    if boot is not None:
        out["bootstrap_lower"], out["bootstrap_upper"] = round(boot[0], 6), round(boot[1], 6)
    if truth is not None:
        out["relative_error"] = _rel_error(est.value, truth)
        if est.estimator != "dm":  # DM's interval ignores its model's error: no coverage claim
            lo, hi = boot if boot is not None else (est.lower, est.upper)
            out["covers_truth"] = bool(lo <= truth <= hi)
    return out


# ------------------------------------------------------------------ (a) Open Bandit Dataset


def _read_obd(folder: Path, policy: str, campaign: str) -> pd.DataFrame:
    path = folder / policy / campaign / f"{campaign}.csv"
    frame = pd.read_csv(path, usecols=["item_id", "position", "click", "propensity_score"])
    return frame.astype({"item_id": int, "position": int, "click": float})


def _shares(cells: np.ndarray, n_items: int, width: int) -> np.ndarray:
    """pi(a | k): each item's share of the BTS log's impressions at each position, from the
    log's cells (position * n_items + item)."""
    table = np.bincount(cells, minlength=width * n_items).reshape(width, n_items).astype(float)
    sums = table.sum(axis=1, keepdims=True)
    return np.divide(table, sums, out=np.zeros_like(table), where=sums > 0)


def _obd_reward_model(rand: pd.DataFrame, n_items: int, positions: Sequence[int], seed: int):
    """Cross-fitted CTR per (position, item), shrunk towards the position's CTR."""
    k_idx = rand["position"].to_numpy()
    a_idx = rand["item_id"].to_numpy()
    r = rand["click"].to_numpy()
    strength = 200.0  # pseudo-impressions: a few clicks per cell cannot carry a model
    width = max(positions) + 1

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        clicks = np.zeros((width, n_items))
        shows = np.zeros((width, n_items))
        np.add.at(clicks, (k_idx[train], a_idx[train]), r[train])
        np.add.at(shows, (k_idx[train], a_idx[train]), 1.0)
        base = clicks.sum(axis=1, keepdims=True) / np.maximum(shows.sum(axis=1, keepdims=True), 1)
        table = (clicks + strength * base) / (shows + strength)
        return table[k_idx[test]]  # (len(test), n_items): q(a | k_i) for every item

    return ope.cross_fit(len(rand), fit_predict, folds=2, seed=seed)


def _obd_campaign(folder: Path, campaign: str, rounds: int, seed: int) -> dict:
    rand = _read_obd(folder, "random", campaign)
    bts = _read_obd(folder, "bts", campaign)
    n_items = int(max(rand["item_id"].max(), bts["item_id"].max()) + 1)
    positions = sorted(set(rand["position"]) | set(bts["position"]))
    width = max(positions) + 1
    cells = (bts["position"] * n_items + bts["item_id"]).to_numpy()
    pi = _shares(cells, n_items, width)
    k = rand["position"].to_numpy()
    a = rand["item_id"].to_numpy()
    r = rand["click"].to_numpy()
    p0 = rand["propensity_score"].to_numpy()
    rows = np.arange(len(rand))
    q = _obd_reward_model(rand, n_items, positions, seed)
    q_logged = q[rows, a]

    def estimates(pi_table: np.ndarray, idx: np.ndarray) -> dict[str, float]:
        pe = pi_table[k[idx], a[idx]]
        w = pe / p0[idx]
        qbar = (pi_table[k[idx]] * q[idx]).sum(axis=1)
        return {
            "ips": float(np.mean(w * r[idx])),
            "snips": float(np.sum(w * r[idx]) / np.sum(w)) if np.sum(w) > 0 else np.nan,
            "dr": float(np.mean(qbar + w * (r[idx] - q_logged[idx]))),
        }

    rng = np.random.default_rng(seed)
    boot: dict[str, list[float]] = {"ips": [], "snips": [], "dr": []}
    for _ in range(rounds):
        resampled = cells[rng.integers(0, len(cells), len(cells))]
        values = estimates(
            _shares(resampled, n_items, width), rng.integers(0, len(rand), len(rand))
        )
        for name, v in values.items():
            boot[name].append(v)
    alpha = (1 - LEVEL) / 2

    def interval(name: str) -> tuple[float, float]:
        v = np.asarray(boot[name])
        v = v[np.isfinite(v)]
        return float(np.quantile(v, alpha)), float(np.quantile(v, 1 - alpha))

    found = ope.evaluate(
        r, pi[k, a], p0, q_logged=q_logged, q_target=(pi[k] * q).sum(axis=1), level=LEVEL
    )
    truth = float(bts["click"].mean())
    return {
        "rounds_random_log": len(rand),
        "rounds_bts_log": len(bts),
        "items": n_items,
        "positions": positions,
        "clicks_random_log": int(r.sum()),
        "clicks_bts_log": int(bts["click"].sum()),
        "truth_bts_ctr": _binomial(bts["click"].sum(), len(bts)),
        "random_policy_ctr": _binomial(r.sum(), len(rand)),
        "estimates": {
            name: _report(found[name], truth, interval(name)) for name in ("ips", "snips", "dr")
        }
        | {"dm": _report(found["dm"], truth)},
    }


def evaluate_obd(folder: Path, *, rounds: int = 1000, seed: int = 12345) -> dict:
    out: dict = {
        "source": str(folder),
        "evaluation_policy": "Bernoulli TS as logged (week-average action distribution per "
        "position, from the BTS log's impression shares)",
        "logging_policy": "uniform random",
        "ci": f"{LEVEL:.0%} percentile bootstrap over both logs ({rounds} rounds); "
        "normal approximation beside it (lower/upper)",
        "campaigns": {},
    }
    for campaign in CAMPAIGNS:
        out["campaigns"][campaign] = _obd_campaign(folder, campaign, rounds, seed)
    return out


# ------------------------------------------------------------------ (b) Hillstrom


def _hillstrom_features(frame: pd.DataFrame) -> pd.DataFrame:
    x = frame[list(HILLSTROM_FEATURES)].copy()
    return pd.get_dummies(x, columns=["zip_code", "channel"], dtype=float)


def evaluate_hillstrom(path: Path, *, seed: int = 7) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier

    frame = pd.read_csv(path)
    arm = frame["segment"].map({name: i for i, name in enumerate(HILLSTROM_ARMS)})
    if arm.isna().any():
        raise ValueError(f"unexpected segments in {path}: {sorted(set(frame['segment']))}")
    a = arm.to_numpy(dtype=int)
    r = frame["visit"].to_numpy(dtype=float)
    x = _hillstrom_features(frame).to_numpy(dtype=float)
    n_arms = len(HILLSTROM_ARMS)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frame))
    train, test = order[: len(order) // 2], order[len(order) // 2 :]

    # Reward model per arm (a T-learner), fitted on the first half only.
    q = np.zeros((len(test), n_arms))
    for arm_i in range(n_arms):
        rows = train[a[train] == arm_i]
        model = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=seed
        ).fit(x[rows], r[rows])
        q[:, arm_i] = model.predict_proba(x[test])[:, 1]
    a_t, r_t = a[test], r[test]
    p0 = np.full(len(test), 1.0 / n_arms)  # the experiment's design
    rows = np.arange(len(test))

    email = 1 + np.argmax(q[:, 1:], axis=1)  # the better e-mail for each person
    uplift = q[rows, email] - q[:, 0]
    top = np.zeros(len(test), dtype=bool)
    top[np.argsort(-uplift)[: int(UPLIFT_FRACTION * len(test))]] = True
    policies = {
        "learned_greedy": np.argmax(q, axis=1),
        "target_top_30pct": np.where(top, email, 0),
        **{
            f"everyone_{name.split()[0].lower()}": np.full(len(test), i)
            for i, name in enumerate(HILLSTROM_ARMS)
        },
    }
    results = {}
    for name, chosen in policies.items():
        target_p = (chosen[rows] == a_t).astype(float)  # deterministic policies
        found = ope.evaluate(
            r_t, target_p, p0, q_logged=q[rows, a_t], q_target=q[rows, chosen], level=LEVEL
        )
        truth = None
        if name.startswith("everyone_"):
            arm_i = int(chosen[0])
            truth = float(r_t[a_t == arm_i].mean())
        results[name] = {
            "share_sent_email": round(float(np.mean(chosen > 0)), 4),
            "arms": {HILLSTROM_ARMS[i]: int(np.sum(chosen == i)) for i in range(n_arms)},
            "truth": None
            if truth is None
            else _binomial(r_t[a_t == int(chosen[0])].sum(), int(np.sum(a_t == chosen[0]))),
            "estimates": {n: _report(e, truth) for n, e in found.items()},
        }

    def uplift_at(mask: np.ndarray) -> dict:
        treated = mask & (a_t == email)
        control = mask & (a_t == 0)
        t, c = r_t[treated].mean(), r_t[control].mean()
        se = np.sqrt(t * (1 - t) / treated.sum() + c * (1 - c) / control.sum())
        return {
            "uplift": round(float(t - c), 5),
            "lower": round(float(t - c - 1.959964 * se), 5),
            "upper": round(float(t - c + 1.959964 * se), 5),
            "treated_visit_rate": round(float(t), 5),
            "control_visit_rate": round(float(c), 5),
            "people": int(mask.sum()),
        }

    return {
        "source": str(path),
        "rows": len(frame),
        "train_rows": len(train),
        "test_rows": len(test),
        "reward_model": "HistGradientBoosting per arm on recency, history, mens, womens, "
        "newbie, zip_code, channel (fitted on the train half)",
        "logging_propensity": "1/3 per arm (randomised experiment)",
        "policies": results,
        "uplift_at_30pct": {
            "targeted": uplift_at(top),
            "everyone_baseline": uplift_at(np.ones(len(test), dtype=bool)),
            "note": "visit rate of those in the set who got their predicted-best e-mail, "
            "minus those who got no e-mail (both randomised)",
        },
    }


# ------------------------------------------------------------------ (c) the store's log


def evaluate_store(settings: Settings, *, seed: int = 3) -> dict:
    """Estimates from NextBestContent's own log (decisions with a known reward)."""
    url = settings.effective_database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return {"skipped": f"no store at {url}"}  # and do not create one by looking
    try:
        db = Database(url)
    except RapportError as exc:  # a store at another schema revision
        return {"skipped": f"store at {url} not usable: {exc}"}
    try:
        with db.read() as s:
            rows = decisions.logged_with_rewards(s)
    finally:
        db.close()
    if len(rows) < MIN_LOGGED:
        return {
            "skipped": f"{len(rows)} decisions with outcomes in the store; at least "
            f"{MIN_LOGGED} are needed (NextBestContent, then RecordOutcome)"
        }
    r = np.array([row.reward for row in rows], dtype=float)
    p0 = np.array([row.propensity for row in rows], dtype=float)
    chosen_at, scores, logged_p, eligible_ids = [], [], [], []
    for row in rows:
        arrays = decisions.eligible_arrays(row.eligible)
        ids = arrays["ids"]
        chosen_at.append(ids.index(row.content_pk) if row.content_pk in ids else -1)
        scores.append(np.asarray(arrays["s"] or [0.0] * len(ids), dtype=float))
        logged_p.append(np.asarray(arrays["p"], dtype=float))
        eligible_ids.append(ids)
    usable = np.array([i >= 0 for i in chosen_at])
    keep = [i for i, ok in enumerate(usable) if ok]
    rows = [rows[i] for i in keep]
    r, p0 = r[usable], p0[usable]
    chosen_at = [chosen_at[i] for i in keep]
    scores = [scores[i] for i in keep]
    logged_p = [logged_p[i] for i in keep]
    eligible_ids = [eligible_ids[i] for i in keep]

    # Reward model: each item's reward rate, shrunk towards the mean, cross-fitted: a
    # decision's predictions (for the item logged and for every item the target policy
    # might pick) all come from the model fitted on the other fold.
    items = [row.content_pk for row in rows]
    folds = np.random.default_rng(seed).permutation(len(rows)) % 2
    models = []
    for f in (0, 1):
        train = np.flatnonzero(folds != f)
        prior = float(r[train].mean()) if len(train) else 0.0
        sums: dict[int, float] = {}
        counts: dict[int, int] = {}
        for i in train:
            sums[items[i]] = sums.get(items[i], 0.0) + r[i]
            counts[items[i]] = counts.get(items[i], 0) + 1
        models.append((sums, counts, prior))

    def q_of(i: int, pk: int) -> float:
        sums, counts, prior = models[folds[i]]
        return (sums.get(pk, 0.0) + 5 * prior) / (counts.get(pk, 0) + 5)

    q_rows = [np.array([q_of(i, pk) for pk in ids]) for i, ids in enumerate(eligible_ids)]
    rate = np.array([q[at] for q, at in zip(q_rows, chosen_at, strict=True)])

    def target(kind: str, logged: np.ndarray, s: np.ndarray) -> np.ndarray:
        k = len(s)
        if kind == "logged":
            return logged / logged.sum()
        if kind == "uniform":
            return np.full(k, 1.0 / k)
        if kind == "greedy":
            best = (s == s.max()).astype(float)
            return best / best.sum()
        logits = np.log(np.maximum(s, 1e-9)) / 0.05  # colder softmax (T = 0.05)
        p = np.exp(logits - logits.max())
        return p / p.sum()

    out: dict = {
        "decisions": len(rows),
        "mean_eligible": round(float(np.mean([len(s) for s in scores])), 2),
        "policy_versions": sorted({f"{row.policy_name} {row.policy_version}" for row in rows}),
        "observed_reward": _binomial(r.sum(), len(r)),
        "policies": {},
    }
    for kind in ("logged", "uniform", "greedy", "softmax_t0.05"):
        pe, qbar = [], []
        for logged, s, at, q in zip(logged_p, scores, chosen_at, q_rows, strict=True):
            dist = target(kind, logged, s)
            pe.append(dist[at])
            qbar.append(float(dist @ q))
        found = ope.evaluate(r, pe, p0, q_logged=rate, q_target=qbar, level=LEVEL)
        truth = float(r.mean()) if kind == "logged" else None
        out["policies"][kind] = {n: _report(e, truth) for n, e in found.items()}
    return out


# ------------------------------------------------------------------ all of it


def evaluate_content(
    data_dir: Path | None,
    settings: Settings,
    *,
    parts: Sequence[str] = ("obd", "hillstrom", "store"),
    bootstrap_rounds: int = 1000,
) -> dict:
    """Every part that has its data; a part without it says why it was skipped."""
    out: dict = {"level": LEVEL}
    if "obd" in parts:
        started = time.perf_counter()
        folder = find_obd()
        out["obd"] = (
            evaluate_obd(folder, rounds=bootstrap_rounds)
            if folder is not None
            else {
                "skipped": "the Open Bandit Dataset sample is not installed: "
                "pip install --no-deps --ignore-requires-python obp==0.5.7"
            }
        )
        out["obd"]["seconds"] = round(time.perf_counter() - started, 1)
    if "hillstrom" in parts:
        path = data_dir / "hillstrom" / "hillstrom.csv" if data_dir is not None else None
        if path is not None and path.exists():
            started = time.perf_counter()
            out["hillstrom"] = evaluate_hillstrom(path)
            out["hillstrom"]["seconds"] = round(time.perf_counter() - started, 1)
        else:
            out["hillstrom"] = {
                "skipped": "no hillstrom/hillstrom.csv: pass --data DIR or set RAPPORT_EVAL_DATA"
            }
    if "store" in parts:
        out["store"] = evaluate_store(settings)
    return out


__all__ = [
    "evaluate_content",
    "evaluate_hillstrom",
    "evaluate_obd",
    "evaluate_store",
    "find_obd",
]
