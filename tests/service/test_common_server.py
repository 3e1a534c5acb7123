"""services/common against a real in-process server on port 0.

The fake service "rapport.test.Echo" is built from grpc's generic handlers (raw bytes in
and out, no .proto), so these tests exercise the interceptor, error table, health,
reflection and shutdown without depending on any Rapport service.
"""

from __future__ import annotations

import io
import json
import logging
import queue
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

import rapport.core.errors as domain
from rapport.core.config import Settings
from rapport.core.context import RequestContext, current, reset, set_current
from rapport.core.errors import (
    AlreadyExists,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RapportError,
    SchemaOutOfDate,
    StaleVersion,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
    Violation,
)
from rapport.services.common.deadlines import remaining
from rapport.services.common.errors import STATUS, describe_rpc_error, status_code_for
from rapport.services.common.logging_setup import (
    JsonFormatter,
    RequestIdFilter,
    configure_logging,
)
from rapport.services.common.server import (
    DrainingHealthServicer,
    ServiceSpec,
    build_server,
    graceful_stop,
)

ECHO = "rapport.test.Echo"
SECRET = "postgresql://rapport:hunter2@db.internal/rapport"
PERSONAL = "jane.doe@example.com"
TICKS_DEADLINE_S = 0.2
WAIT_S = 5.0

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

VALIDATION = ValidationFailed(
    [Violation("email", "not an email address"), Violation("skills[2].years", "must be 0 to 60")]
)
DOMAIN_ERRORS: dict[str, tuple[RapportError, grpc.StatusCode]] = {
    "ValidationFailed": (VALIDATION, grpc.StatusCode.INVALID_ARGUMENT),
    "NotFound": (NotFound("candidate", "c-1"), grpc.StatusCode.NOT_FOUND),
    "AlreadyExists": (AlreadyExists("email is taken"), grpc.StatusCode.ALREADY_EXISTS),
    "StaleVersion": (StaleVersion("candidate", "c-1", 2, 3), grpc.StatusCode.ABORTED),
    "PreconditionFailed": (
        PreconditionFailed("index is rebuilding"),
        grpc.StatusCode.FAILED_PRECONDITION,
    ),
    "SchemaOutOfDate": (SchemaOutOfDate(None, "0001"), grpc.StatusCode.FAILED_PRECONDITION),
    "Unauthenticated": (Unauthenticated("no API key"), grpc.StatusCode.UNAUTHENTICATED),
    "PermissionDenied": (
        PermissionDenied("sourcer cannot erase"),
        grpc.StatusCode.PERMISSION_DENIED,
    ),
    "Unavailable": (Unavailable("model not loaded"), grpc.StatusCode.UNAVAILABLE),
}


def _raise(command: bytes) -> None:
    """b"raise:<Name>" raises that error; anything else is an ordinary message."""
    if not command.startswith(b"raise:"):
        return
    name = command.removeprefix(b"raise:").decode()
    if name == "Boom":
        raise RuntimeError(f"connection to {SECRET} failed")
    if name == "ManyViolations":
        reason = "adresse électronique invalide ✉"  # percent-encoding triples these bytes
        raise ValidationFailed([Violation(f"rows[{i}].email", reason) for i in range(2000)])
    raise DOMAIN_ERRORS[name][0]


