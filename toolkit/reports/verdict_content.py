"""The summary a page opens with (``id="synthese"``), the synthetic-data banner, and counted phrases.

* :func:`region_verdict`: three or four sentences a funder can quote, reconciling the raw
  rate (with its interval), the national rate and the comparison at equal intake (O/E with its
  reading);
* :func:`index_verdict`: the national picture (which regions are above or below the expected
  at equal intake) and the table of regions (raw rate, interval, O/E, reading, report);
* :func:`synthetic_banner`: "Données fictives — ne pas diffuser" on every page made from the
  synthetic default or an ``e2c synth`` export;
* :func:`points`, :func:`sites_reading`: numbers with the right agreement (1 / several).

Every statement is chosen from the numbers, in French (the gettext msgid), translated when the
page is rendered; every number is a registered cell (:class:`~toolkit.reports.content.Num` with its
key or ratio), so a hidden cell takes its sentence with it (the sentence's fallback is shown).
"""

from __future__ import annotations

import pandas as pd

from .. import schema
from ..disclosure import CellKey
from ..i18n import N_
from .builder import PageBuilder
from .content import Banner, Column, FigureData, Msg, Num, Verdict
from .protect import oe_publishable

__all__ = ["SUMMARY_TITLE", "synthetic_banner", "region_verdict", "index_verdict", "points", "sites_reading"]

SUMMARY_TITLE = Msg(N_("En bref"))
BANNER_TEXT = N_("Données fictives — ne pas diffuser")


def synthetic_banner(input_info: dict) -> list[Banner]:
    """The banner of a page made from synthetic data (none for a school's export)."""
    return [Banner(Msg(BANNER_TEXT))] if input_info.get("synthetic") else []


def plural_count(value: float) -> int:
    """The ``n`` that gives a decimal number its agreement in both languages through ``ngettext``.

    French takes the singular below 2 ("1,9 point"), English only for exactly one ("1.0 point",
    "0.4 points"): 1 for a value that rounds to 1.0, 2 from 2 on, 0 otherwise.
    """
    value = round(abs(float(value)), 1)
    return 1 if value == 1.0 else 2 if value >= 2 else 0


def points(value: float, key=None) -> Msg:
    """'4,5 points', '1,2 point' (French), '1.2 points' (English): a gap between two rates."""
    return Msg(
        N_("{pts} point"),
        {"pts": Num(abs(float(value)), "number", 1, ratio=key)},
        plural="{pts} points",
        count=plural_count(value),
    )


def counted(count: int, singular: str, plural: str, **args) -> Msg:
    """A counted phrase ('1 fait mieux', '3 font mieux'): ``{n}`` is the count."""
    return Msg(singular, dict(args), plural=plural, count=int(count))


def sites_reading(n: int, above: int, below: int) -> Msg | None:
    """The sites of a region against the expected, with the verb agreeing with each count."""
    if n <= 0:
        return None
    if n == 1:
        text = (
            N_("Le site représenté fait mieux que l’attendu, au-delà de la variation habituelle entre sites.")
            if above
            else N_("Le site représenté fait moins bien que l’attendu, au-delà de la variation habituelle entre sites.")
            if below
            else N_(
                "Le site représenté est dans la norme : il ne s’écarte pas de l’attendu au-delà de la variation "
                "habituelle entre sites."
            )
        )
        return Msg(text)
    if above == 0 and below == 0:
        return Msg(
            N_(
                "Aucun des {n} sites représentés ne s’écarte de l’attendu au-delà de la variation habituelle entre "
                "sites : tous sont dans la norme."
            ),
            {"n": n},
        )
    rest = n - above - below
    above_part = (
        counted(above, N_("{n} fait mieux que l’attendu"), "{n} font mieux que l’attendu")
        if above
        else Msg(N_("aucun ne fait mieux que l’attendu"))
    )
    below_part = (
        counted(below, N_("{n} fait moins bien"), "{n} font moins bien")
        if below
        else Msg(N_("aucun ne fait moins bien"))
    )
    rest_part = (
        counted(rest, N_("l’autre est dans la norme"), "les {n} autres sont dans la norme")
        if rest
        else Msg(N_("aucun n’est dans la norme"))
    )
    return Msg(
        N_(
            "Parmi les {n} sites représentés, {above} et {below}, au-delà de la variation habituelle entre sites ; "
            "{rest}."
        ),
        {"n": n, "above": above_part, "below": below_part, "rest": rest_part},
    )


