"""Engagement bands: a calibrated probability turned into the word a recruiter acts on.

hot     >= hot threshold      worth a touch now
warm    >= warm threshold     likely to answer a good message
cold    >= cold threshold     unlikely; touch only with something specific
dormant below                 leave alone (or re-permission)

Thresholds are settings (`RAPPORT_ENGAGEMENT_BAND_HOT|WARM|COLD`) because the right cut
depends on the horizon and base rate of a team's own history.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapport.core.domain import ENGAGEMENT_BANDS

__all__ = ["BandThresholds", "band_for", "thresholds_from"]


@dataclass(frozen=True)
class BandThresholds:
    hot: float
    warm: float
    cold: float

    def __post_init__(self) -> None:
        if not (1.0 >= self.hot >= self.warm >= self.cold >= 0.0):
            raise ValueError(
                "engagement band thresholds must satisfy 1 >= hot >= warm >= cold >= 0, got "
                f"hot={self.hot}, warm={self.warm}, cold={self.cold}"
            )


def thresholds_from(settings) -> BandThresholds:
    """The thresholds configured in `rapport.core.config.Settings`."""
    return BandThresholds(
        settings.engagement_band_hot, settings.engagement_band_warm, settings.engagement_band_cold
    )


def band_for(probability: float, thresholds: BandThresholds | tuple[float, float, float]) -> str:
    """ "hot" | "warm" | "cold" | "dormant" for a calibrated probability."""
    t = thresholds if isinstance(thresholds, BandThresholds) else BandThresholds(*thresholds)
    hot, warm, cold, dormant = ENGAGEMENT_BANDS
    if probability >= t.hot:
        return hot
    if probability >= t.warm:
        return warm
    if probability >= t.cold:
        return cold
    return dormant
