"""Streaming parsers for `ImportCandidates`.

The server receives a file as arbitrary byte chunks. These parsers turn the chunks into
`RawRecord`s (loose record dicts for `rapport.core.validation.build_draft`, or a per-record
error) without holding the whole file: CSV and NDJSON are parsed line by line. Only a
JSON Resume document or array of documents is buffered, up to `max_bytes`.

One bad record never stops an import: a row that is not UTF-8, has the wrong number of
fields or is not valid JSON becomes a `RawRecord` with `error` set and parsing goes on.
Problems that make the whole file unreadable (no or unknown CSV header, an unknown format)
raise `ValidationFailed`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rapport.core.errors import ValidationFailed, Violation
from rapport.core.validation import LIST_FIELDS, RECORD_KEYS, SKILL_LEVEL_WORDS

__all__ = [
    "CSV_HEADER_SYNONYMS",
    "FORMATS",
    "MAX_LINE_BYTES",
    "RawRecord",
    "iter_lines",
    "json_resume_to_record",
    "parse",
    "parse_csv",
    "parse_json_resume",
    "parse_ndjson",
]

MAX_LINE_BYTES = 1_000_000  # matches Settings.max_import_record_bytes
_BOM = b"\xef\xbb\xbf"
_NOT_UTF8 = "not valid UTF-8"


@dataclass(frozen=True)
class RawRecord:
    """One record of an import file: `fields` to validate, or the `error` that made it
    unreadable. `index` is the 0-based record number, `line` the 1-based line it starts on.
    """

    index: int
    line: int
    fields: dict | None
    error: Violation | None

    @property
    def ok(self) -> bool:
        return self.error is None


def _error(index: int, line: int, reason: str, field: str = "record") -> RawRecord:
    return RawRecord(index, line, None, Violation(field, reason))


# ---------------------------------------------------------------------------------------
# Lines


def _lines(chunks: Iterable[bytes], max_line_bytes: int) -> Iterator[bytes | None]:
    """Lines with their b"\\n" (the last may lack it); None stands for a line longer than
    `max_line_bytes`, which is dropped. Pieces are joined only once per line, so tiny
    chunks and long lines stay linear."""
    pending: list[bytes] = []
    pending_len = 0
    skipping = False  # inside an over-long line: drop bytes up to the next newline
    for chunk in chunks:
        if not chunk:
            continue
        if not isinstance(chunk, bytes):
            chunk = bytes(chunk)
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                if not skipping:
                    pending.append(chunk[start:] if start else chunk)
                    pending_len += len(chunk) - start
                    if pending_len > max_line_bytes:
                        pending, pending_len, skipping = [], 0, True
                        yield None
                break
            if skipping:
                skipping = False
            elif pending:
                pending.append(chunk[start : nl + 1])
                line = b"".join(pending)
                pending, pending_len = [], 0
                if len(line) > max_line_bytes + 1:
                    yield None
                else:
                    yield line
            elif nl + 1 - start > max_line_bytes + 1:
                yield None
            else:
                yield chunk[start : nl + 1]
            start = nl + 1
            if start == len(chunk):
                break
    if pending and not skipping:
        yield b"".join(pending)


def iter_lines(chunks: Iterable[bytes], max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """Split a byte stream on b"\\n" across chunk boundaries; each line keeps its b"\\n"
    (the last one may lack it). A line longer than `max_line_bytes` raises
    `ValidationFailed`."""
    for number, line in enumerate(_lines(chunks, max_line_bytes), start=1):
        if line is None:
            raise ValidationFailed(
                Violation(f"line {number}", f"longer than {max_line_bytes} bytes")
            )
        yield line


# ---------------------------------------------------------------------------------------
# CSV


def _header_key(name: str) -> str:
    return _HEADER_NOISE.sub("", name.strip().lower())


_HEADER_NOISE = re.compile(r"[\s_\-.]+")
_TRAILING_DIGITS = re.compile(r"\d+\Z")

# Normalised header name (lower case, no spaces, underscores, hyphens or dots) -> record key.
CSV_HEADER_SYNONYMS: dict[str, str] = {
    **{_header_key(k): k for k in RECORD_KEYS if k not in ("url", "linkedin", "profile_url")},
    **dict.fromkeys(("externalid", "id", "candidateid", "externalref"), "external_id"),
    **dict.fromkeys(("firstname", "givenname", "first", "forename"), "first_name"),
    **dict.fromkeys(("lastname", "surname", "familyname", "last"), "last_name"),
    **dict.fromkeys(("name", "fullname", "candidatename"), "name"),
    **dict.fromkeys(("email", "emails", "mail", "emailaddress", "emailaddresses"), "emails"),
    **dict.fromkeys(
        (
            "phone",
            "phones",
            "mobile",
            "telephone",
            "phonenumber",
            "phonenumbers",
            "tel",
            "cell",
            "mobilephone",
            "mobilenumber",
        ),
        "phones",
    ),
    **dict.fromkeys(("headline", "title", "jobtitle", "position"), "headline"),
    **dict.fromkeys(("summary", "about", "bio"), "summary"),
    **dict.fromkeys(
        (
            "company",
            "currentcompany",
            "employer",
            "currentemployer",
            "organisation",
            "organization",
        ),
        "current_company",
    ),
    **dict.fromkeys(("seniority", "level", "senioritylevel"), "seniority"),
    **dict.fromkeys(("city", "town"), "city"),
    **dict.fromkeys(("country", "countrycode"), "country"),
    **dict.fromkeys(("timezone", "tz", "timezonename"), "timezone"),
    **dict.fromkeys(("languages", "language", "langs", "spokenlanguages"), "languages"),
    **dict.fromkeys(("skills", "skill", "skillset"), "skills"),
    **dict.fromkeys(("source", "leadsource"), "source"),
    **dict.fromkeys(("tags", "tag", "labels"), "tags"),
    **dict.fromkeys(
        (
            "linkedin",
            "linkedinurl",
            "linkedinprofile",
            "profileurl",
            "profileurls",
            "profile",
            "github",
            "githuburl",
            "url",
        ),
        "profile_urls",
    ),
    "location": "location",
}


def _map_header(header: list[str], column_mapping: Mapping[str, str] | None) -> list[str | None]:
    """The record key of each column (None: ignored) or ValidationFailed listing every
    column that cannot be mapped."""
    explicit: dict[str, str] = {}
    problems: list[Violation] = []
    for name, target in (column_mapping or {}).items():
        if target and target not in RECORD_KEYS:
            problems.append(Violation(f"column_mapping[{name}]", f"unknown field {target!r}"))
        explicit[name] = target
        explicit.setdefault(_header_key(name), target)
    keys: list[str | None] = []
    owner: dict[str, str] = {}
    for i, raw_name in enumerate(header):
        name = raw_name.strip()
        norm = _header_key(name)
        if name in explicit or norm in explicit:
            key = explicit[name] if name in explicit else explicit[norm]
        elif not norm:
            key = ""  # a nameless column (trailing comma in the header) is ignored
        else:
            key = CSV_HEADER_SYNONYMS.get(norm)
            if key is None:  # "Email 2", "phone2": more values for a list field
                base = CSV_HEADER_SYNONYMS.get(_TRAILING_DIGITS.sub("", norm))
                key = base if base in LIST_FIELDS else None
        if key is None:
            problems.append(
                Violation(
                    f"header[{i}]",
                    f"unknown column {name!r}: map it to a field with column_mapping, "
                    'or to "" to ignore it',
                )
            )
            keys.append(None)
            continue
        if not key:
            keys.append(None)
            continue
        if key in owner and key not in LIST_FIELDS:
            problems.append(
                Violation(f"header[{i}]", f"column {name!r} and {owner[key]!r} both map to {key}")
            )
        owner.setdefault(key, name)
        keys.append(key)
    if problems:
        raise ValidationFailed(problems)
    return keys


class _RecordTooLong(Exception):
    pass


class _CsvLines:
    """Feeds decoded lines to csv.reader while tracking line numbers, whether the record
    being read had undecodable bytes, and its size."""

    __slots__ = ("bad", "line", "lines", "max_bytes", "size")

    def __init__(self, lines: Iterator[bytes | None], line: int, max_bytes: int) -> None:
        self.lines = lines
        self.line = line  # number of the last line handed out
        self.bad = False
        self.size = 0
        self.max_bytes = max_bytes

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        raw = next(self.lines)
        self.line += 1
        if raw is None:
            raise _RecordTooLong
        self.size += len(raw)
        if self.size > self.max_bytes:
            raise _RecordTooLong
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            # Keep the bytes (as lone surrogates) so the CSV structure survives; the
            # record is refused once read.
            self.bad = True
            return raw.decode("utf-8", "surrogateescape")


def _sniff_delimiter(header_line: str) -> str:
    if "," not in header_line:
        for candidate in ("\t", ";", "|"):
            if candidate in header_line:
                return candidate
    return ","


def parse_csv(
    chunks: Iterable[bytes],
    column_mapping: Mapping[str, str] | None = None,
    *,
    max_record_bytes: int = MAX_LINE_BYTES,
) -> Iterator[RawRecord]:
    """Records of a CSV file with a header row.

    Header names map to record keys through `column_mapping` first (a target of "" ignores
    the column), then `CSV_HEADER_SYNONYMS`, ignoring case, spaces, underscores and
    hyphens. Cells are left as strings (lists stay ";"-separated); empty cells are left
    out. A header-only tab, ";" or "|" delimiter is detected from the header line.
    """
    lines = _lines(chunks, max_record_bytes)
    line_no = 0
    header_line = ""
    for raw in lines:
        line_no += 1
        if raw is None:
            raise ValidationFailed(Violation("header", f"longer than {max_record_bytes} bytes"))
        if line_no == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        try:
            header_line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed(Violation("header", _NOT_UTF8)) from None
        if header_line.strip():
            break
    else:
        raise ValidationFailed(Violation("header", "the file is empty: a header row is required"))
    delimiter = _sniff_delimiter(header_line)
    header = next(csv.reader([header_line], delimiter=delimiter), [])
    keys = _map_header(header, column_mapping)
    width = len(keys)
    used = [(i, k) for i, k in enumerate(keys) if k is not None]
    list_keys = {k for k in keys if k in LIST_FIELDS}
    repeated = len(used) != len({k for _, k in used})

    feed = _CsvLines(lines, line_no, max_record_bytes)
    index = 0
    end = line_no  # last line of the previous record
    while True:
        reader = csv.reader(feed, delimiter=delimiter)
        try:
            for row in reader:
                start, end = end + 1, feed.line
                bad = feed.bad
                feed.bad, feed.size = False, 0
                if not any(row):
                    continue  # an empty line, or a row of empty cells
                if bad:
                    yield _error(index, start, _NOT_UTF8)
                elif len(row) != width:
                    if not "".join(row).strip():
                        continue  # a line of blanks
                    yield _error(index, start, f"expected {width} fields, found {len(row)}")
                elif repeated:
                    fields: dict[str, Any] = {}
                    for i, key in used:
                        cell = row[i]
                        if cell:
                            if key in fields and key in list_keys:
                                fields[key] = f"{fields[key]};{cell}"
                            else:
                                fields[key] = cell
                    yield RawRecord(index, start, fields, None)
                else:
                    yield RawRecord(index, start, {k: row[i] for i, k in used if row[i]}, None)
                index += 1
            return
        except _RecordTooLong:
            yield _error(index, end + 1, f"longer than {max_record_bytes} bytes")
        except csv.Error as exc:
            yield _error(index, end + 1, f"malformed CSV: {exc}")
        # Go on with a fresh reader from the next line: one broken record does not end
        # the file.
        index += 1
        end = feed.line
        feed.bad, feed.size = False, 0


# ---------------------------------------------------------------------------------------
# NDJSON


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def _json_object(raw: bytes) -> tuple[dict | None, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, _NOT_UTF8
    try:
        value = _decoder.decode(text)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} at column {exc.colno}"
    except (ValueError, RecursionError) as exc:
        return None, f"invalid JSON: {exc}"
    if not isinstance(value, dict):
        return None, "expected a JSON object"
    return value, ""


def _ndjson_objects(
    lines: Iterable[bytes | None], first_line: int, max_bytes: int
) -> Iterator[tuple[int, dict | None, str]]:
    """(line number, object or None, error) of each non-blank line."""
    for line_no, raw in enumerate(lines, start=first_line):
        if raw is None:
            yield line_no, None, f"longer than {max_bytes} bytes"
            continue
        if line_no == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if not raw.strip():
            continue
        obj, reason = _json_object(raw)
        yield line_no, obj, reason


def parse_ndjson(
    chunks: Iterable[bytes], *, max_record_bytes: int = MAX_LINE_BYTES
) -> Iterator[RawRecord]:
    """One JSON object per line; blank lines are skipped."""
    lines = _lines(chunks, max_record_bytes)
    for index, (line_no, obj, reason) in enumerate(_ndjson_objects(lines, 1, max_record_bytes)):
        if obj is None:
            yield _error(index, line_no, reason)
        else:
            yield RawRecord(index, line_no, obj, None)


# ---------------------------------------------------------------------------------------
# JSON Resume

_PROFILE_URL_TEMPLATES = {
    "linkedin": "https://linkedin.com/in/{}",
    "github": "https://github.com/{}",
    "gitlab": "https://gitlab.com/{}",
    "twitter": "https://x.com/{}",
    "x": "https://x.com/{}",
    "stackoverflow": "https://stackoverflow.com/users/{}",
}
_EXTENSION_KEYS = ("external_id", "source", "tags")


def _obj(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _present(value: Any) -> bool:
    return value is not None and value != ""


def json_resume_to_record(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A record for `build_draft` from a JSON Resume 1.0 document.

    basics.name/email/phone/label/summary, basics.location (city, else region;
    countryCode), basics.profiles (url, or network + username for well-known networks),
    skills (each name and each keyword become a skill at the group's level word), the most
    recent work entry (by startDate) for the current company and, without a label, the
    headline, languages[].language, and external_id/source/tags from ``x-rapport`` or
    ``meta``. Values are passed through as found: `build_draft` checks them.
    """
    record: dict[str, Any] = {}
    basics = _obj(doc.get("basics"))
    for src, dst in (
        ("name", "name"),
        ("email", "emails"),
        ("phone", "phones"),
        ("label", "headline"),
        ("summary", "summary"),
    ):
        if _present(basics.get(src)):
            record[dst] = basics[src]

    location = _obj(basics.get("location"))
    city = location.get("city") if _present(location.get("city")) else location.get("region")
    if _present(city):
        record["city"] = city
    if _present(location.get("countryCode")):
        record["country"] = location["countryCode"]

    urls: list[Any] = []
    profiles = basics.get("profiles")
    for profile in profiles if isinstance(profiles, list) else ():
        profile = _obj(profile)
        if _present(profile.get("url")):
            urls.append(profile["url"])
        elif isinstance(profile.get("username"), str) and profile["username"].strip():
            network = str(profile.get("network") or "").strip().lower()
            template = _PROFILE_URL_TEMPLATES.get(network)
            if template:
                urls.append(template.format(profile["username"].strip().lstrip("@")))
    if urls:
        record["profile_urls"] = urls

    skills: list[Any] = []
    groups = doc.get("skills")
    for group in groups if isinstance(groups, list) else ():
        group = _obj(group)
        level_word = group.get("level")
        level = (
            SKILL_LEVEL_WORDS.get(level_word.strip().lower(), 0)
            if isinstance(level_word, str)
            else 0
        )
        keywords = group.get("keywords")
        for name in [group.get("name"), *(keywords if isinstance(keywords, list) else ())]:
            if _present(name):
                skills.append({"name": name, "level": level} if level else name)
    if skills:
        record["skills"] = skills

    work = doc.get("work")
    jobs = [job for job in work if isinstance(job, dict)] if isinstance(work, list) else []
    if jobs:
        # Most recent by startDate (ISO dates sort as text); ties keep the listed order.
        latest = max(
            enumerate(jobs),
            key=lambda ij: (str(ij[1].get("startDate") or ""), -ij[0]),
        )[1]
        company = latest.get("name") if _present(latest.get("name")) else latest.get("company")
        if _present(company):
            record["current_company"] = company
        if "headline" not in record and _present(latest.get("position")):
            record["headline"] = latest["position"]

    languages = doc.get("languages")
    spoken = [
        lang.get("language")
        for lang in (languages if isinstance(languages, list) else ())
        if isinstance(lang, dict) and _present(lang.get("language"))
    ]
    if spoken:
        record["languages"] = spoken

    for section in (_obj(doc.get("meta")), _obj(doc.get("x-rapport"))):
        for key in _EXTENSION_KEYS:
            if _present(section.get(key)):
                record[key] = section[key]
    return record


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return not value.isascii() and any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _resume_record(index: int, line: int, doc: Any) -> RawRecord:
    if not isinstance(doc, dict):
        return _error(index, line, "expected a JSON Resume object")
    if _has_lone_surrogate(doc):
        return _error(index, line, _NOT_UTF8)
    return RawRecord(index, line, json_resume_to_record(doc), None)


