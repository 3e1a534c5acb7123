"""The next-best-content policy: which eligible item to send, drawn at random with a known
probability, so that the log can evaluate any other policy later (DESIGN §8).

Score of item i for a person:  s_i = relevance_i x response_i, where

* relevance_i = (1 + cos(person, item)) / 2 with the matching encoder's vectors (averaged
  with the role's when the context names one), in 0..1;
* response_i = P(click or reply) = sigmoid(logit p + logit theta_i - logit theta_0): the
  person's own response probability p (the engagement model's, or the prior theta_0 when
  no model answers), shifted by how item i does against the prior, theta_i being the
  posterior mean of a Beta(theta_0 k, (1 - theta_0) k) prior updated with the item's
  logged rewards (k = prior strength).

The draw: pi_i = (1 - eps) softmax(log s / T)_i + eps / K over the K eligible items.
Softmax over log scores makes the choice depend on score ratios, not on how responsive the
person is overall; eps keeps every eligible item's propensity >= eps / K (overlap for
off-policy estimates). The propensity of the drawn item is pi_i itself: exact, not
simulated. `uniform` (pi_i = 1 / K) is the pure-exploration baseline.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass

import numpy as np

MIN_SCORE = 1e-9
_EPS = 1e-6


@dataclass(frozen=True)
class PolicyConfig:
    kind: str = "softmax"  # softmax | uniform
    temperature: float = 0.1
    exploration: float = 0.05
    prior_response: float = 0.05
    prior_strength: float = 20.0

    def __post_init__(self) -> None:
        if self.kind not in ("softmax", "uniform"):
            raise ValueError(f"unknown content policy {self.kind!r}: softmax or uniform")
        if self.temperature <= 0:
            raise ValueError("content policy temperature must be > 0")
        if not 0.0 <= self.exploration <= 1.0:
            raise ValueError("content policy exploration must be within 0..1")
        if not 0.0 < self.prior_response < 1.0 or self.prior_strength <= 0:
            raise ValueError("content response prior: 0 < mean < 1 and strength > 0")

    @property
    def name(self) -> str:
        return "softmax-relevance-response" if self.kind == "softmax" else "uniform-random"

    def version(self, encoder_id: str) -> str:
        """Changes with anything that changes the draw: parameters and vector space."""
        blob = json.dumps(asdict(self) | {"encoder": encoder_id}, sort_keys=True)
        return "1+" + hashlib.blake2b(blob.encode(), digest_size=4).hexdigest()


def relevance(person: np.ndarray, items: np.ndarray, role: np.ndarray | None = None) -> np.ndarray:
    """(1 + cosine) / 2 of unit vectors, in 0..1; with a role, the mean of both."""
    rel = (1.0 + items @ person) / 2.0
    if role is not None:
        rel = (rel + (1.0 + items @ role) / 2.0) / 2.0
    return np.clip(rel, 0.0, 1.0).astype(np.float64)


def item_rates(
    sends: np.ndarray, rewards: np.ndarray, prior_mean: float, strength: float
) -> np.ndarray:
    """Posterior mean response rate of each item: Beta prior plus its logged rewards."""
    a = prior_mean * strength + np.asarray(rewards, dtype=np.float64)
    b = (1.0 - prior_mean) * strength + np.asarray(sends, dtype=np.float64) - rewards
    return a / (a + b)


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def predicted_response(person_p: float, rates: np.ndarray, base_rate: float) -> np.ndarray:
    """P(response) of this person to each item: their own odds times the item's odds ratio."""
    z = _logit(person_p) + _logit(rates) - _logit(base_rate)
    return 1.0 / (1.0 + np.exp(-z))


def propensities(scores: np.ndarray, config: PolicyConfig) -> np.ndarray:
    """The policy's distribution over the eligible items (sums to 1)."""
    k = len(scores)
    if k == 0:
        return np.zeros(0)
    if config.kind == "uniform":
        return np.full(k, 1.0 / k)
    logits = np.log(np.maximum(scores, MIN_SCORE)) / config.temperature
    logits -= logits.max()
    p = np.exp(logits)
    p /= p.sum()
    p = (1.0 - config.exploration) * p + config.exploration / k
    return p / p.sum()


@dataclass(frozen=True)
class Choice:
    index: int  # into the eligible arrays
    propensities: np.ndarray  # of every eligible item
    scores: np.ndarray
    relevance: np.ndarray
    response: np.ndarray

    @property
    def propensity(self) -> float:
        return float(self.propensities[self.index])


class ContentPolicy:
    """Scores eligible items and draws one. Thread-safe; deterministic given a seed."""

    def __init__(self, config: PolicyConfig, seed: int | None = None) -> None:
        self.config = config
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()

    def draw(self, p: np.ndarray) -> int:
        """An index drawn with probabilities `p` (inverse CDF: exactly p, one uniform)."""
        with self._lock:
            u = float(self._rng.random())
        cdf = np.cumsum(p)
        return int(min(np.searchsorted(cdf, u * cdf[-1], side="right"), len(p) - 1))

    def choose(self, rel: np.ndarray, rates: np.ndarray, person_p: float) -> Choice:
        """Draws among the eligible items (`rel`, `rates` aligned; at least one)."""
        if len(rel) == 0:
            raise ValueError("nothing to choose from")
        response = predicted_response(person_p, rates, self.config.prior_response)
        scores = rel * response
        p = propensities(scores, self.config)
        return Choice(self.draw(p), p, scores, rel, response)


__all__ = [
    "Choice",
    "ContentPolicy",
    "PolicyConfig",
    "item_rates",
    "predicted_response",
    "propensities",
    "relevance",
]
