"""What the benchmark scripts share: the real data, and fresh-process measures."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import warnings
from pathlib import Path

from skanime.datasets import load_mal
from skanime.exceptions import DataWarning


def benchmark_parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser described by ``doc``'s first line, with the data folder
    as its optional positional argument."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "data",
        nargs="?",
        default="../shared/data/mal",
        help="folder with anime.csv and posters/",
    )
    return parser


def load_real_data(folder):
    """The scored anime of ``folder/anime.csv``, or None after printing SKIPPED."""
    csv = Path(folder) / "anime.csv"
    if not csv.is_file():
        print(f"SKIPPED: no MyAnimeList data at {csv} (pass the data folder).")
        return None
    warnings.simplefilter("ignore", DataWarning)
    return load_mal(csv, dropna=True)


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ``ru_maxrss``: Linux
    carries that over from the parent at fork."""
    status = Path("/proc/self/status").read_text().splitlines()
    (line,) = [row for row in status if row.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024


def report(**figures) -> None:
    """Print a child's figures, with its peak memory, as the last line of JSON."""
    print(json.dumps({"peak_mb": peak_memory_mb(), **figures}))


def run_fresh(script, *args) -> dict:
    """Run ``script`` with ``args`` in a fresh interpreter; its :func:`report`."""
    out = subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])
