"""What every Rapport RPC does around its handler: request id, authentication and
authorization, deadline, errors, access log.

One interceptor holds the four concerns because they share per-call state and their order
matters: the request context must be set before an error is logged, the log line needs the
mapped status code, and all of it has to hold for handler code that runs lazily (a response
generator, or a handler pulling from the request stream) as much as for the first call.

The interceptor sends the initial metadata (x-request-id) itself, before any handler code
runs; a handler with more to tell the client uses trailing metadata.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import grpc
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection

from rapport.core.context import RequestContext, reset, set_current
from rapport.core.errors import ValidationFailed, Violation
from rapport.services.common import errors
from rapport.services.common.auth import Authorizer
from rapport.services.common.deadlines import CallContext

_LOG = logging.getLogger(__name__)

REQUEST_ID_KEY = "x-request-id"
ACTOR_KEY = "x-actor"  # only with authentication off: else the actor is the API key's
ANONYMOUS = "anonymous"

# Health and reflection are polled by load balancers and tools: no access log, no wrapping
# (health's Watch relies on grpc's non-blocking handler attribute, which a wrapper would hide).
INFRASTRUCTURE_SERVICES = frozenset({health.SERVICE_NAME, reflection.SERVICE_NAME})

# Client-supplied values end up in log lines and audit rows: accept only plain tokens.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_ACTOR = re.compile(r"[A-Za-z0-9._:@+-]{1,128}")

Behaviour = Callable[[Any, grpc.ServicerContext], Any]


class CallInterceptor(grpc.ServerInterceptor):
    """Wraps every non-infrastructure handler, whichever of the four RPC kinds it is.

    `deadlines` maps a full method name ("/rapport.v1.CandidateService/WatchChanges") to
    the server deadline, in seconds, for calls whose client set none; other methods get
    `default_deadline_s`. With an `authorizer`, every call must carry a valid API key whose
    role may call the method (see `rapport.services.common.auth`); without one (settings
    auth_enabled off, local development only) calls run unauthenticated.
    """

    def __init__(
        self,
        default_deadline_s: float,
        deadlines: Mapping[str, float] | None = None,
        passthrough: frozenset[str] = INFRASTRUCTURE_SERVICES,
        authorizer: Authorizer | None = None,
    ) -> None:
        self._default_deadline_s = default_deadline_s
        self._deadlines = dict(deadlines or {})
        self._passthrough = passthrough
        self._authorizer = authorizer

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or _service_of(method) in self._passthrough:
            return handler
        deadline_s = self._deadlines.get(method, self._default_deadline_s)

        def open_call(context: grpc.ServicerContext) -> _Call:
            return _Call(method, context, deadline_s, self._authorizer)

        return _wrap(handler, open_call)


def _wrap(
    handler: grpc.RpcMethodHandler, open_call: Callable[[grpc.ServicerContext], _Call]
) -> grpc.RpcMethodHandler:
    """The same handler kind and serializers, with the behaviour run through a `_Call`."""
    codec = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        behaviour = _unary_response(handler.unary_unary, open_call, streaming_request=False)
        return grpc.unary_unary_rpc_method_handler(behaviour, **codec)
    if handler.unary_stream:
        behaviour = _stream_response(handler.unary_stream, open_call, streaming_request=False)
        return grpc.unary_stream_rpc_method_handler(behaviour, **codec)
    if handler.stream_unary:
        behaviour = _unary_response(handler.stream_unary, open_call, streaming_request=True)
        return grpc.stream_unary_rpc_method_handler(behaviour, **codec)
    behaviour = _stream_response(handler.stream_stream, open_call, streaming_request=True)
    return grpc.stream_stream_rpc_method_handler(behaviour, **codec)


def _unary_response(
    inner: Behaviour, open_call: Callable[[grpc.ServicerContext], _Call], *, streaming_request: bool
) -> Behaviour:
    def behaviour(request: Any, context: grpc.ServicerContext) -> Any:
        call = open_call(context)
        try:
            if streaming_request:
                request = _RequestStream(call, request)
                return call.run(inner, request, call.context)
            return call.run(_checked(inner), request, call.context)
        finally:
            call.finish()

    return behaviour


def _stream_response(
    inner: Behaviour, open_call: Callable[[grpc.ServicerContext], _Call], *, streaming_request: bool
) -> Behaviour:
    def behaviour(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        call = open_call(context)
        try:
            if streaming_request:
                request = _RequestStream(call, request)
            else:
                call.run(refuse_nul, request)
            responses = call.run(lambda: iter(inner(request, call.context)))
        except BaseException:
            call.finish()
            raise
        return _ResponseStream(call, responses)

    return behaviour


class _Call:
    """One RPC as the interceptor sees it: its request id, its deadline, how it ended."""

    def __init__(
        self,
        method: str,
        raw: grpc.ServicerContext,
        deadline_s: float,
        authorizer: Authorizer | None = None,
    ) -> None:
        self.method = method
        self._raw = raw
        metadata = {item[0]: item[1] for item in raw.invocation_metadata() or ()}
        self.request_id = _token(metadata.get(REQUEST_ID_KEY), _REQUEST_ID) or uuid.uuid4().hex
        self._metadata = metadata
        self._authorizer = authorizer
        if authorizer is None:
            actor = _token(metadata.get(ACTOR_KEY), _ACTOR) or ANONYMOUS
        else:
            actor = ANONYMOUS  # until `_admit` has authenticated the key
        self._request_context = RequestContext(request_id=self.request_id, actor=actor)
        self.context = CallContext(raw, deadline_s)
        self._started = time.perf_counter()
        self._headers_sent = False
        self._finished = False
        self._finish_lock = threading.Lock()
        # A stream the client cancels is simply no longer iterated: log it when grpc ends it.
        raw.add_callback(self.finish)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Runs handler code under the request context, mapping whatever it raises."""
        token = set_current(self._request_context)
        try:
            if not self._headers_sent:  # before the first message, whichever kind of RPC
                self._headers_sent = True
                self._admit()
                self._raw.send_initial_metadata(((REQUEST_ID_KEY, self.request_id),))
            return fn(*args)
        except StopIteration:
            raise
        except Exception as exc:
            self._fail(exc)
            raise
        finally:
            reset(token)

    def _admit(self) -> None:
        """Authenticates and authorizes the call (raises if it may not run), and puts the
        caller's principal in the request context for the use cases and audit rows."""
        if self._authorizer is None:
            return
        principal = self._authorizer.admit(self.method, self._metadata)
        self._request_context = RequestContext(
            request_id=self.request_id,
            actor=principal.actor,
            key_id=principal.key_id,
            role=principal.role,
            team=principal.team,
            scopes=principal.scopes,
        )
        set_current(self._request_context)  # `run` resets to what it found on return

    def _fail(self, exc: Exception) -> None:
        """Turns `exc` into a status, unless one is already decided (then returns)."""
        if self.context.aborted:  # the handler chose its status itself
            return
        if isinstance(exc, grpc.RpcError) and not self._raw.is_active():
            return  # the client went away while we read its stream: nobody to tell
        errors.abort_for(self.context, exc, self.request_id)

    def check_deadline(self) -> None:
        """Aborts with DEADLINE_EXCEEDED if no time is left; says whose deadline it was."""
        if self.context.time_remaining() > 0:
            return
        if self.context.client_has_deadline:
            message = "deadline exceeded"
        else:
            message = (
                f"server deadline of {self.context.default_deadline_s:g}s exceeded: "
                "set a deadline (timeout) on the call for longer work"
            )
        self.context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, message)

    def finish(self) -> None:
        """Writes the call's one access-log line (never its bodies: they hold personal data)."""
        with self._finish_lock:
            if self._finished:
                return
            self._finished = True
        duration_ms = (time.perf_counter() - self._started) * 1000
        code = self._outcome()
        _LOG.info(
            "%s %s %.1f ms",
            self.method,
            code,
            duration_ms,
            extra={
                "request_id": self.request_id,
                "grpc_method": self.method,
                "grpc_code": code,
                "duration_ms": round(duration_ms, 1),
                **(
                    {"key_id": self._request_context.key_id} if self._request_context.key_id else {}
                ),
            },
        )

    def _outcome(self) -> str:
        code = self._raw.code()
        if code is not None:
            return code.name
        if not self._raw.is_active():
            return "DEADLINE_EXCEEDED" if self._raw.time_remaining() <= 0 else "CANCELLED"
        return "OK"


