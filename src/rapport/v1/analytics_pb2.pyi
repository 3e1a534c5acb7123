import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DateRange(_message.Message):
    __slots__ = ("since", "until")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Rate(_message.Message):
    __slots__ = ("numerator", "denominator", "value", "ci_low", "ci_high", "enough_data")
    NUMERATOR_FIELD_NUMBER: _ClassVar[int]
    DENOMINATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CI_LOW_FIELD_NUMBER: _ClassVar[int]
    CI_HIGH_FIELD_NUMBER: _ClassVar[int]
    ENOUGH_DATA_FIELD_NUMBER: _ClassVar[int]
    numerator: int
    denominator: int
    value: float
    ci_low: float
    ci_high: float
    enough_data: bool
    def __init__(self, numerator: _Optional[int] = ..., denominator: _Optional[int] = ..., value: _Optional[float] = ..., ci_low: _Optional[float] = ..., ci_high: _Optional[float] = ..., enough_data: _Optional[bool] = ...) -> None: ...

class CampaignReportRequest(_message.Message):
    __slots__ = ("range", "templates", "metric")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    range: DateRange
    templates: _containers.RepeatedScalarFieldContainer[str]
    metric: str
    def __init__(self, range: _Optional[_Union[DateRange, _Mapping]] = ..., templates: _Optional[_Iterable[str]] = ..., metric: _Optional[str] = ...) -> None: ...

class SendStats(_message.Message):
    __slots__ = ("key", "label", "channel", "sent", "delivered", "opened", "machine_opens", "clicked", "replied", "unsubscribed", "bounced", "delivery_rate", "open_rate", "click_rate", "reply_rate", "unsubscribe_rate", "bounce_rate")
    KEY_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    OPENED_FIELD_NUMBER: _ClassVar[int]
    MACHINE_OPENS_FIELD_NUMBER: _ClassVar[int]
    CLICKED_FIELD_NUMBER: _ClassVar[int]
    REPLIED_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    BOUNCED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_RATE_FIELD_NUMBER: _ClassVar[int]
    OPEN_RATE_FIELD_NUMBER: _ClassVar[int]
    CLICK_RATE_FIELD_NUMBER: _ClassVar[int]
    REPLY_RATE_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_RATE_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_RATE_FIELD_NUMBER: _ClassVar[int]
    key: str
    label: str
    channel: str
    sent: int
    delivered: int
    opened: int
    machine_opens: int
    clicked: int
    replied: int
    unsubscribed: int
    bounced: int
    delivery_rate: Rate
    open_rate: Rate
    click_rate: Rate
    reply_rate: Rate
    unsubscribe_rate: Rate
    bounce_rate: Rate
    def __init__(self, key: _Optional[str] = ..., label: _Optional[str] = ..., channel: _Optional[str] = ..., sent: _Optional[int] = ..., delivered: _Optional[int] = ..., opened: _Optional[int] = ..., machine_opens: _Optional[int] = ..., clicked: _Optional[int] = ..., replied: _Optional[int] = ..., unsubscribed: _Optional[int] = ..., bounced: _Optional[int] = ..., delivery_rate: _Optional[_Union[Rate, _Mapping]] = ..., open_rate: _Optional[_Union[Rate, _Mapping]] = ..., click_rate: _Optional[_Union[Rate, _Mapping]] = ..., reply_rate: _Optional[_Union[Rate, _Mapping]] = ..., unsubscribe_rate: _Optional[_Union[Rate, _Mapping]] = ..., bounce_rate: _Optional[_Union[Rate, _Mapping]] = ...) -> None: ...

class Comparison(_message.Message):
    __slots__ = ("group", "metric", "leader", "variant", "leader_rate", "variant_rate", "difference", "difference_ci_low", "difference_ci_high", "test", "p_value", "p_adjusted", "significant", "enough_data", "verdict")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    LEADER_RATE_FIELD_NUMBER: _ClassVar[int]
    VARIANT_RATE_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_CI_LOW_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_CI_HIGH_FIELD_NUMBER: _ClassVar[int]
    TEST_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    P_ADJUSTED_FIELD_NUMBER: _ClassVar[int]
    SIGNIFICANT_FIELD_NUMBER: _ClassVar[int]
    ENOUGH_DATA_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    group: str
    metric: str
    leader: str
    variant: str
    leader_rate: Rate
    variant_rate: Rate
    difference: float
    difference_ci_low: float
    difference_ci_high: float
    test: str
    p_value: float
    p_adjusted: float
    significant: bool
    enough_data: bool
    verdict: str
    def __init__(self, group: _Optional[str] = ..., metric: _Optional[str] = ..., leader: _Optional[str] = ..., variant: _Optional[str] = ..., leader_rate: _Optional[_Union[Rate, _Mapping]] = ..., variant_rate: _Optional[_Union[Rate, _Mapping]] = ..., difference: _Optional[float] = ..., difference_ci_low: _Optional[float] = ..., difference_ci_high: _Optional[float] = ..., test: _Optional[str] = ..., p_value: _Optional[float] = ..., p_adjusted: _Optional[float] = ..., significant: _Optional[bool] = ..., enough_data: _Optional[bool] = ..., verdict: _Optional[str] = ...) -> None: ...

