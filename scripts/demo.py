"""`make demo`: from nothing to a running Rapport and a readable summary, then stop.

Seeds a store, trains an engagement model on its history and promotes it, starts the
services, and ranks candidates for a role with the engagement band beside each one. Uses
its own RAPPORT_HOME (.rapport/demo), rebuilt on every run, so it never touches a store you
keep elsewhere; its MLflow tracking store stays there for `mlflow ui` (see the README).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.console import Console
from rich.table import Table

from rapport.services.common.channels import open_channel
from rapport.v1 import candidates_pb2 as pb
from rapport.v1 import candidates_pb2_grpc as pb_grpc
from rapport.v1 import common_pb2

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / ".rapport" / "demo"
RAPPORT = str(Path(sys.executable).with_name("rapport"))
ROLE = ROOT / "examples" / "roles" / "senior-backend.json"
console = Console()
API_KEY = ""  # the admin key the demo creates (servers run with authentication on)


def channel(address: str) -> grpc.Channel:
    return open_channel(address, API_KEY)


def create_admin_key(env: dict) -> str:
    """`rapport keys create --role admin`: the key is printed once, only its hash is kept."""
    console.print("[bold]$ rapport keys create --role admin --label demo[/bold]")
    out = subprocess.run(
        [RAPPORT, "--json", "keys", "create", "--role", "admin", "--label", "demo"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    import json

    key = json.loads(out)["key"]
    console.print("admin API key created; to use this server from a shell:")
    console.print(f"  export RAPPORT_API_KEY={key}", markup=False, highlight=False)
    return key


def run(*args: str, env: dict) -> None:
    console.print(f"[bold]$ rapport {' '.join(args)}[/bold]")
    subprocess.run([RAPPORT, *args], env=env, check=True)


def start_server(env: dict) -> tuple[subprocess.Popen, str]:
    console.print("[bold]$ rapport serve --port 0[/bold]")
    proc = subprocess.Popen(
        [RAPPORT, "serve", "--port", "0"], env=env, stdout=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    port = line.rsplit(":", 1)[1].strip()
    address = f"127.0.0.1:{port}"
    with grpc.insecure_channel(address) as ch:  # health stays open: no key needed
        stub = health_pb2_grpc.HealthStub(ch)
        for _ in range(100):
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    break
            except grpc.RpcError:
                time.sleep(0.1)
    console.print(f"server up on {address}")
    return proc, address


def summary(address: str) -> None:
    with channel(address) as ch:
        stub = pb_grpc.CandidateServiceStub(ch)
        people, token = [], ""
        while True:
            page = stub.ListCandidates(
                pb.ListCandidatesRequest(page_size=1000, page_token=token), timeout=30
            )
            people += page.candidates
            token = page.page.next_page_token
            if not token:
                break
        for title, key in (
            ("candidates by source", lambda c: c.source),
            ("candidates by country", lambda c: c.location.country),
            ("candidates by engagement band", lambda c: c.engagement_band),
        ):
            counts = Counter(key(c) for c in people)
            table = Table(title=title)
            table.add_column(title.split()[-1])
            table.add_column("candidates", justify="right")
            table.add_column("share", justify="right")
            for name, n in counts.most_common(10):
                table.add_row(name or "-", f"{n:,}", f"{n / len(people):.1%}")
            console.print(table)

        rule = common_pb2.Rule(
            conditions=[
                common_pb2.Condition(field="skill", op="in", values=["python"]),
                common_pb2.Condition(field="seniority", op="gte", values=["senior"]),
                common_pb2.Condition(field="last_contacted_days", op="not_within", values=["90"]),
            ]
        )
        segment = stub.CreateSegment(
            pb.CreateSegmentRequest(
                segment=pb.Segment(name="Senior Python, not contacted in 90 days", rule=rule)
            ),
            timeout=10,
        )
        preview = stub.PreviewSegment(
            pb.PreviewSegmentRequest(segment_id=segment.id, page_size=10), timeout=10
        )
        table = Table(title=f"segment '{segment.name}': {preview.count:,} candidates (first 10)")
        for col in ("name", "headline", "location", "skills"):
            table.add_column(col, overflow="fold")
        for c in preview.candidates:
            table.add_row(
                f"{c.first_name} {c.last_name}",
                c.headline,
                f"{c.location.city}, {c.location.country}",
                ", ".join(s.skill_id for s in c.skills[:5]),
            )
        console.print(table)


def wait_for_engagement(address: str) -> None:
    """The engagement service loads the champion and scores everyone (writing their bands)
    in the background; wait until the bands are there."""
    from rapport.v1 import engagement_pb2 as epb
    from rapport.v1 import engagement_pb2_grpc as epb_grpc

    with channel(address) as ch:
        stub = epb_grpc.EngagementServiceStub(ch)
        deadline = time.monotonic() + 600
        with console.status("[bold]scoring engagement for every candidate[/bold]"):
            while time.monotonic() < deadline:
                info = stub.GetModelInfo(epb.GetModelInfoRequest(), timeout=10)
                if info.state == "none":  # ("unavailable": MLflow slow to answer, retried)
                    raise SystemExit(f"no engagement model: {info.message}")
                if info.state == "ready" and info.HasField("bands_as_of"):
                    console.print(
                        f"engagement model {info.name}/{info.version} scored "
                        f"{info.scored:,} candidates (bands written)"
                    )
                    return
                time.sleep(0.3)
    raise SystemExit("engagement scores not ready after 10 minutes")


def wait_for_index(address: str) -> None:
    """Matching indexes the store in the background; show its progress until it is ready."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from rapport.v1 import matching_pb2 as mpb
    from rapport.v1 import matching_pb2_grpc as mpb_grpc

    with (
        channel(address) as ch,
        Progress(
            "[bold]indexing candidates for matching[/bold]",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar,
    ):
        stub = mpb_grpc.MatchingServiceStub(ch)
        task = bar.add_task("index", total=None)
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            status = stub.GetIndexStatus(mpb.GetIndexStatusRequest(), timeout=10)
            bar.update(task, completed=status.build_done, total=status.build_total or None)
            if status.state == "ready":
                return
            if status.state == "failed":
                raise SystemExit(f"matching index failed: {status.message}")
            time.sleep(0.3)
    raise SystemExit("matching index not ready after 30 minutes")


def main() -> None:
    shutil.rmtree(HOME, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env |= {"RAPPORT_HOME": str(HOME), "HF_HUB_OFFLINE": "1", "RAPPORT_LOG_LEVEL": "WARNING"}
    # The ONNX export and skill-label embeddings outlive the demo store: reruns reuse them.
    env["RAPPORT_MODEL_CACHE_DIR"] = str(ROOT / ".rapport" / "models")
    run("db", "upgrade", env=env)
    run("seed", "--candidates", "5000", "--seed", "7", env=env)
    run("train", "engagement", env=env)
    run("models", "promote", env=env)
    global API_KEY
    API_KEY = create_admin_key(env)
    proc, address = start_server(env)
    try:
        wait_for_engagement(address)
        summary(address)
        wait_for_index(address)
        client = env | {"RAPPORT_SERVER": address, "RAPPORT_API_KEY": API_KEY}
        run("rank", "--role", str(ROLE), "--top", "10", "--engagement-weight", "0.3", env=client)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        console.print(f"server stopped (exit {code}); the demo store is in {HOME}")


if __name__ == "__main__":
    main()
