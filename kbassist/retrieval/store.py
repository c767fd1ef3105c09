"""On-disk index versions, one folder per collection, kept in step with the Chunk table.

Layout::

    INDEX_DIR/collection-<id>/
        CURRENT          name of the live version, swapped atomically with os.replace
        v000042/         one complete, immutable version: chunk ids, BM25 and dense files
        .lock            writers take this file lock; readers never wait for it
        crosslingual/    a second index of the same chunks, laid out the same way: the vectors
                         of a multilingual embedder, searched by a question in another
                         language than the documents' (``CROSSLINGUAL``; ingestion.indexing)

A writer builds a whole new version in a temporary folder, renames it into place and then
points CURRENT at it, so a reader sees either the old version or the new one, never half
of one. Readers (the web process) check CURRENT on every search and load a new version
the moment it appears, with no restart. Version files are never modified once written, so
readers map them into memory instead of copying them (loading a large version takes
milliseconds), and a version folder removed while still mapped stays readable. The optional
approximate dense index (``dense_ann.*``, see ``dense.py``) is one more file of the same
version folder, so it is swapped in by the same atomic rename.

``sync`` makes the index hold a given set of chunk ids (the ingestion layer passes the ids
in the database): under the lock it loads the live version, drops ids that are gone and
appends those that are new.
Two ingestions finishing at the same moment therefore both end up in the index exactly
once, whichever takes the lock first.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from scipy import sparse

from .bm25 import BM25Index
from .dense import DenseIndex

log = logging.getLogger(__name__)

KEEP_OLD_VERSIONS = 2  # readers may still be loading the previous one
# A version may be written as "base + delta" (see write_version) while the rows appended
# since the base was written stay below this share of the base (or this many rows).
DELTA_FRACTION = 0.25
DELTA_MIN_ROWS = 2000


@dataclass
class CollectionIndex:
    version: int
    chunk_ids: np.ndarray  # int64, row -> Chunk.pk
    bm25: BM25Index
    dense: DenseIndex
    # The first ``base_rows`` rows (and ``base_terms`` BM25 terms) are stored, unchanged, in
    # the base files of version ``version``'s folder; rows after them were only appended.
    base_rows: int = 0
    base_terms: int = 0
    # The embedder whose vectors the dense index holds (``TextEmbedder.name``); "" while
    # empty. Vectors of two embedders are never mixed in one index.
    embedder: str = ""
    # How the rows' BM25 tokens were made (the caller's version of it, e.g.
    # ``ingestion.indexing.KEYWORDS_VERSION``); 0 for an index written before it was recorded.
    # Rows appended to an index keep its number: only a full rebuild brings it up to date.
    keywords: int = 0

    @classmethod
    def empty(cls) -> CollectionIndex:
        return cls(0, np.zeros(0, dtype=np.int64), BM25Index.empty(), DenseIndex.empty())

    def __len__(self):
        return len(self.chunk_ids)


# The space of a collection's cross-lingual dense index (a folder inside the collection's):
# its rows are the same chunks as the main index's, with no BM25 tokens.
CROSSLINGUAL = "crosslingual"


def collection_dir(collection_id: int, space: str = "") -> Path:
    """The folder of a collection's index (``space``: of its second index, e.g. ``CROSSLINGUAL``)."""
    folder = Path(settings.INDEX_DIR) / f"collection-{collection_id}"
    return folder / space if space else folder


def current_version(folder: Path) -> int:
    try:
        return int((folder / "CURRENT").read_text().strip().lstrip("v"))
    except (FileNotFoundError, ValueError):
        return 0


def load_version(folder: Path, version: int) -> CollectionIndex:
    vdir = folder / f"v{version:06d}"
    meta_file = vdir / "meta.json"
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    chunk_ids = np.load(vdir / "chunk_ids.npy", mmap_mode="r")
    bm25, dense = BM25Index.load(vdir), DenseIndex.load(vdir)
    base_rows, base_terms = len(chunk_ids), len(bm25.vocab)
    if meta.get("delta"):
        delta_ids = np.load(vdir / "delta_chunk_ids.npy")
        new_terms = json.loads((vdir / "delta_terms.json").read_text())
        rows = sparse.csr_matrix(
            tuple(np.load(vdir / f"delta_tf_{part}.npy") for part in ("data", "indices", "indptr")),
            shape=(len(delta_ids), base_terms + len(new_terms)),
        )
        chunk_ids = np.concatenate([chunk_ids, delta_ids])
        bm25 = bm25.appended(rows, new_terms)
        dense = dense.extended(np.load(vdir / "delta_vectors.npy"))
        bm25.weights  # noqa: B018 - derive them now, not in the first search that uses this version
    return CollectionIndex(version, chunk_ids, bm25, dense, base_rows, base_terms, meta.get("embedder", ""), meta.get("keywords", 0))


