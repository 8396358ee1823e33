"""The index page as content: national summary, the regions compared at equal intake, one row per region.

The links to the region pages and their status are added when the page is
rendered (:func:`toolkit.reports.render.render_index`), once the batch knows
which regions succeeded.
"""

from __future__ import annotations

import pandas as pd

from .. import schema
from ..disclosure import CellKey
from ..i18n import N_
from .builder import PageBuilder
from .content import Card, Cards, Column, FigureData, Header, Heading, Msg, Num, Page, Section
from .fair_content import FLAG_WORDS, regions_figure_data
from .national import NationalWork
from .region_content import KICKER, _meta

__all__ = ["index_content", "INDEX_TITLE"]

INDEX_TITLE = N_("Rapports E2C par région, {period}")


def index_content(national: NationalWork, builder: PageBuilder) -> Page:
    """Every block of the index page; its counts and ratios registered with ``builder``."""
    data_name = national.input_info.get("name", "—")
    source = Msg(N_("Source : export des écoles ({data}), traitement boîte à outils E2C"), {"data": data_name})
    header = Header(
        KICKER,
        Msg(INDEX_TITLE, {"period": national.period.replace("-", "–")}),
        Msg(N_("Synthèse nationale et rapports de chaque région")),
        _meta(national, data_name),
    )
    summary = [Heading(Msg(N_("Synthèse nationale")), "national"), _national_cards(national, builder)]
    figure = regions_figure_data(builder, national.region_comparison, None, source)
    regions = [
        Heading(Msg(N_("Les régions comparées à public égal")), "regions"),
        Msg(
            N_(
                "Chaque région est comparée à ce qu’on attendrait au niveau national de jeunes ayant le même profil à "
                "l’entrée. Un rapport observé / attendu de 1 signifie « comme le pays à public égal » ; les barres "
                "montrent la marge due au hasard et à la variation habituelle entre régions. Ce n’est pas un "
                "classement."
            )
        ),
        figure,
        _regions_table(national, builder, figure),
        Msg(
            N_(
                "Comparaison ajustée du profil à l’entrée seulement : un écart peut venir de ce qui n’est pas mesuré. "
                "Détails et méthodes dans chaque rapport."
            ),
            role="note",
        ),
        Msg(
            N_("Fichier : {name} · SHA-256 {sha} · boîte à outils E2C {version}"),
            {"name": data_name, "sha": national.input_info.get("sha256") or "—", "version": _version()},
            role="footer",
        ),
    ]
    return Page(
        "index",
        Msg(INDEX_TITLE, {"period": national.period}),
        [Section("header", [header]), Section("national", summary), Section("regions", regions)],
        meta={"period": national.period, "min_cell": builder.min_cell},
    )


def _version() -> str:
    from .. import __version__

    return __version__


def _national_cards(national: NationalWork, builder: PageBuilder) -> Cards:
    flows, rate = national.meta["national"]["flows"], national.meta["national"]["rate"]
    entries = builder.count(CellKey.of("entries"), flows["n_entries"], "cards/entries")
    exits = builder.count(CellKey.of("exits"), flows["n_exits"], "cards/exits")
    known = builder.count(CellKey.of("known"), rate["n_known"], "cards/known")
    positive = builder.count(CellKey.of("positive"), rate["n_positive"], "cards/positive")
    ratio = builder.ratio(positive, known, 1, "cards/rate")
    ci = Num([rate["rate"], rate["ci_low"], rate["ci_high"]], "ci", ratio=ratio)
    return Cards(
        [
            Card(Msg(N_("Stagiaires entrés")), Num(flows["n_entries"], "int", key=entries)),
            Card(
                Msg(N_("Sorties")),
                Num(flows["n_exits"], "int", key=exits),
                Msg(N_("dont {n} à l’issue connue"), {"n": Num(rate["n_known"], "int", key=known)}, role="marker"),
            ),
            Card(
                Msg(N_("Taux de sorties positives")),
                Num(rate["rate"], "pct", ratio=ratio),
                Msg(N_("IC 95 % : {ci}"), {"ci": ci}),
            ),
        ],
        counts=False,
    )


def _regions_table(national: NationalWork, builder: PageBuilder, figure: FigureData):
    points = figure.points
    order = [r for r in schema.REGION_NAMES if r in set(points["region"])]
    rows = points.set_index("region").loc[order].reset_index()
    ratios = dict(zip(points["region"], figure.keys))
    data = pd.DataFrame(
        {
            "label": rows["region"].to_numpy(dtype=object),
            "n": rows["n"].astype(int).to_numpy(),
            "observed": rows["observed"].to_numpy(),
            "oe_ratio": rows["oe_ratio"].to_numpy(),
            "lower95": rows["lower95"].to_numpy(),
            "upper95": rows["upper95"].to_numpy(),
            "reading": [FLAG_WORDS.get(str(f), "") for f in rows["flag95"]],
            "region": rows["region"].to_numpy(dtype=object),
            "limits": None,
        }
    )
    table = builder.table(
        "regions",
        Msg(N_("Régions : comparaison à public égal et rapports")),
        [
            Column("label", Msg(N_("Région")), "label"),
            Column("n", Msg(N_("Sorties à l’issue connue")), "int"),
            Column("oe_ratio", Msg(N_("Rapport O/A")), "number", 2),
            Column("limits", Msg(N_("Limites à 95 %")), "limits", 2, pair=("lower95", "upper95"), follows="oe_ratio"),
            Column("reading", Msg(N_("Lecture")), "msg", follows="oe_ratio"),
            Column("region", Msg(N_("Rapport")), "link"),
        ],
        data,
        keys={"n": [CellKey.of("known", region=r) for r in order]},
        protection={"rule": "oe", "n": "n", "observed": "observed", "ratio": "oe_ratio", "key": "n"},
    )
    table.ratios["oe_ratio"] = [ratios[r] for r in order]
    return table