class FakeEcho:
    """Test-only servicer: every RPC kind, each able to raise any domain error on demand."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def who_am_i(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        _raise(request)
        seen = current()
        return f"{seen.request_id} {seen.actor}".encode()

    def time_left(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        return f"{context.time_remaining():.3f}".encode()

    def two_then(self, request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        yield b"first"
        _raise(request)  # raised lazily, while grpc iterates the response stream
        yield b"second"

    def ticks(self, request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        while context.is_active():
            yield b"tick"

    def count(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        total = 0
        for item in requests:
            _raise(item)  # raised while consuming the request stream
            total += 1
        return str(total).encode()

    def chat(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        for item in requests:
            _raise(item)
            yield item

    def hold(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self.started.set()
        return b"released" if self.release.wait(WAIT_S * 2) else b"never released"

    def spec(self) -> ServiceSpec:
        # No (de)serializers: grpc hands the handlers raw bytes and sends bytes back.
        handlers = {
            "WhoAmI": grpc.unary_unary_rpc_method_handler(self.who_am_i),
            "TimeLeft": grpc.unary_unary_rpc_method_handler(self.time_left),
            "Hold": grpc.unary_unary_rpc_method_handler(self.hold),
            "TwoThen": grpc.unary_stream_rpc_method_handler(self.two_then),
            "Ticks": grpc.unary_stream_rpc_method_handler(self.ticks),
            "Count": grpc.stream_unary_rpc_method_handler(self.count),
            "Chat": grpc.stream_stream_rpc_method_handler(self.chat),
        }

        def register(server: grpc.Server) -> None:
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(ECHO, handlers),))

        return ServiceSpec(ECHO, register, deadlines={"Ticks": TICKS_DEADLINE_S})


@dataclass
class Running:
    channel: grpc.Channel
    port: int
    server: grpc.Server
    health: DrainingHealthServicer
    fake: FakeEcho

    def unary(self, method: str) -> grpc.UnaryUnaryMultiCallable:
        return self.channel.unary_unary(f"/{ECHO}/{method}")

    def server_stream(self, method: str) -> grpc.UnaryStreamMultiCallable:
        return self.channel.unary_stream(f"/{ECHO}/{method}")


def _settings() -> Settings:
    # A fake Echo service that is no Rapport RPC: these tests are about the server's
    # machinery (deadlines, errors, draining); authentication is tested in test_auth.py.
    return Settings(host="127.0.0.1", max_workers=8, default_deadline_s=30.0, auth_enabled=False)


@pytest.fixture
def echo() -> Iterator[Running]:
    fake = FakeEcho()
    server, port, health_servicer = build_server(_settings(), [fake.spec()], port=0)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Running(channel, port, server, health_servicer, fake)
    finally:
        fake.release.set()
        channel.close()
        server.stop(None).wait()


class AccessLog(logging.Handler):
    """Collects the interceptor's access-log records; lets a test wait for one."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._changed:
            self.records.append(record)
            self._changed.notify_all()

    def wait_for(self, match: Callable[[logging.LogRecord], bool]) -> logging.LogRecord:
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((r for r in self.records if match(r)), None), timeout=WAIT_S
            )
        assert found, f"no matching access-log record in {[r.getMessage() for r in self.records]}"
        return found


@pytest.fixture
def access_log() -> Iterator[AccessLog]:
    logger = logging.getLogger("rapport.services.common.interceptors")
    handler, level = AccessLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _call(running: Running, kind: str, command: bytes) -> list[bytes]:
    """Calls the fake's method of that RPC kind with `command` somewhere in its input."""
    if kind == "unary":
        return [running.unary("WhoAmI")(command, timeout=WAIT_S)]
    if kind == "server_stream":
        responses = running.server_stream("TwoThen")(command, timeout=WAIT_S)
        assert next(responses) == b"first"  # the error comes after a message was sent
        return list(responses)
    if kind == "client_stream":
        count = running.channel.stream_unary(f"/{ECHO}/Count")
        return [count(iter([b"ok", command, b"ok"]), timeout=WAIT_S)]
    chat = running.channel.stream_stream(f"/{ECHO}/Chat")
    return list(chat(iter([b"ok", command, b"ok"]), timeout=WAIT_S))


KINDS = ["unary", "server_stream", "client_stream", "bidi_stream"]


# -- error mapping --------------------------------------------------------------------------


def test_every_domain_error_class_has_a_status() -> None:
    classes = {
        c
        for c in vars(domain).values()
        if isinstance(c, type) and issubclass(c, RapportError) and c is not RapportError
    }
    assert classes == set(STATUS)


def test_subclasses_of_a_domain_error_inherit_its_status() -> None:
    class EmailTaken(AlreadyExists):
        pass

    assert status_code_for(EmailTaken("x")) is grpc.StatusCode.ALREADY_EXISTS
    assert status_code_for(KeyError("x")) is None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(DOMAIN_ERRORS))
def test_domain_errors_reach_the_client_as_their_status(
    echo: Running, kind: str, name: str
) -> None:
    error, code = DOMAIN_ERRORS[name]
    with pytest.raises(grpc.RpcError) as raised:
        _call(echo, kind, b"raise:" + name.encode())
    assert raised.value.code() is code
    assert raised.value.details() == str(error)


@pytest.mark.parametrize("kind", KINDS)
def test_validation_failure_lists_every_field_violation(echo: Running, kind: str) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        _call(echo, kind, b"raise:ValidationFailed")
    status = rpc_status.from_call(raised.value)
    assert status is not None and len(status.details) == 1
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("email", "not an email address"),
        ("skills[2].years", "must be 0 to 60"),
    ]


