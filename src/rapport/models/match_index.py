"""The searchable state of matching: vectors in FAISS plus the profiles ranking scores.

One object so that a candidate's vector, profile and skill postings change together, under
one lock, and a rebuilt index can replace all three in one swap.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from rapport.core.domain import Candidate
from rapport.models.encoders import Encoder
from rapport.models.profiles import CandidateProfile, ProfileBuilder, candidate_text
from rapport.models.ranking import (
    RoleQuery,
    ScoredCandidate,
    Weights,
    explain,
    rank_scored,
    score_candidate,
)
from rapport.models.vector_index import VectorIndex, inner_products

MIN_SHORTLIST = 200  # candidates scored in full per query, at least
# Skill totals go in an array indexed by pk while it stays this small next to the postings
DENSE_TOTALS_MIN, DENSE_TOTALS_RATIO = 1_000_000, 8
SHORTLIST_FACTOR = 5  # ... or this many times the results asked for


@dataclass(frozen=True)
class FacetFilter:
    """A role's strict filters, answered from the profiles in memory (no store query).

    Location passes on a listed country OR a time zone inside the role's window; every
    listed language is required, and "en" also matches "en-GB".
    """

    seniorities: frozenset[str] | None = None  # None: no seniority filter
    countries: frozenset[str] = frozenset()
    zones: frozenset[str] = frozenset()
    languages: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.seniorities is not None or self.countries or self.zones or self.languages)


def _facet_keys(profile: CandidateProfile) -> list[tuple[str, str]]:
    keys = [
        ("seniority", profile.seniority),
        ("country", profile.country.upper()),
        ("timezone", profile.timezone),
    ]
    for tag in profile.languages:
        parts = tag.lower().split("-")
        keys += [("language", "-".join(parts[: i + 1])) for i in range(len(parts))]
    return keys


@dataclass(frozen=True)
class RankResult:
    results: list[ScoredCandidate]
    considered: int  # candidates that passed the filters (all indexed ones when unfiltered)
    more: bool  # a further page exists


class MatchIndex:
    """Vectors, profiles and skill postings of every rankable candidate."""

    def __init__(self, vectors: VectorIndex, encoder: Encoder, builder: ProfileBuilder) -> None:
        self.vectors = vectors
        self.encoder = encoder
        self._builder = builder
        self._lock = threading.RLock()
        self._profiles: dict[int, CandidateProfile] = {}
        self._pk_by_id: dict[str, int] = {}
        self._postings: dict[str, set[int]] = {}
        self._facets: dict[tuple[str, str], set[int]] = {}  # (field, value) -> pks
        # skill id -> its holders as an array, made on first use after a change: turning a
        # 20k-member set into an array cost a popular-skill query 60 ms at 100k candidates
        self._posting_arrays: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ writing
    def _put_profile(self, profile: CandidateProfile) -> None:
        old = self._profiles.get(profile.pk)
        if old is not None:
            self._drop_postings(old)
        self._profiles[profile.pk] = profile
        self._pk_by_id[profile.id] = profile.pk
        for skill_id in profile.skills:
            self._postings.setdefault(skill_id, set()).add(profile.pk)
            self._posting_arrays.pop(skill_id, None)
        for key in _facet_keys(profile):
            self._facets.setdefault(key, set()).add(profile.pk)

    def _drop_postings(self, profile: CandidateProfile) -> None:
        for skill_id in profile.skills:
            self._postings.get(skill_id, set()).discard(profile.pk)
            self._posting_arrays.pop(skill_id, None)
        for key in _facet_keys(profile):
            self._facets.get(key, set()).discard(profile.pk)

    def put_profiles(self, profiles: Iterable[CandidateProfile]) -> None:
        """Profiles only (vectors already indexed), e.g. after loading a vector snapshot."""
        with self._lock:
            for profile in profiles:
                self._put_profile(profile)

    def upsert(self, candidates: Sequence[Candidate], *, batch_size: int = 64) -> None:
        """Embed and (re)index these candidates. Encoding runs outside the lock."""
        if not candidates:
            return
        profiles = self._builder.build_many(candidates)
        vectors = self.encoder.encode(
            [candidate_text(c) for c in candidates], batch_size=batch_size
        )
        ids = np.fromiter((c.pk for c in candidates), dtype=np.int64, count=len(candidates))
        with self._lock:
            self.vectors.upsert(ids, vectors)
            for profile in profiles:
                self._put_profile(profile)

    def remove_ids(self, candidate_ids: Iterable[str]) -> int:
        """Forget these candidates (erased, merged away, opted out). Returns how many were here."""
        with self._lock:
            pks = [pk for cid in candidate_ids if (pk := self._pk_by_id.pop(cid, None)) is not None]
            for pk in pks:
                profile = self._profiles.pop(pk, None)
                if profile is not None:
                    self._drop_postings(profile)
            if pks:
                self.vectors.remove(np.asarray(pks, dtype=np.int64))
            return len(pks)

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self._profiles)

    def profile_by_id(self, candidate_id: str) -> CandidateProfile | None:
        with self._lock:
            pk = self._pk_by_id.get(candidate_id)
            return self._profiles.get(pk) if pk is not None else None

    def vector_of(self, pk: int) -> np.ndarray:
        return self.vectors.get_vector(pk)

    def filter_pks(self, facets: FacetFilter, within: np.ndarray | None = None) -> np.ndarray:
        """Indexed candidates passing `facets` and, when given, among `within`.

        Set operations over postings kept beside the profiles: a strict location filter
        names hundreds of time zones, which the store could only answer with a scan.
        """
        with self._lock:
            groups: list[set[int]] = []
            if facets.seniorities is not None:
                groups.append(self._union("seniority", facets.seniorities))
            if facets.countries or facets.zones:
                places = self._union("country", {c.upper() for c in facets.countries})
                places |= self._union("timezone", facets.zones)
                groups.append(places)
            groups += [self._union("language", {tag.lower()}) for tag in facets.languages]
            if within is not None:  # store answers may name people the index leaves out
                indexed = self._profiles
                groups.append({pk for pk in within.tolist() if pk in indexed})
            if not groups:
                return np.fromiter(self._profiles, np.int64, len(self._profiles))
            groups.sort(key=len)
            passing = groups[0].intersection(*groups[1:])
        return np.fromiter(passing, np.int64, len(passing))

    def _union(self, field: str, values: Iterable[str]) -> set[int]:
        out: set[int] = set()
        for value in values:
            out |= self._facets.get((field, value), set())
        return out

    def _holders(self, skill_id: str) -> np.ndarray | None:
        """Primary keys holding the skill (caller holds the lock); None when nobody does."""
        array = self._posting_arrays.get(skill_id)
        if array is None:
            holders = self._postings.get(skill_id)
            if not holders:
                return None
            array = self._posting_arrays[skill_id] = np.fromiter(holders, np.int64, len(holders))
        return array

    def _skill_shortlist(
        self, query: RoleQuery, allowed: np.ndarray | None, limit: int
    ) -> np.ndarray:
        """Candidates holding the most of the role's skills (related ones count less)."""
        weighted: list[tuple[np.ndarray, float]] = []
        with self._lock:
            for skill in query.skills:
                base = skill.weight
                for skill_id, factor in (
                    (skill.skill_id, 1.0),
                    *((r, 0.5) for r in self._builder.resolver.related(skill.skill_id)),
                ):
                    holders = self._holders(skill_id)
                    if holders is not None:
                        weighted.append((holders, base * factor))
        if not weighted:
            return np.empty(0, np.int64)
        pks = np.concatenate([p for p, _ in weighted])
        weights = np.concatenate([np.full(len(p), w, np.float32) for p, w in weighted])
        top = int(pks.max())
        if top <= max(DENSE_TOTALS_MIN, DENSE_TOTALS_RATIO * len(pks)):
            # Totals in an array indexed by pk: no sort of the (often 100k+) postings, which
            # np.unique or np.isin would do on every query.
            totals = np.bincount(pks, weights=weights, minlength=top + 1)
            if allowed is not None:
                inside = allowed[(allowed >= 0) & (allowed <= top)]
                kept = np.zeros(top + 1, dtype=totals.dtype)
                kept[inside] = totals[inside]
                totals = kept
            unique = np.flatnonzero(totals)
            totals = totals[unique]
        else:  # sparse keys (a store with huge pks): sort-based
            if allowed is not None:
                keep = np.isin(pks, allowed, assume_unique=False)
                pks, weights = pks[keep], weights[keep]
            if not len(pks):
                return pks
            unique, inverse = np.unique(pks, return_inverse=True)
            totals = np.bincount(inverse, weights=weights)
        if len(unique) <= limit:
            return unique
        best = np.argpartition(-totals, limit - 1)[:limit]
        return unique[best]

    def rank(
        self,
        query: RoleQuery,
        query_vector: np.ndarray,
        *,
        allowed: np.ndarray | None,
        offset: int,
        top_k: int,
        weights: Weights,
        exclude: Iterable[int] = (),
        now: datetime | None = None,
    ) -> RankResult:
        """Score a shortlist (best by text plus best by skills, within `allowed`) and page it.

        Filters are applied before retrieval: FAISS searches only `allowed`, and the skill
        postings are intersected with it, so a filtered ranking is never a cut-down
        unfiltered one.
        """
        wanted = offset + top_k
        limit = max(MIN_SHORTLIST, SHORTLIST_FACTOR * wanted)
        excluded = set(exclude)
        scores, ids = self.vectors.search(query_vector, limit + len(excluded), allowed=allowed)
        semantic = {int(i): float(s) for s, i in zip(scores, ids, strict=True) if i >= 0}
        extra = np.setdiff1d(
            self._skill_shortlist(query, allowed, limit),
            np.fromiter(semantic, np.int64, len(semantic)),
        )
        if len(extra):
            found, vectors = self.vectors.get_vectors(extra)
            sims = inner_products(query_vector[None, :], vectors)[0]
            semantic.update(zip(found.tolist(), sims.tolist(), strict=True))
        scored = []
        with self._lock:
            profiles = [
                (self._profiles.get(pk), s) for pk, s in semantic.items() if pk not in excluded
            ]
        for profile, sim in profiles:
            if profile is not None:
                scored.append(score_candidate(query, profile, sim, weights, now))
        ranked = rank_scored(scored)
        considered = len(self._profiles) if allowed is None else len(allowed)
        page = [explain(query, s) for s in ranked[offset:wanted]]
        return RankResult(page, considered, len(ranked) > wanted)
