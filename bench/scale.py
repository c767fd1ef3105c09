"""Retrieval latency and memory at 10k, 100k and 1M chunks, and the cost of an incremental update.

Corpus: synthetic chunks made of real sentences. SciFact's 5,183 abstracts are cut into
sentences, each tokenized once with the product tokenizer; a chunk is a run of 2–7
consecutive sentences of one abstract plus 0–3 sentences of another (about the size of a
200-token product chunk). Its tokens are the concatenation of its sentences' tokens —
identical to tokenizing the joined text, since no token spans a sentence break (checked on a
sample; tokenizer throughput is reported separately).
Dense vectors: embedding a million chunks for real is impossible here (~25 chunks/s), so each
chunk's vector is synthesised from the *real* embeddings of its two source abstracts
(weighted by sentence count) plus Gaussian noise of norm ~0.35, re-normalised. Queries are
real SciFact questions, embedded live by the product embedder.

Every stage is the product's: ``hybrid_rank`` (the core of ``search()``) over a
``CollectionIndex`` of a ``BM25Index`` and a ``DenseIndex`` (which switches to its IVF
index above ``KB_DENSE_ANN_THRESHOLD``). Baseline: ``rank_bm25.BM25Okapi.get_scores`` plus a
top-10 selection, on the same tokens.

The update test loads 100k chunks into a real SQLite database, syncs the index, then ingests
one 20-page PDF through ``ingest_document`` while a separate process keeps querying the same
index folder, as the web process would.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import DATASETS, ROOT, cached_embeddings, read_jsonl, setup_django  # noqa: E402
from bench._readme import rewrite_section, stamp, table  # noqa: E402

SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(])")


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values, q) -> float:
    return float(np.percentile(np.asarray(values), q)) if len(values) else float("nan")


# --- corpus -------------------------------------------------------------------------------------
class Synth:
    def __init__(self):
        from kbassist.text import index_text
        from kbassist.retrieval.tokenize import tokenize

        corpus = list(read_jsonl(DATASETS / "scifact" / "corpus.jsonl"))
        texts = [index_text(r["title"], "", r["text"]) for r in corpus]
        self.doc_vectors = cached_embeddings("scifact-corpus", texts)
        self.sentences: list[str] = []
        self.tokens: list[list[str]] = []
        self.doc_start = []
        for r in corpus:
            self.doc_start.append(len(self.sentences))
            for s in SENTENCE.split(r["text"]) or [r["text"]]:
                self.sentences.append(s)
                self.tokens.append(tokenize(s))
        self.doc_start.append(len(self.sentences))
        self.doc_start = np.asarray(self.doc_start)
        self.n_docs = len(corpus)
        queries = [r["text"] for r in read_jsonl(DATASETS / "scifact" / "queries.jsonl")]
        self.queries = queries
        self.query_vectors = cached_embeddings("scifact-all-queries", queries)

    def make(self, n: int, seed: int = 0, with_text: bool = False):
        from kbassist.retrieval.tokenize import tokenize

        rng = np.random.default_rng(seed)
        a = rng.integers(0, self.n_docs, n)
        b = rng.integers(0, self.n_docs, n)
        na = rng.integers(2, 8, n)
        nb = rng.integers(0, 4, n)
        tokens, texts = [], []
        for i in range(n):
            s0, s1 = self.doc_start[a[i]], self.doc_start[a[i] + 1]
            start = s0 + rng.integers(0, max(1, s1 - s0 - na[i] + 1))
            run = list(range(start, min(s1, start + na[i])))
            t0, t1 = self.doc_start[b[i]], self.doc_start[b[i] + 1]
            run += list(rng.integers(t0, t1, nb[i])) if t1 > t0 else []
            tokens.append([tok for s in run for tok in self.tokens[s]])
            if with_text:
                texts.append(" ".join(self.sentences[s] for s in run))
        wa = na.astype(np.float32)[:, None]
        wb = nb.astype(np.float32)[:, None]
        vectors = np.empty((n, self.doc_vectors.shape[1]), dtype=np.float32)
        for start in range(0, n, 100_000):
            sl = slice(start, start + 100_000)
            v = wa[sl] * self.doc_vectors[a[sl]] + wb[sl] * self.doc_vectors[b[sl]]
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            v += rng.normal(0, 0.35 / np.sqrt(v.shape[1]), v.shape).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            vectors[sl] = v
        if with_text:  # the shortcut above is exact: same tokens as tokenizing the text
            assert all(tokenize(t) == tok for t, tok in zip(texts[:200], tokens[:200]))
        return tokens, vectors, texts


# --- latency at one size ------------------------------------------------------------------------
def measure(synth: Synth, n: int, n_queries: int, n_baseline: int, log=print) -> dict:
    from django.conf import settings
    from rank_bm25 import BM25Okapi

    from kbassist.retrieval.bm25 import BM25Index
    from kbassist.retrieval.dense import DenseIndex
    from kbassist.retrieval.search import hybrid_rank
    from kbassist.retrieval.store import CollectionIndex

    gc.collect()
    rss0 = rss_mb()
    t = time.perf_counter()
    tokens, vectors, _ = synth.make(n, seed=n)
    synth_s = time.perf_counter() - t
    t = time.perf_counter()
    bm25 = BM25Index.from_tokens(tokens)
    bm25_s = time.perf_counter() - t
    t = time.perf_counter()
    dense = DenseIndex(vectors)
    dense_s = time.perf_counter() - t
    index = CollectionIndex(1, np.arange(n, dtype=np.int64), bm25, dense)
    bm25_mb = sum(a.nbytes for a in (bm25.tf.data, bm25.tf.indices, bm25.tf.indptr, bm25.weights.data,
                                     bm25.weights.indices, bm25.weights.indptr)) / 2**20
    dense_mb = dense.vectors.nbytes / 2**20
    ann_mb = 0.0
    if dense.ann is not None:
        ivf = dense.ann.ivf
        ann_mb = (ivf.ntotal * (ivf.code_size + 8) + ivf.nlist * ivf.d * 4 + dense.ann.slot_rows.nbytes) / 2**20
    log(f"{n:>9,} chunks: synthesised in {synth_s:.0f} s, BM25 built in {bm25_s:.1f} s, dense in {dense_s:.1f} s "
        f"({'IVF' if dense.ann is not None else 'exact'}), RSS +{rss_mb() - rss0:.0f} MB")

    weights = {"bm25": settings.KB_BM25_WEIGHT, "dense": settings.KB_DENSE_WEIGHT}
    depth = max(settings.KB_CANDIDATES, settings.KB_TOP_K)
    stages = {k: [] for k in ("embed", "dense", "bm25", "fusion", "total")}
    exact_ms, recalls = [], []
    qidx = np.random.default_rng(7).choice(len(synth.queries), n_queries, replace=False)
    hybrid_rank(synth.queries[0], [index], settings.KB_TOP_K, depth, settings.KB_RRF_K, weights)  # warm-up
    for qi in qidx:
        timings = {}
        t = time.perf_counter()
        hybrid_rank(synth.queries[qi], [index], settings.KB_TOP_K, depth, settings.KB_RRF_K, weights, timings)
        timings["total"] = (time.perf_counter() - t) * 1000
        for k in stages:
            stages[k].append(timings[k])
        qv = synth.query_vectors[qi]
        approx, _ = dense.top_k(qv, 10)
        t = time.perf_counter()
        exact, _ = dense.exact_top_k(qv, 10)
        exact_ms.append((time.perf_counter() - t) * 1000)
        recalls.append(len(set(approx.tolist()) & set(exact.tolist())) / len(exact))

    # Baseline: rank_bm25 on the same tokens; our top 10 must be the same documents.
    t = time.perf_counter()
    reference = BM25Okapi(tokens)
    base_build = time.perf_counter() - t
    base_ms, parity = [], True
    for qi in qidx[:n_baseline]:
        q = __import__("kbassist.retrieval.tokenize", fromlist=["tokenize"]).tokenize(synth.queries[qi])
        t = time.perf_counter()
        scores = reference.get_scores(q)
        top = np.argpartition(-scores, 10)[:10]
        top = top[np.argsort(-scores[top], kind="stable")]
        base_ms.append((time.perf_counter() - t) * 1000)
        rows, ours = bm25.top_k(q, 10)
        parity &= bool(np.allclose(ours, scores[rows], atol=1e-6, rtol=0)
                       and np.allclose(np.sort(scores[top]), np.sort(ours), atol=1e-6, rtol=0))
    del reference
    row = {
        "n": n, "bm25_build_s": bm25_s, "dense_build_s": dense_s, "ann": dense.ann is not None,
        "bm25_mb": bm25_mb, "dense_mb": dense_mb, "ann_mb": ann_mb, "rss_mb": rss_mb(),
        **{f"{k}_p50": pct(v, 50) for k, v in stages.items()},
        **{f"{k}_p95": pct(v, 95) for k, v in stages.items()},
        "exact_dense_p50": pct(exact_ms, 50), "recall10": float(np.mean(recalls)),
        "base_build_s": base_build, "base_p50": pct(base_ms, 50), "base_n": len(base_ms), "parity": parity,
        "queries": n_queries,
    }
    log(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()}))
    del tokens, vectors, bm25, dense, index
    gc.collect()
    return row


# --- incremental update -------------------------------------------------------------------------
def make_pdf(path: Path, synth: Synth, pages: int = 20, words_per_page: int = 450):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    rng = np.random.default_rng(3)
    for page in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 10, f"Section {page + 1}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        words = []
        while len(words) < words_per_page:
            words += synth.sentences[rng.integers(len(synth.sentences))].split()
        text = " ".join(words[:words_per_page]).encode("latin-1", "replace").decode("latin-1")
        pdf.multi_cell(0, 4.2, text)
    pdf.output(str(path))


def update_test(synth: Synth, n: int, log=print) -> dict:
    from django.contrib.auth.models import User
    from django.core.files import File

    from kbassist.ingestion import pipeline
    from kbassist.ingestion.indexing import sync_collection
    from kbassist.knowledge.models import Chunk, Collection, Document
    from kbassist.retrieval import store
    from kbassist.retrieval.embedder import get_embedder

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    collection = Collection.objects.create(name="Scale", is_public=True)
    User.objects.create_superuser("bench", password="x")
    t = time.perf_counter()
    _, vectors, texts = synth.make(n, seed=99, with_text=True)
    docs = Document.objects.bulk_create(
        Document(collection=collection, title=f"Synthetic {i}", original_name=f"s{i}.txt", sha256=f"{i:064x}",
                 status=Document.Status.READY) for i in range(n // 100)
    )
    Chunk.objects.bulk_create(
        (Chunk(collection=collection, document=docs[i // 100], position=i % 100, text=texts[i],
               embedding=vectors[i].tobytes()) for i in range(n)),
        batch_size=2000,
    )
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    sync_collection(collection.pk)
    first_sync = time.perf_counter() - t
    log(f"update test: {n:,} chunks stored in {load_s:.0f} s, first index build (sync from database) {first_sync:.0f} s")
    folder = store.collection_dir(collection.pk)
    version_mb = sum(f.stat().st_size for f in (folder / f"v{store.current_version(folder):06d}").iterdir()) / 2**20

    # A separate process serves queries from the same index folder while we ingest.
    out = Path(tempfile.mkstemp(suffix=".jsonl")[1])
    np.save(out.with_suffix(".npy"), synth.query_vectors[:200])
    reader = subprocess.Popen(
        [sys.executable, __file__, "--reader", str(collection.pk), str(out)], env={**os.environ},
    )
    time.sleep(8)  # let it load the index and settle

    embedder = get_embedder()
    embed_time = [0.0]
    original = embedder.encode

    def timed_encode(texts, *a, **kw):
        t0 = time.perf_counter()
        try:
            return original(texts, *a, **kw)
        finally:
            embed_time[0] += time.perf_counter() - t0

    embedder.encode = timed_encode
    sync_time = [0.0]
    original_sync = pipeline.sync_collection

    def timed_sync(cid):
        t0 = time.perf_counter()
        try:
            return original_sync(cid)
        finally:
            sync_time[0] += time.perf_counter() - t0

    pipeline.sync_collection = timed_sync
    pdf = Path(tempfile.mkdtemp()) / "twenty-pages.pdf"
    make_pdf(pdf, synth)
    with open(pdf, "rb") as fh:
        document = Document(collection=collection, original_name=pdf.name)
        document.file = File(fh, name=pdf.name)
        document.fill_file_facts()
        document.save()
    t_start = time.time()
    t = time.perf_counter()
    pipeline.ingest_document(document.pk)
    total = time.perf_counter() - t
    t_end = time.time()
    embedder.encode = original
    pipeline.sync_collection = original_sync
    document.refresh_from_db()
    new_version = store.current_version(folder)
    switched = None
    for _ in range(600):  # until the reader answers from the new version (at most 60 s)
        time.sleep(0.1)
        seen = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
        later = [r for r in seen if r.get("version", 0) >= new_version]
        if later:
            switched = later[0]["at"] - t_end
            break
    time.sleep(1)
    reader.terminate()
    reader.wait(timeout=30)
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    during = [r for r in rows if t_start <= r["at"] <= t_end + 1]
    before = [r for r in rows if r["at"] < t_start]
    versions = sorted({r["version"] for r in rows})
    errors = sum(1 for r in rows if r.get("error"))
    res = {
        "n": n, "status": document.status, "pages": document.page_count, "chunks": document.chunk_count,
        "total_s": total, "embed_s": embed_time[0], "sync_s": sync_time[0], "beyond_s": total - embed_time[0],
        "first_sync_s": first_sync, "version_mb": version_mb,
        "q_before_p50": pct([r["ms"] for r in before], 50),
        "q_during_n": len(during), "q_during_p50": pct([r["ms"] for r in during], 50),
        "q_during_max": max((r["ms"] for r in during), default=float("nan")),
        "versions": versions, "errors": errors, "switched_s": switched,
    }
    log(json.dumps(res, default=str))
    return res


def reader_main(collection_id: int, out: str):
    """The 'web process': query the collection in a loop, logging latency and version."""
    setup_django(os.environ["KB_DATA_DIR"])
    from kbassist.retrieval.search import hybrid_rank
    from kbassist.retrieval.store import index_cache

    qvecs = np.load(Path(out).with_suffix(".npy"))
    queries = [r["text"] for r in read_jsonl(DATASETS / "scifact" / "queries.jsonl")][: len(qvecs)]
    with open(out, "a") as fh:
        i = 0
        while True:
            t = time.perf_counter()
            rec = {"at": time.time()}
            try:
                index = index_cache.get(collection_id)
                hybrid_rank(queries[i % len(queries)], [index], 5, 50, 60, None, query_vector=qvecs[i % len(qvecs)])
                rec["version"] = index.version
            except Exception as exc:  # reported as an error count
                rec["error"] = repr(exc)
                rec["version"] = -1
            rec["ms"] = (time.perf_counter() - t) * 1000
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            i += 1
            time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--update-size", type=int, default=100_000, help="0 skips the update test")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--reader", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader:
        return reader_main(int(args.reader[0]), args.reader[1])

    setup_django()
    from django.conf import settings

    from kbassist.retrieval.dense import ann_nprobe, ann_threshold
    from kbassist.retrieval.tokenize import tokenize

    started = time.perf_counter()
    synth = Synth()
    sample = [" ".join(synth.sentences[i : i + 6]) for i in range(0, 60_000, 6)]
    t = time.perf_counter()
    n_tok = sum(len(tokenize(s)) for s in sample)
    tok_rate = len(sample) / (time.perf_counter() - t)
    print(f"tokenizer: {tok_rate:,.0f} chunks/s ({n_tok / len(sample):.0f} tokens per chunk)")

    results = []
    for n in [int(x) for x in args.sizes.split(",") if x]:
        n_base = 50 if n <= 10_000 else 20 if n <= 100_000 else 5
        results.append(measure(synth, n, args.queries, n_base))
    update = update_test(synth, args.update_size) if args.update_size else None
    print(f"total {time.perf_counter() - started:.0f} s")

    f = lambda v: f"{v:.1f}"  # noqa: E731
    lat = table(
        ["chunks", "query embed p50/p95", "dense p50/p95", "BM25 p50/p95", "fusion p50/p95", "**total p50/p95**",
         "rank_bm25 get_scores+top10 p50 (n)"],
        [[f"{r['n']:,}", f"{f(r['embed_p50'])} / {f(r['embed_p95'])}", f"{f(r['dense_p50'])} / {f(r['dense_p95'])}",
          f"{f(r['bm25_p50'])} / {f(r['bm25_p95'])}", f"{r['fusion_p50']:.2f} / {r['fusion_p95']:.2f}",
          f"**{f(r['total_p50'])} / {f(r['total_p95'])}**", f"{r['base_p50']:,.0f} ({r['base_n']})"] for r in results],
    )
    build = table(
        ["chunks", "BM25 build", "dense build", "dense search", "ANN Recall@10 vs exact", "exact dense p50",
         "BM25 matrices", "vectors", "IVF", "process RSS", "rank_bm25 build", "top-10 = rank_bm25"],
        [[f"{r['n']:,}", f"{r['bm25_build_s']:.1f} s", f"{r['dense_build_s']:.1f} s",
          "IVF-SQ8 + exact re-score" if r["ann"] else "exact", f"{r['recall10']:.3f}" if r["ann"] else "1 (exact)",
          f"{r['exact_dense_p50']:.1f} ms", f"{r['bm25_mb']:,.0f} MB", f"{r['dense_mb']:,.0f} MB",
          f"{r['ann_mb']:,.0f} MB" if r["ann"] else "–", f"{r['rss_mb']:,.0f} MB", f"{r['base_build_s']:.0f} s",
          "yes" if r["parity"] else "**NO**"] for r in results],
    )
    upd = ""
    if update:
        u = update
        upd = f"""