def test_describe_rpc_error_names_the_code_then_each_field(echo: Running) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        echo.unary("WhoAmI")(b"raise:ValidationFailed", timeout=WAIT_S)
    assert describe_rpc_error(raised.value).splitlines() == [
        f"INVALID_ARGUMENT: {VALIDATION}",
        "  email: not an email address",
        "  skills[2].years: must be 0 to 60",
    ]
    with pytest.raises(grpc.RpcError) as raised:
        echo.unary("WhoAmI")(b"raise:NotFound", timeout=WAIT_S)
    assert describe_rpc_error(raised.value) == "NOT_FOUND: candidate c-1 not found"


def test_a_huge_validation_failure_still_fits_in_the_trailers(echo: Running) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        echo.unary("WhoAmI")(b"raise:ManyViolations", timeout=WAIT_S)
    err = raised.value
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT  # not RESOURCE_EXHAUSTED
    # Between 8 and 16 KiB of trailers a client fails calls at random: stay under 8 KiB.
    details_bin = dict(err.trailing_metadata())["grpc-status-details-bin"]
    assert len(details_bin) + 3 * len(err.details().encode()) < 7 * 1024
    bad = error_details_pb2.BadRequest()
    rpc_status.from_call(err).details[0].Unpack(bad)
    assert bad.field_violations[0].field == "rows[0].email"
    assert bad.field_violations[-1].description.endswith("more violations not shown")


