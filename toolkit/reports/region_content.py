"""A region's page, first half: title, contents, key figures, profile, exits and trend, as content.

Each function returns a :class:`~toolkit.reports.content.Section` and
registers the counts and ratios it publishes with the page's
:class:`~toolkit.reports.builder.PageBuilder`. No HTML, no language: the
words are French messages rendered later in the page's language.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..disclosure import CellKey
from ..i18n import N_
from .builder import PageBuilder, code_text
from .content import Card, Cards, Code, Column, Contents, FigureData, Header, Heading, Msg, Num, Section
from .glossary_content import glossary_section  # noqa: F401 (the page's sections, for build.SECTIONS)
from .national import MIX_CATEGORIES, PROFILE_VARIABLES, SUBGROUP_VARIABLES, NationalWork

__all__ = [
    "RegionContext",
    "SECTION_TITLES",
    "title_section",
    "contents_section",
    "headline_section",
    "profile_section",
    "exits_section",
    "trend_section",
    "short_site",
    "by_school",
    "school_order",
    "school_column",
    "other_sites",
    "suppression_note",
    "rate_columns",
    "RATE_PROTECTION",
]

SECTION_TITLES = {
    "headline": Msg(N_("Chiffres clés")),
    "profile": Msg(N_("Profil des stagiaires")),
    "exits": Msg(N_("Sorties")),
    "trend": Msg(N_("Évolution par année d'entrée")),
    "fair": Msg(N_("Comparaison équitable")),
    "esf": Msg(N_("Indicateurs FSE+")),
    "impact": Msg(N_("Impact estimé")),
    "glossary": Msg(N_("Glossaire")),
    "quality": Msg(N_("Annexe : qualité des données")),
    "methods": Msg(N_("Méthodes et provenance")),
}
KICKER = Msg(N_("Écoles de la 2e Chance · rapport aux financeurs"))
META = N_("Données : {data} · définition : {definition} · généré le {date} · boîte à outils E2C {version}")
RATE_PROTECTION = {
    "counts": ["n_known", "n_positive"],
    "rates": {"rate": ("n_positive", "n_known")},
    "derived": {"ci_low": "rate", "ci_high": "rate"},
}


@dataclass
class RegionContext:
    """What every section of a region's page needs."""

    national: NationalWork
    region: str
    builder: PageBuilder
    data_name: str
    comparison: bool = False

    @property
    def min_cell(self) -> int:
        return self.builder.min_cell

    def table(self, name: str) -> pd.DataFrame:
        return self.national.region_table(name, self.region)

    def key(self, population: str, **where: object) -> CellKey:
        codes = {k: code_text(v) for k, v in where.items()}  # a group of sites "a|b" counts any of its sites
        return CellKey.of(
            population, region=self.region, **{k: c.split("|") if "|" in c else c for k, c in codes.items()}
        )

    def source(self) -> Msg:
        return Msg(N_("Source : export des écoles ({data}), traitement boîte à outils E2C"), {"data": self.data_name})


def short_site(site: object, school: object = None) -> str:
    """A site's name without its school's prefix ("E2C X – site de Y" -> "Site de Y")."""
    text = str(site)
    for sep in (" – ", " - ", " — "):
        if sep in text:
            head, tail = text.split(sep, 1)
            if school is None or str(school).startswith(head) or head.startswith(str(school)):
                return tail[:1].upper() + tail[1:]
    return text


def rate_columns(label: Column | None) -> list[Column]:
    """Positive exits by group: exits of known outcome, positives, rate with its interval."""
    return [
        label,
        Column("n_known", Msg(N_("Sorties à l’issue connue")), "int"),
        Column("n_positive", Msg(N_("Sorties positives")), "int"),
        Column("rate", Msg(N_("Taux [IC 95 %]")), "rate_ci"),
    ]


