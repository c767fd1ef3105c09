"""Office 97-2003 files (.doc, .xls, .ppt): converted with LibreOffice (``soffice``, from
Debian's ``libreoffice-core`` packages) into .docx/.xlsx/.pptx and read as those. Without
LibreOffice they are refused with the command that installs it, or the advice to save them
in the new format."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ..parsed import ParsedDocument, ParseError

TARGETS = {".doc": ".docx", ".xls": ".xlsx", ".ppt": ".pptx"}
_APPS = {".doc": "Word", ".xls": "Excel", ".ppt": "PowerPoint"}
INSTALL_HINT = "sudo apt-get install -y --no-install-recommends libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui"
TIMEOUT_S = 180


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def parse_legacy(path: Path, suffix: str) -> ParsedDocument:
    from . import PARSERS

    target = TARGETS[suffix]
    program = soffice()
    if program is None:
        raise ParseError(
            f"This is an old-format {_APPS[suffix]} file ({suffix}). The server reads it only with LibreOffice, which is "
            f"not installed (install it with: {INSTALL_HINT}). Or open it in {_APPS[suffix]}, save it as {target} "
            "and upload that."
        )
    with tempfile.TemporaryDirectory(prefix="kb-convert-") as folder:
        source = Path(folder) / f"source{suffix}"
        shutil.copyfile(path, source)
        try:
            subprocess.run(
                [program, "--headless", "--norestore", f"-env:UserInstallation=file://{folder}/profile",
                 "--convert-to", target[1:], "--outdir", folder, str(source)],
                check=True, capture_output=True, timeout=TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            raise ParseError(f"LibreOffice took more than {TIMEOUT_S} s to convert the {suffix} file.") from None
        except (subprocess.CalledProcessError, OSError):
            raise ParseError(f"LibreOffice could not convert the {suffix} file (is it damaged?).") from None
        converted = source.with_suffix(target)
        if not converted.exists():
            raise ParseError(f"LibreOffice could not convert the {suffix} file (is it damaged?).")
        return PARSERS[target](converted)
