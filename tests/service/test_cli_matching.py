"""`rapport rank|similar|roles|index` against a real in-process server (fake encoder)."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from rapport.cli.main import app

PEOPLE = [
    {
        "first_name": "Ana",
        "email": "ana@example.com",
        "headline": "Senior Backend Engineer",
        "seniority": "senior",
        "country": "DE",
        "timezone": "Europe/Berlin",
        "languages": ["en"],
        "skills": ["Python", "Kubernetes", "PostgreSQL"],
    },
    {
        "first_name": "Cai",
        "email": "cai@example.com",
        "headline": "Frontend Engineer",
        "seniority": "mid",
        "country": "US",
        "timezone": "America/New_York",
        "skills": ["JavaScript", "React"],
    },
]
ROLE = {
    "title": "Senior Backend Engineer",
    "description": "Python services on Kubernetes.",
    "required_skills": ["Python", "k8s", "Postgres"],
    "nice_to_have_skills": ["Kafka"],
    "seniority": ["senior", "lead"],
    "countries": ["DE"],
    "timezones": ["Europe/Berlin"],
    "languages": ["en"],
}


@pytest.fixture
def rapport(server, admin_key, monkeypatch):
    monkeypatch.setenv("RAPPORT_API_KEY", admin_key)
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, ["--server", server, *args])
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


@pytest.fixture
def seeded(rapport, tmp_path):
    ids = []
    for person in PEOPLE:
        path = tmp_path / f"{person['first_name']}.json"
        path.write_text(json.dumps(person))
        ids.append(json.loads(rapport("--json", "candidates", "add", str(path)).stdout)["id"])
    deadline = time.monotonic() + 30
    while True:
        status = json.loads(rapport("--json", "index", "status").stdout)
        if status.get("state") == "ready" and int(status.get("vectors", 0)) == len(ids):
            return ids
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def test_rank_json_shape_and_table(rapport, seeded, tmp_path):
    role = tmp_path / "role.json"
    role.write_text(json.dumps(ROLE))
    out = json.loads(rapport("--json", "rank", "--role", str(role), "--top", "5").stdout)
    assert set(out) >= {"results", "index_version", "encoder"}
    first = out["results"][0]
    assert set(first) >= {
        "candidate_id",
        "score",
        "components",
        "matched_skills",
        "missing_skills",
        "reason",
    }
    assert first["candidate_id"] == seeded[0]
    assert set(first["components"]) == {"semantic", "skills", "seniority", "location"}
    assert "Kubernetes" in first["matched_skills"]
    assert out["encoder"].startswith("fake-hashing")

    table = rapport("rank", "--role", str(role), "--top", "5").stdout
    assert "Ana" in table and "3/3 required" in table, table

    strict = json.loads(
        rapport("--json", "rank", "--role", str(role), "--strict", "location").stdout
    )
    assert [r["candidate_id"] for r in strict["results"]] == [seeded[0]]


def test_similar_roles_and_index(rapport, seeded, tmp_path):
    similar = json.loads(rapport("--json", "similar", seeded[0], "--top", "3").stdout)
    assert [r["candidate_id"] for r in similar["results"]] == [seeded[1]]

    role = tmp_path / "role.json"
    role.write_text(json.dumps(ROLE))
    created = json.loads(rapport("--json", "roles", "create", str(role)).stdout)
    listed = json.loads(rapport("--json", "roles", "list").stdout)
    assert [r["id"] for r in listed["roles"]] == [created["id"]]
    by_id = json.loads(rapport("--json", "rank", "--role-id", created["id"]).stdout)
    assert by_id["results"][0]["candidate_id"] == seeded[0]

    rebuilt = json.loads(rapport("--json", "index", "rebuild").stdout)
    assert rebuilt["state"] == "ready" and int(rebuilt["vectors"]) == 2


def test_bad_input_exit_codes(rapport, seeded, tmp_path):
    role = tmp_path / "role.json"
    role.write_text(json.dumps(ROLE))
    bad = rapport("rank", "--role", str(role), "--top", "0", code=1)
    assert "INVALID_ARGUMENT" in bad.stderr and "top_k" in bad.stderr
    missing = rapport("rank", "--role", str(role), "--pool", "no-such-pool", code=1)
    assert "NOT_FOUND" in missing.stderr
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    assert "INVALID_ARGUMENT" in rapport("rank", "--role", str(empty), code=1).stderr
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"title": "x", "skils": ["Python"]}))
    assert "unknown role keys" in rapport("rank", "--role", str(typo), code=2).stderr
