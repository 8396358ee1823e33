"""The schools of a region (the funded bodies) as content: exits, raw rate with its interval, O/E, reading.

One row per school whose exits are mostly in the region, in alphabetical order (the note says so).
A school's counts are the same cells wherever they appear (``CellKey`` filtered on ``school``). A
school whose exits, beyond the sites the page lists one by one, lie in small grouped sites would let
a reader subtract its listed sites and recover the small ones: such schools are hidden, with a
second one when only one is, so that the region's total does not give it back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..disclosure import CellKey
from ..i18n import N_
from ..indicators import wilson_interval
from .builder import code_text
from .content import Column, Heading, Msg

__all__ = ["schools_blocks"]

FLAG_WORDS = {
    "above": N_("Au-dessus de l’attendu"),
    "below": N_("En dessous de l’attendu"),
    "within": N_("Dans la norme"),
}


def _keys(schools: pd.Series) -> tuple[list[CellKey], list[CellKey]]:
    known = [CellKey.of("known", school=code_text(s)) for s in schools]
    positive = [CellKey.of("positive", school=code_text(s)) for s in schools]
    return known, positive


def schools_blocks(ctx) -> list:
    """The heading and table of the region's schools (none when the national work has no school comparison)."""
    schools = getattr(ctx.national, "schools", None)
    if schools is None or "school" not in schools.columns:
        return []
    mine = schools[schools["region"].astype("object") == ctx.region].copy()
    mine = mine[mine["n"] > 0]
    if mine.empty:
        return []
    mine["school"] = mine["school"].astype("object").astype(str)
    mine = mine.iloc[np.argsort(mine["school"].str.casefold().to_numpy(), kind="stable")].reset_index(drop=True)
    low, high = wilson_interval(mine["observed"], mine["n"])
    data = pd.DataFrame(
        {
            "label": mine["school"].to_numpy(dtype=object),
            "n": mine["n"].astype(int).to_numpy(),
            "observed": mine["observed"].astype(int).to_numpy(),
            "rate": (mine["observed"] / mine["n"]).to_numpy(dtype=float),
            "ci_low": np.asarray(low, dtype=float),
            "ci_high": np.asarray(high, dtype=float),
            "oe_ratio": mine["oe_ratio"].to_numpy(dtype=float),
            "reading": [Msg(FLAG_WORDS[f]) if f in FLAG_WORDS else "" for f in mine["flag95"].astype(str)],
        }
    )
    known, positive = _keys(mine["school"])
    builder = ctx.builder
    table = builder.table(
        "schools",
        Msg(N_("Écoles de la région : sorties positives, taux brut et comparaison à profil égal")),
        [
            Column("label", Msg(N_("École")), "label"),
            Column("n", Msg(N_("Sorties à l’issue connue")), "int"),
            Column("observed", Msg(N_("Sorties positives")), "int"),
            Column("rate", Msg(N_("Taux brut [IC 95 %]")), "rate_ci"),
            Column("oe_ratio", Msg(N_("O/A")), "number", 2),
            Column("reading", Msg(N_("Lecture")), "msg", follows="oe_ratio"),
        ],
        data,
        keys={"n": known, "observed": positive},
        ratios={"rate": ("observed", "n", 1, 100.0)},
        note=Msg(
            N_(
                "Écoles dans l’ordre alphabétique : ce n’est pas un classement. O/A : sorties positives observées "
                "rapportées à celles qu’aurait, au niveau national, un public de même profil (voir le glossaire)."
            )
        ),
        protection={
            "counts": ["n", "observed"],
            "rows_additive": True,
            "rates": {"rate": ("observed", "n"), "oe_ratio": ("observed", "n")},
            "derived": {"ci_low": "rate", "ci_high": "rate", "reading": "oe_ratio"},
        },
    )
    table.ratios["oe_ratio"] = [
        builder.ratio(k, float(e), 2, f"schools/{i}/oe_ratio", scale=1.0) if e > 0 else None
        for i, (k, e) in enumerate(zip(positive, mine["expected"].astype(float)))
    ]
    _hide_differences(ctx, mine, known, positive)
    return [Heading(Msg(N_("Les écoles de la région")), "fair-schools", 3), table]


def _hide_differences(ctx, mine: pd.DataFrame, known: list, positive: list) -> None:
    """Hide the schools whose count beyond their listed sites is small (see the module's docstring)."""
    sites = ctx.table("sites")
    listed = sites[sites["site"].notna()] if "school" in sites.columns else sites.iloc[0:0]
    if "school" not in listed.columns:
        return
    sums = listed.groupby(listed["school"].astype(str))[["n_known", "n_positive"]].sum()
    n = mine["n"].astype(int).to_numpy()
    o = mine["observed"].astype(int).to_numpy()
    shown_n = sums["n_known"].reindex(mine["school"]).fillna(0).to_numpy()
    shown_o = sums["n_positive"].reindex(mine["school"]).fillna(0).to_numpy()
    rest = np.column_stack([n - shown_n, o - shown_o, (n - o) - (shown_n - shown_o)])
    with_rest = (rest != 0).any(axis=1)
    if with_rest.sum() < 2:  # the rest of at most one school is the "other sites" row, published as such
        return
    small = ((rest > 0) & (rest < ctx.min_cell)).any(axis=1)
    hide = set(np.flatnonzero(small))
    if len(hide) == 1 and len(mine) > 1:  # a lone hidden school would come back from the region's total
        others = [i for i in np.argsort(n, kind="stable") if i not in hide]
        hide.add(int(others[0]))
    publication = ctx.builder.publication
    for i in hide:
        publication.hidden.update((known[i], positive[i]))
