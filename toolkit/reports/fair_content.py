"""A region's page, second half: fair comparison, ESF+ indicators, data quality, methods, as content.

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
from .region_content import SECTION_TITLES, RegionContext, _marker_args, short_site

__all__ = ["FLAG_WORDS", "fair_section", "regions_figure_data", "esf_section", "quality_section", "methods_section"]

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
        Heading(Msg(N_("Les sites de la région sur l’entonnoir national")), "fair-sites", 3),
        _funnel_data(ctx, big, table.ratios["oe_ratio"][: len(big)], int(small.sum()), len(sites)),
        table,
        Heading(Msg(N_("La région parmi les régions")), "fair-regions", 3),
    ]
    regions = ctx.national.region_comparison
    figure = regions_figure_data(ctx.builder, regions, ctx.region, ctx.source())
    blocks.append(figure)
    row = regions[regions["region"].astype("object") == ctx.region]
    blocks += _fair_reading(ctx, row.iloc[0] if len(row) else None, big, figure)
    return Section("fair_comparison", blocks)


def _fair_table(ctx: RegionContext, mine: pd.DataFrame, small: np.ndarray):
    big = mine[~small]
    table = big[["site", "n", "observed", "expected", "oe_ratio", "lower95", "upper95", "flag95"]].copy()
    codes = big["site"].astype(str).tolist()
    table["site"] = table["site"].map(short_site)
    if small.any():
        rest = mine[small]
        o, e = int(rest["observed"].sum()), float(rest["expected"].sum())
        other = {
            "site": Msg(
                N_("Autres sites ({k} sites de moins de {m} sorties)"), {"k": int(small.sum()), "m": ctx.min_cell}
            ),
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
            Column("n", Msg(N_("Sorties (issue connue)")), "int"),
            Column("observed", Msg(N_("Positives observées")), "int"),
            Column("expected", Msg(N_("Attendues")), "number", follows="observed"),
            Column("oe_ratio", Msg(N_("O/A")), "number", 2),
            Column("limits", Msg(N_("Limites à 95 %")), "limits", 2, follows="oe_ratio", pair=("lower95", "upper95")),
            Column("reading", Msg(N_("Lecture")), "msg", follows="oe_ratio"),
        ],
        table.assign(limits=None),
        keys={"n": n_keys, "observed": o_keys},
        note=Msg(
            N_(
                "Ordre alphabétique, pas un classement. Attendues : sorties positives qu’aurait un site de même "
                "public au niveau national."
            )
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


def _fair_reading(ctx: RegionContext, row, big: pd.DataFrame, figure: FigureData) -> list[Msg]:
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
    n_above, n_below = int((big["flag95"] == "above").sum()), int((big["flag95"] == "below").sum())
    parts.append(
        Msg(
            N_(
                "Parmi les {n} sites représentés, {above} font mieux et {below} moins bien que l’attendu au-delà de la "
                "variation habituelle ; les autres sont dans la norme."
            ),
            {"n": len(big), "above": n_above, "below": n_below},
            role="reading",
        )
    )
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


def esf_section(ctx: RegionContext) -> Section:
    table = ctx.table("esf")
    frame = table[["code", "women", "men", "sex_unknown", "total"]].copy()
    frame["label"] = frame["code"].astype(str)
    frame["indicator"] = frame["code"].astype(str)
    with_unknown = bool((frame["sex_unknown"].fillna(0) > 0).any())
    counts = ["women", "men", "sex_unknown", "total"] if with_unknown else ["women", "men", "total"]
    sexes = {"women": "F", "men": "M", "sex_unknown": "NA", "total": None}
    columns = [
        Column("label", Msg(N_("Code")), "label"),
        Column("indicator", Msg(N_("Indicateur")), "code", code_column="__esf__"),
        Column("women", Msg(N_("Femmes")), "int"),
        Column("men", Msg(N_("Hommes")), "int"),
    ]
    if with_unknown:
        columns.append(Column("sex_unknown", Msg(N_("Sexe non renseigné")), "int"))
    columns.append(Column("total", Msg(N_("Total")), "int"))
    result = ctx.builder.table(
        "esf",
        Msg(N_("Indicateurs communs FSE+ des participants ({region})"), {"region": ctx.region}),
        columns,
        frame,
        keys={  # the total has no sex filter (sex=NA would be the participants with no sex recorded)
            c: [ctx.key(f"esf:{code}", **({"sex": sexes[c]} if sexes[c] else {})) for code in frame["code"]]
            for c in counts
        },
        note=Code("__esf_note__", None),
        protection={"counts": counts, "rows_additive": False, "cols_additive": True, "total_col": "total"},
    )
    blocks: list = [
        Heading(SECTION_TITLES["esf"], "esf"),
        Msg(
            N_(
                "Indicateurs communs du règlement (UE) 2021/1057, annexe I, que les exports permettent de calculer, "
                "pour "
                "tous les stagiaires de la région sur la période. Les codes marqués comme non confirmés sont à "
                "vérifier "
                "auprès de l’autorité de gestion."
            )
        ),
        result,
    ]
    unconfirmed = ", ".join(table.loc[~table["code_confirmed"].astype(bool), "code"].astype(str))
    if unconfirmed:
        blocks.append(Msg(N_("Codes non confirmés : {codes}"), {"codes": unconfirmed}, role="note"))
    return Section("esf", blocks)


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
                    "(2005) avec une variation additive entre unités estimée sur les données."
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
                    "; avant publication, un audit vérifie qu’aucune cellule masquée ne se reconstitue à partir de "
                    "l’ensemble des pages du lot ; les taux sur moins de ce seuil ne sont pas publiés ; les petits "
                    "sites sont regroupés et absents des graphiques ; les autres régions n’apparaissent qu’agrégées."
                ),
                _marker_args(ctx.min_cell),
            ),
        ),
        (
            Msg(N_("Limites")),
            Msg(
                N_(
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
    return Section("methods", [Heading(SECTION_TITLES["methods"], "methods"), Definitions(items)])
