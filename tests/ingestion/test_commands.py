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


def _as_written_before_keywords_were_recorded(collection_id):
    import json

    from kbassist.retrieval.store import index_cache

    folder = collection_dir(collection_id)
    meta = folder / f"v{current_version(folder):06d}" / "meta.json"
    recorded = json.loads(meta.read_text())
    del recorded["keywords"]
    meta.write_text(json.dumps(recorded))
    index_cache.clear()


def test_only_indexes_made_with_older_keywords_are_rebuilt_by_stale(public_collection, make_document):
    """An FAQ entry's BM25 tokens changed (asking words left out): an index made before keeps
    the old tokens until it is rebuilt, which ./kb start does with --stale."""
    from kbassist.ingestion.indexing import stale_collections, sync_collection

    make_document(public_collection, "a.md", "# A\n\nalpha\n")
    call_command("rebuild_index", stdout=io.StringIO())
    out = io.StringIO()
    call_command("rebuild_index", "--stale", stdout=out)
    assert out.getvalue() == "" and stale_collections([public_collection.pk]) == []

    _as_written_before_keywords_were_recorded(public_collection.pk)
    make_document(public_collection, "b.md", "# B\n\nbeta\n")
    sync_collection(public_collection.pk)  # rows appended to an old index: still stale
    assert stale_collections([public_collection.pk]) == [public_collection.pk]
    call_command("rebuild_index", "--stale", stdout=out)
    assert "Handbook: 2 chunks indexed" in out.getvalue()
    assert stale_collections([public_collection.pk]) == []
