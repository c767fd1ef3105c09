"""On-disk index versions, one folder per collection, kept in step with the Chunk table.

Layout::

    INDEX_DIR/collection-<id>/
        CURRENT          name of the live version, swapped atomically with os.replace
        v000042/         one complete, immutable version: chunk ids, BM25 and dense files
        .lock            writers take this file lock; readers never wait for it

A writer builds a whole new version in a temporary folder, renames it into place and then
points CURRENT at it, so a reader sees either the old version or the new one, never half
of one. Readers (the web process) check CURRENT on every search and load a new version
the moment it appears, with no restart. Version files are never modified once written, so
readers map them into memory instead of copying them (loading a large version takes
milliseconds), and a version folder removed while still mapped stays readable. The optional
approximate dense index (``dense_ann.*``, see ``dense.py``) is one more file of the same
version folder, so it is swapped in by the same atomic rename.

``sync_collection`` makes the index equal to the database: under the lock it loads the live
version, drops chunk ids that are gone from the database and appends those that are new.
Two ingestions finishing at the same moment therefore both end up in the index exactly
once, whichever takes the lock first.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from .bm25 import BM25Index
from .dense import DenseIndex
from .tokenize import tokenize

log = logging.getLogger(__name__)

KEEP_OLD_VERSIONS = 2  # readers may still be loading the previous one


@dataclass
class CollectionIndex:
    version: int
    chunk_ids: np.ndarray  # int64, row -> Chunk.pk
    bm25: BM25Index
    dense: DenseIndex

    @classmethod
    def empty(cls) -> CollectionIndex:
        return cls(0, np.zeros(0, dtype=np.int64), BM25Index.empty(), DenseIndex.empty())

    def __len__(self):
        return len(self.chunk_ids)


def collection_dir(collection_id: int) -> Path:
    return Path(settings.INDEX_DIR) / f"collection-{collection_id}"


def current_version(folder: Path) -> int:
    try:
        return int((folder / "CURRENT").read_text().strip().lstrip("v"))
    except (FileNotFoundError, ValueError):
        return 0


def load_version(folder: Path, version: int) -> CollectionIndex:
    vdir = folder / f"v{version:06d}"
    return CollectionIndex(
        version=version,
        chunk_ids=np.load(vdir / "chunk_ids.npy"),
        bm25=BM25Index.load(vdir),
        dense=DenseIndex.load(vdir),
    )


def write_version(folder: Path, index: CollectionIndex) -> int:
    """Write ``index`` as the next version and make it the live one. Returns the version."""
    folder.mkdir(parents=True, exist_ok=True)
    version = current_version(folder) + 1
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=folder))
    try:
        np.save(tmp / "chunk_ids.npy", index.chunk_ids)
        index.bm25.save(tmp)
        index.dense.save(tmp)
        (tmp / "meta.json").write_text(json.dumps({"chunks": len(index), "written_at": time.time()}))
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        os.rename(tmp, folder / f"v{version:06d}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pointer = folder / "CURRENT.tmp"
    pointer.write_text(f"v{version:06d}\n")
    os.replace(pointer, folder / "CURRENT")
    _remove_old_versions(folder, version)
    index.version = version
    return version


def _remove_old_versions(folder: Path, live: int):
    for vdir in folder.glob("v*"):
        try:
            number = int(vdir.name[1:])
        except ValueError:
            continue
        if number <= live - KEEP_OLD_VERSIONS:
            shutil.rmtree(vdir, ignore_errors=True)


@contextmanager
def writer_lock(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def index_text(title: str, heading: str, text: str) -> str:
    """The text a chunk is indexed under: its own text, led by where it comes from."""
    return "\n".join(part for part in (title, heading, text) if part)


def sync_collection(collection_id: int) -> CollectionIndex:
    """Bring the collection's on-disk index in line with its chunks in the database."""
    from kbassist.knowledge.models import Chunk

    folder = collection_dir(collection_id)
    with writer_lock(folder):
        version = current_version(folder)
        # The live version, from this process's cache when it is already there (a worker
        # syncing document after document reuses the version it has just written).
        index = index_cache.get(collection_id) if version else CollectionIndex.empty()
        version = index.version
        wanted = np.fromiter(
            Chunk.objects.filter(collection_id=collection_id).values_list("pk", flat=True).iterator(), dtype=np.int64
        )
        keep = np.isin(index.chunk_ids, wanted)
        new_ids = np.setdiff1d(wanted, index.chunk_ids)
        if keep.all() and not len(new_ids):
            return index
        if not keep.all():
            index = CollectionIndex(
                version, index.chunk_ids[keep], index.bm25.without(keep), index.dense.without(keep)
            )
        if len(new_ids):
            ids, texts, vectors = [], [], []
            for chunk in _chunks_by_id(new_ids):
                title = "" if chunk.faq_id else str(chunk.document)
                ids.append(chunk.pk)
                texts.append(tokenize(index_text(title, chunk.heading, chunk.text)))
                vectors.append(chunk.vector)
            if ids:  # (a chunk deleted since the id query is simply not added)
                index = CollectionIndex(
                    version,
                    np.concatenate([index.chunk_ids, np.asarray(ids, dtype=np.int64)]),
                    index.bm25.extended(texts),
                    index.dense.extended(np.vstack(vectors)),
                )
        write_version(folder, index)
        index_cache.put(collection_id, index)
        log.info("collection %s: index v%s with %s chunks", collection_id, index.version, len(index))
        return index


def _chunks_by_id(ids: np.ndarray, batch: int = 900):
    """Chunks with these ids, in id order, fetched in batches (SQLite caps query parameters)."""
    from kbassist.knowledge.models import Chunk

    for start in range(0, len(ids), batch):
        part = ids[start : start + batch].tolist()
        yield from Chunk.objects.filter(pk__in=part).select_related("document", "faq").order_by("pk")


def drop_collection(collection_id: int):
    shutil.rmtree(collection_dir(collection_id), ignore_errors=True)


class IndexCache:
    """Process-wide cache of live index versions; reloads a collection when CURRENT moves."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loaded: dict[int, CollectionIndex] = {}

    def get(self, collection_id: int) -> CollectionIndex:
        folder = collection_dir(collection_id)
        version = current_version(folder)
        cached = self._loaded.get(collection_id)
        if cached is not None and cached.version == version:
            return cached
        if cached is not None and len(cached):
            if not self._lock.acquire(blocking=False):
                return cached  # another thread is loading the new version: answer from the old one
        else:
            self._lock.acquire()
        try:
            cached = self._loaded.get(collection_id)
            if cached is not None and cached.version == version:
                return cached
            if not version:
                index = CollectionIndex.empty()
            else:
                try:
                    index = load_version(folder, version)
                except FileNotFoundError:
                    # Superseded and cleaned up between reading CURRENT and loading: retry once.
                    version = current_version(folder)
                    index = load_version(folder, version)
            self._loaded[collection_id] = index
            return index
        finally:
            self._lock.release()

    def put(self, collection_id: int, index: CollectionIndex):
        """Remember a version this process has just written, so it is not read back."""
        with self._lock:
            cached = self._loaded.get(collection_id)
            if cached is None or cached.version <= index.version:
                self._loaded[collection_id] = index

    def clear(self):
        with self._lock:
            self._loaded.clear()


index_cache = IndexCache()
