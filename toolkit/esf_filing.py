"""ESF+ indicators as a managing authority files them: the ESF co-funded parcours, per calendar year,
each indicator with the Regulation's wording and timing, small counts suppressed, and a CSV to load.

Scope
-----
The indicators cover the parcours flagged as ESF/ESF+ co-funded (canonical column ``esf_cofunded``, read
from ``cofinancement_fse`` in the export). When the column is absent, or never filled in, every E2C
trainee is counted and the table says so (``attrs["scope"] == "all"``, ``attrs["scope_is_fallback"]``).
Parcours whose co-funding flag is not filled in are left out of a co-funded scope and counted
(``attrs["n_cofunding_unknown"]``).

Years
-----
Outputs (EECO…) are counted in the calendar year of **entry** (``entry_date``); immediate results
(EECR…) in the calendar year of **exit** (``exit_date``), among the participants of the scope who left
that year. Immediate results are situations that start "upon leaving", which Annex I of Regulation
(EU) 2021/1057 sets at four weeks (28 days) after leaving the operation.

Codes
-----
The codes of :data:`toolkit.esf.ESF_INDICATORS` marked ``code_confirmed = False`` must be checked
against the managing authority's list before filing. That note is for developers and is never part of
a page or of the CSV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .config import DEFAULT_MIN_CELL
from .disclosure import suppress_counts, suppression_marker
from .errors import SchemaError
from .esf import ESF_INDICATORS, _esf_indicators
from .i18n import N_, _, ngettext
from .indicators import _is_in

__all__ = [
    "REGULATION_WORDING",
    "esf_scope",
    "esf_by_year",
    "esf_filing_table",
    "write_esf_csv",
    "eecr04_reconciliation",
    "esf_scope_sentence",
    "esf_frame_columns",
    "esf_regional_tables",
    "EECR04_STEPS",
]

# code -> the indicator's name in Annex I of Regulation (EU) 2021/1057 (French version as source; the
# English catalogue gives the English version).
REGULATION_WORDING: dict[str, str] = {
    "EECO01": N_("Nombre total de participants"),
    "EECO06": N_("Participants âgés de moins de 18 ans"),
    "EECO07": N_("Participants âgés de 18 à 29 ans"),
    "EECO09": N_(
        "Participants titulaires au plus d'un diplôme du premier cycle de l'enseignement secondaire (CITE 0 à 2)"
    ),
    "EECO10": N_(
        "Participants titulaires d'un diplôme du deuxième cycle de l'enseignement secondaire (CITE 3) ou de "
        "l'enseignement post-secondaire non supérieur (CITE 4)"
    ),
    "EECO11": N_("Participants titulaires d'un diplôme de l'enseignement supérieur (CITE 5 à 8)"),
    "EECO12": N_("Participants handicapés"),
    "EECO13": N_("Ressortissants de pays tiers"),
    "EECO17": N_("Participants issus de zones rurales"),
    "EECR01": N_("Participants à la recherche d'un emploi au terme de leur participation"),
    "EECR02": N_("Participants suivant un enseignement ou une formation au terme de leur participation"),
    "EECR04": N_("Participants exerçant un emploi, y compris à titre indépendant, au terme de leur participation"),
}

_TIMING = {
    "output": N_("À l'entrée dans l'opération ; compté l'année civile d'entrée."),
    "immediate_result": N_(
        "Au terme de la participation, c'est-à-dire dans les quatre semaines (28 jours) qui suivent la sortie "
        "de l'opération ; compté l'année civile de sortie."
    ),
}


def esf_scope(data: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The participants the ESF+ tables cover, and how they were chosen.

    Returns
    -------
    (DataFrame, dict)
        The rows of the scope (E2C trainees; ESF co-funded parcours when the flag is recorded), and
        ``scope`` ("esf_cofunded" or "all"), ``scope_is_fallback`` (True when the flag is absent or
        never filled in, so every trainee is counted), ``n_trainees``, ``n_cofunded``,
        ``n_cofunding_unknown`` (flag not filled in: left out of a co-funded scope).
    """
    keep = np.ones(len(data), dtype=bool)
    if "group" in data.columns:
        keep &= data["group"].isna().to_numpy() | _is_in(data["group"], ["e2c"])
    trainees = data.loc[keep]
    flag = trainees["esf_cofunded"].astype("boolean") if "esf_cofunded" in trainees.columns else None
    if flag is None or flag.isna().all():
        info = {"scope": "all", "scope_is_fallback": True, "n_cofunded": None, "n_cofunding_unknown": None}
        return trainees, {**info, "n_trainees": len(trainees)}
    cofunded = flag.fillna(False).to_numpy(dtype=bool)
    info = {
        "scope": "esf_cofunded",
        "scope_is_fallback": False,
        "n_trainees": len(trainees),
        "n_cofunded": int(cofunded.sum()),
        "n_cofunding_unknown": int(flag.isna().sum()),
    }
    return trainees.loc[cofunded], info


