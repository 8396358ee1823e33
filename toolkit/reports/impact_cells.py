"""The impact section's counts as cells of the batch's publication, registered before protection.

With comparison data (``e2c reports --comparison``), each region's page
publishes an estimate on the impact design's rows of that region: how many
rows of each group were received, analysed and left out (by reason), and
rates from which the positive exits among them follow (the E2C rate of
the analysed trainees; the raw difference between the groups, over the rows
whose characteristics are known). :func:`impact_rows` runs each region's
estimate in the parent, before any page is protected, and flags every row
of the design; :func:`register_impact` registers the counts the page gives
away as cells with keys ``impact:<flag>`` filtered by region and group.
Disclosure control then sees them with their relations (received = analysed
+ the rows left out, by reason; a subgroup is at most its group), and the
kernel prints only what is published (:func:`hidden_flags`).

The design's rows are a population of their own: nothing links them to the
export's trainees (an E2C row of the design is not assumed to be a trainee
of the export). Model-based numbers (the adjusted rate of the comparison
group, the effect, the standardised differences of the balance figure, the
effective size) are not counts and are not registered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..disclosure import CellKey
from ..disclosure.atoms import OTHER_PREFIX
from ..errors import E2CError
from ..i18n import N_
from .content import Msg

__all__ = [
    "GROUPS",
    "FLAGS",
    "impact_key",
    "flag_rows",
    "impact_rows",
    "register_impact",
    "hidden_flags",
    "withheld_reason",
]

GROUPS = (("treated", 1.0), ("control", 0.0))
# Reasons a usable row is not analysed, in the estimator's order (matching's unmatched: treated rows only).
_REASONS = ("outside_support", "trimmed", "unmatched")
FLAGS = ("received", "covariate_missing", *_REASONS, "analysed", "positive_usable", "positive_analysed")
# Without these the estimate cannot be published: the analysed rows of each group, and the E2C rate's numerator.
CORE = (("treated", "analysed"), ("control", "analysed"), ("treated", "positive_analysed"))


def impact_key(flag: str, region: str, group: str) -> CellKey:
    """The key of one impact count (``flag`` in :data:`FLAGS`, ``group``: ``"treated"`` or ``"control"``)."""
    return CellKey.of(OTHER_PREFIX + flag, region=region, impact_group=group)


def flag_rows(frame: pd.DataFrame, covariates: list[str], res, *, treatment="treated", outcome="outcome"):
    """One row per design row: ``region``, ``impact_group`` and one boolean column per flag of :data:`FLAGS`.

    ``res`` is the estimate on ``frame`` (an :class:`~toolkit.impact.ATTResult`): its weights say which rows
    were analysed; the rows left out for a reason are told apart by count only (the estimator keeps counts),
    so which usable row carries which reason is arbitrary, and every relation between the counts still holds.
    """
    t = pd.to_numeric(frame[treatment], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(frame[outcome], errors="coerce").to_numpy(dtype=float)
    columns = [c for c in covariates if c in frame.columns]
    usable = ~frame[columns].isna().any(axis=1).to_numpy() & ~np.isnan(y) & ~np.isnan(t)
    weights = res.weights
    analysed = frame.index.isin(weights.index[weights.to_numpy() > 0])
    out = pd.DataFrame(
        {
            "region": frame["region"].astype("object").to_numpy(),
            "impact_group": np.where(t == 1, "treated", np.where(t == 0, "control", None)),
            "received": np.ones(len(frame), dtype=bool),
            "covariate_missing": ~usable,
            "analysed": analysed,
            "positive_usable": usable & (y == 1),
            "positive_analysed": analysed & (y == 1),
        }
    )
    counts = {
        "outside_support": res.outside_support,
        "trimmed": res.trimmed,
        "unmatched": {"treated": int(res.unmatched_treated), "control": 0},
    }
    for reason in _REASONS:
        out[reason] = False
    for group, code in GROUPS:
        left = np.flatnonzero(usable & ~analysed & (t == code))
        start = 0
        for reason in _REASONS:
            n = min(int(counts[reason].get(group, 0)), len(left) - start)
            out.loc[left[start : start + n], reason] = True
            start += n
    return out


def impact_rows(path, regions, min_cell: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every region's estimate on the impact design saved by :func:`~.national.prepare_impact`, run as the
    region's page runs it, and the design's rows flagged (:func:`flag_rows`).

    Returns the flagged rows of every region with an estimate, and the regions without one (the reason).
    """
    from .impact_section import impact_section
    from .national import load_impact_rows

    frame, covariates = load_impact_rows(path)
    parts, failed = [], {}
    region_of = frame["region"].astype("object")
    for region in regions:
        rows = frame[region_of == region]
        try:
            res = impact_section(rows, covariates, min_cell=min_cell, figures=False)["result"]
        except E2CError as exc:
            failed[region] = str(exc)
            continue
        parts.append(flag_rows(rows, covariates, res))
    columns = ["region", "impact_group", *FLAGS]
    return (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)), failed


def register_impact(builder, region: str, rows: pd.DataFrame) -> None:
    """Register one region's impact counts on its page (``builder``: the page's
    :class:`~.builder.PageBuilder`); no count when the region has no estimate."""
    mine = rows[rows["region"] == region]
    if mine.empty:
        return
    for group, _code in GROUPS:
        side = mine[mine["impact_group"] == group]
        for flag in FLAGS:
            if flag == "unmatched" and group == "control":
                continue
            builder.count(impact_key(flag, region, group), int(side[flag].sum()), f"impact/{group}/{flag}")


def hidden_flags(publication, region: str) -> dict[str, set[str]]:
    """Which impact counts of ``region`` are hidden, by group: ``{"treated": {...}, "control": {...}}``."""
    return {g: {f for f in FLAGS if publication.is_hidden(impact_key(f, region, g))} for g, _code in GROUPS}


NOT_PREPARED = Msg(
    N_(
        "Les chiffres de l’impact n’ont pas été préparés avec ce lot : le secret statistique n’a pas pu "
        "être vérifié. Relancez la production des rapports avec les données de comparaison "
        "(e2c reports --comparison)."
    ),
    role="reading",
)
SECRET = Msg(
    N_(
        "L’estimation de l’impact pour cette région n’est pas publiée (secret statistique : un effectif "
        "de l’analyse se déduirait des autres chiffres publiés)."
    ),
    role="reading",
)
NO_ESTIMATE = Msg(
    N_(
        "Les données de comparaison fournies ne permettent pas d’estimer un impact publiable pour cette "
        "région : trop peu de jeunes dans l’un des deux groupes, ou des profils sans équivalent dans "
        "l’autre groupe."
    ),
    role="reading",
)


def withheld_reason(page_meta: dict, hidden: dict[str, set[str]]) -> Msg | None:
    """Why a page shows no estimate although comparison data were given, or ``None`` when it may show one:
    the batch did not protect the impact counts (the page was prepared without them), or disclosure control
    hid an analysed count or the E2C rate's numerator."""
    if not page_meta.get("impact_protected"):
        return NOT_PREPARED
    if any(flag in hidden[group] for group, flag in CORE):
        return SECRET
    return None
