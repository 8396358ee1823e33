"""The content of the funder reports: national work done once, and the
sections of a region's report, as HTML fragments with their published tables.

The notebook ``templates/region_report.ipynb`` only calls
:meth:`RegionReport.load` and one method per section; every table, figure and
sentence with a number is made here, where tests can reach it, and where the
plain-Python reference of ``benchmarks/bench_reports.py`` calls the same code.

Privacy rules applied to every published table (see :mod:`toolkit.disclosure`):
counts below ``min_cell`` are shown as "< 11", with secondary suppression
along every line that adds up to a known total; rates on suppressed counts or
on fewer than ``min_cell`` trainees are not shown; sites with fewer than
``min_cell`` exits are grouped into "Autres sites" and left out of plots; a
region's report shows other regions only as regional aggregates; no row-level
data, no identifier.
"""

from __future__ import annotations

import base64
import html as _html
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__, schema
from ..config import DEFAULT_MIN_CELL
from ..definitions import get_definition
from ..disclosure import SECONDARY_MARKER, SuppressedTable, suppress_counts, suppression_marker
from ..errors import E2CError, ReportError
from ..formatting import fmt_date, fmt_int, fmt_number, fmt_pct, fmt_rate_ci

__all__ = [
    "NationalWork",
    "prepare_national",
    "prepare_impact",
    "Section",
    "RegionReport",
    "report_title",
    "index_title",
    "index_body",
    "html_table",
    "figure_html",
]

PROFILE_VARIABLES = ("sex", "age_band", "education_level", "qpv", "disability", "referrer")
SUBGROUP_VARIABLES = ("sex", "age_band", "education_level", "qpv", "disability")
MIX_CATEGORIES = ("job", "work_study", "training", "other")
NUM_CLASS = ' class="num"'
HASH_CLASS = ' class="hash"'


# --------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------
_T: dict[str, tuple[str, str]] = {
    "kicker": ("Écoles de la 2e Chance · rapport aux financeurs", "Second-chance schools (E2C) · funder report"),
    "subtitle": (
        "Parcours, sorties et comparaison équitable des stagiaires entrés en {period}",
        "Trainees who entered in {period}: parcours, exits and fair comparison",
    ),
    "meta": (
        "Données : {data} · définition : {definition} · généré le {date} · boîte à outils E2C {version}",
        "Data: {data} · definition: {definition} · generated on {date} · E2C toolkit {version}",
    ),
    "toc": ("Sommaire", "Contents"),
    "headline": ("Chiffres clés", "Key figures"),
    "profile": ("Profil des stagiaires", "Trainees' profile"),
    "exits": ("Sorties", "Exits"),
    "trend": ("Évolution par année d'entrée", "Trend by year of entry"),
    "fair": ("Comparaison équitable", "Fair comparison"),
    "esf": ("Indicateurs FSE+", "ESF+ indicators"),
    "impact": ("Impact estimé", "Estimated impact"),
    "quality": ("Annexe : qualité des données", "Annex: data quality"),
    "methods": ("Méthodes et provenance", "Methods and provenance"),
    "trainees": ("Stagiaires entrés", "Trainees who entered"),
    "exits_n": ("Sorties", "Exits"),
    "rate": ("Taux de sorties positives", "Positive-exit rate"),
    "national": ("National", "National"),
    "value": ("Modalité", "Value"),
    "count": ("Effectif", "Count"),
    "share_region": ("Part dans la région", "Share in the region"),
    "share_national": ("Part nationale", "National share"),
    "total": ("Total", "Total"),
    "other_sites": ("Autres sites ({k} sites de moins de {m} sorties)", "Other sites ({k} sites under {m} exits)"),
    "source_data": (
        "Source : export des écoles ({data}), traitement boîte à outils E2C",
        "Source: schools' export ({data}), E2C toolkit processing",
    ),
}


def t(key: str, lang: str, **kwargs) -> str:
    fr, en = _T[key]
    return (fr if lang == "fr" else en).format(**kwargs)


def esc(text: object) -> str:
    return _html.escape(str(text), quote=True)


def _lang_pick(lang: str, fr: str, en: str) -> str:
    return fr if lang == "fr" else en


# --------------------------------------------------------------------------
# National work, once
# --------------------------------------------------------------------------
@dataclass
class NationalWork:
    """Results of the national work, saved in ``work_dir`` for the region notebooks.

    Files: ``tables.pkl`` (every region's aggregated tables, computed in one
    vectorised pass: flows, rates, profile, exit mix, subgroups, sites with
    small sites grouped, trend, ESF+ indicators), ``sites.pkl`` and
    ``regions.pkl`` (national comparisons), ``national.json`` (national
    aggregates, data quality, provenance). No trainee-level file: a region's
    kernel only ever sees aggregates.
    """

    work_dir: Path
    period: str
    definition: str
    regions: list[str]
    input_info: dict
    meta: dict = field(default_factory=dict)
    _tables: dict | None = None
    _sites: pd.DataFrame | None = None
    _regions_cmp: pd.DataFrame | None = None

    @property
    def tables(self) -> dict:
        if self._tables is None:
            self._tables = pd.read_pickle(self.work_dir / "tables.pkl")
        return self._tables

    @property
    def sites(self) -> pd.DataFrame:
        if self._sites is None:
            self._sites = pd.read_pickle(self.work_dir / "sites.pkl")
        return self._sites

    @property
    def region_comparison(self) -> pd.DataFrame:
        if self._regions_cmp is None:
            self._regions_cmp = pd.read_pickle(self.work_dir / "regions.pkl")
        return self._regions_cmp

    @classmethod
    def load(cls, work_dir: str | Path) -> NationalWork:
        work_dir = Path(work_dir)
        try:
            meta = json.loads((work_dir / "national.json").read_text(encoding="utf-8"))
        except OSError as exc:
            raise ReportError(f"{work_dir} : résultats nationaux introuvables ({exc}). Lancez build_reports.") from exc
        return cls(
            work_dir=work_dir,
            period=meta["period"],
            definition=meta["definition"],
            regions=meta["regions"],
            input_info=meta["input"],
            meta=meta,
        )

    def region_table(self, name: str, region: str) -> pd.DataFrame:
        """One of the regional tables, restricted to ``region`` (region column dropped)."""
        table = self.tables[name]
        if isinstance(table, dict):
            return table[region]
        rows = table[table["region"].astype("object") == region]
        return rows.drop(columns="region").reset_index(drop=True)


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _period_years(period: str | None, years: pd.Series) -> tuple[str, list[int]]:
    present = sorted(int(y) for y in years.dropna().unique())
    if not present:
        raise ReportError("Aucune année d'entrée dans les données : pas de rapport possible.")
    if period is None:
        label = str(present[0]) if present[0] == present[-1] else f"{present[0]}-{present[-1]}"
        return label, present
    match = re.fullmatch(r"\s*(\d{4})(?:\s*[-–]\s*(\d{4}))?\s*", str(period))
    if not match:
        raise ReportError(f"Période {period!r} non reconnue : une année (2024) ou un intervalle (2019-2024).")
    start, end = int(match.group(1)), int(match.group(2) or match.group(1))
    chosen = [y for y in present if start <= y <= end]
    if not chosen:
        raise ReportError(
            f"Aucun stagiaire entré en {period} dans les données (années présentes : {present[0]}–{present[-1]})."
        )
    return (str(start) if start == end else f"{start}-{end}"), chosen


