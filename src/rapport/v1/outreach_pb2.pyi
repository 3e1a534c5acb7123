import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from rapport.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StepCondition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_CONDITION_UNSPECIFIED: _ClassVar[StepCondition]
    STEP_CONDITION_IF_NOT_OPENED: _ClassVar[StepCondition]
    STEP_CONDITION_IF_NO_REPLY: _ClassVar[StepCondition]

class StopRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOP_RULE_UNSPECIFIED: _ClassVar[StopRule]
    STOP_RULE_REPLY: _ClassVar[StopRule]
    STOP_RULE_UNSUBSCRIBE: _ClassVar[StopRule]
    STOP_RULE_APPLICATION: _ClassVar[StopRule]
STEP_CONDITION_UNSPECIFIED: StepCondition
STEP_CONDITION_IF_NOT_OPENED: StepCondition
STEP_CONDITION_IF_NO_REPLY: StepCondition
STOP_RULE_UNSPECIFIED: StopRule
STOP_RULE_REPLY: StopRule
STOP_RULE_UNSUBSCRIBE: StopRule
STOP_RULE_APPLICATION: StopRule

class SequenceStep(_message.Message):
    __slots__ = ("key", "channel", "subject", "body", "content_id", "delay", "condition", "next_key", "position")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CONTENT_ID_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    NEXT_KEY_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    key: str
    channel: str
    subject: str
    body: str
    content_id: str
    delay: _duration_pb2.Duration
    condition: StepCondition
    next_key: str
    position: int
    def __init__(self, key: _Optional[str] = ..., channel: _Optional[str] = ..., subject: _Optional[str] = ..., body: _Optional[str] = ..., content_id: _Optional[str] = ..., delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., condition: _Optional[_Union[StepCondition, str]] = ..., next_key: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class Sequence(_message.Message):
    __slots__ = ("id", "name", "description", "steps", "stop_on", "sender_name", "created_at", "counts")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    STOP_ON_FIELD_NUMBER: _ClassVar[int]
    SENDER_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    steps: _containers.RepeatedCompositeFieldContainer[SequenceStep]
    stop_on: _containers.RepeatedScalarFieldContainer[StopRule]
    sender_name: str
    created_at: _timestamp_pb2.Timestamp
    counts: EnrolmentCounts
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[SequenceStep, _Mapping]]] = ..., stop_on: _Optional[_Iterable[_Union[StopRule, str]]] = ..., sender_name: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., counts: _Optional[_Union[EnrolmentCounts, _Mapping]] = ...) -> None: ...

class EnrolmentCounts(_message.Message):
    __slots__ = ("active", "completed", "stopped")
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    STOPPED_FIELD_NUMBER: _ClassVar[int]
    active: int
    completed: int
    stopped: int
    def __init__(self, active: _Optional[int] = ..., completed: _Optional[int] = ..., stopped: _Optional[int] = ...) -> None: ...

class CreateSequenceRequest(_message.Message):
    __slots__ = ("sequence",)
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sequence: Sequence
    def __init__(self, sequence: _Optional[_Union[Sequence, _Mapping]] = ...) -> None: ...

class GetSequenceRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListSequencesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSequencesResponse(_message.Message):
    __slots__ = ("sequences", "page")
    SEQUENCES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    sequences: _containers.RepeatedCompositeFieldContainer[Sequence]
    page: _common_pb2.PageInfo
    def __init__(self, sequences: _Optional[_Iterable[_Union[Sequence, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class EnrolRequest(_message.Message):
    __slots__ = ("sequence_id", "candidates", "segment_id", "start_at")
    SEQUENCE_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    sequence_id: str
    candidates: EnrolCandidateIds
    segment_id: str
    start_at: _timestamp_pb2.Timestamp
    def __init__(self, sequence_id: _Optional[str] = ..., candidates: _Optional[_Union[EnrolCandidateIds, _Mapping]] = ..., segment_id: _Optional[str] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EnrolCandidateIds(_message.Message):
    __slots__ = ("ids",)
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[str]] = ...) -> None: ...

class EnrolSkip(_message.Message):
    __slots__ = ("candidate_id", "reason", "detail")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    reason: str
    detail: str
    def __init__(self, candidate_id: _Optional[str] = ..., reason: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class EnrolResponse(_message.Message):
    __slots__ = ("enrolled", "enrolments", "skipped", "skips")
    ENROLLED_FIELD_NUMBER: _ClassVar[int]
    ENROLMENTS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    SKIPS_FIELD_NUMBER: _ClassVar[int]
    enrolled: int
    enrolments: _containers.RepeatedCompositeFieldContainer[Enrolment]
    skipped: int
    skips: _containers.RepeatedCompositeFieldContainer[EnrolSkip]
    def __init__(self, enrolled: _Optional[int] = ..., enrolments: _Optional[_Iterable[_Union[Enrolment, _Mapping]]] = ..., skipped: _Optional[int] = ..., skips: _Optional[_Iterable[_Union[EnrolSkip, _Mapping]]] = ...) -> None: ...

class Enrolment(_message.Message):
    __slots__ = ("id", "sequence_id", "candidate_id", "state", "stop_reason", "next_step_key", "next_due_at", "enrolled_at", "updated_at", "source", "sends")
    ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    NEXT_STEP_KEY_FIELD_NUMBER: _ClassVar[int]
    NEXT_DUE_AT_FIELD_NUMBER: _ClassVar[int]
    ENROLLED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SENDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    sequence_id: str
    candidate_id: str
    state: str
    stop_reason: str
    next_step_key: str
    next_due_at: _timestamp_pb2.Timestamp
    enrolled_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    source: str
    sends: _containers.RepeatedCompositeFieldContainer[SendRecord]
    def __init__(self, id: _Optional[str] = ..., sequence_id: _Optional[str] = ..., candidate_id: _Optional[str] = ..., state: _Optional[str] = ..., stop_reason: _Optional[str] = ..., next_step_key: _Optional[str] = ..., next_due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., enrolled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., sends: _Optional[_Iterable[_Union[SendRecord, _Mapping]]] = ...) -> None: ...

class SendRecord(_message.Message):
    __slots__ = ("id", "step_key", "state", "reason", "message_id", "sent_at", "attempts")
    ID_FIELD_NUMBER: _ClassVar[int]
    STEP_KEY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    step_key: str
    state: str
    reason: str
    message_id: str
    sent_at: _timestamp_pb2.Timestamp
    attempts: int
    def __init__(self, id: _Optional[str] = ..., step_key: _Optional[str] = ..., state: _Optional[str] = ..., reason: _Optional[str] = ..., message_id: _Optional[str] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempts: _Optional[int] = ...) -> None: ...

class UnenrolRequest(_message.Message):
    __slots__ = ("enrolment_id", "member")
    ENROLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    enrolment_id: str
    member: SequenceCandidate
    def __init__(self, enrolment_id: _Optional[str] = ..., member: _Optional[_Union[SequenceCandidate, _Mapping]] = ...) -> None: ...

class SequenceCandidate(_message.Message):
    __slots__ = ("sequence_id", "candidate_id")
    SEQUENCE_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    sequence_id: str
    candidate_id: str
    def __init__(self, sequence_id: _Optional[str] = ..., candidate_id: _Optional[str] = ...) -> None: ...

class ListEnrolmentsRequest(_message.Message):
    __slots__ = ("sequence_id", "candidate_id", "state", "include_sends", "page_size", "page_token")
    SEQUENCE_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SENDS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sequence_id: str
    candidate_id: str
    state: str
    include_sends: bool
    page_size: int
    page_token: str
    def __init__(self, sequence_id: _Optional[str] = ..., candidate_id: _Optional[str] = ..., state: _Optional[str] = ..., include_sends: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEnrolmentsResponse(_message.Message):
    __slots__ = ("enrolments", "page")
    ENROLMENTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    enrolments: _containers.RepeatedCompositeFieldContainer[Enrolment]
    page: _common_pb2.PageInfo
    def __init__(self, enrolments: _Optional[_Iterable[_Union[Enrolment, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class TriggerEvent(_message.Message):
    __slots__ = ("event_kind", "payload_equals")
    class PayloadEqualsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EVENT_KIND_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_EQUALS_FIELD_NUMBER: _ClassVar[int]
    event_kind: str
    payload_equals: _containers.ScalarMap[str, str]
    def __init__(self, event_kind: _Optional[str] = ..., payload_equals: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TriggerDormant(_message.Message):
    __slots__ = ("dormant_days", "segment_id")
    DORMANT_DAYS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    dormant_days: int
    segment_id: str
    def __init__(self, dormant_days: _Optional[int] = ..., segment_id: _Optional[str] = ...) -> None: ...

class TriggerActions(_message.Message):
    __slots__ = ("add_tag", "add_to_pool_id", "enrol_sequence_id")
    ADD_TAG_FIELD_NUMBER: _ClassVar[int]
    ADD_TO_POOL_ID_FIELD_NUMBER: _ClassVar[int]
    ENROL_SEQUENCE_ID_FIELD_NUMBER: _ClassVar[int]
    add_tag: str
    add_to_pool_id: str
    enrol_sequence_id: str
    def __init__(self, add_tag: _Optional[str] = ..., add_to_pool_id: _Optional[str] = ..., enrol_sequence_id: _Optional[str] = ...) -> None: ...

class OutreachTrigger(_message.Message):
    __slots__ = ("id", "name", "on_event", "dormant", "actions", "enabled", "created_at", "fired")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ON_EVENT_FIELD_NUMBER: _ClassVar[int]
    DORMANT_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FIRED_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    on_event: TriggerEvent
    dormant: TriggerDormant
    actions: TriggerActions
    enabled: bool
    created_at: _timestamp_pb2.Timestamp
    fired: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., on_event: _Optional[_Union[TriggerEvent, _Mapping]] = ..., dormant: _Optional[_Union[TriggerDormant, _Mapping]] = ..., actions: _Optional[_Union[TriggerActions, _Mapping]] = ..., enabled: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fired: _Optional[int] = ...) -> None: ...

class CreateTriggerRequest(_message.Message):
    __slots__ = ("trigger",)
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    trigger: OutreachTrigger
    def __init__(self, trigger: _Optional[_Union[OutreachTrigger, _Mapping]] = ...) -> None: ...

class ListTriggersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTriggersResponse(_message.Message):
    __slots__ = ("triggers",)
    TRIGGERS_FIELD_NUMBER: _ClassVar[int]
    triggers: _containers.RepeatedCompositeFieldContainer[OutreachTrigger]
    def __init__(self, triggers: _Optional[_Iterable[_Union[OutreachTrigger, _Mapping]]] = ...) -> None: ...

class PreviewStepRequest(_message.Message):
    __slots__ = ("sequence_id", "step_key", "candidate_id")
    SEQUENCE_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_KEY_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    sequence_id: str
    step_key: str
    candidate_id: str
    def __init__(self, sequence_id: _Optional[str] = ..., step_key: _Optional[str] = ..., candidate_id: _Optional[str] = ...) -> None: ...

class RenderedEmail(_message.Message):
    __slots__ = ("subject", "body", "to_address", "from_address", "headers", "fallbacks_used")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    TO_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    FALLBACKS_USED_FIELD_NUMBER: _ClassVar[int]
    subject: str
    body: str
    to_address: str
    from_address: str
    headers: _containers.ScalarMap[str, str]
    fallbacks_used: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, subject: _Optional[str] = ..., body: _Optional[str] = ..., to_address: _Optional[str] = ..., from_address: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., fallbacks_used: _Optional[_Iterable[str]] = ...) -> None: ...

class PreviewStepResponse(_message.Message):
    __slots__ = ("message", "would_send", "reason")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    WOULD_SEND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    message: RenderedEmail
    would_send: bool
    reason: str
    def __init__(self, message: _Optional[_Union[RenderedEmail, _Mapping]] = ..., would_send: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class TestSendRequest(_message.Message):
    __slots__ = ("sequence_id", "step_key", "to_address", "candidate_id")
    SEQUENCE_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_KEY_FIELD_NUMBER: _ClassVar[int]
    TO_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    sequence_id: str
    step_key: str
    to_address: str
    candidate_id: str
    def __init__(self, sequence_id: _Optional[str] = ..., step_key: _Optional[str] = ..., to_address: _Optional[str] = ..., candidate_id: _Optional[str] = ...) -> None: ...

class TestSendResponse(_message.Message):
    __slots__ = ("message", "message_id", "smtp_response")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SMTP_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    message: RenderedEmail
    message_id: str
    smtp_response: str
    def __init__(self, message: _Optional[_Union[RenderedEmail, _Mapping]] = ..., message_id: _Optional[str] = ..., smtp_response: _Optional[str] = ...) -> None: ...

class RecordReplyRequest(_message.Message):
    __slots__ = ("message_id", "in_reply_to", "references", "to_addresses", "from_address", "subject", "received_at", "automatic")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    IN_REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    TO_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    AUTOMATIC_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    in_reply_to: str
    references: _containers.RepeatedScalarFieldContainer[str]
    to_addresses: _containers.RepeatedScalarFieldContainer[str]
    from_address: str
    subject: str
    received_at: _timestamp_pb2.Timestamp
    automatic: bool
    def __init__(self, message_id: _Optional[str] = ..., in_reply_to: _Optional[str] = ..., references: _Optional[_Iterable[str]] = ..., to_addresses: _Optional[_Iterable[str]] = ..., from_address: _Optional[str] = ..., subject: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., automatic: _Optional[bool] = ...) -> None: ...

class RecordReplyResponse(_message.Message):
    __slots__ = ("matched", "method", "candidate_id", "enrolment_id", "send_id", "stopped", "duplicate", "automatic")
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    ENROLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    STOPPED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    AUTOMATIC_FIELD_NUMBER: _ClassVar[int]
    matched: bool
    method: str
    candidate_id: str
    enrolment_id: str
    send_id: str
    stopped: bool
    duplicate: bool
    automatic: bool
    def __init__(self, matched: _Optional[bool] = ..., method: _Optional[str] = ..., candidate_id: _Optional[str] = ..., enrolment_id: _Optional[str] = ..., send_id: _Optional[str] = ..., stopped: _Optional[bool] = ..., duplicate: _Optional[bool] = ..., automatic: _Optional[bool] = ...) -> None: ...

class UnsubscribeRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class UnsubscribeResponse(_message.Message):
    __slots__ = ("candidate_id", "stopped_enrolments", "already")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    STOPPED_ENROLMENTS_FIELD_NUMBER: _ClassVar[int]
    ALREADY_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    stopped_enrolments: int
    already: bool
    def __init__(self, candidate_id: _Optional[str] = ..., stopped_enrolments: _Optional[int] = ..., already: _Optional[bool] = ...) -> None: ...
