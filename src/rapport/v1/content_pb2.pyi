import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from rapport.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ContentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTENT_KIND_UNSPECIFIED: _ClassVar[ContentKind]
    CONTENT_KIND_EMAIL_TEMPLATE: _ClassVar[ContentKind]
    CONTENT_KIND_ARTICLE: _ClassVar[ContentKind]
    CONTENT_KIND_WHITEPAPER: _ClassVar[ContentKind]
    CONTENT_KIND_JOB_AD: _ClassVar[ContentKind]
    CONTENT_KIND_EVENT_INVITE: _ClassVar[ContentKind]

class NoSendReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NO_SEND_REASON_UNSPECIFIED: _ClassVar[NoSendReason]
    NO_SEND_REASON_OPTED_OUT: _ClassVar[NoSendReason]
    NO_SEND_REASON_NO_CONSENT: _ClassVar[NoSendReason]
    NO_SEND_REASON_NO_ADDRESS: _ClassVar[NoSendReason]
    NO_SEND_REASON_QUIET_HOURS: _ClassVar[NoSendReason]
    NO_SEND_REASON_FREQUENCY_CAP: _ClassVar[NoSendReason]
    NO_SEND_REASON_CONTACT_BUDGET: _ClassVar[NoSendReason]
    NO_SEND_REASON_NOTHING_ELIGIBLE: _ClassVar[NoSendReason]
    NO_SEND_REASON_MERGED: _ClassVar[NoSendReason]

class OutcomeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_KIND_UNSPECIFIED: _ClassVar[OutcomeKind]
    OUTCOME_KIND_DELIVERED: _ClassVar[OutcomeKind]
    OUTCOME_KIND_OPENED: _ClassVar[OutcomeKind]
    OUTCOME_KIND_CLICKED: _ClassVar[OutcomeKind]
    OUTCOME_KIND_REPLIED: _ClassVar[OutcomeKind]
    OUTCOME_KIND_UNSUBSCRIBED: _ClassVar[OutcomeKind]
    OUTCOME_KIND_BOUNCED: _ClassVar[OutcomeKind]
CONTENT_KIND_UNSPECIFIED: ContentKind
CONTENT_KIND_EMAIL_TEMPLATE: ContentKind
CONTENT_KIND_ARTICLE: ContentKind
CONTENT_KIND_WHITEPAPER: ContentKind
CONTENT_KIND_JOB_AD: ContentKind
CONTENT_KIND_EVENT_INVITE: ContentKind
NO_SEND_REASON_UNSPECIFIED: NoSendReason
NO_SEND_REASON_OPTED_OUT: NoSendReason
NO_SEND_REASON_NO_CONSENT: NoSendReason
NO_SEND_REASON_NO_ADDRESS: NoSendReason
NO_SEND_REASON_QUIET_HOURS: NoSendReason
NO_SEND_REASON_FREQUENCY_CAP: NoSendReason
NO_SEND_REASON_CONTACT_BUDGET: NoSendReason
NO_SEND_REASON_NOTHING_ELIGIBLE: NoSendReason
NO_SEND_REASON_MERGED: NoSendReason
OUTCOME_KIND_UNSPECIFIED: OutcomeKind
OUTCOME_KIND_DELIVERED: OutcomeKind
OUTCOME_KIND_OPENED: OutcomeKind
OUTCOME_KIND_CLICKED: OutcomeKind
OUTCOME_KIND_REPLIED: OutcomeKind
OUTCOME_KIND_UNSUBSCRIBED: OutcomeKind
OUTCOME_KIND_BOUNCED: OutcomeKind

class ContentItem(_message.Message):
    __slots__ = ("id", "kind", "title", "subject", "body", "url", "topics", "skills", "audience", "locale", "active_from", "active_until", "channels", "fallbacks", "role_id", "created_at", "embedding_encoder")
    class FallbacksEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    FALLBACKS_FIELD_NUMBER: _ClassVar[int]
    ROLE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_ENCODER_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: ContentKind
    title: str
    subject: str
    body: str
    url: str
    topics: _containers.RepeatedScalarFieldContainer[str]
    skills: _containers.RepeatedScalarFieldContainer[str]
    audience: _common_pb2.Rule
    locale: str
    active_from: _timestamp_pb2.Timestamp
    active_until: _timestamp_pb2.Timestamp
    channels: _containers.RepeatedScalarFieldContainer[str]
    fallbacks: _containers.ScalarMap[str, str]
    role_id: str
    created_at: _timestamp_pb2.Timestamp
    embedding_encoder: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[ContentKind, str]] = ..., title: _Optional[str] = ..., subject: _Optional[str] = ..., body: _Optional[str] = ..., url: _Optional[str] = ..., topics: _Optional[_Iterable[str]] = ..., skills: _Optional[_Iterable[str]] = ..., audience: _Optional[_Union[_common_pb2.Rule, _Mapping]] = ..., locale: _Optional[str] = ..., active_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., channels: _Optional[_Iterable[str]] = ..., fallbacks: _Optional[_Mapping[str, str]] = ..., role_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., embedding_encoder: _Optional[str] = ...) -> None: ...

class CreateContentRequest(_message.Message):
    __slots__ = ("item",)
    ITEM_FIELD_NUMBER: _ClassVar[int]
    item: ContentItem
    def __init__(self, item: _Optional[_Union[ContentItem, _Mapping]] = ...) -> None: ...

class GetContentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListContentRequest(_message.Message):
    __slots__ = ("kind", "active_only", "page_size", "page_token")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    kind: ContentKind
    active_only: bool
    page_size: int
    page_token: str
    def __init__(self, kind: _Optional[_Union[ContentKind, str]] = ..., active_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListContentResponse(_message.Message):
    __slots__ = ("items", "page")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ContentItem]
    page: _common_pb2.PageInfo
    def __init__(self, items: _Optional[_Iterable[_Union[ContentItem, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class ContentContext(_message.Message):
    __slots__ = ("role_id", "channel", "sequence_step", "sequence_id", "send_at", "kinds")
    ROLE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_STEP_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_ID_FIELD_NUMBER: _ClassVar[int]
    SEND_AT_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    role_id: str
    channel: str
    sequence_step: int
    sequence_id: str
    send_at: _timestamp_pb2.Timestamp
    kinds: _containers.RepeatedScalarFieldContainer[ContentKind]
    def __init__(self, role_id: _Optional[str] = ..., channel: _Optional[str] = ..., sequence_step: _Optional[int] = ..., sequence_id: _Optional[str] = ..., send_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kinds: _Optional[_Iterable[_Union[ContentKind, str]]] = ...) -> None: ...

class NextBestContentRequest(_message.Message):
    __slots__ = ("candidate_id", "context", "dry_run")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    context: ContentContext
    dry_run: bool
    def __init__(self, candidate_id: _Optional[str] = ..., context: _Optional[_Union[ContentContext, _Mapping]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class RenderedPreview(_message.Message):
    __slots__ = ("subject", "body")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    subject: str
    body: str
    def __init__(self, subject: _Optional[str] = ..., body: _Optional[str] = ...) -> None: ...

class ContentOption(_message.Message):
    __slots__ = ("content_id", "title", "propensity", "score", "relevance")
    CONTENT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PROPENSITY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    RELEVANCE_FIELD_NUMBER: _ClassVar[int]
    content_id: str
    title: str
    propensity: float
    score: float
    relevance: float
    def __init__(self, content_id: _Optional[str] = ..., title: _Optional[str] = ..., propensity: _Optional[float] = ..., score: _Optional[float] = ..., relevance: _Optional[float] = ...) -> None: ...

class NextBestContentResponse(_message.Message):
    __slots__ = ("decision_id", "send", "item", "score", "propensity", "reason", "preview", "policy_name", "policy_version", "eligible_count", "relevance", "predicted_response", "engagement_model", "no_send", "not_before", "alternatives", "encoder")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    SEND_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PROPENSITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    ELIGIBLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    RELEVANCE_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ENGAGEMENT_MODEL_FIELD_NUMBER: _ClassVar[int]
    NO_SEND_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    ENCODER_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    send: bool
    item: ContentItem
    score: float
    propensity: float
    reason: str
    preview: RenderedPreview
    policy_name: str
    policy_version: str
    eligible_count: int
    relevance: float
    predicted_response: float
    engagement_model: str
    no_send: NoSendReason
    not_before: _timestamp_pb2.Timestamp
    alternatives: _containers.RepeatedCompositeFieldContainer[ContentOption]
    encoder: str
    def __init__(self, decision_id: _Optional[str] = ..., send: _Optional[bool] = ..., item: _Optional[_Union[ContentItem, _Mapping]] = ..., score: _Optional[float] = ..., propensity: _Optional[float] = ..., reason: _Optional[str] = ..., preview: _Optional[_Union[RenderedPreview, _Mapping]] = ..., policy_name: _Optional[str] = ..., policy_version: _Optional[str] = ..., eligible_count: _Optional[int] = ..., relevance: _Optional[float] = ..., predicted_response: _Optional[float] = ..., engagement_model: _Optional[str] = ..., no_send: _Optional[_Union[NoSendReason, str]] = ..., not_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., alternatives: _Optional[_Iterable[_Union[ContentOption, _Mapping]]] = ..., encoder: _Optional[str] = ...) -> None: ...

class ContentRef(_message.Message):
    __slots__ = ("candidate_id", "content_id")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_ID_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    content_id: str
    def __init__(self, candidate_id: _Optional[str] = ..., content_id: _Optional[str] = ...) -> None: ...

class RecordOutcomeRequest(_message.Message):
    __slots__ = ("decision_id", "content", "kind", "occurred_at", "is_machine_open", "user_agent", "outcome_key")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    IS_MACHINE_OPEN_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_KEY_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    content: ContentRef
    kind: OutcomeKind
    occurred_at: _timestamp_pb2.Timestamp
    is_machine_open: bool
    user_agent: str
    outcome_key: str
    def __init__(self, decision_id: _Optional[str] = ..., content: _Optional[_Union[ContentRef, _Mapping]] = ..., kind: _Optional[_Union[OutcomeKind, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., is_machine_open: _Optional[bool] = ..., user_agent: _Optional[str] = ..., outcome_key: _Optional[str] = ...) -> None: ...

class Outcome(_message.Message):
    __slots__ = ("id", "decision_id", "candidate_id", "content_id", "kind", "occurred_at", "machine", "machine_reason", "timeline_event_id", "reward", "opted_out", "outcome_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    MACHINE_REASON_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    OPTED_OUT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    decision_id: str
    candidate_id: str
    content_id: str
    kind: OutcomeKind
    occurred_at: _timestamp_pb2.Timestamp
    machine: bool
    machine_reason: str
    timeline_event_id: str
    reward: float
    opted_out: bool
    outcome_key: str
    def __init__(self, id: _Optional[str] = ..., decision_id: _Optional[str] = ..., candidate_id: _Optional[str] = ..., content_id: _Optional[str] = ..., kind: _Optional[_Union[OutcomeKind, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., machine: _Optional[bool] = ..., machine_reason: _Optional[str] = ..., timeline_event_id: _Optional[str] = ..., reward: _Optional[float] = ..., opted_out: _Optional[bool] = ..., outcome_key: _Optional[str] = ...) -> None: ...
