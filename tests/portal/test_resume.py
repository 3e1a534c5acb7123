"""Resume upload: PDF and DOCX read into text, skills extracted by the matching taxonomy and
confirmed by the candidate; oversized, mistyped, damaged, encrypted and empty files are
refused with a clear message and nothing is written."""

from __future__ import annotations

import io

import docx
import pytest
from portal_helpers import csrf, sign_in
from pypdf import PdfReader, PdfWriter

from rapport.portal.resumes import ResumeRejected, kind_of, resume_text
from rapport.v1 import candidates_pb2, candidates_pb2_grpc

RESUME = "Ada Lovelace. Seven years of Kubernetes and PostgreSQL in production."


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF showing `text` (Helvetica), with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(tiny_pdf(RESUME))))
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def tiny_docx(text: str) -> bytes:
    document = docx.Document()
    document.add_heading("Resume", 1)
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_resume_text_by_content_not_by_name():
    assert kind_of(tiny_pdf("x")) == "pdf" and kind_of(tiny_docx("x")) == "docx"
    assert "Kubernetes" in resume_text(tiny_pdf(RESUME), 1 << 20)
    assert "Kubernetes" in resume_text(tiny_docx(RESUME), 1 << 20)
    for data, reason in (
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 100, "Only PDF and Word"),
        (b"PK\x03\x04 not really a zip", "Only PDF and Word"),
        (b"%PDF-1.7\n" + b"\x00garbage" * 50, "damaged"),
        (encrypted_pdf(), "password-protected"),
        (tiny_pdf(""), "no text"),
        (tiny_pdf(RESUME), "larger than"),
    ):
        with pytest.raises(ResumeRejected, match=reason):
            resume_text(data, 1 << 20 if reason != "larger than" else 100)


@pytest.fixture
def ada(portal, mailbox, person):
    cid = person("ada@example.com")
    sign_in(portal, mailbox, "ada@example.com")
    return cid


def upload(portal, name: str, data: bytes, content_type: str = "application/pdf"):
    token = csrf(portal.get("/resume"))
    return portal.post(
        "/resume", data={"csrf_token": token}, files={"resume": (name, data, content_type)}
    )


def stored(channel, cid):
    stub = candidates_pb2_grpc.CandidateServiceStub(channel)
    return stub.GetCandidate(candidates_pb2.GetCandidateRequest(id=cid))


@pytest.mark.parametrize(
    ("name", "data"),
    [("resume.pdf", tiny_pdf(RESUME)), ("cv.docx", tiny_docx(RESUME))],
    ids=["pdf", "docx"],
)
def test_skills_from_a_resume_after_confirmation(portal, ada, channel, name, data):
    before = stored(channel, ada)
    found = upload(portal, name, data)
    assert found.status_code == 200 and "Skills in your resume" in found.text
    assert 'value="Kubernetes' in found.text
    assert stored(channel, ada).version == before.version  # nothing written yet
    labels = [
        line.split('value="')[1].split('"')[0]
        for line in found.text.splitlines()
        if 'name="skill"' in line
    ]
    version = found.text.split('name="version" value="')[1].split('"')[0]
    confirmed = portal.post(
        "/resume/skills",
        data={"csrf_token": csrf(found), "version": version, "skill": labels[:1]},
    )
    assert confirmed.status_code == 200 and "Added" in confirmed.text
    after = {s.skill_id: s.source for s in stored(channel, ada).skills}
    assert len(after) == 2 and [v for k, v in after.items() if k != "python"] == ["resume"]


@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    [
        ("resume.pdf", b"\x89PNG\r\n\x1a\n" + b"0" * 200, 400, "Only PDF and Word"),
        ("resume.docx", b"plain text, not a document", 400, "Only PDF and Word"),
        ("resume.pdf", b"%PDF-1.7\n" + b"\x00broken" * 40, 400, "damaged"),
        ("resume.pdf", encrypted_pdf(), 400, "password-protected"),
        ("resume.pdf", b"", 400, "empty"),
        ("resume.pdf", b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024), 413, "larger than 5 MB"),
    ],
    ids=["image", "text", "malformed", "encrypted", "empty", "oversize"],
)
def test_unusable_files_are_refused_and_nothing_is_written(
    portal, ada, channel, name, data, status, message
):
    before = stored(channel, ada)
    answer = upload(portal, name, data)
    assert answer.status_code == status
    assert message in answer.text and 'role="alert"' in answer.text
    assert stored(channel, ada).version == before.version


def test_a_request_far_over_the_limit_is_refused_before_it_is_read(portal, ada):
    token = csrf(portal.get("/resume"))
    big = b"%PDF-1.4\n" + b"0" * (6 * 1024 * 1024)
    answer = portal.post(
        "/resume", data={"csrf_token": token}, files={"resume": ("r.pdf", big, "application/pdf")}
    )
    assert answer.status_code == 413