**Incremental update** at {u['n']:,} chunks (real SQLite database and on-disk index; the first
build from the database took {u['first_sync_s']:.0f} s; one version is {u['version_mb']:,.0f} MB on disk): one
{u['pages']}-page PDF ({u['chunks']} chunks) through `ingest_document` took {u['total_s']:.1f} s, of which
embedding {u['embed_s']:.1f} s, so **{u['beyond_s']:.1f} s beyond its own embedding** (index sync
{u['sync_s']:.1f} s). A separate reader process querying the same index folder meanwhile answered
{u['q_during_n']} queries during the ingestion (p50 {u['q_during_p50']:.1f} ms, max {u['q_during_max']:.0f} ms,
{u['errors']} errors; versions seen {u['versions']}); before it, p50 {u['q_before_p50']:.1f} ms. It loads a
large new version in a background thread while answering from the previous one, and answered
from the new version {'(never)' if u['switched_s'] is None else f"{u['switched_s']:.1f} s"} after the ingestion finished.
(The reader uses precomputed query vectors, so these are index-side latencies.)
"""
    if not args.no_readme:
        body = f"""**Latency and memory at scale** (`bench/scale.py`). Corpus: synthetic chunks built from real
SciFact sentences (2–7 consecutive sentences of one abstract plus 0–3 of another, ~{n_tok / len(sample):.0f}
tokens each); dense vectors synthesised from the real embeddings of the two source abstracts
plus noise (embedding 1M chunks for real would take ~11 hours here). Queries: {args.queries} real SciFact
questions per size, embedded live by the product embedder (one torch thread per query,
`KB_EMBED_QUERY_THREADS=1`); `hybrid_rank` (the core of `search()`)
with `KB_CANDIDATES={settings.KB_CANDIDATES}`, `KB_TOP_K={settings.KB_TOP_K}`. Dense search is exact below
`KB_DENSE_ANN_THRESHOLD={ann_threshold():,}` chunks, IVF above it (`KB_DENSE_ANN_NPROBE={ann_nprobe()}`).
Times in ms; the rank_bm25 baseline is timed on the first (n) of the same queries. The product
tokenizer runs at {tok_rate:,.0f} chunks/s (not part of the build times below, which start from tokens).

{lat}

{build}
{upd}
{stamp()}"""
        rewrite_section("scale", body)


if __name__ == "__main__":
    main()
