"""`--filter FIELD[:OP]=V1,V2` options to rule conditions (the vocabulary lives in
rapport.core.store.rules; the server validates)."""

from __future__ import annotations

import typer

from rapport.v1 import common_pb2

DEFAULT_OPS = {"last_contacted_days": "within", "reached_final_round": "is"}


def parse_filters(items: list[str] | None) -> common_pb2.Rule:
    conditions = []
    for item in items or []:
        left, sep, right = item.partition("=")
        if not sep or not left or not right:
            raise typer.BadParameter(
                f"{item!r}: expected FIELD[:OP]=VALUE[,VALUE...]", param_hint="--filter"
            )
        field, _, op = left.partition(":")
        values = [v.strip() for v in right.split(",") if v.strip()]
        conditions.append(
            common_pb2.Condition(
                field=field.strip(),
                op=op.strip() or DEFAULT_OPS.get(field.strip(), "in"),
                values=values,
            )
        )
    return common_pb2.Rule(conditions=conditions)