@pytest.mark.parametrize("kind", KINDS)
def test_unexpected_errors_are_internal_and_hide_their_details(
    echo: Running, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        _call(echo, kind, b"raise:Boom")
    err = raised.value
    request_id = dict(err.initial_metadata())["x-request-id"]
    assert err.code() is grpc.StatusCode.INTERNAL
    assert err.details() == f"internal error (request id {request_id})"
    assert SECRET not in repr(err.trailing_metadata())
    logged = [r for r in caplog.records if r.name == "rapport.services.common.errors"]
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR
    assert logged[0].request_id == request_id
    assert logged[0].exc_info and SECRET in str(logged[0].exc_info[1])  # the server log keeps it


# -- request id, actor, access log ----------------------------------------------------------


def test_request_id_from_the_client_is_used_and_echoed(echo: Running) -> None:
    metadata = (("x-request-id", "req-42"), ("x-actor", "recruiter-7"))
    body, call = echo.unary("WhoAmI").with_call(b"", metadata=metadata, timeout=WAIT_S)
    assert body == b"req-42 recruiter-7"
    assert ("x-request-id", "req-42") in call.initial_metadata()


@pytest.mark.parametrize("sent", [None, "", "two words", "x" * 500, 'id";drop'])
def test_missing_or_unsafe_request_id_is_replaced_by_a_new_one(
    echo: Running, sent: str | None
) -> None:
    metadata = () if sent is None else (("x-request-id", sent),)
    body, call = echo.unary("WhoAmI").with_call(b"", metadata=metadata, timeout=WAIT_S)
    request_id, actor = body.decode().split(" ")
    assert len(request_id) == 32 and int(request_id, 16) >= 0  # a uuid4 hex
    assert actor == "anonymous"
    assert dict(call.initial_metadata())["x-request-id"] == request_id


def test_request_id_is_echoed_once_on_streams(echo: Running) -> None:
    metadata = (("x-request-id", "stream-1"),)
    responses = echo.server_stream("TwoThen")(b"", metadata=metadata, timeout=WAIT_S)
    assert list(responses) == [b"first", b"second"]
    assert [v for k, v in responses.initial_metadata() if k == "x-request-id"] == ["stream-1"]
    chat = echo.channel.stream_stream(f"/{ECHO}/Chat")
    replies = chat(iter([b"a", b"b"]), metadata=metadata, timeout=WAIT_S)
    assert list(replies) == [b"a", b"b"]
    assert [v for k, v in replies.initial_metadata() if k == "x-request-id"] == ["stream-1"]


def test_each_call_logs_one_line_without_its_body(echo: Running, access_log: AccessLog) -> None:
    metadata = (("x-request-id", "log-1"),)
    echo.unary("WhoAmI")(PERSONAL.encode(), metadata=metadata, timeout=WAIT_S)
    with pytest.raises(grpc.RpcError):
        echo.unary("WhoAmI")(b"raise:NotFound", metadata=(("x-request-id", "log-2"),))
    ok = access_log.wait_for(lambda r: r.request_id == "log-1")
    failed = access_log.wait_for(lambda r: r.request_id == "log-2")
    assert (ok.grpc_method, ok.grpc_code) == (f"/{ECHO}/WhoAmI", "OK")
    assert failed.grpc_code == "NOT_FOUND"
    assert ok.duration_ms >= 0
    assert len(access_log.records) == 2
    assert all(PERSONAL not in r.getMessage() for r in access_log.records)


def test_a_stream_the_client_cancels_is_logged_as_cancelled(
    echo: Running, access_log: AccessLog
) -> None:
    ticks = echo.server_stream("Ticks")(b"", metadata=(("x-request-id", "gone-1"),))
    assert next(ticks) == b"tick"
    ticks.cancel()
    record = access_log.wait_for(lambda r: r.request_id == "gone-1")
    assert record.grpc_code == "CANCELLED"


def test_health_and_reflection_calls_are_not_access_logged(
    echo: Running, access_log: AccessLog
) -> None:
    health_pb2_grpc.HealthStub(echo.channel).Check(health_pb2.HealthCheckRequest(), timeout=WAIT_S)
    echo.unary("WhoAmI")(b"", metadata=(("x-request-id", "after-health"),), timeout=WAIT_S)
    access_log.wait_for(lambda r: r.request_id == "after-health")
    assert [r.grpc_method for r in access_log.records] == [f"/{ECHO}/WhoAmI"]


# -- deadlines ------------------------------------------------------------------------------


def test_without_a_client_deadline_the_server_default_applies(echo: Running) -> None:
    left = float(echo.unary("TimeLeft")(b""))
    assert 25.0 < left <= 30.0


def test_a_client_deadline_wins_over_the_server_default(echo: Running) -> None:
    left = float(echo.unary("TimeLeft")(b"", timeout=100))
    assert 90.0 < left <= 101.0  # the wire carries the timeout rounded up


def test_a_stream_without_client_deadline_ends_at_the_server_deadline(echo: Running) -> None:
    received = 0
    with pytest.raises(grpc.RpcError) as raised:
        for _ in echo.server_stream("Ticks")(b""):
            received += 1
    assert raised.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert f"server deadline of {TICKS_DEADLINE_S:g}s exceeded" in raised.value.details()
    assert received > 0


def test_remaining_caps_a_step_even_without_any_deadline() -> None:
    class NoDeadline:
        def time_remaining(self) -> float:
            return 9.2e18

    class AlmostOver:
        def time_remaining(self) -> float:
            return 0.25

    assert remaining(NoDeadline(), 5.0) == 5.0  # type: ignore[arg-type]
    assert remaining(AlmostOver(), 5.0) == 0.25  # type: ignore[arg-type]


# -- health, reflection, shutdown -----------------------------------------------------------


def test_health_reports_each_service_and_the_server_serving(echo: Running) -> None:
    health = health_pb2_grpc.HealthStub(echo.channel)
    for service in ("", ECHO):
        reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=WAIT_S)
        assert reply.status == SERVING, service
    with pytest.raises(grpc.RpcError) as raised:
        health.Check(health_pb2.HealthCheckRequest(service="rapport.v1.Nope"), timeout=WAIT_S)
    assert raised.value.code() is grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_services(echo: Running) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(echo.channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    responses = stub.ServerReflectionInfo(iter([request]), timeout=WAIT_S)
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert names == {ECHO, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}


def test_build_server_refuses_a_port_in_use(echo: Running) -> None:
    with pytest.raises(OSError, match="cannot listen"):
        build_server(_settings(), [], port=echo.port)


def test_graceful_stop_drains_the_call_in_flight_and_refuses_new_ones(echo: Running) -> None:
    health = health_pb2_grpc.HealthStub(echo.channel)
    watch = health.Watch(health_pb2.HealthCheckRequest(service=ECHO), timeout=WAIT_S * 2)
    assert next(watch).status == SERVING
    held = echo.unary("Hold").future(b"", timeout=WAIT_S * 2)
    assert echo.fake.started.wait(WAIT_S)

    stopper = threading.Thread(target=graceful_stop, args=(echo.server, echo.health, 30.0))
    stopper.start()
    assert next(watch).status == NOT_SERVING  # health goes first
    with pytest.raises(StopIteration):  # then the server stops taking calls and ends watches
        next(watch)
    with pytest.raises(grpc.RpcError) as refused:
        echo.unary("WhoAmI")(b"", timeout=WAIT_S)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    assert not held.done()

    echo.fake.release.set()
    assert held.result(timeout=WAIT_S) == b"released"
    stopper.join(WAIT_S)  # far sooner than the 30 s grace: nothing is left to wait for
    assert not stopper.is_alive()
    reply = echo.health.Check(health_pb2.HealthCheckRequest(service=""), None)
    assert reply.status == NOT_SERVING


# -- serve_forever in a real process --------------------------------------------------------

SERVE_SCRIPT = textwrap.dedent(
    """
    import sys

    import grpc

    from rapport.core.config import Settings
    from rapport.services.common.logging_setup import configure_logging
    from rapport.services.common.server import ServiceSpec, build_server, serve_forever


    def hold(request, context):
        print("HOLDING", flush=True)
        sys.stdin.readline()  # the test releases the call by writing a line
        return b"released"


    def register(server):
        handler = grpc.unary_unary_rpc_method_handler(hold)
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("rapport.test.Echo", {"Hold": handler}),)
        )


    configure_logging("INFO", json=True)
    spec = ServiceSpec("rapport.test.Echo", register, lambda: print("HOOK", flush=True))
    settings = Settings(host="127.0.0.1", auth_enabled=False)  # a fake service: no auth
    server, port, health = build_server(settings, [spec], port=0)
    print("PORT", port, flush=True)
    serve_forever(server, health, [spec], grace_s=20.0)
    """
)


class Lines:
    """A child's output, read on a thread so that a test can wait for a line with a timeout."""

    def __init__(self, stream: io.TextIOBase) -> None:
        self.seen: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: io.TextIOBase) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = WAIT_S) -> str:
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"{text!r} never came; saw {self.seen}") from None
            self.seen.append(line)
            if text in line:
                return line


