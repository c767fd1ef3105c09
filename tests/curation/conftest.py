"""Answers as the chat saves them, made directly (fast): ``asked(user, question, ...)``."""

import pytest
from django.contrib.auth.models import Group, User


@pytest.fixture
def asked(db):
    from kbassist.chat.models import Conversation, Feedback, Message

    def make(user, question, kind="refused", answer="Not covered.", search_query=None, helpful=None, claims_removed=0, citations=(), when=None, ttft_ms=None):
        conversation = Conversation.objects.create(user=user, title=question[:80])
        Message.objects.create(conversation=conversation, role="user", content=question)
        timings = {"ttft_ms": ttft_ms} if ttft_ms is not None else {}
        message = Message.objects.create(
            conversation=conversation, role="assistant", kind=kind, content=answer, search_query=search_query or question,
            citations=list(citations), verification={"claims_removed": claims_removed} if claims_removed else {}, timings=timings,
        )
        if when is not None:
            Message.objects.filter(pk=message.pk).update(created_at=when)
            from kbassist.curation.models import AnswerRecord

            AnswerRecord.objects.filter(pk=message.pk).update(created_at=when)
        if helpful is not None:
            Feedback.objects.create(message=message, user=user, helpful=helpful)
        return message

    return make


@pytest.fixture
def people(db):
    """Twenty employees, none in a group."""
    return [User.objects.create_user(f"user{i:02d}", password="pw") for i in range(20)]


@pytest.fixture
def curator(db):
    """A member of the Curators group who may edit the public Handbook (not a superuser)."""

    def make(*collections, name="cora"):
        user = User.objects.create_user(name, password="pw")
        user.groups.add(Group.objects.get_or_create(name="Curators")[0])
        for collection in collections:
            group, _ = Group.objects.get_or_create(name=f"editors of {collection}")
            collection.editor_groups.add(group)
            user.groups.add(group)
        return user

    return make