# --------------------------------------------------------------------------
# Region page
# --------------------------------------------------------------------------
RAW_ABOVE = N_(
    "Pour les jeunes entrés en {period}, {rate} des {n} sorties à l’issue connue sont positives (IC 95 % : {ci}), "
    "contre {nat} au niveau national : {gap} de plus, un écart plus grand que ce que le hasard expliquerait."
)
RAW_BELOW = N_(
    "Pour les jeunes entrés en {period}, {rate} des {n} sorties à l’issue connue sont positives (IC 95 % : {ci}), "
    "contre {nat} au niveau national : {gap} de moins, un écart plus grand que ce que le hasard expliquerait."
)
RAW_SAME = N_(
    "Pour les jeunes entrés en {period}, {rate} des {n} sorties à l’issue connue sont positives (IC 95 % : {ci}), "
    "contre {nat} au niveau national : l’écart ({gap}) est indiscernable du hasard, les deux intervalles se "
    "recoupent."
)
RAW_HIDDEN = N_(
    "Le taux de sorties positives de la région n’est pas publié (secret statistique ou issue inconnue pour trop "
    "de sorties) ; au niveau national, il est de {nat}."
)
RAW_WITHHELD = N_(
    "Le taux de sorties positives n’est pas publié : secret statistique, ou issue inconnue pour trop de sorties "
    "(voir l’alerte)."
)
NO_MODEL = N_("Pas de comparaison à profil égal : {reason}")
EXPECTED = N_(
    "Avec des jeunes du même profil à l’entrée (âge, sexe, niveau de formation, QPV…), le taux attendu d’après "
    "l’ensemble du pays serait de {expected}."
)
FAIR = {
    ("within", True): N_(
        "À profil égal, la région obtient {oe} fois les sorties positives attendues (rapport observé / attendu, "
        "limites à 95 % : {low} – {high}) : elle est dans la norme, l’écart brut avec le pays ne dépassant pas, "
        "une fois le profil pris en compte, la variation habituelle entre régions."
    ),
    ("within", False): N_(
        "À profil égal, la région obtient {oe} fois les sorties positives attendues (rapport observé / attendu, "
        "limites à 95 % : {low} – {high}) : elle est dans la norme, comme son taux brut le laissait voir."
    ),
    ("above", None): N_(
        "À profil égal, la région obtient {oe} fois les sorties positives attendues (rapport observé / attendu, "
        "limites à 95 % : {low} – {high}) : elle fait mieux que l’attendu, au-delà du hasard et de la variation "
        "habituelle entre régions."
    ),
    ("below", None): N_(
        "À profil égal, la région obtient {oe} fois les sorties positives attendues (rapport observé / attendu, "
        "limites à 95 % : {low} – {high}) : elle fait moins bien que l’attendu, au-delà du hasard et de la "
        "variation habituelle entre régions."
    ),
}
FAIR_HIDDEN = N_(
    "La comparaison à profil égal de la région n’est pas publiée (secret statistique : aucun chiffre sur moins de "
    "{min_cell} stagiaires ne doit pouvoir se déduire de la page)."
)
CAUTION = N_(
    "Ces chiffres décrivent les sorties ; ils ne mesurent pas l’effet propre de l’E2C : ce qui n’est pas "
    "enregistré à l’entrée (marché du travail local, motivation) peut aussi jouer."
)
CAUTION_SMALL = N_(
    "Avec {n} sorties à l’issue connue seulement, ces chiffres sont fragiles ; ils décrivent les sorties et ne "
    "mesurent pas l’effet propre de l’E2C."
)
SMALL_REGION = 200  # below this many known exits, the summary says the figures are fragile


def region_verdict(ctx) -> Verdict:
    """The region page's summary (``ctx``: a :class:`~toolkit.reports.region_content.RegionContext`)."""
    from .alert_content import alert_banner, alerts_of, skipped_reason

    rate = ctx.table("rates").iloc[0]
    nat = ctx.national.meta["national"]["rate"]
    builder, region = ctx.builder, ctx.region
    known = builder.count(ctx.key("known"), int(rate["n_known"]), "synthese/known")
    positive = builder.count(ctx.key("positive"), int(rate["n_positive"]), "synthese/positive")
    ratio = builder.ratio(positive, known, 1, "synthese/rate")
    nat_known = builder.count(CellKey.of("known"), int(nat["n_known"]), "synthese/national_known")
    nat_positive = builder.count(CellKey.of("positive"), int(nat["n_positive"]), "synthese/national_positive")
    nat_ratio = builder.ratio(nat_positive, nat_known, 1, "synthese/national_rate")
    nat_num = Num(nat["rate"], "pct", ratio=nat_ratio)
    items = [_raw_sentence(ctx, rate, nat, ratio, nat_num, known)]
    skipped = skipped_reason(ctx.national.meta)
    regions = ctx.national.region_comparison
    row = regions[regions["region"].astype("object") == region]
    if skipped:
        items.append(Msg(NO_MODEL, {"reason": skipped}))
    elif len(row):
        items += _fair_sentences(ctx, row.iloc[0], ratio)
    n_known = int(rate["n_known"])
    items.append(
        Msg(CAUTION_SMALL, {"n": Num(n_known, "int", key=known)}, fallback=Msg(CAUTION))
        if n_known < SMALL_REGION
        else Msg(CAUTION)
    )
    return Verdict(SUMMARY_TITLE, items, alert_banner(alerts_of(ctx.national.meta, region)))


