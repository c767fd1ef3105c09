"""A 2,000-page PDF is parsed a window of pages at a time: the worker's memory stays bounded.

The parse runs in a fresh process (as in the worker) and reports its peak resident set size;
the bound is on what parsing and chunking add to the process: its peak (``VmHWM``, reset
after start-up) over its size before (``VmRSS``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = 2000
GROWTH_BOUND_MB = 100  # measured: about 35 MB (README, Formats)

WORDS = "travel hotel meal taxi train flight mileage parking visa phone laptop training conference gift".split()

PROBE = """
import json, sys
import django
django.setup()
from pathlib import Path
from kbassist.ingestion.chunking import chunk_blocks
from kbassist.ingestion.parsers import parse
import pypdf, pypdfium2  # imported before the baseline: their code is not what is measured

def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith(field + ":"))

before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to the current size
parsed = parse(Path(sys.argv[1]))
chunks = chunk_blocks(parsed.blocks, 200, 40)
print(json.dumps({"pages": parsed.page_count, "blocks": len(parsed.blocks), "chunks": len(chunks),
                  "first": parsed.blocks[0].text[:40], "last": parsed.blocks[-1].page,
                  "before_mb": before, "peak_mb": status("VmHWM")}))
"""


def make_long_pdf(path: Path, pages: int):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(0, 8, f"Chapter {number}: {WORDS[number % len(WORDS)]} claims", new_x="LMARGIN", new_y="NEXT")
        for line in range(12):
            topic = WORDS[(number * 7 + line) % len(WORDS)]
            pdf.cell(0, 6, f"{topic.capitalize()} claims of the {WORDS[line]} kind are paid within {line + number % 30} days.",
                     new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def test_a_2000_page_pdf_is_parsed_in_bounded_memory(tmp_path):
    path = tmp_path / "manual.pdf"
    make_long_pdf(path, PAGES)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "KB_PDF_WINDOW_PAGES": "50"}
    result = subprocess.run([sys.executable, "-c", PROBE, str(path)], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["pages"] == PAGES and report["blocks"] == PAGES and report["last"] == PAGES
    assert report["first"].startswith("Chapter 1")
    growth = report["peak_mb"] - report["before_mb"]
    print(f"2,000-page PDF: peak RSS {report['peak_mb']:.0f} MB, {growth:.0f} MB over the process before parsing")
    assert growth < GROWTH_BOUND_MB
