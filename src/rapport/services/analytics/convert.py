"""Report dataclasses <-> rapport.v1 analytics messages. No logic beyond the mapping."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from rapport.models import analytics, monitoring
from rapport.models.analytics_stats import RateCI
from rapport.services.analytics.use_cases import FairnessOutcome
from rapport.services.common.timestamps import from_pb, to_pb
from rapport.v1 import analytics_pb2 as pb


def range_from(request) -> tuple[datetime | None, datetime | None]:
    if not request.HasField("range"):
        return None, None
    r = request.range
    return from_pb(r, "since"), from_pb(r, "until")


def _finite(x: float) -> float:
    return float(x) if x == x and not math.isinf(x) else float("nan")


def rate_to_pb(r: RateCI) -> pb.Rate:
    return pb.Rate(
        numerator=r.numerator,
        denominator=r.denominator,
        value=r.value,
        ci_low=r.low,
        ci_high=r.high,
        enough_data=r.enough,
    )


def send_stats_to_pb(s: analytics.SendStats) -> pb.SendStats:
    out = pb.SendStats(
        key=s.key,
        label=s.label,
        channel=s.channel,
        sent=s.sent,
        delivered=s.delivered,
        opened=s.opened,
        machine_opens=s.machine_opens,
        clicked=s.clicked,
        replied=s.replied,
        unsubscribed=s.unsubscribed,
        bounced=s.bounced,
    )
    for name, r in s.rates.items():
        getattr(out, name).CopyFrom(rate_to_pb(r))
    return out


def campaign_to_pb(report: analytics.CampaignReport) -> pb.CampaignReportResponse:
    return pb.CampaignReportResponse(
        since=to_pb(report.since),
        until=to_pb(report.until),
        totals=send_stats_to_pb(report.totals),
        by_template=[send_stats_to_pb(s) for s in report.by_template],
        by_content=[send_stats_to_pb(s) for s in report.by_content],
        by_sequence=[send_stats_to_pb(s) for s in report.by_sequence],
        by_step=[send_stats_to_pb(s) for s in report.by_step],
        by_channel=[send_stats_to_pb(s) for s in report.by_channel],
        comparisons=[
            pb.Comparison(
                group=c.group,
                metric=c.metric,
                leader=c.leader,
                variant=c.variant,
                leader_rate=rate_to_pb(c.leader_rate),
                variant_rate=rate_to_pb(c.variant_rate),
                difference=c.difference,
                difference_ci_low=c.low,
                difference_ci_high=c.high,
                test=c.test,
                p_value=c.p_value,
                p_adjusted=c.p_adjusted,
                significant=c.significant,
                enough_data=c.enough_data,
                verdict=c.verdict,
            )
            for c in report.comparisons
        ],
        unknown_templates=report.unknown_templates,
        campaigns=report.campaigns,
        unattributed_events=report.unattributed,
        notes=report.notes,
    )


def _duration(d: analytics.Duration) -> pb.Duration:
    return pb.Duration(
        count=d.count,
        median_hours=d.median_hours,
        p90_hours=d.p90_hours,
        enough_data=d.enough_data,
    )


def _period(text: str) -> timestamp_pb2.Timestamp:
    return to_pb(datetime.fromisoformat(text[:10]).replace(tzinfo=UTC))


def pool_to_pb(report: analytics.PoolReport) -> pb.PoolReportResponse:
    return pb.PoolReportResponse(
        since=to_pb(report.since),
        until=to_pb(report.until),
        pool_id=report.pool_id,
        interval=report.interval,
        pool_size=report.pool_size,
        added=report.added,
        growth=[
            pb.GrowthPoint(
                period_start=_period(g.period_start),
                source=g.source,
                added=g.added,
                cumulative=g.cumulative,
            )
            for g in report.growth
        ],
        sources=[
            pb.SourceQuality(
                source=s.source,
                candidates=s.candidates,
                contacted=rate_to_pb(s.contacted),
                replied=rate_to_pb(s.replied),
                interview=rate_to_pb(s.interview),
                final_round=rate_to_pb(s.final_round),
                hired=rate_to_pb(s.hired),
            )
            for s in report.sources
        ],
        funnel=[
            pb.FunnelStage(
                stage=f.stage,
                count=f.count,
                from_previous=rate_to_pb(f.from_previous),
                from_start=rate_to_pb(f.from_start),
            )
            for f in report.funnel
        ],
        time_to_first_contact=_duration(report.time_to_first_contact),
        time_to_reply=_duration(report.time_to_reply),
        reengagement=pb.Reengagement(
            dormant_days=int(report.reengagement.dormant_days),
            contacted=report.reengagement.contacted,
            replied=rate_to_pb(report.reengagement.replied),
        ),
        notes=report.notes,
    )


def model_to_pb(report: monitoring.ModelReport) -> pb.ModelReportResponse:
    cal = report.calibration
    return pb.ModelReportResponse(
        since=to_pb(report.since),
        until=to_pb(report.until),
        model_name=report.model_name,
        model_version=report.model_version,
        trained_at=to_pb(report.trained_at),
        reference_as_of=to_pb(report.reference_as_of),
        scored_as_of=to_pb(report.scored_as_of),
        horizon_days=report.horizon_days,
        scored=report.scored,
        score_histogram=[
            pb.HistogramBin(low=lo, high=hi, count=n) for lo, hi, n in report.score_histogram
        ],
        calibration=[
            pb.CalibrationBin(
                low=b.low,
                high=b.high,
                count=b.count,
                mean_predicted=_finite(b.mean_predicted),
                observed=rate_to_pb(b.observed),
            )
            for b in cal.bins
        ],
        outcomes=report.outcomes,
        observed_rate=rate_to_pb(cal.observed),
        mean_predicted=_finite(cal.mean_predicted),
        brier=_finite(cal.brier),
        ece=_finite(cal.ece),
        roc_auc=_finite(cal.roc_auc),
        calibration_enough_data=report.calibration_enough_data,
        drift=[
            pb.FeatureDrift(
                feature=d.feature,
                psi=_finite(d.psi),
                warning=d.warning,
                kind=d.kind,
                reference_mean=_finite(d.reference_mean),
                recent_mean=_finite(d.recent_mean),
            )
            for d in report.drift
        ],
        psi_warning=report.psi_warning,
        ranking_usage=pb.RankingUsage(
            available=report.ranking_usage.available,
            runs=report.ranking_usage.runs,
            note=report.ranking_usage.note,
        ),
        notes=report.notes,
    )


def fairness_to_pb(outcome: FairnessOutcome) -> pb.FairnessReportResponse:
    result = outcome.result
    return pb.FairnessReportResponse(
        target=outcome.target,
        label=outcome.label,
        population=result.population,
        selected=result.selected,
        selection_rule=outcome.selection_rule,
        tables=[
            pb.FairnessTable(
                characteristic=t.characteristic,
                groups=[
                    pb.GroupRate(
                        group=g.group,
                        values=list(g.values),
                        total=g.total,
                        selected=g.selected,
                        selection_rate=rate_to_pb(g.rate),
                        impact_ratio=g.impact_ratio if g.impact_ratio is not None else float("nan"),
                        flagged=g.flagged,
                        too_small=g.too_small,
                        share=g.share,
                        p_value=g.p_value if g.p_value is not None else float("nan"),
                        reference=g.reference,
                    )
                    for g in t.groups
                ],
                unknown=t.unknown,
                judged=t.judged,
                note=t.note,
            )
            for t in result.tables
        ],
        threshold=result.limits.threshold,
        min_share=result.limits.min_share,
        min_count=result.limits.min_count,
        flagged_groups=result.flagged_groups,
        notes=outcome.notes,
        method=result.method,
    )


__all__ = [
    "campaign_to_pb",
    "fairness_to_pb",
    "model_to_pb",
    "pool_to_pb",
    "range_from",
    "rate_to_pb",
]
