"""Find records that are probably the same person.

Exact: identities that differ only by formatting the store's normalisation keeps
(gmail dots and +tags, googlemail, LinkedIn country subdomains). Fuzzy: names that agree
(rapidfuzz) corroborated by company, location or profile URL; each pair carries a score
and the evidence behind it. Candidates are blocked on a name key so a scan stays near
linear.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

from rapidfuzz import fuzz
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rapport.core.domain import DuplicateEvidence, DuplicatePair
from rapport.core.errors import ValidationFailed, Violation
from rapport.core.store.candidates import ACTIVE, pk_for
from rapport.core.store.schema import CandidateRow

NAME_FLOOR = 0.85  # names must agree at least this much to be considered
CORROBORATION = 0.8  # some other signal must agree at least this much


@dataclass(frozen=True)
class _Light:
    pk: int
    id: str
    name: str
    company: str
    city: str
    country: str
    emails: tuple[str, ...]
    urls: tuple[str, ...]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower().strip()


def email_key(email: str) -> str:
    local, _, domain = email.lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def profile_key(url: str) -> str:
    rest = url.lower().split("://", 1)[-1]
    host, _, path = rest.partition("/")
    if host.endswith("linkedin.com"):
        host = "linkedin.com"
    return f"{host}/{path.strip('/')}"


def _block(c: _Light) -> str:
    parts = c.name.split()
    return f"{parts[-1]}|{parts[0][:1]}" if parts else ""


def _light(session: Session, where) -> list[_Light]:
    cols = (
        CandidateRow.pk,
        CandidateRow.id,
        CandidateRow.first_name,
        CandidateRow.last_name,
        CandidateRow.current_company,
        CandidateRow.city,
        CandidateRow.country,
        CandidateRow.contacts,  # opened by the column type
    )
    out = []
    for pk, cid, first, last, company, city, country, contacts in session.execute(
        select(*cols).where(CandidateRow.status == ACTIVE, *where)
    ):
        out.append(
            _Light(
                pk,
                cid,
                _fold(f"{first} {last}"),
                _fold(company),
                _fold(city),
                country,
                tuple(contacts.emails),
                tuple(contacts.profile_urls),
            )
        )
    return out


def compare(a: _Light, b: _Light) -> DuplicatePair | None:
    evidence: list[DuplicateEvidence] = []
    a_emails = {email_key(e): e for e in a.emails}
    for e in b.emails:
        if email_key(e) in a_emails:
            evidence.append(DuplicateEvidence("email", a_emails[email_key(e)], e, 1.0))
    a_urls = {profile_key(u): u for u in a.urls}
    for u in b.urls:
        if profile_key(u) in a_urls:
            evidence.append(DuplicateEvidence("profile_url", a_urls[profile_key(u)], u, 1.0))
    if evidence:
        return DuplicatePair(a.id, b.id, 1.0, True, tuple(evidence))
    if not a.name or not b.name:
        return None
    name = fuzz.token_sort_ratio(a.name, b.name) / 100
    if name < NAME_FLOOR:
        return None
    evidence.append(DuplicateEvidence("name", a.name, b.name, name))
    if a.company and b.company:
        sim = fuzz.token_set_ratio(a.company, b.company) / 100
        if sim >= CORROBORATION:
            evidence.append(DuplicateEvidence("company", a.company, b.company, sim))
    if a.city and a.city == b.city and a.country == b.country:
        evidence.append(
            DuplicateEvidence("location", f"{a.city}, {a.country}", f"{b.city}, {b.country}", 1.0)
        )
    best_url = max(
        (fuzz.ratio(profile_key(x), profile_key(y)) / 100 for x in a.urls for y in b.urls),
        default=0.0,
    )
    if best_url >= CORROBORATION:
        evidence.append(DuplicateEvidence("profile_url", a.urls[0], b.urls[0], best_url))
    support = [e.similarity for e in evidence[1:]]
    if not support:
        return None
    score = name * (0.6 + 0.4 * max(support)) + 0.05 * (len(support) - 1)
    return DuplicatePair(a.id, b.id, round(min(score, 0.99), 4), False, tuple(evidence))


def find(
    session: Session, candidate_id: str = "", min_score: float = 0.85, limit: int = 100
) -> list[DuplicatePair]:
    if not 0 <= min_score <= 1:
        raise ValidationFailed(Violation("min_score", "between 0 and 1"))
    if not 0 <= limit <= 10_000:
        raise ValidationFailed(Violation("limit", "between 0 and 10000"))
    min_score, limit = min_score or 0.85, limit or 100
    pairs: list[DuplicatePair] = []
    if candidate_id:
        pk = pk_for(session, candidate_id)
        (me,) = _light(session, [CandidateRow.pk == pk])
        parts = me.name.split()
        if not parts:
            return []
        others = _light(
            session,
            [
                CandidateRow.pk != pk,
                or_(
                    func.lower(CandidateRow.last_name) == parts[-1],
                    func.lower(CandidateRow.first_name) == parts[-1],
                ),
            ],
        )
        for other in others:
            hit = compare(me, other)
            if hit and hit.score >= min_score:
                pairs.append(hit)
    else:
        everyone = _light(session, [])
        groups: dict[str, list[_Light]] = defaultdict(list)
        for c in everyone:
            groups[_block(c)].append(c)
            for e in c.emails:
                groups["e:" + email_key(e)].append(c)
            for u in c.urls:
                groups["u:" + profile_key(u)].append(c)
        seen = set()
        for members in groups.values():
            if len(members) < 2 or len(members) > 200:
                continue
            for a, b in combinations(members, 2):
                key = (min(a.pk, b.pk), max(a.pk, b.pk))
                if a.pk == b.pk or key in seen:
                    continue
                seen.add(key)
                hit = compare(a, b) if a.pk < b.pk else compare(b, a)
                if hit and hit.score >= min_score:
                    pairs.append(hit)
    pairs.sort(key=lambda p: (-p.score, p.left_id, p.right_id))
    return pairs[:limit]
