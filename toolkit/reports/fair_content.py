"""A region's page, second half: fair comparison, data quality, methods, as content (ESF+: :mod:`.esf_content`).

Also the regions compared at equal intake (:func:`regions_figure_data`), which
the index page shows too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema
from ..disclosure import CellKey
from ..i18n import N_
from .alert_content import model_skipped, skipped_reason
from .builder import PageBuilder
from .content import Code, Column, Definitions, FigureData, Heading, Msg, Num, Section
from .protect import oe_publishable
from .region_content import (
    SECTION_TITLES,
    SITES_ORDER_NOTE,
    RegionContext,
    _marker_args,
    by_school,
    other_sites,
    school_column,
    school_order,
)
from .schools_content import schools_blocks
from .verdict_content import sites_reading

__all__ = ["FLAG_WORDS", "fair_section", "regions_figure_data", "quality_section", "methods_section"]

FLAG_WORDS = {
    "above": Msg(N_("Au-dessus de l’attendu")),
    "below": Msg(N_("En dessous de l’attendu")),
    "within": Msg(N_("Dans la norme")),
}
FUNNEL_COLUMNS = [
    "site",
    "region",
    "n",
    "observed",
    "expected",
    "oe_ratio",
    "adjusted_rate",
    "se",
    "flag95",
    "flag998",
    "lower95",
    "upper95",
]


def _flag(flag: object) -> Msg | str:
    return FLAG_WORDS.get(str(flag), "")


def fair_section(ctx: RegionContext) -> Section:
    skipped = skipped_reason(ctx.national.meta)
    if skipped:  # no expected model: the section says why it is absent
        return Section("fair_comparison", [Heading(SECTION_TITLES["fair"], "fair"), model_skipped(skipped)])
    sites = ctx.national.sites
    mine = sites[sites["region"].astype("object") == ctx.region].reset_index(drop=True)
    mine = mine.iloc[school_order(mine)].reset_index(drop=True)  # the table's order: the funnel's keys follow it
    small = (mine["n"] < ctx.min_cell).to_numpy()
    big = mine[~small].reset_index(drop=True)
    table = _fair_table(ctx, mine, small)
    blocks: list = [
        Heading(SECTION_TITLES["fair"], "fair"),
        Msg(
            N_(
                "Chaque site est comparé à ce qu’on attendrait au niveau national de jeunes ayant le même profil à "
                "l’entrée (sexe, âge, niveau de formation, QPV, handicap, nationalité, année). Un rapport observé / "
                "attendu (O/A) de 1 signifie « comme le pays à public égal ». Les limites en entonnoir montrent "
                "jusqu’où "
                "le hasard et la variation habituelle entre sites peuvent écarter un site de 1."
            )
        ),
        *schools_blocks(ctx),
        Heading(Msg(N_("Les sites de la région sur l’entonnoir national")), "fair-sites", 3),
        _funnel_data(ctx, big, table.ratios["oe_ratio"][: len(big)], int(small.sum()), len(sites)),
        table,
        Heading(Msg(N_("La région parmi les régions")), "fair-regions", 3),
    ]
    regions = ctx.national.region_comparison
    figure = regions_figure_data(ctx.builder, regions, ctx.region, ctx.source())
    blocks.append(figure)
    row = regions[regions["region"].astype("object") == ctx.region]
    blocks += _fair_reading(ctx, row.iloc[0] if len(row) else None, big, figure, table.ratios["oe_ratio"][: len(big)])
    return Section("fair_comparison", blocks)


def _fair_table(ctx: RegionContext, mine: pd.DataFrame, small: np.ndarray):
    big = mine[~small].assign(code=mine.loc[~small, "site"].astype(str))
    if "school" not in big.columns:
        big["school"] = None
    columns = ["site", "school", "code", "n", "observed", "expected", "oe_ratio", "lower95", "upper95", "flag95"]
    table = by_school(big[columns])
    codes = table.pop("code").tolist()
    if small.any():
        rest = mine[small]
        o, e = int(rest["observed"].sum()), float(rest["expected"].sum())
        other = {
            "site": other_sites(int(small.sum()), ctx.min_cell),
            "school": "",
            "n": int(rest["n"].sum()),
            "observed": o,
            "expected": e,
            "oe_ratio": o / e if e > 0 else np.nan,
            "lower95": np.nan,
            "upper95": np.nan,
            "flag95": "",
        }
        table = pd.concat([table, pd.DataFrame([other])], ignore_index=True)
        codes.append("|".join(sorted(rest["site"].astype(str))))
    table["reading"] = [_flag(f) for f in table["flag95"]]
    builder = ctx.builder
    n_keys = [ctx.key("known", site=c) for c in codes]
    o_keys = [ctx.key("positive", site=c) for c in codes]
    result = builder.table(
        "fair_sites",
        Msg(N_("Comparaison équitable des sites de la région")),
        [
            Column("site", Msg(N_("Site")), "label"),
            school_column(),
            Column("n", Msg(N_("Sorties à l’issue connue")), "int"),
            Column("observed", Msg(N_("Positives observées")), "int"),
            Column("expected", Msg(N_("Attendues")), "number", follows="observed"),
            Column("oe_ratio", Msg(N_("O/A")), "number", 2),
            Column("limits", Msg(N_("Limites à 95 %")), "limits", 2, follows="oe_ratio", pair=("lower95", "upper95")),
            Column("reading", Msg(N_("Lecture")), "msg", follows="oe_ratio"),
        ],
        table.assign(limits=None),
        keys={"n": n_keys, "observed": o_keys},
        note=Msg(
            N_("{order} Attendues : sorties positives qu’aurait un site de même public au niveau national."),
            {"order": Msg(SITES_ORDER_NOTE)},
        ),
        protection={
            "counts": ["n", "observed"],
            "rows_additive": True,
            "rates": {"oe_ratio": ("observed", "n")},
            "derived": {"expected": "observed", "reading": "oe_ratio"},
        },
    )
    result.ratios["oe_ratio"] = [
        builder.ratio(k, float(e), 2, f"fair_sites/{i}/oe_ratio", scale=1.0) if e > 0 else None
        for i, (k, e) in enumerate(zip(o_keys, table["expected"]))
    ]
    return result


def _funnel_data(ctx: RegionContext, big: pd.DataFrame, ratios: list, k_hidden: int, n_sites: int) -> FigureData:
    """The region's sites only (other regions' sites are not shown, even anonymously)."""
    points = big[[c for c in FUNNEL_COLUMNS if c in big.columns]].copy()
    points["region"] = points["region"].astype(str)
    return FigureData(
        "funnel",
        points,
        alt=Msg(""),
        caption=Msg(
            N_(
                "Limites issues de la comparaison des {n} sites du pays, avec la variation habituelle entre "
                "sites ; seuls les sites de la région sont représentés."
            ),
            {"n": n_sites},
        ),
        params={
            "region": ctx.region,
            "source": ctx.source(),
            "k_hidden": k_hidden,
            "min_cell": ctx.min_cell,
            "attrs": {k: v for k, v in ctx.national.sites.attrs.items() if isinstance(v, (int, float, str))},
        },
        keys=list(ratios),
    )


def regions_figure_data(builder: PageBuilder, regions: pd.DataFrame, highlight: str | None, source: Msg) -> FigureData:
    """Every region's O/E with its 95 % limits (regional aggregates only), in the official region order."""
    order = [r for r in schema.REGION_NAMES if r in set(regions["region"].astype("object"))]
    frame = regions.set_index(regions["region"].astype("object")).loc[order].reset_index(drop=True)
    points = frame[["region", "n", "observed", "expected", "oe_ratio", "lower95", "upper95", "flag95"]].copy()
    points["region"] = points["region"].astype(str)
    keys = [
        builder.ratio(CellKey.of("positive", region=r), float(e), 2, f"regions/{r}/oe_ratio", scale=1.0)
        for r, e in zip(points["region"], points["expected"])
    ]
    return FigureData(
        "regions",
        points,
        alt=Msg(""),
        caption=Msg(
            N_(
                "Régions dans l’ordre officiel, pas un classement ; barres grises : limites à 95 % autour de 1 ; "
                "triangles : au-dessus (pointe en haut) ou en dessous (pointe en bas) de l’attendu."
            )
        ),
        params={"highlight": highlight, "source": source},
        keys=keys,
        protection={"rule": "oe", "n": "n", "observed": "observed", "ratio": "oe_ratio"},
    )


