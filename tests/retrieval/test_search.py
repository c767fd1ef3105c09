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


def test_faq_entries_do_not_win_by_asking_the_way_the_question_asks(public_collection, make_document, employee,
                                                                     django_capture_on_commit_callbacks):
    """The starter knowledge base: "How many days a week can I work from home?" found the FAQ
    entries on days of leave ("How many … days … do I get?") before the work-models table that
    answers it, and was refused; FAQ entries are indexed without the words that only say how a
    question asks."""
    from pathlib import Path

    from django.conf import settings

    from kbassist.ingestion.importing import import_faq_csv

    starter = Path(settings.BASE_DIR, "knowledge")
    for name in ("hr/leave-policy.md", "hr/onboarding.txt", "it/accounts-and-passwords.md", "zh/休假制度.md"):
        make_document(public_collection, Path(name).name, (starter / name).read_text())
    document = make_document(public_collection, "remote-work.md", (starter / "hr" / "remote-work.md").read_text())
    with django_capture_on_commit_callbacks(execute=True):
        import_faq_csv(public_collection, (starter / "faq.csv").read_bytes())
    hits = search("How many days a week can I work from home?", employee).hits
    assert any(h.chunk.document == document and "3 days per week from home" in h.chunk.text for h in hits)
    # an FAQ entry is still found by what it is about
    assert search("How do I reset my password?", employee).hits[0].chunk.faq.question == "How do I reset my password?"


def test_a_page_is_found_by_the_keywords_its_front_matter_gives(public_collection, make_document, employee):
    """Held out in session 19: the 18F page titled "Welcome to TTS" never says "letter" in its
    text, only in its front matter ("keywords: welcome, letter"), and a question about the
    welcome letter never found it."""
    welcome = make_document(public_collection, "welcome-letter.md",
                            "---\ntitle: Welcome to TTS\nkeywords: welcome, letter\n---\n\n"
                            "You will find that we have a strong culture that is inclusive, transparent, respectful, and upbeat.\n")
    make_document(public_collection, "culture.md", "# Culture\n\nWe write things down and work in the open.\n")
    welcome.refresh_from_db()
    assert welcome.keywords == "letter"  # "welcome" is in its title already
    hit = search("Which words does the letter use for the culture?", employee).hits[0]
    assert hit.chunk.document == welcome and hit.bm25_rank == 1
    assert "letter" not in hit.chunk.indexed_text  # keyword search only: the embedded text is the page's


def test_keyword_search_does_not_match_the_words_that_only_say_how_a_question_asks(public_collection, make_document, employee):
    """Held out in session 20: "I've been asked to present something at the next CE Teachback.
    How long is the session?" found personal README pages, full of "I", "my" and "how", before
    the one page naming the Teachbacks."""
    norms = make_document(public_collection, "team-norms.md",
                          "# Team norms\n\n- **CE Teachbacks** (monthly): Regular sync for the CE team to learn from each other.\n"
                          "- **Team meeting** (weekly): Regular syncs to discuss relevant topics.\n")
    for topic in ("Expenses", "Security", "Laptops", "Travel", "Payroll", "Benefits", "Holidays", "Parking"):
        make_document(public_collection, f"{topic.lower()}.md", f"# {topic}\n\n{topic} rules are set by the operations team and reviewed each year.\n")
    for name in ("erica", "adam", "jason"):
        make_document(public_collection, f"{name}-readme.md",
                      f"# {name.title()} README\n\nHow can you best work with me? I like it when you ask me how I am. "
                      "If I seem off, ask if I need space; I will tell you how much I can take on, and when I know more, "
                      "I will say so. My calendar is how I plan my week, so do ask before you book a long session with me.\n")
    hit = search("I've been asked to present something at the next CE Teachback. How long is the session, so I know how much "
                 "material to prepare?", employee).hits
    assert min((h.bm25_rank for h in hit if h.chunk.document == norms), default=None) == 1
