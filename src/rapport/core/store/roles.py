"""Stored roles (jobs), so a ranking can name a role by id and be repeated."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.core.domain import Page, Role, Seniority
from rapport.core.errors import NotFound
from rapport.core.ids import uuid7
from rapport.core.roles import validate_role
from rapport.core.store import audit, paging
from rapport.core.store.schema import RoleRow


def _spec(role: Role) -> dict:
    return {
        "required_skills": list(role.required_skills),
        "nice_to_have_skills": list(role.nice_to_have_skills),
        "min_seniority": role.min_seniority.value,
        "max_seniority": role.max_seniority.value,
        "countries": list(role.countries),
        "timezones": list(role.timezones),
        "timezone_window": list(role.timezone_window) if role.timezone_window else None,
        "languages": list(role.languages),
    }


def _to_domain(row: RoleRow) -> Role:
    spec = row.spec or {}
    window = spec.get("timezone_window")
    return Role(
        id=row.id,
        title=row.title,
        description=row.description,
        required_skills=tuple(spec.get("required_skills", ())),
        nice_to_have_skills=tuple(spec.get("nice_to_have_skills", ())),
        min_seniority=Seniority(spec.get("min_seniority", "")),
        max_seniority=Seniority(spec.get("max_seniority", "")),
        countries=tuple(spec.get("countries", ())),
        timezones=tuple(spec.get("timezones", ())),
        timezone_window=(float(window[0]), float(window[1])) if window else None,
        languages=tuple(spec.get("languages", ())),
        created_at=row.created_at,
    )


def create(session: Session, role: Role) -> Role:
    role = validate_role(role)
    row = RoleRow(
        id=uuid7(),
        title=role.title,
        description=role.description,
        spec=_spec(role),
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    audit.record(session, "role.create", [row.id], target_type="role")
    return _to_domain(row)


def get(session: Session, role_id: str) -> Role:
    row = session.execute(select(RoleRow).where(RoleRow.id == role_id)).scalar_one_or_none()
    if row is None:
        raise NotFound("role", role_id)
    return _to_domain(row)


def list_page(session: Session, size: int, token: str) -> Page:
    """Roles newest first; the token continues below the last primary key returned."""
    before = paging.decode(token)
    query = select(RoleRow).order_by(RoleRow.pk.desc()).limit(size + 1)
    if before:
        query = query.where(RoleRow.pk < before)
    rows = list(session.execute(query).scalars())
    more = len(rows) > size
    rows = rows[:size]
    next_token = paging.encode(rows[-1].pk) if more and rows else ""
    return Page([_to_domain(r) for r in rows], next_token)