def _fair_reading(ctx: RegionContext, row, big: pd.DataFrame, figure: FigureData, ratios=()) -> list[Msg]:
    parts = []
    if row is not None:
        ratio = figure.keys[figure.points.index[figure.points["region"] == ctx.region][0]]
        words = Code("__lower__", _flag(row["flag95"]))
        hidden = Msg(
            N_(
                "À profil de stagiaires égal, la région est « {words} » par rapport à l’ensemble des régions ; le "
                "détail "
                "n’est pas publié (moins de {min_cell} sorties dans une des deux issues)."
            ),
            {"words": words, "min_cell": ctx.min_cell},
            role="reading",
        )
        parts.append(
            Msg(
                N_(
                    "À profil de stagiaires égal, la région compte {observed} sorties positives pour {expected} "
                    "attendues "
                    "(rapport O/A {oe}, limites à 95 % : {low} – {high}) : {words} par rapport à l’ensemble des "
                    "régions."
                ),
                {
                    "observed": Num(int(row["observed"]), "int"),
                    "expected": Num(float(row["expected"]), "number", 0),
                    "oe": Num(float(row["oe_ratio"]), "number", 2, ratio=ratio),
                    "low": Num(float(row["lower95"]), "number", 2),
                    "high": Num(float(row["upper95"]), "number", 2),
                    "words": words,
                },
                fallback=hidden,
                role="reading",
            )
        )
    # only the sites whose O/E the page shows: a hidden site's reading must not be counted either
    shown = oe_publishable(big["n"], big["observed"], ctx.min_cell) & big["oe_ratio"].notna().to_numpy()
    flags = big["flag95"].astype(str).to_numpy()[shown]
    sites = sites_reading(int(shown.sum()), int((flags == "above").sum()), int((flags == "below").sum()))
    if sites is not None:
        needed = tuple(r for r, ok in zip(ratios, shown) if ok and r is not None)
        parts.append(Msg(sites.text, sites.args, sites.plural, sites.count, role="reading", requires=needed))
    parts.append(
        Msg(
            N_(
                "Cet ajustement ne tient compte que du profil enregistré à l’entrée : un écart peut aussi venir de ce "
                "qui "
                "n’est pas mesuré (marché du travail local, motivation, offre de formation). C’est un signal pour "
                "dialoguer, "
                "pas un classement ni une preuve d’efficacité."
            ),
            role="reading",
        )
    )
    return parts


