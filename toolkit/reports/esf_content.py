"""A region's ESF+ section as content, and the CSV a managing authority loads.

The section covers the ESF co-funded parcours of the region (every trainee when the export does not
say which parcours are co-funded, and the page says so), one table per calendar year: outputs (EECO)
counted in the year of entry, immediate results (EECR) in the year of exit. It states each indicator's
definition and timing in the wording of Regulation (EU) 2021/1057, Annex I, and why EECR04 differs from
the exits to a job plus those to work-study (:func:`toolkit.esf_filing.eecr04_reconciliation`).

Every count is registered with the page's :class:`~toolkit.reports.builder.PageBuilder`; its cell key
names the population (``esf:<code>``), the region, the sex, the year (``cohort_year`` for outputs,
``exit_year`` for immediate results) and, for a co-funded scope, ``esf_cofunded``, so that disclosure
control knows exactly which trainees each cell counts. :func:`write_region_esf_csv` writes the same
cells beside the page, hidden exactly where the publication hides them.

Codes not yet confirmed against a managing authority's list are flagged in :mod:`toolkit.esf`
(``code_confirmed``) for developers; that note never reaches a page or the CSV.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from ..disclosure import CellKey
from ..esf import ESF_INDICATORS
from ..esf_filing import _TIMING, EECR04_STEPS, REGULATION_WORDING
from ..i18n import N_
from ..schema import REGION_BY_NAME
from .builder import code_text
from .content import Code, Column, Heading, Link, Msg, Num, Page, Section
from .region_content import SECTION_TITLES, RegionContext
from .words import Words
from .workspace import write_atomic

__all__ = ["esf_section", "esf_csv_name", "esf_csv_frame", "write_region_esf_csv", "CSV_COLUMNS"]

CSV_COLUMNS = ["code", "indicator", "year", "women", "men", "total"]
_SEXES = {"women": "F", "men": "M", "sex_unknown": "NA", "total": None}
_YEAR_FILTER = {"output": "cohort_year", "immediate_result": "exit_year"}
_STEP_LABELS = {
    "both": N_("Emploi + Alternance"),
    "outside_scope": N_("dont hors périmètre FSE+"),
    "reason_unknown": N_("dont motif de sortie inconnu"),
    "late_start": N_("dont situation commencée après 28 jours"),
    "eecr04": N_("dont EECR04"),
}


def esf_csv_name(region: str) -> str:
    """The CSV's file name beside the region's page: ``<region-slug>-fse.csv``."""
    return f"{REGION_BY_NAME[region].slug}-fse.csv"


def _scope(ctx: RegionContext) -> dict:
    table = ctx.table("esf_scope")
    if len(table) == 0:
        return {"scope": "all", "n_trainees": 0, "n_cofunded": 0, "n_cofunding_unknown": 0}
    return table.iloc[0].to_dict()


def _key(ctx: RegionContext, population: str, **where: object) -> CellKey:
    """A cell of the region; ``None`` filters are left out (``ctx.key`` would write them ``NA``)."""
    return CellKey.of(population, region=ctx.region, **{k: v for k, v in where.items() if v is not None})


def _num(ctx: RegionContext, key: CellKey, value: int, where: str) -> Num:
    """A count quoted in a sentence, registered with the page's builder."""
    return Num(int(value), "int", key=ctx.builder.count(key, int(value), f"esf/{where}"))


def _cofunded_filter(info: dict) -> str | None:
    return "True" if info["scope"] == "esf_cofunded" else None


