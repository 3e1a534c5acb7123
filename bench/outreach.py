"""The outreach scheduler against a local SMTP sink: sustained sends per minute, and a
SIGKILL in the middle of a run followed by a restart (duplicates, losses, resume time).

The sink is aiosmtpd in its own process (this script with --sink), recording the Message-ID
of every message it accepts, so duplicates are counted by the receiving side. The store is
seeded with `rapport seed`, everyone's consent set to granted, and enrolled in a one-step
sequence with personal merge tags; `rapport outreach run --once` sends it all.

Baselines in the same run, against the same sink and the same message: a plain smtplib loop
with no store and one reused connection (the floor of SMTP itself from Python), and the
same with a new connection per message.

    python bench/outreach.py [--people 20000] [--connections 2] [--batch 200]
                             [--database-url URL] [--quick] [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from common import clean_env, git_commit, machine, versions, write
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select, update

from rapport.core.config import Settings
from rapport.core.outreach import Sequence, Step
from rapport.core.store import db as store_db
from rapport.core.store.schema import CandidateRow, OutreachSendRow
from rapport.services.outreach.mail import MailSettings, compose
from rapport.services.outreach.scheduler import REASON_UNKNOWN
from rapport.services.outreach.use_cases import OutreachUseCases

console = Console(width=150)
RAPPORT = str(Path(sys.executable).with_name("rapport"))
INTRO = Step(
    key="intro",
    subject="{{ first_name }}, a {{ seniority }} role that fits your {{ top_skill }} work",
    body=(
        "Hi {{ first_name }},\n\n"
        "I came across your profile ({{ headline }}) and think you would enjoy what we are\n"
        "building. The team works mostly with {{ top_skills }}, remote-friendly, and the role\n"
        "is senior enough to shape how we do things.\n\n"
        "Would you be open to a 20 minute call next week?\n\n"
        "{{ recruiter_name }}\n\n"
        "--\nNot interested? One click and we stop: {{ unsubscribe_url }}\n"
    ),
)


# ------------------------------------------------------------------------ the sink process


def run_sink(port: int, log_path: Path) -> None:
    """aiosmtpd on 127.0.0.1:port; appends "<message-id>\\n" per accepted message."""
    from aiosmtpd.controller import Controller

    out = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            data = envelope.original_content or envelope.content
            start = data.find(b"\r\nMessage-ID: ")
            end = data.find(b"\r\n", start + 2)
            out.write(data[start + 14 : end].decode("ascii", "replace") + "\n")
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    out.close()


class Sink:
    def __init__(self, work: Path) -> None:
        self.port = free_port()
        self.log = work / f"sink-{self.port}.log"
        self.log.touch()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--sink", str(self.port), str(self.log)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def ids(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line]

    def count(self) -> int:
        with open(self.log, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 16), b""))

    def reset(self) -> None:
        self.log.write_text("")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------ the store


def env_for(home: Path, url: str, sink: Sink, connections: int, batch: int) -> dict:
    env = clean_env()
    return env | {
        "RAPPORT_HOME": str(home),
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_LOG_LEVEL": "WARNING",
        "RAPPORT_OUTREACH_SMTP_HOST": "127.0.0.1",
        "RAPPORT_OUTREACH_SMTP_PORT": str(sink.port),
        "RAPPORT_OUTREACH_SMTP_CONNECTIONS": str(connections),
        "RAPPORT_OUTREACH_BATCH_SIZE": str(batch),
        "RAPPORT_OUTREACH_FROM_ADDRESS": "talent@rapport.test",
        "RAPPORT_OUTREACH_FROM_NAME": "Dana at Rapport",
        "RAPPORT_OUTREACH_UNSUBSCRIBE_URL": "https://rapport.test/u",
        "HF_HUB_OFFLINE": "1",
    }


def prepare(home: Path, url: str, people: int, env: dict) -> float:
    subprocess.run([RAPPORT, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    t = time.perf_counter()
    subprocess.run(
        [RAPPORT, "--json", "seed", "--candidates", str(people), "--seed", "11"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seed_s = time.perf_counter() - t
    db = store_db.Database(url)
    with db.transaction() as s:
        s.execute(update(CandidateRow).values(consent_state="granted"))
    db.close()
    return seed_s


def enrol_everyone(url: str, settings: Settings, name: str) -> int:
    db = store_db.Database(url)
    try:
        uc = OutreachUseCases(db, settings)
        seq = uc.create_sequence(Sequence(name=name, steps=(INTRO,)))
        with db.read() as s:
            ids = list(
                s.execute(
                    select(CandidateRow.id)
                    .where(CandidateRow.status == "active")
                    .order_by(CandidateRow.pk)
                ).scalars()
            )
        enrolled = 0
        for i in range(0, len(ids), 50_000):
            enrolled += uc.enrol(seq.id, candidate_ids=ids[i : i + 50_000]).enrolled_count
        return enrolled
    finally:
        db.close()


def send_states(url: str) -> dict[str, int]:
    db = store_db.Database(url)
    try:
        with db.read() as s:
            return dict(
                s.execute(
                    select(OutreachSendRow.state, func.count()).group_by(OutreachSendRow.state)
                ).all()
            )
    finally:
        db.close()


def unknown_outcomes(url: str) -> list[str]:
    db = store_db.Database(url)
    try:
        with db.read() as s:
            return list(
                s.execute(
                    select(OutreachSendRow.message_id).where(
                        OutreachSendRow.state == "failed", OutreachSendRow.reason == REASON_UNKNOWN
                    )
                ).scalars()
            )
    finally:
        db.close()


def sent_ids(url: str) -> set[str]:
    db = store_db.Database(url)
    try:
        with db.read() as s:
            return set(
                s.execute(
                    select(OutreachSendRow.message_id).where(OutreachSendRow.state == "sent")
                ).scalars()
            )
    finally:
        db.close()


# ------------------------------------------------------------------------ the runs


def scheduler(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [RAPPORT, "--json", "outreach", "run", "--once"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def sustained(sink: Sink, expected: int, env: dict) -> dict:
    """One full run. Rate from the sink's side between the 5% and 95% marks (process start
    and the last batch's tail left out), and end to end including start-up."""
    sink.reset()
    t0 = time.perf_counter()
    proc = scheduler(env)
    marks: dict[float, float] = {}
    while proc.poll() is None:
        n = sink.count()
        for frac in (0.05, 0.95):
            if frac not in marks and n >= frac * expected:
                marks[frac] = time.perf_counter()
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"scheduler failed: {err}")
    received = sink.count()
    steady = (
        (0.9 * expected) / (marks[0.95] - marks[0.05]) * 60
        if 0.05 in marks and 0.95 in marks and marks[0.95] > marks[0.05]
        else None
    )
    return {
        "messages": received,
        "wall_s": round(wall, 2),
        "sends_per_min_end_to_end": round(received / wall * 60),
        "sends_per_min_sustained": round(steady) if steady else None,
        "duplicates": sum(n - 1 for n in Counter(sink.ids()).values() if n > 1),
    }


