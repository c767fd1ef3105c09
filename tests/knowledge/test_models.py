"""Who may see a collection (search it) and who may edit it (add documents, change FAQs)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from kbassist.knowledge.models import Collection

pytestmark = pytest.mark.django_db


def test_superuser_may_edit_every_collection(admin_user, public_collection, hr_collection):
    assert set(Collection.objects.editable_by(admin_user)) == {public_collection, hr_collection}
    assert set(Collection.objects.visible_to(admin_user)) == {public_collection, hr_collection}


def test_seeing_a_collection_is_not_editing_it(employee, hr_user, public_collection, hr_collection, make_staff):
    assert list(Collection.objects.visible_to(employee)) == [public_collection]
    assert set(Collection.objects.visible_to(hr_user)) == {public_collection, hr_collection}
    assert not Collection.objects.editable_by(hr_user).exists()  # a reader of HR, not an editor
    editor = make_staff("edith", editor_of=[hr_collection])
    assert list(Collection.objects.editable_by(editor)) == [hr_collection]


def test_anonymous_and_inactive_users_get_nothing(employee, public_collection):
    assert not Collection.objects.visible_to(AnonymousUser()).exists()
    employee.is_active = False
    assert not Collection.objects.visible_to(employee).exists()
    assert not Collection.objects.editable_by(employee).exists()
