"""`rapport models promote|rollback`: moving the `champion` alias, with a gate (DESIGN §7).

The gate compares challenger and champion on the same fresh holdout, rebuilt now from the
store (the latest cutoff whose label window is fully recorded, with the challenger's
horizon), not on the numbers each logged when it was trained (different data, different
times). The challenger passes when its ROC-AUC is at least the champion's minus
`AUC_TOLERANCE` and its expected calibration error is at most `MAX_ECE`; a first promotion
(no champion yet) needs only the calibration check. `force` overrides a failed gate and is
recorded: an MLflow tag on the version and a row in the store's audit log. A model whose
feature spec is not the one this code computes is never promoted, forced or not: serving
would refuse it.

Every alias move is audited; the previous champion is remembered (registered-model tag
`previous_champion`) so `rollback` can move the alias back.
"""

from __future__ import annotations

import getpass
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rapport.core import context
from rapport.core.config import Settings
from rapport.core.errors import NotFound, PreconditionFailed
from rapport.core.store import audit
from rapport.core.store.db import Database
from rapport.models.engagement.features import (
    FEATURE_SPEC,
    SpecMismatch,
    build_features,
    build_labels,
    data_span,
)
from rapport.models.engagement.registry import (
    CHALLENGER,
    CHAMPION,
    MODEL_NAME,
    ModelRejected,
    ModelVersionInfo,
    Registry,
)
from rapport.training.engagement import DEFAULT_HORIZON, plan_cutoffs
from rapport.training.metrics import binary_metrics

AUC_TOLERANCE = 0.005
MAX_ECE = 0.05
PREVIOUS_TAG = "previous_champion"


@dataclass
class Decision:
    """What a promote or rollback did, with the numbers behind it."""

    action: str  # promote | rollback
    promoted: bool
    forced: bool
    candidate: str  # version
    champion_before: str | None
    candidate_metrics: dict[str, float] = field(default_factory=dict)
    champion_metrics: dict[str, float] = field(default_factory=dict)
    holdout: dict = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)  # why the gate failed (empty: passed)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict:
        return {
            "action": self.action,
            "model": MODEL_NAME,
            "promoted": self.promoted,
            "forced": self.forced,
            "gate_passed": self.passed,
            "candidate_version": self.candidate,
            "champion_before": self.champion_before,
            "candidate": _clean(self.candidate_metrics),
            "champion": _clean(self.champion_metrics),
            "holdout": self.holdout,
            "reasons": self.reasons,
            "notes": self.notes,
            "rules": {"auc_tolerance": AUC_TOLERANCE, "max_ece": MAX_ECE},
        }