def yes_first(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows of a yes/no variable in one order in every table: Oui, Non, then not given (others unchanged)."""
    values = frame[column].astype("object")
    if not values.map(lambda v: isinstance(v, (bool, np.bool_))).any():
        return frame.reset_index(drop=True)
    rank = values.map(lambda v: 0 if v is True or v is np.True_ else 1 if v is False or v is np.False_ else 2)
    return frame.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)


def title_section(ctx: RegionContext) -> Section:
    n = ctx.national
    header = Header(
        KICKER,
        Msg("{name}", {"name": ctx.region}),
        Msg(
            N_("Parcours, sorties et comparaison équitable des stagiaires entrés en {period}"),
            {"period": n.period.replace("-", "–")},
        ),
        _meta(n, ctx.data_name),
    )
    from .verdict_content import region_verdict, synthetic_banner

    # The summary comes right after the title; the note on hidden cells goes under the contents.
    return Section("title_block", [*synthetic_banner(n.input_info), header, region_verdict(ctx)])


def suppression_note(ctx: RegionContext) -> Msg:
    """What the page hides and how it shows it (under the contents)."""
    return Msg(
        N_(
            "Ce rapport décrit les stagiaires des Écoles de la 2e Chance de la région, leurs sorties et la part de "
            "sorties positives, puis compare la région et ses sites au niveau national en tenant compte du profil des "
            "jeunes accueillis. Aucun chiffre ne porte sur moins de {min_cell} stagiaires : les cellules plus petites, "
            "et celles dont elles se déduiraient, sont masquées (« {marker} »)."
        ),
        _marker_args(ctx.min_cell),
    )


def _marker_args(min_cell: int) -> dict:
    from .words import HIDDEN_MARKER  # one marker for every hidden cell, small or not

    return {"min_cell": min_cell, "marker": HIDDEN_MARKER}


def _meta(national: NationalWork, data_name: str) -> Msg:
    from .. import __version__

    return Msg(
        META,
        {
            "data": data_name or "—",
            "definition": Code("__definition__", national.definition),
            "date": Num(national.meta["generated_at"], "date"),
            "version": __version__,
        },
    )


def contents_section(ctx: RegionContext) -> Section:
    # "impact" is left out when the page is rendered without comparison data
    keys = ["headline", "profile", "exits", "trend", "fair", "esf", "impact", "glossary", "quality", "methods"]
    return Section("contents", [Contents([(k, SECTION_TITLES[k]) for k in keys]), suppression_note(ctx)])


def headline_section(ctx: RegionContext) -> Section:
    flows, rate = ctx.table("flows"), ctx.table("rates")
    nat = ctx.national.meta["national"]
    data = pd.DataFrame(
        {
            "label": [ctx.region, Msg(N_("National"))],
            "n_entries": [int(flows["n_entries"].iat[0]), int(nat["flows"]["n_entries"])],
            "n_exits": [int(flows["n_exits"].iat[0]), int(nat["flows"]["n_exits"])],
            "n_known": [int(rate["n_known"].iat[0]), int(nat["rate"]["n_known"])],
            "n_positive": [int(rate["n_positive"].iat[0]), int(nat["rate"]["n_positive"])],
            "rate": [rate["rate"].iat[0], nat["rate"]["rate"]],
            "ci_low": [rate["ci_low"].iat[0], nat["rate"]["ci_low"]],
            "ci_high": [rate["ci_high"].iat[0], nat["rate"]["ci_high"]],
        }
    )
    scopes = [{"region": ctx.region}, {}]
    populations = {"n_entries": "entries", "n_exits": "exits", "n_known": "known", "n_positive": "positive"}
    table = ctx.builder.table(
        "headline",
        Msg(N_("Chiffres clés de la région et du pays")),
        [
            Column("label", Msg(N_("Périmètre")), "label"),
            Column("n_entries", Msg(N_("Stagiaires entrés")), "int"),
            Column("n_exits", Msg(N_("Sorties")), "int"),
            Column("n_known", Msg(N_("Sorties à l’issue connue")), "int"),
            Column("n_positive", Msg(N_("Sorties positives")), "int"),
            Column("rate", Msg(N_("Taux [IC 95 %]")), "rate_ci"),
        ],
        data,
        keys={c: [CellKey.of(p, **s) for s in scopes] for c, p in populations.items()},
        ratios={"rate": ("n_positive", "n_known", 1, 100.0)},
        protection={**RATE_PROTECTION, "counts": list(populations), "rows_additive": False},
    )
    from .alert_content import key_figure_cards, withheld_note

    meta = ctx.national.meta
    cards = key_figure_cards(_cards(table), meta, ctx.region, ctx.builder)
    # the unknown-outcome alerts are on the first screen, in the summary (verdict_content.region_verdict)
    blocks = [Heading(SECTION_TITLES["headline"], "headline"), cards, *_headline_reading(table)]
    return Section("headline", [*blocks, table, *withheld_note(meta, ctx.region)])


def _cards(table) -> Cards:
    keys, data = table.keys, table.data
    rate = [
        Num([data.at[i, "rate"], data.at[i, "ci_low"], data.at[i, "ci_high"]], "ci", ratio=table.ratios["rate"][i])
        for i in (0, 1)
    ]

    def count(column: str, row: int) -> Num:
        return Num(int(data.at[row, column]), "int", key=keys[column][row])

    def national(value: Num) -> Msg:
        return Msg(N_("National : {value}"), {"value": value}, role="marker")

    return Cards(
        [
            Card(Msg(N_("Stagiaires entrés")), count("n_entries", 0), None, national(count("n_entries", 1))),
            Card(
                Msg(N_("Sorties")),
                count("n_exits", 0),
                Msg(N_("dont {n} à l’issue connue"), {"n": count("n_known", 0)}, role="marker"),
                national(count("n_exits", 1)),
            ),
            Card(
                Msg(N_("Taux de sorties positives")),
                Num(data.at[0, "rate"], "pct", ratio=table.ratios["rate"][0]),
                Msg(N_("IC 95 % : {ci}"), {"ci": rate[0]}),
                Msg(
                    N_("National : {rate} (IC 95 % : {ci})"),
                    {"rate": Num(data.at[1, "rate"], "pct", ratio=table.ratios["rate"][1]), "ci": rate[1]},
                    role="marker",
                ),
            ),
        ]
    )


def _headline_reading(table) -> list[Msg]:
    data, ratio = table.data, table.ratios["rate"][0]
    r, n = data.iloc[0], data.iloc[1]
    overlap = not (r["ci_low"] > n["ci_high"] or r["ci_high"] < n["ci_low"])
    args = {
        "rate_r": Num([r["rate"], r["ci_low"], r["ci_high"]], "rate_ci", ratio=ratio),
        "rate_n": Num(n["rate"], "pct", ratio=table.ratios["rate"][1]),
    }
    first = (
        N_(
            "Dans la région, {rate_r} des sorties à l'issue connue sont positives, contre {rate_n} au niveau "
            "national. L'intervalle de confiance de la région recoupe celui du pays : l'écart peut relever du hasard."
        )
        if overlap
        else N_(
            "Dans la région, {rate_r} des sorties à l'issue connue sont positives, contre {rate_n} au niveau "
            "national. L'écart dépasse ce que le hasard expliquerait."
        )
    )
    second = N_(
        "Un taux brut ne tient pas compte du profil des jeunes accueillis : la comparaison équitable plus bas "
        "le prend en compte."
    )
    return [Msg(first, args, role="reading"), Msg(second, role="reading", requires=(ratio,))]


def profile_section(ctx: RegionContext) -> Section:
    region = ctx.table("profile")
    nat = pd.DataFrame(ctx.national.meta["national"]["profile"])
    nat_share = dict(zip(nat["variable"] + "=" + nat["code"].map(code_text), nat["share"]))
    blocks: list = [
        Heading(SECTION_TITLES["profile"], "profile"),
        Msg(
            N_(
                "Caractéristiques à l’entrée des stagiaires de la région, et part nationale pour repère. Les parts "
                "sont "
                "calculées sur les stagiaires dont la caractéristique est connue."
            )
        ),
    ]
    for variable in PROFILE_VARIABLES:
        part = region[region["variable"] == variable].reset_index(drop=True)
        part = yes_first(part[~((part["n"] == 0) & part["code"].isna())], "code")
        codes = part["code"].map(code_text)
        data = pd.DataFrame(
            {
                "label": part["code"].to_numpy(dtype=object),
                "n": part["n"].to_numpy(),
                "share": part["share"].to_numpy(),
                "national": (variable + "=" + codes).map(nat_share).to_numpy(dtype=float),
            }
        )
        blocks.append(
            ctx.builder.table(
                f"profile_{variable}",
                Msg(
                    N_("{variable} des stagiaires ({region})"),
                    {"variable": Code("__column__", variable), "region": ctx.region},
                ),
                [
                    Column("label", Code("__column__", variable), "code", code_column=variable),
                    Column("n", Msg(N_("Effectif")), "int"),
                    Column("share", Msg(N_("Part dans la région")), "pct"),
                    Column("national", Msg(N_("Part nationale")), "pct"),
                ],
                data,
                keys={"n": [ctx.key("entries", **{variable: c}) for c in part["code"]]},
                ratios={"share": ("n", None, 1, 100.0)},
                protection={"counts": ["n"], "rates": {"share": ("n", None)}, "complement": False},
            )
        )
    return Section("profile", blocks)


def exits_section(ctx: RegionContext) -> Section:
    blocks: list = [Heading(SECTION_TITLES["exits"], "exits"), *_exit_mix(ctx)]
    blocks.append(Heading(Msg(N_("Sorties positives selon le profil")), "exits-subgroups", 3))
    for variable in SUBGROUP_VARIABLES:
        rates = ctx.table(f"by_{variable}")
        rates = yes_first(rates[rates["n_known"] > 0], variable)
        data = rates[["n_known", "n_positive", "rate", "ci_low", "ci_high"]].assign(
            label=rates[variable].to_numpy(dtype=object)
        )
        blocks.append(
            ctx.builder.table(
                f"exits_{variable}",
                Msg(N_("Sorties positives selon : {variable}"), {"variable": Code("__column_lower__", variable)}),
                rate_columns(Column("label", Code("__column__", variable), "code", code_column=variable)),
                data,
                keys={
                    c: [ctx.key(p, **{variable: v}) for v in rates[variable]]
                    for c, p in (("n_known", "known"), ("n_positive", "positive"))
                },
                ratios={"rate": ("n_positive", "n_known", 1, 100.0)},
                protection=RATE_PROTECTION,
            )
        )
    blocks.append(
        Msg(
            N_(
                "Ces écarts entre groupes décrivent ; ils ne prouvent pas qu’un groupe réussit mieux à cause "
                "de sa caractéristique, les groupes différant aussi par d’autres traits."
            ),
            role="note",
        )
    )
    return Section("exits", [*blocks, *_sites_tables(ctx)])


def _exit_mix(ctx: RegionContext) -> list:
    mix = ctx.table("mix")
    nat_mix = pd.DataFrame(ctx.national.meta["national"]["mix"])
    nat_share = dict(zip(nat_mix["category"].astype(str), nat_mix["share"]))
    category = mix["category"].astype(str)
    data = pd.DataFrame(
        {
            "label": category.to_numpy(dtype=object),
            "category": category.to_numpy(dtype=object),
            "n": mix["n"].to_numpy(),
            "share": mix["share"].to_numpy(),
            "national": category.map(nat_share).to_numpy(dtype=float),
        }
    )
    table = ctx.builder.table(
        "exit_mix",
        Msg(N_("Situation à la sortie ({region})"), {"region": ctx.region}),
        [
            Column("label", Msg(N_("Type de sortie")), "code", code_column="exit_category"),
            Column("n", Msg(N_("Effectif")), "int"),
            Column("share", Msg(N_("Part (situation connue)")), "pct"),
            Column("national", Msg(N_("Part nationale")), "pct"),
        ],
        data,
        keys={"n": [ctx.key(f"category:{c}") for c in category]},
        ratios={"share": ("n", None, 1, 100.0)},
        note=Msg(
            N_(
                "Parts calculées sur les sorties dont la situation est connue ; les sorties dont la situation n’est "
                "pas renseignée sont comptées à part. Les taux de sorties positives portent, eux, sur les sorties à "
                "l’issue connue (voir le glossaire)."
            )
        ),
        protection={"counts": ["n"], "rates": {"share": ("n", None)}, "complement": False},
    )
    known = data["category"] != "unknown"
    points = data.loc[known, ["category", "n", "share", "national"]].reset_index(drop=True)
    figure = FigureData(
        "exit_mix",
        points,
        alt=Msg(""),
        caption=Msg(N_("Répartition des sorties par type ; losanges : part nationale.")),
        params={"region": ctx.region, "source": ctx.source()},
        keys=[r for r, k in zip(table.ratios["share"], known) if k],
    )
    return [Heading(Msg(N_("Situation à la sortie")), "exit-mix", 3), figure, table]


SITES_ORDER_NOTE = N_(
    "Sites regroupés par école : écoles, puis sites de chaque école, dans l’ordre alphabétique ; ce n’est pas un "
    "classement."
)


def by_school(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of sites sorted as the note says: by school, then by site name, grouped small sites last.

    ``frame`` has ``site`` (full name, NA for the grouped small sites) and ``school``; the ``site`` column is
    replaced by the short name and ``school`` by its text ("" for the grouped row)."""
    out = frame.copy()
    out["school"] = out["school"].astype("object").where(out["school"].notna(), "") if "school" in out else ""
    out["site"] = pd.Series(
        [short_site(v, c) if isinstance(v, str) else None for v, c in zip(out["site"], out["school"])],
        index=out.index,
        dtype="object",
    )
    return out.iloc[school_order(out)].reset_index(drop=True)


def school_order(frame: pd.DataFrame) -> list[int]:
    """Positions of ``frame``'s rows by school, then site name (case-insensitive), NA sites last."""
    site = frame["site"]
    school = frame["school"] if "school" in frame else pd.Series("", index=frame.index)
    keys = pd.DataFrame(
        {
            "last": site.map(lambda v: not isinstance(v, str)).to_numpy(),
            "school": school.map(lambda v: v.casefold() if isinstance(v, str) else "").to_numpy(),
            "site": [short_site(v, c).casefold() if isinstance(v, str) else "" for v, c in zip(site, school)],
        }
    )
    return list(keys.sort_values(["last", "school", "site"], kind="stable").index)


def other_sites(k: int, min_cell: int) -> Msg:
    """The label of the grouped small sites, agreeing with their number."""
    return Msg(
        N_("Autre site ({n} site de moins de {m} sorties)"),
        {"m": min_cell},
        plural="Autres sites ({n} sites de moins de {m} sorties)",
        count=k,
    )


def school_column() -> Column:
    return Column("school", Msg(N_("École")), "text")


def _sites_tables(ctx: RegionContext) -> list:
    grouped = ctx.table("sites")
    grouped = by_school(grouped)
    other = grouped["site"].isna()
    site_codes = grouped["members"].astype(str)
    grouped.loc[other, "site"] = [other_sites(int(k), ctx.min_cell) for k in grouped.loc[other, "n_sites"]]
    blocks = [Heading(Msg(N_("Par site")), "exits-sites", 3)]
    blocks.append(
        ctx.builder.table(
            "exits_sites",
            Msg(N_("Sorties positives par site (taux bruts)")),
            [Column("site", Msg(N_("Site")), "label"), school_column(), *rate_columns(None)[1:]],
            grouped,
            keys={
                c: [ctx.key(p, site=s) for s in site_codes]
                for c, p in (("n_known", "known"), ("n_positive", "positive"))
            },
            ratios={"rate": ("n_positive", "n_known", 1, 100.0)},
            note=Msg(
                N_(
                    "{order} Les taux bruts ne tiennent pas compte du public accueilli ; voir la comparaison équitable."
                ),
                {"order": Msg(SITES_ORDER_NOTE)},
            ),
            protection=RATE_PROTECTION,
        )
    )
    mix_cols = [*MIX_CATEGORIES, "unknown"]
    grouped["n_exits"] = grouped[mix_cols].sum(axis=1)
    keys = {c: [ctx.key(f"category:{c}", site=s) for s in site_codes] for c in mix_cols}
    keys["n_exits"] = [ctx.key("exits", site=s) for s in site_codes]
    blocks.append(
        ctx.builder.table(
            "exit_mix_sites",
            Msg(N_("Situation à la sortie par site (effectifs)")),
            [
                Column("site", Msg(N_("Site")), "label"),
                school_column(),
                *[Column(c, Code("exit_category", c), "int") for c in mix_cols],
                Column("n_exits", Msg(N_("Total")), "int"),
            ],
            grouped,
            keys=keys,
            note=Msg(SITES_ORDER_NOTE),
            protection={
                "counts": [*mix_cols, "n_exits"],
                "rows_additive": True,
                "cols_additive": True,
                "total_col": "n_exits",
            },
        )
    )
    return blocks


def trend_section(ctx: RegionContext) -> Section:
    rates = ctx.table("trend")
    rates = rates[rates["cohort_year"].notna()].reset_index(drop=True)
    nat = pd.DataFrame(ctx.national.meta["national"]["trend"])
    nat_rate = dict(zip(nat["cohort_year"].astype(int), nat["rate"]))
    years = rates["cohort_year"].astype(int)
    data = rates[["n_exits", "n_known", "n_positive", "rate", "ci_low", "ci_high"]].assign(
        label=years.astype(str).to_numpy(), year=years.to_numpy(), national=years.map(nat_rate).astype(float)
    )
    table = ctx.builder.table(
        "trend",
        Msg(N_("Sorties positives par année d’entrée")),
        [
            *rate_columns(Column("label", Msg(N_("Année d’entrée")), "label")),
            Column("national", Msg(N_("Taux national")), "pct"),
        ],
        data,
        keys={
            c: [ctx.key(p, cohort_year=y) for y in years] for c, p in (("n_known", "known"), ("n_positive", "positive"))
        },
        ratios={"rate": ("n_positive", "n_known", 1, 100.0)},
        note=Msg(
            N_(
                "Taux national : toutes les régions, même définition. Les dernières cohortes comptent encore des "
                "jeunes en parcours : leurs taux reposent sur moins de sorties."
            )
        ),
        protection=RATE_PROTECTION,
    )
    points = data[["year", "n_known", "rate", "ci_low", "ci_high"]].rename(columns={"n_known": "n"})
    figure = FigureData(
        "trend",
        points,
        alt=Msg(""),
        caption=Msg(
            N_(
                "Bande : intervalle de confiance à 95 % ; tirets : taux national calculé sur toutes les régions "
                "avec la même définition."
            )
        ),
        reference=data[["year", "national"]].rename(columns={"year": "cohort_year"}),
        params={"region": ctx.region, "source": ctx.source()},
        keys=list(table.ratios["rate"]),
    )
    return Section("trend", [Heading(SECTION_TITLES["trend"], "trend"), figure, table])
