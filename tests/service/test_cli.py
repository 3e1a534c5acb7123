"""The `rapport` CLI against a real in-process server: output, --json and exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rapport.cli.main import app


@pytest.fixture
def rapport(server, admin_key, monkeypatch):
    monkeypatch.setenv("RAPPORT_API_KEY", admin_key)
    runner = CliRunner()

    def run(*args: str, code: int = 0, stdin: str | None = None):
        result = runner.invoke(app, ["--server", server, *args], input=stdin)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


def as_json(result) -> dict:
    return json.loads(result.stdout)


def test_add_get_list_and_errors(rapport, tmp_path):
    person = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@example.org",
        "phone": "+1 202 555 0147",
        "country": "US",
        "timezone": "America/New_York",
        "seniority": "principal",
        "skills": ["COBOL", {"name": "k8s", "level": 3}],
    }
    path = tmp_path / "grace.json"
    path.write_text(json.dumps(person))
    created = as_json(rapport("--json", "candidates", "add", str(path)))
    assert created["emails"] == ["grace@example.org"]
    assert {s["skill_id"] for s in created["skills"]} == {"cobol", "kubernetes"}

    got = as_json(rapport("--json", "candidates", "get", created["id"]))
    assert got["id"] == created["id"]
    shown = rapport("candidates", "get", created["id"])
    assert "Grace Hopper" in shown.stdout

    listed = as_json(
        rapport(
            "--json",
            "candidates",
            "list",
            "--filter",
            "seniority:gte=lead",
            "--filter",
            "skill=kubernetes",
        )
    )
    assert [c["id"] for c in listed["candidates"]] == [created["id"]]

    bad = rapport(
        "candidates", "add", "-", code=1, stdin=json.dumps({"first_name": "X", "email": "nope"})
    )
    assert bad.stderr.startswith("INVALID_ARGUMENT")
    assert "emails[0]" in bad.stderr
    missing = rapport("candidates", "get", "00000000-0000-4000-8000-000000000000", code=1)
    assert missing.stderr.startswith("NOT_FOUND")
    stale = rapport(
        "candidates",
        "update",
        created["id"],
        "-",
        "--expected-version",
        "7",
        code=1,
        stdin=json.dumps({"headline": "x"}),
    )
    assert stale.stderr.startswith("ABORTED")


def test_import_twice_duplicates_merge_unmerge(rapport, tmp_path):
    csv = tmp_path / "people.csv"
    csv.write_text(
        "external_id,first_name,last_name,email,phone,headline,country,timezone,languages,skills,"
        "source,linkedin\n"
        "a-1,Ada,Lovelace,ada@example.com,,Engineer,GB,Europe/London,en,Python;SQL,referral,"
        "https://linkedin.com/in/ada\n"
        "a-2,Ada,Lovelace,ada.lovelace@work.example,,Engineer,GB,Europe/London,en,Python,event,"
        "https://uk.linkedin.com/in/ada/\n"
        "a-3,Bad,Row,not-an-email,,,GB,Europe/London,,,,\n"
    )
    first = as_json(rapport("--json", "candidates", "import", str(csv), "--format", "csv"))
    assert first["summary"]["created"] == "2" and first["summary"]["failed"] == "1"
    again = rapport("candidates", "import", str(csv), "--format", "csv")
    assert "unchanged" in again.stdout and "not-an-email" not in again.stdout

    pairs = as_json(rapport("--json", "candidates", "duplicates"))["pairs"]
    assert len(pairs) == 1 and pairs[0]["exact"]
    left, right = pairs[0]["left_id"], pairs[0]["right_id"]
    merged = as_json(rapport("--json", "candidates", "merge", left, right, "--reason", "dupe"))
    assert len(merged["survivor"]["emails"]) == 2
    restored = as_json(rapport("--json", "candidates", "unmerge", merged["merge_id"]))
    assert restored["restored"]["id"] == right


def test_pools_segments_timeline_watch(rapport, tmp_path):
    ids = []
    for i, country in enumerate(["DE", "DE", "FR"]):
        c = as_json(
            rapport(
                "--json",
                "candidates",
                "add",
                "-",
                stdin=json.dumps(
                    {
                        "first_name": f"P{i}",
                        "last_name": "Test",
                        "email": f"p{i}@example.com",
                        "country": country,
                        "skills": ["Go"],
                    }
                ),
            )
        )
        ids.append(c["id"])
    pool = as_json(rapport("--json", "pools", "create", "Go engineers"))
    added = as_json(rapport("--json", "pools", "add", pool["id"], *ids[:2], "--stage", "contacted"))
    assert added["added"] == 2
    members = as_json(rapport("--json", "pools", "members", pool["id"]))["members"]
    assert {m["stage"] for m in members} == {"contacted"}
    assert "Go engineers" in rapport("pools", "list").stdout

    seg = as_json(
        rapport(
            "--json",
            "segments",
            "create",
            "German Go",
            "--filter",
            "country=DE",
            "--filter",
            "skill=golang",
        )
    )
    preview = as_json(rapport("--json", "segments", "preview", seg["id"]))
    assert int(preview["count"]) == 2
    assert "German Go" in rapport("segments", "list").stdout
    bad = rapport("segments", "preview", "--filter", "shoe=42", code=1)
    assert "rule.conditions[0].field" in bad.stderr

    rapport("candidates", "event", ids[0], "--kind", "note", "--note", "Met at PyCon")
    timeline = as_json(rapport("--json", "candidates", "timeline", ids[0]))
    assert [e["kind"] for e in timeline["events"]] == ["note", "stage_changed"]

    watched = rapport("--json", "watch", "--since", "0", "--limit", "3")
    ops = [json.loads(line)["op"] for line in watched.stdout.splitlines()]
    assert ops == ["created", "created", "created"]


def test_local_verbs_upgrade_and_seed(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    runner = CliRunner()
    up = runner.invoke(app, ["--json", "db", "upgrade"])
    assert up.exit_code == 0, up.stdout
    seeded = runner.invoke(app, ["--json", "seed", "--candidates", "150", "--seed", "3"])
    assert seeded.exit_code == 0, seeded.stdout
    counts = json.loads(seeded.stdout)
    assert counts["created"] == 150 and counts["events"] > 150
    again = json.loads(
        runner.invoke(app, ["--json", "seed", "--candidates", "150", "--seed", "3"]).stdout
    )
    assert again["unchanged"] == 150 and again["events"] == 0
    explain = runner.invoke(app, ["seed", "--explain"])
    assert explain.exit_code == 0 and "referral" in explain.stdout.lower()