_WHITESPACE = re.compile(r"[ \t\r\n]*")


def _json_documents(text: str, first_line: int) -> Iterator[RawRecord]:
    """Records of one buffered JSON document or array of documents."""
    pos = _WHITESPACE.match(text).end()
    line = first_line + text.count("\n", 0, pos)

    def locate(new_pos: int) -> int:
        nonlocal pos, line
        line += text.count("\n", pos, new_pos)
        pos = new_pos
        return line

    if not text.startswith("[", pos):
        try:
            doc, end = _decoder.raw_decode(text, pos)
        except ValueError as exc:
            yield _error(0, line, f"invalid JSON: {getattr(exc, 'msg', exc)}")
            return
        yield _resume_record(0, line, doc)
        if text[_WHITESPACE.match(text, end).end() :]:
            yield _error(1, locate(end), "unexpected data after the JSON document")
        return

    locate(_WHITESPACE.match(text, pos + 1).end())
    index = 0
    if text.startswith("]", pos):
        return
    while True:
        try:
            doc, end = _decoder.raw_decode(text, pos)
        except ValueError as exc:
            yield _error(index, line, f"invalid JSON: {getattr(exc, 'msg', exc)}")
            return
        yield _resume_record(index, line, doc)
        index += 1
        locate(_WHITESPACE.match(text, end).end())
        if text.startswith(",", pos):
            locate(_WHITESPACE.match(text, pos + 1).end())
            continue
        if text.startswith("]", pos):
            return
        yield _error(index, line, "invalid JSON: expected ',' or ']' in the array")
        return


