"""Celery tasks: thin wrappers over the plain functions in ``pipeline`` and ``store``."""

from celery import shared_task

from kbassist.retrieval import store

from . import pipeline


@shared_task(name="kbassist.ingest_document")
def ingest_document(document_id: int):
    pipeline.ingest_document(document_id)


@shared_task(name="kbassist.ingest_faqs")
def ingest_faqs(faq_ids: list[int]):
    pipeline.ingest_faqs(faq_ids)


@shared_task(name="kbassist.sync_collection_index")
def sync_collection_index(collection_id: int):
    store.sync_collection(collection_id)
