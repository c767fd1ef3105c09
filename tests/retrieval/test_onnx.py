"""The optional ONNX encoder backends give the same embeddings as the torch model."""

import numpy as np
import pytest
from django.test import override_settings

from kbassist.retrieval.embedder import Embedder, bundled_model_dir

TEXTS = ["How many vacation days do I get?", "The VPN uses WireGuard.", "年假有多少天？", "Expense claims are due within 30 days."]


@pytest.mark.parametrize("backend, min_cosine", [("onnx", 0.9999), ("onnx-int8", 0.97)])
def test_onnx_backends_match_torch(tmp_path, backend, min_cosine):
    with override_settings(MODELS_DIR=tmp_path):
        reference = Embedder(bundled_model_dir(), backend="torch").encode(TEXTS)
        onnx = Embedder(bundled_model_dir(), backend=backend)
        vectors = onnx.encode(TEXTS)
    assert onnx._onnx is not None and list(tmp_path.rglob("*.onnx"))  # really ran on onnxruntime
    assert vectors.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert (vectors * reference).sum(axis=1).min() >= min_cosine
