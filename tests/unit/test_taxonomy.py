"""The bundled skill taxonomy: alias resolution, slugs, relations, role families, ESCO labels."""

from __future__ import annotations

import json
import os
import time
from importlib import resources
from pathlib import Path

import pytest

from rapport.core.taxonomy import (
    SENIORITY_LEVELS,
    RoleFamily,
    Taxonomy,
    TaxonomySkill,
    normalise_key,
    slug,
)

REPO = Path(__file__).resolve().parents[2]


def _eval_data_dir() -> Path:
    configured = os.environ.get("RAPPORT_EVAL_DATA")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


ESCO_LABELS = _eval_data_dir() / "skills_benchmark" / "skills_en_label.txt"


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return Taxonomy.bundled()


def test_bundled_is_cached_and_sized(tax: Taxonomy) -> None:
    assert Taxonomy.bundled() is tax
    assert 250 <= len(tax.skills) <= 400
    assert 15 <= len(tax.role_families) <= 25
    assert all(isinstance(s, TaxonomySkill) for s in tax.skills)
    assert all(isinstance(f, RoleFamily) for f in tax.role_families)


@pytest.mark.parametrize(
    ("text", "skill_id"),
    [
        ("k8s", "kubernetes"),
        ("K8S", "kubernetes"),
        ("Kubernetes", "kubernetes"),
        ("Postgres", "postgresql"),
        ("postgresql", "postgresql"),
        ("PostgreSQL", "postgresql"),
        ("JS", "javascript"),
        ("javascript", "javascript"),
        ("ECMAScript", "javascript"),
        ("ML", "machine-learning"),
        ("machine learning", "machine-learning"),
        ("React.js", "react"),
        ("reactjs", "react"),
        ("React JS", "react"),
        ("REACT", "react"),
        ("golang", "go"),
        ("Go", "go"),
        ("py", "python"),
        ("Python", "python"),
        ("Python (computer programming)", "python"),
        ("C++", "cplusplus"),
        ("cpp", "cplusplus"),
        ("C#", "csharp"),
        ("C", "c"),
        ("TypeScript", "typescript"),
        ("TS", "typescript"),
        ("Node.js", "nodejs"),
        ("nodejs", "nodejs"),
        ("sklearn", "scikit-learn"),
        ("CI/CD", "ci-cd"),
        ("A/B testing", "ab-testing"),
        ("FP&A", "fpa"),
        (".NET", "dotnet"),
        ("Amazon Web Services", "aws"),
        ("AWS", "aws"),
        ("Spring Boot", "spring"),
        ("MSSQL", "sql-server"),
        ("Salesforce", "salesforce"),
        ("SEO", "seo"),
        ("talent acquisition", "recruitment"),
        ("EHR", "ehr"),
        ("CPR", "bls"),
        ("  kubernetes  ", "kubernetes"),
        ("\uff2b\uff18\uff33", "kubernetes"),
    ],
)
def test_aliases_resolve(tax: Taxonomy, text: str, skill_id: str) -> None:
    resolved_id, label = tax.resolve(text)
    assert resolved_id == skill_id
    assert label == tax.skill(skill_id).label


def test_c_family_stays_apart(tax: Taxonomy) -> None:
    ids = {tax.resolve(t)[0] for t in ("C", "C++", "C#", "Objective-C")}
    assert ids == {"c", "cplusplus", "csharp", "objective-c"}


def test_resolve_returns_esco_labels(tax: Taxonomy) -> None:
    assert tax.resolve("py") == ("python", "Python (computer programming)")
    assert tax.resolve("ml") == ("machine-learning", "machine learning")
    assert tax.resolve("js")[1] == "JavaScript"
    assert tax.resolve("sql")[1] == "SQL"
    assert tax.resolve("Agile project management") == (
        "agile-project-management",
        "Agile project management",
    )


def test_ambiguous_aliases_are_not_claimed(tax: Taxonomy) -> None:
    # "TF" could be TensorFlow or Terraform, "CV" a résumé, "PR" a pull request.
    for text in ("TF", "CV", "PR", "ES"):
        assert tax.known(text) is None, text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Something New!", ("something-new", "Something New!")),
        ("  Café Ops  ", ("cafe-ops", "Café Ops")),
        ("Łódź data team", ("lodz-data-team", "Łódź data team")),
        ("F#", ("fsharp", "F#")),
        ("Quantum--Basket weaving", ("quantum-basket-weaving", "Quantum--Basket weaving")),
    ],
)
def test_unknown_text_becomes_slug(tax: Taxonomy, text: str, expected: tuple[str, str]) -> None:
    assert tax.known(text) is None
    assert tax.resolve(text) == expected


def test_resolve_never_raises_for_odd_text(tax: Taxonomy) -> None:
    for text in ("???", "数据分析", "—", "🙂", "x" * 500, "+", "#"):
        skill_id, label = tax.resolve(text)
        assert skill_id and label == text.strip()
    for blank in ("", "   ", "\t\n"):
        with pytest.raises(ValueError):
            tax.resolve(blank)


def test_slug() -> None:
    assert slug("C++") == "cplusplus"
    assert slug("C#") == "csharp"
    assert slug("Node.js") == "node-js"
    assert slug("  --Hello, World--  ") == "hello-world"
    assert slug("Machine Learning") == "machine-learning"
    assert slug("Straße") == "strasse"
    assert slug("数据") == "数据"


def test_normalise_key_is_case_and_punctuation_insensitive() -> None:
    assert normalise_key("React.js") == normalise_key("reactjs") == normalise_key("React JS")
    assert normalise_key("C++") != normalise_key("C") != normalise_key("C#")


