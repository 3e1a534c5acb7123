"""The bundled skill taxonomy: canonical skill ids, labels, aliases and role families.

The canonical vocabulary is ESCO (v1.1 preferred labels): a skill whose `esco` flag is true
carries its ESCO label verbatim; tools and practices ESCO lacks (Kubernetes, React, dbt, ...)
get a conventional name. `data/taxonomy.json` is curated by hand and checked in; nothing here
reads the full ESCO list at run time.

`Taxonomy.resolve` maps free text ("k8s", "React.js", "Postgres") to `(skill_id, label)`.
Matching is case- and punctuation-insensitive ("React.js" == "reactjs" == "React JS"), with
"+" read as "plus" and "#" as "sharp" so that C, C++ and C# stay apart. Unknown text resolves
to `(slug(text), text.strip())`, so callers never need a fallback path.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "SENIORITY_LEVELS",
    "RoleFamily",
    "Taxonomy",
    "TaxonomySkill",
    "ascii_fold",
    "normalise_key",
    "slug",
]

SENIORITY_LEVELS = ("junior", "mid", "senior", "lead", "principal", "executive")

# Letters NFKD does not decompose into ASCII.
_FOLD = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "\u0131": "i",
        "ħ": "h",
        "Ħ": "h",
    }
)
_NON_WORD = re.compile(r"[\W_]+")
# ASCII fast path of normalise_key: one str.translate call (lowercase, spell out + and #, drop
# everything else that is not a letter or digit).
_ASCII_KEY = {c: None for c in range(128) if not chr(c).isalnum()}
_ASCII_KEY.update({ord(c): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
_ASCII_KEY.update({ord("+"): "plus", ord("#"): "sharp"})
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def _symbols(text: str) -> str:
    return text.replace("+", "plus").replace("#", "sharp")


def ascii_fold(text: str) -> str:
    """Strip accents and transliterate the few letters NFKD leaves alone ("Łódź" -> "Lodz")."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def normalise_key(text: str) -> str:
    """Lookup key: casefolded, "+"/"#" spelled out, everything but letters and digits dropped."""
    if text.isascii():
        return text.translate(_ASCII_KEY)
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub("", _symbols(folded))


def slug(text: str) -> str:
    """Stable lowercase id: "+"->"plus", "#"->"sharp", runs of other non-alnum -> "-".

    Accented letters are folded to ASCII ("Café Ops" -> "cafe-ops"). Text with no Latin
    letters or digits at all (e.g. "数据分析") keeps its Unicode letters instead of vanishing.
    """
    lowered = _symbols(text.lower())
    folded = lowered if lowered.isascii() else ascii_fold(lowered).lower()
    out = _NON_SLUG.sub("-", folded).strip("-")
    if out:
        return out
    return _NON_WORD.sub("-", unicodedata.normalize("NFKC", lowered)).strip("-")


@dataclass(frozen=True)
class TaxonomySkill:
    id: str
    label: str
    category: str
    aliases: tuple[str, ...]
    related: tuple[str, ...]
    esco: bool


@dataclass(frozen=True)
class RoleFamily:
    id: str
    name: str
    titles: Mapping[str, tuple[str, ...]]  # seniority level (SENIORITY_LEVELS) -> titles
    core_skills: tuple[str, ...]
    optional_skills: tuple[str, ...]
    summary_templates: tuple[str, ...]  # slots: {years}, {skill1}, {skill2}, {company}