def _checked(inner: Behaviour) -> Behaviour:
    def checked(request: Any, context: Any) -> Any:
        refuse_nul(request)
        return inner(request, context)

    return checked


def refuse_nul(message: Any, path: str = "") -> None:
    """ValidationFailed naming the first string field of a request that holds a NUL
    character: no stored text holds one, and PostgreSQL refuses it outright, which would
    otherwise end the call as an internal error (and on SQLite store it)."""
    if not hasattr(message, "ListFields"):
        return
    for fd, value in message.ListFields():
        at = f"{path}.{fd.name}" if path else fd.name
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            for key, item in value.items():
                if isinstance(key, str) and "\x00" in key:
                    _nul(f"{at}[{key!r}]")
                if isinstance(item, str):
                    if "\x00" in item:
                        _nul(f"{at}[{key!r}]")
                else:
                    refuse_nul(item, f"{at}[{key!r}]")
        elif fd.type == fd.TYPE_STRING:
            items = value if fd.is_repeated else (value,)
            for i, text in enumerate(items):
                if "\x00" in text:
                    _nul(f"{at}[{i}]" if fd.is_repeated else at)
        elif fd.type == fd.TYPE_MESSAGE:
            if fd.is_repeated:
                for i, item in enumerate(value):
                    refuse_nul(item, f"{at}[{i}]")
            else:
                refuse_nul(value, at)


