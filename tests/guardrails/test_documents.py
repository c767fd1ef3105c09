"""The per-document cap (KB_MAX_DOCUMENT_PAGES, KB_MAX_DOCUMENT_CHARS), through
`import_documents`: a document over it fails with that reason; the others are ingested."""

import io

import pytest
from django.core.management import CommandError, call_command

from kbassist.knowledge.models import Document

pytestmark = pytest.mark.django_db(transaction=True)


def pdf_with_pages(n: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for i in range(n):
        pdf.add_page()
        pdf.cell(0, 10, f"Page {i + 1} of the travel policy: book trains at least 14 days ahead.")
    return bytes(pdf.output())


def run_import(folder):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"1 file\(s\) failed"):
        call_command("import_documents", str(folder), "--collection", "Handbook", "--timeout", "120", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_document_with_too_many_characters_fails_with_the_reason(tmp_path, settings):
    settings.KB_MAX_DOCUMENT_CHARS = 2000
    (tmp_path / "huge.md").write_text("# Huge\n\n" + "Staff get 28 vacation days per year. " * 100)
    (tmp_path / "small.md").write_text("# Small\n\nTell your manager before 10:00.\n")
    out, err = run_import(tmp_path)
    reason = "The document has 3,699 characters of text; the limit is 2,000 (KB_MAX_DOCUMENT_CHARS). Split it into smaller files."
    assert "huge.md" in err and reason in err
    huge = Document.objects.get(original_name="huge.md")
    assert huge.status == "failed" and huge.error == reason and huge.chunk_count == 0
    assert Document.objects.get(original_name="small.md").status == "ready"


def test_a_pdf_with_too_many_pages_fails_before_its_text_is_read(tmp_path, settings):
    settings.KB_MAX_DOCUMENT_PAGES = 3
    (tmp_path / "long.pdf").write_bytes(pdf_with_pages(5))
    (tmp_path / "short.pdf").write_bytes(pdf_with_pages(2))
    out, err = run_import(tmp_path)
    reason = "The document has 5 pages; the limit is 3 (KB_MAX_DOCUMENT_PAGES). Split it into smaller files."
    assert "long.pdf" in err and reason in err
    assert Document.objects.get(original_name="long.pdf").error == reason
    assert Document.objects.get(original_name="short.pdf").status == "ready"
