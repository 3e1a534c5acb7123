"""How the CLI shows results: Rich tables for people, JSON on stdout for scripts."""

from __future__ import annotations

import json
import sys

from google.protobuf import json_format
from google.protobuf.message import Message
from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)


def as_dict(message: Message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def emit_json(data) -> None:
    if isinstance(data, Message):
        data = as_dict(data)
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def candidates_table(candidates, title: str = "") -> Table:
    table = Table(title=title or None, show_lines=False)
    for col in ("id", "name", "headline", "seniority", "location", "source", "top skills"):
        table.add_column(col, overflow="fold")
    for c in candidates:
        seniority = (
            c.DESCRIPTOR.fields_by_name["seniority"].enum_type.values_by_number[c.seniority].name
        )
        table.add_row(
            c.id[:8],
            f"{c.first_name} {c.last_name}".strip(),
            c.headline,
            seniority.removeprefix("SENIORITY_").lower().replace("unspecified", ""),
            ", ".join(x for x in (c.location.city, c.location.country) if x),
            c.source,
            ", ".join(s.skill_id for s in c.skills[:5]),
        )
    return table


def candidate_detail(c) -> Table:
    table = Table(show_header=False, title=f"{c.first_name} {c.last_name}".strip())
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    d = as_dict(c)
    for key in (
        "id",
        "external_id",
        "headline",
        "current_company",
        "seniority",
        "emails",
        "phones",
        "profile_urls",
        "location",
        "languages",
        "source",
        "tags",
        "consent_state",
        "engagement_band",
        "version",
        "merged_into",
        "created_at",
        "updated_at",
    ):
        if key in d:
            value = d[key]
            if isinstance(value, dict):
                value = ", ".join(str(v) for v in value.values() if v)
            elif isinstance(value, list):
                value = ", ".join(map(str, value))
            table.add_row(key, str(value))
    if c.skills:
        table.add_row(
            "skills",
            ", ".join(f"{s.label}" + (f" (L{s.level})" if s.level else "") for s in c.skills),
        )
    if c.summary:
        table.add_row("summary", c.summary)
    return table


def key_value_table(title: str, rows: dict) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for k, v in rows.items():
        table.add_row(str(k), str(v))
    return table
