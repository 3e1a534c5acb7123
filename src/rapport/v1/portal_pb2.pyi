import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RequestSignInLinkRequest(_message.Message):
    __slots__ = ("email", "link_base_url")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LINK_BASE_URL_FIELD_NUMBER: _ClassVar[int]
    email: str
    link_base_url: str
    def __init__(self, email: _Optional[str] = ..., link_base_url: _Optional[str] = ...) -> None: ...

class RequestSignInLinkResponse(_message.Message):
    __slots__ = ("valid_minutes",)
    VALID_MINUTES_FIELD_NUMBER: _ClassVar[int]
    valid_minutes: int
    def __init__(self, valid_minutes: _Optional[int] = ...) -> None: ...

class RedeemSignInLinkRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class RedeemSignInLinkResponse(_message.Message):
    __slots__ = ("candidate_id", "signed_in_at")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNED_IN_AT_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    signed_in_at: _timestamp_pb2.Timestamp
    def __init__(self, candidate_id: _Optional[str] = ..., signed_in_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
