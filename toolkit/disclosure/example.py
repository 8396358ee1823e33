"""A publication shaped like a report batch, built straight from a canonical frame.

Tests and benchmarks of disclosure control need publications with the
structure of the real batch without rendering anything: for every region,
the flows, the positive-exit rate, the profile and the rates by group (one
variable at a time, missing values as their own row), the exit mix, the
sites and the ESF+ output indicators by sex; on the index, every region's
headline figures and the national breakdowns with their shares.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .atoms import column_codes, population_flags
from .cells import MISSING, CellKey, Publication

__all__ = ["example_publication", "BREAKDOWNS"]

BREAKDOWNS = ("sex", "age_band", "education_level", "qpv", "disability", "nationality", "referrer", "cohort_year")
_FLOWS = ("entries", "exits", "still_in", "interruptions", "unknown")
_CATEGORIES = ("job", "work_study", "training", "other", "unknown")
_ESF = ("EECO01", "EECO06", "EECO07", "EECO12")


def _grouped(frame: pd.DataFrame, flags: dict, populations: Sequence[str], by: Sequence[str]) -> pd.DataFrame:
    """Counts of each population by the ``by`` columns (codes as strings, missing as MISSING)."""
    data = pd.DataFrame({c: column_codes(frame, c) for c in by})
    for p in populations:
        data[p] = flags[p].astype(np.int64)
    return data.groupby(list(by), sort=True)[list(populations)].sum().reset_index()


def _add(pub: Publication, key: CellKey, value: int, where: str) -> CellKey:
    return pub.add_count(key, int(value), where)


def example_publication(
    frame: pd.DataFrame,
    *,
    breakdowns: Sequence[str] = BREAKDOWNS,
    sites: bool = True,
    esf: bool = True,
    national: bool = True,
    decimals: int = 1,
) -> Publication:
    """Every count and ratio of a batch like the report batch, for each region of ``frame`` (see module doc)."""
    pops = ["entries", "exits", "still_in", "interruptions", "unknown", "known", "positive"]
    pops += [f"category:{c}" for c in _CATEGORIES]
    if esf:
        pops += [f"esf:{c}" for c in _ESF]
    flags = population_flags(frame, pops)
    pub = Publication()
    region_rows = _grouped(frame, flags, pops, ["region"])
    for row in region_rows.itertuples(index=False):
        region = row.region
        if region == MISSING:
            continue
        page = region
        for p in _FLOWS:
            _add(pub, CellKey.of(p, region=region), row[1 + pops.index(p)], f"{page} › flux › {p}")
        known = _add(pub, CellKey.of("known", region=region), row[1 + pops.index("known")], f"{page} › clés › connues")
        pos = _add(pub, CellKey.of("positive", region=region), row[1 + pops.index("positive")], f"{page} › clés › pos.")
        pub.add_ratio(pos, known, decimals=decimals, location=f"{page} › chiffres clés › taux")
        exits = CellKey.of("exits", region=region)
        for c in _CATEGORIES:
            key = _add(
                pub,
                CellKey.of(f"category:{c}", region=region),
                row[1 + pops.index(f"category:{c}")],
                f"{page} › mix › {c}",
            )
            pub.add_ratio(key, exits, decimals=decimals, location=f"{page} › mix › {c} %")
    for variable in breakdowns:
        table = _grouped(frame, flags, ["entries", "known", "positive"], ["region", variable])
        for row in table.itertuples(index=False):
            region, code = row[0], row[1]
            if region == MISSING:
                continue
            where = {"region": region, variable: code}
            loc = f"{region} › {variable} › {code}"
            ent = _add(pub, CellKey.of("entries", **where), row.entries, f"{loc} › stagiaires")
            pub.add_ratio(ent, CellKey.of("entries", region=region), decimals=decimals, location=f"{loc} › %")
            k = _add(pub, CellKey.of("known", **where), row.known, f"{loc} › connues")
            p = _add(pub, CellKey.of("positive", **where), row.positive, f"{loc} › positives")
            pub.add_ratio(p, k, decimals=decimals, location=f"{loc} › taux")
    if sites:
        site_pops = ["exits", "known", "positive"] + [f"category:{c}" for c in _CATEGORIES]
        table = _grouped(frame, flags, site_pops, ["region", "site"])
        for row in table.itertuples(index=False):
            region, site = row[0], row[1]
            if region == MISSING or row.exits == 0:
                continue
            loc = f"{region} › sites › {site}"
            for j, p in enumerate(site_pops):
                _add(pub, CellKey.of(p, region=region, site=site), row[2 + j], f"{loc} › {p}")
            pub.add_ratio(
                CellKey.of("positive", region=region, site=site),
                CellKey.of("known", region=region, site=site),
                decimals=decimals,
                location=f"{loc} › taux",
            )
    if esf:
        table = _grouped(frame, flags, [f"esf:{c}" for c in _ESF], ["region", "sex"])
        for row in table.itertuples(index=False):
            region, sex = row[0], row[1]
            if region == MISSING:
                continue
            for j, c in enumerate(_ESF):
                _add(pub, CellKey.of(f"esf:{c}", region=region, sex=sex), row[2 + j], f"{region} › FSE+ › {c} › {sex}")
        table = _grouped(frame, flags, [f"esf:{c}" for c in _ESF], ["region"])
        for row in table.itertuples(index=False):
            if row[0] != MISSING:
                for j, c in enumerate(_ESF):
                    _add(pub, CellKey.of(f"esf:{c}", region=row[0]), row[1 + j], f"{row[0]} › FSE+ › {c} › total")
    if national:
        _national(pub, frame, flags, breakdowns, decimals)
    return pub


def _national(pub: Publication, frame, flags, breakdowns, decimals) -> None:
    """The index: national totals, the national breakdowns and their shares."""
    for p in ("entries", "exits", "known", "positive"):
        _add(pub, CellKey.of(p), int(flags[p].sum()), f"index › national › {p}")
    pub.add_ratio(CellKey.of("positive"), CellKey.of("known"), decimals=decimals, location="index › national › taux")
    for variable in breakdowns[:2]:
        table = _grouped(frame, flags, ["entries"], [variable])
        for row in table.itertuples(index=False):
            key = _add(pub, CellKey.of("entries", **{variable: row[0]}), row.entries, f"index › {variable} › {row[0]}")
            pub.add_ratio(key, CellKey.of("entries"), decimals=decimals, location=f"index › {variable} › {row[0]} %")