def _rejected_by_region(rejected: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Rejected rows by recognisable region and reason code."""
    if rejected is None or len(rejected) == 0 or "region" not in rejected.columns:
        return {}
    region = rejected["region"].map(schema.normalise_key).map(schema.REGION_ALIASES)
    reason = rejected.get("reason_code", pd.Series("?", index=rejected.index)).astype("string").fillna("?")
    table = pd.crosstab(region.fillna("?"), reason)
    return {str(r): {str(k): int(v) for k, v in row.items() if v} for r, row in table.iterrows()}


def prepare_national(
    data=None,
    work_root: str | Path | None = None,
    *,
    definition=None,
    lang: str = "fr",
    min_cell: int = DEFAULT_MIN_CELL,
    period=None,
    progress: bool = False,
    mapping=None,
    situations=None,
) -> NationalWork:
    """Clean the data, fit the national expected model, compare sites and
    regions, compute the national aggregates, once; save them for the regions.

    Parameters
    ----------
    data : path or DataFrame, optional
        Raw export (default: ``config.resolve_data_path()``).
    work_root : path
        ``<work_root>/<period>/national/`` receives the files.
    definition, lang, min_cell, period, mapping, situations
        As in :func:`toolkit.reports.build_reports`.

    Returns
    -------
    NationalWork
    """
    from ..compare import compare_units, fit_expected_model
    from ..config import REPORTS_DIR
    from ..datasets import resolve_data_path
    from ..indicators import exit_mix, flow_counts, positive_exit_rates, profile

    d = get_definition(definition)
    if isinstance(data, pd.DataFrame):
        source, input_info = data, {"name": "DataFrame", "sha256": None}
    else:
        path = resolve_data_path(data)
        source, input_info = path, {"name": path.name, "path": str(path), "sha256": _sha256(path)}
    from ..cleaned_io import clean_or_load  # a raw export (with its mapping), or the Parquet of `e2c clean --out`

    cleaned = clean_or_load(source, definition=d, progress=progress, mapping=mapping, situations=situations)
    frame = cleaned.data
    if "group" in frame.columns:  # a comparison group is not E2C activity
        frame = frame[frame["group"].astype("object").fillna("e2c") != "comparaison"]
    label, years = _period_years(period, frame["cohort_year"])
    frame = frame[frame["cohort_year"].isin(years)].reset_index(drop=True)
    frame.attrs["definition"] = d.name
    work_dir = Path(work_root if work_root is not None else REPORTS_DIR / "_work") / label / "national"
    work_dir.mkdir(parents=True, exist_ok=True)

    from ..errors import ModelError

    try:
        expected = fit_expected_model(frame, definition=d)
        sites = compare_units(frame, "site", expected)
        regions_cmp = compare_units(frame, "region", expected)
        model_skipped = None
    except ModelError as exc:  # every known outcome the same, or none: the model sections say why they are absent
        from ..report_alerts import units_without_model

        expected, model_skipped = None, str(exc)
        sites, regions_cmp = units_without_model(frame, "site"), units_without_model(frame, "region")
    summary = dict(cleaned.summary) if cleaned.summary is not None else {}
    national = {
        "flows": flow_counts(frame, definition=d).iloc[0].drop("definition").astype(int).to_dict(),
        "rate": positive_exit_rates(frame, definition=d).iloc[0].drop("definition").to_dict(),
        "mix": exit_mix(frame).to_dict(orient="records"),
        "profile": profile(frame, PROFILE_VARIABLES, national=False).to_dict(orient="records"),
        "trend": positive_exit_rates(frame, "cohort_year", definition=d)
        .drop(columns="definition")
        .to_dict(orient="records"),
    }
    present = [r for r in schema.REGION_NAMES if r in set(frame["region"].astype("object").dropna())]
    input_info |= {
        "rows_received": int(summary.get("rows_received", len(cleaned.data) + len(cleaned.rejected))),
        "rows_kept": int(summary.get("rows_kept", len(cleaned.data))),
        "rows_rejected": int(summary.get("rows_rejected", len(cleaned.rejected))),
    }
    # Counts by reason code only: the cleaning log's reason texts quote row values.
    reasons = {}
    if len(cleaned.rejected):
        counts = cleaned.rejected["reason_code"].astype("object").value_counts()
        reasons = {str(code): int(n) for code, n in counts.items() if n}
    meta = {
        "period": label,
        "years": years,
        "definition": d.name,
        "regions": present,
        "input": input_info,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "toolkit_version": __version__,
        "min_cell": int(min_cell),
        "national": national,
        "quality": {
            "rejected_by_reason": reasons,
            "rejected_by_region": _rejected_by_region(cleaned.rejected),
            "summary": {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in summary.items()},
        },
        "model": {"skipped": model_skipped}
        if expected is None
        else {
            "covariates": list(expected.covariates),
            "n": int(expected.n),
            "national_rate": float(expected.national_rate),
            "site_tau2": float(sites.attrs.get("tau2_used", 0.0)),
            "region_tau2": float(regions_cmp.attrs.get("tau2_used", 0.0)),
            "n_sites": int(len(sites)),
            "n_regions": int(len(regions_cmp)),
        },
    }
    meta["lang"] = lang
    from ..report_alerts import national_extras  # unknown-outcome alerts per region, rate after follow-up

    meta |= national_extras(frame, d) | {"follow_up_months": d.follow_up_months}
    pd.to_pickle(regional_tables(frame, d, min_cell, lang), work_dir / "tables.pkl")
    sites.to_pickle(work_dir / "sites.pkl")
    regions_cmp.to_pickle(work_dir / "regions.pkl")
    (work_dir / "national.json").write_text(
        json.dumps(meta, ensure_ascii=False, default=_json_default, indent=1), encoding="utf-8"
    )
    return NationalWork(
        work_dir=work_dir,
        period=label,
        definition=d.name,
        regions=present,
        input_info=input_info,
        meta=meta,
        _sites=sites,
        _regions_cmp=regions_cmp,
    )


def prepare_impact(comparison, work_dir: str | Path, definition=None) -> Path:
    """Clean an impact design once for every region (helper F's
    :func:`toolkit.impact.load_impact_frame`) and save what the regions'
    impact sections need: the rows with a known outcome, reduced to the
    covariates, ``treated``, ``outcome`` and ``region`` (no identifier).
    The batch deletes the file once the reports are written.

    Returns
    -------
    Path
        ``<work_dir>/impact.pkl``.
    """
    from ..impact import load_impact_frame

    design = load_impact_frame(comparison, definition=get_definition(definition))
    covariates = [c for c in design.covariates if c != "region"]
    frame = design.analysis_data()[[*covariates, "treated", "outcome", "region"]].reset_index(drop=True)
    path = Path(work_dir) / "impact.pkl"
    pd.to_pickle({"data": frame, "covariates": covariates}, path)
    return path


def regional_tables(frame: pd.DataFrame, definition, min_cell: int, lang: str) -> dict:
    """Every region's aggregated tables, in one vectorised pass over the national frame.

    Returns
    -------
    dict
        ``flows``, ``rates``, ``profile``, ``mix``, ``trend`` and
        ``by_<variable>`` (for each of :data:`SUBGROUP_VARIABLES`): the
        :mod:`toolkit.indicators` tables grouped by ``region`` first;
        ``sites``: one row per region and site (sites with fewer than
        ``min_cell`` exits merged into one row whose ``site`` is NA and
        ``n_sites`` says how many), columns ``region``, ``site``, ``n_sites``,
        ``n_exits``, ``n_known``, ``n_positive``, the exit-mix counts
        (``job``, ``work_study``, ``training``, ``other``, ``unknown``),
        ``rate``, ``ci_low``, ``ci_high``; ``esf_fr`` and ``esf_en``: {region: ESF+ table}.
    """
    from ..esf import esf_indicators
    from ..indicators import exit_mix, flow_counts, positive_exit_rates, profile, wilson_interval

    d = definition
    tables: dict = {
        "flows": flow_counts(frame, "region", definition=d),
        "rates": positive_exit_rates(frame, "region", definition=d),
        "profile": profile(frame, PROFILE_VARIABLES, by="region", national=False),
        "mix": exit_mix(frame, "region"),
        "trend": positive_exit_rates(frame, ["region", "cohort_year"], definition=d),
    }
    for variable in SUBGROUP_VARIABLES:
        tables[f"by_{variable}"] = positive_exit_rates(frame, ["region", variable], definition=d)
    rates = positive_exit_rates(frame, ["region", "site"], definition=d)
    rates = rates[rates["site"].notna() & (rates["n_exits"] > 0)]
    mix = exit_mix(frame, ["region", "site"])
    wide = (
        mix.pivot_table(index=["region", "site"], columns="category", values="n", aggfunc="sum", observed=True)
        .reindex(columns=[*MIX_CATEGORIES, "unknown"])
        .fillna(0)
        .astype(int)
    )
    wide.columns = [str(c) for c in wide.columns]
    keys = pd.MultiIndex.from_arrays([rates["region"].astype("object"), rates["site"].astype("object")])
    wide.index = pd.MultiIndex.from_arrays(
        [wide.index.get_level_values(0).astype("object"), wide.index.get_level_values(1).astype("object")]
    )
    sites = rates[["n_exits", "n_known", "n_positive"]].set_index(keys).join(wide, how="left").fillna(0).astype(int)
    sites = sites.reset_index(names=["region", "site"])
    small = sites["n_exits"] < min_cell
    sites["site"] = sites["site"].where(~small)  # NA: "other sites" of the region
    sites["n_sites"] = 1
    counts = ["n_sites", "n_exits", "n_known", "n_positive", *MIX_CATEGORIES, "unknown"]
    sites = sites.groupby(["region", sites["site"].fillna("__other_sites__")], sort=True)[counts].sum().reset_index()
    sites["site"] = sites["site"].where(sites["site"] != "__other_sites__")
    sites = sites.sort_values(["region", "site"], na_position="last", kind="stable").reset_index(drop=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        sites["rate"] = np.where(sites["n_known"] > 0, sites["n_positive"] / sites["n_known"].clip(lower=1), np.nan)
    sites["ci_low"], sites["ci_high"] = wilson_interval(sites["n_positive"], sites["n_known"])
    tables["sites"] = sites
    for language in ("fr", "en"):  # indicator names are text: both languages, so any report language works
        tables[f"esf_{language}"] = {
            str(region): esf_indicators(part, language).reset_index(drop=True)
            for region, part in frame.groupby(frame["region"].astype("object"), sort=False)
        }
    return tables


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


# --------------------------------------------------------------------------
# HTML building blocks
# --------------------------------------------------------------------------
@dataclass
class Section:
    """One part of a report: its HTML, and what it publishes (for tests).

    ``tables``: {name: DataFrame of the published text cells};
    ``counts``: {name: list of the count cells as published};
    ``figures``: list of {"alt": ..., "points": DataFrame of what is plotted}.
    """

    html: str
    tables: dict = field(default_factory=dict)
    figures: list = field(default_factory=list)

    def _repr_html_(self) -> str:
        return self.html

    def __add__(self, other: Section) -> Section:
        return Section(self.html + other.html, {**self.tables, **other.tables}, self.figures + other.figures)


@dataclass
class Column:
    name: str
    header: str
    kind: str = "text"  # label | text | int | pct | rate_ci | number
    decimals: int = 1


def html_table(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    caption: str,
    *,
    lang: str = "fr",
    suppressed: SuppressedTable | None = None,
    total_rows: Sequence[int] = (),
    note: str | None = None,
) -> tuple[str, pd.DataFrame]:
    """A readable HTML table (caption, header cells, row headers, right-aligned
    numbers in the report's language, "< 11" for suppressed cells).

    Count cells carry ``class="count"`` so tests can check every published
    count. Returns ``(html, published)`` where ``published`` holds the cell
    texts.
    """
    frame = frame.reset_index(drop=True)
    mask = (
        suppressed.suppressed.reset_index(drop=True)
        if suppressed is not None
        else pd.DataFrame(False, index=frame.index, columns=frame.columns)
    )
    marker = suppressed.marker if suppressed is not None else suppression_marker()
    min_cell = suppressed.min_cell if suppressed is not None else DEFAULT_MIN_CELL
    published: dict[str, list[str]] = {}
    body_rows = []
    for i in range(len(frame)):
        cells = []
        for j, col in enumerate(columns):
            hidden = bool(mask[col.name].iat[i]) if col.name in mask.columns else False
            value = frame[col.name].iat[i]
            small = hidden and col.kind == "int" and _is_small(value, min_cell)
            if hidden:
                text = marker if small else SECONDARY_MARKER
            elif col.kind == "int":
                text = fmt_int(value, lang)
            elif col.kind == "pct":
                text = fmt_pct(value, lang, col.decimals)
            elif col.kind == "number":
                text = fmt_number(value, lang, col.decimals)
            elif col.kind == "rate_ci":
                text = fmt_rate_ci(value, frame["ci_low"].iat[i], frame["ci_high"].iat[i], lang, col.decimals)
            else:
                text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
            published.setdefault(col.header, []).append(text)
            classes = []
            if col.kind in ("int", "pct", "number", "rate_ci"):
                classes.append("num")
            if col.kind == "int":
                classes.append("count")
            if hidden:
                classes.append("suppressed")
            cls = f' class="{" ".join(classes)}"' if classes else ""
            if j == 0 and col.kind == "label":
                cells.append(f'<th scope="row">{esc(text)}</th>')
            else:
                title = (
                    ' title="'
                    + esc(
                        _lang_pick(lang, "Secret statistique : moins de ", "Confidential: fewer than ") + str(min_cell)
                    )
                    + '"'
                    if small
                    else ' title="' + esc(secondary_note(lang, min_cell)) + '"'
                    if hidden
                    else ""
                )
                cells.append(f"<td{cls}{title}>{esc(text)}</td>")
        row_cls = ' class="total"' if i in set(total_rows) else ""
        body_rows.append(f"<tr{row_cls}>{''.join(cells)}</tr>")
    numeric = ("int", "pct", "number", "rate_ci")
    head = "".join(f'<th scope="col"{NUM_CLASS if c.kind in numeric else ""}>{esc(c.header)}</th>' for c in columns)
    note_html = f'<p class="note">{esc(note)}</p>' if note else ""
    html = (
        f'<div class="table-wrap" tabindex="0" role="region" aria-label="{esc(caption)}">'
        f"<table><caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body_rows)}</tbody></table>{note_html}</div>"
    )
    table = pd.DataFrame(published)
    table.attrs["count_cols"] = [c.header for c in columns if c.kind == "int"]
    table.attrs["rows_additive"] = bool(suppressed.rows_additive) if suppressed is not None else False
    table.attrs["cols_additive"] = bool(suppressed.cols_additive) if suppressed is not None else False
    return html, table


def _is_small(value, min_cell: int) -> bool:
    """A count under ``min_cell`` (what "< 11" states); missing values are not claimed small."""
    return value is not None and not pd.isna(value) and float(value) < min_cell


def secondary_note(lang: str, min_cell: int) -> str:
    """What :data:`SECONDARY_MARKER` means, for tooltips and legends."""
    return _lang_pick(
        lang,
        f"Secret statistique : masquée pour qu’aucune cellule de moins de {min_cell} ne se déduise des totaux",
        f"Confidential: hidden so that no cell under {min_cell} can be derived from the totals",
    )


def figure_html(fig, alt: str, caption: str, *, dpi: int = 110) -> str:
    """A matplotlib figure as an embedded PNG with real alt text and a caption."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    width, height = (fig.get_size_inches() * dpi).astype(int)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}" width="{width}" '
        f'height="{height}" loading="eager"><figcaption>{esc(caption)}</figcaption></figure>'
    )


def _lower_first(text: str) -> str:
    """'Tranche d'âge' -> 'tranche d'âge', but 'RQTH' and 'Résident QPV' keep their acronyms."""
    if len(text) > 1 and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def short_site(site: object, school: object = None) -> str:
    """A site's name without its school's prefix ("E2C X – site de Y" -> "Site de Y")."""
    text = str(site)
    for sep in (" – ", " - ", " — "):
        if sep in text:
            head, tail = text.split(sep, 1)
            if school is None or str(school).startswith(head) or head.startswith(str(school)):
                return tail[:1].upper() + tail[1:]
    return text


def _section_heading(key: str, lang: str) -> str:
    return f'<h2 id="{key}">{esc(t(key, lang))}</h2>'


# --------------------------------------------------------------------------
# A region's report
# --------------------------------------------------------------------------
def report_title(region: str, period: str, lang: str = "fr") -> str:
    return _lang_pick(lang, f"E2C {region} : rapport {period}", f"E2C {region}: {period} report")


def index_title(period: str, lang: str = "fr") -> str:
    return _lang_pick(lang, f"Rapports E2C par région, {period}", f"E2C reports by region, {period}")


@dataclass
class RegionReport:
    """Everything a region's report shows, section by section.

    Build with :meth:`load` (reads the national work folder). Each section
    method returns a :class:`Section`.
    """

    national: NationalWork
    region: str
    lang: str = "fr"
    min_cell: int = DEFAULT_MIN_CELL
    data_path: str = ""
    comparison_path: str = ""

    @classmethod
    def load(
        cls,
        work_dir: str | Path,
        region: str,
        *,
        lang: str = "fr",
        min_cell: int = DEFAULT_MIN_CELL,
        data_path: str = "",
        comparison_path: str = "",
        **_ignored,
    ) -> RegionReport:
        if lang not in ("fr", "en"):
            raise ReportError(f"Langue inconnue : {lang!r} ('fr' ou 'en').")
        national = NationalWork.load(work_dir)
        if region not in national.regions:
            raise ReportError(f"Région {region!r} absente des données nationales préparées.")
        flows = national.region_table("flows", region)
        n = int(flows["n_entries"].sum())
        if n < min_cell:
            raise ReportError(
                f"Région {region!r} : {n} stagiaire(s), moins que le seuil de {min_cell} : pas de rapport publiable."
            )
        return cls(
            national, region, lang, int(min_cell), data_path or national.input_info.get("name", ""), comparison_path
        )

    def table(self, name: str) -> pd.DataFrame:
        """The region's rows of a national aggregated table (see :func:`regional_tables`)."""
        return self.national.region_table(name, self.region)

    # -- helpers ------------------------------------------------------------
    @property
    def definition(self):
        return get_definition(self.national.definition)

    def _w(self, fr: str, en: str) -> str:
        return fr if self.lang == "fr" else en

    def _source(self) -> str:
        return t("source_data", self.lang, data=self.data_path or "—")

    def _suppress(self, frame, counts, **kwargs) -> SuppressedTable:
        return suppress_counts(frame, counts, self.min_cell, **kwargs)

    def _rate_table(
        self, frame: pd.DataFrame, label: Column, caption: str, *, note: str | None = None, extra: Sequence[Column] = ()
    ) -> tuple[str, pd.DataFrame, SuppressedTable]:
        """Positive exits by group (exits of known outcome, positives, rate with CI), suppressed."""
        sup = self._suppress(
            frame,
            ["n_known", "n_positive"],
            rates={"rate": ("n_positive", "n_known")},
            derived={"ci_low": "rate", "ci_high": "rate"},
        )
        from ..report_alerts import withhold  # over 50 % unknown outcomes: no rate of the region is published

        withhold(sup.suppressed, self.national.meta, dict.fromkeys(sup.suppressed.index, self.region))
        cols = [
            label,
            Column("n_known", self._w("Sorties à l’issue connue", "Exits with a known outcome"), "int"),
            Column("n_positive", self._w("Sorties positives", "Positive exits"), "int"),
            Column("rate", self._w("Taux [IC 95 %]", "Rate [95% CI]"), "rate_ci"),
            *extra,
        ]
        table_html, published = html_table(frame, cols, caption, lang=self.lang, suppressed=sup, note=note)
        return table_html, published, sup

    def _label(self, column: str, code) -> str:
        if column == "age_band" and code is not None and not pd.isna(code):
            return schema.label("age_band", code, self.lang)
        return schema.label(column, code, self.lang)

    def _var_label(self, column: str) -> str:
        from ..formatting import column_label

        return column_label(column, self.lang)

    # -- sections -------------------------------------------------------------
    def title_block(self) -> Section:
        n = self.national
        date = fmt_date(
            pd.Timestamp(n.meta.get("generated_at", datetime.now(UTC).isoformat())).date(), self.lang
        )
        meta = t(
            "meta",
            self.lang,
            data=self.data_path or "—",
            definition=self.definition.label(self.lang),
            date=date,
            version=__version__,
        )
        intro = self._w(
            "Ce rapport décrit les stagiaires des Écoles de la 2e Chance de la région, leurs sorties et la part "
            "de sorties positives, puis compare la région et ses sites au niveau national en tenant compte du "
            "profil des jeunes accueillis. Aucun chiffre ne porte sur moins de "
            f"{self.min_cell} stagiaires : les cellules plus petites sont masquées (« {suppression_marker(self.min_cell)} » ; "
            f"« {SECONDARY_MARKER} » : cellule masquée pour qu’une plus petite ne se déduise pas des totaux).",
            "This report describes the trainees of the region's second-chance schools, their exits and the share "
            "of positive exits, then compares the region and its sites with the country, taking into account the "
            f"profile of the young people they take in. No figure rests on fewer than {self.min_cell} trainees: "
            f'smaller cells are hidden ("{suppression_marker(self.min_cell)}"; "{SECONDARY_MARKER}": '
            "a cell hidden so that a smaller one cannot be derived from the totals).",
        )
        html = (
            f'<header class="title-block"><p class="kicker">{esc(t("kicker", self.lang))}</p>'
            f"<h1>{esc(self.region)}</h1>"
            f'<p class="subtitle">{esc(t("subtitle", self.lang, period=n.period.replace("-", "–")))}</p>'
            f'<p class="meta">{esc(meta)}</p></header><p>{esc(intro)}</p>'
        )
        return Section(html)

    def contents(self) -> Section:
        keys = ["headline", "profile", "exits", "trend", "fair", "esf"]
        if self.comparison_path:
            keys.append("impact")
        keys += ["quality", "methods"]
        items = "".join(f'<li><a href="#{k}">{esc(t(k, self.lang))}</a></li>' for k in keys)
        return Section(
            f'<nav class="toc" aria-labelledby="toc-title"><h2 id="toc-title">{esc(t("toc", self.lang))}'
            f"</h2><ol>{items}</ol></nav>"
        )

    def headline(self) -> Section:
        flows = self.table("flows")
        rate = self.table("rates")
        nat = self.national.meta["national"]
        table = pd.DataFrame(
            {
                "n_entries": [int(flows["n_entries"].iat[0]), nat["flows"]["n_entries"]],
                "n_exits": [int(flows["n_exits"].iat[0]), nat["flows"]["n_exits"]],
                "n_known": [int(rate["n_known"].iat[0]), int(nat["rate"]["n_known"])],
                "n_positive": [int(rate["n_positive"].iat[0]), int(nat["rate"]["n_positive"])],
                "rate": [rate["rate"].iat[0], nat["rate"]["rate"]],
                "ci_low": [rate["ci_low"].iat[0], nat["rate"]["ci_low"]],
                "ci_high": [rate["ci_high"].iat[0], nat["rate"]["ci_high"]],
            },
            index=["region", "national"],
        )
        sup = self._suppress(
            table,
            ["n_entries", "n_exits", "n_known", "n_positive"],
            rows_additive=False,
            rates={"rate": ("n_positive", "n_known")},
            derived={"ci_low": "rate", "ci_high": "rate"},
        )
        hidden = sup.suppressed
        from ..report_alerts import withhold  # over 50 % unknown outcomes: the rate is not published

        withhold(hidden, self.national.meta, {"region": self.region, "national": None})
        marker = sup.marker

        def show(col, row, kind="int"):
            if hidden.loc[row, col]:
                return marker if kind == "int" and _is_small(table.loc[row, col], self.min_cell) else SECONDARY_MARKER
            v = table.loc[row, col]
            return fmt_int(v, self.lang) if kind == "int" else fmt_pct(v, self.lang)

        def ci(row):
            if hidden.loc[row, "rate"]:
                return ""
            return self._w("IC 95 % : ", "95% CI: ") + fmt_rate_ci(
                table.loc[row, "rate"], table.loc[row, "ci_low"], table.loc[row, "ci_high"], self.lang
            ).split("[", 1)[1].rstrip("]")

        nat_word = t("national", self.lang)
        cards = [
            (
                t("trainees", self.lang),
                show("n_entries", "region"),
                "",
                f"{nat_word} : {show('n_entries', 'national')}",
            ),
            (
                t("exits_n", self.lang),
                show("n_exits", "region"),
                self._w(
                    f"dont {show('n_known', 'region')} à l'issue connue",
                    f"of which {show('n_known', 'region')} with a known outcome",
                ),
                f"{nat_word} : {show('n_exits', 'national')}",
            ),
            (
                t("rate", self.lang),
                show("rate", "region", "pct"),
                ci("region"),
                f"{nat_word} : {show('rate', 'national', 'pct')} ({ci('national')})",
            ),
        ]
        from ..report_alerts import alert_banner, end_of_parcours, follow_up_card, rate_card

        alerts = self.national.meta.get("alerts", {}).get(self.region, [])
        cards[2] = (cards[2][0], *rate_card(alerts, cards[2][1], cards[2][2]), cards[2][3])
        extra = follow_up_card(self.national.meta, self.region, alerts, self.min_cell, self.lang)
        if extra:  # two timings: say which is which
            cards[2] = (end_of_parcours(cards[2][0]), *cards[2][1:])
            cards.append(extra)
        if self.lang == "en":
            cards = [(a, b, c, d.replace(" : ", ": ")) for a, b, c, d in cards]
        cards_html = "".join(
            f'<div class="card"><p class="label">{esc(a)}</p><p class="value count-card">{esc(b)}</p>'
            f'<p class="ci">{esc(c)}</p><p class="national">{esc(d)}</p></div>'
            for a, b, c, d in cards
        )
        reading = self._headline_reading(table, hidden)
        html = _section_heading("headline", self.lang) + alert_banner(alerts) + f'<div class="cards">{cards_html}</div>'
        html += reading
        published = pd.DataFrame(
            {
                "n": [
                    show("n_entries", "region"),
                    show("n_exits", "region"),
                    show("n_known", "region"),
                    show("n_positive", "region"),
                ]
            }
        )
        html += self._hidden_counts_table(table, hidden, sup)
        return Section(html, tables={"headline": published})

    def _hidden_counts_table(self, table, hidden, sup) -> str:
        """The headline figures again as a small accessible table (screen readers, print)."""
        frame = pd.DataFrame(
            {
                "label": [self.region, t("national", self.lang)],
                "n_entries": table["n_entries"].to_numpy(),
                "n_exits": table["n_exits"].to_numpy(),
                "n_known": table["n_known"].to_numpy(),
                "n_positive": table["n_positive"].to_numpy(),
                "rate": table["rate"].to_numpy(),
                "ci_low": table["ci_low"].to_numpy(),
                "ci_high": table["ci_high"].to_numpy(),
            }
        )
        sup_frame = SuppressedTable(
            frame,
            pd.concat([pd.DataFrame({"label": [False, False]}), hidden.reset_index(drop=True)], axis=1),
            sup.primary,
            sup.min_cell,
            rows_additive=False,
        )
        cols = [
            Column("label", self._w("Périmètre", "Scope"), "label"),
            Column("n_entries", t("trainees", self.lang), "int"),
            Column("n_exits", t("exits_n", self.lang), "int"),
            Column("n_known", self._w("Sorties à l'issue connue", "Exits with a known outcome"), "int"),
            Column("n_positive", self._w("Sorties positives", "Positive exits"), "int"),
            Column("rate", self._w("Taux [IC 95 %]", "Rate [95% CI]"), "rate_ci"),
        ]
        html, _ = html_table(
            frame,
            cols,
            self._w("Chiffres clés de la région et du pays", "Key figures of the region and the country"),
            lang=self.lang,
            suppressed=sup_frame,
        )
        return html

    def _headline_reading(self, table, hidden) -> str:
        if hidden.loc["region", "rate"]:
            return ""
        r, n = table.loc["region"], table.loc["national"]
        overlap = not (r["ci_low"] > n["ci_high"] or r["ci_high"] < n["ci_low"])
        rate_r = fmt_rate_ci(r["rate"], r["ci_low"], r["ci_high"], self.lang)
        rate_n = fmt_pct(n["rate"], self.lang)
        if self.lang == "fr":
            first = (
                f"Dans la région, {rate_r} des sorties à l'issue connue sont positives, contre {rate_n} au niveau "
                "national. "
                + (
                    "L'intervalle de confiance de la région recoupe celui du pays : l'écart peut relever du hasard."
                    if overlap
                    else "L'écart dépasse ce que le hasard expliquerait."
                )
            )
            second = (
                "Un taux brut ne tient pas compte du profil des jeunes accueillis : la comparaison équitable "
                "plus bas le prend en compte."
            )
        else:
            first = (
                f"In the region, {rate_r} of exits with a known outcome are positive, against {rate_n} "
                "nationally. "
                + (
                    "The region's confidence interval overlaps the country's: the gap may be chance."
                    if overlap
                    else "The gap is larger than chance would explain."
                )
            )
            second = (
                "A raw rate ignores the profile of the young people taken in: the fair comparison below "
                "accounts for it."
            )
        return f'<div class="reading"><p>{esc(first)}</p><p>{esc(second)}</p></div>'

    def profile(self) -> Section:
        region = self.table("profile")
        nat = pd.DataFrame(self.national.meta["national"]["profile"])
        nat_share = dict(zip(nat["variable"] + "=" + nat["code"].astype("string").fillna("<NA>"), nat["share"]))
        html = _section_heading("profile", self.lang)
        html += f"<p>{esc(self._w('Caractéristiques à l’entrée des stagiaires de la région, et part nationale pour repère. Les parts sont calculées sur les stagiaires dont la caractéristique est connue.', 'Characteristics at entry of the region’s trainees, with the national share for reference. Shares are among trainees whose characteristic is known.'))}</p>"
        tables = {}
        for variable in PROFILE_VARIABLES:
            part = region[region["variable"] == variable].reset_index(drop=True)
            key = variable + "=" + part["code"].astype("string").fillna("<NA>")
            frame = pd.DataFrame(
                {
                    "label": [self._label(variable, c) for c in part["code"]],
                    "n": part["n"].to_numpy(),
                    "share": part["share"].to_numpy(),
                    "national": key.map(nat_share).to_numpy(dtype=float),
                }
            )
            frame = frame[~((frame["n"] == 0) & part["code"].isna().to_numpy())].reset_index(drop=True)
            sup = self._suppress(frame, ["n"], rates={"share": ("n", None)}, complement=False)
            cols = [
                Column("label", self._var_label(variable), "label"),
                Column("n", t("count", self.lang), "int"),
                Column("share", t("share_region", self.lang), "pct"),
                Column("national", t("share_national", self.lang), "pct"),
            ]
            caption = self._w(
                f"{self._var_label(variable)} des stagiaires ({self.region})",
                f"{self._var_label(variable)} of trainees ({self.region})",
            )
            table_html, published = html_table(frame, cols, caption, lang=self.lang, suppressed=sup)
            html += table_html
            tables[f"profile_{variable}"] = published
        return Section(html, tables=tables)

    def exits(self) -> Section:
        lang = self.lang
        html = _section_heading("exits", lang)
        tables: dict = {}
        figures: list = []
        # 1. Exit mix, region vs national.
        mix = self.table("mix")
        nat_mix = pd.DataFrame(self.national.meta["national"]["mix"])
        nat_share = dict(zip(nat_mix["category"].astype(str), nat_mix["share"]))
        frame = pd.DataFrame(
            {
                "label": [schema.label("exit_category", c, lang) for c in mix["category"].astype(str)],
                "category": mix["category"].astype(str).to_numpy(),
                "n": mix["n"].to_numpy(),
                "share": mix["share"].to_numpy(),
                "national": mix["category"].astype(str).map(nat_share).to_numpy(dtype=float),
            }
        )
        sup = self._suppress(frame, ["n"], rates={"share": ("n", None)}, complement=False)
        html += f'<h3 id="exit-mix">{esc(self._w("Situation à la sortie", "Situation at exit"))}</h3>'
        cols = [
            Column("label", self._w("Type de sortie", "Exit type"), "label"),
            Column("n", t("count", lang), "int"),
            Column("share", self._w("Part (issue connue)", "Share (known outcome)"), "pct"),
            Column("national", t("share_national", lang), "pct"),
        ]
        table_html, published = html_table(
            frame,
            cols,
            self._w(f"Situation à la sortie ({self.region})", f"Situation at exit ({self.region})"),
            lang=lang,
            suppressed=sup,
            note=self._w(
                "Les sorties dont la situation n’est pas renseignée sont comptées à part et hors du calcul des parts.",
                "Exits with no recorded situation are counted apart and left out of the shares.",
            ),
        )
        tables["exit_mix"] = published
        fig_html, points = self._mix_figure(frame, sup)
        html += fig_html + table_html
        figures.append(points)
        # 2. Positive exits by subgroup.
        html += f'<h3 id="exits-subgroups">{esc(self._w("Sorties positives selon le profil", "Positive exits by profile"))}</h3>'
        for variable in SUBGROUP_VARIABLES:
            rates = self.table(f"by_{variable}")
            frame = pd.DataFrame(
                {
                    "label": [self._label(variable, c) for c in rates[variable].astype("object")],
                    "n_known": rates["n_known"].to_numpy(),
                    "n_positive": rates["n_positive"].to_numpy(),
                    "rate": rates["rate"].to_numpy(),
                    "ci_low": rates["ci_low"].to_numpy(),
                    "ci_high": rates["ci_high"].to_numpy(),
                }
            )
            frame = frame[frame["n_known"] > 0].reset_index(drop=True)
            table_html, published, _ = self._rate_table(
                frame,
                Column("label", self._var_label(variable), "label"),
                self._w(
                    f"Sorties positives selon : {_lower_first(self._var_label(variable))}",
                    f"Positive exits by {_lower_first(self._var_label(variable))}",
                ),
            )
            html += table_html
            tables[f"exits_{variable}"] = published
        html += f'<p class="note">{esc(self._w("Ces écarts entre groupes décrivent ; ils ne prouvent pas qu’un groupe réussit mieux à cause de sa caractéristique, les groupes différant aussi par d’autres traits.", "These gaps between groups describe; they do not prove that a group does better because of its characteristic, as groups also differ in other ways."))}</p>'
        # 3. By site: positive exits and exit mix.
        html += f'<h3 id="exits-sites">{esc(self._w("Par site", "By site"))}</h3>'
        grouped = self.table("sites")
        other = grouped["site"].isna()
        grouped["site"] = grouped["site"].map(short_site, na_action="ignore").astype("object")
        grouped.loc[other, "site"] = [
            t("other_sites", lang, k=int(k), m=self.min_cell) for k in grouped.loc[other, "n_sites"]
        ]
        table_html, published, _ = self._rate_table(
            grouped,
            Column("site", self._w("Site", "Site"), "label"),
            self._w("Sorties positives par site (taux bruts)", "Positive exits by site (raw rates)"),
            note=self._w(
                "Sites dans l’ordre alphabétique : ce n’est pas un classement. "
                "Les taux bruts ne tiennent pas compte du public accueilli ; "
                "voir la comparaison équitable.",
                "Sites in alphabetical order: this is not a ranking. Raw "
                "rates ignore the intake; see the fair comparison.",
            ),
        )
        html += table_html
        tables["exits_sites"] = published
        mix_cols = list(MIX_CATEGORIES) + ["unknown"]
        grouped["n_exits"] = grouped[mix_cols].sum(axis=1)
        sup = self._suppress(
            grouped, mix_cols + ["n_exits"], rows_additive=True, cols_additive=True, total_col="n_exits"
        )
        cols = (
            [Column("site", self._w("Site", "Site"), "label")]
            + [Column(c, schema.label("exit_category", c, lang), "int") for c in mix_cols]
            + [Column("n_exits", t("total", lang), "int")]
        )
        table_html, published = html_table(
            grouped,
            cols,
            self._w("Situation à la sortie par site (effectifs)", "Situation at exit by site (counts)"),
            lang=lang,
            suppressed=sup,
        )
        html += table_html
        tables["exit_mix_sites"] = published
        return Section(html, tables=tables, figures=figures)

    def _mix_figure(self, frame: pd.DataFrame, sup: SuppressedTable) -> tuple[str, dict]:
        from ..plots import EXIT_COLOURS, REFERENCE, add_source, new_figure, percent_formatter

        lang = self.lang
        shown = frame[(frame["category"] != "unknown") & ~sup.suppressed["share"].to_numpy()].reset_index(drop=True)
        fig, ax = new_figure(figsize=(8, 3.6))
        y = np.arange(len(shown))[::-1]
        ax.barh(
            y,
            shown["share"],
            color=[EXIT_COLOURS.get(c, "#555555") for c in shown["category"]],
            height=0.6,
            label=self.region,
        )
        ax.scatter(shown["national"], y, marker="D", color=REFERENCE, zorder=3, label=t("national", lang))
        ax.set_yticks(y, shown["label"])
        ax.xaxis.set_major_formatter(percent_formatter(lang))
        ax.set_xlabel(self._w("Part des sorties à l’issue connue", "Share of exits with a known outcome"))
        ax.set_title(
            self._w(
                f"Situation à la sortie : {self.region} et national", f"Situation at exit: {self.region} and national"
            )
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        add_source(fig, self._source(), lang)
        if len(shown):
            top = shown.loc[shown["share"].idxmax()]
            alt = self._w(
                f"Diagramme en barres : la première situation à la sortie dans la région est « {top['label']} » "
                f"({fmt_pct(top['share'], lang)} des sorties à l’issue connue, {fmt_pct(top['national'], lang)} "
                "au niveau national).",
                f"Bar chart: the most common situation at exit in the region is '{top['label']}' "
                f"({fmt_pct(top['share'], lang)} of exits with a known outcome, {fmt_pct(top['national'], lang)} "
                "nationally).",
            )
        else:
            alt = self._w(
                "Diagramme vide : trop peu de sorties pour publier la répartition.",
                "Empty chart: too few exits to publish the breakdown.",
            )
        html = figure_html(
            fig,
            alt,
            self._w(
                "Répartition des sorties par type ; losanges : part nationale.",
                "Exits by type; diamonds: national share.",
            ),
        )
        return html, {"alt": alt, "points": shown[["category", "n"]]}

    def trend(self) -> Section:
        lang = self.lang
        rates = self.table("trend")
        rates = rates[rates["cohort_year"].notna()].reset_index(drop=True)
        nat = pd.DataFrame(self.national.meta["national"]["trend"])
        nat_rate = dict(zip(nat["cohort_year"].astype(int), nat["rate"]))
        frame = pd.DataFrame(
            {
                "label": rates["cohort_year"].astype(int).astype(str).to_numpy(),
                "year": rates["cohort_year"].astype(int).to_numpy(),
                "n_exits": rates["n_exits"].to_numpy(),
                "n_known": rates["n_known"].to_numpy(),
                "n_positive": rates["n_positive"].to_numpy(),
                "rate": rates["rate"].to_numpy(),
                "ci_low": rates["ci_low"].to_numpy(),
                "ci_high": rates["ci_high"].to_numpy(),
            }
        )
        frame["national"] = frame["year"].map(nat_rate).astype(float)
        table_html, published, sup = self._rate_table(
            frame,
            Column("label", self._w("Année d’entrée", "Year of entry"), "label"),
            self._w("Sorties positives par année d’entrée", "Positive exits by year of entry"),
            extra=[Column("national", self._w("Taux national", "National rate"), "pct")],
            note=self._w(
                "Taux national : toutes les régions, même définition. Les "
                "dernières cohortes comptent encore des jeunes en parcours : "
                "leurs taux reposent sur moins de sorties.",
                "National rate: all regions, same definition. The latest "
                "cohorts still have trainees in the programme: their rates "
                "rest on fewer exits.",
            ),
        )
        fig_html, points = self._trend_figure(frame, sup)
        html = _section_heading("trend", lang) + fig_html + table_html
        return Section(html, tables={"trend": published}, figures=[points])

    def _trend_figure(self, frame, sup) -> tuple[str, dict]:
        from ..plots import HIGHLIGHT, REFERENCE, add_source, new_figure, percent_formatter

        lang = self.lang
        shown = frame[~sup.suppressed["rate"].to_numpy()]
        fig, ax = new_figure(figsize=(8, 4))
        ax.fill_between(
            shown["year"],
            shown["ci_low"],
            shown["ci_high"],
            color=HIGHLIGHT,
            alpha=0.18,
            linewidth=0,
            label=self._w("IC 95 % de la région", "Region's 95% CI"),
        )
        ax.plot(shown["year"], shown["rate"], marker="o", color=HIGHLIGHT, label=self.region)
        ax.plot(
            frame["year"],
            frame["national"],
            linestyle="--",
            color=REFERENCE,
            marker="D",
            markersize=4,
            label=t("national", lang),
        )
        ax.set_xticks(frame["year"], [str(y) for y in frame["year"]])
        ax.yaxis.set_major_formatter(percent_formatter(lang))
        ax.set_ylim(0, 1)
        ax.set_xlabel(self._w("Année d’entrée", "Year of entry"))
        ax.set_ylabel(t("rate", lang))
        ax.set_title(
            self._w(
                f"Taux de sorties positives par année d’entrée : {self.region}",
                f"Positive-exit rate by year of entry: {self.region}",
            )
        )
        ax.legend(loc="lower left", ncols=3)
        add_source(fig, self._source(), lang)
        if len(shown):
            lo, hi = shown["rate"].min(), shown["rate"].max()
            gap = float(np.nanmean(shown["rate"] - shown["national"]))
            where = (
                self._w("proche du", "close to the")
                if abs(gap) < 0.03
                else self._w("au-dessus du", "above the")
                if gap > 0
                else self._w("en dessous du", "below the")
            )
            alt = self._w(
                f"Courbe : de {shown['year'].min()} à {shown['year'].max()}, le taux de sorties positives de la "
                f"région varie entre {fmt_pct(lo, lang)} et {fmt_pct(hi, lang)}, en moyenne {where} taux national.",
                f"Line chart: from {shown['year'].min()} to {shown['year'].max()}, the region's positive-exit "
                f"rate ranges from {fmt_pct(lo, lang)} to {fmt_pct(hi, lang)}, on average {where} national rate.",
            )
        else:
            alt = self._w("Courbe vide : trop peu de sorties par année.", "Empty chart: too few exits per year.")
        caption = self._w(
            "Bande : intervalle de confiance à 95 % ; tirets : taux national calculé sur toutes les "
            "régions avec la même définition.",
            "Band: 95% confidence interval; dashes: national rate over all regions, same definition.",
        )
        return figure_html(fig, alt, caption), {
            "alt": alt,
            "points": shown[["year", "n_known"]].rename(columns={"n_known": "n"}),
        }

    def fair_comparison(self) -> Section:
        lang = self.lang
        skipped = self.national.meta.get("model", {}).get("skipped")
        if skipped:
            from ..report_alerts import model_skipped

            return Section(_section_heading("fair", lang) + model_skipped(skipped))
        sites = self.national.sites
        mine = sites[sites["region"].astype("object") == self.region].reset_index(drop=True)
        small = mine["n"] < self.min_cell
        big = mine[~small].reset_index(drop=True)
        html = _section_heading("fair", lang)
        html += f"<p>{esc(self._w('Chaque site est comparé à ce qu’on attendrait au niveau national de jeunes ayant le même profil à l’entrée (sexe, âge, niveau de formation, QPV, handicap, nationalité, année). Un rapport observé / attendu (O/A) de 1 signifie « comme le pays à public égal ». Les limites en entonnoir montrent jusqu’où le hasard et la variation habituelle entre sites peuvent écarter un site de 1.', 'Each site is compared with what would be expected nationally for young people with the same profile at entry (sex, age, education level, QPV, disability, nationality, year). An observed / expected (O/E) ratio of 1 means “like the country with the same intake”. Funnel limits show how far chance and the usual variation between sites can move a site away from 1.'))}</p>"
        html += f'<h3 id="fair-sites">{esc(self._w("Les sites de la région sur l’entonnoir national", "The region’s sites on the national funnel"))}</h3>'
        fig_html, points = self._funnel_figure(big, k_hidden=int(small.sum()))
        html += fig_html
        # Sites table (small ones grouped, O and E summed).
        table = big[["site", "n", "observed", "expected", "oe_ratio", "lower95", "upper95", "flag95"]].copy()
        table["site"] = table["site"].map(short_site)
        if small.any():
            rest = mine[small]
            o, e = int(rest["observed"].sum()), float(rest["expected"].sum())
            table = pd.concat(
                [
                    table,
                    pd.DataFrame(
                        [
                            {
                                "site": t("other_sites", lang, k=int(small.sum()), m=self.min_cell),
                                "n": int(rest["n"].sum()),
                                "observed": o,
                                "expected": e,
                                "oe_ratio": o / e if e > 0 else np.nan,
                                "lower95": np.nan,
                                "upper95": np.nan,
                                "flag95": "",
                            }
                        ]
                    ),
                ],
                ignore_index=True,
            )
        table["reading"] = table["flag95"].map(self._flag_words).fillna("")
        table["limits"] = [
            "" if pd.isna(lo) else f"{fmt_number(lo, lang, 2)} – {fmt_number(hi, lang, 2)}"
            for lo, hi in zip(table["lower95"], table["upper95"])
        ]
        sup = self._suppress(
            table,
            ["n", "observed"],
            rows_additive=True,
            rates={"oe_ratio": ("observed", "n")},
            derived={"expected": "observed", "reading": "oe_ratio"},
        )
        cols = [
            Column("site", self._w("Site", "Site"), "label"),
            Column("n", self._w("Sorties (issue connue)", "Exits (known outcome)"), "int"),
            Column("observed", self._w("Positives observées", "Observed positive"), "int"),
            Column("expected", self._w("Attendues", "Expected"), "number"),
            Column("oe_ratio", self._w("O/A", "O/E"), "number", 2),
            Column("limits", self._w("Limites à 95 %", "95% limits"), "text"),
            Column("reading", self._w("Lecture", "Reading"), "text"),
        ]
        table_html, published = html_table(
            table,
            cols,
            self._w("Comparaison équitable des sites de la région", "Fair comparison of the region’s sites"),
            lang=lang,
            suppressed=sup,
            note=self._w(
                "Ordre alphabétique, pas un classement. Attendues : sorties "
                "positives qu’aurait un site de même public au niveau national.",
                "Alphabetical order, not a ranking. Expected: positive exits a "
                "site with the same intake would have nationally.",
            ),
        )
        html += table_html
        # The region among the regions.
        html += (
            f'<h3 id="fair-regions">{esc(self._w("La région parmi les régions", "The region among the regions"))}</h3>'
        )
        regions = self.national.region_comparison
        fig2, points2 = self._regions_figure(regions, highlight=self.region)
        html += fig2
        row = regions[regions["region"].astype("object") == self.region]
        html += self._fair_reading(row.iloc[0] if len(row) else None, big)
        return Section(html, tables={"fair_sites": published}, figures=[points, points2])

    def _flag_words(self, flag: str) -> str:
        return {
            "above": self._w("Au-dessus de l’attendu", "Above expected"),
            "below": self._w("En dessous de l’attendu", "Below expected"),
            "within": self._w("Dans la norme", "Within the norm"),
        }.get(flag, "")

    def _funnel_figure(self, big: pd.DataFrame, k_hidden: int) -> tuple[str, dict]:
        """The region's sites only (other regions' sites are not shown, even
        anonymously), against limits from the national comparison."""
        from ..plots.funnel import funnel_plot

        lang = self.lang
        sites = self.national.sites
        shown = big.copy()
        shown["site"] = shown["site"].map(short_site)
        shown.attrs = dict(sites.attrs)
        fig = funnel_plot(
            shown,
            highlight_region=self.region,
            lang=lang,
            min_n=self.min_cell,
            title=self._w(
                f"Sites de {self.region} sur l’entonnoir national", f"{self.region}'s sites on the national funnel"
            ),
            source=self._source(),
        )
        outside = int((big["flag95"] != "within").sum())
        hidden_txt = (
            self._w(
                f" {k_hidden} site(s) de moins de {self.min_cell} sorties ne sont pas représentés.",
                f" {k_hidden} site(s) with fewer than {self.min_cell} exits are not shown.",
            )
            if k_hidden
            else ""
        )
        alt = self._w(
            f"Graphique en entonnoir : {len(big) - outside} des {len(big)} sites de la région sont dans les "
            f"limites à 95 % autour du niveau national, {outside} en dehors.{hidden_txt}",
            f"Funnel plot: {len(big) - outside} of the region's {len(big)} sites are within the 95% limits "
            f"around the national level, {outside} outside.{hidden_txt}",
        )
        caption = self._w(
            f"Limites issues de la comparaison des {len(sites)} sites du pays, avec la variation habituelle "
            "entre sites ; seuls les sites de la région sont représentés.",
            f"Limits from the comparison of the country's {len(sites)} sites, allowing for the usual "
            "variation between sites; only the region's sites are shown.",
        )
        return figure_html(fig, alt, caption), {"alt": alt, "points": big[["site", "n"]]}

    def _regions_figure(self, regions: pd.DataFrame, highlight: str | None) -> tuple[str, dict]:
        return regions_figure(regions, highlight, self.lang, self._source(), self.min_cell)

    def _fair_reading(self, row, big) -> str:
        lang = self.lang
        parts = []
        if row is not None and not _oe_publishable(row.to_frame().T, self.min_cell)[0]:
            # Same rule as the tables (primary + complement): no count, and no O/E or expected
            # either, since observed = O/E x expected.
            words = self._flag_words(row["flag95"]).lower()
            parts.append(
                self._w(
                    f"À profil de stagiaires égal, la région est « {words} » par rapport à l’ensemble des régions ; "
                    f"le détail n’est pas publié (moins de {self.min_cell} sorties dans une des deux issues).",
                    f"With the same trainee profile, the region is “{words}” compared with all regions; the detail is "
                    f"not published (fewer than {self.min_cell} exits with one of the two outcomes).",
                )
            )
        elif row is not None:
            words = self._flag_words(row["flag95"]).lower()
            parts.append(
                self._w(
                    f"À profil de stagiaires égal, la région compte {fmt_int(row['observed'], lang)} sorties positives pour "
                    f"{fmt_number(row['expected'], lang, 0)} attendues (rapport O/A {fmt_number(row['oe_ratio'], lang, 2)}, "
                    f"limites à 95 % : {fmt_number(row['lower95'], lang, 2)} – {fmt_number(row['upper95'], lang, 2)}) : "
                    f"{words} par rapport à l’ensemble des régions.",
                    f"With the same trainee profile, the region has {fmt_int(row['observed'], lang)} positive exits for "
                    f"{fmt_number(row['expected'], lang, 0)} expected (O/E ratio {fmt_number(row['oe_ratio'], lang, 2)}, "
                    f"95% limits: {fmt_number(row['lower95'], lang, 2)}–{fmt_number(row['upper95'], lang, 2)}): "
                    f"{words.lower()} compared with all regions.",
                )
            )
        n_above = int((big["flag95"] == "above").sum())
        n_below = int((big["flag95"] == "below").sum())
        parts.append(
            self._w(
                f"Parmi les {len(big)} sites représentés, {n_above} font mieux et {n_below} moins bien que l’attendu au-delà "
                "de la variation habituelle ; les autres sont dans la norme.",
                f"Of the {len(big)} sites shown, {n_above} do better and {n_below} worse than expected beyond the usual "
                "variation; the others are within the norm.",
            )
        )
        parts.append(
            self._w(
                "Cet ajustement ne tient compte que du profil enregistré à l’entrée : un écart peut aussi venir de ce qui "
                "n’est pas mesuré (marché du travail local, motivation, offre de formation). C’est un signal pour "
                "dialoguer, pas un classement ni une preuve d’efficacité.",
                "This adjustment only accounts for the profile recorded at entry: a gap may also come from what is not "
                "measured (local labour market, motivation, training supply). It is a prompt for dialogue, not a "
                "ranking nor proof of effectiveness.",
            )
        )
        return '<div class="reading">' + "".join(f"<p>{esc(p)}</p>" for p in parts) + "</div>"

    def esf(self) -> Section:
        from ..esf import NON_BINARY_NOTE

        lang = self.lang
        table = self.table(f"esf_{lang}")
        frame = table[["code", "indicator", "women", "men", "sex_unknown", "total"]].copy()
        frame["label"] = frame["code"].astype(str)
        with_unknown = bool((frame["sex_unknown"].fillna(0) > 0).any())
        counts = ["women", "men", "sex_unknown", "total"] if with_unknown else ["women", "men", "total"]
        sup = self._suppress(frame, counts, rows_additive=False, cols_additive=True, total_col="total")
        cols = [
            Column("label", self._w("Code", "Code"), "label"),
            Column("indicator", self._w("Indicateur", "Indicator"), "text"),
            Column("women", self._w("Femmes", "Women"), "int"),
            Column("men", self._w("Hommes", "Men"), "int"),
        ]
        if with_unknown:
            cols.append(Column("sex_unknown", self._w("Sexe non renseigné", "Sex not stated"), "int"))
        cols.append(Column("total", t("total", lang), "int"))
        table_html, published = html_table(
            frame,
            cols,
            self._w(
                f"Indicateurs communs FSE+ des participants ({self.region})",
                f"ESF+ common participant indicators ({self.region})",
            ),
            lang=lang,
            suppressed=sup,
            note=NON_BINARY_NOTE[lang],
        )
        intro = self._w(
            "Indicateurs communs du règlement (UE) 2021/1057, annexe I, que les exports permettent de "
            "calculer, pour tous les stagiaires de la région sur la période. Les codes marqués comme non "
            "confirmés sont à vérifier auprès de l’autorité de gestion.",
            "Common indicators of Regulation (EU) 2021/1057, Annex I, that the exports support, for all "
            "the region's trainees over the period. Codes marked unconfirmed should be checked with the "
            "managing authority.",
        )
        unconfirmed = ", ".join(table.loc[~table["code_confirmed"].astype(bool), "code"].astype(str))
        extra = (
            f'<p class="note">{esc(self._w("Codes non confirmés : ", "Unconfirmed codes: ") + unconfirmed)}</p>'
            if unconfirmed
            else ""
        )
        return Section(
            _section_heading("esf", lang) + f"<p>{esc(intro)}</p>" + table_html + extra, tables={"esf": published}
        )

    def quality(self) -> Section:
        lang = self.lang
        info = self.national.input_info
        flows = self.table("flows").iloc[0]
        q = self.national.meta["quality"]
        rows = [
            (self._w("Lignes reçues (fichier national)", "Rows received (national file)"), info.get("rows_received")),
            (self._w("Lignes retenues (fichier national)", "Rows kept (national file)"), info.get("rows_kept")),
            (self._w("Lignes rejetées (fichier national)", "Rows rejected (national file)"), info.get("rows_rejected")),
            (self._w("Stagiaires de la région retenus", "Region's trainees kept"), int(flows["n_entries"])),
            (self._w("dont encore en parcours", "of whom still in the programme"), int(flows["n_still_in"])),
            (self._w("Sorties dont l’issue est inconnue", "Exits with an unknown outcome"), int(flows["n_unknown"])),
            (
                self._w("dont motif de sortie non renseigné", "of which no exit reason recorded"),
                int(flows["n_unknown_reason"]),
            ),
        ]
        frame = pd.DataFrame(rows, columns=["label", "n"])
        sup = self._suppress(frame, ["n"], rows_additive=False)
        html = _section_heading("quality", lang)
        table_html, published = html_table(
            frame,
            [Column("label", self._w("Étape", "Step"), "label"), Column("n", t("count", lang), "int")],
            self._w("Lignes reçues, retenues et rejetées", "Rows received, kept and rejected"),
            lang=lang,
            suppressed=sup,
        )
        html += table_html
        tables = {"quality": published}
        reasons = q.get("rejected_by_reason", {})
        if reasons:
            from ..cleaning import REJECTION_REASONS

            frame = pd.DataFrame(
                [
                    {"label": (REJECTION_REASONS[k][0 if lang == "fr" else 1] if k in REJECTION_REASONS else k), "n": n}
                    for k, n in reasons.items()
                ]
            )
            sup = self._suppress(frame, ["n"], rows_additive=True)
            table_html, published = html_table(
                frame,
                [
                    Column("label", self._w("Motif de rejet", "Reason for rejection"), "label"),
                    Column("n", self._w("Lignes", "Rows"), "int"),
                ],
                self._w("Lignes rejetées par motif (fichier national)", "Rejected rows by reason (national file)"),
                lang=lang,
                suppressed=sup,
            )
            html += table_html
            tables["quality_rejected"] = published
        html += f'<p class="note">{esc(self._w("Une ligne rejetée ne figure dans aucun chiffre du rapport ; chaque rejet est consigné avec son motif dans le journal de nettoyage remis à l’évaluateur.", "A rejected row is in no figure of the report; each rejection is logged with its reason in the cleaning log given to the evaluator."))}</p>'
        return Section(html, tables=tables)

    def methods(self) -> Section:
        lang = self.lang
        d = self.definition
        model = {"covariates": [], "n": 0, **self.national.meta["model"]}  # "skipped": no model was fitted
        covs = ", ".join(self._var_label(c) for c in model["covariates"])
        date = fmt_date(pd.Timestamp(self.national.meta["generated_at"]).date(), lang)
        sha = self.national.input_info.get("sha256") or self._w(
            "sans objet (données en mémoire)", "n/a (in-memory data)"
        )
        items = [
            (
                self._w("Définition de la sortie positive", "Positive-exit definition"),
                f"{d.label(lang)}. {d.text(lang)}",
            ),
            (
                self._w("Modèle de comparaison", "Comparison model"),
                self._w(
                    f"Régression logistique nationale de la sortie positive sur le profil à l’entrée ({covs}), ajustée une "
                    f"fois sur {fmt_int(model['n'], lang)} sorties à l’issue connue. Sorties attendues d’un site ou d’une "
                    "région : somme des probabilités prédites de ses jeunes (standardisation indirecte). Limites en "
                    "entonnoir de Spiegelhalter (2005) avec une variation additive entre unités estimée sur les données.",
                    f"National logistic regression of a positive exit on the profile at entry ({covs}), fitted once on "
                    f"{fmt_int(model['n'], lang)} exits with a known outcome. Expected exits of a site or region: the sum of "
                    "its trainees' predicted probabilities (indirect standardisation). Spiegelhalter (2005) funnel limits "
                    "with an additive between-unit variation estimated from the data.",
                ),
            ),
            (
                self._w("Confidentialité", "Confidentiality"),
                self._w(
                    f"Aucune donnée individuelle ni identifiant. Toute cellule de moins de {self.min_cell} stagiaires est "
                    f"masquée (« {suppression_marker(self.min_cell)} »), avec masquage secondaire (« {SECONDARY_MARKER} ») pour "
                    "qu’aucune cellule ne se déduise des totaux ; les taux sur moins de ce seuil ne sont pas publiés ; les petits sites sont "
                    "regroupés et absents des graphiques ; les autres régions n’apparaissent qu’agrégées.",
                    f"No individual data and no identifier. Every cell under {self.min_cell} trainees is hidden "
                    f'("{suppression_marker(self.min_cell)}"), with secondary suppression ("{SECONDARY_MARKER}") so that no '
                    "cell can be derived from totals; rates on fewer trainees are not published; small sites are grouped and left out of "
                    "charts; other regions appear only as aggregates.",
                ),
            ),
            (
                self._w("Limites", "Limitations"),
                self._w(
                    "Les chiffres sont descriptifs : ils ne mesurent pas l’effet propre des E2C, faute de groupe de "
                    "comparaison. Les taux nationaux publiés par le Réseau utilisent d’autres définitions.",
                    "Figures are descriptive: they do not measure the E2C's own effect, as there is no comparison group. "
                    "National rates published by the network use other definitions.",
                ),
            ),
            (self._w("Fichier de données", "Data file"), f"{self.data_path or '—'}"),
            ("SHA-256", sha),
            (self._w("Version de la boîte à outils", "Toolkit version"), __version__),
            (self._w("Date de génération", "Generation date"), date),
        ]
        if model.get("skipped"):
            from ..report_alerts import model_skipped_text

            items[1] = (items[1][0], model_skipped_text(model["skipped"]))
        body = "".join(f"<dt>{esc(k)}</dt><dd{HASH_CLASS if k == 'SHA-256' else ''}>{esc(v)}</dd>" for k, v in items)
        return Section(_section_heading("methods", lang) + f'<dl class="methods">{body}</dl>')

    def impact(self) -> Section:
        """Shown only when comparison data are supplied (``comparison_path``):
        the ATT of a positive exit within the region (helper F's estimator),
        its balance and its caveats; otherwise an empty section."""
        if not self.comparison_path:
            return Section("")
        from ..impact import load_impact_frame
        from .impact_section import impact_section

        lang = self.lang
        html = _section_heading("impact", lang)
        try:
            if str(self.comparison_path).endswith(".pkl"):  # cleaned once by prepare_impact
                prepared = pd.read_pickle(self.comparison_path)
                frame, covariates = prepared["data"], prepared["covariates"]
            else:
                design = load_impact_frame(self.comparison_path, definition=self.definition)
                frame = design.analysis_data()
                covariates = [c for c in design.covariates if c != "region"]
            frame = frame[frame["region"].astype("object") == self.region]
            out = impact_section(frame, covariates, lang=lang, min_cell=self.min_cell, figures=True)
        except E2CError as exc:
            text = self._w(
                f"Les données de comparaison fournies ne permettent pas d’estimer un impact pour cette région : {exc}",
                f"The comparison data supplied do not allow an impact estimate for this region: {exc}",
            )
            return Section(html + f'<div class="reading"><p>{esc(text)}</p></div>')
        html += '<div class="reading">' + "".join(f"<p>{esc(p)}</p>" for p in out["text"]) + "</div>"
        summary = out["summary"].copy()
        first = summary.columns[0]
        cols = [Column(first, first, "label")] + [Column(c, c, "text") for c in summary.columns[1:]]
        table_html, published = html_table(
            summary, cols, self._w("Estimation de l’effet", "Effect estimate"), lang=lang
        )
        html += table_html
        love = out["figures"].get("love")
        if love is not None:
            alt = getattr(love, "alt_text", None) or self._w(
                "Graphique d’équilibre : écarts standardisés des caractéristiques avant et après pondération.",
                "Balance plot: standardised differences of characteristics before and after weighting.",
            )
            html += figure_html(
                love,
                alt,
                self._w(
                    "Équilibre des caractéristiques entre stagiaires et groupe de comparaison.",
                    "Balance of characteristics between trainees and the comparison group.",
                ),
            )
        return Section(html, tables={"impact": published})

    def all_sections(self) -> list[Section]:
        """Every section in report order (the plain-Python path and tests use it)."""
        return [
            self.title_block(),
            self.contents(),
            self.headline(),
            self.profile(),
            self.exits(),
            self.trend(),
            self.fair_comparison(),
            self.esf(),
            self.impact(),
            self.quality(),
            self.methods(),
        ]


# --------------------------------------------------------------------------
# Regions compared (index page and region reports)
# --------------------------------------------------------------------------
def _oe_publishable(units: pd.DataFrame, min_cell: int) -> np.ndarray:
    """Units whose O/E may be shown: at least ``min_cell`` exits and no outcome (positive or
    not) with 1 to ``min_cell`` - 1 exits, since observed = O/E x expected."""
    n = units["n"].to_numpy(dtype=float)
    observed = units["observed"].to_numpy(dtype=float)
    failures = n - observed
    return (n >= min_cell) & ~((observed > 0) & (observed < min_cell)) & ~((failures > 0) & (failures < min_cell))


def regions_figure(
    regions: pd.DataFrame, highlight: str | None, lang: str, source: str, min_cell: int = DEFAULT_MIN_CELL
) -> tuple[str, dict]:
    """Every region's O/E ratio with its 95 % limits (regional aggregates only),
    in the official region order, not ranked; regions with too few exits
    (see :func:`_oe_publishable`) are left out."""
    from ..plots import HIGHLIGHT, NEUTRAL, REFERENCE, add_source, new_figure, number_formatter

    regions = regions[_oe_publishable(regions, min_cell)]
    order = [r for r in schema.REGION_NAMES if r in set(regions["region"].astype("object"))]
    frame = regions.set_index(regions["region"].astype("object")).loc[order].reset_index(drop=True)
    fig, ax = new_figure(figsize=(8, 0.42 * len(frame) + 1.6))
    y = np.arange(len(frame))[::-1]
    colours = [HIGHLIGHT if r == highlight else (NEUTRAL if highlight else "#0072B2") for r in frame["region"]]
    ax.hlines(y, frame["lower95"], frame["upper95"], color="#B0B0B0", linewidth=6, alpha=0.6)
    markers = {"above": "^", "below": "v"}  # flags by shape, not by colour alone
    for flag in ("within", "above", "below"):
        sel = (frame["flag95"] == flag).to_numpy()
        if sel.any():
            ax.scatter(
                frame["oe_ratio"][sel],
                y[sel],
                color=np.asarray(colours, dtype=object)[sel],
                marker=markers.get(flag, "o"),
                s=60 if flag != "within" else 50,
                zorder=3,
            )
    ax.axvline(1, color=REFERENCE, linestyle="--", linewidth=1)
    ax.xaxis.set_major_formatter(number_formatter(lang, 2))
    ax.set_yticks(y, frame["region"].astype(str))
    if highlight:
        for label in ax.get_yticklabels():
            if label.get_text() == highlight:
                label.set_fontweight("bold")
    ax.set_xlabel(
        "Rapport observé / attendu (1 = comme le pays à public égal)"
        if lang == "fr"
        else "Observed / expected ratio (1 = like the country with the same intake)"
    )
    ax.set_title("Les régions comparées à public égal" if lang == "fr" else "Regions compared with the same intake")
    add_source(fig, source, lang)
    above = frame.loc[frame["flag95"] == "above", "region"].astype(str).tolist()
    below = frame.loc[frame["flag95"] == "below", "region"].astype(str).tolist()
    if lang == "fr":
        alt = (
            f"Graphique des {len(frame)} régions : rapport observé / attendu et limites à 95 %. "
            + (f"Au-dessus de l’attendu : {', '.join(above)}. " if above else "Aucune région au-dessus de l’attendu. ")
            + (f"En dessous : {', '.join(below)}." if below else "Aucune en dessous.")
        )
        if highlight:
            row = frame[frame["region"] == highlight]
            if len(row):
                alt += f" {highlight} : {fmt_number(row['oe_ratio'].iat[0], lang, 2)}."
        caption = (
            "Régions dans l’ordre officiel, pas un classement ; barres grises : limites à 95 % autour de 1 ; "
            "triangles : au-dessus (pointe en haut) ou en dessous (pointe en bas) de l’attendu."
        )
    else:
        alt = (
            f"Chart of the {len(frame)} regions: observed / expected ratio and 95% limits. "
            + (f"Above expected: {', '.join(above)}. " if above else "No region above expected. ")
            + (f"Below: {', '.join(below)}." if below else "None below.")
        )
        if highlight:
            row = frame[frame["region"] == highlight]
            if len(row):
                alt += f" {highlight}: {fmt_number(row['oe_ratio'].iat[0], lang, 2)}."
        caption = (
            "Regions in official order, not a ranking; grey bars: 95% limits around 1; triangles: above "
            "(pointing up) or below (pointing down) expected."
        )
    return figure_html(fig, alt, caption), {"alt": alt, "points": frame[["region", "n"]]}


def index_figure(national: NationalWork, lang: str = "fr") -> str:
    """The index page's figure: every region compared with the same intake (HTML)."""
    source = t("source_data", lang, data=national.input_info.get("name", "—"))
    if national.meta.get("model", {}).get("skipped"):
        return ""
    return regions_figure(national.region_comparison, None, lang, source, national.meta["min_cell"])[0]


def index_body(national: NationalWork, results, lang: str = "fr", figure: str | None = None) -> str:
    """The index page: national summary, the regions compared fairly, links to every report.

    ``figure``: the HTML of :func:`index_figure` when already drawn (the batch
    draws it while the region notebooks run)."""
    meta = national.meta
    rate = meta["national"]["rate"]
    flows = meta["national"]["flows"]
    def w(fr, en):
        return fr if lang == "fr" else en
    t("source_data", lang, data=national.input_info.get("name", "—"))
    date = fmt_date(pd.Timestamp(meta["generated_at"]).date(), lang)
    html = (
        f'<header class="title-block"><p class="kicker">{esc(t("kicker", lang))}</p>'
        f"<h1>{esc(index_title(national.period.replace('-', '–'), lang))}</h1>"
        f'<p class="subtitle">{esc(w("Synthèse nationale et rapports de chaque région", "National summary and each region’s report"))}</p>'
        f'<p class="meta">{esc(t("meta", lang, data=national.input_info.get("name", "—"), definition=get_definition(national.definition).label(lang), date=date, version=__version__))}</p></header>'
    )
    html += f'<h2 id="national">{esc(w("Synthèse nationale", "National summary"))}</h2>'
    from ..report_alerts import alert_banner, rate_card  # national alerts; a national rate over 50 % unknown withheld

    html += alert_banner(meta.get("national_alerts", []))
    cards = [
        (t("trainees", lang), fmt_int(flows["n_entries"], lang), ""),
        (
            t("exits_n", lang),
            fmt_int(flows["n_exits"], lang),
            w(
                f"dont {fmt_int(rate['n_known'], lang)} à l’issue connue",
                f"of which {fmt_int(rate['n_known'], lang)} with a known outcome",
            ),
        ),
        (
            t("rate", lang),
            fmt_pct(rate["rate"], lang),
            w("IC 95 % : ", "95% CI: ")
            + fmt_rate_ci(rate["rate"], rate["ci_low"], rate["ci_high"], lang).split("[", 1)[1].rstrip("]"),
        ),
    ]
    cards[2] = (cards[2][0], *rate_card(meta.get("national_alerts", []), cards[2][1], cards[2][2]))
    html += (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><p class="label">{esc(a)}</p><p class="value">{esc(b)}</p><p class="ci">{esc(c)}</p></div>'
            for a, b, c in cards
        )
        + "</div>"
    )
    html += f'<h2 id="regions">{esc(w("Les régions comparées à public égal", "Regions compared with the same intake"))}</h2>'
    html += f"<p>{esc(w('Chaque région est comparée à ce qu’on attendrait au niveau national de jeunes ayant le même profil à l’entrée. Un rapport observé / attendu de 1 signifie « comme le pays à public égal » ; les barres montrent la marge due au hasard et à la variation habituelle entre régions. Ce n’est pas un classement.', 'Each region is compared with what would be expected nationally for young people with the same profile at entry. An observed / expected ratio of 1 means “like the country with the same intake”; the bars show the margin due to chance and the usual variation between regions. This is not a ranking.'))}</p>"
    html += figure if figure is not None else index_figure(national, lang)
    regions = national.region_comparison.set_index(national.region_comparison["region"].astype("object"))
    status = {r.region: r for r in results}
    rows = []
    for name in schema.REGION_NAMES:
        if name not in regions.index:
            continue
        row = regions.loc[name]
        res = status.get(name)
        if res is None:
            link = esc(w("non demandé", "not requested"))
        elif res.ok:
            link = f'<a href="{esc(Path(res.html).name)}">{esc(w("Lire le rapport", "Read the report"))}<span class="visually-hidden"> {esc(name)}</span></a>'
        else:
            link = f'<span class="status-failed">{esc(w("échec de production", "failed"))}</span>'
        reading = {
            "above": w("Au-dessus de l’attendu", "Above expected"),
            "below": w("En dessous de l’attendu", "Below expected"),
            "within": w("Dans la norme", "Within the norm"),
        }.get(row["flag95"], "")
        n_txt = (
            fmt_int(row["n"], lang)
            if row["n"] >= national.meta["min_cell"]
            else suppression_marker(national.meta["min_cell"])
        )
        if _oe_publishable(row.to_frame().T, national.meta["min_cell"])[0]:
            oe_txt = fmt_number(row["oe_ratio"], lang, 2)
            limits_txt = f"{fmt_number(row['lower95'], lang, 2)} – {fmt_number(row['upper95'], lang, 2)}"
        else:  # observed = O/E x expected: not shown on too few exits
            oe_txt, limits_txt, reading = SECONDARY_MARKER, SECONDARY_MARKER, ""
        rows.append(
            f'<tr><th scope="row">{esc(name)}</th><td class="num count">{esc(n_txt)}</td>'
            f'<td class="num">{esc(oe_txt)}</td><td class="num">{esc(limits_txt)}</td>'
            f"<td>{esc(reading)}</td><td>{link}</td></tr>"
        )
    head = [
        w("Région", "Region"),
        w("Sorties à l’issue connue", "Exits with a known outcome"),
        w("Rapport O/A", "O/E ratio"),
        w("Limites à 95 %", "95% limits"),
        w("Lecture", "Reading"),
        w("Rapport", "Report"),
    ]
    caption = w("Régions : comparaison à public égal et rapports", "Regions: fair comparison and reports")
    html += (
        f'<div class="table-wrap" tabindex="0" role="region" aria-label="{esc(caption)}"><table><caption>'
        + esc(caption)
        + "</caption><thead><tr>"
        + "".join(f'<th scope="col">{esc(h)}</th>' for h in head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )
    html += f'<p class="note">{esc(w("Comparaison ajustée du profil à l’entrée seulement : un écart peut venir de ce qui n’est pas mesuré. Détails et méthodes dans chaque rapport.", "Adjusted for the profile at entry only: a gap may come from what is not measured. Details and methods in each report."))}</p>'
    html += (
        f'<footer class="provenance">{esc(w("Fichier", "File"))} : {esc(national.input_info.get("name", "—"))} · SHA-256 '
        f'<span class="hash">{esc(national.input_info.get("sha256") or "—")}</span> · {esc(w("boîte à outils E2C", "E2C toolkit"))} {esc(__version__)}</footer>'
    )
    return html