def crash(sink: Sink, expected: int, env: dict, url: str, kill_at: float) -> dict:
    """Kill -9 the scheduler once the sink has `kill_at` of the messages, run it again."""
    sink.reset()
    earlier = sent_ids(url)  # the sustained run's sends, not part of this run
    proc = scheduler(env)
    while sink.count() < kill_at * expected:
        if proc.poll() is not None:
            raise SystemExit("the scheduler finished before it could be killed")
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = sink.count()
    in_flight = send_states(url).get("sending", 0)
    t = time.perf_counter()
    second = scheduler(env)
    _, err = second.communicate()
    resume_s = time.perf_counter() - t
    if second.returncode != 0:
        raise SystemExit(f"the restarted scheduler failed: {err}")
    ids = sink.ids()
    counts = Counter(ids)
    unknown = unknown_outcomes(url)
    sent = sent_ids(url) - earlier
    return {
        "messages": expected,
        "killed_after_received": at_kill,
        "sending_rows_at_kill": in_flight,
        "received_total": len(ids),
        "distinct_received": len(counts),
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "recorded_sent_not_received": len(sent - set(counts)),
        "outcome_unknown_not_resent": len(unknown),
        "outcome_unknown_that_arrived": sum(1 for m in unknown if m in counts),
        "never_delivered": expected - len(counts),
        "restart_s": round(resume_s, 2),
        "final_states": send_states(url),
    }


def baseline(sink: Sink, n: int, data: bytes, *, reuse: bool) -> dict:
    """smtplib alone: no store, no rendering, the same message every time."""
    sink.reset()
    t = time.perf_counter()
    if reuse:
        with smtplib.SMTP("127.0.0.1", sink.port) as client:
            for i in range(n):
                client.sendmail("talent@rapport.test", [f"p{i}@example.com"], data)
    else:
        for i in range(n):
            with smtplib.SMTP("127.0.0.1", sink.port) as client:
                client.sendmail("talent@rapport.test", [f"p{i}@example.com"], data)
    elapsed = time.perf_counter() - t
    return {"messages": n, "wall_s": round(elapsed, 2), "sends_per_min": round(n / elapsed * 60)}


