"""Keep the indexes in step with deletions and FAQ edits, whatever path made them."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from kbassist.knowledge.models import FAQ, Collection, Document
from kbassist.retrieval.store import drop_collection

from .importing import queue_faq_indexing
from .tasks import sync_index_task


@receiver(post_save, sender=FAQ)
def faq_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        queue_faq_indexing([instance.pk])


@receiver(post_delete, sender=FAQ)
@receiver(post_delete, sender=Document)
def source_deleted(sender, instance, **kwargs):
    """Its chunks went with it (cascade); drop them from the index too."""
    collection_id = instance.collection_id
    if sender is Document and instance.file:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name))

    def sync():
        if Collection.objects.filter(pk=collection_id).exists():
            sync_index_task.delay(collection_id)

    transaction.on_commit(sync)


@receiver(post_delete, sender=Collection)
def collection_deleted(sender, instance, **kwargs):
    collection_id = instance.pk
    transaction.on_commit(lambda: drop_collection(collection_id))