def _raw_sentence(ctx, rate, nat, ratio, nat_num: Num, known: CellKey) -> Msg:
    r, low, high = float(rate["rate"]), float(rate["ci_low"]), float(rate["ci_high"])
    overlap = not (low > nat["ci_high"] or high < nat["ci_low"])
    text = RAW_SAME if overlap else RAW_ABOVE if r > nat["rate"] else RAW_BELOW
    return Msg(
        text,
        {
            "period": ctx.national.period.replace("-", "–"),
            "rate": Num(r, "pct", ratio=ratio),
            "n": Num(int(rate["n_known"]), "int", key=known),
            "ci": Num([r, low, high], "ci", ratio=ratio),
            "nat": nat_num,
            "gap": points(round(100 * r, 1) - round(100 * float(nat["rate"]), 1), ratio),  # the gap the reader sees
        },
        fallback=Msg(RAW_HIDDEN, {"nat": nat_num}, fallback=Msg(RAW_WITHHELD)),
    )


def _fair_sentences(ctx, row, rate_ratio) -> list[Msg]:
    builder, region = ctx.builder, ctx.region
    expected, n = float(row["expected"]), float(row["n"])
    oe = builder.ratio(CellKey.of("positive", region=region), expected, 2, f"regions/{region}/oe_ratio", scale=1.0)
    flag = str(row["flag95"])
    if flag not in ("within", "above", "below") or expected <= 0 or n <= 0:
        return []
    hidden = Msg(FAIR_HIDDEN, {"min_cell": ctx.min_cell})
    raw = ctx.table("rates").iloc[0]
    nat = ctx.national.meta["national"]["rate"]
    raw_differs = raw["ci_low"] > nat["ci_high"] or raw["ci_high"] < nat["ci_low"]
    text = FAIR[(flag, bool(raw_differs))] if flag == "within" else FAIR[(flag, None)]
    fair = Msg(
        text,
        {
            "oe": Num(float(row["oe_ratio"]), "number", 2, ratio=oe),
            "low": Num(float(row["lower95"]), "number", 2),
            "high": Num(float(row["upper95"]), "number", 2),
        },
        fallback=hidden,
    )
    expected_rate = Msg(EXPECTED, {"expected": Num(expected / n, "pct")}, requires=(oe, rate_ratio), fallback=None)
    return [expected_rate, fair]


# --------------------------------------------------------------------------
# Index page
# --------------------------------------------------------------------------
NATIONAL = N_(
    "Pour les jeunes entrés en {period}, {rate} des {n} sorties à l’issue connue sont positives au niveau national "
    "(IC 95 % : {ci}), de {low} à {high} selon les régions en taux brut."
)
NATIONAL_SHORT = N_(
    "Pour les jeunes entrés en {period}, {rate} des {n} sorties à l’issue connue sont positives au niveau national "
    "(IC 95 % : {ci})."
)
REGIONS = N_("À profil de stagiaires égal, sur {total} régions comparées : {within} ; {above} ; {below}.")
REGIONS_HIDDEN = N_(
    "À profil de stagiaires égal, le détail des régions est dans le tableau ci-dessous (certaines valeurs sont "
    "masquées par le secret statistique)."
)
INDEX_CAUTION = N_(
    "Une partie des écarts de taux brut entre régions tient au profil des jeunes accueillis ; la comparaison à "
    "profil égal en tient compte, pas de ce qui n’est pas enregistré à l’entrée. Ce n’est pas un classement."
)


def _names(names: list[str]) -> str:
    return ", ".join(names)