class CampaignReportResponse(_message.Message):
    __slots__ = ("since", "until", "totals", "by_template", "by_content", "by_sequence", "by_step", "by_channel", "comparisons", "unknown_templates", "campaigns", "unattributed_events", "notes")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    BY_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    BY_CONTENT_FIELD_NUMBER: _ClassVar[int]
    BY_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    BY_STEP_FIELD_NUMBER: _ClassVar[int]
    BY_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    COMPARISONS_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGNS_FIELD_NUMBER: _ClassVar[int]
    UNATTRIBUTED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    totals: SendStats
    by_template: _containers.RepeatedCompositeFieldContainer[SendStats]
    by_content: _containers.RepeatedCompositeFieldContainer[SendStats]
    by_sequence: _containers.RepeatedCompositeFieldContainer[SendStats]
    by_step: _containers.RepeatedCompositeFieldContainer[SendStats]
    by_channel: _containers.RepeatedCompositeFieldContainer[SendStats]
    comparisons: _containers.RepeatedCompositeFieldContainer[Comparison]
    unknown_templates: _containers.RepeatedScalarFieldContainer[str]
    campaigns: int
    unattributed_events: int
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., totals: _Optional[_Union[SendStats, _Mapping]] = ..., by_template: _Optional[_Iterable[_Union[SendStats, _Mapping]]] = ..., by_content: _Optional[_Iterable[_Union[SendStats, _Mapping]]] = ..., by_sequence: _Optional[_Iterable[_Union[SendStats, _Mapping]]] = ..., by_step: _Optional[_Iterable[_Union[SendStats, _Mapping]]] = ..., by_channel: _Optional[_Iterable[_Union[SendStats, _Mapping]]] = ..., comparisons: _Optional[_Iterable[_Union[Comparison, _Mapping]]] = ..., unknown_templates: _Optional[_Iterable[str]] = ..., campaigns: _Optional[int] = ..., unattributed_events: _Optional[int] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class PoolReportRequest(_message.Message):
    __slots__ = ("range", "pool_id", "interval")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    range: DateRange
    pool_id: str
    interval: str
    def __init__(self, range: _Optional[_Union[DateRange, _Mapping]] = ..., pool_id: _Optional[str] = ..., interval: _Optional[str] = ...) -> None: ...

class GrowthPoint(_message.Message):
    __slots__ = ("period_start", "source", "added", "cumulative")
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    CUMULATIVE_FIELD_NUMBER: _ClassVar[int]
    period_start: _timestamp_pb2.Timestamp
    source: str
    added: int
    cumulative: int
    def __init__(self, period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., added: _Optional[int] = ..., cumulative: _Optional[int] = ...) -> None: ...

class SourceQuality(_message.Message):
    __slots__ = ("source", "candidates", "contacted", "replied", "interview", "final_round", "hired")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CONTACTED_FIELD_NUMBER: _ClassVar[int]
    REPLIED_FIELD_NUMBER: _ClassVar[int]
    INTERVIEW_FIELD_NUMBER: _ClassVar[int]
    FINAL_ROUND_FIELD_NUMBER: _ClassVar[int]
    HIRED_FIELD_NUMBER: _ClassVar[int]
    source: str
    candidates: int
    contacted: Rate
    replied: Rate
    interview: Rate
    final_round: Rate
    hired: Rate
    def __init__(self, source: _Optional[str] = ..., candidates: _Optional[int] = ..., contacted: _Optional[_Union[Rate, _Mapping]] = ..., replied: _Optional[_Union[Rate, _Mapping]] = ..., interview: _Optional[_Union[Rate, _Mapping]] = ..., final_round: _Optional[_Union[Rate, _Mapping]] = ..., hired: _Optional[_Union[Rate, _Mapping]] = ...) -> None: ...