def write_version(folder: Path, index: CollectionIndex) -> int:
    """Write ``index`` as the next version and make it the live one. Returns the version.

    A version is a complete folder: either full files, or — when ``index`` is the live
    version plus appended rows — the live version's base files, hard-linked (no copy), and
    the appended rows as ``delta_*`` files, which readers add on loading. Syncing one more
    document into a large collection then writes that document's rows, not the collection.
    Once the appended rows outgrow ``DELTA_FRACTION`` of the base, a full version is written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    live = current_version(folder)
    version = live + 1
    base_dir = folder / f"v{live:06d}"
    appended = len(index) - index.base_rows
    as_delta = (
        index.base_rows > 0
        and index.version == live
        and appended <= max(DELTA_MIN_ROWS, DELTA_FRACTION * index.base_rows)
        and base_dir.is_dir()
        and _same_ann(index, base_dir)
    )
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=folder))
    try:
        if as_delta:
            for f in base_dir.iterdir():
                if not f.name.startswith("delta_") and f.name != "meta.json":
                    os.link(f, tmp / f.name)
            b = index.base_rows
            np.save(tmp / "delta_chunk_ids.npy", np.asarray(index.chunk_ids[b:]))
            np.save(tmp / "delta_vectors.npy", index.dense.vectors[b:])
            rows = index.bm25.tf[b:]
            for part in ("data", "indices", "indptr"):
                np.save(tmp / f"delta_tf_{part}.npy", getattr(rows, part))
            terms = list(itertools.islice(index.bm25.vocab, index.base_terms, None))
            (tmp / "delta_terms.json").write_text(json.dumps(terms, ensure_ascii=False))
            written = [f for f in tmp.iterdir() if f.name.startswith("delta_")]
        else:
            np.save(tmp / "chunk_ids.npy", np.asarray(index.chunk_ids))
            index.bm25.save(tmp)
            index.dense.save(tmp)
            index.base_rows, index.base_terms = len(index), len(index.bm25.vocab)
            written = list(tmp.iterdir())
        meta = {"chunks": len(index), "written_at": time.time(), "delta": as_delta, "embedder": index.embedder,
                "keywords": index.keywords, "base_rows": index.base_rows, "base_terms": index.base_terms}
        (tmp / "meta.json").write_text(json.dumps(meta))
        for f in [*written, tmp / "meta.json"]:
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


def _same_ann(index: CollectionIndex, base_dir: Path) -> bool:
    """Whether the base's approximate dense index (if any) is the one ``index`` extends, so
    that readers adding the delta to it get the writer's index without training anew."""
    meta = base_dir / "dense_ann.json"
    if index.dense.ann is None or not meta.exists():
        return index.dense.ann is None and not meta.exists()
    return json.loads(meta.read_text())["trained_for"] == index.dense.ann.trained_for


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


class EmbedderMismatch(RuntimeError):
    """The index holds vectors of another embedder than the one new rows come from."""


def sync(
    collection_id: int,
    wanted_ids: Callable[[], np.ndarray],
    rows_for: Callable[[np.ndarray], Iterable[tuple[int, list[str], np.ndarray]]],
    embedder: str,
    keywords: int = 0,
    space: str = "",
) -> CollectionIndex:
    """Make the collection's index hold exactly the chunk ids ``wanted_ids()`` returns.

    Under the writer lock: ids no longer wanted are dropped, and the new ones are appended
    from ``rows_for(new_ids)``, which yields ``(chunk_id, bm25_tokens, unit_vector)`` (a
    row it leaves out is simply not added). ``wanted_ids`` is called under the lock, so two
    writers syncing at once both end up in the index exactly once. ``embedder`` names the
    model of the new rows' vectors: appending them to an index of another embedder raises
    ``EmbedderMismatch`` (re-embed the collection: ``manage.py rebuild_index --reembed``).
    ``keywords`` numbers how the new rows' BM25 tokens were made; an index built from empty
    records it, one appended to keeps its own (``stale`` tells the two apart). ``space`` names
    a second index of the collection (``CROSSLINGUAL``), synced the same way.
    """
    folder = collection_dir(collection_id, space)
    with writer_lock(folder):
        version = current_version(folder)
        # The live version, from this process's cache when it is already there (a worker
        # syncing document after document reuses the version it has just written).
        index = index_cache.get(collection_id, wait=True, space=space) if version else CollectionIndex.empty()
        version = index.version
        wanted = np.asarray(wanted_ids(), dtype=np.int64)
        keep = np.isin(index.chunk_ids, wanted)
        new_ids = np.setdiff1d(wanted, index.chunk_ids)
        if keep.all() and not len(new_ids):
            return index
        if not keep.all():  # rows removed: the next version is written in full
            left = len(index.chunk_ids[keep])
            index = CollectionIndex(
                version, index.chunk_ids[keep], index.bm25.without(keep), index.dense.without(keep),
                embedder=index.embedder if left else "", keywords=index.keywords if left else 0,
            )
        rows = list(rows_for(new_ids)) if len(new_ids) else []
        if rows and len(index) and index.embedder and index.embedder != embedder:
            raise EmbedderMismatch(
                f"The index of collection {collection_id} holds vectors of {index.embedder}, not of {embedder}: "
                "re-embed it with `manage.py rebuild_index --reembed`."
            )
        if rows:
            index = CollectionIndex(
                version,
                np.concatenate([index.chunk_ids, np.asarray([r[0] for r in rows], dtype=np.int64)]),
                index.bm25.extended([r[1] for r in rows]),
                index.dense.extended(np.vstack([r[2] for r in rows])),
                index.base_rows,
                index.base_terms,
                embedder,
                index.keywords if len(index) else keywords,
            )
        write_version(folder, index)
        index_cache.put(collection_id, index, space=space)
        log.info("collection %s: %sindex v%s with %s chunks", collection_id, f"{space} " if space else "", index.version, len(index))
        return index