def _nul(field: str) -> None:
    raise ValidationFailed(Violation(field, "contains a NUL character"))


class _RequestStream:
    """The client's messages, refused once the call's deadline has passed."""

    def __init__(self, call: _Call, requests: Iterator[Any]) -> None:
        self._call = call
        self._requests = requests

    def __iter__(self) -> _RequestStream:
        return self

    def __next__(self) -> Any:
        self._call.check_deadline()
        message = next(self._requests)
        refuse_nul(message)
        return message


class _ResponseStream:
    """The handler's messages, each produced under the call's context and error mapping.

    Stops when the client has gone, and ends with DEADLINE_EXCEEDED when time is up.
    """

    def __init__(self, call: _Call, responses: Iterator[Any]) -> None:
        self._call = call
        self._responses = responses
        self._done = False

    def __iter__(self) -> _ResponseStream:
        return self

    def __next__(self) -> Any:
        if self._done:
            raise StopIteration
        try:
            return self._call.run(self._produce)
        except BaseException:
            self._done = True
            self._call.finish()
            raise

    def _produce(self) -> Any:
        if not self._call.context.is_active():
            self._call.check_deadline()  # if time is up, say so
            raise StopIteration  # else the client went away: nobody to send to
        try:
            return next(self._responses)
        except StopIteration:
            self._call.check_deadline()  # a stream cut short by the deadline is no success
            raise


def _service_of(method: str) -> str:
    """Maps "/rapport.v1.CandidateService/GetCandidate" to "rapport.v1.CandidateService"."""
    return method.lstrip("/").split("/", 1)[0]


def _token(value: object, pattern: re.Pattern[str]) -> str | None:
    return value if isinstance(value, str) and pattern.fullmatch(value) else None
