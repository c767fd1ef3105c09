"""Ingestion: parse uploaded files, chunk them by structure, embed, and index (run by Celery)."""
