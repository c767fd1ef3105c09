"""`manage.py rebuild_index`: the search indexes rebuilt from the database.

(`import_documents` runs against a real worker: tests/e2e/test_worker.py.)"""

import io

import pytest
from django.core.management import call_command

from kbassist.retrieval.store import collection_dir, current_version

pytestmark = pytest.mark.django_db


def test_rebuild_index_from_the_database(public_collection, make_document):
    make_document(public_collection, "a.md", "# A\n\nalpha\n")
    out = io.StringIO()
    call_command("rebuild_index", stdout=out)
    assert "Handbook: 1 chunks indexed" in out.getvalue()
    assert current_version(collection_dir(public_collection.pk)) == 1
