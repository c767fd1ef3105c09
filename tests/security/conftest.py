"""A knowledge base with a confidential HR collection, and the means to look for any trace
of it in what a user outside HR is given."""

from __future__ import annotations

import json

import pytest

from kbassist.ingestion.importing import import_faq_csv
from kbassist.knowledge.models import FAQ, Chunk

SALARIES = (
    "# Salary bands\n\n## Engineering\n\nBand E3 pays between 91,000 and 118,000 EUR per year.\n\n"
    "## Vacation bonus\n\nEvery full-time employee gets a vacation bonus of 1,250 EUR in June.\n"
)
HR_FAQ = "question,answer\nWhat is the salary band for E3?,\"E3 pays 91,000 to 118,000 EUR (HR only).\"\n"
PUBLIC_FAQ = "question,answer\nHow do I reset my password?,Use the self-service portal or call ext. 4400.\n"
# Text that only the HR collection holds: none of it may reach a user outside HR.
MARKERS = ("91,000", "118,000", "1,250", "HR confidential", "salary-bands", "Salary bands", "HR only")
# Questions that reach for the HR collection in every way the policy knows.
QUESTIONS = [
    "What is the salary band for E3?",  # the HR FAQ, word for word (curated answer for HR)
    "How much does band E3 pay per year?",  # the HR document's content
    "Is there a vacation bonus in June?",  # HR content on a public topic (vacation)
    "How many vacation days do I get?",  # public, but HR has a vacation chunk too
    "What is the capital of Mars?",  # off topic: a refusal, with FAQ suggestions
]


class Secrets:
    def __init__(self, collection, document):
        self.collection = collection
        self.document = document
        self.chunk_ids = set(Chunk.objects.filter(collection=collection).values_list("pk", flat=True))
        self.faq_ids = set(FAQ.objects.filter(collection=collection).values_list("pk", flat=True))
        assert self.chunk_ids and self.faq_ids

    def leaks(self, value) -> list[str]:
        """Every trace of the HR collection in ``value`` (events, JSON, HTML, text)."""
        found = []
        self._walk(value, found, "")
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        found += [f"text {m!r}" for m in MARKERS if m in text]
        return found

    def _walk(self, value, found, where):
        if isinstance(value, dict):
            if value.get("chunk_id") in self.chunk_ids:
                found.append(f"{where}: chunk {value['chunk_id']}")
            if value.get("document_id") == self.document.pk:
                found.append(f"{where}: document {self.document.pk}")
            if value.get("faq_id") in self.faq_ids:
                found.append(f"{where}: FAQ {value['faq_id']}")
            if value.get("collection") == self.collection.name:
                found.append(f"{where}: collection {self.collection.name}")
            url = value.get("url") or ""
            if url.startswith(f"/documents/{self.document.pk}/"):
                found.append(f"{where}: link {url}")
            for key, item in value.items():
                self._walk(item, found, f"{where}.{key}")
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                self._walk(item, found, f"{where}[{i}]")


@pytest.fixture
def secured_kb(public_collection, hr_collection, handbook, make_document, django_capture_on_commit_callbacks, settings):
    """The public handbook (leave policy, one FAQ) and the HR collection (salary bands and
    an HR FAQ). Every chunk fits in one answer's sources, so that nothing is kept out of an
    answer by ranking alone: only access control keeps HR out."""
    settings.KB_TOP_K = 12
    document = make_document(hr_collection, "salary-bands.md", SALARIES)
    with django_capture_on_commit_callbacks(execute=True):
        import_faq_csv(hr_collection, HR_FAQ.encode())
        import_faq_csv(public_collection, PUBLIC_FAQ.encode())
    return Secrets(hr_collection, document)
