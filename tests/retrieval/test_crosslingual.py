"""The cross-lingual index: a second, multilingual dense index of every collection, which a
question in another language than the documents' searches as asked (USE Multilingual, the
default ``KB_CROSSLINGUAL_EMBEDDER``; real model, no fake)."""

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from kbassist.ingestion.indexing import crosslingual_stale, stale_collections, sync_collection
from kbassist.knowledge.models import Chunk
from kbassist.retrieval import store
from kbassist.retrieval.embedder import set_crosslingual_embedder
from kbassist.retrieval.search import crosslingual_search

pytestmark = pytest.mark.django_db

IT = "# VPN\n\nConnect with the NorthwindVPN WireGuard client. Password resets go through the helpdesk.\n"
PARKING = "# Parking\n\nThe garage under building B has 40 spaces for bicycles; cars park at the P+R lot.\n"


@pytest.fixture
def english_pages(handbook, public_collection, make_document):
    return {"leave": handbook, "it": make_document(public_collection, "vpn.md", IT), "parking": make_document(public_collection, "parking.md", PARKING)}


def test_a_chinese_question_finds_the_english_page_as_asked(english_pages, employee):
    hits = crosslingual_search("我每年有多少天年假？", employee, top_k=3)  # "how many days of annual leave a year?"
    assert hits[0].chunk.document == english_pages["leave"] and hits[0].chunk.heading == "Leave › Vacation"
    assert hits[0].crosslingual_score > hits[-1].crosslingual_score
    assert hits[0].dense_score is None and hits[0].bm25_rank is None  # not the main index's cosine or rank
    assert crosslingual_search("忘记VPN密码了，应该找谁？", employee, top_k=1)[0].chunk.document == english_pages["it"]


def test_it_holds_the_same_passages_as_the_main_index_and_follows_deletions(english_pages, public_collection,
                                                                           django_capture_on_commit_callbacks):
    def ids(space=""):
        return set(store.index_cache.get(public_collection.pk, space=space).chunk_ids.tolist())

    assert ids(store.CROSSLINGUAL) == ids() == set(Chunk.objects.filter(collection=public_collection).values_list("pk", flat=True))
    second = store.index_cache.get(public_collection.pk, space=store.CROSSLINGUAL)
    assert second.embedder == "use-multilingual-v3" and second.dense.vectors.shape[1] == 512
    with django_capture_on_commit_callbacks(execute=True):
        english_pages["it"].delete()
    assert ids(store.CROSSLINGUAL) == ids() and not any(c.document_id == english_pages["it"].pk for c in Chunk.objects.filter(pk__in=ids()))


def test_a_question_never_reaches_a_collection_it_may_not_see(english_pages, hr_collection, make_document, employee, hr_user):
    make_document(hr_collection, "salaries.md", "# Salaries\n\nEngineering salary band E3 ranges from 70,000 to 85,000 EUR.\n")
    asked = "工程师的薪资范围是多少？"  # "what is the engineers' salary band?"
    assert all(h.chunk.collection.is_public for h in crosslingual_search(asked, employee, top_k=10))
    assert crosslingual_search(asked, hr_user, top_k=1)[0].chunk.collection == hr_collection


def test_an_index_of_another_model_is_rebuilt_not_mixed(english_pages, public_collection):
    folder = store.collection_dir(public_collection.pk, store.CROSSLINGUAL)
    index = store.index_cache.get(public_collection.pk, space=store.CROSSLINGUAL)
    other = store.CollectionIndex(index.version, index.chunk_ids[:1], index.bm25.without(np.arange(len(index)) < 1),
                                  index.dense.without(np.arange(len(index)) < 1), embedder="some-other-model")
    store.write_version(folder, other)
    store.index_cache.clear()
    assert stale_collections([public_collection.pk]) == [public_collection.pk]
    sync_collection(public_collection.pk)
    rebuilt = store.index_cache.get(public_collection.pk, space=store.CROSSLINGUAL)
    assert rebuilt.embedder == "use-multilingual-v3" and len(rebuilt) == len(store.index_cache.get(public_collection.pk))
    assert stale_collections([public_collection.pk]) == []


