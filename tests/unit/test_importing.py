"""rapport.core.importing: streaming CSV, NDJSON and JSON Resume parsers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from rapport.core.domain import Seniority, SkillClaim
from rapport.core.errors import ValidationFailed, Violation
from rapport.core.importing import (
    RawRecord,
    iter_lines,
    json_resume_to_record,
    parse,
    parse_csv,
    parse_json_resume,
    parse_ndjson,
)
from rapport.core.validation import build_draft


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def in_all_chunkings(parser, data: bytes, **kwargs) -> list[RawRecord]:
    """Parse `data` fed whole, in 7-byte and in 1-byte chunks; all must agree."""
    whole = list(parser([data], **kwargs))
    for size in (1, 7):
        assert list(parser(chunked(data, size), **kwargs)) == whole, f"chunk size {size}"
    return whole


DESIGN_HEADER = (
    "external_id,first_name,last_name,email,phone,headline,country,timezone,languages,"
    "skills,source,linkedin"
)


# --- lines ----------------------------------------------------------------------------------


def test_iter_lines_across_chunk_boundaries():
    data = "a\nbé\r\n\nlast".encode()
    expected = [b"a\n", "bé\r\n".encode(), b"\n", b"last"]
    for size in (1, 2, 3, 100):
        assert list(iter_lines(chunked(data, size))) == expected
    assert list(iter_lines([b"", b"x", b"", b"\n"])) == [b"x\n"]
    assert list(iter_lines([])) == []
    assert list(iter_lines([bytearray(b"a\nb"), memoryview(b"c\n")])) == [b"a\n", b"bc\n"]


def test_iter_lines_guard():
    assert list(iter_lines([b"12345\n"], max_line_bytes=5)) == [b"12345\n"]
    with pytest.raises(ValidationFailed, match="longer than 5 bytes"):
        list(iter_lines([b"ok\n123456\n"], max_line_bytes=5))
    with pytest.raises(ValidationFailed):
        list(iter_lines(chunked(b"ok\n" + b"x" * 50, 3), max_line_bytes=5))


# --- CSV ------------------------------------------------------------------------------------


def test_design_headers_map_without_configuration():
    data = (
        DESIGN_HEADER + "\n"
        "ats-1,Ada,Lovelace,ada@example.com,+44 20 7946 0958,Analyst,GB,Europe/London,"
        "en;fr,Python;Maths;C++,referral,https://www.linkedin.com/in/ada/\n"
    ).encode()
    [record] = in_all_chunkings(parse_csv, data)
    assert record == RawRecord(
        index=0,
        line=2,
        fields={
            "external_id": "ats-1",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "emails": "ada@example.com",
            "phones": "+44 20 7946 0958",
            "headline": "Analyst",
            "country": "GB",
            "timezone": "Europe/London",
            "languages": "en;fr",
            "skills": "Python;Maths;C++",
            "source": "referral",
            "profile_urls": "https://www.linkedin.com/in/ada/",
        },
        error=None,
    )
    draft = build_draft(record.fields)
    assert draft.emails == ["ada@example.com"] and draft.phones == ["+442079460958"]
    assert draft.languages == ["en", "fr"]
    assert [s.skill_id for s in draft.skills] == ["python", "maths", "cplusplus"]
    assert draft.profile_urls == ["https://linkedin.com/in/ada"]


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("ID", "external_id"),
        ("Candidate ID", "external_id"),
        ("FirstName", "first_name"),
        ("given_name", "first_name"),
        ("Surname", "last_name"),
        ("family-name", "last_name"),
        ("Full Name", "name"),
        ("E-mail", "emails"),
        ("Email Address", "emails"),
        ("mail", "emails"),
        ("Mobile", "phones"),
        ("Telephone", "phones"),
        ("phone_number", "phones"),
        ("Job Title", "headline"),
        ("title", "headline"),
        ("About", "summary"),
        ("bio", "summary"),
        ("Employer", "current_company"),
        ("Current Company", "current_company"),
        ("Level", "seniority"),
        ("City", "city"),
        ("Country", "country"),
        ("TZ", "timezone"),
        ("Time Zone", "timezone"),
        ("Language", "languages"),
        ("Skills", "skills"),
        ("Source", "source"),
        ("Tags", "tags"),
        ("LinkedIn URL", "profile_urls"),
        ("profile_url", "profile_urls"),
        ("LINKEDIN", "profile_urls"),
        ("  Company  ", "current_company"),
    ],
)
def test_header_synonyms(header, key):
    [record] = parse_csv([f'"{header}",other\nvalue,x\n'.encode()], {"other": ""})
    assert record.fields == {key: "value"}


def test_explicit_mapping_wins_and_can_ignore_columns():
    data = b"Cand No,email,Notes,Title\n7,a@example.com,likes cats,CTO\n"
    [record] = parse_csv([data], {"Cand No": "external_id", "notes": "", "Title": "summary"})
    assert record.fields == {"external_id": "7", "emails": "a@example.com", "summary": "CTO"}


def test_unknown_headers_fail_the_whole_import_listing_each():
    data = b"email,Favourite Colour,shoe size\na@example.com,blue,9\n"
    with pytest.raises(ValidationFailed) as info:
        list(parse_csv([data]))
    fields = [v.field for v in info.value.violations]
    assert fields == ["header[1]", "header[2]"]
    assert "Favourite Colour" in info.value.violations[0].reason


def test_bad_mapping_target_and_clashing_columns():
    with pytest.raises(ValidationFailed) as info:
        list(parse_csv([b"a,b\n1,2\n"], {"a": "shoe_size", "b": "name"}))
    assert info.value.violations == [Violation("column_mapping[a]", "unknown field 'shoe_size'")]
    with pytest.raises(ValidationFailed, match="both map to headline"):
        list(parse_csv([b"title,headline\nx,y\n"]))


def test_repeated_list_columns_are_joined():
    data = b"name,email,Email 2,phone1,phone2\nAda,a@example.com,b@example.com,,+4930123456\n"
    [record] = parse_csv([data])
    assert record.fields == {
        "name": "Ada",
        "emails": "a@example.com;b@example.com",
        "phones": "+4930123456",
    }


def test_empty_file_and_header_problems():
    with pytest.raises(ValidationFailed, match="header row is required"):
        list(parse_csv([]))
    with pytest.raises(ValidationFailed, match="header row is required"):
        list(parse_csv([b"\n\r\n  \n"]))
    with pytest.raises(ValidationFailed, match="not valid UTF-8"):
        list(parse_csv([b"na\xffme\nx\n"]))
    assert list(parse_csv([b"name,email\n"])) == []


def test_bom_crlf_quoted_multiline_and_multibyte_across_every_chunking():
    text = (
        "\ufeffexternal_id,name,summary,city\r\n"
        '1,Zoë Ångström,"Line one,\r\nline two with ""quotes""\r\n",Malmö\r\n'
        "\r\n"
        "2,李小龍,,香港\r\n"
        '3,"Smith, Jo","multi\nline\nLF",\r\n'
        "4,Last Row,no newline at end,Oslo"
    )
    records = in_all_chunkings(parse_csv, text.encode())
    # Record 0 spans lines 2-4, line 5 is blank, record 2 spans lines 7-9.
    assert [(r.index, r.line) for r in records] == [(0, 2), (1, 6), (2, 7), (3, 10)]
    assert records[0].fields == {
        "external_id": "1",
        "name": "Zoë Ångström",
        "summary": 'Line one,\r\nline two with "quotes"\r\n',
        "city": "Malmö",
    }
    assert records[1].fields == {"external_id": "2", "name": "李小龍", "city": "香港"}
    assert records[2].fields["summary"] == "multi\nline\nLF"
    assert records[3].fields["city"] == "Oslo"
    assert build_draft(records[0].fields).summary == 'Line one,\nline two with "quotes"'


def test_bad_utf8_row_mid_file_does_not_stop_the_import(tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(
        b"name,email\n"
        b"Ada,ada@example.com\n"
        b"Bad \xff\xfe Row,bad@example.com\n"
        b'"Broken \xc3 multi\nline",x@example.com\n'
        + "Zoë,zoe@example.com\n".encode()
        + b"Grace,grace@example.com\n"
    )
    data = path.read_bytes()
    records = in_all_chunkings(parse_csv, data)
    assert [(r.index, r.line, r.error) for r in records] == [
        (0, 2, None),
        (1, 3, Violation("record", "not valid UTF-8")),
        (2, 4, Violation("record", "not valid UTF-8")),
        (3, 6, None),
        (4, 7, None),
    ]
    assert records[3].fields == {"name": "Zoë", "emails": "zoe@example.com"}
    assert records[4].fields == {"name": "Grace", "emails": "grace@example.com"}


def test_wrong_field_count_and_blank_rows():
    data = (
        b"name,email,city\nAda,a@example.com,Paris\nToo,few\n,,\n  \nA,b,c,d\nOk,o@example.com,\n"
    )
    records = list(parse_csv([data]))
    assert [(r.index, r.line) for r in records] == [(0, 2), (1, 3), (2, 6), (3, 7)]
    assert records[1].error == Violation("record", "expected 3 fields, found 2")
    assert records[2].error == Violation("record", "expected 3 fields, found 4")
    assert records[3].fields == {"name": "Ok", "emails": "o@example.com"}


def test_oversized_record_is_an_error_and_parsing_resumes():
    data = b"name,summary\nAda,short\nBob," + b"x" * 200 + b"\nCy,fine\n"
    records = in_all_chunkings(parse_csv, data, max_record_bytes=100)
    assert [(r.index, r.line) for r in records] == [(0, 2), (1, 3), (2, 4)]
    assert records[1].error == Violation("record", "longer than 100 bytes")
    assert records[2].fields == {"name": "Cy", "summary": "fine"}
    # A quoted field that never closes swallows lines until the guard trips.
    runaway = b'name,summary\nAda,"never closed\n' + b"filler line\n" * 20 + b"Zed,ok\n"
    records = list(parse_csv([runaway], max_record_bytes=100))
    assert records[0].error == Violation("record", "longer than 100 bytes")
    assert records[-1].fields == {"name": "Zed", "summary": "ok"}


def test_semicolon_and_tab_delimited_files():
    [semi] = parse_csv([b"name;email;skills\nAda;a@example.com;Python\n"])
    assert semi.fields == {"name": "Ada", "emails": "a@example.com", "skills": "Python"}
    [tab] = parse_csv([b"name\temail\nAda\ta@example.com\n"])
    assert tab.fields == {"name": "Ada", "emails": "a@example.com"}


def test_csv_streams_without_reading_everything_first():
    def endless() -> Iterator[bytes]:
        yield b"name,email\n"
        n = 0
        while True:
            n += 1
            yield f"P{n},p{n}@example.com\n".encode()

    stream = parse_csv(endless())
    first = [next(stream) for _ in range(3)]
    assert [r.fields["name"] for r in first] == ["P1", "P2", "P3"]


# --- NDJSON ---------------------------------------------------------------------------------


def test_ndjson_good_bad_and_blank_lines():
    data = (
        b'\xef\xbb\xbf{"name": "Ada", "emails": ["ada@example.com"]}\r\n'
        b"\n"
        b"[1, 2]\n"
        b'{"name": "broken"\n'
        b'{"name": "Bad \xff"}\n'
        b'{"n": NaN}\n' + '{"name": "Zoë Ångström", "location": {"city": "Malmö"}}'.encode()
    )
    records = in_all_chunkings(parse_ndjson, data)
    assert records[0] == RawRecord(0, 1, {"name": "Ada", "emails": ["ada@example.com"]}, None)
    assert [(r.index, r.line) for r in records] == [(0, 1), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7)]
    assert records[1].error == Violation("record", "expected a JSON object")
    assert records[2].error.reason.startswith("invalid JSON")
    assert records[3].error == Violation("record", "not valid UTF-8")
    assert records[4].error.reason.startswith("invalid JSON")
    assert records[5].fields == {"name": "Zoë Ångström", "location": {"city": "Malmö"}}


def test_ndjson_overlong_line():
    data = b'{"name": "a"}\n{"name": "' + b"x" * 100 + b'"}\n{"name": "c"}\n'
    records = in_all_chunkings(parse_ndjson, data, max_record_bytes=50)
    assert [(r.line, r.error) for r in records] == [
        (1, None),
        (2, Violation("record", "longer than 50 bytes")),
        (3, None),
    ]


# --- JSON Resume ----------------------------------------------------------------------------

SAMPLE_RESUME = {
    "$schema": "https://raw.githubusercontent.com/jsonresume/resume-schema/v1.0.0/schema.json",
    "basics": {
        "name": "Richard Hendriks",
        "label": "Programmer",
        "image": "",
        "email": "Richard.Hendriks@mail.com",
        "phone": "+1 (912) 555-4321",
        "url": "http://richardhendricks.example.com",
        "summary": "Richard hails from Tulsa. He has earned degrees from the University of "
        "Oklahoma and Stanford. (Go Sooners and Cardinal!)",
        "location": {
            "address": "2712 Broadway St",
            "postalCode": "CA 94115",
            "city": "San Francisco",
            "countryCode": "US",
            "region": "California",
        },
        "profiles": [
            {"network": "Twitter", "username": "neutralthoughts", "url": ""},
            {
                "network": "SoundCloud",
                "username": "dandymusicnl",
                "url": "https://soundcloud.example.com/dandymusicnl",
            },
            {
                "network": "LinkedIn",
                "username": "richardhendriks",
                "url": "https://www.linkedin.com/in/richardhendriks/",
            },
        ],
    },
    "work": [
        {
            "name": "Pied Piper",
            "location": "Palo Alto, CA",
            "description": "Awesome compression company",
            "position": "CEO/President",
            "url": "http://piedpiper.example.com",
            "startDate": "2013-12-01",
            "endDate": "2014-12-01",
            "summary": "Pied Piper is a multi-platform technology company.",
            "highlights": [
                "Build an algorithm for artist to detect if their music was "
                "violating copy right infringement laws"
            ],
        },
        {
            "name": "Hooli",
            "position": "Software Engineer",
            "startDate": "2011-06-01",
            "endDate": "2013-11-30",
        },
        {
            "name": "Raviga",
            "position": "Chief Architect",
            "startDate": "2015-01-15",
        },
    ],
    "education": [
        {
            "institution": "University of Oklahoma",
            "area": "Information Technology",
            "studyType": "Bachelor",
            "startDate": "2011-06-01",
            "endDate": "2014-01-01",
            "score": "4.0",
            "courses": ["DB1101 - Basic SQL", "CS2011 - Java Introduction"],
        }
    ],
    "skills": [
        {"name": "Web Development", "level": "Master", "keywords": ["HTML", "CSS", "Javascript"]},
        {"name": "Compression", "level": "Advanced", "keywords": ["Mpeg", "MP4", "GIF"]},
        {"name": "Rust", "level": "Beginner", "keywords": []},
        {"name": "Cooking", "level": "Pretty good"},
    ],
    "languages": [
        {"language": "English", "fluency": "Native speaker"},
        {"language": "Spanish", "fluency": "Conversational"},
    ],
    "interests": [{"name": "Wildlife", "keywords": ["Ferrets", "Unicorns"]}],
    "meta": {
        "canonical": "https://example.com/resume.json",
        "version": "v1.0.0",
        "source": "jsonresume",
    },
    "x-rapport": {"external_id": "rh-001", "tags": ["founder", "compression"]},
}


def test_json_resume_to_record():
    record = json_resume_to_record(SAMPLE_RESUME)
    assert record == {
        "name": "Richard Hendriks",
        "emails": "Richard.Hendriks@mail.com",
        "phones": "+1 (912) 555-4321",
        "headline": "Programmer",
        "summary": SAMPLE_RESUME["basics"]["summary"],
        "city": "San Francisco",
        "country": "US",
        "profile_urls": [
            "https://x.com/neutralthoughts",
            "https://soundcloud.example.com/dandymusicnl",
            "https://www.linkedin.com/in/richardhendriks/",
        ],
        "skills": [
            {"name": "Web Development", "level": 5},
            {"name": "HTML", "level": 5},
            {"name": "CSS", "level": 5},
            {"name": "Javascript", "level": 5},
            {"name": "Compression", "level": 4},
            {"name": "Mpeg", "level": 4},
            {"name": "MP4", "level": 4},
            {"name": "GIF", "level": 4},
            {"name": "Rust", "level": 2},
            "Cooking",
        ],
        "current_company": "Raviga",  # most recent startDate, not the first listed
        "languages": ["English", "Spanish"],
        "source": "jsonresume",
        "external_id": "rh-001",
        "tags": ["founder", "compression"],
    }
    draft = build_draft(record)
    assert (draft.first_name, draft.last_name) == ("Richard", "Hendriks")
    assert draft.emails == ["richard.hendriks@mail.com"]
    assert draft.phones == ["+19125554321"]
    assert draft.languages == ["en", "es"]
    assert draft.skills[0] == SkillClaim("web-development", "Web Development", 5)
    assert draft.seniority is Seniority.UNSPECIFIED
    assert draft.profile_urls[-1] == "https://linkedin.com/in/richardhendriks"


def test_json_resume_fallbacks():
    record = json_resume_to_record(
        {
            "basics": {"name": "A B", "location": {"region": "Bavaria", "countryCode": "DE"}},
            "work": [
                {"company": "Old Schema GmbH", "position": "Engineer"},
                {"name": "Earlier", "position": "Intern"},
            ],
        }
    )
    assert record == {
        "name": "A B",
        "city": "Bavaria",
        "country": "DE",
        "current_company": "Old Schema GmbH",
        "headline": "Engineer",
    }
    assert json_resume_to_record({"basics": "nonsense", "skills": "x", "work": {}}) == {}


def test_parse_json_resume_single_pretty_document():
    data = json.dumps(SAMPLE_RESUME, indent=2, ensure_ascii=False).encode()
    [record] = in_all_chunkings(parse_json_resume, b"\xef\xbb\xbf\n" + data)
    assert record.index == 0 and record.line == 2 and record.error is None
    assert record.fields == json_resume_to_record(SAMPLE_RESUME)


def test_parse_json_resume_array_with_a_bad_element():
    docs = [
        {"basics": {"name": "First Person", "email": "one@example.com"}},
        "not a resume",
        {"basics": {"name": "Third Person", "label": "Zoë\u2019s"}},
    ]
    data = json.dumps(docs, indent=1, ensure_ascii=False).encode()
    records = in_all_chunkings(parse_json_resume, data)
    assert [r.index for r in records] == [0, 1, 2]
    assert records[0].fields == {"name": "First Person", "emails": "one@example.com"}
    assert records[1].error == Violation("record", "expected a JSON Resume object")
    assert records[2].fields == {"name": "Third Person", "headline": "Zoë\u2019s"}
    assert [r.line for r in records] == [2, 8, 9]
    assert list(parse_json_resume([b"[]"])) == []
    assert list(parse_json_resume([b"  \n"])) == []


def test_parse_json_resume_array_with_bad_utf8_in_one_document():
    data = (
        b'[{"basics": {"name": "Good"}},\n {"basics": {"name": "Bad \xff"}},\n'
        b' {"basics": {"name": "Also good"}}]'
    )
    records = list(parse_json_resume([data]))
    assert [r.error for r in records] == [None, Violation("record", "not valid UTF-8"), None]
    assert [r.line for r in records] == [1, 2, 3]


def test_parse_json_resume_ndjson_streams():
    lines = [json.dumps(SAMPLE_RESUME), "", json.dumps({"basics": {"name": "Second"}}), "{oops"]
    data = "\n".join(lines).encode()
    records = in_all_chunkings(parse_json_resume, data)
    assert [(r.index, r.line) for r in records] == [(0, 1), (1, 3), (2, 4)]
    assert records[0].fields["external_id"] == "rh-001"
    assert records[1].fields == {"name": "Second"}
    assert records[2].error.reason.startswith("invalid JSON")


def test_parse_json_resume_broken_or_too_big():
    [record] = parse_json_resume([b'{\n "basics": {"name": "x"\n'])
    assert record.error.reason.startswith("invalid JSON")
    [record] = parse_json_resume([b'{\n "basics": {"name": "\xff"}\n}'])
    assert record.error == Violation("record", "not valid UTF-8")
    with pytest.raises(ValidationFailed, match="send it as NDJSON"):
        list(parse_json_resume(chunked(b'[\n{"basics": {}},\n' * 100 + b"]", 10), max_bytes=200))


# --- dispatch -------------------------------------------------------------------------------


def test_parse_dispatch():
    assert [r.fields for r in parse("csv", [b"name\nAda\n"])] == [{"name": "Ada"}]
    assert [r.fields for r in parse("NDJSON", [b'{"name": "Ada"}\n'])] == [{"name": "Ada"}]
    doc = b'{"basics": {"name": "Ada"}}'
    assert [r.fields for r in parse("json_resume", [doc])] == [{"name": "Ada"}]
    assert [r.fields for r in parse("jsonresume", [doc])] == [{"name": "Ada"}]
    with pytest.raises(ValidationFailed) as info:
        parse("xlsx", [b""])
    assert info.value.violations[0].field == "format"
    with pytest.raises(ValidationFailed, match="only applies to the csv format"):
        parse("ndjson", [b""], {"a": "name"})
    records = parse("csv", [b"Cand,mail\n1,a@example.com\n"], {"Cand": "external_id"})
    assert next(records).fields == {"external_id": "1", "emails": "a@example.com"}


def test_end_to_end_csv_to_drafts():
    data = (
        DESIGN_HEADER + "\n"
        "1,Ada,Lovelace,ADA@example.com,+44 20 7946 0958,Analyst,UK,europe/london,"
        "English;French,Python;C#,csv,linkedin.com/in/ada\n"
        "2,Bad,Email,nope,,,,,,,,\n"
        ",,,,,,,,,,,\n"
    ).encode()
    results = []
    for record in parse("csv", chunked(data, 5)):
        try:
            results.append(build_draft(record.fields, default_source="import"))
        except ValidationFailed as exc:
            results.append([v.field for v in exc.violations])
    assert results[0].country == "GB" and results[0].timezone == "Europe/London"
    assert results[0].languages == ["en", "fr"]
    assert [s.skill_id for s in results[0].skills] == ["python", "csharp"]
    assert results[0].profile_urls == ["https://linkedin.com/in/ada"]
    assert results[1] == ["emails[0]"]
    assert len(results) == 2  # the row of empty cells is skipped
