"""Benchmark of the funder-report batch: every region of the default national
synthetic export, three ways, in the same run, on the same template.

1. ``build_reports`` (the toolkit), once per engine: national work once, 2
   regions at once, one fresh kernel per region, HTML converted in-process;
   ``--engine portable`` (a new interpreter per region, as on Windows and
   macOS) and ``--engine fast`` (kernels forked from a pre-imported process
   by the jupyter_client provisioner, Linux).
2. Reference (a), the plain loop: the same national work once, then per
   region ``papermill`` and ``jupyter nbconvert --no-input`` command-line
   calls, one region after another.
3. Reference (b), plain Python: the same national work and the same section
   builders in one Python process, no notebook, one region after another.

Each way runs in its own subprocess and is timed from the outside, imports
included. Targets on 2 cores: portable within 2x of (b), fast within 1.3x of
(b), and at least 3x faster than (a).

Usage: ``.venv/bin/python benchmarks/bench_reports.py [--jobs 2] [--repeat 2] [--loop]``
Figures are printed and written to ``$TMPDIR/e2c_bench_reports/bench_reports.json``
(``E2C_BENCH_OUT`` overrides the folder).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Outside the shared working tree (other jobs clean benchmarks/out/ while we measure).
OUT = Path(os.environ.get("E2C_BENCH_OUT", Path(tempfile.gettempdir()) / "e2c_bench_reports"))
BIN = Path(sys.executable).parent
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

BATCH = """
import json, sys
from toolkit.reports import build_reports
r = build_reports(out=sys.argv[1], jobs=int(sys.argv[2]), progress=False, engine=sys.argv[3])
print(json.dumps({"ok": r.ok, "n": len(r.regions), "timings": r.timings,
                  "per_region": [x.seconds for x in r.regions],
                  "failed": [(x.region, x.error) for x in r.failed]}))
"""

NATIONAL = """
import json, sys, time
t = time.perf_counter()
from toolkit.reports.sections import prepare_national
nat = prepare_national(None, sys.argv[1])
print(json.dumps({"work_dir": str(nat.work_dir), "period": nat.period, "definition": nat.definition,
                  "regions": nat.regions, "data": nat.input_info.get("name", ""),
                  "seconds": time.perf_counter() - t}))
"""

PLAIN = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from toolkit.reports.sections import RegionReport, prepare_national, report_title
from toolkit.reports import html_page
from toolkit.schema import REGION_BY_NAME
nat = prepare_national(None, sys.argv[1])
t1 = time.perf_counter()
out = Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)
per_region = []
for region in nat.regions:
    t = time.perf_counter()
    report = RegionReport.load(nat.work_dir, region)
    body = "".join(s.html for s in report.all_sections())
    page = html_page(body, lang="fr", title=report_title(region, nat.period))
    (out / f"{REGION_BY_NAME[region].slug}.html").write_text(page, encoding="utf-8")
    per_region.append(time.perf_counter() - t)
print(json.dumps({"national": t1 - t0, "per_region": per_region, "n": len(per_region)}))
"""


def run_python(code: str, *args: str) -> tuple[dict, float]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=ENV, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def plain_loop(out: Path) -> dict:
    """National work once, then papermill + nbconvert CLI calls per region."""
    from toolkit.reports import REPORT_TEMPLATE
    from toolkit.schema import REGION_BY_NAME

    started = time.perf_counter()
    national, _ = run_python(NATIONAL, str(out / "_work"))
    per_region = []
    for region in national["regions"]:
        slug = REGION_BY_NAME[region].slug
        executed = out / f"{slug}.ipynb"
        t = time.perf_counter()
        subprocess.run(
            [
                str(BIN / "papermill"),
                str(REPORT_TEMPLATE),
                str(executed),
                "-k",
                "python3",
                "--no-progress-bar",
                "-r",
                "region",
                region,
                "-r",
                "work_dir",
                national["work_dir"],
                "-r",
                "period",
                national["period"],
                "-r",
                "definition",
                national["definition"],
                "-r",
                "data_path",
                national["data"],
                "-r",
                "lang",
                "fr",
                "-p",
                "min_cell",
                "11",
                "--cwd",
                str(out),
            ],
            check=True,
            cwd=ROOT,
            env=ENV,
            capture_output=True,
        )
        subprocess.run(
            [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)],
            check=True,
            cwd=ROOT,
            env=ENV,
            capture_output=True,
        )
        per_region.append(time.perf_counter() - t)
    return {"total": time.perf_counter() - started, "national": national["seconds"], "per_region": per_region}


def median(values):
    values = sorted(values)
    return values[len(values) // 2] if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--loop", action="store_true", help="also run the slow plain-loop reference")
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="runs of the batch and of plain Python, alternated (the machine is shared: best kept)",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    from toolkit.synth import default_export_path

    default_export_path()  # generated once, outside the timings

    engines = ("portable", "fast")
    runs: dict[str, list] = {e: [] for e in engines}
    plain_runs = []
    loop = None
    for i in range(args.repeat):  # alternated, in the same run
        for engine in engines:
            runs[engine].append(run_python(BATCH, str(OUT / engine), str(args.jobs), engine))
        plain_runs.append(run_python(PLAIN, str(OUT / "plain" / "_work"), str(OUT / "plain")))
        if i == 0 and args.loop:
            loop = plain_loop(OUT / "loop")
    plain, plain_wall = min(plain_runs, key=lambda r: r[1])
    best = {e: min(runs[e], key=lambda r: r[1]) for e in engines}
    n = best["portable"][0]["n"]
    print(
        f"\nFunder reports, {n} regions, default national synthetic export, jobs={args.jobs}, "
        f"{os.cpu_count()} cores (shared machine, load {os.getloadavg()[0]:.1f})"
    )
    print(f"{'way':48s} {'total s':>8s} {'national s':>10s} {'per region s':>13s} {'/ plain':>8s}")
    for engine, target in (("portable", 2.0), ("fast", 1.3)):
        batch, wall = best[engine]
        if not batch["ok"]:
            print("failed regions:", batch["failed"])
        print(
            f"{'build_reports --engine ' + engine:48s} {wall:8.1f} {batch['timings']['national']:10.1f} "
            f"{median(batch['per_region']):13.2f} {wall / plain_wall:7.2f}x (target <= {target})"
        )
    print(
        f"{'(b) plain Python, one process, no notebook':48s} {plain_wall:8.1f} {plain['national']:10.1f} "
        f"{median(plain['per_region']):13.2f}"
    )
    if loop:
        print(
            f"{'(a) plain loop: papermill + nbconvert CLI':48s} {loop['total']:8.1f} {loop['national']:10.1f} "
            f"{median(loop['per_region']):13.2f}"
        )
        print(f"\nspeed-up of the portable engine over the plain loop: {loop['total'] / best['portable'][1]:.2f}x")
    print("(per region: median seconds of one region; in the batch, two regions run at once)")
    print(
        "all runs, wall s:",
        {e: [round(w, 1) for _, w in runs[e]] for e in engines},
        "plain Python",
        [round(w, 1) for _, w in plain_runs],
    )
    record = {
        "regions": n,
        "jobs": args.jobs,
        "engines": {e: {"wall": best[e][1], "batch": best[e][0], "walls": [w for _, w in runs[e]]} for e in engines},
        "plain_wall": plain_wall,
        "plain": plain,
        "plain_walls": [w for _, w in plain_runs],
        "loop": loop,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_average": os.getloadavg(),
    }
    (OUT / "bench_reports.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    return 0 if all(best[e][0]["ok"] for e in engines) else 1


if __name__ == "__main__":
    sys.exit(main())
