"""Hybrid retrieval over what a user may see — access enforced inside search()."""

import pytest
from django.contrib.auth.models import AnonymousUser

from kbassist.knowledge.models import Chunk
from kbassist.retrieval.search import search
from kbassist.retrieval.store import index_cache

pytestmark = pytest.mark.django_db

SALARY = "# Salaries\n\n## Bands\n\nEngineering salary band E3 ranges from 70,000 to 85,000 EUR.\n"
IT = "# VPN\n\nConnect with the NorthwindVPN WireGuard client. Password resets go through the helpdesk.\n"
ZH = "# 休假制度\n\n## 年假\n\n全职员工每年享有二十八个工作日的带薪年假。\n\n## 病假\n\n请在上午十点前通知经理。\n"


@pytest.fixture
def corpus(public_collection, hr_collection, handbook, make_document):
    return {
        "leave": handbook,
        "it": make_document(public_collection, "vpn.md", IT),
        "zh": make_document(public_collection, "zh.md", ZH),
        "salary": make_document(hr_collection, "salaries.md", SALARY),
    }


def test_finds_the_right_section_with_both_retrievers(corpus, employee):
    result = search("How many vacation days do I get?", employee, top_k=3)
    top = result.hits[0]
    assert top.chunk.document == corpus["leave"] and top.chunk.heading == "Leave › Vacation"
    assert top.bm25_rank == 1 and top.dense_rank is not None
    assert set(result.timings_ms) >= {"bm25", "embed", "dense", "fusion", "total"}


def test_chinese_question_finds_chinese_section(corpus, employee):
    hit = search("我每年有多少天年假？", employee, top_k=3).hits[0]
    assert hit.chunk.document == corpus["zh"] and hit.chunk.heading.endswith("年假")


def test_user_outside_the_group_never_gets_its_chunks(corpus, employee):
    result = search("salary band E3 engineering", employee, top_k=20)
    assert result.hits, "public chunks are still returned"
    assert all(hit.chunk.collection.is_public for hit in result.hits)


def test_group_member_and_superuser_see_the_private_collection(corpus, hr_user, admin_user):
    for user in (hr_user, admin_user):
        hit = search("salary band E3 engineering", user, top_k=3).hits[0]
        assert hit.chunk.document == corpus["salary"]


def test_collection_filter_narrows_but_never_widens(corpus, employee, hr_collection):
    assert search("salary band", employee, collection_ids=[hr_collection.pk]).hits == []


def test_anonymous_user_gets_nothing(corpus):
    assert search("vacation", AnonymousUser()).hits == []


def test_deleting_a_document_removes_its_chunks_from_both_indexes(corpus, employee, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        corpus["it"].delete()
    result = search("NorthwindVPN WireGuard", employee, top_k=10)
    assert all(hit.chunk.document_id != corpus["it"].pk for hit in result.hits)
    index = index_cache.get(corpus["leave"].collection_id)
    assert len(index.bm25) == len(index.dense) == len(index.chunk_ids)
    assert set(index.chunk_ids.tolist()) == set(Chunk.objects.filter(collection_id=corpus["leave"].collection_id).values_list("pk", flat=True))
