"""Sources are served only to those who may see their collection: the file and the passage."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def docs(public_collection, hr_collection, make_document):
    return {
        "public": make_document(public_collection, "leave.md", "# Leave\n\n28 days.\n"),
        "private": make_document(hr_collection, "salaries.md", "# Salaries\n\nBand E3.\n"),
    }


def test_source_file_is_served_to_allowed_users_only(client, docs, employee, hr_user):
    client.force_login(employee)
    assert client.get(reverse("knowledge:document_file", args=[docs["public"].pk])).status_code == 200
    assert client.get(reverse("knowledge:document_file", args=[docs["private"].pk])).status_code == 404
    client.force_login(hr_user)
    response = client.get(reverse("knowledge:document_file", args=[docs["private"].pk]))
    assert response.status_code == 200 and b"Band E3" in b"".join(response.streaming_content)
    assert response["Content-Security-Policy"] == "sandbox"


def test_chunk_passage_respects_access(client, docs, employee):
    private_chunk = docs["private"].chunks.first()
    public_chunk = docs["public"].chunks.first()
    client.force_login(employee)
    data = client.get(reverse("knowledge:chunk_detail", args=[public_chunk.pk])).json()
    assert data["text"] == "28 days." and data["title"] == "Leave"
    assert client.get(reverse("knowledge:chunk_detail", args=[private_chunk.pk])).status_code == 404
