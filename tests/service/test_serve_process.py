"""`rapport serve` as a real process: health, reflection, and SIGTERM draining in-flight calls."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import pytest
from auth_helpers import open_channel
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from rapport.v1 import candidates_pb2 as pb
from rapport.v1 import candidates_pb2_grpc as pb_grpc

RAPPORT = str(Path(sys.executable).with_name("rapport"))


@pytest.fixture
def served(tmp_path, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env |= {
        "RAPPORT_HOME": str(tmp_path / "home"),
        "RAPPORT_DATABASE_URL": database_url,
        "RAPPORT_SHUTDOWN_GRACE_S": "20",
        "RAPPORT_LOG_LEVEL": "WARNING",
        "RAPPORT_ENCODER": "fake",
    }
    # the local admin verb, as an operator would run it: the key is printed once
    created = subprocess.run(
        [RAPPORT, "--json", "keys", "create", "--role", "admin", "--label", "ops"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = json.loads(created.stdout)["key"]
    proc = subprocess.Popen(
        [RAPPORT, "serve", "--port", "0"], env=env, stdout=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline()
    assert "listening on" in line, line
    yield proc, "127.0.0.1:" + line.rsplit(":", 1)[1].strip(), key
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_health_reflection_and_graceful_sigterm(served):
    proc, address, key = served
    with open_channel(address, key) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        health = health_pb2_grpc.HealthStub(ch)
        status = health.Check(
            health_pb2.HealthCheckRequest(service="rapport.v1.CandidateService"), timeout=5
        ).status
        assert status == health_pb2.HealthCheckResponse.SERVING
        refl = reflection_pb2_grpc.ServerReflectionStub(ch)
        listed = refl.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
        )
        names = {s.name for r in listed for s in r.list_services_response.service}
        assert {
            "rapport.v1.CandidateService",
            "rapport.v1.MatchingService",
            "grpc.health.v1.Health",
        } <= names

        # An import whose request stream is still open when SIGTERM arrives must finish.
        feed: queue.Queue = queue.Queue()

        def requests():
            yield pb.ImportCandidatesRequest(header=pb.ImportHeader(format=pb.IMPORT_FORMAT_CSV))
            while (chunk := feed.get()) is not None:
                yield pb.ImportCandidatesRequest(chunk=chunk)

        stub = pb_grpc.CandidateServiceStub(ch)
        future = stub.ImportCandidates.future(requests(), timeout=30)
        feed.put(b"first_name,last_name,email\nAda,Lovelace,ada@example.com\n")
        # the request id the server echoes proves the call is in its hands before SIGTERM
        assert dict(future.initial_metadata())["x-request-id"]
        stop_sent = threading.Event()

        def finish_after_sigterm():
            stop_sent.wait(10)
            feed.put(b"Grace,Hopper,grace@example.org\n")
            feed.put(None)

        threading.Thread(target=finish_after_sigterm, daemon=True).start()
        proc.send_signal(signal.SIGTERM)
        stop_sent.set()
        response = future.result(timeout=30)
        assert response.summary.created == 2
        assert proc.wait(timeout=30) == 0
