"""Merge tags: refused at save time with their location, rendered with fallbacks."""

from __future__ import annotations

import pytest

from rapport.core.domain import Candidate, SkillClaim
from rapport.core.errors import ValidationFailed
from rapport.core.templating import (
    MERGE_TAGS,
    render,
    template_names,
    validate_fallbacks,
    validate_template,
)


def reasons(text: str, **kw) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        validate_template(text, **kw)
    return [f"{v.field}: {v.reason}" for v in info.value.violations]


def test_an_unknown_merge_tag_is_refused_with_its_line_and_column():
    (reason,) = reasons("Hello,\n\nthanks {{ frist_name }}!", field="item.body")
    assert reason.startswith("item.body: line 3, column 11: unknown merge tag 'frist_name'")
    assert "first_name" in reason  # the vocabulary is named, so the typo is easy to fix


def test_every_unknown_tag_is_reported_in_order():
    found = reasons("{{ a }} {{ first_name }}\n{{ b }}")
    assert [r.split(": ")[1] for r in found] == ["line 1, column 4", "line 2, column 4"]


@pytest.mark.parametrize(
    ("text", "why", "where"),
    [
        ("{{ first_name.__class__ }}", "attribute access", "line 1, column 14"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "function calls", "line 1"),
        ("{{ cycler() }}", "function calls", "line 1, column 4"),
        ("{% set x = 1 %}{{ x }}", "set is not allowed", "line 1"),
        ("{% include 'other.html' %}", "include is not allowed", "line 1"),
        ("{% macro m() %}x{% endmacro %}", "macros are not allowed", "line 1"),
        ("{{ first_name | attr('upper') }}", "filter 'attr' is not allowed", "line 1, column 17"),
        ("{{ 9 ** 999999 }}", "not allowed", "line 1"),
        ("{{ skills[first_name] }}", "constant integer indexes", "line 1, column 10"),
    ],
)
def test_unsafe_expressions_are_refused(text, why, where):
    found = reasons(text)
    assert any(why in r and where in r for r in found), found


def test_a_syntax_error_names_its_location():
    (reason,) = reasons("line one\nHi {{ first_name }")
    assert "line 2, column 4: template syntax error" in reason
    (reason,) = reasons("x {{ first_name !! }}")
    assert "line 1, column 17" in reason


def test_plain_merge_tag_templates_pass():
    text = (
        "Hi {{ first_name | default('there') }},\n"
        "{% if top_skill %}Your {{ top_skill | lower }} work{% endif %}\n"
        "{% for s in skills %}{{ loop.index }}. {{ s }}{% endfor %}"
    )
    validate_template(text)
    assert template_names(text) >= {"first_name", "top_skill", "skills"}


def test_callers_may_allow_their_own_names():
    reasons("{{ step_number }}")
    validate_template("{{ step_number }}", allowed={"step_number"})


def test_a_missing_value_renders_its_fallback_never_the_tag_or_nothing():
    nameless = Candidate(first_name="", last_name="")
    assert render("Hi {{ first_name }},", nameless) == "Hi there,"
    assert render("Hi {{first_name}},", nameless) == "Hi there,"
    assert render("Hi {{ first_name }},", {"first_name": "   "}) == "Hi there,"
    assert render("Hi {{ first_name | upper }},", nameless) == "Hi THERE,"


def test_fallbacks_in_order_template_default_item_map_vocabulary():
    nameless = Candidate()
    assert render("Hi {{ first_name | default('friend') }}", nameless) == "Hi friend"
    assert render("Hi {{ first_name }}", nameless, fallbacks={"first_name": "Sam"}) == "Hi Sam"
    assert render("At {{ current_company }}", nameless) == (
        "At " + MERGE_TAGS["current_company"].fallback
    )
    # A present value wins over every fallback.
    ana = Candidate(first_name="Ana")
    assert render("Hi {{ first_name | default('friend') }}", ana, fallbacks={"x": 1}) == "Hi Ana"


def test_values_come_from_the_candidate_and_extra():
    ana = Candidate(
        first_name="Ana",
        last_name="Lima",
        skills=[SkillClaim("python", "Python"), SkillClaim("sql", "SQL")],
    )
    out = render(
        "{{ full_name }}: {{ top_skills }} for {{ role_title }} ({{ unsubscribe_url }})",
        ana,
        extra={"role_title": "Data Engineer", "unsubscribe_url": "https://u.example/x"},
    )
    assert out == "Ana Lima: Python, SQL for Data Engineer (https://u.example/x)"


def test_html_rendering_escapes_values():
    out = render("<p>Hi {{ first_name }}</p>", {"first_name": "<script>x</script>"}, html=True)
    assert out == "<p>Hi &lt;script&gt;x&lt;/script&gt;</p>"


def test_render_refuses_what_validation_refuses():
    with pytest.raises(ValidationFailed, match="unknown merge tag 'nope'"):
        render("{{ nope }}", Candidate())


def test_fallbacks_must_be_known_tags_with_plain_text():
    assert validate_fallbacks({"first_name": "  colleague "}) == {"first_name": "colleague"}
    with pytest.raises(ValidationFailed) as info:
        validate_fallbacks({"nope": "x", "first_name": "", "city": "{{ city }}"})
    fields = sorted(v.field for v in info.value.violations)
    assert fields == ["fallbacks.city", "fallbacks.first_name", "fallbacks.nope"]