class FunnelStage(_message.Message):
    __slots__ = ("stage", "count", "from_previous", "from_start")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FROM_PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    FROM_START_FIELD_NUMBER: _ClassVar[int]
    stage: str
    count: int
    from_previous: Rate
    from_start: Rate
    def __init__(self, stage: _Optional[str] = ..., count: _Optional[int] = ..., from_previous: _Optional[_Union[Rate, _Mapping]] = ..., from_start: _Optional[_Union[Rate, _Mapping]] = ...) -> None: ...

class Duration(_message.Message):
    __slots__ = ("count", "median_hours", "p90_hours", "enough_data")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_HOURS_FIELD_NUMBER: _ClassVar[int]
    P90_HOURS_FIELD_NUMBER: _ClassVar[int]
    ENOUGH_DATA_FIELD_NUMBER: _ClassVar[int]
    count: int
    median_hours: float
    p90_hours: float
    enough_data: bool
    def __init__(self, count: _Optional[int] = ..., median_hours: _Optional[float] = ..., p90_hours: _Optional[float] = ..., enough_data: _Optional[bool] = ...) -> None: ...

class Reengagement(_message.Message):
    __slots__ = ("dormant_days", "contacted", "replied")
    DORMANT_DAYS_FIELD_NUMBER: _ClassVar[int]
    CONTACTED_FIELD_NUMBER: _ClassVar[int]
    REPLIED_FIELD_NUMBER: _ClassVar[int]
    dormant_days: int
    contacted: int
    replied: Rate
    def __init__(self, dormant_days: _Optional[int] = ..., contacted: _Optional[int] = ..., replied: _Optional[_Union[Rate, _Mapping]] = ...) -> None: ...

class PoolReportResponse(_message.Message):
    __slots__ = ("since", "until", "pool_id", "interval", "pool_size", "added", "growth", "sources", "funnel", "time_to_first_contact", "time_to_reply", "reengagement", "notes")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    POOL_SIZE_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    GROWTH_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_CONTACT_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_REPLY_FIELD_NUMBER: _ClassVar[int]
    REENGAGEMENT_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    pool_id: str
    interval: str
    pool_size: int
    added: int
    growth: _containers.RepeatedCompositeFieldContainer[GrowthPoint]
    sources: _containers.RepeatedCompositeFieldContainer[SourceQuality]
    funnel: _containers.RepeatedCompositeFieldContainer[FunnelStage]
    time_to_first_contact: Duration
    time_to_reply: Duration
    reengagement: Reengagement
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pool_id: _Optional[str] = ..., interval: _Optional[str] = ..., pool_size: _Optional[int] = ..., added: _Optional[int] = ..., growth: _Optional[_Iterable[_Union[GrowthPoint, _Mapping]]] = ..., sources: _Optional[_Iterable[_Union[SourceQuality, _Mapping]]] = ..., funnel: _Optional[_Iterable[_Union[FunnelStage, _Mapping]]] = ..., time_to_first_contact: _Optional[_Union[Duration, _Mapping]] = ..., time_to_reply: _Optional[_Union[Duration, _Mapping]] = ..., reengagement: _Optional[_Union[Reengagement, _Mapping]] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class ModelReportRequest(_message.Message):
    __slots__ = ("range", "model_version", "sample")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    range: DateRange
    model_version: str
    sample: int
    def __init__(self, range: _Optional[_Union[DateRange, _Mapping]] = ..., model_version: _Optional[str] = ..., sample: _Optional[int] = ...) -> None: ...

class CalibrationBin(_message.Message):
    __slots__ = ("low", "high", "count", "mean_predicted", "observed")
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MEAN_PREDICTED_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    low: float
    high: float
    count: int
    mean_predicted: float
    observed: Rate
    def __init__(self, low: _Optional[float] = ..., high: _Optional[float] = ..., count: _Optional[int] = ..., mean_predicted: _Optional[float] = ..., observed: _Optional[_Union[Rate, _Mapping]] = ...) -> None: ...

class HistogramBin(_message.Message):
    __slots__ = ("low", "high", "count")
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    low: float
    high: float
    count: int
    def __init__(self, low: _Optional[float] = ..., high: _Optional[float] = ..., count: _Optional[int] = ...) -> None: ...

class FeatureDrift(_message.Message):
    __slots__ = ("feature", "psi", "warning", "kind", "reference_mean", "recent_mean")
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    PSI_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_MEAN_FIELD_NUMBER: _ClassVar[int]
    RECENT_MEAN_FIELD_NUMBER: _ClassVar[int]
    feature: str
    psi: float
    warning: bool
    kind: str
    reference_mean: float
    recent_mean: float
    def __init__(self, feature: _Optional[str] = ..., psi: _Optional[float] = ..., warning: _Optional[bool] = ..., kind: _Optional[str] = ..., reference_mean: _Optional[float] = ..., recent_mean: _Optional[float] = ...) -> None: ...

