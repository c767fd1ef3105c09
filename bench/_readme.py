"""Rewrite one benchmark's section of README.md, between its markers, and nothing else.

Each bench owns ``<!-- bench:NAME -->`` ... ``<!-- /bench:NAME -->``. If the pair is missing
it is added at the end of the "## Benchmarks" section (before the next "## " heading).
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import shlex
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), shared with other work while measuring"


def command() -> str:
    """The command that produced the figures, as it would be typed from the project root."""
    script = os.path.relpath(os.path.abspath(sys.argv[0]), README.parent)
    return " ".join([".venv/bin/python", script, *map(shlex.quote, sys.argv[1:])])


def stamp() -> str:
    return (
        f"Command: `{command()}` · date: {_dt.date.today().isoformat()} · "
        f"machine: {machine()}."
    )


def rewrite_section(name: str, body: str, readme: Path = README) -> None:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = readme.read_text()
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        heading = text.find("\n## Benchmarks")
        if heading < 0:
            raise SystemExit("README.md has no '## Benchmarks' section")
        nxt = text.find("\n## ", heading + 1)
        nxt = len(text) if nxt < 0 else nxt
        text = text[:nxt].rstrip("\n") + "\n\n" + block + "\n" + text[nxt:]
    readme.write_text(text)


def table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    """A Markdown table; numbers are right-aligned."""
    out = ["| " + " | ".join(headers) + " |"]
    out.append("|" + "|".join("---:" if (align or "").find(str(i)) >= 0 else "---" for i in range(len(headers))) + "|")
    for row in rows:
        out.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(out)