def run(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="rapport-outreach-bench-"))
    home = work / "home"
    home.mkdir()
    url = args.database_url or f"sqlite:///{home / 'rapport.db'}"
    sink = Sink(work)
    try:
        env = env_for(home, url, sink, args.connections, args.batch)
        settings = Settings(
            home=home,
            database_url=url,
            outreach_from_address="talent@rapport.test",
            outreach_unsubscribe_url="https://rapport.test/u",
        )
        seed_s = prepare(home, url, args.people, env)
        console.print(f"seeded {args.people:,} people in {seed_s:.1f}s")

        enrolled = enrol_everyone(url, settings, "Bench: sustained")
        full = sustained(sink, enrolled, env)
        console.print(f"sustained run: {full}")

        enrolled_again = enrol_everyone(url, settings, "Bench: crash")
        killed = crash(sink, enrolled_again, env, url, args.kill_at)
        console.print(f"crash run: {killed}")

        sample = compose(
            MailSettings(from_address="talent@rapport.test"),
            to="p0@example.com",
            subject="Ana, a senior role that fits your Python work",
            body=INTRO.body.replace("{{ first_name }}", "Ana"),
            message_id="<baseline@rapport.test>",
            token="0" * 32,
        ).data
        n_base = max(200, args.people // 4)
        plain = baseline(sink, n_base, sample, reuse=True)
        fresh = baseline(sink, max(100, n_base // 4), sample, reuse=False)
    finally:
        sink.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "parameters": {
            "people": args.people,
            "steps": 1,
            "connections": args.connections,
            "batch": args.batch,
            "kill_at_fraction": args.kill_at,
            "database": "postgresql" if url.startswith("postgresql") else "sqlite",
            "message_bytes": len(sample),
        },
        "seed_s": round(seed_s, 1),
        "scheduler": full,
        "crash": killed,
        "baseline_smtplib_reused_connection": plain,
        "baseline_smtplib_connection_per_message": fresh,
    }


def table(r: dict) -> Table:
    t = Table(title="Outreach scheduler -> local SMTP sink (aiosmtpd, separate process)")
    for col in ("run", "messages", "sends/min", "duplicates", "notes"):
        t.add_column(col, justify="right" if col != "notes" else "left")
    s, c = r["scheduler"], r["crash"]
    t.add_row(
        f"scheduler ({r['parameters']['database']}, {r['parameters']['connections']} conn)",
        f"{s['messages']:,}",
        f"{s['sends_per_min_sustained'] or 0:,} sustained / "
        f"{s['sends_per_min_end_to_end']:,} end to end",
        str(s["duplicates"]),
        f"{s['wall_s']} s wall, process start included",
    )
    t.add_row(
        "kill -9 + restart",
        f"{c['distinct_received']:,}/{c['messages']:,}",
        "",
        str(c["duplicates"]),
        f"killed after {c['killed_after_received']:,}; {c['sending_rows_at_kill']} in flight; "
        f"{c['outcome_unknown_not_resent']} outcome-unknown (not resent); "
        f"restart took {c['restart_s']} s",
    )
    for name, key in (
        ("smtplib, reused connection", "baseline_smtplib_reused_connection"),
        ("smtplib, connection per message", "baseline_smtplib_connection_per_message"),
    ):
        b = r[key]
        t.add_row(name, f"{b['messages']:,}", f"{b['sends_per_min']:,}", "-", "no store")
    return t


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--sink":
        run_sink(int(sys.argv[2]), Path(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--kill-at", type=float, default=0.4, help="fraction received before kill")
    ap.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    ap.add_argument("--quick", action="store_true", help="a smoke run (CI): 1,000 people")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.quick:
        args.people = min(args.people, 1000)
    result = run(args)
    console.print(table(result))
    payload = {
        "benchmark": "outreach",
        "commit": git_commit(),
        "machine": machine(),
        "versions": versions("rapport", "aiosmtpd", "SQLAlchemy", "Jinja2", "psycopg"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "note": "2-core shared machine: the scheduler and the sink (and anything else running) "
        "share both cores, so figures vary run to run. Rates are counted by the sink.",
        "target": ">= 10,000 sends per minute; no duplicates after a kill -9 mid-run",
        **result,
    }
    name = "outreach_quick" if args.quick else "outreach"
    console.print(f"wrote {write(name, payload, args.out)}")


if __name__ == "__main__":
    main()
