"""The ingestion pipeline in-process: statuses, chunk counts, replacement, FAQs, bad input."""

import pytest

from kbassist.ingestion.pipeline import ingest_document
from kbassist.ingestion.importing import FileRejected, add_document, import_faq_csv
from kbassist.knowledge.models import FAQ, Chunk, Document
from kbassist.retrieval.search import search

pytestmark = pytest.mark.django_db


def test_document_becomes_ready_with_chunks_and_progress(public_collection, make_document):
    document = make_document(public_collection, "leave.md", "# Leave\n\n## Vacation\n\n28 days a year.\n")
    assert document.status == Document.Status.READY
    assert document.progress == 100 and document.error == ""
    assert document.chunk_count == Chunk.objects.filter(document=document).count() == 1
    assert document.title == "Leave"


def test_broken_file_fails_with_reason_and_others_carry_on(public_collection, make_document, employee):
    broken = make_document(public_collection, "broken.pdf", b"%PDF-1.7 truncated")
    good = make_document(public_collection, "ok.md", "# Parking\n\nParking is free on Fridays.\n")
    assert broken.status == Document.Status.FAILED
    assert "PDF" in broken.error and broken.chunk_count == 0
    assert good.status == Document.Status.READY
    assert search("parking Friday", employee).hits[0].chunk.document == good


def test_unsupported_type_fails_readably(public_collection, make_document):
    document = make_document(public_collection, "song.mp3", b"ID3\x03\x00")
    assert document.status == Document.Status.FAILED
    assert "Unsupported file type '.mp3'" in document.error


def test_same_file_twice_is_not_duplicated(public_collection, tmp_path, django_capture_on_commit_callbacks):
    path = tmp_path / "a.md"
    path.write_text("# A\n\nSame content.\n")
    with django_capture_on_commit_callbacks(execute=True):
        with open(path, "rb") as fh:
            add_document(public_collection, fh, "a.md")
    with open(path, "rb") as fh, pytest.raises(FileRejected, match="already in"):
        add_document(public_collection, fh, "copy-of-a.md")
    assert Document.objects.count() == 1


def test_reimport_from_same_path_skips_unchanged_and_replaces_changed(public_collection, tmp_path, django_capture_on_commit_callbacks, employee):
    path = tmp_path / "policy.md"
    path.write_text("# Policy\n\nThe old rule: lunch at noon.\n")
    with django_capture_on_commit_callbacks(execute=True), open(path, "rb") as fh:
        first, queued = add_document(public_collection, fh, "policy.md", source_path=str(path))
    assert queued
    with open(path, "rb") as fh:
        assert add_document(public_collection, fh, "policy.md", source_path=str(path)) == (first, False)
    old_chunks = set(Chunk.objects.filter(document=first).values_list("pk", flat=True))
    path.write_text("# Policy\n\nThe new rule: lunch at one o'clock.\n")
    with django_capture_on_commit_callbacks(execute=True), open(path, "rb") as fh:
        second, queued = add_document(public_collection, fh, "policy.md", source_path=str(path))
    assert queued and second.pk == first.pk and Document.objects.count() == 1
    assert not old_chunks & set(Chunk.objects.filter(document=second).values_list("pk", flat=True))
    texts = [hit.chunk.text for hit in search("lunch rule", employee).hits]
    assert any("one o'clock" in t for t in texts) and not any("noon" in t for t in texts)


def test_faq_csv_import_indexes_each_entry_as_one_chunk(public_collection, employee, django_capture_on_commit_callbacks):
    data = 'question,answer\n"How do I reset my password?","Use id.northwind.example, or call ext. 4400."\n如何连接VPN？,使用 NorthwindVPN 客户端。\n'
    with django_capture_on_commit_callbacks(execute=True):
        created = import_faq_csv(public_collection, data.encode()).entries
    assert len(created) == 2
    assert Chunk.objects.filter(faq__isnull=False).count() == 2
    hit = search("reset password", employee).hits[0]
    assert hit.chunk.faq.question == "How do I reset my password?"
    assert hit.chunk.citation()["kind"] == "faq"
    with django_capture_on_commit_callbacks(execute=True):
        assert import_faq_csv(public_collection, data.encode()).entries == []  # unchanged: nothing to do
    assert FAQ.objects.count() == 2


def test_faq_csv_errors_are_readable(public_collection):
    with pytest.raises(ValueError, match=r"No row has both a question and an answer \(lines 1\)"):
        import_faq_csv(public_collection, b"only a question\n")
    with pytest.raises(ValueError, match="no question,answer rows"):
        import_faq_csv(public_collection, "问题,答案\n".encode("gb18030"))


def test_faq_csv_in_another_encoding_is_decoded(public_collection):
    result = import_faq_csv(public_collection, "问题,答案\n年假有多少天？,每年28天。\n".encode("gb18030"))
    assert [faq.question for faq in result.entries] == ["年假有多少天？"] and not result.problem


def test_bad_faq_rows_are_named_by_line_and_the_good_ones_imported(public_collection):
    data = (
        "question,answer\n"
        "Who approves travel?,Your manager.\n"
        "A question without an answer,\n"  # line 3
        '"A quoted answer over two lines?","Yes:\nit is one row."\n'  # lines 4-5
        ",An answer without a question\n"  # line 6
        "When is payday?,On the 25th.\n"
    )
    result = import_faq_csv(public_collection, data.encode())
    assert result.bad_lines == [3, 6] and result.good_rows == 3
    assert "2 rows without both a question and an answer, at lines 3, 6" in result.problem
    assert "the other 3 rows were imported" in result.problem
    assert FAQ.objects.filter(collection=public_collection).count() == 3


def test_editing_a_faq_reindexes_it(public_collection, employee, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        faq = FAQ.objects.create(collection=public_collection, question="When is payday?", answer="On the 25th.")
    with django_capture_on_commit_callbacks(execute=True):
        faq.answer = "On the last working day of the month."
        faq.save()
    chunks = Chunk.objects.filter(faq=faq)
    assert chunks.count() == 1 and "last working day" in chunks.get().text
    assert "last working day" in search("payday", employee).hits[0].chunk.text


def test_deleted_document_is_skipped_by_the_task(public_collection, make_document):
    document = make_document(public_collection, "gone.md", "# Gone\n\ntext\n", ingest=False)
    pk = document.pk
    document.delete()
    assert ingest_document(pk) is None


def test_an_unexpected_error_does_not_show_where_the_file_is_stored(public_collection, make_document, monkeypatch, settings):
    from kbassist.ingestion import pipeline

    def explode(path, name=None, progress=None):
        raise OSError(f"[Errno 5] Input/output error: '{path}'")

    monkeypatch.setattr(pipeline, "parse", explode)
    document = make_document(public_collection, "notes.md", "# Notes\n\nx\n")
    assert document.status == Document.Status.FAILED
    assert "Input/output error: 'notes.md'" in document.error
    assert str(settings.MEDIA_ROOT) not in document.error and "documents/" not in document.error
