import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from rapport.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExtractSkillsRequest(_message.Message):
    __slots__ = ("text", "limit")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    text: str
    limit: int
    def __init__(self, text: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ExtractSkillsResponse(_message.Message):
    __slots__ = ("skills",)
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    skills: _containers.RepeatedCompositeFieldContainer[SkillMapping]
    def __init__(self, skills: _Optional[_Iterable[_Union[SkillMapping, _Mapping]]] = ...) -> None: ...

class TimezoneWindow(_message.Message):
    __slots__ = ("min_utc_offset_hours", "max_utc_offset_hours")
    MIN_UTC_OFFSET_HOURS_FIELD_NUMBER: _ClassVar[int]
    MAX_UTC_OFFSET_HOURS_FIELD_NUMBER: _ClassVar[int]
    min_utc_offset_hours: float
    max_utc_offset_hours: float
    def __init__(self, min_utc_offset_hours: _Optional[float] = ..., max_utc_offset_hours: _Optional[float] = ...) -> None: ...

class Role(_message.Message):
    __slots__ = ("id", "title", "description", "required_skills", "nice_to_have_skills", "min_seniority", "max_seniority", "countries", "timezones", "timezone_window", "languages", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_SKILLS_FIELD_NUMBER: _ClassVar[int]
    NICE_TO_HAVE_SKILLS_FIELD_NUMBER: _ClassVar[int]
    MIN_SENIORITY_FIELD_NUMBER: _ClassVar[int]
    MAX_SENIORITY_FIELD_NUMBER: _ClassVar[int]
    COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    TIMEZONES_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_WINDOW_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    description: str
    required_skills: _containers.RepeatedScalarFieldContainer[str]
    nice_to_have_skills: _containers.RepeatedScalarFieldContainer[str]
    min_seniority: _common_pb2.Seniority
    max_seniority: _common_pb2.Seniority
    countries: _containers.RepeatedScalarFieldContainer[str]
    timezones: _containers.RepeatedScalarFieldContainer[str]
    timezone_window: TimezoneWindow
    languages: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., required_skills: _Optional[_Iterable[str]] = ..., nice_to_have_skills: _Optional[_Iterable[str]] = ..., min_seniority: _Optional[_Union[_common_pb2.Seniority, str]] = ..., max_seniority: _Optional[_Union[_common_pb2.Seniority, str]] = ..., countries: _Optional[_Iterable[str]] = ..., timezones: _Optional[_Iterable[str]] = ..., timezone_window: _Optional[_Union[TimezoneWindow, _Mapping]] = ..., languages: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateRoleRequest(_message.Message):
    __slots__ = ("role",)
    ROLE_FIELD_NUMBER: _ClassVar[int]
    role: Role
    def __init__(self, role: _Optional[_Union[Role, _Mapping]] = ...) -> None: ...

class GetRoleRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListRolesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRolesResponse(_message.Message):
    __slots__ = ("roles", "page")
    ROLES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    roles: _containers.RepeatedCompositeFieldContainer[Role]
    page: _common_pb2.PageInfo
    def __init__(self, roles: _Optional[_Iterable[_Union[Role, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class MatchFilters(_message.Message):
    __slots__ = ("pool_id", "segment_id", "not_contacted_days", "enforce_seniority", "enforce_location", "enforce_languages")
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    NOT_CONTACTED_DAYS_FIELD_NUMBER: _ClassVar[int]
    ENFORCE_SENIORITY_FIELD_NUMBER: _ClassVar[int]
    ENFORCE_LOCATION_FIELD_NUMBER: _ClassVar[int]
    ENFORCE_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    segment_id: str
    not_contacted_days: int
    enforce_seniority: bool
    enforce_location: bool
    enforce_languages: bool
    def __init__(self, pool_id: _Optional[str] = ..., segment_id: _Optional[str] = ..., not_contacted_days: _Optional[int] = ..., enforce_seniority: _Optional[bool] = ..., enforce_location: _Optional[bool] = ..., enforce_languages: _Optional[bool] = ...) -> None: ...

class RankCandidatesRequest(_message.Message):
    __slots__ = ("role", "role_id", "filters", "top_k", "page_token", "engagement_weight")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ROLE_ID_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ENGAGEMENT_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    role: Role
    role_id: str
    filters: MatchFilters
    top_k: int
    page_token: str
    engagement_weight: float
    def __init__(self, role: _Optional[_Union[Role, _Mapping]] = ..., role_id: _Optional[str] = ..., filters: _Optional[_Union[MatchFilters, _Mapping]] = ..., top_k: _Optional[int] = ..., page_token: _Optional[str] = ..., engagement_weight: _Optional[float] = ...) -> None: ...

class SkillMapping(_message.Message):
    __slots__ = ("text", "skill_id", "label", "confidence", "method", "kind")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SKILL_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    text: str
    skill_id: str
    label: str
    confidence: float
    method: str
    kind: str
    def __init__(self, text: _Optional[str] = ..., skill_id: _Optional[str] = ..., label: _Optional[str] = ..., confidence: _Optional[float] = ..., method: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class ScoreComponents(_message.Message):
    __slots__ = ("semantic", "skills", "seniority", "location", "engagement")
    SEMANTIC_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    SENIORITY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    ENGAGEMENT_FIELD_NUMBER: _ClassVar[int]
    semantic: float
    skills: float
    seniority: float
    location: float
    engagement: float
    def __init__(self, semantic: _Optional[float] = ..., skills: _Optional[float] = ..., seniority: _Optional[float] = ..., location: _Optional[float] = ..., engagement: _Optional[float] = ...) -> None: ...

class MatchedSkill(_message.Message):
    __slots__ = ("skill_id", "label", "credit", "via")
    SKILL_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    VIA_FIELD_NUMBER: _ClassVar[int]
    skill_id: str
    label: str
    credit: float
    via: str
    def __init__(self, skill_id: _Optional[str] = ..., label: _Optional[str] = ..., credit: _Optional[float] = ..., via: _Optional[str] = ...) -> None: ...

class RankedCandidate(_message.Message):
    __slots__ = ("candidate_id", "rank", "score", "components", "matched_skills", "missing_skills", "reason", "display_name", "headline", "engagement_band", "engagement_model_version")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    MATCHED_SKILLS_FIELD_NUMBER: _ClassVar[int]
    MISSING_SKILLS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    HEADLINE_FIELD_NUMBER: _ClassVar[int]
    ENGAGEMENT_BAND_FIELD_NUMBER: _ClassVar[int]
    ENGAGEMENT_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    rank: int
    score: float
    components: ScoreComponents
    matched_skills: _containers.RepeatedCompositeFieldContainer[MatchedSkill]
    missing_skills: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    display_name: str
    headline: str
    engagement_band: str
    engagement_model_version: str
    def __init__(self, candidate_id: _Optional[str] = ..., rank: _Optional[int] = ..., score: _Optional[float] = ..., components: _Optional[_Union[ScoreComponents, _Mapping]] = ..., matched_skills: _Optional[_Iterable[_Union[MatchedSkill, _Mapping]]] = ..., missing_skills: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ..., display_name: _Optional[str] = ..., headline: _Optional[str] = ..., engagement_band: _Optional[str] = ..., engagement_model_version: _Optional[str] = ...) -> None: ...

class RankCandidatesResponse(_message.Message):
    __slots__ = ("results", "encoder", "index_version", "index_seq", "skill_mappings", "considered", "next_page_token", "role", "engagement_model", "engagement_note")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ENCODER_FIELD_NUMBER: _ClassVar[int]
    INDEX_VERSION_FIELD_NUMBER: _ClassVar[int]
    INDEX_SEQ_FIELD_NUMBER: _ClassVar[int]
    SKILL_MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    CONSIDERED_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ENGAGEMENT_MODEL_FIELD_NUMBER: _ClassVar[int]
    ENGAGEMENT_NOTE_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[RankedCandidate]
    encoder: str
    index_version: str
    index_seq: int
    skill_mappings: _containers.RepeatedCompositeFieldContainer[SkillMapping]
    considered: int
    next_page_token: str
    role: Role
    engagement_model: str
    engagement_note: str
    def __init__(self, results: _Optional[_Iterable[_Union[RankedCandidate, _Mapping]]] = ..., encoder: _Optional[str] = ..., index_version: _Optional[str] = ..., index_seq: _Optional[int] = ..., skill_mappings: _Optional[_Iterable[_Union[SkillMapping, _Mapping]]] = ..., considered: _Optional[int] = ..., next_page_token: _Optional[str] = ..., role: _Optional[_Union[Role, _Mapping]] = ..., engagement_model: _Optional[str] = ..., engagement_note: _Optional[str] = ...) -> None: ...

class SimilarCandidatesRequest(_message.Message):
    __slots__ = ("candidate_id", "filters", "top_k")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    filters: MatchFilters
    top_k: int
    def __init__(self, candidate_id: _Optional[str] = ..., filters: _Optional[_Union[MatchFilters, _Mapping]] = ..., top_k: _Optional[int] = ...) -> None: ...

class GetIndexStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RebuildIndexRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class IndexStatus(_message.Message):
    __slots__ = ("encoder", "index_version", "kind", "vectors", "seq", "feed_head", "built_at", "rebuilding", "nlist", "nprobe", "state", "message", "build_done", "build_total")
    ENCODER_FIELD_NUMBER: _ClassVar[int]
    INDEX_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    FEED_HEAD_FIELD_NUMBER: _ClassVar[int]
    BUILT_AT_FIELD_NUMBER: _ClassVar[int]
    REBUILDING_FIELD_NUMBER: _ClassVar[int]
    NLIST_FIELD_NUMBER: _ClassVar[int]
    NPROBE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    BUILD_DONE_FIELD_NUMBER: _ClassVar[int]
    BUILD_TOTAL_FIELD_NUMBER: _ClassVar[int]
    encoder: str
    index_version: str
    kind: str
    vectors: int
    seq: int
    feed_head: int
    built_at: _timestamp_pb2.Timestamp
    rebuilding: bool
    nlist: int
    nprobe: int
    state: str
    message: str
    build_done: int
    build_total: int
    def __init__(self, encoder: _Optional[str] = ..., index_version: _Optional[str] = ..., kind: _Optional[str] = ..., vectors: _Optional[int] = ..., seq: _Optional[int] = ..., feed_head: _Optional[int] = ..., built_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rebuilding: _Optional[bool] = ..., nlist: _Optional[int] = ..., nprobe: _Optional[int] = ..., state: _Optional[str] = ..., message: _Optional[str] = ..., build_done: _Optional[int] = ..., build_total: _Optional[int] = ...) -> None: ...
