"""Write a benchmark's section into docs/benchmarks.md, between markers, leaving the other sections alone."""

import os
import platform
import re
import shlex
import sys
from datetime import date
from pathlib import Path

import torch

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\nEvery number here was measured by the command shown with it; rerun it to refresh its section.\n"
)


def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        names = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    cpu = names[0] if names else platform.processor()
    return f"{os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__}, {torch.get_num_threads()} threads"


def load_note() -> str:
    """The machine's load when a benchmark starts; above one per core, its timings are marked provisional."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    note = f"1-minute load average {load:.1f} on {cores} cores at the start"
    if load > cores:
        note += ": a busy machine, so the times here are provisional (memory and sizes are not); rerun on a quiet one"
    return note


def markdown_table(first_column: str, rows: dict[str, dict[str, str]]) -> str:
    """A Markdown table: one row per key of ``rows``, named in the first column; the other columns are the keys
    of each row's dict (the same in every row), right-aligned."""
    columns = list(next(iter(rows.values())))
    lines = [f"| {first_column} | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    lines += [f"| {name} | " + " | ".join(row.values()) + " |" for name, row in rows.items()]
    return "\n".join(lines)


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section ``name`` of docs/benchmarks.md with ``body`` plus how it was made."""
    # `python -m bench.<script> <args>`, quoted as typed, so it can be pasted back (argv[0] is the script's path)
    command = shlex.join(["python", "-m", f"bench.{Path(sys.argv[0]).stem}", *sys.argv[1:]])
    section = (
        f"<!-- {name}:start -->\n{body.strip()}\n\n"
        f"Measured {date.today()} on {machine()} with `{command}`.\n<!-- {name}:end -->"
    )
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else HEADER
    pattern = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else f"{text.rstrip()}\n\n{section}\n"
    BENCHMARKS_MD.parent.mkdir(parents=True, exist_ok=True)
    BENCHMARKS_MD.write_text(text)
