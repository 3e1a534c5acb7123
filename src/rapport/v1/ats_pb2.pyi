import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubmitCandidateRequest(_message.Message):
    __slots__ = ("candidate_id", "ats_job_id", "idempotency_key")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    ATS_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    ats_job_id: str
    idempotency_key: str
    def __init__(self, candidate_id: _Optional[str] = ..., ats_job_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class Submission(_message.Message):
    __slots__ = ("id", "candidate_id", "ats", "ats_job_id", "status", "attempts", "ats_candidate_id", "ats_application_id", "last_error", "created_at", "updated_at", "next_attempt_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    ATS_FIELD_NUMBER: _ClassVar[int]
    ATS_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ATS_CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    ATS_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    candidate_id: str
    ats: str
    ats_job_id: str
    status: str
    attempts: int
    ats_candidate_id: str
    ats_application_id: str
    last_error: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    next_attempt_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., candidate_id: _Optional[str] = ..., ats: _Optional[str] = ..., ats_job_id: _Optional[str] = ..., status: _Optional[str] = ..., attempts: _Optional[int] = ..., ats_candidate_id: _Optional[str] = ..., ats_application_id: _Optional[str] = ..., last_error: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetSubmissionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListSubmissionsRequest(_message.Message):
    __slots__ = ("candidate_id", "status", "page_size", "page_token")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    status: str
    page_size: int
    page_token: str
    def __init__(self, candidate_id: _Optional[str] = ..., status: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSubmissionsResponse(_message.Message):
    __slots__ = ("submissions", "next_page_token")
    SUBMISSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    submissions: _containers.RepeatedCompositeFieldContainer[Submission]
    next_page_token: str
    def __init__(self, submissions: _Optional[_Iterable[_Union[Submission, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SyncNowRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SyncNowResponse(_message.Message):
    __slots__ = ("applications", "events_applied", "events_refused", "events_duplicate", "cursor")
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_APPLIED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_REFUSED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    applications: int
    events_applied: int
    events_refused: int
    events_duplicate: int
    cursor: _timestamp_pb2.Timestamp
    def __init__(self, applications: _Optional[int] = ..., events_applied: _Optional[int] = ..., events_refused: _Optional[int] = ..., events_duplicate: _Optional[int] = ..., cursor: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
