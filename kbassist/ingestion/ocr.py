"""Reading the text of scanned pages and images with Tesseract (through pytesseract).

Only pages without a text layer are read this way (``formats.pdf``), and images
(``formats.image``). ``KB_OCR=false`` turns it off; without the ``tesseract`` program (from
Debian's ``tesseract-ocr``) it is off too, and a scan fails saying which command installs it.
``KB_OCR_LANGUAGES`` names the Tesseract languages to read with (those not installed are
left out): English and Simplified Chinese by default.
"""

from __future__ import annotations

import functools
import os
import shutil
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from .parsed import ParseError

INSTALL_HINT = "sudo apt-get install -y tesseract-ocr tesseract-ocr-chi-sim"


def unavailable_reason() -> str | None:
    """Why OCR cannot run here (a sentence), or None when it can."""
    if not settings.KB_OCR:
        return "OCR is turned off (KB_OCR=false)"
    if _tesseract() is None:
        return f"OCR needs Tesseract, which is not installed on the server (install it with: {INSTALL_HINT})"
    return None


def require(what: str) -> None:
    """Raise a ParseError saying why ``what`` (e.g. "This PDF is a scan") cannot be read, if OCR is unavailable."""
    reason = unavailable_reason()
    if reason:
        raise ParseError(f"{what}: its text can only be read by OCR. {reason}.")


@functools.lru_cache(maxsize=1)
def _tesseract() -> str | None:
    return shutil.which("tesseract")


@functools.lru_cache(maxsize=4)
def _languages(wanted: str) -> str:
    import pytesseract

    try:
        installed = set(pytesseract.get_languages(config=""))
    except Exception:  # an old tesseract without --list-langs: ask for what was configured
        return wanted
    chosen = [lang for lang in wanted.split("+") if lang in installed]
    return "+".join(chosen or (["eng"] if "eng" in installed else sorted(installed)[:1]))


def workers() -> int:
    """How many pages are read at once (one Tesseract process each): ``KB_OCR_WORKERS``, by
    default one per CPU."""
    return max(1, settings.KB_OCR_WORKERS or os.cpu_count() or 1)


def read_images(images) -> list[str]:
    """The texts of several page images, read in parallel (one Tesseract process per page)."""
    images = list(images)
    if len(images) <= 1:
        return [read_image(image) for image in images]
    with ThreadPoolExecutor(max_workers=min(workers(), len(images))) as pool:
        return list(pool.map(read_image, images))


def read_image(image) -> str:
    """The text of a PIL image (a page), as Tesseract reads it in the configured languages."""
    import pytesseract

    # One thread per Tesseract process: pages are read in parallel instead, and Tesseract's
    # own OpenMP threads make it several times slower on a busy machine (47 s against 13.5 s
    # for one page, measured on 2 shared cores).
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    image = _for_ocr(image)
    try:
        return pytesseract.image_to_string(image, lang=_languages(settings.KB_OCR_LANGUAGES))
    except pytesseract.TesseractError as exc:
        raise ParseError(f"OCR could not read a page ({exc.message or exc.status}).") from exc
    except RuntimeError as exc:  # pytesseract's timeout
        raise ParseError(f"OCR of a page took too long ({exc}).") from exc


def _for_ocr(image):
    """Images Tesseract reads well: RGB or greyscale, not too small (a 72-dpi scan is enlarged)."""
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    shortest = min(image.size)
    if 0 < shortest < 1000:
        factor = 1000 / shortest
        image = image.resize((round(image.width * factor), round(image.height * factor)))
    return image
