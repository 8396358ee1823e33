"""Cost of the proposed mapping: ``e2c map`` (``toolkit.propose_mapping``) against ``clean_export``.

Target (issue 10): proposing a mapping takes at most 2x the time of cleaning
the same file. Both run on a generator export (``toolkit.synth.write_export``:
semicolon CSV in Windows-1252 with label variants, invalid rows, duplicates
and identifier columns), each in a fresh Python process (imports not timed),
alternating, repeated; the median wall and CPU times are printed. The
cleaning of a two-table export (``tests/export_styles.py``, scaled up) is
timed too, with and without its situations table.

Usage::

    .venv/bin/python benchmarks/bench_mapping.py [--per-year 100000] [--repeat 3]

Exports are generated once into ``benchmarks/out/mapping/`` (git-ignored) and reused.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out" / "mapping"

_CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
from toolkit.cleaning import clean_export
from toolkit.mapping import propose_mapping
kind, path, situations = sys.argv[1], sys.argv[2], (sys.argv[3] or None)
t0, c0 = time.perf_counter(), time.process_time()
if kind == "map":
    propose_mapping(path, situations=situations)
else:
    clean_export(path, key="bench", situations=situations, mapping=sys.argv[4] or None)
print(json.dumps({{"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}}))
"""


def _run(kind: str, path: Path, situations: Path | None = None, mapping: Path | None = None) -> dict:
    code = _CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"))
    argv = [sys.executable, "-c", code, kind, str(path), str(situations or ""), str(mapping or "")]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _compare(label: str, path: Path, repeat: int, situations=None, mapping=None) -> None:
    maps, cleans = [], []
    for _ in range(repeat):
        maps.append(_run("map", path, situations))
        cleans.append(_run("clean", path, situations, mapping))
    m_wall, m_cpu = _median(maps, "wall"), _median(maps, "cpu")
    c_wall, c_cpu = _median(cleans, "wall"), _median(cleans, "cpu")
    print(
        f"{label}: e2c map {m_wall:.2f} s wall / {m_cpu:.2f} s CPU; clean_export {c_wall:.2f} s / {c_cpu:.2f} s; "
        f"ratio {m_wall / c_wall:.2f}x wall / {m_cpu / c_cpu:.2f}x CPU (target <= 2x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-year", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--two-table-rows", type=int, default=20_000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    from export_styles import style_two_tables

    from toolkit.mapping import default_output, propose_mapping
    from toolkit.synth import write_export

    national = OUT / f"synth_{args.per_year}"
    if not national.exists():
        write_export(national, seed=7, trainees_per_year=args.per_year)
    path = next(p for p in sorted(national.iterdir()) if p.suffix == ".csv")
    rows = sum(1 for _ in path.open("rb")) - 1
    print(f"One-table export: {path.name}, {rows:,} rows, {path.stat().st_size / 1e6:.0f} MB")
    _compare("one table", path, args.repeat)

    two = OUT / f"two_{args.two_table_rows}"
    two.mkdir(exist_ok=True)
    export = style_two_tables(two, n=args.two_table_rows)
    mapping = default_output(export.path)
    mapping.write_text(propose_mapping(export.path, situations=export.situations).to_yaml(out_dir=two), "utf-8")
    n_sit = sum(1 for _ in export.situations.open("rb")) - 1
    print(f"Two-table export: {args.two_table_rows:,} parcours, {n_sit:,} situations")
    _compare("two tables", export.path, args.repeat, export.situations, mapping)


if __name__ == "__main__":
    main()
