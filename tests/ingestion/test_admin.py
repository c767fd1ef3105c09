"""The document and FAQ admin (kbassist.ingestion.admin) as a superuser uses it: uploads,
FAQ CSV import, duplicates, and every page renders. Who else may do what:
test_admin_permissions.py."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kbassist.knowledge.models import FAQ, Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def leave(public_collection, make_document):
    return make_document(public_collection, "leave.md", "# Leave\n\n28 days.\n")


def test_admin_faq_csv_import(client, admin_user, public_collection, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    upload = SimpleUploadedFile("faq.csv", "question,answer\nWhen is payday?,On the 25th.\n年假多少天？,28天。\n".encode())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:knowledge_faq_import"), {"collection": public_collection.pk, "csv_file": upload})
    assert response.status_code == 302
    assert FAQ.objects.count() == 2 and all(faq.chunks.count() == 1 for faq in FAQ.objects.all())
    bad = SimpleUploadedFile("bad.csv", b"just one column\n")
    response = client.post(reverse("admin:knowledge_faq_import"), {"collection": public_collection.pk, "csv_file": bad})
    assert response.status_code == 200 and "No row has both a question and an answer (lines 1)" in response.content.decode()
    # Some bad rows: the good ones are imported, the bad ones named by line.
    mixed = SimpleUploadedFile("mixed.csv", b"question,answer\nWho approves travel?,Your manager.\nNo answer here\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:knowledge_faq_import"), {"collection": public_collection.pk, "csv_file": mixed},
                               follow=True)
    page = response.content.decode()
    assert "1 FAQ entries imported" in page and "1 row without both a question and an answer, at line 3" in page
    assert FAQ.objects.filter(question="Who approves travel?").exists()


def test_admin_rejects_a_duplicate_upload(client, admin_user, leave):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:knowledge_document_upload"),
        {"collection": leave.collection_id, "files": SimpleUploadedFile("again.md", b"# Leave\n\n28 days.\n")}, follow=True,
    )
    assert "Skipped: again.md: already in “Handbook” as “Leave”" in response.content.decode()
    assert Document.objects.count() == 1


def test_add_document_is_the_multi_file_upload_of_files_zips_and_folders(
    client, admin_user, public_collection, django_capture_on_commit_callbacks
):
    import io
    import zipfile

    client.force_login(admin_user)
    assert client.get(reverse("admin:knowledge_document_add")).url == reverse("admin:knowledge_document_upload")
    page = client.get(reverse("admin:knowledge_document_upload")).content.decode()
    assert "webkitdirectory" in page and ".zip" in page
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hr/leave.md", "# Leave\n\n28 days.\n")
        archive.writestr("hr/faq.csv", "question,answer\nWho approves travel?,Your manager.\nNo answer\n")
        archive.writestr("hr/.DS_Store", "junk")
        archive.writestr("__MACOSX/hr/._leave.md", "junk")
        archive.writestr("music/song.mp3", "ID3")
    files = [SimpleUploadedFile("hr.zip", buffer.getvalue()), SimpleUploadedFile("it.txt", b"VPN: use NorthwindVPN.\n")]
    folder = [SimpleUploadedFile("parking.md", b"# Parking\n\nLevel 2.\n"), SimpleUploadedFile("empty.md", b"")]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:knowledge_document_upload"),
                               {"collection": public_collection.pk, "files": files, "folder": folder}, follow=True)
    page = response.content.decode()
    assert "6 file(s): 4 queued for ingestion, 0 FAQ list(s) imported, 1 skipped, 1 failed." in page
    assert "Skipped: hr.zip: music/song.mp3: unsupported type .mp3" in page
    assert "Failed: hr.zip: hr/faq.csv: FAQ list: 1 row without both a question and an answer, at line 3" in page
    statuses = dict(Document.objects.values_list("original_name", "status"))
    assert statuses == {"leave.md": "ready", "it.txt": "ready", "parking.md": "ready", "empty.md": "skipped"}
    assert FAQ.objects.filter(question="Who approves travel?").exists()
    # The list shows the skipped document with its reason.
    page = client.get(reverse("admin:knowledge_document_changelist")).content.decode()
    assert 'data-status="skipped"' in page and "The file is empty (0 bytes)." in page


def test_the_list_shows_the_stage_a_document_is_at(client, admin_user, leave):
    from kbassist.knowledge.models import Document

    leave.set_progress(Document.Status.PROCESSING, 40, stage="OCR, page 3 of 12")
    client.force_login(admin_user)
    page = client.get(reverse("admin:knowledge_document_changelist")).content.decode()
    assert 'data-status="processing"' in page and "OCR, page 3 of 12" in page


def test_admin_pages_render(client, admin_user, leave):
    client.force_login(admin_user)
    for name in ["admin:knowledge_document_changelist", "admin:knowledge_document_upload", "admin:knowledge_faq_changelist",
                 "admin:knowledge_faq_import"]:
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("admin:knowledge_document_change", args=[leave.pk])).status_code == 200


def test_a_folder_upload_keeps_each_file_s_path_and_a_second_upload_replaces_only_what_changed(
    client, admin_user, public_collection, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    url = reverse("admin:knowledge_document_upload")

    def upload(files, paths):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, {"collection": public_collection.pk, "folder": files, "folder_paths": json.dumps(paths)},
                               follow=True)

    upload([SimpleUploadedFile("leave.md", b"# Leave\n\n28 days.\n"), SimpleUploadedFile("vpn.md", b"# VPN\n\nUse WireGuard.\n")],
           ["policies/hr/leave.md", "/../policies/it/./vpn.md"])  # a path is a label, never a place on the server
    paths = dict(Document.objects.values_list("source_path", "status"))
    assert paths == {"policies/hr/leave.md": "ready", "policies/it/vpn.md": "ready"}
    leave = Document.objects.get(source_path="policies/hr/leave.md")

    page = upload([SimpleUploadedFile("leave.md", b"# Leave\n\n30 days.\n"), SimpleUploadedFile("vpn.md", b"# VPN\n\nUse WireGuard.\n")],
                  ["policies/hr/leave.md", "policies/it/vpn.md"]).content.decode()
    assert "policies/it/vpn.md: unchanged since it was uploaded from the same path" in page
    assert Document.objects.count() == 2 and Document.objects.get(pk=leave.pk).chunks.get().text.endswith("30 days.")

    # Paths that do not match the files (an old page, a forged field) fall back to the names.
    upload([SimpleUploadedFile("canteen.md", b"# Canteen\n\nLunch at noon.\n")], ["elsewhere/other.md"])
    assert Document.objects.get(original_name="canteen.md").source_path == ""
