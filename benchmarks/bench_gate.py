"""Benchmark of the publication's disclosure gate: the report batch with linked protection and the
attacker's audit (the default) against the same batch with the per-table rules only, side by side in one
run, and the information loss (share of published cells hidden) overall and per region.

1. ``batch``: ``build_reports`` on the default data (every region, 2 jobs, fast engine), once protected
   and audited, once with ``linked=False`` (per-table rules, no audit), each in its own subprocess timed
   from the outside. Target: protected within 1.5x of unprotected.
2. ``loss``: the content only (national work, protection, audit) on the default data and on smaller
   exports (``--sizes``, trainees per year nationally): cells, hidden, share hidden, per-region share,
   narrowest and widest attacker interval, audit seconds.

Usage: ``.venv/bin/python benchmarks/bench_gate.py [--skip-batch] [--sizes 900 ...]``
Figures are printed and written to ``$TMPDIR/e2c_bench_gate/bench_gate.json``.
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
OUT = Path(os.environ.get("E2C_BENCH_OUT", Path(tempfile.gettempdir()) / "e2c_bench_gate"))
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

BATCH = """
import json, sys
from toolkit.reports import build as b, build_reports
if sys.argv[2] == "off":  # the per-table rules only, no linked protection, no audit
    original = b.build_content
    b.build_content = lambda *a, **k: original(*a, **{**k, "linked": False})
r = build_reports(out=sys.argv[1], jobs=2, progress=False, engine="fast")
m = json.load(open(r.manifest, encoding="utf-8"))
print(json.dumps({"ok": r.ok, "n": len(r.regions), "timings": r.timings, "disclosure": m.get("disclosure")}))
"""

LOSS = """
import json, sys, time
from pathlib import Path
from toolkit.reports.build import build_content
from toolkit.reports.national import compute_national
data = None
if sys.argv[2] != "default":
    from toolkit.synth import write_export
    data = write_export(Path(sys.argv[1]) / "data", seed=3, trainees_per_year=int(sys.argv[2]))
t = time.perf_counter()
nat = compute_national(data, Path(sys.argv[1]) / "work")
t_nat = time.perf_counter() - t
t = time.perf_counter()
content = build_content(nat)
t_content = time.perf_counter() - t
pub = content.publication
loss = pub.protection.information_loss()
per = loss["per_region"]
print(json.dumps({"trainees": len(nat.frame), "national_s": t_nat, "content_s": t_content,
                  "audit": content.audit, "share_trainees_hidden": loss["share_trainees_hidden"],
                  "per_region": {r: round(float(s), 4) for r, s in per["share_hidden"].items()}}))
"""


def _run(script: str, *args: str) -> tuple[dict, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=ROOT, env=ENV, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-batch", action="store_true", help="information loss only")
    parser.add_argument("--sizes", nargs="*", type=int, default=[900], help="trainees per year of smaller exports")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    figures: dict = {"loss": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for size in ["default", *map(str, args.sizes)]:
            result, _ = _run(LOSS, str(Path(tmp) / f"loss_{size}"), size)
            figures["loss"][size] = result
            a = result["audit"]
            print(
                f"loss {size:>8}: {result['trainees']} trainees, {a['cells']} cells, {a['hidden']} hidden "
                f"({100 * a['share_hidden']:.1f} %, {100 * result['share_trainees_hidden']:.1f} % of trainee "
                f"counts), narrowest interval {a['narrowest_interval_values']} values, widest "
                f"{a['widest_interval_values']}, audit {a['seconds']:.1f} s, content {result['content_s']:.1f} s"
            )
            print("    per region:", ", ".join(f"{r} {100 * s:.1f} %" for r, s in result["per_region"].items()))
        if not args.skip_batch:
            for mode in ("off", "on"):
                result, seconds = _run(BATCH, str(Path(tmp) / f"out_{mode}"), mode)
                figures[f"batch_{mode}"] = {**result, "wall_s": seconds}
            off, on = figures["batch_off"]["wall_s"], figures["batch_on"]["wall_s"]
            print(f"batch, per-table rules only : {off:.1f} s  {figures['batch_off']['timings']}")
            print(f"batch, linked + audit gate  : {on:.1f} s  {figures['batch_on']['timings']}")
            print(f"ratio: {on / off:.2f}x (target <= 1.5x)")
    (OUT / "bench_gate.json").write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
