"""What a curator sees: the answers about the collections they curate."""

from django.db.models import Exists, OuterRef

from .access import curated_collections
from .models import AnswerRecord


def answers_in_scope(messages, user):
    """The answers among ``messages`` that concern a collection ``user`` curates."""
    through = AnswerRecord.collections.through
    ids = list(curated_collections(user).values_list("pk", flat=True))
    return messages.filter(Exists(through.objects.filter(answerrecord_id=OuterRef("pk"), collection_id__in=ids)))