def _clean(metrics: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user database entry (containers)
        return "cli"


def _audit(settings: Settings, action: str, version: str, details: dict) -> None:
    db = Database(settings.effective_database_url, settings=settings)
    token = context.set_current(context.RequestContext(actor=_actor()))
    try:
        with db.transaction() as session:
            audit.record(
                session,
                action,
                [f"{MODEL_NAME}/{version}"[:36]],
                target_type="model",
                details=_clean(details),
            )
    finally:
        context.reset(token)
        db.close()


def _horizon_of(info: ModelVersionInfo, scorer) -> float:
    days = scorer.metadata.get("horizon_days") or info.tags.get("horizon_days")
    return float(days) if days else DEFAULT_HORIZON.days


def fresh_holdout(settings: Settings, horizon_days: float, now: datetime | None = None):
    """(cutoff, features, labels) at the latest cutoff whose label window is recorded."""
    from datetime import timedelta

    horizon = timedelta(days=horizon_days)
    db = Database(settings.effective_database_url, settings=settings)
    try:
        with db.read() as session:
            span = data_span(session)
            cutoff = plan_cutoffs(*span, horizon, count=3, now=now)[-1]
            X = build_features(session, cutoff)
            y = build_labels(session, cutoff, horizon, X.index)
    finally:
        db.close()
    return cutoff, X, y.to_numpy()


def promote(
    settings: Settings,
    *,
    version: str | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> Decision:
    """Move `champion` to `version` (default: the `challenger`) if the gate passes or
    `force`; never to a model of another feature spec."""
    registry = Registry(settings)
    if version is None:
        target = registry.resolve_alias(MODEL_NAME, CHALLENGER)
        if target is None:
            raise NotFound(
                "challenger", f"{MODEL_NAME}@{CHALLENGER} (run `rapport train engagement`)"
            )
    else:
        target = registry.get_version(version, MODEL_NAME)
    champion = registry.resolve_alias(MODEL_NAME, CHAMPION)
    decision = Decision(
        "promote", False, False, target.version, champion.version if champion else None
    )
    if champion is not None and champion.version == target.version:
        decision.notes.append(f"version {target.version} is already {CHAMPION}")
        return decision
    candidate = _load(registry, target)  # ModelRejected: never promoted, even forced
    horizon_days = _horizon_of(target, candidate)
    cutoff, X, y = fresh_holdout(settings, horizon_days, now)
    decision.holdout = {
        "cutoff": cutoff.isoformat(),
        "horizon_days": horizon_days,
        "rows": len(y),
        "positives": int(y.sum()),
    }
    one_class = len(y) == 0 or y.sum() in (0, len(y))
    if one_class:
        decision.reasons.append(
            f"the fresh holdout at {cutoff:%Y-%m-%d} has one class: nothing to measure on"
        )
    else:
        decision.candidate_metrics = binary_metrics(y, candidate.predict_proba(X))
        if decision.candidate_metrics["ece"] > MAX_ECE:
            decision.reasons.append(
                f"calibration error {decision.candidate_metrics['ece']:.4f} > {MAX_ECE}"
            )
        if champion is not None:
            try:
                incumbent = _load(registry, champion)
            except ModelRejected as err:
                decision.notes.append(
                    f"champion v{champion.version} cannot be scored by this code ({err}); "
                    "compared on calibration only"
                )
            else:
                decision.champion_metrics = binary_metrics(y, incumbent.predict_proba(X))
                floor = decision.champion_metrics["roc_auc"] - AUC_TOLERANCE
                if decision.candidate_metrics["roc_auc"] < floor:
                    decision.reasons.append(
                        f"ROC-AUC {decision.candidate_metrics['roc_auc']:.4f} < champion "
                        f"{decision.champion_metrics['roc_auc']:.4f} - {AUC_TOLERANCE}"
                    )
        else:
            decision.notes.append("no champion yet: only the calibration check applies")
    if decision.reasons and not force:
        return decision
    decision.forced = bool(decision.reasons)
    _move(registry, settings, decision, target, champion, "promote")
    return decision


def rollback(settings: Settings, *, version: str | None = None) -> Decision:
    """Move `champion` back to `version` (default: the previous champion). No gate: it
    served before; the feature spec must still match."""
    registry = Registry(settings)
    champion = registry.resolve_alias(MODEL_NAME, CHAMPION)
    if version is None:
        version = registry.model_tags(MODEL_NAME).get(PREVIOUS_TAG)
        if not version:
            raise PreconditionFailed(
                "no previous champion recorded: name one with `rapport models rollback --version N`"
            )
    target = registry.get_version(version, MODEL_NAME)
    decision = Decision(
        "rollback", False, False, target.version, champion.version if champion else None
    )
    if champion is not None and champion.version == target.version:
        decision.notes.append(f"version {target.version} is already {CHAMPION}")
        return decision
    _load(registry, target)
    _move(registry, settings, decision, target, champion, "rollback")
    return decision


def _load(registry: Registry, info: ModelVersionInfo):
    if info.tags.get("feature_spec_hash") not in (None, FEATURE_SPEC.fingerprint()):
        raise ModelRejected(
            f"{MODEL_NAME} v{info.version} was trained on feature spec "
            f"{info.tags.get('feature_spec_version', '?')} ({info.spec_hash}), this code "
            f"computes {FEATURE_SPEC.version} ({FEATURE_SPEC.fingerprint()})"
        )
    try:
        return registry.load_version(info, MODEL_NAME)
    except SpecMismatch as err:
        raise ModelRejected(str(err)) from err


def _move(
    registry: Registry,
    settings: Settings,
    decision: Decision,
    target: ModelVersionInfo,
    champion: ModelVersionInfo | None,
    action: str,
) -> None:
    at = datetime.now(UTC).isoformat()
    registry.set_alias(MODEL_NAME, CHAMPION, target.version)
    decision.promoted = True
    if champion is not None:
        registry.set_model_tag(MODEL_NAME, PREVIOUS_TAG, champion.version)
    registry.set_version_tag(MODEL_NAME, target.version, f"{action}d_at", at)
    registry.set_version_tag(MODEL_NAME, target.version, f"{action}d_by", _actor())
    if decision.forced:
        registry.set_version_tag(
            MODEL_NAME, target.version, "forced_promotion", "; ".join(decision.reasons)
        )
    details = {
        "from_version": champion.version if champion else "",
        "to_version": target.version,
        "forced": decision.forced,
        "gate_failures": decision.reasons,
        "candidate_roc_auc": decision.candidate_metrics.get("roc_auc"),
        "candidate_ece": decision.candidate_metrics.get("ece"),
        "champion_roc_auc": decision.champion_metrics.get("roc_auc"),
        "holdout_cutoff": decision.holdout.get("cutoff", ""),
    }
    name = "engagement_model." + (f"{action}_forced" if decision.forced else action)
    _audit(settings, name, target.version, details)
