"""Run every benchmark script in this folder, one after another, and print their figures.

Usage: ``make bench`` (or ``.venv/bin/python benchmarks/run_all.py [name ...]``).
Each ``bench_*.py`` prints its own figures; see benchmarks/README.md for the
targets and the figures measured so far.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if any(n in s.stem for n in names)]
    failed = 0
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        failed += subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
