"""KB Assist: a self-hosted knowledge-base assistant.

Packages, one concern each:
  knowledge/  the domain models (Collection, Document, Chunk, FAQ), access rules, admin
  ingestion/  parse -> chunk -> embed, and the Celery tasks that run it
  retrieval/  tokenizer, BM25 and FAISS indexes, on-disk index versions, hybrid search
  llm/        generation backends behind one small interface, and the generation queue
  chat/       conversations, the answer() pipeline, prompt building, websocket consumer
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