def test_known_skill_and_related_lookups(tax: Taxonomy) -> None:
    assert tax.known("k8s") is tax.skill("kubernetes")
    assert tax.known("definitely not a skill") is None
    with pytest.raises(KeyError):
        tax.skill("definitely-not-a-skill")
    assert tax.related("definitely-not-a-skill") == ()
    assert "kubernetes" in tax
    assert "k8s" not in tax  # ids only


def test_ids_are_stable_slugs_and_unique(tax: Taxonomy) -> None:
    ids = [s.id for s in tax.skills]
    assert len(ids) == len(set(ids))
    for skill in tax.skills:
        assert skill.id == slug(skill.id), skill.id
        assert skill.label == skill.label.strip() and skill.label
        assert skill.category


def test_every_name_resolves_to_its_own_skill(tax: Taxonomy) -> None:
    for skill in tax.skills:
        for name in (skill.id, skill.label, *skill.aliases):
            assert tax.resolve(name)[0] == skill.id, (name, skill.id, tax.resolve(name))


def test_related_is_symmetric_and_valid(tax: Taxonomy) -> None:
    for skill in tax.skills:
        assert skill.id not in skill.related
        for other in skill.related:
            assert skill.id in tax.related(other), (skill.id, other)


@pytest.mark.parametrize(
    ("skill_id", "expected"),
    [
        ("postgresql", {"sql", "mysql"}),
        ("sql", {"postgresql", "mysql"}),
        ("mysql", {"postgresql", "sql"}),
        ("pytorch", {"tensorflow", "machine-learning"}),
        ("tensorflow", {"pytorch", "machine-learning"}),
        ("kubernetes", {"docker"}),
        ("react", {"javascript", "typescript"}),
        ("python", {"django"}),
        ("javascript", {"typescript"}),
        ("aws", {"azure", "gcp"}),
    ],
)
def test_key_skills_have_expected_relations(
    tax: Taxonomy, skill_id: str, expected: set[str]
) -> None:
    assert expected <= set(tax.related(skill_id))


def test_role_families_are_complete(tax: Taxonomy) -> None:
    ids = [f.id for f in tax.role_families]
    assert len(ids) == len(set(ids))
    for wanted in (
        "backend",
        "frontend",
        "fullstack",
        "data-scientist",
        "ml-engineer",
        "data-engineer",
        "devops",
        "mobile",
        "qa",
        "product-manager",
        "ux-designer",
        "sales",
        "marketing",
        "recruiter-hr",
        "finance",
        "customer-success",
        "nurse",
        "operations",
    ):
        assert wanted in ids
    for family in tax.role_families:
        assert tax.role_family(family.id) is family
        assert set(family.titles) == set(SENIORITY_LEVELS), family.id
        assert all(family.titles[level] for level in SENIORITY_LEVELS)
        assert family.core_skills and family.optional_skills
        assert not set(family.core_skills) & set(family.optional_skills)
        for sid in (*family.core_skills, *family.optional_skills):
            tax.skill(sid)
        assert 2 <= len(family.summary_templates) <= 4
        for template in family.summary_templates:
            text = template.format(years=5, skill1="Python", skill2="SQL", company="Acme")
            assert "{" not in text and "Python" in text


def test_senior_titles_say_senior(tax: Taxonomy) -> None:
    backend = tax.role_family("backend")
    assert "Senior Backend Engineer" in backend.titles["senior"]
    assert all("Junior" not in t for t in backend.titles["senior"])


def test_resolve_is_fast(tax: Taxonomy) -> None:
    names = [n for s in tax.skills for n in (s.label, *s.aliases)]
    queries = (names * (100_000 // len(names) + 1))[:100_000]
    for q in queries[:2000]:
        tax.resolve(q)
    start = time.perf_counter()
    for q in queries:
        tax.resolve(q)
    per_call = (time.perf_counter() - start) / len(queries)
    assert per_call < 5e-6  # target < 2 µs; loose bound for slow CI machines


def test_from_dict_rejects_dangling_references() -> None:
    data = {"skills": [{"id": "a", "label": "A", "related": ["b"]}]}
    with pytest.raises(ValueError, match="unknown"):
        Taxonomy.from_dict(data)
    data = {
        "skills": [{"id": "a", "label": "A"}],
        "role_families": [{"id": "f", "name": "F", "core_skills": ["zzz"]}],
    }
    with pytest.raises(ValueError, match="unknown"):
        Taxonomy.from_dict(data)


def test_bundled_json_is_well_formed() -> None:
    raw = resources.files("rapport.core").joinpath("data").joinpath("taxonomy.json")
    data = json.loads(raw.read_text(encoding="utf-8"))
    for skill in data["skills"]:
        assert set(skill) == {"id", "label", "esco", "aliases", "category", "related"}
        assert isinstance(skill["esco"], bool)


@pytest.mark.skipif(
    not ESCO_LABELS.is_file(),
    reason=f"ESCO label list not available at {ESCO_LABELS} "
    "(set RAPPORT_EVAL_DATA to the shared data directory)",
)
def test_esco_flags_match_the_esco_label_list(tax: Taxonomy) -> None:
    labels = {line.strip() for line in ESCO_LABELS.read_text(encoding="utf-8").split("\n")}
    flagged = [s for s in tax.skills if s.esco]
    assert len(flagged) >= 150
    missing = [s.label for s in flagged if s.label not in labels]
    assert not missing, f"esco=true labels not in ESCO: {missing}"
    unflagged = [s.label for s in tax.skills if not s.esco and s.label in labels]
    assert not unflagged, f"labels in ESCO but flagged esco=false: {unflagged}"
    for label in (
        "Python (computer programming)",
        "JavaScript",
        "SQL",
        "machine learning",
        "Agile project management",
    ):
        assert tax.known(label) is not None and tax.known(label).esco
