"""`rapport outreach ...` against a real in-process server and a real local SMTP sink:
output, --json, exit codes, and the local scheduler verb."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rapport.cli.main import app
from rapport.cli.outreach import parse_delay
from rapport.core.domain import ConsentState
from rapport.core.outreach import Sequence, Step

SEQUENCE = {
    "name": "Platform engineers",
    "sender_name": "Dana at Rapport",
    "steps": [
        {"key": "intro", "subject": "Hello {{ first_name }}", "body_file": "intro.txt"},
        {
            "key": "nudge",
            "body": "Any thoughts, {{ first_name }}?",
            "delay": "3d",
            "condition": "if_no_reply",
        },
    ],
}


@pytest.fixture
def rapport(server, settings, admin_key, monkeypatch):
    """Runs the CLI; local verbs read the same store and sink through RAPPORT_* settings."""
    for key in list(os.environ):
        if key.startswith("RAPPORT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RAPPORT_HOME", str(settings.home))
    monkeypatch.setenv("RAPPORT_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("RAPPORT_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("RAPPORT_API_KEY", admin_key)
    monkeypatch.setenv("RAPPORT_OUTREACH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RAPPORT_OUTREACH_SMTP_PORT", str(settings.outreach_smtp_port))
    monkeypatch.setenv("RAPPORT_OUTREACH_FROM_ADDRESS", settings.outreach_from_address)
    monkeypatch.setenv("RAPPORT_OUTREACH_JOURNAL_DIR", str(settings.outreach_journal))
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, ["--server", server, *args])
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


def test_sequences_enrolment_preview_test_send_and_the_scheduler(rapport, tmp_path, person, sink):
    (tmp_path / "intro.txt").write_text("Hi {{ first_name }},\nwe build platforms.\n")
    path = tmp_path / "seq.json"
    path.write_text(json.dumps(SEQUENCE))
    created = json.loads(rapport("--json", "outreach", "sequences", "create", str(path)).stdout)
    assert [s["key"] for s in created["steps"]] == ["intro", "nudge"]
    assert created["steps"][1]["delay"] == "259200s"
    seq = created["id"]

    shown = rapport("outreach", "sequences", "get", seq).stdout
    assert "intro" in shown and "3d" in shown and "if_no_reply" in shown
    listed = json.loads(rapport("--json", "outreach", "sequences", "list").stdout)
    assert [s["name"] for s in listed["sequences"]] == ["Platform engineers"]
    assert "Sequences" in rapport("outreach", "sequences", "list").stdout

    ana = person("Ana")
    ben = person("Ben", consent_state=ConsentState.UNKNOWN)
    enrolled = rapport("outreach", "enrol", seq, "--candidate", ana, "--candidate", ben).stdout
    assert "enrolled 1, not enrolled 1" in enrolled
    assert "no_consent" in enrolled

    preview = rapport("outreach", "preview", seq, "--candidate", ana).stdout
    assert "Hi Ana," in preview and "List-Unsubscribe-Post" in preview

    rapport("outreach", "test-send", seq, "--to", "dana@example.org", "--candidate", ana)
    assert [r.rcpt_tos for r in sink.received] == [["dana@example.org"]]

    ran = json.loads(rapport("--json", "outreach", "run", "--once").stdout)
    assert (ran["sent"], ran["claimed"]) == (1, 1)
    got = sink.received[-1]
    assert got.message["From"] == "Dana at Rapport <talent@rapport.test>"
    assert got.body() == "Hi Ana,\nwe build platforms.\n"

    listed = json.loads(
        rapport("--json", "outreach", "enrolments", "--sequence", seq, "--sends").stdout
    )
    [row] = listed["enrolments"]
    assert (row["next_step_key"], row["sends"][0]["state"]) == ("nudge", "sent")

    eml = tmp_path / "reply.eml"
    eml.write_bytes(
        b"From: Ana <" + got.rcpt_tos[0].encode() + b">\r\n"
        b"To: talent@rapport.test\r\n"
        b"Subject: Re: Hello Ana\r\n"
        b"Message-ID: <reply-cli@example.com>\r\n"
        b"In-Reply-To: " + got.message["Message-ID"].encode() + b"\r\n\r\nYes, let's talk.\r\n"
    )
    answered = " ".join(rapport("outreach", "reply", str(eml)).stdout.split())
    assert "matched by in_reply_to; sequence stopped" in answered
    assert "already recorded" in rapport("outreach", "reply", str(eml)).stdout


def test_errors_exit_non_zero_with_the_status_and_the_field(rapport, tmp_path):
    looped = dict(
        SEQUENCE,
        steps=[
            {"key": "a", "subject": "Hi", "body": "x", "next": "b"},
            {"key": "b", "body": "y", "next": "a"},
        ],
    )
    path = tmp_path / "loop.json"
    path.write_text(json.dumps(looped))
    failed = rapport("outreach", "sequences", "create", str(path), code=1)
    assert failed.stderr.startswith("INVALID_ARGUMENT")
    assert "sequence.steps[1].next_key: the steps form a cycle: a -> b -> a" in failed.stderr

    path.write_text(
        json.dumps(dict(SEQUENCE, steps=[{"subject": "x", "body": "y", "delay": "-2h"}]))
    )
    negative = rapport("outreach", "sequences", "create", str(path), code=1)
    assert "sequence.steps[0].delay: must not be negative" in negative.stderr

    path.write_text(json.dumps(dict(SEQUENCE, colour="blue")))
    assert (
        "unknown sequence keys"
        in rapport("outreach", "sequences", "create", str(path), code=2).stderr
    )
    missing = rapport(
        "outreach", "enrol", "01a2f000-0000-7000-8000-00000000dead", "--candidate", "x", code=1
    )
    assert missing.stderr.startswith("NOT_FOUND")


def test_triggers_from_files(rapport, tmp_path):
    path = tmp_path / "seq.json"
    (tmp_path / "intro.txt").write_text("Hi")
    path.write_text(json.dumps(SEQUENCE))
    seq = json.loads(rapport("--json", "outreach", "sequences", "create", str(path)).stdout)["id"]
    trigger = tmp_path / "trigger.json"
    trigger.write_text(
        json.dumps(
            {
                "name": "Whitepaper readers",
                "on_event": {"kind": "content_downloaded", "payload": {"content_id": "wp-1"}},
                "actions": {"add_tag": "wp-reader", "enrol": seq},
            }
        )
    )
    rapport("outreach", "triggers", "create", str(trigger))
    dormant = tmp_path / "dormant.json"
    dormant.write_text(
        json.dumps(
            {
                "name": "Check in",
                "dormant": {"days": 180},
                "actions": {"enrol": seq},
            }
        )
    )
    rapport("outreach", "triggers", "create", str(dormant))
    listed = json.loads(rapport("--json", "outreach", "triggers", "list").stdout)["triggers"]
    assert listed[0]["on_event"] == {
        "event_kind": "content_downloaded",
        "payload_equals": {"content_id": "wp-1"},
    }
    assert listed[0]["actions"] == {"add_tag": "wp-reader", "enrol_sequence_id": seq}
    assert listed[1]["dormant"] == {"dormant_days": 180}
    assert "Triggers" in rapport("outreach", "triggers", "list").stdout


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (0, 0.0),
        ("90s", 90.0),
        ("12h", 43200.0),
        ("1d12h", 129600.0),
        ("2w", 1209600.0),
        ("3600", 3600.0),
        ("-1d", -86400.0),
        ("0.5m", 30.0),
    ],
)
def test_delays_read_as_people_write_them(text, seconds):
    assert parse_delay(text) == seconds


def test_the_inbox_verb_records_replies_until_sigterm(db, settings, person, sink, free_port):
    from rapport.services.outreach.scheduler import Scheduler
    from rapport.services.outreach.use_cases import OutreachUseCases

    outreach = OutreachUseCases(db, settings)
    seq = outreach.create_sequence(
        Sequence(
            name="Two",
            steps=(
                Step(subject="Hi", body="Hi {{ first_name }}"),
                Step(body="Any news?", delay_s=86400),
            ),
        )
    )
    ana = person("Ana")
    outreach.enrol(seq.id, candidate_ids=[ana])
    scheduler = Scheduler(db, settings)
    try:
        scheduler.run(once=True)
    finally:
        scheduler.close()
    ours = sink.received[0].message["Message-ID"]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")} | {
        "RAPPORT_HOME": str(settings.home),
        "RAPPORT_DATABASE_URL": settings.effective_database_url,
        "RAPPORT_LOG_LEVEL": "WARNING",
        "RAPPORT_OUTREACH_FROM_ADDRESS": settings.outreach_from_address,
    }
    rapport = str(Path(sys.executable).with_name("rapport"))
    proc = subprocess.Popen(
        [rapport, "outreach", "inbox", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == f"inbox listening on 127.0.0.1:{port}"
        msg = EmailMessage()
        msg["From"], msg["To"] = sink.received[0].rcpt_tos[0], "talent@rapport.test"
        msg["Subject"], msg["Message-ID"], msg["In-Reply-To"] = "Re: Hi", "<r@x.test>", ours
        msg.set_content("Sounds good.")
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.send_message(msg)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    listed = outreach.list_enrolments(candidate_id=ana).items
    assert [(e.state, e.stop_reason) for e in listed] == [("stopped", "replied")]


def test_the_example_sequence_is_valid_and_renders(rapport, person):
    example = Path(__file__).resolve().parents[3] / "examples" / "outreach" / "backend-nurture.json"
    created = json.loads(rapport("--json", "outreach", "sequences", "create", str(example)).stdout)
    assert [s["key"] for s in created["steps"]] == ["intro", "nudge", "last"]
    ana = person("Ana", company="Initech")
    shown = json.loads(
        rapport("--json", "outreach", "preview", created["id"], "--candidate", ana).stdout
    )
    body = shown["message"]["body"]
    assert body.startswith("Hi Ana,") and "leaving Initech" in body and "{{" not in body
    assert shown["would_send"] is True
