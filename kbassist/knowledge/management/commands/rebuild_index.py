"""Rebuild every collection's search index from the chunks in the database."""

import time

from django.core.management.base import BaseCommand

from kbassist.knowledge.models import Collection
from kbassist.retrieval.store import drop_collection, sync_collection


class Command(BaseCommand):
    help = "Rebuild the BM25 and FAISS indexes of every collection (or the named ones) from the database."

    def add_arguments(self, parser):
        parser.add_argument("--collection", action="append", help="Only this collection (repeatable).")

    def handle(self, *args, **opts):
        collections = Collection.objects.all()
        if opts["collection"]:
            collections = collections.filter(name__in=opts["collection"])
        for collection in collections:
            start = time.monotonic()
            drop_collection(collection.pk)
            index = sync_collection(collection.pk)
            self.stdout.write(f"{collection}: {len(index)} chunks indexed in {time.monotonic() - start:.1f}s")
