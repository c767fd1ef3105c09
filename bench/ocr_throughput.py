"""OCR throughput: pages per second for scanned PDF pages, through the product's own parser.

A PDF of ``--pages`` scanned A4 pages is made (each page dense text rendered to a 150-dpi
image with Pillow, as a scanner delivers it; no text layer), then ``parsers.parse`` reads it
as the worker does: each page is rendered at ``KB_OCR_DPI`` (200) and read by Tesseract in
``KB_OCR_LANGUAGES`` (eng+chi_sim), ``KB_OCR_WORKERS`` pages at a time (one per CPU). It prints pages/s and checks that the text was read.

    .venv/bin/python bench/ocr_throughput.py [--pages 10]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import setup_django  # noqa: E402

WORDS = "travel hotel meal taxi train flight mileage parking visa phone laptop training conference gift receipt".split()


def scanned_pdf(path: Path, pages: int):
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=22)
    images = []
    for number in range(1, pages + 1):
        image = Image.new("L", (1240, 1754), 255)
        draw = ImageDraw.Draw(image)
        draw.text((100, 90), f"{WORDS[number % len(WORDS)].capitalize()} rules, part {number}", fill=0, font=font)
        for line in range(45):
            words = " ".join(WORDS[(number * 3 + line + k) % len(WORDS)] for k in range(9))
            draw.text((100, 150 + 34 * line), f"{line + 1}. {words.capitalize()} within {line + 10} days.", fill=0, font=font)
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(buffer, format="PDF", resolution=150, save_all=True, append_images=images[1:])
    path.write_bytes(buffer.getvalue())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("tesseract") is None:
        sys.exit("tesseract is not installed: sudo apt-get install -y tesseract-ocr tesseract-ocr-chi-sim")
    setup_django()
    from django.conf import settings

    from kbassist.ingestion.parsers import parse

    folder = Path(tempfile.mkdtemp(prefix="kb-ocr-bench-"))
    path = folder / "scan.pdf"
    scanned_pdf(path, args.pages)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    parsed = parse(path)
    spent = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime) / args.pages  # Tesseract's CPU s/page
    shutil.rmtree(folder, ignore_errors=True)
    assert parsed.ocr_pages == args.pages, parsed.ocr_pages
    read = sum(f"{WORDS[b.page % len(WORDS)].capitalize()} rules" in b.text for b in parsed.blocks)
    print(f"{args.pages} scanned pages at {settings.KB_OCR_DPI} dpi, languages {settings.KB_OCR_LANGUAGES}, "
          f"{settings.KB_OCR_WORKERS or os.cpu_count()} at a time: "
          f"{spent:.1f} s, {args.pages / spent:.2f} pages/s ({read}/{args.pages} page headings read back); "
          f"Tesseract CPU time {cpu:.1f} s/page, so about {(os.cpu_count() or 1) / cpu:.2f} pages/s on "
          f"{os.cpu_count()} idle cores; load average {os.getloadavg()[0]:.1f} while measuring")


if __name__ == "__main__":
    main()