class RankingUsage(_message.Message):
    __slots__ = ("available", "runs", "top_k_contacted", "note")
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    TOP_K_CONTACTED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    available: bool
    runs: int
    top_k_contacted: Rate
    note: str
    def __init__(self, available: _Optional[bool] = ..., runs: _Optional[int] = ..., top_k_contacted: _Optional[_Union[Rate, _Mapping]] = ..., note: _Optional[str] = ...) -> None: ...

class ModelReportResponse(_message.Message):
    __slots__ = ("since", "until", "model_name", "model_version", "trained_at", "reference_as_of", "scored_as_of", "horizon_days", "scored", "score_histogram", "calibration", "outcomes", "observed_rate", "mean_predicted", "brier", "ece", "roc_auc", "calibration_enough_data", "drift", "psi_warning", "ranking_usage", "notes")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    TRAINED_AT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_AS_OF_FIELD_NUMBER: _ClassVar[int]
    SCORED_AS_OF_FIELD_NUMBER: _ClassVar[int]
    HORIZON_DAYS_FIELD_NUMBER: _ClassVar[int]
    SCORED_FIELD_NUMBER: _ClassVar[int]
    SCORE_HISTOGRAM_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_RATE_FIELD_NUMBER: _ClassVar[int]
    MEAN_PREDICTED_FIELD_NUMBER: _ClassVar[int]
    BRIER_FIELD_NUMBER: _ClassVar[int]
    ECE_FIELD_NUMBER: _ClassVar[int]
    ROC_AUC_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_ENOUGH_DATA_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    PSI_WARNING_FIELD_NUMBER: _ClassVar[int]
    RANKING_USAGE_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    model_name: str
    model_version: str
    trained_at: _timestamp_pb2.Timestamp
    reference_as_of: _timestamp_pb2.Timestamp
    scored_as_of: _timestamp_pb2.Timestamp
    horizon_days: float
    scored: int
    score_histogram: _containers.RepeatedCompositeFieldContainer[HistogramBin]
    calibration: _containers.RepeatedCompositeFieldContainer[CalibrationBin]
    outcomes: int
    observed_rate: Rate
    mean_predicted: float
    brier: float
    ece: float
    roc_auc: float
    calibration_enough_data: bool
    drift: _containers.RepeatedCompositeFieldContainer[FeatureDrift]
    psi_warning: float
    ranking_usage: RankingUsage
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ..., trained_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference_as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scored_as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., horizon_days: _Optional[float] = ..., scored: _Optional[int] = ..., score_histogram: _Optional[_Iterable[_Union[HistogramBin, _Mapping]]] = ..., calibration: _Optional[_Iterable[_Union[CalibrationBin, _Mapping]]] = ..., outcomes: _Optional[int] = ..., observed_rate: _Optional[_Union[Rate, _Mapping]] = ..., mean_predicted: _Optional[float] = ..., brier: _Optional[float] = ..., ece: _Optional[float] = ..., roc_auc: _Optional[float] = ..., calibration_enough_data: _Optional[bool] = ..., drift: _Optional[_Iterable[_Union[FeatureDrift, _Mapping]]] = ..., psi_warning: _Optional[float] = ..., ranking_usage: _Optional[_Union[RankingUsage, _Mapping]] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class RankingSelection(_message.Message):
    __slots__ = ("candidate_ids", "top_k", "label")
    CANDIDATE_IDS_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    candidate_ids: _containers.RepeatedScalarFieldContainer[str]
    top_k: int
    label: str
    def __init__(self, candidate_ids: _Optional[_Iterable[str]] = ..., top_k: _Optional[int] = ..., label: _Optional[str] = ...) -> None: ...

class ModelSelection(_message.Message):
    __slots__ = ("model_version", "threshold")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    threshold: float
    def __init__(self, model_version: _Optional[str] = ..., threshold: _Optional[float] = ...) -> None: ...

class AuditCounts(_message.Message):
    __slots__ = ("group_columns", "counts", "source")
    GROUP_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    group_columns: _containers.RepeatedScalarFieldContainer[str]
    counts: _containers.RepeatedCompositeFieldContainer[AuditCount]
    source: str
    def __init__(self, group_columns: _Optional[_Iterable[str]] = ..., counts: _Optional[_Iterable[_Union[AuditCount, _Mapping]]] = ..., source: _Optional[str] = ...) -> None: ...

