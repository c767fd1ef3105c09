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
