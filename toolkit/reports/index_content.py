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
from .alert_content import alert_banner, alerts_of, key_figure_cards, model_skipped, skipped_reason
from .builder import PageBuilder
from .content import Card, Cards, FigureData, Header, Heading, Msg, Num, Page, Section
from .fair_content import FLAG_WORDS, regions_figure_data
from .national import NationalWork
from .region_content import KICKER, _meta
from .verdict_content import index_verdict, regions_summary_columns, synthetic_banner

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
    cards = key_figure_cards(_national_cards(national, builder), national.meta, None, builder)
    banner = alert_banner(alerts_of(national.meta, None))
    figure = regions_figure_data(builder, national.region_comparison, None, source)
    skipped = skipped_reason(national.meta)
    table = _regions_table(national, builder, figure, with_ratio=not skipped)
    verdict = index_verdict(national, builder, None if skipped else figure, table, skipped)
    verdict.blocks[:0] = banner  # unknown-outcome alerts stay on the first screen
    summary = [Heading(Msg(N_("Chiffres nationaux")), "national"), cards]
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
        model_skipped(skipped) if skipped else figure,  # no model: the regions listed with their counts
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
        [
            Section("header", [*synthetic_banner(national.input_info), header]),
            Section("synthese", [verdict]),
            Section("national", summary),
            Section("regions", regions),
        ],
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


def _regions_table(national: NationalWork, builder: PageBuilder, figure: FigureData, with_ratio: bool = True):
    """One row per region: exits of known outcome, raw rate with its interval, O/E, limits, reading, report."""
    points = figure.points
    order = [r for r in schema.REGION_NAMES if r in set(points["region"])]
    rows = points.set_index("region").loc[order].reset_index()
    rates = national.tables["rates"].set_index(national.tables["rates"]["region"].astype("object")).reindex(order)
    ratios = dict(zip(points["region"], figure.keys))
    data = pd.DataFrame(
        {
            "label": rows["region"].to_numpy(dtype=object),
            "n": rows["n"].astype(int).to_numpy(),
            "n_positive": rates["n_positive"].astype(int).to_numpy(),
            "rate": rates["rate"].to_numpy(dtype=float),
            "ci_low": rates["ci_low"].to_numpy(dtype=float),
            "ci_high": rates["ci_high"].to_numpy(dtype=float),
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
        Msg(N_("Régions : taux brut, comparaison à profil égal et rapports")),
        regions_summary_columns(),
        data,
        keys={
            "n": [CellKey.of("known", region=r) for r in order],
            "n_positive": [CellKey.of("positive", region=r) for r in order],
        },
        ratios={"rate": ("n_positive", "n", 1, 100.0)},
        note=Msg(
            N_(
                "Régions dans l’ordre officiel, pas un classement. Taux brut : sorties positives sur sorties à "
                "l’issue connue ; O/A : rapport observé / attendu à profil de stagiaires égal."
            )
        ),
        protection={"rule": "oe", "n": "n", "observed": "observed", "ratio": "oe_ratio", "key": "n"},
    )
    table.ratios["oe_ratio"] = [ratios[r] for r in order]
    if not with_ratio:  # no expected model: the regions, their raw rates and their reports only
        table.columns = [c for c in table.columns if c.name in ("label", "n", "rate", "region")]
        table.note = Msg(
            N_(
                "Régions dans l’ordre officiel, pas un classement. Taux brut : sorties positives sur sorties à "
                "l’issue connue."
            )
        )
    return table