def esf_scope_sentence(info: dict) -> str:
    """One sentence for the page: who the ESF+ tables count."""
    from .formatting import fmt_int

    if info["scope_is_fallback"]:
        return _(
            "L'export ne dit pas quels parcours sont cofinancés par le FSE+ : les indicateurs comptent tous "
            "les stagiaires ({n}).",
            n=fmt_int(info["n_trainees"]),
        )
    text = ngettext(
        "Les indicateurs comptent {k} parcours cofinancé par le FSE+ (sur {total}).",
        "Les indicateurs comptent les {k} parcours cofinancés par le FSE+ (sur {total}).",
        info["n_cofunded"],
        k=fmt_int(info["n_cofunded"]),
        total=ngettext("{k} stagiaire E2C", "{k} stagiaires E2C", info["n_trainees"], k=fmt_int(info["n_trainees"])),
    )
    if info["n_cofunding_unknown"]:
        text += " " + ngettext(
            "Cofinancement non renseigné pour {u} parcours, laissé de côté.",
            "Cofinancement non renseigné pour {u} parcours, laissés de côté.",
            info["n_cofunding_unknown"],
            u=fmt_int(info["n_cofunding_unknown"]),
        )
    return text


def esf_by_year(data: pd.DataFrame, *, within_days: int = 28) -> pd.DataFrame:
    """ESF+ indicators per calendar year: outputs by year of entry, immediate results by year of exit.

    Returns
    -------
    DataFrame
        One row per (year, indicator), years ascending, outputs first: ``year``, ``code``, ``kind``,
        ``indicator`` (the toolkit's short name), ``regulation`` (Annex I wording), ``timing`` (when the
        situation is observed and which year it counts in), ``women``, ``men``, ``sex_unknown``,
        ``total``, ``unknown`` (characteristic not recorded), ``n_base``, ``definition`` (how the count is
        made from the export), all texts in the current language. ``attrs``: the :func:`esf_scope`
        information and ``n_no_entry_date`` (participants without an entry date, in no output year).
    """
    for column in ("entry_date", "exit_date"):
        if column not in data.columns:
            raise SchemaError(
                _(
                    "esf_by_year : colonne canonique {column!r} absente ; elle date les indicateurs FSE+. "
                    "Nettoyez l'export avec clean_export.",
                    column=column,
                )
            )
    participants, info = esf_scope(data)
    entry_year = pd.to_datetime(participants["entry_date"]).dt.year
    exit_year = pd.to_datetime(participants["exit_date"]).dt.year
    frames = []
    for year in sorted(set(entry_year.dropna().astype(int)) | set(exit_year.dropna().astype(int))):
        outputs = _esf_indicators(participants.loc[(entry_year == year).to_numpy()], "all", within_days)
        results = _esf_indicators(participants.loc[(exit_year == year).to_numpy()], "all", within_days)
        table = pd.concat(
            [outputs[outputs["kind"] == "output"], results[results["kind"] == "immediate_result"]], ignore_index=True
        )
        table.insert(0, "year", year)
        frames.append(table)
    columns = ["year", "code", "kind", "indicator", "women", "men", "sex_unknown", "total", "unknown", "n_base"]
    if not frames:
        out = pd.DataFrame(columns=[*columns, "regulation", "timing", "definition"])
    else:
        out = pd.concat(frames, ignore_index=True)[[*columns, "definition"]]
        out.insert(4, "regulation", out["code"].map(lambda c: _(REGULATION_WORDING[c])))
        out.insert(5, "timing", out["kind"].map(lambda k: _(_TIMING[k])))
    out.attrs.update(info, n_no_entry_date=int(entry_year.isna().sum()), within_days=within_days)
    return out


