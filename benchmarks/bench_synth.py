"""Synthetic export generator: time to generate the national default (90,000
trainees) and a 1,000,000-row export (the cleaning benchmark's input), and to
write the default as CSV (semicolon, Windows-1252).

Usage: ``.venv/bin/python benchmarks/bench_synth.py [--rows-million N]``.
Targets: 90,000 rows in a few seconds; 1,000,000 rows well under a minute.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from toolkit.synth import generate_export, write_export


def _timed(label: str, func, *args, **kwargs):
    start = time.perf_counter()
    out = func(*args, **kwargs)
    print(f"{label:<45} {time.perf_counter() - start:7.2f} s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows-million", type=float, default=1.0)
    args = parser.parse_args()
    years = 6
    export = _timed("generate_export, 15,000/year x 6 (90k)", generate_export, trainees_per_year=15_000)
    print(f"  rows written: {len(export.raw):,}")
    per_year = int(args.rows_million * 1_000_000 / years)
    big = _timed(f"generate_export, {per_year:,}/year x 6", generate_export, trainees_per_year=per_year)
    print(f"  rows written: {len(big.raw):,}")
    del big
    with tempfile.TemporaryDirectory() as tmp:
        path = _timed("write_export CSV cp1252 (90k, incl. generation)", write_export, Path(tmp))
        print(f"  file size: {path.stat().st_size / 1e6:.1f} MB")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
