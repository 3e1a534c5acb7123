"""The one authorization table (DESIGN §9): every RPC -> a permission, every role -> the
permissions it holds. The call interceptor checks it before any handler runs; the use
cases apply what a permission alone cannot say (scopes, field masking) through the helpers
below, reading the principal from the request context.

An RPC missing from `RPC_PERMISSIONS` is denied to everyone (fail closed), and a test
enumerates every RPC the server exposes and fails if one is missing here.

Scopes. Pools carry no team and are not linked to roles (jobs) in the store yet, so:
- hiring_manager keys list the pools they may see as "pool:<id>" scopes (the pools of the
  roles they own); they see only candidates that are members of those pools, only those
  pools, read-only, without contact details. "role:<id>" scopes name the roles they own:
  GetRole / ListRoles show only those. (Once pools record their role, the pool scope can
  be derived from the role scope; until then `rapport keys create` takes both.)
- recruiter keys carry a team: a pool records the team of the key that created it, and a
  recruiter with a team sees (lists, reads, adds to) only its team's pools and shared ones
  (created by keys without a team). Candidates themselves are not team-scoped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from rapport.core import context
from rapport.core.domain import Condition, Rule
from rapport.core.errors import NotFound
from rapport.core.store import audit, pools

_C = "rapport.v1.CandidateService"
_M = "rapport.v1.MatchingService"
_E = "rapport.v1.EngagementService"
_T = "rapport.v1.ContentService"
_O = "rapport.v1.OutreachService"
_A = "rapport.v1.AnalyticsService"
_P = "rapport.v1.PrivacyService"
_S = "rapport.v1.CandidatePortalService"

RPC_PERMISSIONS: dict[str, str] = {
    # CandidateService
    f"/{_C}/CreateCandidate": "candidates.write",
    f"/{_C}/GetCandidate": "candidates.read",
    f"/{_C}/UpdateCandidate": "candidates.write",
    f"/{_C}/ListCandidates": "candidates.read",
    f"/{_C}/ImportCandidates": "candidates.import",
    f"/{_C}/FindDuplicates": "candidates.duplicates",
    f"/{_C}/MergeCandidates": "candidates.merge",
    f"/{_C}/UnmergeCandidates": "candidates.merge",
    f"/{_C}/AddTimelineEvent": "timeline.write",
    f"/{_C}/ListTimeline": "timeline.read",
    f"/{_C}/CreatePool": "pools.write",
    f"/{_C}/AddToPool": "pools.write",
    f"/{_C}/ListPool": "pools.read",
    f"/{_C}/ListPools": "pools.read",
    f"/{_C}/CreateSegment": "segments.write",
    f"/{_C}/ListSegments": "segments.read",
    f"/{_C}/PreviewSegment": "segments.read",
    f"/{_C}/WatchChanges": "candidates.watch",
    # MatchingService
    f"/{_M}/CreateRole": "roles.write",
    f"/{_M}/GetRole": "roles.read",
    f"/{_M}/ListRoles": "roles.read",
    f"/{_M}/RankCandidates": "matching.rank",
    f"/{_M}/SimilarCandidates": "matching.rank",
    f"/{_M}/GetIndexStatus": "index.read",
    f"/{_M}/RebuildIndex": "index.rebuild",
    f"/{_M}/ExtractSkills": "skills.extract",
    # EngagementService
    f"/{_E}/ScoreCandidate": "engagement.score",
    f"/{_E}/ScoreCandidates": "engagement.score",
    f"/{_E}/GetModelInfo": "models.read",
    # ContentService
    f"/{_T}/CreateContent": "outreach.content.write",
    f"/{_T}/GetContent": "content.read",
    f"/{_T}/ListContent": "content.read",
    f"/{_T}/NextBestContent": "content.next",
    f"/{_T}/RecordOutcome": "content.outcome",
    # OutreachService
    f"/{_O}/CreateSequence": "outreach.sequences.write",
    f"/{_O}/GetSequence": "outreach.sequences.read",
    f"/{_O}/ListSequences": "outreach.sequences.read",
    f"/{_O}/Enrol": "outreach.enrol",
    f"/{_O}/Unenrol": "outreach.enrol",
    f"/{_O}/ListEnrolments": "outreach.enrolments.read",
    f"/{_O}/CreateTrigger": "outreach.triggers.write",
    f"/{_O}/ListTriggers": "outreach.triggers.read",
    f"/{_O}/PreviewStep": "outreach.preview",
    f"/{_O}/TestSend": "outreach.send",
    f"/{_O}/RecordReply": "outreach.replies.write",
    f"/{_O}/Unsubscribe": "consent.write",
    # AnalyticsService
    f"/{_A}/CampaignReport": "analytics.read",
    f"/{_A}/PoolReport": "analytics.read",
    f"/{_A}/ModelReport": "models.read",
    f"/{_A}/FairnessReport": "analytics.fairness",
    f"/{_A}/RecordDemographics": "demographics.write",
    # PrivacyService
    f"/{_P}/EraseCandidate": "privacy.erase",
    f"/{_P}/ExportCandidate": "privacy.export",
    f"/{_P}/GetConsent": "consent.read",
    f"/{_P}/SetConsent": "consent.write",
    f"/{_P}/RunRetention": "privacy.retention",
    f"/{_P}/QueryAudit": "audit.read",
    f"/{_P}/VerifyAudit": "audit.verify",
    # SchedulingService (issue 9)
    "/rapport.v1.SchedulingService/PutCalendar": "scheduling.calendars.write",
    "/rapport.v1.SchedulingService/ListCalendars": "scheduling.read",
    "/rapport.v1.SchedulingService/ListSlots": "scheduling.read",
    "/rapport.v1.SchedulingService/BookSlot": "scheduling.book",
    "/rapport.v1.SchedulingService/CancelBooking": "scheduling.book",
    "/rapport.v1.SchedulingService/ListBookings": "scheduling.read",
    # AtsService (issue 9)
    "/rapport.v1.AtsService/SubmitCandidate": "ats.submit",
    "/rapport.v1.AtsService/GetSubmission": "ats.read",
    "/rapport.v1.AtsService/ListSubmissions": "ats.read",
    "/rapport.v1.AtsService/SyncNow": "ats.sync",
    # CandidatePortalService (issue 9): only the portal process signs candidates in
    f"/{_S}/RequestSignInLink": "portal.sign_in",
    f"/{_S}/RedeemSignInLink": "portal.sign_in",
}

# Permissions no RPC checks yet, held for local jobs and future RPCs (training, features).
OFFLINE_PERMISSIONS = frozenset({"models.train", "features.read"})
ALL_PERMISSIONS = frozenset(RPC_PERMISSIONS.values()) | OFFLINE_PERMISSIONS

_CANDIDATE_READ = {"candidates.read", "timeline.read", "pools.read", "segments.read"}
_SOURCING = {
    "candidates.write",
    "candidates.import",
    "candidates.duplicates",
    "timeline.write",
    "pools.write",
    "segments.write",
    "roles.read",
    "matching.rank",
    "index.read",
    "skills.extract",
    "engagement.score",
    "models.read",
    "content.read",
    "consent.read",
    "outreach.sequences.read",
    "outreach.enrolments.read",
    "outreach.triggers.read",
    "analytics.read",
    "ats.submit",  # issue 9: submit candidates to ATS jobs, follow the submissions
    "ats.read",
    "scheduling.read",  # issue 9: recruiters' free slots and booked calls
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": ALL_PERMISSIONS,
    "recruiter": frozenset(
        _CANDIDATE_READ
        | _SOURCING
        | {
            "candidates.merge",
            "candidates.watch",
            "roles.write",
            "outreach.content.write",
            "content.next",
            "content.outcome",
            "outreach.sequences.write",
            "outreach.enrol",
            "outreach.triggers.write",
            "outreach.preview",
            "outreach.send",
            "outreach.replies.write",
            "consent.write",
            "ats.sync",
            "scheduling.calendars.write",
            "scheduling.book",
        }
    ),
    # pools and sourcing; reads outreach, changes none of it (no content, no sequences)
    "sourcer": frozenset(_CANDIDATE_READ | _SOURCING),
    # read-only, scoped to their pools, contacts masked (see module docstring)
    "hiring_manager": frozenset({"candidates.read", "pools.read", "roles.read"}),
    "outreach_engine": frozenset(
        {
            "candidates.read",
            "timeline.read",
            "timeline.write",
            "content.read",
            "content.next",
            "content.outcome",
            "engagement.score",
            "outreach.sequences.read",
            "outreach.enrolments.read",
            "outreach.preview",
            "outreach.replies.write",
            "consent.read",
            "consent.write",
        }
    ),
    # The candidate portal process: what a signed-in candidate may do about themselves. The
    # portal guarantees a session only ever names the candidate its sign-in link returned.
    "portal": frozenset(
        {
            "portal.sign_in",
            "candidates.read",
            "candidates.write",
            "consent.read",
            "consent.write",
            "content.next",
            "skills.extract",
            "privacy.export",
            "privacy.erase",
            "scheduling.read",
            "scheduling.book",
        }
    ),
    # training, models, pseudonymised features: candidates only with contacts and names masked
    "data_scientist": frozenset(
        {
            "candidates.read",
            "roles.read",
            "matching.rank",
            "index.read",
            "skills.extract",
            "engagement.score",
            "models.read",
            "models.train",
            "features.read",
            "analytics.read",
            "analytics.fairness",
            "content.read",
        }
    ),
}

# Roles that never see contact details (emails, phones, profile URLs); the second set
# also loses names and external ids (pseudonymised).
CONTACTS_MASKED = frozenset({"hiring_manager", "data_scientist"})
PSEUDONYMISED = frozenset({"data_scientist"})
# Roles restricted to the pools listed in their key's scopes.
POOL_SCOPED = frozenset({"hiring_manager"})
# Roles restricted to their team's pools (and shared ones) when their key names a team.
TEAM_SCOPED = frozenset({"recruiter"})


def permission_for(method: str) -> str | None:
    """The permission a full method name ("/pkg.Service/Method") needs; None: unknown."""
    return RPC_PERMISSIONS.get(method)


def allows(role: str, method: str) -> bool:
    """Whether `role` may call `method`. Unknown methods and unknown roles: no."""
    permission = permission_for(method)
    return permission is not None and permission in ROLE_PERMISSIONS.get(role, frozenset())


def has_permission(role: str, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


# ---------------------------------------------------------------- use-case helpers


def scope_values(scopes: Iterable[str], kind: str) -> list[str]:
    """["pool:a", "role:b"], "pool" -> ["a"]."""
    return [s.split(":", 1)[1] for s in scopes if s.startswith(kind + ":")]


def pool_scope() -> list[str] | None:
    """The pool ids the current caller is limited to, or None when not pool-scoped."""
    ctx = context.current()
    if ctx.role not in POOL_SCOPED:
        return None
    return scope_values(ctx.scopes, "pool")


def role_scope() -> list[str] | None:
    """The role (job) ids a pool-scoped caller owns ("role:<id>" scopes), or None."""
    ctx = context.current()
    if ctx.role not in POOL_SCOPED:
        return None
    return scope_values(ctx.scopes, "role")


def team_scope() -> str | None:
    """The team a team-scoped caller (a recruiter whose key names a team) is limited to."""
    ctx = context.current()
    return ctx.team if ctx.role in TEAM_SCOPED and ctx.team else None


def pool_visible(pool) -> bool:
    """Whether the current caller may see `pool` (a domain Pool): pool and team scopes."""
    scope = pool_scope()
    if scope is not None and pool.id not in scope:
        return False
    team = team_scope()
    return team is None or pool.team in ("", team)


def contacts_hidden() -> bool:
    return context.current().role in CONTACTS_MASKED


def check_candidate_scope(session, candidate) -> None:
    """Raises NotFound (as for a missing candidate: nothing about it leaks) when the caller
    is pool-scoped and `candidate` is in none of its pools; audits the refusal."""
    scope = pool_scope()
    if scope is None:
        return
    if not pools.is_member_of_any(session, candidate.pk, scope):
        audit.record(session, "access.out_of_scope", [candidate.id])
        raise NotFound("candidate", candidate.id)


def scoped_rule(rule):
    """`rule` narrowed to the caller's pools when the caller is pool-scoped."""
    scope = pool_scope()
    if scope is None:
        return rule
    # An empty scope selects nothing: a pool id no pool has.
    values = tuple(scope) or ("00000000-0000-0000-0000-000000000000",)
    return Rule((*rule.conditions, Condition("pool", "in", values)))


def mask_contacts(candidate):
    """`candidate` as the current caller may see it: contact details removed for roles that
    may not see them (names and external id too, for pseudonymised roles). Works on any
    dataclass with those fields (Candidate, CandidateDraft); others pass through."""
    role = context.current().role
    if role not in CONTACTS_MASKED or not dataclasses.is_dataclass(candidate):
        return candidate
    changes: dict = {"emails": [], "phones": [], "profile_urls": []}
    if role in PSEUDONYMISED:
        changes.update(first_name="", last_name="", external_id="")
    names = {f.name for f in dataclasses.fields(candidate)}
    return dataclasses.replace(candidate, **{k: v for k, v in changes.items() if k in names})


__all__ = [
    "ALL_PERMISSIONS",
    "CONTACTS_MASKED",
    "POOL_SCOPED",
    "ROLE_PERMISSIONS",
    "RPC_PERMISSIONS",
    "allows",
    "check_candidate_scope",
    "contacts_hidden",
    "has_permission",
    "mask_contacts",
    "permission_for",
    "pool_scope",
    "pool_visible",
    "role_scope",
    "scope_values",
    "scoped_rule",
    "team_scope",
]