def index_verdict(
    national, builder: PageBuilder, figure: FigureData | None, table, skipped: str | None = None
) -> Verdict:
    """The index's summary: the national rate, the regions above / below the expected, the regions table."""
    nat = national.meta["national"]["rate"]
    known = builder.count(CellKey.of("known"), int(nat["n_known"]), "synthese/known")
    positive = builder.count(CellKey.of("positive"), int(nat["n_positive"]), "synthese/positive")
    ratio = builder.ratio(positive, known, 1, "synthese/rate")
    args = {
        "period": national.period.replace("-", "–"),
        "rate": Num(nat["rate"], "pct", ratio=ratio),
        "n": Num(int(nat["n_known"]), "int", key=known),
        "ci": Num([nat["rate"], nat["ci_low"], nat["ci_high"]], "ci", ratio=ratio),
    }
    short = Msg(NATIONAL_SHORT, args, fallback=Msg(RAW_WITHHELD))
    rates = table.data
    shown = [i for i, r in enumerate(table.ratios.get("rate", [])) if r is not None and pd.notna(rates["rate"].iat[i])]
    if shown:  # the spread of the regions' raw rates, when every one of them is published
        values = rates["rate"].iloc[shown].astype(float)
        spread = {"low": Num(values.min(), "pct"), "high": Num(values.max(), "pct")}
        requires = tuple(table.ratios["rate"][i] for i in shown)
        items = [Msg(NATIONAL, args | spread, requires=requires, fallback=short)]
    else:
        items = [short]
    if skipped:
        items.append(Msg(NO_MODEL, {"reason": skipped}))
    elif figure is not None:
        sentence = _regions_sentence(figure, builder.min_cell)
        if sentence is not None:
            items.append(sentence)
    items.append(Msg(INDEX_CAUTION))
    return Verdict(Msg(N_("Synthèse nationale")), items, [table])


def _regions_sentence(figure: FigureData, min_cell: int) -> Msg | None:
    points_ = figure.points.reset_index(drop=True)
    ok = oe_publishable(points_["n"], points_["observed"], min_cell) & points_["oe_ratio"].notna().to_numpy()
    if not ok.any():
        return None
    flags = points_["flag95"].astype(str).to_numpy()
    order = {r: i for i, r in enumerate(schema.REGION_NAMES)}
    names = {
        flag: sorted((str(r) for r in points_.loc[ok & (flags == flag), "region"]), key=lambda r: order.get(r, 99))
        for flag in ("above", "below")
    }
    total, within = int(ok.sum()), int((ok & (flags == "within")).sum())
    requires = tuple(k for k, shown in zip(figure.keys, ok) if shown and k is not None)
    if within == total:
        return Msg(
            N_(
                "À profil de stagiaires égal, les {n} régions comparées sont toutes dans la norme : aucune ne "
                "s’écarte de l’attendu au-delà du hasard et de la variation habituelle entre régions."
            ),
            {"n": total},
            requires=requires,
            fallback=Msg(REGIONS_HIDDEN),
        )
    within_part = (
        counted(within, N_("{n} est dans la norme"), "{n} sont dans la norme")
        if within
        else Msg(N_("aucune n’est dans la norme"))
    )
    above_part = (
        counted(
            len(names["above"]),
            N_("{n} au-dessus de l’attendu ({names})"),
            "{n} au-dessus de l’attendu ({names})",
            names=_names(names["above"]),
        )
        if names["above"]
        else Msg(N_("aucune au-dessus de l’attendu"))
    )
    below_part = (
        counted(
            len(names["below"]),
            N_("{n} en dessous ({names})"),
            "{n} en dessous ({names})",
            names=_names(names["below"]),
        )
        if names["below"]
        else Msg(N_("aucune en dessous"))
    )
    return Msg(
        REGIONS,
        {"total": total, "within": within_part, "above": above_part, "below": below_part},
        requires=requires,
        fallback=Msg(REGIONS_HIDDEN),
    )


def regions_summary_columns() -> list[Column]:
    """The index's table of regions: exits of known outcome, raw rate with its interval, O/E, reading, report."""
    return [
        Column("label", Msg(N_("Région")), "label"),
        Column("n", Msg(N_("Sorties à l’issue connue")), "int"),
        Column("rate", Msg(N_("Taux brut [IC 95 %]")), "rate_ci"),
        Column("oe_ratio", Msg(N_("Rapport O/A (à profil égal)")), "number", 2),
        Column("limits", Msg(N_("Limites à 95 %")), "limits", 2, pair=("lower95", "upper95"), follows="oe_ratio"),
        Column("reading", Msg(N_("Lecture")), "msg", follows="oe_ratio"),
        Column("region", Msg(N_("Rapport")), "link"),
    ]


__all__ += ["regions_summary_columns", "plural_count", "counted"]