def quality_section(ctx: RegionContext) -> Section:
    info = ctx.national.input_info
    flows = ctx.table("flows").iloc[0]
    rows = [
        (Msg(N_("Lignes reçues (fichier national)")), info.get("rows_received"), CellKey.of("rows:received")),
        (Msg(N_("Lignes retenues (fichier national)")), info.get("rows_kept"), CellKey.of("rows:kept")),
        (Msg(N_("Lignes rejetées (fichier national)")), info.get("rows_rejected"), CellKey.of("rows:rejected")),
        (Msg(N_("Stagiaires de la région retenus")), int(flows["n_entries"]), ctx.key("entries")),
        (Msg(N_("dont encore en parcours")), int(flows["n_still_in"]), ctx.key("still_in")),
        (Msg(N_("Sorties dont l’issue est inconnue")), int(flows["n_unknown"]), ctx.key("unknown")),
        (Msg(N_("dont motif de sortie non renseigné")), int(flows["n_unknown_reason"]), ctx.key("unknown_reason")),
    ]
    frame = pd.DataFrame({"label": [r[0] for r in rows], "n": [r[1] for r in rows]})
    count = Msg(N_("Effectif"))
    blocks: list = [
        Heading(SECTION_TITLES["quality"], "quality"),
        ctx.builder.table(
            "quality",
            Msg(N_("Lignes reçues, retenues et rejetées")),
            [Column("label", Msg(N_("Étape")), "label"), Column("n", count, "int")],
            frame,
            keys={"n": [r[2] for r in rows]},
            protection={"counts": ["n"], "rows_additive": False},
        ),
    ]
    reasons = ctx.national.meta["quality"].get("rejected_by_reason", {})
    if reasons:
        frame = pd.DataFrame({"label": [Code("__reason__", k) for k in reasons], "n": list(reasons.values())})
        blocks.append(
            ctx.builder.table(
                "quality_rejected",
                Msg(N_("Lignes rejetées par motif (fichier national)")),
                [Column("label", Msg(N_("Motif de rejet")), "label"), Column("n", Msg(N_("Lignes")), "int")],
                frame,
                keys={"n": [CellKey.of(f"rejected:{k}") for k in reasons]},
                protection={"counts": ["n"], "rows_additive": True},
            )
        )
    blocks.append(
        Msg(
            N_(
                "Une ligne rejetée ne figure dans aucun chiffre du rapport ; chaque rejet est consigné avec son "
                "motif dans le journal de nettoyage remis à l’évaluateur."
            ),
            role="note",
        )
    )
    return Section("quality", blocks)


