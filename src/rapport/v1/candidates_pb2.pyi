import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from rapport.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IdentityKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IDENTITY_KIND_UNSPECIFIED: _ClassVar[IdentityKind]
    IDENTITY_KIND_EMAIL: _ClassVar[IdentityKind]
    IDENTITY_KIND_PHONE: _ClassVar[IdentityKind]
    IDENTITY_KIND_PROFILE_URL: _ClassVar[IdentityKind]
    IDENTITY_KIND_EXTERNAL_ID: _ClassVar[IdentityKind]

class ImportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMPORT_FORMAT_UNSPECIFIED: _ClassVar[ImportFormat]
    IMPORT_FORMAT_CSV: _ClassVar[ImportFormat]
    IMPORT_FORMAT_JSON_RESUME: _ClassVar[ImportFormat]
    IMPORT_FORMAT_NDJSON: _ClassVar[ImportFormat]

class ImportDetail(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMPORT_DETAIL_ERRORS: _ClassVar[ImportDetail]
    IMPORT_DETAIL_ALL: _ClassVar[ImportDetail]

class ImportOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMPORT_OUTCOME_UNSPECIFIED: _ClassVar[ImportOutcome]
    IMPORT_OUTCOME_CREATED: _ClassVar[ImportOutcome]
    IMPORT_OUTCOME_UPDATED: _ClassVar[ImportOutcome]
    IMPORT_OUTCOME_UNCHANGED: _ClassVar[ImportOutcome]
    IMPORT_OUTCOME_FAILED: _ClassVar[ImportOutcome]
    IMPORT_OUTCOME_SKIPPED: _ClassVar[ImportOutcome]
IDENTITY_KIND_UNSPECIFIED: IdentityKind
IDENTITY_KIND_EMAIL: IdentityKind
IDENTITY_KIND_PHONE: IdentityKind
IDENTITY_KIND_PROFILE_URL: IdentityKind
IDENTITY_KIND_EXTERNAL_ID: IdentityKind
IMPORT_FORMAT_UNSPECIFIED: ImportFormat
IMPORT_FORMAT_CSV: ImportFormat
IMPORT_FORMAT_JSON_RESUME: ImportFormat
IMPORT_FORMAT_NDJSON: ImportFormat
IMPORT_DETAIL_ERRORS: ImportDetail
IMPORT_DETAIL_ALL: ImportDetail
IMPORT_OUTCOME_UNSPECIFIED: ImportOutcome
IMPORT_OUTCOME_CREATED: ImportOutcome
IMPORT_OUTCOME_UPDATED: ImportOutcome
IMPORT_OUTCOME_UNCHANGED: ImportOutcome
IMPORT_OUTCOME_FAILED: ImportOutcome
IMPORT_OUTCOME_SKIPPED: ImportOutcome

class Candidate(_message.Message):
    __slots__ = ("id", "external_id", "first_name", "last_name", "emails", "phones", "profile_urls", "headline", "summary", "current_company", "seniority", "location", "languages", "skills", "source", "tags", "consent_state", "engagement_band", "created_at", "updated_at", "version", "merged_into")
    ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAILS_FIELD_NUMBER: _ClassVar[int]
    PHONES_FIELD_NUMBER: _ClassVar[int]
    PROFILE_URLS_FIELD_NUMBER: _ClassVar[int]
    HEADLINE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    CURRENT_COMPANY_FIELD_NUMBER: _ClassVar[int]
    SENIORITY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CONSENT_STATE_FIELD_NUMBER: _ClassVar[int]
    ENGAGEMENT_BAND_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MERGED_INTO_FIELD_NUMBER: _ClassVar[int]
    id: str
    external_id: str
    first_name: str
    last_name: str
    emails: _containers.RepeatedScalarFieldContainer[str]
    phones: _containers.RepeatedScalarFieldContainer[str]
    profile_urls: _containers.RepeatedScalarFieldContainer[str]
    headline: str
    summary: str
    current_company: str
    seniority: _common_pb2.Seniority
    location: _common_pb2.Location
    languages: _containers.RepeatedScalarFieldContainer[str]
    skills: _containers.RepeatedCompositeFieldContainer[_common_pb2.Skill]
    source: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    consent_state: str
    engagement_band: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    version: int
    merged_into: str
    def __init__(self, id: _Optional[str] = ..., external_id: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., emails: _Optional[_Iterable[str]] = ..., phones: _Optional[_Iterable[str]] = ..., profile_urls: _Optional[_Iterable[str]] = ..., headline: _Optional[str] = ..., summary: _Optional[str] = ..., current_company: _Optional[str] = ..., seniority: _Optional[_Union[_common_pb2.Seniority, str]] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., languages: _Optional[_Iterable[str]] = ..., skills: _Optional[_Iterable[_Union[_common_pb2.Skill, _Mapping]]] = ..., source: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., consent_state: _Optional[str] = ..., engagement_band: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., merged_into: _Optional[str] = ...) -> None: ...

class CreateCandidateRequest(_message.Message):
    __slots__ = ("candidate",)
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    candidate: Candidate
    def __init__(self, candidate: _Optional[_Union[Candidate, _Mapping]] = ...) -> None: ...

class GetCandidateRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class UpdateCandidateRequest(_message.Message):
    __slots__ = ("candidate", "update_mask", "expected_version")
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    candidate: Candidate
    update_mask: _field_mask_pb2.FieldMask
    expected_version: int
    def __init__(self, candidate: _Optional[_Union[Candidate, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ListCandidatesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: _common_pb2.Rule
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[_Union[_common_pb2.Rule, _Mapping]] = ...) -> None: ...

class ListCandidatesResponse(_message.Message):
    __slots__ = ("candidates", "page")
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    page: _common_pb2.PageInfo
    def __init__(self, candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class ImportHeader(_message.Message):
    __slots__ = ("format", "column_mapping", "source", "default_region", "detail", "skip_records", "file_name")
    class ColumnMappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    COLUMN_MAPPING_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_REGION_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    SKIP_RECORDS_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    format: ImportFormat
    column_mapping: _containers.ScalarMap[str, str]
    source: str
    default_region: str
    detail: ImportDetail
    skip_records: int
    file_name: str
    def __init__(self, format: _Optional[_Union[ImportFormat, str]] = ..., column_mapping: _Optional[_Mapping[str, str]] = ..., source: _Optional[str] = ..., default_region: _Optional[str] = ..., detail: _Optional[_Union[ImportDetail, str]] = ..., skip_records: _Optional[int] = ..., file_name: _Optional[str] = ...) -> None: ...

class ImportCandidatesRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ImportHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[ImportHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class FieldError(_message.Message):
    __slots__ = ("field", "reason")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    field: str
    reason: str
    def __init__(self, field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ImportRecordResult(_message.Message):
    __slots__ = ("index", "line", "outcome", "candidate_id", "errors")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    index: int
    line: int
    outcome: ImportOutcome
    candidate_id: str
    errors: _containers.RepeatedCompositeFieldContainer[FieldError]
    def __init__(self, index: _Optional[int] = ..., line: _Optional[int] = ..., outcome: _Optional[_Union[ImportOutcome, str]] = ..., candidate_id: _Optional[str] = ..., errors: _Optional[_Iterable[_Union[FieldError, _Mapping]]] = ...) -> None: ...

class ImportSummary(_message.Message):
    __slots__ = ("records", "created", "updated", "unchanged", "failed", "skipped", "committed_through", "seconds")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_THROUGH_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    records: int
    created: int
    updated: int
    unchanged: int
    failed: int
    skipped: int
    committed_through: int
    seconds: float
    def __init__(self, records: _Optional[int] = ..., created: _Optional[int] = ..., updated: _Optional[int] = ..., unchanged: _Optional[int] = ..., failed: _Optional[int] = ..., skipped: _Optional[int] = ..., committed_through: _Optional[int] = ..., seconds: _Optional[float] = ...) -> None: ...

class ImportCandidatesResponse(_message.Message):
    __slots__ = ("results", "summary")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ImportRecordResult]
    summary: ImportSummary
    def __init__(self, results: _Optional[_Iterable[_Union[ImportRecordResult, _Mapping]]] = ..., summary: _Optional[_Union[ImportSummary, _Mapping]] = ...) -> None: ...

class FindDuplicatesRequest(_message.Message):
    __slots__ = ("candidate_id", "min_score", "limit")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    min_score: float
    limit: int
    def __init__(self, candidate_id: _Optional[str] = ..., min_score: _Optional[float] = ..., limit: _Optional[int] = ...) -> None: ...

class DuplicateEvidence(_message.Message):
    __slots__ = ("signal", "left", "right", "similarity")
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    LEFT_FIELD_NUMBER: _ClassVar[int]
    RIGHT_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    signal: str
    left: str
    right: str
    similarity: float
    def __init__(self, signal: _Optional[str] = ..., left: _Optional[str] = ..., right: _Optional[str] = ..., similarity: _Optional[float] = ...) -> None: ...

class DuplicatePair(_message.Message):
    __slots__ = ("left_id", "right_id", "score", "exact", "evidence")
    LEFT_ID_FIELD_NUMBER: _ClassVar[int]
    RIGHT_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    left_id: str
    right_id: str
    score: float
    exact: bool
    evidence: _containers.RepeatedCompositeFieldContainer[DuplicateEvidence]
    def __init__(self, left_id: _Optional[str] = ..., right_id: _Optional[str] = ..., score: _Optional[float] = ..., exact: _Optional[bool] = ..., evidence: _Optional[_Iterable[_Union[DuplicateEvidence, _Mapping]]] = ...) -> None: ...

class FindDuplicatesResponse(_message.Message):
    __slots__ = ("pairs",)
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    pairs: _containers.RepeatedCompositeFieldContainer[DuplicatePair]
    def __init__(self, pairs: _Optional[_Iterable[_Union[DuplicatePair, _Mapping]]] = ...) -> None: ...

class MergeCandidatesRequest(_message.Message):
    __slots__ = ("survivor_id", "merged_id", "reason")
    SURVIVOR_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    survivor_id: str
    merged_id: str
    reason: str
    def __init__(self, survivor_id: _Optional[str] = ..., merged_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class MergeCandidatesResponse(_message.Message):
    __slots__ = ("merge_id", "survivor")
    MERGE_ID_FIELD_NUMBER: _ClassVar[int]
    SURVIVOR_FIELD_NUMBER: _ClassVar[int]
    merge_id: str
    survivor: Candidate
    def __init__(self, merge_id: _Optional[str] = ..., survivor: _Optional[_Union[Candidate, _Mapping]] = ...) -> None: ...

class UnmergeCandidatesRequest(_message.Message):
    __slots__ = ("merge_id",)
    MERGE_ID_FIELD_NUMBER: _ClassVar[int]
    merge_id: str
    def __init__(self, merge_id: _Optional[str] = ...) -> None: ...

class UnmergeCandidatesResponse(_message.Message):
    __slots__ = ("survivor", "restored")
    SURVIVOR_FIELD_NUMBER: _ClassVar[int]
    RESTORED_FIELD_NUMBER: _ClassVar[int]
    survivor: Candidate
    restored: Candidate
    def __init__(self, survivor: _Optional[_Union[Candidate, _Mapping]] = ..., restored: _Optional[_Union[Candidate, _Mapping]] = ...) -> None: ...

class TimelineEvent(_message.Message):
    __slots__ = ("id", "candidate_id", "kind", "occurred_at", "channel", "actor", "stage", "payload")
    ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    id: str
    candidate_id: str
    kind: str
    occurred_at: _timestamp_pb2.Timestamp
    channel: str
    actor: str
    stage: str
    payload: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., candidate_id: _Optional[str] = ..., kind: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., channel: _Optional[str] = ..., actor: _Optional[str] = ..., stage: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class AddTimelineEventRequest(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: TimelineEvent
    def __init__(self, event: _Optional[_Union[TimelineEvent, _Mapping]] = ...) -> None: ...

class ListTimelineRequest(_message.Message):
    __slots__ = ("candidate_id", "page_size", "page_token", "kinds")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    page_size: int
    page_token: str
    kinds: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, candidate_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., kinds: _Optional[_Iterable[str]] = ...) -> None: ...

class ListTimelineResponse(_message.Message):
    __slots__ = ("events", "page")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[TimelineEvent]
    page: _common_pb2.PageInfo
    def __init__(self, events: _Optional[_Iterable[_Union[TimelineEvent, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class Pool(_message.Message):
    __slots__ = ("id", "name", "description", "stages", "member_count", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    MEMBER_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    stages: _containers.RepeatedScalarFieldContainer[str]
    member_count: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., stages: _Optional[_Iterable[str]] = ..., member_count: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreatePoolRequest(_message.Message):
    __slots__ = ("pool",)
    POOL_FIELD_NUMBER: _ClassVar[int]
    pool: Pool
    def __init__(self, pool: _Optional[_Union[Pool, _Mapping]] = ...) -> None: ...

class ListPoolsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPoolsResponse(_message.Message):
    __slots__ = ("pools",)
    POOLS_FIELD_NUMBER: _ClassVar[int]
    pools: _containers.RepeatedCompositeFieldContainer[Pool]
    def __init__(self, pools: _Optional[_Iterable[_Union[Pool, _Mapping]]] = ...) -> None: ...

class AddToPoolRequest(_message.Message):
    __slots__ = ("pool_id", "candidate_ids", "stage")
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_IDS_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    candidate_ids: _containers.RepeatedScalarFieldContainer[str]
    stage: str
    def __init__(self, pool_id: _Optional[str] = ..., candidate_ids: _Optional[_Iterable[str]] = ..., stage: _Optional[str] = ...) -> None: ...

class AddToPoolResponse(_message.Message):
    __slots__ = ("added", "moved", "unchanged")
    ADDED_FIELD_NUMBER: _ClassVar[int]
    MOVED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    added: int
    moved: int
    unchanged: int
    def __init__(self, added: _Optional[int] = ..., moved: _Optional[int] = ..., unchanged: _Optional[int] = ...) -> None: ...

class PoolMember(_message.Message):
    __slots__ = ("candidate", "stage", "added_at", "stage_changed_at")
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    ADDED_AT_FIELD_NUMBER: _ClassVar[int]
    STAGE_CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    candidate: Candidate
    stage: str
    added_at: _timestamp_pb2.Timestamp
    stage_changed_at: _timestamp_pb2.Timestamp
    def __init__(self, candidate: _Optional[_Union[Candidate, _Mapping]] = ..., stage: _Optional[str] = ..., added_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stage_changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListPoolRequest(_message.Message):
    __slots__ = ("pool_id", "page_size", "page_token", "stage")
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    page_size: int
    page_token: str
    stage: str
    def __init__(self, pool_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., stage: _Optional[str] = ...) -> None: ...

class ListPoolResponse(_message.Message):
    __slots__ = ("members", "page")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[PoolMember]
    page: _common_pb2.PageInfo
    def __init__(self, members: _Optional[_Iterable[_Union[PoolMember, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class Segment(_message.Message):
    __slots__ = ("id", "name", "description", "rule", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    rule: _common_pb2.Rule
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., rule: _Optional[_Union[_common_pb2.Rule, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateSegmentRequest(_message.Message):
    __slots__ = ("segment",)
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    segment: Segment
    def __init__(self, segment: _Optional[_Union[Segment, _Mapping]] = ...) -> None: ...

class ListSegmentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSegmentsResponse(_message.Message):
    __slots__ = ("segments",)
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedCompositeFieldContainer[Segment]
    def __init__(self, segments: _Optional[_Iterable[_Union[Segment, _Mapping]]] = ...) -> None: ...

class PreviewSegmentRequest(_message.Message):
    __slots__ = ("segment_id", "rule", "page_size", "page_token")
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    segment_id: str
    rule: _common_pb2.Rule
    page_size: int
    page_token: str
    def __init__(self, segment_id: _Optional[str] = ..., rule: _Optional[_Union[_common_pb2.Rule, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class PreviewSegmentResponse(_message.Message):
    __slots__ = ("count", "candidates", "page")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    count: int
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    page: _common_pb2.PageInfo
    def __init__(self, count: _Optional[int] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class WatchChangesRequest(_message.Message):
    __slots__ = ("since_seq",)
    SINCE_SEQ_FIELD_NUMBER: _ClassVar[int]
    since_seq: int
    def __init__(self, since_seq: _Optional[int] = ...) -> None: ...