class AuditCount(_message.Message):
    __slots__ = ("groups", "selected", "total")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    SELECTED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedScalarFieldContainer[str]
    selected: int
    total: int
    def __init__(self, groups: _Optional[_Iterable[str]] = ..., selected: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class FairnessReportRequest(_message.Message):
    __slots__ = ("ranking", "model", "audit", "range")
    RANKING_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    AUDIT_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    ranking: RankingSelection
    model: ModelSelection
    audit: AuditCounts
    range: DateRange
    def __init__(self, ranking: _Optional[_Union[RankingSelection, _Mapping]] = ..., model: _Optional[_Union[ModelSelection, _Mapping]] = ..., audit: _Optional[_Union[AuditCounts, _Mapping]] = ..., range: _Optional[_Union[DateRange, _Mapping]] = ...) -> None: ...

class GroupRate(_message.Message):
    __slots__ = ("group", "values", "total", "selected", "selection_rate", "impact_ratio", "flagged", "too_small", "share", "p_value", "reference")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    SELECTED_FIELD_NUMBER: _ClassVar[int]
    SELECTION_RATE_FIELD_NUMBER: _ClassVar[int]
    IMPACT_RATIO_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FIELD_NUMBER: _ClassVar[int]
    TOO_SMALL_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    group: str
    values: _containers.RepeatedScalarFieldContainer[str]
    total: int
    selected: int
    selection_rate: Rate
    impact_ratio: float
    flagged: bool
    too_small: bool
    share: float
    p_value: float
    reference: bool
    def __init__(self, group: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ..., total: _Optional[int] = ..., selected: _Optional[int] = ..., selection_rate: _Optional[_Union[Rate, _Mapping]] = ..., impact_ratio: _Optional[float] = ..., flagged: _Optional[bool] = ..., too_small: _Optional[bool] = ..., share: _Optional[float] = ..., p_value: _Optional[float] = ..., reference: _Optional[bool] = ...) -> None: ...

class FairnessTable(_message.Message):
    __slots__ = ("characteristic", "groups", "unknown", "judged", "note")
    CHARACTERISTIC_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    JUDGED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    characteristic: str
    groups: _containers.RepeatedCompositeFieldContainer[GroupRate]
    unknown: int
    judged: bool
    note: str
    def __init__(self, characteristic: _Optional[str] = ..., groups: _Optional[_Iterable[_Union[GroupRate, _Mapping]]] = ..., unknown: _Optional[int] = ..., judged: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class FairnessReportResponse(_message.Message):
    __slots__ = ("target", "label", "population", "selected", "selection_rule", "tables", "threshold", "min_share", "min_count", "flagged_groups", "notes", "method")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    POPULATION_FIELD_NUMBER: _ClassVar[int]
    SELECTED_FIELD_NUMBER: _ClassVar[int]
    SELECTION_RULE_FIELD_NUMBER: _ClassVar[int]
    TABLES_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MIN_SHARE_FIELD_NUMBER: _ClassVar[int]
    MIN_COUNT_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_GROUPS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    target: str
    label: str
    population: int
    selected: int
    selection_rule: str
    tables: _containers.RepeatedCompositeFieldContainer[FairnessTable]
    threshold: float
    min_share: float
    min_count: int
    flagged_groups: int
    notes: _containers.RepeatedScalarFieldContainer[str]
    method: str
    def __init__(self, target: _Optional[str] = ..., label: _Optional[str] = ..., population: _Optional[int] = ..., selected: _Optional[int] = ..., selection_rule: _Optional[str] = ..., tables: _Optional[_Iterable[_Union[FairnessTable, _Mapping]]] = ..., threshold: _Optional[float] = ..., min_share: _Optional[float] = ..., min_count: _Optional[int] = ..., flagged_groups: _Optional[int] = ..., notes: _Optional[_Iterable[str]] = ..., method: _Optional[str] = ...) -> None: ...

class RecordDemographicsRequest(_message.Message):
    __slots__ = ("candidate_id", "sex", "race_ethnicity")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    RACE_ETHNICITY_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    sex: str
    race_ethnicity: str
    def __init__(self, candidate_id: _Optional[str] = ..., sex: _Optional[str] = ..., race_ethnicity: _Optional[str] = ...) -> None: ...

class RecordDemographicsResponse(_message.Message):
    __slots__ = ("candidate_id", "sex", "race_ethnicity")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    RACE_ETHNICITY_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    sex: str
    race_ethnicity: str
    def __init__(self, candidate_id: _Optional[str] = ..., sex: _Optional[str] = ..., race_ethnicity: _Optional[str] = ...) -> None: ...