def test_sigterm_drains_the_call_in_flight_then_runs_shutdown_hooks(tmp_path: Path) -> None:
    script = tmp_path / "serve.py"
    script.write_text(SERVE_SCRIPT)
    child = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = Lines(child.stdout), Lines(child.stderr)
        port = int(out.wait_for("PORT", timeout=30).split()[1])  # imports are slow on a busy box
        err.wait_for("serving until SIGTERM")  # the handlers are installed
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service=ECHO), timeout=WAIT_S * 2
            )
            assert next(watch).status == SERVING
            held = channel.unary_unary(f"/{ECHO}/Hold").future(b"", timeout=WAIT_S * 2)
            out.wait_for("HOLDING")

            child.send_signal(signal.SIGTERM)
            assert next(watch).status == NOT_SERVING
            with pytest.raises(StopIteration):  # the server has stopped taking new calls
                next(watch)
            assert json.loads(err.wait_for("draining"))["level"] == "INFO"
            assert not held.done()

            child.stdin.write("go\n")
            child.stdin.flush()
            assert held.result(timeout=WAIT_S) == b"released"
        out.wait_for("HOOK")
        assert child.wait(timeout=WAIT_S) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


# -- logging setup --------------------------------------------------------------------------


def test_json_lines_carry_the_request_id_and_extra_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("rapport.test.json_lines")
    logger.addHandler(handler)
    token = set_current(RequestContext(request_id="r-77", actor="someone"))
    try:
        logger.warning("rank took %d ms", 12, extra={"grpc_code": "OK"})
    finally:
        reset(token)
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert {k: line[k] for k in ("level", "logger", "msg", "request_id", "grpc_code")} == {
        "level": "WARNING",
        "logger": "rapport.test.json_lines",
        "msg": "rank took 12 ms",
        "request_id": "r-77",
        "grpc_code": "OK",
    }
    assert line["ts"].endswith("+00:00")


def test_configure_logging_twice_keeps_one_handler() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging("info", json=False)
        configure_logging("WARNING", json=True)
        added = [h for h in root.handlers if h not in handlers]
        assert len(added) == 1 and isinstance(added[0].formatter, JsonFormatter)
        assert root.level == logging.WARNING
    finally:
        for h in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(h)
        root.setLevel(level)