def stale(collection_id: int, keywords: int) -> bool:
    """Whether the collection has an index whose BM25 tokens were made otherwise than
    ``keywords`` says they are made now (rebuild it: ``manage.py rebuild_index --stale``)."""
    return current_version(collection_dir(collection_id)) > 0 and index_cache.get(collection_id, wait=True).keywords != keywords


def collection_versions(collection_ids, space: str = "") -> dict[int, int]:
    """The live index version of each collection (0: never indexed); ``space``: of its second index."""
    return {cid: current_version(collection_dir(cid, space)) for cid in collection_ids}


def idf_weights(collection_id: int, tokens) -> dict[str, float]:
    """BM25 idf of each token in the collection's live index; a token the collection has
    never seen gets the highest idf of the collection (it is as rare as can be)."""
    bm25 = index_cache.get(collection_id).bm25
    ceiling = float(bm25.idf.max()) if len(bm25.idf) else 1.0
    return {t: float(bm25.idf[bm25.vocab[t]]) if t in bm25.vocab else ceiling for t in tokens}


def chunk_shares(collection_ids, tokens) -> dict[str, float]:
    """For each of ``tokens``, the share of the chunks of these collections that contain it
    (0.0: the knowledge base never uses the word)."""
    counts = dict.fromkeys(tokens, 0)
    total = 0
    for collection_id in set(collection_ids):
        bm25 = index_cache.get(collection_id).bm25
        if not len(bm25):
            continue
        total += len(bm25)
        chunks_with = np.diff(bm25.weights.indptr)  # per term: the chunks that contain it
        for token in counts:
            column = bm25.vocab.get(token)
            if column is not None and column < len(chunks_with):
                counts[token] += int(chunks_with[column])
    return {token: count / total if total else 0.0 for token, count in counts.items()}


def drop_collection(collection_id: int, space: str = ""):
    """Remove a collection's index files (all of them; with ``space``, only that index's)."""
    shutil.rmtree(collection_dir(collection_id, space), ignore_errors=True)


class IndexCache:
    """Process-wide cache of live index versions; reloads a collection when CURRENT moves.

    A small collection's new version is loaded by the search that first sees it (that takes
    milliseconds). A large one's (``BACKGROUND_RELOAD_ROWS`` chunks or more) is loaded by a
    background thread while searches keep answering from the previous version, so no query
    waits for the reload; the new version takes over as soon as it is loaded.
    """

    BACKGROUND_RELOAD_ROWS = 50_000

    def __init__(self):
        self._lock = threading.Lock()
        self._loaded: dict[tuple[int, str], CollectionIndex] = {}
        self._loading: set[tuple[int, str]] = set()

    def get(self, collection_id: int, wait: bool = False, space: str = "") -> CollectionIndex:
        """The live version (``wait=False``: possibly the previous one while a large new
        version is loading in the background); ``space``: of the collection's second index."""
        key = (collection_id, space)
        folder = collection_dir(collection_id, space)
        version = current_version(folder)
        cached = self._loaded.get(key)
        if cached is not None and cached.version == version:
            return cached
        if not wait and cached is not None and len(cached) >= self.BACKGROUND_RELOAD_ROWS and version:
            with self._lock:
                if key not in self._loading:
                    self._loading.add(key)
                    threading.Thread(target=self._reload, args=(key,), daemon=True).start()
            return cached
        with self._lock:
            return self._load(key, folder, version)

    def _load(self, key: tuple[int, str], folder: Path, version: int) -> CollectionIndex:
        """Load ``version`` unless it (or a later one) is cached already. Caller holds the lock."""
        cached = self._loaded.get(key)
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
        self._loaded[key] = index
        return index

    def _reload(self, key: tuple[int, str]):
        try:
            folder = collection_dir(*key)
            version = current_version(folder)
            index = load_version(folder, version)  # outside the lock: searches go on meanwhile
            self.put(key[0], index, space=key[1])
        except Exception:  # the next search tries again
            log.exception("reloading the %sindex of collection %s failed", f"{key[1]} " if key[1] else "", key[0])
        finally:
            with self._lock:
                self._loading.discard(key)

    def put(self, collection_id: int, index: CollectionIndex, space: str = ""):
        """Remember a version this process has just written (or loaded), so it is not read
        again. Should a slow background load put a superseded version, the next search sees
        that CURRENT has moved and loads again."""
        with self._lock:
            self._loaded[(collection_id, space)] = index

    def clear(self):
        with self._lock:
            self._loaded.clear()


index_cache = IndexCache()