def parse_json_resume(
    chunks: Iterable[bytes],
    max_bytes: int = 50_000_000,
    *,
    max_record_bytes: int = MAX_LINE_BYTES,
) -> Iterator[RawRecord]:
    """Records of JSON Resume documents: one document, a JSON array of them (both buffered
    up to `max_bytes`), or NDJSON with one document per line (streamed)."""
    lines = _lines(chunks, max(max_bytes, max_record_bytes))
    first: bytes | None = None
    first_no = 0
    for first_no, raw in enumerate(lines, start=1):
        if raw is None:
            raise ValidationFailed(Violation("file", f"longer than {max_bytes} bytes"))
        if first_no == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if raw.strip():
            first = raw
            break
    if first is None:
        return

    stripped = first.strip()
    if stripped.startswith(b"{"):
        obj, _ = _json_object(stripped)
        if obj is not None:  # a complete object on its own line: NDJSON, streamed
            yield _resume_record(0, first_no, obj)
            rest = _ndjson_objects(lines, first_no + 1, max_record_bytes)
            for index, (line_no, doc, reason) in enumerate(rest, start=1):
                if doc is None:
                    yield _error(index, line_no, reason)
                else:
                    yield _resume_record(index, line_no, doc)
            return

    pieces = [first]
    size = len(first)
    for raw in lines:
        if raw is None:
            raise ValidationFailed(Violation("file", f"longer than {max_bytes} bytes"))
        size += len(raw)
        if size > max_bytes:
            raise ValidationFailed(
                Violation(
                    "file",
                    f"a JSON Resume document or array over {max_bytes} bytes: "
                    "send it as NDJSON (one document per line)",
                )
            )
        pieces.append(raw)
    data = b"".join(pieces)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if not stripped.startswith(b"["):
            yield _error(0, first_no, _NOT_UTF8)
            return
        text = data.decode("utf-8", "surrogateescape")  # refused per document
    yield from _json_documents(text, first_no)


