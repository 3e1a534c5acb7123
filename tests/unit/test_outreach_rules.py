"""Outreach rules without a store or a network: what a sequence must be to be saved, how a
message is put together, and what a restarted scheduler makes of a dead one's journal."""

from __future__ import annotations

import email
import os
from email.policy import default as DEFAULT_POLICY

import pytest

from rapport.core.errors import ValidationFailed
from rapport.core.outreach import (
    MAX_DELAY_S,
    Sequence,
    Step,
    Trigger,
    normalise_sequence,
    normalise_trigger,
    payload_matches,
)
from rapport.services.outreach import journal
from rapport.services.outreach.mail import MailSettings, _stuffed, compose, plus_tag
from rapport.services.outreach.render import check_template
from rapport.services.outreach.scheduler import REASON_UNKNOWN, _reconciled

KNOWN_CONTENT = "01a2f000-0000-7000-8000-000000000001"


def save(*steps: Step, **kw) -> Sequence:
    return normalise_sequence(
        Sequence(name=kw.pop("name", "Seq"), steps=steps, **kw),
        check_template=check_template,
        content_exists=lambda cid: cid == KNOWN_CONTENT,
    )


def violations(*steps: Step, **kw) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as err:
        save(*steps, **kw)
    return {v.field: v.reason for v in err.value.violations}


def step(key: str, **kw) -> Step:
    kw.setdefault("body", "Hi {{ first_name }}")
    return Step(key=key, **kw)


def test_a_valid_sequence_gets_defaults_and_resolved_links():
    seq = save(
        Step(subject="Hello", body="Hi {{ first_name | default('friend') }}", next_key="c"),
        step("b", delay_s=3 * 86400, condition="not_opened", next_key="end"),
        step("c", condition="no_reply", next_key="b"),
        stop_on=("reply",),
    )
    assert [s.key for s in seq.steps] == ["step-1", "b", "c"]
    assert [s.next_position for s in seq.steps] == [2, -1, 1]  # step-1 -> c -> b -> end
    assert set(seq.stop_on) == {"reply", "unsubscribe"}  # unsubscribe is never optional
    assert all(s.channel == "email" for s in seq.steps)


def test_a_cycle_is_refused_naming_it():
    found = violations(step("a", subject="Hi"), step("b"), step("c", next_key="b"))
    assert found == {"sequence.steps[2].next_key": "the steps form a cycle: b -> c -> b"}
    assert (
        "cycle: a -> a"
        in violations(step("a", subject="Hi", next_key="a"))["sequence.steps[0].next_key"]
    )


def test_a_step_nothing_leads_to_is_refused():
    found = violations(step("a", subject="Hi", next_key="c"), step("b"), step("c"))
    assert found == {"sequence.steps[1]": "step 'b' is never reached from the first step"}


@pytest.mark.parametrize(
    ("delay", "reason"),
    [(-1, "must not be negative"), (MAX_DELAY_S + 1, "at most 365 days after the previous step")],
)
def test_impossible_delays_are_refused(delay, reason):
    found = violations(step("a", subject="Hi"), step("b", delay_s=delay))
    assert found == {"sequence.steps[1].delay": reason}


def test_templates_are_checked_at_save_with_their_location():
    found = violations(
        step("a", subject="Hi {{ frist_name }}", body="Hello,\n  {{ first_name.__class__ }}")
    )
    assert found["sequence.steps[0].subject"].startswith("line 1, column 7: unknown merge tag")
    assert found["sequence.steps[0].body"].startswith("line 2, column 16: attribute access")


def test_other_step_problems_are_all_reported():
    found = violations(
        step("a", body="x"),  # no subject on the first step
        Step(key="a", channel="sms", content_id="no-such-item"),
        Step(key="end", content_id=KNOWN_CONTENT, subject="and inline"),
        step("d", condition="sometimes", next_key="nowhere"),
    )
    assert found == {
        "sequence.steps[0].subject": "the first step needs a subject",
        "sequence.steps[1].key": "'a' is also step 0",
        "sequence.steps[1].channel": "'sms' is not delivered; one of ('email',)",
        "sequence.steps[1].content_id": "no such content item",
        "sequence.steps[2].key": "1-100 letters, digits, '_', '.' or '-', and not 'end'",
        "sequence.steps[2]": "either a content item or an inline subject and body",
        "sequence.steps[3].condition": "unknown; one of (always), not_opened, no_reply",
    }


def test_a_content_item_can_stand_for_the_template():
    seq = save(Step(key="intro", content_id=KNOWN_CONTENT))
    assert seq.steps[0].content_id == KNOWN_CONTENT


def test_the_first_step_cannot_wait_for_an_open():
    found = violations(step("a", subject="Hi", condition="not_opened"))
    assert found == {"sequence.steps[0].condition": "the first step has no earlier email to open"}


