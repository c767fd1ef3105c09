"""The message admin (kbassist.curation.admin): curators find refused and disliked answers and turn
good ones into FAQs, which needs the FAQ permission and an editable collection."""

import pytest
from django.urls import reverse

from kbassist.chat.models import Conversation, Feedback, Message
from kbassist.knowledge.models import FAQ

pytestmark = pytest.mark.django_db


def promote(client, message):
    return client.post(
        reverse("admin:chat_message_changelist"),
        {"action": "make_faq", "_selected_action": [message.pk]},
    )


def test_curators_see_refused_and_disliked_answers_and_make_faqs(client, admin_user, employee, public_collection, django_capture_on_commit_callbacks):
    conversation = Conversation.objects.create(user=employee)
    Message.objects.create(conversation=conversation, role="user", content="Is parking free?")
    good = Message.objects.create(conversation=conversation, role="assistant", content="Yes, on Fridays [1].",
                                  citations=[{"n": 1, "collection": "Handbook", "cited": True}])
    Message.objects.create(conversation=conversation, role="user", content="Capital of Mars?")
    refused = Message.objects.create(conversation=conversation, role="assistant", content="Not covered.", kind="refused")
    Feedback.objects.create(message=good, user=employee, helpful=False, comment="too short")
    client.force_login(admin_user)
    changelist = reverse("admin:chat_message_changelist")
    page = client.get(changelist + "?kind__exact=refused").content.decode()
    assert "Capital of Mars?" in page and "Is parking free?" not in page
    page = client.get(changelist + "?feedback=down").content.decode()
    assert "Is parking free?" in page and "too short" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {"action": "make_faq", "_selected_action": [good.pk, refused.pk]})
    faq = FAQ.objects.get()
    assert (faq.question, faq.answer, faq.origin, faq.collection) == ("Is parking free?", "Yes, on Fridays.", "curated", public_collection)
    assert faq.chunks.count() == 1  # indexed, so it is answered as a curated answer from now on


def test_turning_an_answer_into_an_faq_needs_the_faq_permission_and_an_editable_collection(client, employee, public_collection, make_staff):
    conversation = Conversation.objects.create(user=employee, title="t")
    Message.objects.create(conversation=conversation, role="user", content="When is payday?")
    answer_message = Message.objects.create(
        conversation=conversation, role="assistant", content="On the 25th [1].",
        citations=[{"n": 1, "collection": "Handbook", "cited": True}],
    )
    client.force_login(make_staff("vic", "view_message"))
    promote(client, answer_message)
    assert FAQ.objects.count() == 0
    client.force_login(make_staff("val", "view_message", "add_faq"))  # no editable collection
    promote(client, answer_message)
    assert FAQ.objects.count() == 0
    client.force_login(make_staff("cur", "view_message", "add_faq", editor_of=[public_collection]))
    promote(client, answer_message)
    assert list(FAQ.objects.values_list("question", "answer")) == [("When is payday?", "On the 25th.")]


def test_the_cockpit_lists_the_answers_in_scope_and_makes_faqs(client, employee, public_collection, hr_collection, make_staff):
    from kbassist.curation.models import AnswerRecord  # noqa: F401  (answers are recorded as they are saved)

    conversation = Conversation.objects.create(user=employee, title="t")
    Message.objects.create(conversation=conversation, role="user", content="When is payday?")
    payday = Message.objects.create(conversation=conversation, role="assistant", kind="generated", content="On the 25th [1].",
                                    citations=[{"n": 1, "collection": "Handbook", "cited": True}])
    Feedback.objects.create(message=payday, user=employee, helpful=False)
    Message.objects.create(conversation=conversation, role="user", content="What are the salary bands?")
    Message.objects.create(conversation=conversation, role="assistant", kind="generated", content="Three bands [1].",
                           citations=[{"n": 1, "collection": "HR confidential", "cited": True}])
    client.force_login(make_staff("cur", "view_message", editor_of=[public_collection]))
    page = client.get(reverse("curation:answers")).content.decode()
    assert "When is payday?" in page and "salary bands" not in page  # only the Handbook's answers
    assert "When is payday?" in client.get(reverse("curation:answers"), {"feedback": "down"}).content.decode()
    assert "When is payday?" not in client.get(reverse("curation:answers"), {"feedback": "up"}).content.decode()
    client.post(reverse("curation:answers"), {"message": [payday.pk]})
    assert list(FAQ.objects.values_list("question", "answer", "collection__name")) == [("When is payday?", "On the 25th.", "Handbook")]
    # the admin's list is scoped the same way
    admin_page = client.get(reverse("admin:chat_message_changelist")).content.decode()
    assert "When is payday?" in admin_page and "salary bands" not in admin_page
