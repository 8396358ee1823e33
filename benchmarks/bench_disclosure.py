"""Benchmark of disclosure control: relations, protection and the attacker's audit by data size.

For canonical frames of growing size (trainees drawn from the default
national synthetic export, or any canonical pickle given with --frame), an
example publication shaped like the report batch (every region's flows, rate,
profile and rates by group, exit mix, sites, ESF+ outputs by sex; the index's
national breakdowns) is protected; the script prints, per size, the number of
cells, the hidden share (overall and per region), the widest and narrowest
protection intervals of the exact final audit, and the time of each step:
finding the reader's relations, protection (rounds of the audit, HiGHS
warm-started), the batch's gate audit (``audit_publication`` with the
relations already found) and the exact audit (every bound its own LP, for the
figures only). Size 0 is the whole frame.

Run once, quietly: ``python benchmarks/bench_disclosure.py --sizes 1000 5000 0``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def load_frame(path: str | None) -> pd.DataFrame:
    if path:
        return pd.read_pickle(path)
    from toolkit.cleaning import clean_export
    from toolkit.synth import default_export_path

    return clean_export(default_export_path()).data


def run(frame: pd.DataFrame, n: int, min_cell: int, seed: int) -> dict:
    from toolkit.disclosure import audit_publication, protect_publication
    from toolkit.disclosure.audit import audit_system
    from toolkit.disclosure.example import example_publication

    part = frame.sample(n, random_state=seed).reset_index(drop=True) if 0 < n < len(frame) else frame
    t0 = time.perf_counter()
    pub = example_publication(part)
    t1 = time.perf_counter()
    result = protect_publication(pub, part, min_cell)
    t2 = time.perf_counter()
    gate = audit_publication(pub, part, min_cell, relations=result.system.relations)
    t_gate = time.perf_counter() - t2
    t2b = time.perf_counter()
    exact = audit_system(result.system, min_cell, exact=True)
    t3 = time.perf_counter()
    cells = [t for t in exact.intervals if t.name[0] == "cell"]
    width = np.array([t.high - t.low for t in cells], dtype=float)
    loss = result.information_loss()
    return {
        "n": len(part),
        "cells": loss["cells"],
        "hidden": loss["hidden"],
        "primary": loss["primary"],
        "share_hidden": loss["share_hidden"],
        "per_region": loss["per_region"],
        "narrowest": float(np.min(width)) if width.size else float("nan"),
        "widest": float(np.max(width[np.isfinite(width)])) if np.isfinite(width).any() else float("inf"),
        "unbounded": int((~np.isfinite(width)).sum()),
        "failures": len(exact.failures) + len(gate.failures),
        "t_publication": t1 - t0,
        "t_protect": t2 - t1,
        "t_relations": result.seconds.get("relations", 0.0),
        "t_gate_audit": t_gate,
        "t_exact_audit": t3 - t2b,
        "n_lp": result.audit.n_lp,
        "rounds": result.rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 0], help="0: the whole frame")
    parser.add_argument("--frame", help="canonical frame pickle (default: the default synthetic export)")
    parser.add_argument("--min-cell", type=int, default=11)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    frame = load_frame(args.frame)
    print(
        f"{'trainees':>9s} {'cells':>6s} {'hidden':>7s} {'share':>6s} {'narrow':>7s} {'wide':>7s} {'unbnd':>6s} "
        f"{'fail':>5s} {'relations s':>11s} {'protect s':>9s} {'gate audit s':>12s} {'exact audit s':>13s} "
        f"{'LPs':>6s} {'rounds':>6s}"
    )
    for n in args.sizes:
        r = run(frame, n, args.min_cell, args.seed)
        print(
            f"{r['n']:9d} {r['cells']:6d} {r['hidden']:7d} {r['share_hidden']:6.1%} {r['narrowest']:7.0f} "
            f"{r['widest']:7.0f} {r['unbounded']:6d} {r['failures']:5d} {r['t_relations']:11.1f} {r['t_protect']:9.1f} "
            f"{r['t_gate_audit']:12.1f} {r['t_exact_audit']:13.1f} {r['n_lp']:6d} {r['rounds']:6d}"
        )
        print(r["per_region"].to_string(float_format=lambda x: f"{x:.1%}"))


if __name__ == "__main__":
    main()
