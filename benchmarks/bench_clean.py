"""Cleaning speed and memory on large synthetic exports.

Times ``toolkit.clean_export`` on a 1,000,000-row export made by the
synthetic generator (semicolon CSV in Windows-1252, as Excel writes it in
France, with the generator's mess: label variants, invalid rows, duplicates,
identifier columns) against a bare ``pandas.read_csv`` of the same file, then
on a 2,000,000-row export.

Targets (issue 2, item 8):
* the whole clean takes at most 3x the bare read;
* peak memory at most 4 GB;
* 2,000,000 rows take at most 2.2x the time of 1,000,000.

Every measurement runs in a fresh Python process (so that peak memory, read
from ``/proc/self/status`` (VmHWM), belongs to that run alone; imports are done
before the clock starts, for both sides), bare reads and cleans alternate,
and each is repeated (median reported). Wall time and CPU
time (all threads) are both printed: on a machine shared with other work,
CPU time is the steadier figure.

Usage::

    .venv/bin/python benchmarks/bench_clean.py [--rows 1000000 2000000] [--repeat 3]

Exports are generated once into ``benchmarks/out/clean/`` (git-ignored) and
reused.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "clean"

CHILD = r"""
import json, sys, time, warnings
import pandas as pd
import pyarrow.csv  # imports are not timed, for either side
from toolkit.cleaning import clean_export
path, what = sys.argv[1], sys.argv[2]
t_wall, t_cpu = time.perf_counter(), time.process_time()
extra = {}
if what == "bare":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mixed-type DtypeWarning: the bare read is plain pandas
        frame = pd.read_csv(path, sep=";", encoding="cp1252")
    extra["rows"] = len(frame)
else:
    result = clean_export(path, key="benchmark-key")
    s = result.summary
    extra = {"rows": s["rows_received"], "kept": s["rows_kept"], "rejected": s["rows_rejected"],
             "steps": result.timings["wall"], "steps_cpu": result.timings["cpu"]}
wall, cpu = time.perf_counter() - t_wall, time.process_time() - t_cpu
# Peak resident memory of this process: VmHWM belongs to this process's own memory map
# (getrusage's ru_maxrss would also count the parent's memory, inherited across fork/exec).
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"wall": wall, "cpu": cpu, "peak_bytes": peak, **extra}))
"""


def export_path(rows: int) -> Path:
    """A generator export of about ``rows`` data rows, written once and reused."""
    from toolkit import synth

    directory = OUT / f"rows_{rows}"
    path = directory / f"{synth.DEFAULT_EXPORT_NAME}.csv"
    if not path.is_file():
        per_year = round(rows / len(synth.DEFAULT_YEARS) / 1.005)  # the generator adds ~0.5 % duplicates
        print(f"generating a {rows:,}-row export (once)...", flush=True)
        start = time.perf_counter()
        code = (
            "import sys; from toolkit import synth; synth.write_export(sys.argv[1], trainees_per_year=int(sys.argv[2]))"
        )
        subprocess.run([sys.executable, "-c", code, str(directory), str(per_year)], check=True, cwd=HERE.parent)
        print(f"  done in {time.perf_counter() - start:.0f} s: {path}", flush=True)
    return path


def measure(path: Path, what: str) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), what], capture_output=True, text=True, cwd=HERE.parent, env=env
    )
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 2_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start "
        "(shared with other work: see wall vs CPU)"
    )
    results = {}
    for rows in args.rows:
        path = export_path(rows)
        bare, clean = [], []
        for _ in range(args.repeat):
            bare.append(measure(path, "bare"))
            clean.append(measure(path, "clean"))
        results[rows] = {"bare": bare, "clean": clean, "size_mb": path.stat().st_size / 1e6}
        b_wall, c_wall = median(bare, "wall"), median(clean, "wall")
        b_cpu, c_cpu = median(bare, "cpu"), median(clean, "cpu")
        peak = max(r["peak_bytes"] for r in clean)
        last = clean[-1]
        print(
            f"\n{last['rows']:,} rows ({results[rows]['size_mb']:.0f} MB; kept {last['kept']:,}, "
            f"rejected {last['rejected']:,})"
        )
        bare_peak = median(bare, "peak_bytes") / 1e9
        print(f"  bare read_csv   wall {b_wall:6.2f} s   cpu {b_cpu:6.2f} s   peak {bare_peak:.2f} GB")
        print(f"  clean_export    wall {c_wall:6.2f} s   cpu {c_cpu:6.2f} s   peak {peak / 1e9:.2f} GB")
        print(f"  ratio clean/bare: wall {c_wall / b_wall:.2f}x, cpu {c_cpu / b_cpu:.2f}x  (target <= 3x)")
        print(
            f"  runs (wall s): bare {[round(r['wall'], 2) for r in bare]}, clean {[round(r['wall'], 2) for r in clean]}"
        )
        for key, label in (("steps", "wall"), ("steps_cpu", "cpu")):
            steps = {k: round(statistics.median(r[key][k] for r in clean), 2) for k in last[key]}
            print(f"  clean steps (median {label} s): {steps}")
        print(f"  peak memory target <= 4 GB: {'met' if peak <= 4e9 else 'MISSED'}")

    if len(args.rows) >= 2:
        small, large = sorted(args.rows)[:1][0], sorted(args.rows)[-1]
        for key in ("wall", "cpu"):
            ratio = median(results[large]["clean"], key) / median(results[small]["clean"], key)
            print(f"\nscaling {large:,} / {small:,} rows ({key}): {ratio:.2f}x (target <= 2.2x for 2x the rows)")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_clean.json").write_text(json.dumps({str(k): v for k, v in results.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