def _scope_blocks(ctx: RegionContext, info: dict) -> list:
    entries = _num(ctx, _key(ctx, "entries"), info["n_trainees"], "scope/entries")
    if info["scope"] != "esf_cofunded":
        return [
            Msg(
                N_(
                    "L’export ne dit pas quels parcours sont cofinancés par le FSE+ (colonne « cofinancement_fse » "
                    "absente ou jamais renseignée pour la région) : les indicateurs comptent tous les stagiaires de "
                    "la région, {n}."
                ),
                {"n": entries},
                fallback=Msg(
                    N_(
                        "L’export ne dit pas quels parcours sont cofinancés par le FSE+ : les indicateurs comptent "
                        "tous les stagiaires de la région."
                    )
                ),
            )
        ]
    rows = [
        ("n_trainees", N_("Stagiaires de la région"), None),
        ("n_cofunded", N_("dont parcours cofinancés par le FSE+"), "True"),
        ("n_not_cofunded", N_("dont parcours non cofinancés"), "False"),
        ("n_cofunding_unknown", N_("dont cofinancement non renseigné"), "NA"),
    ]
    nothing_to_file = int(info["n_cofunded"]) == 0
    if nothing_to_file:  # no indicator: the split of the rest would only pin the entrants (publish less)
        rows = rows[:2]
    counts = {**info, "n_not_cofunded": info["n_trainees"] - info["n_cofunded"] - info["n_cofunding_unknown"]}
    keys = [_key(ctx, "entries", esf_cofunded=flag) for _name, _label, flag in rows]
    table = ctx.builder.table(
        "esf_scope",
        Msg(N_("Périmètre des indicateurs FSE+ ({region})"), {"region": ctx.region}),
        [
            Column("label", Msg(N_("Stagiaires entrés sur la période")), "label"),
            Column("n", Msg(N_("Effectif")), "int"),
        ],
        pd.DataFrame({"label": [Msg(label) for _n, label, _f in rows], "n": [int(counts[n]) for n, _l, _f in rows]}),
        keys={"n": keys},
        protection={"counts": ["n"], "rows_additive": not nothing_to_file, "total_row": 0},
    )
    n = {name: Num(int(counts[name]), "int", key=key) for (name, _label, _flag), key in zip(rows, keys)}
    blocks = [
        Msg(
            N_("Les indicateurs comptent les parcours cofinancés par le FSE+ : {k} sur {n} stagiaires de la région."),
            {"k": n["n_cofunded"], "n": n["n_trainees"]},
            fallback=Msg(N_("Les indicateurs comptent les seuls parcours cofinancés par le FSE+.")),
        )
    ]
    if int(info["n_cofunding_unknown"]) and not nothing_to_file:
        blocks.append(
            Msg(
                N_("Cofinancement non renseigné : {u} parcours, laissés hors des indicateurs."),
                {"u": n["n_cofunding_unknown"]},
                fallback=Msg(N_("Les parcours dont le cofinancement n’est pas renseigné sont laissés de côté.")),
            )
        )
    return [*blocks, table]


def _year_table(ctx: RegionContext, year: int, part: pd.DataFrame, cofunded: str | None):
    part = part.reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "label": part["code"].astype(str).to_numpy(dtype=object),
            "code": part["code"].astype(str).to_numpy(dtype=object),
            "year": int(year),
            "indicator": [Msg(REGULATION_WORDING[c]) for c in part["code"]],
            **{c: part[c].astype(int).to_numpy() for c in _SEXES},
        }
    )
    with_unknown = bool((frame["sex_unknown"] > 0).any())
    counts = list(_SEXES) if with_unknown else ["women", "men", "total"]
    columns = [
        Column("label", Msg(N_("Code")), "label"),
        Column("indicator", Msg(N_("Indicateur (règlement (UE) 2021/1057, annexe I)")), "text"),
        Column("women", Msg(N_("Femmes")), "int"),
        Column("men", Msg(N_("Hommes")), "int"),
    ]
    if with_unknown:
        columns.append(Column("sex_unknown", Msg(N_("Sexe non renseigné")), "int"))
    columns.append(Column("total", Msg(N_("Total")), "int"))

    def key(code: str, kind: str, sex: str | None):
        return _key(ctx, f"esf:{code}", sex=sex, esf_cofunded=cofunded, **{_YEAR_FILTER[kind]: code_text(year)})

    return ctx.builder.table(
        f"esf_{year}",
        Msg(N_("Indicateurs FSE+ {year} ({region})"), {"year": str(year), "region": ctx.region}),
        columns,
        frame,
        keys={c: [key(code, kind, _SEXES[c]) for code, kind in zip(part["code"], part["kind"])] for c in counts},
        note=Msg(
            N_("EECO : participants entrés en {year} ; EECR : participants sortis en {year}. {non_binary}"),
            {"year": str(year), "non_binary": Code("__esf_note__", None)},
        ),
        protection={"counts": counts, "rows_additive": False, "cols_additive": True, "total_col": "total"},
    )