def test_triggers_are_checked():
    with pytest.raises(ValidationFailed) as err:
        normalise_trigger(Trigger(name="t", kind="event", event_kind="downloaded"))
    fields = {v.field for v in err.value.violations}
    assert fields == {"trigger.on_event.event_kind", "trigger.actions"}
    with pytest.raises(ValidationFailed) as err:
        normalise_trigger(Trigger(name="t", kind="dormant", dormant_days=0, add_tag="x"))
    fields = {v.field for v in err.value.violations}
    assert fields == {"trigger.dormant.dormant_days", "trigger.actions.enrol_sequence_id"}
    ok = normalise_trigger(
        Trigger(name=" wp ", kind="event", event_kind="content_downloaded", add_tag="wp")
    )
    assert (ok.name, ok.enabled) == ("wp", True)


def test_payload_matching_compares_text_and_list_members():
    payload = {"content_id": "wp-1", "topics": ["kubernetes", "go"], "n": 3}
    assert payload_matches(payload, [("content_id", "wp-1"), ("n", "3")])
    assert payload_matches(payload, [("topics", "go")])
    assert not payload_matches(payload, [("topics", "rust")])
    assert not payload_matches(payload, [("missing", "x")])


# ------------------------------------------------------------------------ messages

MAIL = MailSettings(
    from_address="talent@rapport.test",
    from_name="Rapport Talent",
    reply_address="replies@rapport.test",
    unsubscribe_url="https://rapport.test/u/",
)


def test_a_composed_message_parses_back_with_every_header():
    token = "ab" * 16
    composed = compose(
        MAIL,
        to="zoe@example.com",
        subject="Ein Job für Zoë",
        body="Hallo Zoë,\n.leading dot and = sign\n",
        message_id="<m2@rapport.test>",
        token=token,
        sender_name="Jörg from Rapport",
        thread=("<m1@rapport.test>",),
    )
    msg = email.message_from_bytes(composed.data, policy=DEFAULT_POLICY)
    assert msg["Subject"] == "Ein Job für Zoë"
    assert msg["From"].addresses[0].display_name == "Jörg from Rapport"
    assert msg["In-Reply-To"] == "<m1@rapport.test>"
    assert msg["Reply-To"] == f"replies+{token}@rapport.test"
    assert msg["List-Unsubscribe"] == (
        f"<mailto:unsubscribe+{token}@rapport.test?subject=unsubscribe>, "
        f"<https://rapport.test/u/{token}>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content().replace("\r\n", "\n") == "Hallo Zoë,\n.leading dot and = sign\n"
    assert all(len(line) <= 998 for line in composed.data.split(b"\r\n"))
    assert plus_tag(msg["Reply-To"]) == token


def test_data_is_dot_stuffed_with_crlf_line_ends():
    assert _stuffed(b"a\n.b\r\n..c\rd") == b"a\r\n..b\r\n...c\r\nd\r\n"


def test_a_newline_in_a_subject_cannot_inject_headers():
    composed = compose(
        MAIL,
        to="a@example.com",
        subject="Hi\r\nBcc: x@evil.test",
        body="x",
        message_id="<m@x>",
        token="0" * 32,
    )
    msg = email.message_from_bytes(composed.data, policy=DEFAULT_POLICY)
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Hi Bcc: x@evil.test"


# ------------------------------------------------------------------------ the journal


@pytest.mark.parametrize(
    ("stage", "reliable", "result"),
    [
        ("A", True, "sent"),
        ("T", True, "temporary"),
        ("X", True, "permanent"),
        ("D", True, "handed_over"),
        ("D", False, "handed_over"),
        ("P", True, "unknown"),
        ("S", True, "release"),
        ("", True, "release"),
        ("S", False, "unknown"),
        ("", False, "unknown"),
    ],
)
def test_what_a_restart_makes_of_each_journal_stage(stage, reliable, result):
    mark = journal.Mark(stage, 250 if stage in "ATX" and stage else 0) if stage else None
    got, reason = _reconciled(mark, reliable)
    assert got == result
    if result == "unknown":
        assert reason == REASON_UNKNOWN


def test_journal_lines_keep_the_furthest_stage_and_skip_a_torn_line():
    data = b"H w1 boot-1 42\nS 1\nP 1\nD 1\nA 1 250 1700000000.5\nS 2\nP 2\nS 3\nD 3\nA 4 2"
    worker, boot, marks = journal.parse(data)
    assert (worker, boot) == ("w1", "boot-1")
    assert {pk: m.stage for pk, m in marks.items()} == {1: "A", 2: "P", 3: "D"}
    assert marks[1].code == 250


def test_only_journals_of_dead_schedulers_are_orphans(tmp_path):
    alive = journal.Journal(tmp_path, "host:alive")
    alive.mark("S", 7)
    dead = tmp_path / "journal-host_dead.log"
    dead.write_text(f"H host:dead {journal.boot_id()} 1\nS 5\nD 5\n")
    other_boot = tmp_path / "journal-host_rebooted.log"
    other_boot.write_text("H host:rebooted some-earlier-boot 1\nS 6\n")

    found = {o.worker: o for o in journal.orphans(tmp_path)}

    assert set(found) == {"host:dead", "host:rebooted"}
    assert found["host:dead"].same_boot is True
    assert found["host:rebooted"].same_boot is False
    assert found["host:dead"].marks[5].stage == "D"
    assert journal.is_alive(tmp_path, "host:alive")
    assert not journal.is_alive(tmp_path, "host:gone")
    for orphan in found.values():
        orphan.release(remove=True)
    alive.close()
    assert os.listdir(tmp_path) == []
