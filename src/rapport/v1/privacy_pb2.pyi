import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EraseCandidateRequest(_message.Message):
    __slots__ = ("candidate_id", "reason")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    reason: str
    def __init__(self, candidate_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class EraseCandidateResponse(_message.Message):
    __slots__ = ("candidate_id", "erased_ids", "identities_tombstoned", "rows_deleted", "erased_at")
    class RowsDeletedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    ERASED_IDS_FIELD_NUMBER: _ClassVar[int]
    IDENTITIES_TOMBSTONED_FIELD_NUMBER: _ClassVar[int]
    ROWS_DELETED_FIELD_NUMBER: _ClassVar[int]
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    erased_ids: _containers.RepeatedScalarFieldContainer[str]
    identities_tombstoned: int
    rows_deleted: _containers.ScalarMap[str, int]
    erased_at: _timestamp_pb2.Timestamp
    def __init__(self, candidate_id: _Optional[str] = ..., erased_ids: _Optional[_Iterable[str]] = ..., identities_tombstoned: _Optional[int] = ..., rows_deleted: _Optional[_Mapping[str, int]] = ..., erased_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExportCandidateRequest(_message.Message):
    __slots__ = ("candidate_id",)
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    def __init__(self, candidate_id: _Optional[str] = ...) -> None: ...

class ExportCandidateResponse(_message.Message):
    __slots__ = ("candidate_id", "document", "content_type")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    document: bytes
    content_type: str
    def __init__(self, candidate_id: _Optional[str] = ..., document: _Optional[bytes] = ..., content_type: _Optional[str] = ...) -> None: ...

class GetConsentRequest(_message.Message):
    __slots__ = ("candidate_id",)
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    def __init__(self, candidate_id: _Optional[str] = ...) -> None: ...

class ChannelPreference(_message.Message):
    __slots__ = ("channel", "allowed", "topics", "source", "updated_at")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    channel: str
    allowed: bool
    topics: _containers.RepeatedScalarFieldContainer[str]
    source: str
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, channel: _Optional[str] = ..., allowed: _Optional[bool] = ..., topics: _Optional[_Iterable[str]] = ..., source: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConsentEvent(_message.Message):
    __slots__ = ("state", "basis", "source", "channel", "actor", "recorded_at")
    STATE_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    state: str
    basis: str
    source: str
    channel: str
    actor: str
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, state: _Optional[str] = ..., basis: _Optional[str] = ..., source: _Optional[str] = ..., channel: _Optional[str] = ..., actor: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Consent(_message.Message):
    __slots__ = ("candidate_id", "state", "history", "preferences", "may_contact", "reason")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    MAY_CONTACT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    state: str
    history: _containers.RepeatedCompositeFieldContainer[ConsentEvent]
    preferences: _containers.RepeatedCompositeFieldContainer[ChannelPreference]
    may_contact: bool
    reason: str
    def __init__(self, candidate_id: _Optional[str] = ..., state: _Optional[str] = ..., history: _Optional[_Iterable[_Union[ConsentEvent, _Mapping]]] = ..., preferences: _Optional[_Iterable[_Union[ChannelPreference, _Mapping]]] = ..., may_contact: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class SetConsentRequest(_message.Message):
    __slots__ = ("candidate_id", "state", "basis", "source", "preferences")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    state: str
    basis: str
    source: str
    preferences: _containers.RepeatedCompositeFieldContainer[ChannelPreference]
    def __init__(self, candidate_id: _Optional[str] = ..., state: _Optional[str] = ..., basis: _Optional[str] = ..., source: _Optional[str] = ..., preferences: _Optional[_Iterable[_Union[ChannelPreference, _Mapping]]] = ...) -> None: ...

class RunRetentionRequest(_message.Message):
    __slots__ = ("dry_run", "idle_months")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    IDLE_MONTHS_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    idle_months: int
    def __init__(self, dry_run: _Optional[bool] = ..., idle_months: _Optional[int] = ...) -> None: ...

class RetentionCandidate(_message.Message):
    __slots__ = ("candidate_id", "last_activity")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    last_activity: _timestamp_pb2.Timestamp
    def __init__(self, candidate_id: _Optional[str] = ..., last_activity: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RunRetentionResponse(_message.Message):
    __slots__ = ("run_id", "dry_run", "idle_months", "keep_stages", "cutoff", "candidates", "anonymised")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    IDLE_MONTHS_FIELD_NUMBER: _ClassVar[int]
    KEEP_STAGES_FIELD_NUMBER: _ClassVar[int]
    CUTOFF_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    ANONYMISED_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    dry_run: bool
    idle_months: int
    keep_stages: _containers.RepeatedScalarFieldContainer[str]
    cutoff: _timestamp_pb2.Timestamp
    candidates: _containers.RepeatedCompositeFieldContainer[RetentionCandidate]
    anonymised: int
    def __init__(self, run_id: _Optional[str] = ..., dry_run: _Optional[bool] = ..., idle_months: _Optional[int] = ..., keep_stages: _Optional[_Iterable[str]] = ..., cutoff: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., candidates: _Optional[_Iterable[_Union[RetentionCandidate, _Mapping]]] = ..., anonymised: _Optional[int] = ...) -> None: ...

class QueryAuditRequest(_message.Message):
    __slots__ = ("candidate_id", "actor", "action", "since", "until", "limit")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    actor: str
    action: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    limit: int
    def __init__(self, candidate_id: _Optional[str] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., limit: _Optional[int] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("seq", "at", "actor", "key_id", "request_id", "action", "target_type", "target_id", "details_json", "row_hash")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    ROW_HASH_FIELD_NUMBER: _ClassVar[int]
    seq: int
    at: _timestamp_pb2.Timestamp
    actor: str
    key_id: str
    request_id: str
    action: str
    target_type: str
    target_id: str
    details_json: str
    row_hash: str
    def __init__(self, seq: _Optional[int] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., key_id: _Optional[str] = ..., request_id: _Optional[str] = ..., action: _Optional[str] = ..., target_type: _Optional[str] = ..., target_id: _Optional[str] = ..., details_json: _Optional[str] = ..., row_hash: _Optional[str] = ...) -> None: ...

class QueryAuditResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ...) -> None: ...

class VerifyAuditRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VerifyAuditResponse(_message.Message):
    __slots__ = ("ok", "rows_checked", "first_bad_seq", "reason", "head_seq", "head_hash")
    OK_FIELD_NUMBER: _ClassVar[int]
    ROWS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    FIRST_BAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    rows_checked: int
    first_bad_seq: int
    reason: str
    head_seq: int
    head_hash: str
    def __init__(self, ok: _Optional[bool] = ..., rows_checked: _Optional[int] = ..., first_bad_seq: _Optional[int] = ..., reason: _Optional[str] = ..., head_seq: _Optional[int] = ..., head_hash: _Optional[str] = ...) -> None: ...