class Taxonomy:
    """An immutable skill vocabulary with O(1) alias resolution."""

    def __init__(self, skills: Iterable[TaxonomySkill], role_families: Iterable[RoleFamily] = ()):
        self._skills = tuple(skills)
        self._families = tuple(role_families)
        self._by_id: dict[str, TaxonomySkill] = {}
        self._by_key: dict[str, TaxonomySkill] = {}
        for skill in self._skills:
            if skill.id in self._by_id:
                raise ValueError(f"duplicate skill id {skill.id!r}")
            self._by_id[skill.id] = skill
        # Ids first, then labels, then aliases: on a clash the more specific name wins.
        for skill in self._skills:
            self._register(skill.id, skill)
        for skill in self._skills:
            self._register(skill.label, skill)
        for skill in self._skills:
            for alias in skill.aliases:
                self._register(alias, skill)
        for skill in self._skills:
            missing = [r for r in skill.related if r not in self._by_id]
            if missing:
                raise ValueError(f"skill {skill.id!r} relates to unknown ids {missing}")
        self._families_by_id = {f.id: f for f in self._families}
        for family in self._families:
            unknown = [
                s for s in (*family.core_skills, *family.optional_skills) if s not in self._by_id
            ]
            if unknown:
                raise ValueError(f"role family {family.id!r} uses unknown skills {unknown}")
        self._resolve_cached = lru_cache(maxsize=1 << 16)(self._resolve)

    def _register(self, name: str, skill: TaxonomySkill) -> None:
        key = normalise_key(name)
        if key:
            self._by_key.setdefault(key, skill)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Taxonomy:
        skills = [
            TaxonomySkill(
                id=s["id"],
                label=s["label"],
                category=s.get("category", ""),
                aliases=tuple(s.get("aliases", ())),
                related=tuple(s.get("related", ())),
                esco=bool(s.get("esco", False)),
            )
            for s in data.get("skills", ())
        ]
        families = [
            RoleFamily(
                id=f["id"],
                name=f["name"],
                titles=MappingProxyType({k: tuple(v) for k, v in f.get("titles", {}).items()}),
                core_skills=tuple(f.get("core_skills", ())),
                optional_skills=tuple(f.get("optional_skills", ())),
                summary_templates=tuple(f.get("summary_templates", ())),
            )
            for f in data.get("role_families", ())
        ]
        return cls(skills, families)

    @classmethod
    def load(cls, path: str | Path) -> Taxonomy:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def bundled(cls) -> Taxonomy:
        """The taxonomy shipped in the package (loaded once per process)."""
        return _bundled()

    # -- lookups ------------------------------------------------------------------------------
    def resolve(self, text: str) -> tuple[str, str]:
        """Canonical `(skill_id, label)` for free text; unknown text -> `(slug(text), text)`.

        Raises ValueError only for blank text (empty or whitespace-only).
        """
        return self._resolve_cached(text)

    def _resolve(self, text: str) -> tuple[str, str]:
        hit = self._by_key.get(normalise_key(text))
        if hit is not None:
            return hit.id, hit.label
        label = text.strip()
        if not label:
            raise ValueError("cannot resolve blank skill text")
        skill_id = slug(label)
        if not skill_id:  # only symbols, e.g. "???": still give a stable, non-empty id
            skill_id = "skill-" + label.encode("utf-8").hex()[:16]
        return skill_id, label

    def known(self, text: str) -> TaxonomySkill | None:
        """The taxonomy skill `text` names (id, label or alias), or None."""
        return self._by_key.get(normalise_key(text))

    def skill(self, skill_id: str) -> TaxonomySkill:
        """The skill with this canonical id; KeyError if unknown."""
        return self._by_id[skill_id]

    def related(self, skill_id: str) -> tuple[str, ...]:
        """Ids that earn partial credit for `skill_id` (symmetric); () for unknown ids."""
        skill = self._by_id.get(skill_id)
        return skill.related if skill is not None else ()

    def role_family(self, family_id: str) -> RoleFamily:
        """The role family with this id; KeyError if unknown."""
        return self._families_by_id[family_id]

    def __contains__(self, skill_id: object) -> bool:
        return skill_id in self._by_id

    def __len__(self) -> int:
        return len(self._skills)

    @property
    def skills(self) -> tuple[TaxonomySkill, ...]:
        return self._skills

    @property
    def role_families(self) -> tuple[RoleFamily, ...]:
        return self._families


@cache
def _bundled() -> Taxonomy:
    resource = resources.files("rapport.core").joinpath("data").joinpath("taxonomy.json")
    return Taxonomy.from_dict(json.loads(resource.read_text(encoding="utf-8")))
