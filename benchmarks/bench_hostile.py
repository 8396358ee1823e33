"""Time and peak memory of cleaning pathological exports (each in a fresh process, with a timeout).

Cases: an ordinary export of about the same size for reference, a 10 MB cell
in the site column (full of e-mail-like and digit text), a header of 8,000
columns with short rows, an XLSX whose only stray cell is in column XFD,
deeply quoted fields, a stray quote that would join lines, CR-only line
endings, a binary file and a Parquet file with nested types. Each must give a
result or a toolkit error (never a traceback or a hang) within the timeout.

Targets (issue 11): a file under 50 MB cleans in at most 10x the time of an
ordinary file of the same size, peak memory under 2 GB.

Usage::

    .venv/bin/python benchmarks/bench_hostile.py [--timeout 120]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "hostile"
HEADER = ["id_stagiaire", "region", "ecole", "site", "sexe", "annee_naissance", "date_entree", "date_sortie"]

CHILD = r"""
import json, sys, time
from toolkit.cleaning import clean_export
from toolkit.errors import E2CError
t = time.perf_counter()
try:
    r = clean_export(sys.argv[1], key="benchmark-key")
    s = r.summary
    outcome = f"{s['rows_received']} received, {s['rows_kept']} kept, {s['rows_rejected']} rejected"
except E2CError as exc:
    outcome = "toolkit error: " + str(exc)[:90]
wall = time.perf_counter() - t
peak = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"wall": wall, "peak": peak, "outcome": outcome}))
"""


def _row(i: int, site: str = "Antenne") -> str:
    return f"A{i};Bretagne;E2C Rennes;{site};F;2004;05/01/2023;30/06/2023"


def make_cases() -> dict[str, Path]:
    """Write every case once into benchmarks/out/hostile/."""
    OUT.mkdir(parents=True, exist_ok=True)
    cases = {}

    def text(name: str, body: str, newline: str = "\n") -> None:
        path = OUT / name
        if not path.exists():
            path.write_bytes(body.replace("\n", newline).encode("utf-8"))
        cases[name] = path

    rows = 150_000  # about 10 MB
    text("ordinary_10mb.csv", ";".join(HEADER) + "\n" + "\n".join(_row(i) for i in range(rows)) + "\n")
    huge = ("jean.dupont" * 10 + "@" + "1 2 " * 50 + "a.") * 32_000  # 10 MB in one cell
    text("huge_cell_10mb.csv", ";".join(HEADER) + "\n" + _row(0, huge) + "\n" + _row(1) + "\n")
    wide = HEADER + [f"extra_{i}" for i in range(8_000)]
    text("wide_8000_columns.csv", ";".join(wide) + "\n" + "\n".join(_row(i) for i in range(2_000)) + "\n")
    quoted = '"' + '""' * 2_000_000 + '"'
    text("deep_quotes_4mb.csv", ";".join(HEADER) + "\n" + _row(0, quoted) + "\n" + _row(1) + "\n")
    stray = [_row(i) if i % 1000 else _row(i, '"Antenne') for i in range(rows)]
    text("stray_quotes_10mb.csv", ";".join(HEADER) + "\n" + "\n".join(stray) + "\n")
    text("cr_only_10mb.csv", ";".join(HEADER) + "\n" + "\n".join(_row(i) for i in range(rows)) + "\n", newline="\r")
    binary = OUT / "binary.csv"
    if not binary.exists():
        import os

        binary.write_bytes(os.urandom(5_000_000))
    cases["binary.csv"] = binary
    xfd = OUT / "sparse_xfd.xlsx"
    if not xfd.exists():
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(HEADER)
        for i in range(20_000):
            sheet.append(_row(i).split(";"))
        sheet.cell(row=5, column=16_384, value="x")
        book.save(xfd)
    cases["sparse_xfd.xlsx"] = xfd
    nested = OUT / "nested.parquet"
    if not nested.exists():
        import pyarrow as pa
        import pyarrow.parquet as pq

        n = 50_000
        columns = {h: pa.array([v for v in _row(i).split(";")][j] for i in range(n)) for j, h in enumerate(HEADER)}
        columns["site"] = pa.array([{"nom": "Antenne", "tel": "06 12 34 56 78"}] * n)
        columns["notes"] = pa.array([[1, 2, 3]] * n)
        pq.write_table(pa.table(columns), nested)
    cases["nested.parquet"] = nested
    return cases


def measure(path: Path, timeout: float) -> dict:
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=timeout, cwd=HERE.parent
        )
    except subprocess.TimeoutExpired:
        return {"wall": time.perf_counter() - start, "peak": 0, "outcome": f"HANG (over {timeout:.0f} s)"}
    if done.returncode != 0:
        return {"wall": time.perf_counter() - start, "peak": 0, "outcome": "TRACEBACK: " + done.stderr[-200:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    cases = make_cases()
    results = {name: measure(path, args.timeout) for name, path in cases.items()}
    reference = results["ordinary_10mb.csv"]["wall"]
    print(f"{'case':26} {'size':>8} {'wall':>8} {'x ordinary':>10} {'peak':>8}  outcome")
    for name, r in results.items():
        size = cases[name].stat().st_size / 1e6
        print(
            f"{name:26} {size:6.1f}MB {r['wall']:7.2f}s {r['wall'] / reference:9.1f}x "
            f"{r['peak'] / 1e9:6.2f}GB  {r['outcome']}"
        )
    (OUT / "bench_hostile.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