def _definitions_table(ctx: RegionContext):
    rows = [
        {
            "label": i.code,
            "indicator": Msg(REGULATION_WORDING[i.code]),
            "timing": Msg(_TIMING[i.kind]),
            "definition": Msg(i.definition),
        }
        for i in ESF_INDICATORS
    ]
    return ctx.builder.table(
        "esf_definitions",
        Msg(N_("Définition et moment d’observation de chaque indicateur")),
        [
            Column("label", Msg(N_("Code")), "label"),
            Column("indicator", Msg(N_("Intitulé du règlement")), "text"),
            Column("timing", Msg(N_("Moment d’observation et année de comptage")), "text"),
            Column("definition", Msg(N_("Calcul à partir de l’export des écoles")), "text"),
        ],
        pd.DataFrame(rows),
        note=Msg(
            N_(
                "Résultats immédiats : situation au terme de la participation, c’est-à-dire commencée dans les "
                "quatre semaines (28 jours) qui suivent la sortie ; EECR01, EECR02 et EECR04 s’excluent : "
                "chaque participant sorti compte au plus dans l’un d’eux."
            )
        ),
    )


def _eecr04_blocks(ctx: RegionContext, info: dict) -> list:
    years = ctx.table("esf_eecr04").sort_values("year").reset_index(drop=True)
    if years.empty:
        return []
    steps = ["both", *EECR04_STEPS]
    if info["scope"] != "esf_cofunded":  # every trainee is in scope: no parcours outside it
        steps.remove("outside_scope")
    total = years[steps].sum().to_frame().T.assign(year=None)
    data = pd.concat([years[["year", *steps]], total], ignore_index=True)
    data.insert(0, "label", [str(int(y)) for y in years["year"]] + [Msg(N_("Toutes années"))])
    cofunded = _cofunded_filter(info)
    both = _key(ctx, "exits", exit_category=("job", "work_study"))

    def key(step: str, year) -> CellKey:
        year_filter = {} if pd.isna(year) else {"exit_year": code_text(int(year))}
        if step == "eecr04":  # the same cell as the year tables' EECR04 total, and the sum of them
            return _key(ctx, "esf:EECR04", esf_cofunded=cofunded, **year_filter)
        return both.refine(**year_filter) if step == "both" else both.refine(esf_eecr04_step=step, **year_filter)

    table = ctx.builder.table(
        "esf_eecr04",
        Msg(
            N_("Des sorties vers l’emploi à l’indicateur EECR04, par année de sortie ({region})"),
            {"region": ctx.region},
        ),
        [
            Column("label", Msg(N_("Année de sortie")), "label"),
            *(Column(s, Msg(_STEP_LABELS[s]), "int") for s in steps),
        ],
        data,
        keys={s: [key(s, y) for y in data["year"]] for s in steps},
        note=Msg(N_("Chaque ligne : Emploi + Alternance = hors périmètre + motif inconnu + après 28 jours + EECR04.")),
        protection={
            "counts": steps,
            "rows_additive": True,
            "total_row": len(data) - 1,
            "cols_additive": True,
            "total_col": "both",
        },
    )
    mix = dict(zip(ctx.table("mix")["category"].astype(str), ctx.table("mix")["n"].astype(int)))
    reading = Msg(
        N_(
            "EECR04 n’est pas la somme des sorties « Emploi » ({job}) et « Alternance » ({work_study}) du "
            "tableau des sorties : il ne compte que les parcours du périmètre FSE+, dont le motif de sortie est "
            "connu, et dont la situation a commencé au plus 28 jours après la sortie."
        ),
        {c: _num(ctx, _key(ctx, f"category:{c}"), mix.get(c, 0), f"eecr04/{c}") for c in ("job", "work_study")},
        fallback=Msg(
            N_(
                "EECR04 n’est pas la somme des sorties « Emploi » et « Alternance » du tableau des sorties : il ne "
                "compte que les parcours du périmètre FSE+, dont le motif de sortie est connu, et dont la situation "
                "a commencé au plus 28 jours après la sortie."
            )
        ),
    )
    return [Heading(Msg(N_("Pourquoi EECR04 diffère des sorties vers l’emploi")), "esf-eecr04", 3), reading, table]


