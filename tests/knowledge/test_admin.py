"""The collection and chunk admin (kbassist.knowledge.admin)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_admin_pages_render(client, admin_user, public_collection, make_document):
    make_document(public_collection, "leave.md", "# Leave\n\n28 days.\n")
    client.force_login(admin_user)
    for name in ["admin:knowledge_collection_changelist", "admin:knowledge_chunk_changelist"]:
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("admin:knowledge_collection_change", args=[public_collection.pk])).status_code == 200


def test_chunks_are_listed_only_from_collections_the_user_may_see(client, make_staff, public_collection, hr_collection, make_document):
    make_document(public_collection, "leave.md", "# Leave\n\n28 days.\n")
    make_document(hr_collection, "salaries.md", "# Salaries\n\nBand E3.\n")
    client.force_login(make_staff("cleo", "view_chunk"))
    page = client.get(reverse("admin:knowledge_chunk_changelist")).content.decode()
    assert "Leave #0" in page and "Salaries #0" not in page
