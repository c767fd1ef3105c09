"""Celery tasks: thin wrappers over the plain functions in ``pipeline`` and ``indexing``.

The task names are the wire format (queued messages carry them); the functions carry a
``_task`` suffix so that they are never mistaken for the plain functions they call.
"""

from celery import shared_task

from . import indexing, pipeline, watchdog


@shared_task(name="kbassist.ingest_document")
def ingest_document_task(document_id: int):
    pipeline.ingest_document(document_id)


@shared_task(name="kbassist.ingest_faqs")
def ingest_faqs_task(faq_ids: list[int]):
    pipeline.ingest_faqs(faq_ids)


@shared_task(name="kbassist.sync_collection_index")
def sync_index_task(collection_id: int):
    indexing.sync_collection(collection_id)


@shared_task(name="kbassist.requeue_stalled_documents")
def requeue_stalled_task():
    watchdog.requeue_stalled()


@shared_task(name="kbassist.sync_sources")
def sync_sources_task():
    """Collections fed from server folders (KB_SOURCES), brought in step (Celery beat)."""
    from . import sources

    return [result.summary() for result in sources.sync_all()]
