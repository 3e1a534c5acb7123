"""Resume files to plain text: PDF (pypdf) and DOCX (python-docx), told apart by their
first bytes, never by the name a browser sends. Anything else, anything unreadable,
encrypted, oversized or without text is refused with a sentence a candidate understands;
nothing is kept either way (the text only goes on to skill extraction)."""

from __future__ import annotations

import io
import zipfile

MAX_PAGES = 50
MAX_TEXT_CHARS = 100_000  # well inside ExtractSkills' 200,000
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # a DOCX inflating past this is refused (zip bomb)
PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
DOCX_PART = "word/document.xml"


class ResumeRejected(ValueError):
    """Why a file is not usable; the message is shown to the candidate as is."""


def kind_of(data: bytes) -> str:
    """ "pdf", "docx" or "" by content. PDF readers accept the header within the first KiB."""
    if PDF_MAGIC in data[:1024]:
        return "pdf"
    if data.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if DOCX_PART in archive.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            return ""
    return ""


def resume_text(data: bytes, max_bytes: int) -> str:
    """The text of a resume file, or ResumeRejected."""
    if not data:
        raise ResumeRejected("The file is empty.")
    if len(data) > max_bytes:
        raise ResumeRejected(f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
    kind = kind_of(data)
    if kind == "pdf":
        text = _pdf_text(data)
    elif kind == "docx":
        text = _docx_text(data)
    else:
        raise ResumeRejected("Only PDF and Word (.docx) files can be read.")
    text = "\n".join(line.strip() for line in text.splitlines() if line.strip())
    if not text:
        raise ResumeRejected(
            "We found no text in this file. A scanned image has none: try a PDF saved from "
            "your word processor, or a .docx."
        )
    return text[:MAX_TEXT_CHARS]


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ResumeRejected("This PDF is password-protected: save it without a password.")
        if len(reader.pages) > MAX_PAGES:
            raise ResumeRejected(f"This PDF has more than {MAX_PAGES} pages.")
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except ResumeRejected:
        raise
    except FileNotDecryptedError:
        raise ResumeRejected(
            "This PDF is password-protected: save it without a password."
        ) from None
    except Exception:  # a parser of untrusted bytes fails in many ways; all mean the same
        raise ResumeRejected("This PDF is damaged or not a PDF we can read.") from None


def _docx_text(data: bytes) -> str:
    import docx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise ResumeRejected("This Word document is too large once unpacked.")
        document = docx.Document(io.BytesIO(data))
    except ResumeRejected:
        raise
    except Exception:  # as for PDFs: any failure of the parser is a file we cannot read
        raise ResumeRejected("This Word document is damaged or not one we can read.") from None
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


__all__ = ["ResumeRejected", "kind_of", "resume_text"]
