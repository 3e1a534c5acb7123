import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from rapport.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScoreCandidateRequest(_message.Message):
    __slots__ = ("candidate_id", "top_factors")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    TOP_FACTORS_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    top_factors: int
    def __init__(self, candidate_id: _Optional[str] = ..., top_factors: _Optional[int] = ...) -> None: ...

class EngagementFactor(_message.Message):
    __slots__ = ("feature", "contribution", "value", "numeric_value")
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    NUMERIC_VALUE_FIELD_NUMBER: _ClassVar[int]
    feature: str
    contribution: float
    value: str
    numeric_value: float
    def __init__(self, feature: _Optional[str] = ..., contribution: _Optional[float] = ..., value: _Optional[str] = ..., numeric_value: _Optional[float] = ...) -> None: ...

class EngagementScore(_message.Message):
    __slots__ = ("candidate_id", "probability", "band", "factors", "model_name", "model_version", "as_of", "scored_at")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    BAND_FIELD_NUMBER: _ClassVar[int]
    FACTORS_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    SCORED_AT_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    probability: float
    band: str
    factors: _containers.RepeatedCompositeFieldContainer[EngagementFactor]
    model_name: str
    model_version: str
    as_of: _timestamp_pb2.Timestamp
    scored_at: _timestamp_pb2.Timestamp
    def __init__(self, candidate_id: _Optional[str] = ..., probability: _Optional[float] = ..., band: _Optional[str] = ..., factors: _Optional[_Iterable[_Union[EngagementFactor, _Mapping]]] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scored_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CandidateIds(_message.Message):
    __slots__ = ("ids",)
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ScoreCandidatesRequest(_message.Message):
    __slots__ = ("pool_id", "segment_id", "rule", "candidate_ids", "include_factors", "top_factors", "batch_size")
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_IDS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FACTORS_FIELD_NUMBER: _ClassVar[int]
    TOP_FACTORS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    segment_id: str
    rule: _common_pb2.Rule
    candidate_ids: CandidateIds
    include_factors: bool
    top_factors: int
    batch_size: int
    def __init__(self, pool_id: _Optional[str] = ..., segment_id: _Optional[str] = ..., rule: _Optional[_Union[_common_pb2.Rule, _Mapping]] = ..., candidate_ids: _Optional[_Union[CandidateIds, _Mapping]] = ..., include_factors: _Optional[bool] = ..., top_factors: _Optional[int] = ..., batch_size: _Optional[int] = ...) -> None: ...

class CandidateScore(_message.Message):
    __slots__ = ("candidate_id", "probability", "band", "factors")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    BAND_FIELD_NUMBER: _ClassVar[int]
    FACTORS_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    probability: float
    band: str
    factors: _containers.RepeatedCompositeFieldContainer[EngagementFactor]
    def __init__(self, candidate_id: _Optional[str] = ..., probability: _Optional[float] = ..., band: _Optional[str] = ..., factors: _Optional[_Iterable[_Union[EngagementFactor, _Mapping]]] = ...) -> None: ...

class ScoreCandidatesResponse(_message.Message):
    __slots__ = ("scores", "model_name", "model_version", "as_of", "total", "sent")
    SCORES_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    scores: _containers.RepeatedCompositeFieldContainer[CandidateScore]
    model_name: str
    model_version: str
    as_of: _timestamp_pb2.Timestamp
    total: int
    sent: int
    def __init__(self, scores: _Optional[_Iterable[_Union[CandidateScore, _Mapping]]] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., total: _Optional[int] = ..., sent: _Optional[int] = ...) -> None: ...

class GetModelInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("state", "message", "name", "version", "alias", "run_id", "feature_spec_version", "trained_at", "metrics", "loaded_from", "loaded_at", "last_refresh", "last_error", "tracking_uri", "scored", "feed_seq", "bands_as_of", "scoring")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    FEATURE_SPEC_VERSION_FIELD_NUMBER: _ClassVar[int]
    TRAINED_AT_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    LOADED_FROM_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_REFRESH_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    TRACKING_URI_FIELD_NUMBER: _ClassVar[int]
    SCORED_FIELD_NUMBER: _ClassVar[int]
    FEED_SEQ_FIELD_NUMBER: _ClassVar[int]
    BANDS_AS_OF_FIELD_NUMBER: _ClassVar[int]
    SCORING_FIELD_NUMBER: _ClassVar[int]
    state: str
    message: str
    name: str
    version: str
    alias: str
    run_id: str
    feature_spec_version: str
    trained_at: _timestamp_pb2.Timestamp
    metrics: _containers.ScalarMap[str, float]
    loaded_from: str
    loaded_at: _timestamp_pb2.Timestamp
    last_refresh: _timestamp_pb2.Timestamp
    last_error: str
    tracking_uri: str
    scored: int
    feed_seq: int
    bands_as_of: _timestamp_pb2.Timestamp
    scoring: str
    def __init__(self, state: _Optional[str] = ..., message: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., alias: _Optional[str] = ..., run_id: _Optional[str] = ..., feature_spec_version: _Optional[str] = ..., trained_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., loaded_from: _Optional[str] = ..., loaded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_refresh: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., tracking_uri: _Optional[str] = ..., scored: _Optional[int] = ..., feed_seq: _Optional[int] = ..., bands_as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scoring: _Optional[str] = ...) -> None: ...
