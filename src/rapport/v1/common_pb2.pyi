import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Seniority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SENIORITY_UNSPECIFIED: _ClassVar[Seniority]
    SENIORITY_INTERN: _ClassVar[Seniority]
    SENIORITY_JUNIOR: _ClassVar[Seniority]
    SENIORITY_MID: _ClassVar[Seniority]
    SENIORITY_SENIOR: _ClassVar[Seniority]
    SENIORITY_LEAD: _ClassVar[Seniority]
    SENIORITY_PRINCIPAL: _ClassVar[Seniority]
    SENIORITY_EXECUTIVE: _ClassVar[Seniority]
SENIORITY_UNSPECIFIED: Seniority
SENIORITY_INTERN: Seniority
SENIORITY_JUNIOR: Seniority
SENIORITY_MID: Seniority
SENIORITY_SENIOR: Seniority
SENIORITY_LEAD: Seniority
SENIORITY_PRINCIPAL: Seniority
SENIORITY_EXECUTIVE: Seniority

class Location(_message.Message):
    __slots__ = ("city", "country", "timezone")
    CITY_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    city: str
    country: str
    timezone: str
    def __init__(self, city: _Optional[str] = ..., country: _Optional[str] = ..., timezone: _Optional[str] = ...) -> None: ...

class Skill(_message.Message):
    __slots__ = ("skill_id", "label", "level", "years", "source", "evidence")
    SKILL_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    YEARS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    skill_id: str
    label: str
    level: int
    years: float
    source: str
    evidence: str
    def __init__(self, skill_id: _Optional[str] = ..., label: _Optional[str] = ..., level: _Optional[int] = ..., years: _Optional[float] = ..., source: _Optional[str] = ..., evidence: _Optional[str] = ...) -> None: ...

class Condition(_message.Message):
    __slots__ = ("field", "op", "values")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    field: str
    op: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, field: _Optional[str] = ..., op: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class Rule(_message.Message):
    __slots__ = ("conditions",)
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    conditions: _containers.RepeatedCompositeFieldContainer[Condition]
    def __init__(self, conditions: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ...) -> None: ...

class PageInfo(_message.Message):
    __slots__ = ("next_page_token", "total_size")
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    total_size: int
    def __init__(self, next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ChangeEvent(_message.Message):
    __slots__ = ("seq", "candidate_id", "op", "at")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    seq: int
    candidate_id: str
    op: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, seq: _Optional[int] = ..., candidate_id: _Optional[str] = ..., op: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