_AGE_BLOCK = ("EECO06", "EECO07")
_ISCED_BLOCK = ("EECO09", "EECO10", "EECO11")
_COUNTS = ["women", "men", "total"]


def _suppress_year(year_table: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Hidden mask (code x women/men/total) for one year.

    Women + men make the total (sex not recorded only adds to it, which errs on the safe side); the age
    bands and the ISCED levels add up to EECO01 when nobody falls outside them, and then a hidden cell
    cannot be recovered from EECO01 either. Cells hidden in one block are unknown to the others, and the
    blocks run again until nothing changes.
    """
    table = year_table.set_index("code")[_COUNTS].astype(float)
    hidden = pd.DataFrame(False, index=table.index, columns=_COUNTS)
    eeco01 = table.loc["EECO01", _COUNTS] if "EECO01" in table.index else None
    blocks = [(_AGE_BLOCK, True), (_ISCED_BLOCK, True)]
    blocks += [((code,), False) for code in table.index if code not in (*_AGE_BLOCK, *_ISCED_BLOCK)]
    while True:
        before = hidden.to_numpy().copy()
        for codes, partition in blocks:
            codes = [c for c in codes if c in table.index]
            block = table.loc[codes, _COUNTS].copy()
            total_row = None
            # the bands add up to EECO01 when nobody falls outside them (unknown characteristic included):
            # then EECO01 joins the block as its total row
            if partition and eeco01 is not None and ((eeco01 - block.sum()) == 0).all():
                block.loc["EECO01"] = eeco01
                total_row = "EECO01"
            known = hidden.reindex(block.index, fill_value=False)
            block = block.mask(known.to_numpy())
            result = suppress_counts(
                block,
                _COUNTS,
                min_cell,
                rows_additive=total_row is not None,
                cols_additive=True,
                total_row=total_row,
                total_col="total",
            )
            mask = result.suppressed[_COUNTS]
            hidden.loc[mask.index] |= mask.to_numpy()
        if (hidden.to_numpy() == before).all():
            return hidden


def esf_filing_table(data: pd.DataFrame, *, min_cell: int = DEFAULT_MIN_CELL, within_days: int = 28) -> pd.DataFrame:
    """The table a managing authority loads: one row per (indicator, year), suppression applied.

    Returns
    -------
    DataFrame
        Columns ``code``, ``indicator`` (Annex I wording), ``year``, ``women``, ``men``, ``total``:
        counts as text, a suppressed count replaced by the marker (``"< 11"``). ``attrs``: the
        :func:`esf_by_year` attributes plus ``min_cell`` and ``n_suppressed``.
    """
    by_year = esf_by_year(data, within_days=within_days)
    marker = suppression_marker(min_cell)
    rows = []
    n_suppressed = 0
    for _year, year_table in by_year.groupby("year", sort=True):
        hidden = _suppress_year(year_table, min_cell)
        n_suppressed += int(hidden.to_numpy().sum())
        for record in year_table.itertuples(index=False):
            row = {"code": record.code, "indicator": record.regulation, "year": int(record.year)}
            for column in _COUNTS:
                row[column] = marker if hidden.loc[record.code, column] else str(int(getattr(record, column)))
            rows.append(row)
    out = pd.DataFrame(rows, columns=["code", "indicator", "year", *_COUNTS])
    out = out.sort_values(["code", "year"], kind="stable", key=_code_order).reset_index(drop=True)
    out.attrs.update(by_year.attrs, min_cell=min_cell, n_suppressed=n_suppressed)
    return out


def _code_order(column: pd.Series) -> pd.Series:
    if column.name != "code":
        return column
    order = {indicator.code: i for i, indicator in enumerate(ESF_INDICATORS)}
    return column.map(order)


def write_esf_csv(
    data: pd.DataFrame, path: str | Path, *, min_cell: int = DEFAULT_MIN_CELL, within_days: int = 28
) -> Path:
    """Write :func:`esf_filing_table` as a UTF-8 CSV (comma-separated, header ``code,indicator,year,women,
    men,total``) and return its path. Only aggregated, suppressed counts are written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    esf_filing_table(data, min_cell=min_cell, within_days=within_days).to_csv(path, index=False, encoding="utf-8")
    return path


def eecr04_reconciliation(data: pd.DataFrame, *, within_days: int = 28) -> pd.DataFrame:
    """Why EECR04 differs from the exits to "Emploi" plus "Alternance": the steps from one to the other.

    Returns
    -------
    DataFrame
        ``step`` (machine name), ``label`` (current language) and ``count``: exits to a job and to
        work-study of E2C trainees, minus those outside the ESF+ scope, minus those whose exit reason is
        not known, minus those whose situation started more than ``within_days`` days after leaving,
        which leaves EECR04 (all years together; :func:`esf_by_year` splits it by year of exit).
    """
    participants, info = esf_scope(data)
    everyone = data
    if "group" in data.columns:
        everyone = data.loc[data["group"].isna().to_numpy() | _is_in(data["group"], ["e2c"])]
    left = everyone["exit_date"].notna().to_numpy()
    job = left & _is_in(everyone["exit_category"], ["job"])
    work_study = left & _is_in(everyone["exit_category"], ["work_study"])
    in_scope = everyone.index.isin(participants.index)
    reason_unknown = everyone["exit_reason"].isna().to_numpy() | _is_in(everyone["exit_reason"], ["inconnu"])
    start = pd.to_datetime(everyone["outcome_start"])
    late = (start > pd.to_datetime(everyone["exit_date"]) + pd.Timedelta(days=within_days)).to_numpy()
    both = job | work_study
    steps = [
        ("job", N_("Sorties vers un emploi (catégorie « Emploi »)"), int(job.sum())),
        ("work_study", N_("Sorties en alternance (catégorie « Alternance »)"), int(work_study.sum())),
        ("outside_scope", N_("moins : parcours non cofinancés par le FSE+"), -int((both & ~in_scope).sum())),
        ("reason_unknown", N_("moins : motif de sortie inconnu"), -int((both & in_scope & reason_unknown).sum())),
        (
            "late_start",
            N_("moins : situation commencée plus de {days} jours après la sortie"),
            -int((both & in_scope & ~reason_unknown & late).sum()),
        ),
        ("eecr04", N_("EECR04 : en emploi, y compris indépendant, au terme de la participation"), 0),
    ]
    table = pd.DataFrame(steps, columns=["step", "label", "count"])
    table.loc[table.index[-1], "count"] = int(table["count"].iloc[:-1].sum())
    table["label"] = table["label"].map(lambda label: _(label, days=within_days))
    table.attrs.update(info, within_days=within_days)
    return table


# The steps from the exits to a job or to work-study to EECR04, in page order (``esf_eecr04_step`` codes).
EECR04_STEPS = ("outside_scope", "reason_unknown", "late_start", "eecr04")


def _in_scope(frame: pd.DataFrame, by: str = "region") -> tuple[np.ndarray, np.ndarray]:
    """Per row: in the ESF+ scope of its ``by`` unit, and whether that unit falls back to every trainee.

    A unit (region) whose trainees never have the co-funding flag filled in falls back to all its
    trainees (:func:`esf_scope`, unit by unit); elsewhere only flagged co-funded parcours count.
    """
    e2c = np.ones(len(frame), dtype=bool)
    if "group" in frame.columns:
        e2c &= frame["group"].isna().to_numpy() | _is_in(frame["group"], ["e2c"])
    if "esf_cofunded" not in frame.columns:
        return e2c, np.ones(len(frame), dtype=bool)
    flag = frame["esf_cofunded"].astype("boolean")
    recorded = pd.Series(flag.notna().to_numpy() & e2c, index=frame.index)
    units = frame[by].astype("object").fillna("") if by in frame.columns else pd.Series("", index=frame.index)
    fallback = ~recorded.groupby(units, sort=False).transform("any").to_numpy(dtype=bool)
    return e2c & (fallback | flag.fillna(False).to_numpy(dtype=bool)), fallback


def esf_frame_columns(frame: pd.DataFrame, *, within_days: int = 28) -> pd.DataFrame:
    """Trainee-level columns that the ESF+ tables of the report pages filter on (same index as ``frame``).

    ``exit_year`` (Int64): calendar year of exit, the year an immediate result counts in;
    ``esf_eecr04_step``: for exits to a job or to work-study, the step of :func:`eecr04_reconciliation`
    that keeps or leaves each one out (``outside_scope``, ``reason_unknown``, ``late_start``, ``eecr04``),
    missing for every other row (and for a comparison group's rows). Scope per region as in
    :func:`esf_regional_tables`. Disclosure control reads them to know exactly which trainees each
    published ESF+ cell counts.
    """
    exit_date = pd.to_datetime(frame["exit_date"])
    in_scope, _fallback = _in_scope(frame)
    e2c, _all = _in_scope(frame.drop(columns="esf_cofunded", errors="ignore"))  # a comparison group is left out
    both = e2c & exit_date.notna().to_numpy() & _is_in(frame["exit_category"], ["job", "work_study"])
    reason_unknown = frame["exit_reason"].isna().to_numpy() | _is_in(frame["exit_reason"], ["inconnu"])
    late = (pd.to_datetime(frame["outcome_start"]) > exit_date + pd.Timedelta(days=within_days)).to_numpy()
    step = np.select(
        [both & ~in_scope, both & reason_unknown, both & late, both],
        list(EECR04_STEPS),
        default="",
    ).astype(object)
    step[step == ""] = None
    return pd.DataFrame({"exit_year": exit_date.dt.year.astype("Int64"), "esf_eecr04_step": step}, index=frame.index)


def esf_regional_tables(frame: pd.DataFrame, *, within_days: int = 28) -> dict[str, pd.DataFrame]:
    """Every region's ESF+ filing figures at once (vectorised), for the report pages.

    Returns
    -------
    dict of DataFrame, each with a ``region`` column
        ``esf_years``: one row per (region, year, indicator), all indicators for every year where the
        region's scope has an entry or an exit: ``year``, ``code``, ``kind``, ``women``, ``men``,
        ``sex_unknown``, ``total`` (outputs by year of entry ``cohort_year``, immediate results by year
        of exit, as :func:`esf_by_year`); ``esf_scope``: ``scope`` ("esf_cofunded" or "all"),
        ``n_trainees``, ``n_cofunded``, ``n_cofunding_unknown``; ``esf_eecr04``: one row per year of exit,
        ``year``, ``both`` (exits to a job or work-study) and one column per step of :data:`EECR04_STEPS`.
    """
    from .esf import _flags

    region = frame["region"].astype("object")
    in_scope, fallback = _in_scope(frame)
    flags = _flags(frame, within_days)
    years = {
        "output": frame["cohort_year"].astype("Int64"),
        "immediate_result": pd.to_datetime(frame["exit_date"]).dt.year.astype("Int64"),
    }
    sex = np.select([_is_in(frame["sex"], ["F"]), _is_in(frame["sex"], ["M"])], ["women", "men"], "sex_unknown")
    parts = []
    for indicator in ESF_INDICATORS:
        base, counted, _unknown = flags[indicator.code]
        mask = in_scope & np.asarray(base & counted, dtype=bool)
        year = years[indicator.kind]
        keep = mask & year.notna().to_numpy()
        part = pd.DataFrame({"region": region[keep], "year": year[keep].astype(int), "sex": sex[keep]})
        counts = part.groupby(["region", "year", "sex"], sort=False).size().rename("n").reset_index()
        parts.append(counts.assign(code=indicator.code))
    long = pd.concat(parts, ignore_index=True)
    wide = long.pivot_table(index=["region", "year", "code"], columns="sex", values="n", aggfunc="sum", fill_value=0)
    wide = wide.reindex(columns=["women", "men", "sex_unknown"], fill_value=0)
    scoped = pd.DataFrame({"region": region, "a": years["output"], "b": years["immediate_result"]})[in_scope]
    present = (
        pd.concat(
            [
                scoped[["region", "a"]].set_axis(["region", "year"], axis=1),
                scoped[["region", "b"]].set_axis(["region", "year"], axis=1),
            ]
        )
        .dropna()
        .drop_duplicates()
    )
    present["year"] = present["year"].astype(int)
    codes = pd.DataFrame({"code": [i.code for i in ESF_INDICATORS], "kind": [i.kind for i in ESF_INDICATORS]})
    full = present.merge(codes, how="cross")
    out = full.join(wide, on=["region", "year", "code"]).fillna({"women": 0, "men": 0, "sex_unknown": 0})
    for column in ("women", "men", "sex_unknown"):
        out[column] = out[column].astype("int64")
    out["total"] = out["women"] + out["men"] + out["sex_unknown"]
    order = {i.code: k for k, i in enumerate(ESF_INDICATORS)}
    out = out.assign(_o=out["code"].map(order)).sort_values(["region", "year", "_o"], kind="stable")
    esf_years = out.drop(columns="_o").reset_index(drop=True)

    esf_scope_table = _scope_table(frame, region, fallback)
    eecr04 = _eecr04_table(frame, region, esf_scope_table["region"], within_days)
    return {"esf_years": esf_years, "esf_scope": esf_scope_table, "esf_eecr04": eecr04}


def _scope_table(frame: pd.DataFrame, region: pd.Series, fallback: np.ndarray) -> pd.DataFrame:
    """Per region: the scope and how many trainees, co-funded parcours and unknown flags it holds."""
    e2c, _ = _in_scope(frame.drop(columns="esf_cofunded", errors="ignore"))  # every E2C trainee
    flag = frame["esf_cofunded"].astype("boolean") if "esf_cofunded" in frame.columns else None
    per_row = pd.DataFrame(
        {
            "region": region,
            "fallback": fallback,
            "n_trainees": e2c,
            "n_cofunded": e2c & (flag.fillna(False).to_numpy(dtype=bool) if flag is not None else False),
            "n_cofunding_unknown": e2c & (flag.isna().to_numpy() if flag is not None else True),
        }
    )[e2c]
    scope = per_row.groupby("region", sort=False).agg(
        fallback=("fallback", "all"),
        n_trainees=("n_trainees", "sum"),
        n_cofunded=("n_cofunded", "sum"),
        n_cofunding_unknown=("n_cofunding_unknown", "sum"),
    )
    scope.insert(0, "scope", np.where(scope["fallback"], "all", "esf_cofunded"))
    esf_scope_table = scope.drop(columns="fallback").astype({c: "int64" for c in scope.columns[2:]}).reset_index()
    return esf_scope_table


def _eecr04_table(frame: pd.DataFrame, region: pd.Series, regions: pd.Series, within_days: int) -> pd.DataFrame:
    """Per region and year of exit: exits to a job or work-study (``both``) and each reconciliation step."""
    columns = esf_frame_columns(frame, within_days=within_days)
    known = columns["esf_eecr04_step"].notna().to_numpy()
    keys = [region[known], columns["exit_year"][known].astype(int).rename("year")]
    counted = pd.crosstab(keys, columns["esf_eecr04_step"][known]).reindex(columns=list(EECR04_STEPS), fill_value=0)
    counted.insert(0, "both", counted.sum(axis=1))
    counted = counted[counted.index.get_level_values(0).isin(list(regions))]
    out = counted.rename_axis(index=["region", "year"], columns=None).reset_index()
    return out.astype({c: "int64" for c in ["year", "both", *EECR04_STEPS]})
