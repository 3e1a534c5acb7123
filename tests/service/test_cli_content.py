"""`rapport content add|list|next` and `rapport outcome` against a real in-process server."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from rapport.cli.main import app
from rapport.core.config import Settings
from rapport.core.domain import ConsentState
from rapport.core.store import consent

ITEMS = [
    {
        "kind": "article",
        "title": "Python at scale",
        "subject": "Hi {{ first_name }}, a read for you",
        "body": "Hi {{ first_name }},\n\n{{ content_title }}: {{ content_url }}",
        "url": "https://example.com/python",
        "topics": ["Python", "backend"],
        "audience": ["country=DE"],
    },
    {
        "kind": "event_invite",
        "title": "Kubernetes meetup",
        "body": "Join us, {{ full_name }}!",
        "locale": "en",
        "active_until": "2099-01-01T00:00:00Z",
    },
]


@pytest.fixture
def settings(settings):
    """No quiet hours: `content next` decides "now", whenever the test runs."""
    return Settings(**settings.model_dump() | {"content_quiet_hours": ""})


@pytest.fixture
def rapport(server, admin_key, monkeypatch):
    monkeypatch.setenv("RAPPORT_API_KEY", admin_key)
    runner = CliRunner()

    def run(*args: str, code: int = 0, stdin: str | None = None):
        result = runner.invoke(app, ["--server", server, *args], input=stdin)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


def wait_embedded(rapport) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = json.loads(rapport("--json", "content", "list").stdout)["items"]
        if items and all(i.get("embedding_encoder") for i in items):
            return
        time.sleep(0.1)
    raise AssertionError("content was never embedded")


def test_add_list_next_and_outcome(rapport, tmp_path, db):
    path = tmp_path / "items.json"
    path.write_text(json.dumps(ITEMS))
    added = json.loads(rapport("--json", "content", "add", str(path)).stdout)
    assert [a["kind"] for a in added] == ["article", "event_invite"]
    wait_embedded(rapport)
    listed = json.loads(rapport("--json", "content", "list", "--kind", "article").stdout)
    (article,) = listed["items"]
    assert article["audience"]["conditions"] == [{"field": "country", "op": "in", "values": ["DE"]}]
    assert "Content" in rapport("content", "list").stdout

    person = {"first_name": "Ana", "email": "ana@example.com", "country": "DE"}
    cid = json.loads(rapport("--json", "candidates", "add", "-", stdin=json.dumps(person)).stdout)[
        "id"
    ]
    blocked = json.loads(rapport("--json", "content", "next", cid).stdout)
    assert not blocked["send"] and blocked["no_send"] == "no_consent"
    with db.transaction() as s:
        consent.set_state(s, cid, ConsentState.GRANTED)

    chosen = json.loads(rapport("--json", "content", "next", cid, "--channel", "email").stdout)
    assert chosen["send"] and chosen["eligible_count"] == 2
    assert chosen["preview"]["body"] in (
        "Join us, Ana!",
        f"Hi Ana,\n\nPython at scale: {ITEMS[0]['url']}",
    )
    assert sum(a["propensity"] for a in chosen["alternatives"]) == pytest.approx(1.0, abs=1e-5)

    shown = rapport("outcome", chosen["decision_id"], "delivered", "--key", "evt-1").stdout
    assert "recorded delivered" in shown
    again = rapport("outcome", chosen["decision_id"], "delivered", "--key", "evt-1", code=1)
    assert again.stderr.startswith("ALREADY_EXISTS")
    other = next(a for a in added if a["id"] != chosen["content_id"])
    clicked = json.loads(
        rapport("--json", "outcome", "--candidate", cid, "--content", other["id"], "clicked").stdout
    )
    assert clicked["kind"] == "clicked" and not clicked.get("decision_id")

    pretty = rapport("content", "next", cid, "--dry-run").stdout
    assert "dry run" in pretty or "send nothing" in pretty


def test_bad_template_and_bad_kind_exit_non_zero(rapport, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "article", "title": "x", "body": "Hi\n{{ nme }}"}))
    result = rapport("content", "add", str(bad), code=1)
    assert result.stderr.startswith("INVALID_ARGUMENT")
    assert "item.body: line 2, column 4: unknown merge tag 'nme'" in result.stderr
    rapport("content", "list", "--kind", "podcast", code=2)
    rapport("outcome", "some-id", "exploded", code=2)
