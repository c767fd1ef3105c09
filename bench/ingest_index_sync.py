"""The index side of a bulk import: each document syncing the index itself, against shared syncs.

A real import of the Sourcegraph handbook (``bench/evaluate.py --handbook sourcegraph``,
kept in ``data/eval/sourcegraph``) gives the documents, their chunks and their real vectors,
in import order. Each run replays that import's index side into a fresh database and data
folder, exactly as the pipeline does it after embedding (``pipeline._ingest`` /
``_ingest_or_fail``): all documents queued first (as ``import_documents`` queues a folder),
then one after another the document's chunks are stored in one transaction, the document
waits at the stage "indexing", and ``indexing.sync_if_due`` decides whether to sync. Run 1
has ``KB_INDEX_SYNC_SECONDS=0`` (every document syncs, as before shared syncs); run 2 the
setting given (default 10). Parsing and embedding are not repeated: they do not depend on
the setting (the import's own time is shown for scale).

    .venv/bin/python bench/ingest_index_sync.py [--limit N] [--sync-seconds S] [--no-readme]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, setup_django  # noqa: E402
from bench._readme import rewrite_section, stamp, table  # noqa: E402

SOURCE = ROOT / "data" / "eval" / "sourcegraph"


def load_import(folder: Path, limit: int):
    """Documents (title, name, path) of the real import with their chunks, in import order."""
    db = sqlite3.connect(f"file:{folder / 'db.sqlite3'}?mode=ro", uri=True)
    docs = db.execute("SELECT id, title, original_name, source_path FROM knowledge_document "
                      "WHERE status = 'ready' ORDER BY ingested_at, id").fetchall()
    if limit:
        docs = docs[:limit]
    chunks = {}
    for doc_id, position, text, heading, page, embedding in db.execute(
            "SELECT document_id, position, text, heading, page, embedding FROM knowledge_chunk "
            "WHERE document_id IS NOT NULL ORDER BY document_id, position"):
        chunks.setdefault(doc_id, []).append((position, text, heading, page, bytes(embedding)))
    return [(d, chunks.get(d[0], [])) for d in docs]


def replay(name: str, documents, sync_seconds: float) -> dict:
    import numpy as np
    from django.conf import settings
    from django.db import transaction

    from kbassist.ingestion.indexing import AWAITING_INDEX, sync_if_due
    from kbassist.knowledge.models import Chunk, Collection, Document
    from kbassist.retrieval import store

    settings.KB_INDEX_SYNC_SECONDS = sync_seconds
    collection = Collection.objects.create(name=name, is_public=True)
    rows = Document.objects.bulk_create([
        Document(collection=collection, title=title, original_name=original, source_path=path, sha256=f"{i:064x}",
                 file=f"bench/{i}.md")
        for i, ((_, title, original, path), _) in enumerate(documents)
    ])
    stored_at, store_s, index_s, syncs = {}, 0.0, 0.0, 0
    start = time.perf_counter()
    for document, (_, chunks) in zip(rows, documents):
        document.set_progress(Document.Status.PROCESSING, 20, stage="embedding")
        t = time.perf_counter()
        with transaction.atomic():  # the pipeline's store stage
            Chunk.objects.bulk_create([
                Chunk(collection=collection, document=document, position=p, text=text, heading=heading, page=page,
                      embedding=embedding) for p, text, heading, page, embedding in chunks
            ], batch_size=500)
        document.set_progress(progress=95, chunk_count=len(chunks), stage=AWAITING_INDEX)
        stored_at[document.pk] = time.time()
        t2 = time.perf_counter()
        syncs += sync_if_due(collection.pk) is not None
        index_s += time.perf_counter() - t2
        store_s += t2 - t
    wall = time.perf_counter() - start
    waits = [d.ingested_at.timestamp() - stored_at[d.pk] for d in Document.objects.filter(collection=collection)]
    index = store.index_cache.get(collection.pk)
    stored = sorted(Chunk.objects.filter(collection=collection).values_list("pk", flat=True))
    assert sorted(np.asarray(index.chunk_ids).tolist()) == stored, "each chunk exactly once in the index"
    assert not Document.objects.filter(collection=collection).exclude(status=Document.Status.READY).exists()
    return {"documents": len(rows), "chunks": len(stored), "versions": syncs, "index_s": index_s, "store_s": store_s,
            "wall_s": wall, "max_wait_s": max(waits), "mean_wait_s": sum(waits) / len(waits)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N documents of the import")
    parser.add_argument("--sync-seconds", type=float, default=10.0)
    parser.add_argument("--source", type=Path, default=SOURCE, help="the data folder of a real import")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    stamp_file = args.source / "corpus.json"
    if not stamp_file.exists() and not args.no_readme:
        sys.exit(f"{args.source} holds no complete import: run bench/evaluate.py --handbook sourcegraph first")
    corpus = json.loads(stamp_file.read_text()) if stamp_file.exists() else {}
    documents = load_import(args.source, args.limit)
    data = setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from kbassist.retrieval.embedder import get_embedder

    get_embedder().name  # loaded once before the clock (a sync names the embedder of its vectors)
    runs = [("every document syncs (`KB_INDEX_SYNC_SECONDS=0`, as before)", 0.0),
            (f"shared syncs (`KB_INDEX_SYNC_SECONDS={args.sync_seconds:g}`)", args.sync_seconds)]
    results = []
    for i, (label, seconds) in enumerate(runs):
        result = replay(f"run {i + 1}", documents, seconds)
        results.append((label, result))
        print(label, json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}), flush=True)
    rows = [[label, r["versions"], f"{r['index_s']:.1f} s", f"{1000 * r['index_s'] / r['documents']:.0f} ms",
             f"{r['store_s']:.1f} s", f"{r['mean_wait_s']:.2f} / {r['max_wait_s']:.1f} s"] for label, r in results]
    text = table(["run", "index versions written", "index sync, total", "per document", "storing chunks",
                  "stored → ready, mean / max"], rows)
    first = results[0][1]
    print(text)
    shutil.rmtree(data, ignore_errors=True)
    if not args.no_readme:
        body = f"""**Index syncs of a bulk import** (`bench/ingest_index_sync.py`): the index side of importing the
Sourcegraph handbook ({first['documents']} pages, {first['chunks']:,} chunks and their real vectors, taken from the
import in `data/eval/sourcegraph`, in its order), replayed into a fresh SQLite database as the pipeline
does it after embedding: all documents queued first, then for each the chunks stored in one
transaction and `indexing.sync_if_due`. Both runs in the same process, one after the other.

{text}

For scale: the real import of the same pages (`bench/evaluate.py`, parse + chunk + embed +
store + sync, in-process, each document syncing) took {corpus['import_seconds']:.0f} s on this machine under the
other engineers' load. In the replay no time passes between documents for parsing and
embedding, so shared syncs come fewer than in a real import, where one is written about every
`KB_INDEX_SYNC_SECONDS` (and by the last document of the burst); the per-document sync cost
of run 1 is what each page paid before.

{stamp()}"""
        rewrite_section("ingest-index-sync", body)


if __name__ == "__main__":
    main()
