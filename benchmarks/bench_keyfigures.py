"""Benchmark of the protection's cost rule on real report batches: what is hidden, and which key figures stay.

For each data set (the snapshot batch: seed 7, 1,200 trainees a year, 2022-2023; a small export,
``e2c synth --per-year 1000`` style; the default synthetic export), the national work is computed once, then
the batch's content (every region's page and the index, protected and audited as ``build_content`` does) is
built with each cost rule of the linked protection:

* ``value``: the cost of hiding a cell is its value in trainees (tau-argus's default);
* ``appearances``: value x the number of places the cell is published (numbers lost on pages);
* ``key``: value, plus a large cost for the key figures (entries, exits, known and positive exits of each
  region and of the country);
* ``key+appearances``: both (the report's rule, :func:`toolkit.reports.protect.report_costs`).

Printed per data set and rule: cells, hidden cells, share hidden, share of the trainee counts hidden, the
regions that keep their four key figures and their rate, how many of the regions' key figures and rates are
published (five a region), whether the country keeps its own, which ones each region loses, the protection and
gate-audit times (each region that loses one is named with its entrants); then the per-region share hidden
of each rule.

Run once, quietly: ``python benchmarks/bench_keyfigures.py`` (``--sets snapshot small`` for a subset).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from functools import partial
from pathlib import Path

import pandas as pd

KEY_FIGURES = ("entries", "exits", "known", "positive")
SETS = {
    "snapshot": {"seed": 7, "trainees_per_year": 1200, "years": (2022, 2023)},
    "small": {"seed": 3, "trainees_per_year": 1000},
    "default": None,
}


def _appearances(publication) -> dict:
    return {k: float(v) * max(len(publication.appearances.get(k, ())), 1) for k, v in publication.counts.items()}


def _key(publication) -> dict:
    from toolkit.reports.protect import KEY_FIGURE_COST, key_figures

    costs = {k: float(v) for k, v in publication.counts.items()}
    for key in key_figures(publication):
        costs[key] += KEY_FIGURE_COST
    return costs


def rules() -> dict:
    """The cost rules (``as-is``: the code's own default, e.g. to measure an older checkout)."""
    try:
        from toolkit.reports.protect import report_costs
    except ImportError:  # a checkout before per-cell costs: only "as-is" runs
        report_costs = None

    return {"as-is": "as-is", "value": None, "appearances": _appearances, "key": _key, "key+appearances": report_costs}


def key_figures_lost(publication, regions) -> dict:
    """The key figures (and rate) each region, and the country (``None``), does not publish."""
    from toolkit.disclosure import CellKey, Ratio

    def lost(**where) -> list[str]:
        keys = [CellKey.of(p, **where) for p in KEY_FIGURES]
        out = [p for p, k in zip(KEY_FIGURES, keys) if publication.is_hidden(k)]
        return out + (["rate"] if publication.ratio_hidden(Ratio(keys[3], keys[2], 1)) else [])

    return {r: lost(region=r) for r in regions} | {None: lost()}


def measure(national, rule, min_cell: int) -> dict:
    from toolkit.disclosure import CellKey
    from toolkit.reports import build as build_module
    from toolkit.reports.protect import protect_publication

    original = build_module.protect_publication
    if not isinstance(rule, str):
        build_module.protect_publication = partial(protect_publication, costs=rule)
    try:
        t0 = time.perf_counter()
        content = build_module.build_content(national, min_cell)
        seconds = time.perf_counter() - t0
    finally:
        build_module.protect_publication = original
    publication = content.publication
    counts = pd.Series(publication.counts)
    keys = list(publication.counts)
    hidden = pd.Series([k in publication.hidden for k in keys], index=counts.index)
    region = pd.Series([dict(k.where).get("region", "(national)") for k in keys], index=counts.index)
    per_region = hidden.groupby(region).mean()
    lost = key_figures_lost(publication, list(content.pages))
    entries = {r: publication.counts.get(CellKey.of("entries", region=r)) for r in content.pages}
    protection = publication.protection
    return {
        "cells": len(keys),
        "hidden": int(hidden.sum()),
        "share": float(hidden.mean()),
        "share_trainees": float(counts[hidden].sum() / max(counts.sum(), 1)),
        "regions": len(content.pages),
        "kept": sum(not v for r, v in lost.items() if r is not None),
        "figures": sum(5 - len(v) for r, v in lost.items() if r is not None),
        "lost": {f"{r} ({entries[r]})": v for r, v in lost.items() if v and r is not None},
        "national": not lost[None],
        "t_protect": protection.seconds["total"],
        "t_gate": content.audit.get("seconds", float("nan")),
        "t_content": seconds,
        "per_region": per_region,
    }


def national_work(name: str, root: Path, min_cell: int):
    from toolkit.reports.national import compute_national
    from toolkit.synth import write_export

    params = SETS[name]
    data = None if params is None else write_export(root / name / "data", **params)
    return compute_national(data, root / name / "work", min_cell=min_cell)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    names = ["as-is", "value", "appearances", "key", "key+appearances"]
    parser.add_argument("--rules", nargs="+", default=names[1:], choices=names)
    parser.add_argument("--min-cell", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            national = national_work(name, Path(tmp), args.min_cell)
            print(f"\n== {name}: {len(national.frame)} trainees, {len(national.regions)} regions")
            print(
                f"{'rule':>16s} {'cells':>6s} {'hidden':>7s} {'share':>6s} {'trainees':>8s} {'all 5':>7s} "
                f"{'figures':>8s} {'nat':>4s} {'protect s':>9s} {'gate s':>7s} {'content s':>9s}  key figures hidden"
            )
            per_region = {}
            for rule_name in args.rules:
                r = measure(national, rules()[rule_name], args.min_cell)
                per_region[rule_name] = r["per_region"]
                print(
                    f"{rule_name:>16s} {r['cells']:6d} {r['hidden']:7d} {r['share']:6.1%} {r['share_trainees']:8.1%} "
                    f"{r['kept']:3d}/{r['regions']:<3d} {r['figures']:3d}/{5 * r['regions']:<4d} "
                    f"{'yes' if r['national'] else 'no':>4s} {r['t_protect']:9.1f} "
                    f"{r['t_gate']:7.1f} {r['t_content']:9.1f}  "
                    + "; ".join(f"{k}: {'+'.join(v)}" for k, v in r["lost"].items()),
                    flush=True,
                )
            table = pd.DataFrame(per_region)
            print(table.to_string(float_format=lambda x: f"{x:.1%}"))


if __name__ == "__main__":
    main()