def test_an_upgraded_collection_without_one_is_stale_until_rebuilt(english_pages, public_collection, employee):
    store.drop_collection(public_collection.pk, space=store.CROSSLINGUAL)
    store.index_cache.clear()
    assert crosslingual_search("我每年有多少天年假？", employee) == []
    assert stale_collections([public_collection.pk]) == [public_collection.pk]
    main_version = store.current_version(store.collection_dir(public_collection.pk))
    call_command("rebuild_index", "--stale", stdout=StringIO())
    # only the missing index is built: the main one keeps its version (answers cached on it stay valid)
    assert store.current_version(store.collection_dir(public_collection.pk)) == main_version
    assert crosslingual_search("我每年有多少天年假？", employee)[0].chunk.document == english_pages["leave"]
    assert stale_collections([public_collection.pk]) == []


def test_none_is_built_or_searched_when_switched_off(public_collection, make_document, employee, settings):
    settings.KB_CROSSLINGUAL_EMBEDDER = ""
    set_crosslingual_embedder(None)
    try:
        make_document(public_collection, "vpn.md", IT)
        assert not store.collection_dir(public_collection.pk, store.CROSSLINGUAL).exists()
        assert crosslingual_search("忘记VPN密码了，应该找谁？", employee) == []
        assert stale_collections([public_collection.pk]) == []
    finally:
        settings.KB_CROSSLINGUAL_EMBEDDER = "use-multilingual"
        set_crosslingual_embedder(None)


def test_a_broken_multilingual_model_never_fails_a_document(public_collection, make_document, employee, caplog):
    class Broken:
        name = "broken"

        def encode(self, texts, **kwargs):
            raise RuntimeError("weights missing")

    set_crosslingual_embedder(Broken())
    try:
        document = make_document(public_collection, "vpn.md", IT)
    finally:
        set_crosslingual_embedder(None)
    assert document.status == document.Status.READY
    assert "cross-lingual index was not synced" in caplog.text


def test_an_emptied_collection_is_not_stale(english_pages, public_collection, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for document in english_pages.values():
            document.delete()
    assert len(store.index_cache.get(public_collection.pk)) == 0
    assert not crosslingual_stale(public_collection.pk)  # nothing to embed, no version to write


def test_superseded_pages_and_narrowed_collections_are_left_out(english_pages, hr_collection, make_document, employee, hr_user):
    from kbassist.knowledge.models import Document

    newer = make_document(english_pages["leave"].collection, "leave-2025.md", "# Leave 2025\n\n## Vacation\n\nFull-time staff get 30 vacation days per year.\n")
    Document.objects.filter(pk=english_pages["leave"].pk).update(superseded_by=newer)
    hits = crosslingual_search("我每年有多少天年假？", employee, top_k=10)
    assert hits[0].chunk.document == newer and all(h.chunk.document_id != english_pages["leave"].pk for h in hits)
    make_document(hr_collection, "salaries.md", "# Salaries\n\nEngineering salary band E3 ranges from 70,000 to 85,000 EUR.\n")
    assert all(h.chunk.collection == hr_collection for h in crosslingual_search("年假", hr_user, top_k=10, collection_ids=[hr_collection.pk]))


def test_a_model_that_cannot_load_leaves_chat_ingestion_and_start_without_it(public_collection, make_document, employee, settings, caplog):
    settings.KB_CROSSLINGUAL_EMBEDDER = "no-such-model"
    set_crosslingual_embedder(None)  # loaded again from the settings, and it fails
    try:
        document = make_document(public_collection, "vpn.md", IT)
        assert document.status == document.Status.READY
        assert crosslingual_search("忘记VPN密码了，应该找谁？", employee) == []
        assert stale_collections([public_collection.pk]) == []
        assert caplog.text.count("could not be loaded") == 1  # logged once, not at every question
    finally:
        settings.KB_CROSSLINGUAL_EMBEDDER = "use-multilingual"
        set_crosslingual_embedder(None)
