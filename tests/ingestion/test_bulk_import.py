"""`manage.py import_documents` on a folder of every kind of file, good and bad: one bad file
never stops the others, and the summary accounts for every file (imported, unchanged,
skipped with the reason, failed with the reason) without showing where anything is stored.

Tasks run in-process here (CELERY_TASK_ALWAYS_EAGER); tests/e2e/test_worker.py runs the same
command against a real worker."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kbassist.knowledge.models import FAQ, Document

from .test_formats import OLE_HEADER, make_xlsx

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit fires: each file is ingested at once


def mixed_folder(root):
    folder = root / "company"
    (folder / "hr").mkdir(parents=True)
    (folder / "it").mkdir()
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core]\n")
    # Good files
    (folder / "hr" / "leave.md").write_text("# Leave\n\nFull-time staff get 28 vacation days per year.\n")
    (folder / "hr" / "hours.txt").write_text("Office hours are 08:00 to 18:00.\n")
    (folder / "it" / "vpn.html").write_text("<html><body><h1>VPN</h1><p>Use NorthwindVPN.</p></body></html>")
    make_xlsx(folder / "it" / "laptops.xlsx", {"D2": "3798"})
    (folder / "it" / "phones.csv").write_text("Team,Extension\nIT helpdesk,4400\n")
    # A malformed FAQ list: the good rows go in, the bad ones are named by line
    (folder / "faq.csv").write_text(
        "question,answer\nWho approves travel?,Your manager.\nHow do I get a badge?\n,Orphan answer\nWhen is payday?,On the 25th.\n"
    )
    # Nothing to index: skipped, not failed
    (folder / "hr" / "old-page.md").write_text("---\ntitle: Old page\nredirect_to: /hr/leave/\n---\n")
    (folder / "hr" / "empty.txt").write_bytes(b"")
    (folder / "photo.bmp").write_bytes(b"BM\x00\x00")
    # Broken files: failed, each with its reason
    (folder / "it" / "broken.docx").write_bytes(b"PK\x03\x04 truncated")
    (folder / "it" / "policy.pdf").write_text("<!DOCTYPE html><html><body>Sign in</body></html>")
    (folder / "hr" / "truncated.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")
    (folder / "hr" / "old.doc").write_bytes(OLE_HEADER)
    (folder / "it" / "sheet.xlsx").write_text("not a workbook")
    return folder


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_documents", *args, "--collection", "Company", "--timeout", "60", stdout=out, stderr=err)
        error = None
    except CommandError as exc:
        error = str(exc)
    return out.getvalue(), err.getvalue(), error


def test_a_folder_of_good_bad_and_empty_files_is_accounted_for_file_by_file(tmp_path, monkeypatch):
    from kbassist.ingestion.formats import legacy

    monkeypatch.setattr(legacy, "soffice", lambda: None)
    folder = mixed_folder(tmp_path)
    out, err, error = run(str(folder))

    # Every good file is ready, whatever came before or after it.
    ready = set(Document.objects.filter(status="ready").values_list("original_name", flat=True))
    assert ready == {"leave.md", "hours.txt", "vpn.html", "laptops.xlsx", "phones.csv"}
    assert sorted(FAQ.objects.values_list("question", flat=True)) == ["When is payday?", "Who approves travel?"]

    # Skipped: with the reason, on the standard output.
    assert "skipped  hr/old-page.md: A redirect page" in out
    assert "skipped  hr/empty.txt: The file is empty (0 bytes)." in out
    assert "skipped  photo.bmp: unsupported type .bmp" in out
    assert set(Document.objects.filter(status="skipped").values_list("original_name", flat=True)) == {"old-page.md", "empty.txt"}

    # Failed: each named with its reason, on the standard error; the command fails naming them.
    failures = dict(line[len("FAILED   "):].split(": ", 1) for line in err.splitlines() if line.startswith("FAILED"))
    assert set(failures) == {"faq.csv", "it/broken.docx", "it/policy.pdf", "hr/truncated.pdf", "hr/old.doc", "it/sheet.xlsx"}
    assert "2 rows without both a question and an answer, at lines 3, 4; the other 2 rows were imported" in failures["faq.csv"]
    assert "damaged or incomplete" in failures["it/broken.docx"]
    assert "is an HTML page, not a PDF" in failures["it/policy.pdf"]
    assert "LibreOffice" in failures["hr/old.doc"]
    assert "is plain text, not an Excel workbook" in failures["it/sheet.xlsx"]
    assert error.startswith("6 file(s) failed: ")

    summary = "Summary of 14 file(s): 5 imported"
    assert summary in out and "0 unchanged, 3 skipped, 6 failed; 1 hidden file(s) and folder(s) not read." in out
    # Nothing the server stores, nor the folder the files came from, is shown.
    for text in (out, err, error, *Document.objects.values_list("error", flat=True)):
        assert str(tmp_path) not in text and "/media/" not in text and "documents/" not in text

    # A second run: the good files are unchanged, the skipped ones still say why, the failures still fail.
    out, err, error = run(str(folder))
    assert "5 unchanged, 3 skipped, 6 failed" in out and "skipped  hr/old-page.md: A redirect page" in out


def test_only_redirects_and_blank_pages_to_skip_exits_zero(tmp_path):
    folder = tmp_path / "handbook"
    folder.mkdir()
    (folder / "leave.md").write_text("# Leave\n\n28 days.\n")
    (folder / "moved.md").write_text("---\ntitle: Moved\nredirect_to: /leave/\n---\n")
    (folder / "redirect.html").write_text(
        '<html><head><meta http-equiv="refresh" content="0; url=/leave/"></head><body><h1>Redirecting…</h1></body></html>'
    )
    out, err, error = run(str(folder))
    assert error is None and err == ""
    assert "Summary of 3 file(s): 1 imported" in out and "2 skipped, 0 failed." in out
    assert "skipped  redirect.html: A redirect page" in out
