"""An index remembers which embedder made its vectors; vectors of two embedders never mix,
and `rebuild_index --reembed` moves a collection to the current embedder."""

import io

import numpy as np
import pytest
from django.core.management import call_command

from kbassist.ingestion.indexing import sync_collection
from kbassist.knowledge.models import Chunk, Document
from kbassist.retrieval import store
from kbassist.retrieval.embedder import build_embedder, get_embedder, set_embedder

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_embedder():
    """The same real model under another name: a stand-in for a change of KB_EMBEDDER."""
    embedder = build_embedder("minilm")
    embedder.name = "another-model"
    yield embedder
    set_embedder(None)


def test_an_index_records_the_embedder_that_built_it(public_collection, make_document):
    make_document(public_collection, "leave.md", "# Leave\n\nFull-time staff get 28 vacation days.\n")
    folder = store.collection_dir(public_collection.pk)
    loaded = store.load_version(folder, store.current_version(folder))
    assert loaded.embedder == get_embedder().name


def test_a_document_embedded_by_another_model_fails_with_the_command_to_run(public_collection, make_document, other_embedder):
    make_document(public_collection, "leave.md", "# Leave\n\nFull-time staff get 28 vacation days.\n")
    set_embedder(other_embedder)
    document = make_document(public_collection, "travel.md", "# Travel\n\nBook trains in second class.\n")
    assert document.status == Document.Status.FAILED and "rebuild_index --reembed" in document.error
    assert len(store.index_cache.get(public_collection.pk)) == 1  # nothing of the other model went in


def test_reembed_moves_the_collection_to_the_current_embedder(public_collection, make_document, other_embedder):
    make_document(public_collection, "leave.md", "# Leave\n\nFull-time staff get 28 vacation days.\n")
    set_embedder(other_embedder)
    out = io.StringIO()
    call_command("rebuild_index", "--reembed", stdout=out)
    index = store.index_cache.get(public_collection.pk)
    assert index.embedder == "another-model" and "1 chunks indexed" in out.getvalue()
    chunk = Chunk.objects.get(collection=public_collection)
    assert np.allclose(chunk.vector, other_embedder.encode([chunk.indexed_text])[0], atol=1e-5)
    sync_collection(public_collection.pk)  # nothing left to refuse
