"""`manage.py ask`: the CLI door into the same answer pipeline as the websocket."""

import io
import json

import pytest
from django.conf import settings
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_ask_json_with_the_real_model(handbook, admin_user, smollm2, backend):
    backend(smollm2)
    out = io.StringIO()
    call_command("ask", "How many vacation days do I get?", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["answer"] and data["status"] == "complete"
    first = data["citations"][0]
    assert first["title"] == "Leave" and first["section"] == "Leave › Vacation" and first["url"]
    assert "file_path" not in first  # a title and a link, never where the file is stored
    assert handbook.file.name not in out.getvalue() and str(settings.MEDIA_ROOT) not in out.getvalue()
    assert data["timings"]["tokens"] > 0


def test_ask_prints_the_checked_answer_when_verification_changed_it(public_collection, make_document, admin_user, backend):
    from tests.fakes import ScriptedBackend

    make_document(public_collection, "leave.md", "# Leave\n\n## Vacation\n\nFull-time staff get 28 vacation days per year.\n")
    backend(ScriptedBackend("Full-time staff get 35 vacation days per year."))
    out = io.StringIO()
    call_command("ask", "How many vacation days do full-time staff get?", stdout=out)
    checked = out.getvalue().split("Checked against the sources, the answer is:")[1]
    assert "28 vacation days" in checked and "35" not in checked