# ---------------------------------------------------------------------------------------
# Dispatch

FORMATS = ("csv", "json_resume", "ndjson")
_FORMAT_ALIASES = {
    "csv": "csv",
    "json_resume": "json_resume",
    "jsonresume": "json_resume",
    "json-resume": "json_resume",
    "ndjson": "ndjson",
    "jsonl": "ndjson",
}


def parse(
    format: str,
    chunks: Iterable[bytes],
    column_mapping: Mapping[str, str] | None = None,
    *,
    max_record_bytes: int = MAX_LINE_BYTES,
) -> Iterator[RawRecord]:
    """Records of an import file in `format`: "csv", "json_resume" (also "jsonresume")
    or "ndjson". A column mapping only applies to CSV."""
    kind = _FORMAT_ALIASES.get(format.strip().lower())
    if kind is None:
        raise ValidationFailed(
            Violation("format", f"unknown format {format!r}: use one of {', '.join(FORMATS)}")
        )
    if column_mapping and kind != "csv":
        raise ValidationFailed(Violation("column_mapping", "only applies to the csv format"))
    if kind == "csv":
        return parse_csv(chunks, column_mapping, max_record_bytes=max_record_bytes)
    if kind == "ndjson":
        return parse_ndjson(chunks, max_record_bytes=max_record_bytes)
    return parse_json_resume(chunks, max_record_bytes=max_record_bytes)
