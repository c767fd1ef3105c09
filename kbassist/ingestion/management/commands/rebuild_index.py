"""Rebuild every collection's search index from the chunks in the database."""

import time

from django.core.management.base import BaseCommand

from kbassist.ingestion.indexing import bring_up_to_date, rebuild_collection, reembed_collection, stale_collections
from kbassist.knowledge.models import Collection


class Command(BaseCommand):
    help = "Rebuild the BM25 and FAISS indexes of every collection (or the named ones) from the database."

    def add_arguments(self, parser):
        parser.add_argument("--collection", action="append", help="Only this collection (repeatable).")
        parser.add_argument(
            "--reembed", action="store_true",
            help="Embed every chunk again with the current embedder (KB_EMBEDDER) first, e.g. after changing it.",
        )
        parser.add_argument(
            "--stale", action="store_true",
            help="Only the collections whose index was made with older BM25 keywords, or whose cross-lingual index is missing or "
                 "out of step (after an upgrade; ./kb start runs this).",
        )

    def handle(self, *args, **opts):
        collections = Collection.objects.all()
        if opts["collection"]:
            collections = collections.filter(name__in=opts["collection"])
        if opts["stale"]:
            collections = collections.filter(pk__in=stale_collections(collections.values_list("pk", flat=True)))
        for collection in collections:
            start = time.monotonic()
            if opts["reembed"]:
                index = reembed_collection(collection.pk, progress=True)
            elif opts["stale"]:
                index = bring_up_to_date(collection.pk)
            else:
                index = rebuild_collection(collection.pk)
            self.stdout.write(f"{collection}: {len(index)} chunks indexed in {time.monotonic() - start:.1f}s")