def methods_section(ctx: RegionContext) -> Section:
    from .. import __version__

    national = ctx.national
    model = national.meta["model"]
    skipped = skipped_reason(national.meta)
    sha = national.input_info.get("sha256") or Msg(N_("sans objet (données en mémoire)"))
    items = [
        (
            Msg(N_("Définition de la sortie positive")),
            Msg(
                "{label}. {text}",
                {
                    "label": Code("__definition__", national.definition),
                    "text": Code("__definition_text__", national.definition),
                },
            ),
        ),
        (
            Msg(N_("Modèle de comparaison")),
            model_skipped(skipped, "p")
            if skipped
            else Msg(
                N_(
                    "Régression logistique nationale de la sortie positive sur le profil à l’entrée ({covariates}), "
                    "ajustée "
                    "une fois sur {n} sorties à l’issue connue. Sorties attendues d’un site ou d’une région : somme "
                    "des "
                    "probabilités prédites de ses jeunes (standardisation indirecte). Limites en entonnoir de "
                    "Spiegelhalter "
                    "(2005), élargies de la variation habituelle entre unités (effet aléatoire additif, voir le "
                    "glossaire) estimée sur les données."
                ),
                {
                    "covariates": Code("__columns__", tuple(model.get("covariates", ()))),
                    "n": Num(model.get("n"), "int"),
                },
            ),
        ),
        (
            Msg(N_("Confidentialité")),
            Msg(
                N_(
                    "Aucune donnée individuelle ni identifiant. Toute cellule de moins de {min_cell} stagiaires est "
                    "masquée, ainsi que les cellules dont elle se déduirait, toutes avec la même marque (« {marker} ») "
                    "; avant publication, un audit par programmation linéaire vérifie qu’aucune cellule masquée ne se "
                    "reconstitue à partir de l’ensemble des pages du lot (tableaux, parts et taux arrondis, chiffres "
                    "clés, index, pages des autres régions) : chacune reste compatible avec au moins {min_cell} "
                    "valeurs autour de sa vraie valeur et, si elle est petite, avec une valeur d’au moins {min_cell} ; "
                    "les taux sur moins de ce seuil ne sont pas publiés ; les petits sites sont regroupés et absents "
                    "des graphiques ; les autres régions n’apparaissent qu’agrégées."
                ),
                _marker_args(ctx.min_cell),
            ),
        ),
        (
            Msg(N_("Limites")),
            Msg(
                N_(
                    "Les chiffres des sections descriptives et de la comparaison équitable ne mesurent pas l’effet "
                    "propre des E2C ; la section « Impact estimé » le fait, à partir d’un groupe de comparaison, avec "
                    "les limites qu’elle indique. Les taux nationaux publiés par le Réseau utilisent d’autres "
                    "définitions."
                )
                if ctx.comparison
                else N_(
                    "Les chiffres sont descriptifs : ils ne mesurent pas l’effet propre des E2C, faute de groupe de "
                    "comparaison. Les taux nationaux publiés par le Réseau utilisent d’autres définitions."
                )
            ),
        ),
        (Msg(N_("Fichier de données")), Msg("{name}", {"name": ctx.data_name or "—"})),
        (Msg(N_("SHA-256")), Msg("{sha}", {"sha": sha})),
        (Msg(N_("Version de la boîte à outils")), Msg("{version}", {"version": __version__})),
        (Msg(N_("Date de génération")), Msg("{date}", {"date": Num(national.meta["generated_at"], "date")})),
    ]
    if national.meta.get("comparison"):  # the impact section is on the page: its data and limits
        from .impact_section import with_comparison  # imports the impact models: only with comparison data

        items = with_comparison(items, national.meta["comparison"])
    return Section("methods", [Heading(SECTION_TITLES["methods"], "methods"), Definitions(items)])
