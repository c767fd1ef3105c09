"""KB_MAX_UPLOAD_MB holds on every way in (admin upload, the Document form, the command
line, FAQ CSV import), checked before anything of the file is stored."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from kbassist.ingestion.importing import FileRejected, add_document, import_faq_csv
from kbassist.knowledge.models import Document

pytestmark = pytest.mark.django_db
BIG = b"# Big\n\n" + b"word " * 300_000  # 1.5 MB


@pytest.fixture(autouse=True)
def one_megabyte(settings):
    settings.KB_MAX_UPLOAD_MB = 1


def test_a_file_over_the_limit_is_refused_before_it_is_stored(public_collection):
    with pytest.raises(FileRejected, match="over the 1 MB limit"):
        add_document(public_collection, io.BytesIO(BIG), "big.md")
    assert Document.objects.count() == 0


def test_the_admin_upload_says_why_a_file_was_left_out(client, admin_user, public_collection):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:knowledge_document_upload"),
        {"collection": public_collection.pk, "files": [SimpleUploadedFile("big.md", BIG), SimpleUploadedFile("ok.md", b"# Ok\n\nfine\n")]},
        follow=True,
    )
    assert "over the 1 MB limit" in response.content.decode()
    assert list(Document.objects.values_list("original_name", flat=True)) == ["ok.md"]


def test_the_document_form_refuses_it_too(client, admin_user, public_collection):
    document, _ = add_document(public_collection, io.BytesIO(b"# Small\n\nfine\n"), "small.md")
    client.force_login(admin_user)
    response = client.post(reverse("admin:knowledge_document_change", args=[document.pk]),
                           {"collection": public_collection.pk, "title": "", "file": SimpleUploadedFile("big.md", BIG)})
    assert response.status_code == 200 and "over the 1 MB limit" in response.content.decode()
    assert list(Document.objects.values_list("original_name", flat=True)) == ["small.md"]


def test_a_zip_member_over_the_limit_is_skipped_unpacked_no_further(client, admin_user, public_collection):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.md", BIG)
        archive.writestr("ok.md", "# Ok\n\nfine\n")
    client.force_login(admin_user)
    response = client.post(reverse("admin:knowledge_document_upload"),
                           {"collection": public_collection.pk, "files": SimpleUploadedFile("docs.zip", buffer.getvalue())},
                           follow=True)
    assert "Skipped: docs.zip: big.md: 1.4 MB, over the 1 MB limit" in response.content.decode()
    assert list(Document.objects.values_list("original_name", flat=True)) == ["ok.md"]


def test_the_command_line_skips_it_and_names_it(tmp_path, public_collection):
    (tmp_path / "big.md").write_bytes(BIG)
    out = io.StringIO()
    call_command("import_documents", str(tmp_path), "--collection", public_collection.name, "--no-wait", stdout=out)
    assert "big.md" in out.getvalue() and "over the 1 MB limit" in out.getvalue()
    assert Document.objects.count() == 0


def test_an_faq_csv_over_the_limit_is_refused(public_collection):
    with pytest.raises(ValueError, match="over the 1 MB limit"):
        import_faq_csv(public_collection, b"question,answer\n" + b"q,a\n" * 300_000)