def esf_section(ctx: RegionContext) -> Section:
    """The region's ESF+ section: scope, a link to the CSV, one table per year, definitions, EECR04."""
    info = _scope(ctx)
    years = ctx.table("esf_years")
    blocks: list = [
        Heading(SECTION_TITLES["esf"], "esf"),
        Msg(
            N_(
                "Indicateurs communs des participants du règlement (UE) 2021/1057 (annexe I) que les exports "
                "permettent de calculer, par année civile : les réalisations (codes EECO) comptent les participants "
                "l’année de leur entrée, les résultats immédiats (codes EECR) l’année de leur sortie. La période "
                "porte sur les stagiaires entrés en {period} ; leurs sorties comptent l’année où elles ont lieu."
            ),
            {"period": ctx.national.period.replace("-", "–")},
        ),
        *_scope_blocks(ctx, info),
        Link(
            esf_csv_name(ctx.region),
            Msg(N_("Télécharger ces indicateurs au format CSV")),
            Msg(
                N_(
                    "(une ligne par indicateur et par année : code, intitulé, année, femmes, hommes, total ; "
                    "UTF-8, séparateur virgule ; mêmes cellules masquées que sur cette page)"
                )
            ),
        ),
    ]
    cofunded = _cofunded_filter(info)
    if cofunded is not None and int(info["n_cofunded"]) == 0:  # a published zero: nothing to file
        blocks.append(
            Msg(
                N_(
                    "Aucun parcours de la région n’est cofinancé par le FSE+ sur la période : il n’y a pas "
                    "d’indicateur à déclarer, et le fichier CSV ne contient que son en-tête."
                ),
                role="reading",
            )
        )
    for year, part in years.groupby("year", sort=True):
        blocks.append(_year_table(ctx, int(year), part, cofunded))
    blocks += [
        Heading(Msg(N_("Définitions")), "esf-definitions", 3),
        _definitions_table(ctx),
        *_eecr04_blocks(ctx, info),
    ]
    return Section("esf", blocks)


# --------------------------------------------------------------------------
# The CSV beside the page
# --------------------------------------------------------------------------
def _esf_year_tables(page: Page) -> list:
    return [t for t in page.section("esf").tables() if t.id.startswith("esf_") and t.id[4:].isdigit()]


def esf_csv_frame(page: Page, publication) -> pd.DataFrame:
    """The page's ESF+ tables as the CSV's rows: one per indicator and year, ``CSV_COLUMNS``, counts as
    text; a cell the publication hides carries the page's marker (never re-derived here)."""
    words = Words(publication, publication.min_cell)
    rows = []
    for table in _esf_year_tables(page):
        data = table.data
        for i in range(len(data)):
            row = {"code": str(data["code"].iat[i]), "indicator": words.text(data["indicator"].iat[i])}
            row["year"] = int(data["year"].iat[i])
            for column in ("women", "men", "total"):
                value = int(data[column].iat[i])
                key = table.keys[column][i]
                row[column] = words.marker(value, True) if words.hidden(key) else str(value)
            rows.append(row)
    out = pd.DataFrame(rows, columns=CSV_COLUMNS)
    order = {i.code: k for k, i in enumerate(ESF_INDICATORS)}
    return out.sort_values(["code", "year"], key=lambda c: c.map(order) if c.name == "code" else c, kind="stable")


def write_region_esf_csv(page_or_national, region: str, out_dir: str | Path, publication=None) -> Path | None:
    """Write ``<region-slug>-fse.csv`` beside the region's page (atomically) and return its path.

    ``page_or_national``: the region's :class:`~toolkit.reports.content.Page`, or the batch's
    :class:`~toolkit.reports.national.NationalWork` whose ``content`` holds every page and the
    publication. ``publication``: the batch's hidden cells (default: the national content's). Texts
    in the current language. Returns None when the region has no page (too few trainees).
    """
    page = page_or_national
    if not isinstance(page, Page):
        content = page_or_national.content
        publication = publication if publication is not None else content.publication
        page = content.pages.get(region)
        if page is None:
            return None
    if publication is None:
        raise TypeError("write_region_esf_csv: give the publication with a page")
    buffer = io.StringIO()
    esf_csv_frame(page, publication).to_csv(buffer, index=False, lineterminator="\n")
    path = Path(out_dir) / esf_csv_name(region)
    write_atomic(path, buffer.getvalue().encode("utf-8"))
    return path
