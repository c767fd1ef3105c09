"""Management commands that share the web's code paths."""

import io
import json

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command

from kbassist.llm import set_backend

pytestmark = pytest.mark.django_db


def test_ask_json_with_the_real_model(public_collection, make_document, admin_user, smollm2):
    document = make_document(public_collection, "leave.md", "# Leave\n\n## Vacation\n\nFull-time staff get 28 vacation days per year.\n")
    set_backend(smollm2)
    try:
        out = io.StringIO()
        call_command("ask", "How many vacation days do I get?", "--json", stdout=out)
    finally:
        set_backend(None)
    data = json.loads(out.getvalue())
    assert data["answer"] and data["status"] == "complete"
    first = data["citations"][0]
    assert first["title"] == "Leave" and first["section"] == "Leave › Vacation" and first["url"]
    assert "file_path" not in first  # a title and a link, never where the file is stored
    assert document.file.name not in out.getvalue() and str(settings.MEDIA_ROOT) not in out.getvalue()
    assert data["timings"]["tokens"] > 0


def test_ensure_admin_prints_a_generated_password_once(settings):
    settings.KB_ADMIN_PASSWORD = ""
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    password = out.getvalue().split("password: ")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)
    again = io.StringIO()
    call_command("ensure_admin", stdout=again)
    assert again.getvalue() == ""


def test_ensure_admin_takes_the_password_from_the_settings(settings):
    settings.KB_ADMIN_PASSWORD = "s3cret-from-env"
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    assert "s3cret" not in out.getvalue()
    assert User.objects.get(username="admin").check_password("s3cret-from-env")


def test_rebuild_index_from_the_database(public_collection, make_document):
    from kbassist.retrieval.store import collection_dir, current_version

    make_document(public_collection, "a.md", "# A\n\nalpha\n")
    out = io.StringIO()
    call_command("rebuild_index", stdout=out)
    assert "Handbook: 1 chunks indexed" in out.getvalue()
    assert current_version(collection_dir(public_collection.pk)) == 1
