"""National work, done once per batch: clean the export, fit the national
expected model, compare sites and regions, and compute every region's
aggregated tables in one vectorised pass.

The results are data: the aggregated tables are written as Parquet files and
the national figures, data quality and provenance as ``national.json`` in a
work folder (no pickle, no trainee-level file). The page content of every
region and of the index is then built from them (:mod:`.build`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__, schema
from ..config import DEFAULT_MIN_CELL
from ..definitions import get_definition
from ..errors import ReportError

__all__ = [
    "NationalWork",
    "compute_national",
    "prepare_impact",
    "load_impact_rows",
    "regional_tables",
    "PROFILE_VARIABLES",
    "SUBGROUP_VARIABLES",
    "MIX_CATEGORIES",
]

PROFILE_VARIABLES = ("sex", "age_band", "education_level", "qpv", "disability", "referrer")
SUBGROUP_VARIABLES = ("sex", "age_band", "education_level", "qpv", "disability")
MIX_CATEGORIES = ("job", "work_study", "training", "other")


@dataclass
class NationalWork:
    """Results of the national work, kept in memory and saved in ``work_dir``.

    Files: one Parquet file per aggregated table (``tables/<name>.parquet``:
    every region's rows, see :func:`regional_tables`), ``sites.parquet`` and
    ``regions.parquet`` (the national comparisons of sites and regions), and
    ``national.json`` (national aggregates, data quality, model, provenance).
    """

    work_dir: Path
    period: str
    definition: str
    regions: list[str]
    input_info: dict
    meta: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    sites: pd.DataFrame | None = None
    region_comparison: pd.DataFrame | None = None
    schools: pd.DataFrame | None = None  # the national comparison of schools (the funded bodies)
    content: object = None  # the pages' content once built (:class:`toolkit.reports.build.BatchContent`)
    _by_region: dict = field(default_factory=dict, repr=False)

    def save(self) -> None:
        """Write the tables as Parquet and the national figures as JSON."""
        folder = self.work_dir / "tables"
        folder.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables.items():
            _storable(table).to_parquet(folder / f"{name}.parquet", index=False)
        for name, table in (("sites", self.sites), ("regions", self.region_comparison), ("schools", self.schools)):
            if table is None:
                continue
            out = table.copy()
            out.attrs = {}
            out.to_parquet(self.work_dir / f"{name}.parquet", index=False)
        attrs = {"sites": _plain(self.sites.attrs), "regions": _plain(self.region_comparison.attrs)}
        if self.schools is not None:
            attrs["schools"] = _plain(self.schools.attrs)
        (self.work_dir / "national.json").write_text(
            json.dumps({**self.meta, "attrs": attrs}, ensure_ascii=False, default=_json_default, indent=1),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, work_dir: str | Path) -> NationalWork:
        """Read a work folder written by :meth:`save`."""
        work_dir = Path(work_dir)
        try:
            meta = json.loads((work_dir / "national.json").read_text(encoding="utf-8"))
            tables = {p.stem: _restored(pd.read_parquet(p)) for p in sorted((work_dir / "tables").glob("*.parquet"))}
            sites = pd.read_parquet(work_dir / "sites.parquet")
            regions = pd.read_parquet(work_dir / "regions.parquet")
            schools = pd.read_parquet(work_dir / "schools.parquet") if (work_dir / "schools.parquet").exists() else None
        except OSError as exc:
            raise ReportError(f"{work_dir} : résultats nationaux introuvables ({exc}). Lancez build_reports.") from exc
        attrs = meta.pop("attrs", {})
        sites.attrs, regions.attrs = attrs.get("sites", {}), attrs.get("regions", {})
        if schools is not None:
            schools.attrs = attrs.get("schools", {})
        return cls(
            work_dir,
            meta["period"],
            meta["definition"],
            meta["regions"],
            meta["input"],
            meta,
            tables,
            sites,
            regions,
            schools,
        )

    def region_table(self, name: str, region: str) -> pd.DataFrame:
        """One of the regional tables, restricted to ``region`` (region column dropped; a copy)."""
        if name not in self._by_region:  # split once per table, not once per region
            table = self.tables[name]
            self._by_region[name] = {
                str(key): part.drop(columns="region").reset_index(drop=True)
                for key, part in table.groupby(table["region"].astype("object"), sort=False)
            }
        part = self._by_region[name].get(region)
        return part.copy() if part is not None else self.tables[name].drop(columns="region").iloc[0:0]


_BOOL_TEXT = {"True": True, "False": False}


def _storable(table: pd.DataFrame) -> pd.DataFrame:
    """Parquet needs one type per column: a ``code`` column mixing yes/no codes and text codes becomes text."""
    out = table.copy()
    for column in out.columns:
        if out[column].dtype == object and out[column].map(type).nunique() > 1:
            out[column] = out[column].astype("string")
    return out


def _restored(table: pd.DataFrame) -> pd.DataFrame:
    """The yes/no codes of a mixed ``code`` column back as booleans."""
    if "code" in table.columns and table["code"].dtype == "string":
        values = table["code"].astype(object)
        table["code"] = values.where(~values.isin(list(_BOOL_TEXT)), values.map(_BOOL_TEXT))
    return table


def _plain(attrs: dict) -> dict:
    """The JSON-able part of a DataFrame's ``attrs`` (the funnel limits' parameters)."""
    return {k: v for k, v in attrs.items() if isinstance(v, (int, float, str, bool, np.integer, np.floating))}


def _sha256(path: Path) -> str:
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


def compute_national(
    data=None,
    work_root: str | Path | None = None,
    *,
    definition=None,
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
        Raw export (default: ``config.resolve_data_path()``), or the Parquet
        that ``e2c clean --out`` writes.
    mapping, situations : path, optional
        The school's mapping file and the situations table of a two-table export.
    work_root : path
        ``<work_root>/<period>/national/`` receives the files.
    definition, min_cell, period
        As in :func:`toolkit.reports.build_reports`.

    Returns
    -------
    NationalWork
    """
    from ..cleaned_io import clean_or_load  # a raw export (with its mapping), or the Parquet of `e2c clean --out`
    from ..config import REPORTS_DIR
    from ..esf_filing import esf_frame_columns
    from ..report_alerts import national_extras

    d = get_definition(definition)
    source, input_info = _source(data)
    cleaned = clean_or_load(source, definition=d, progress=progress, mapping=mapping, situations=situations)
    frame = cleaned.data
    if "group" in frame.columns:  # a comparison group is not E2C activity
        frame = frame[frame["group"].astype("object").fillna("e2c") != "comparaison"]
    label, years = _period_years(period, frame["cohort_year"])
    frame = frame[frame["cohort_year"].isin(years)].reset_index(drop=True)
    frame = frame.assign(**esf_frame_columns(frame))  # what the ESF+ cells filter on (year of exit, EECR04 steps)
    frame.attrs["definition"] = d.name
    work_dir = Path(work_root if work_root is not None else REPORTS_DIR / "_work") / label / "national"
    work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    sites, regions_cmp, model, schools = _comparisons(frame, d)
    summary = dict(cleaned.summary) if cleaned.summary is not None else {}
    national = _national_figures(frame, d)
    present = [r for r in schema.REGION_NAMES if r in set(frame["region"].astype("object").dropna())]
    input_info |= {
        "rows_received": int(summary.get("rows_received", len(cleaned.data) + len(cleaned.rejected))),
        "rows_kept": int(summary.get("rows_kept", len(cleaned.data))),
        "rows_rejected": int(summary.get("rows_rejected", len(cleaned.rejected))),
    }
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
        "quality": _quality(cleaned, summary),
        "model": model,
    }
    meta |= national_extras(frame, d) | {"follow_up_months": d.follow_up_months}  # unknown-outcome alerts
    work = NationalWork(
        work_dir, label, d.name, present, input_info, meta, regional_tables(frame, d, min_cell), sites, regions_cmp
    )
    work.schools = schools
    work.save()
    work.frame = frame  # trainee-level, in memory only: disclosure control's attacker needs it
    return work


def _comparisons(frame: pd.DataFrame, d) -> tuple[pd.DataFrame, pd.DataFrame, dict, pd.DataFrame]:
    """Sites, regions (and, last, schools) compared with the national expected model, and the model's description.

    When no model can be fitted (every known outcome the same, or none), the comparisons keep their
    counts without ratios and the model is ``{"skipped": reason}``: the pages say why they leave it out.
    """
    from ..compare import compare_units, fit_expected_model
    from ..errors import ModelError
    from ..report_alerts import units_without_model

    try:
        expected = fit_expected_model(frame, definition=d)
    except ModelError as exc:
        skipped = {"skipped": str(exc)}
        return units_without_model(frame, "site"), units_without_model(frame, "region"), skipped, None
    sites = compare_units(frame, "site", expected)
    regions_cmp = compare_units(frame, "region", expected)
    schools = compare_units(frame, "school", expected)
    return (
        sites,
        regions_cmp,
        {
            "covariates": list(expected.covariates),
            "n": int(expected.n),
            "national_rate": float(expected.national_rate),
            "site_tau2": float(sites.attrs.get("tau2_used", 0.0)),
            "region_tau2": float(regions_cmp.attrs.get("tau2_used", 0.0)),
            "n_sites": int(len(sites)),
            "n_regions": int(len(regions_cmp)),
        },
        schools,
    )


def _source(data) -> tuple[object, dict]:
    """What to clean, and its provenance (file name and SHA-256, or an in-memory frame)."""
    from ..datasets import resolve_data_path

    if isinstance(data, pd.DataFrame):
        return data, {"name": "DataFrame", "sha256": None}
    from ..synth import is_synthetic_export

    path = resolve_data_path(data)
    info = {"name": path.name, "path": str(path), "sha256": _sha256(path)}
    return path, info | {"synthetic": is_synthetic_export(path)}  # the pages then carry a "fictitious" banner


def _national_figures(frame: pd.DataFrame, d) -> dict:
    """The national flows, rate, exit mix, profile and trend (the pages' national reference)."""
    from ..indicators import exit_mix, flow_counts, positive_exit_rates, profile

    trend = positive_exit_rates(frame, "cohort_year", definition=d).drop(columns="definition")
    return {
        "flows": flow_counts(frame, definition=d).iloc[0].drop("definition").astype(int).to_dict(),
        "rate": positive_exit_rates(frame, definition=d).iloc[0].drop("definition").to_dict(),
        "mix": exit_mix(frame).to_dict(orient="records"),
        "profile": profile(frame, PROFILE_VARIABLES, national=False).to_dict(orient="records"),
        "trend": trend.to_dict(orient="records"),
    }


def _quality(cleaned, summary: dict) -> dict:
    """Rejected rows by reason code only: the cleaning log's reason texts quote row values."""
    reasons = {}
    if len(cleaned.rejected):
        counts = cleaned.rejected["reason_code"].astype("object").value_counts()
        reasons = {str(code): int(n) for code, n in counts.items() if n}
    return {
        "rejected_by_reason": reasons,
        "rejected_by_region": _rejected_by_region(cleaned.rejected),
        "summary": {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in summary.items()},
    }


def prepare_impact(comparison, work_dir: str | Path, definition=None) -> Path:
    """Clean an impact design once for every region
    (:func:`toolkit.impact.load_impact_frame`) and save what the regions'
    impact sections need: the rows with a known outcome, reduced to the
    covariates, ``treated``, ``outcome`` and ``region`` (no identifier), as
    Parquet, the covariate list in its metadata. The batch deletes the file
    once the reports are written.

    Returns
    -------
    Path
        ``<work_dir>/impact.parquet``.
    """
    from ..impact import load_impact_frame

    design = load_impact_frame(comparison, definition=get_definition(definition))
    covariates = [c for c in design.covariates if c != "region"]
    frame = design.analysis_data()[[*covariates, "treated", "outcome", "region"]].reset_index(drop=True)
    path = Path(work_dir) / "impact.parquet"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), b"e2c_covariates": json.dumps(covariates).encode("utf-8")}
    pq.write_table(table.replace_schema_metadata(metadata), path)
    return path


def load_impact_rows(path: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """The rows and covariates written by :func:`prepare_impact`."""
    table = pq.read_table(path)
    covariates = json.loads(table.schema.metadata[b"e2c_covariates"].decode("utf-8"))
    return table.to_pandas(), covariates


def regional_tables(frame: pd.DataFrame, definition, min_cell: int) -> dict:
    """Every region's aggregated tables, in one vectorised pass over the national frame.

    Returns
    -------
    dict
        ``flows``, ``rates``, ``profile``, ``mix``, ``trend`` and
        ``by_<variable>`` (for each of :data:`SUBGROUP_VARIABLES`): the
        :mod:`toolkit.indicators` tables grouped by ``region`` first;
        ``sites``: one row per region and site (sites with fewer than
        ``min_cell`` exits merged into one row whose ``site`` is NA and
        ``n_sites`` says how many), columns ``region``, ``site``, ``school`` (NA when grouped), ``n_sites``,
        ``n_exits``, ``n_known``, ``n_positive``, the exit-mix counts
        (``job``, ``work_study``, ``training``, ``other``, ``unknown``),
        ``rate``, ``ci_low``, ``ci_high``, ``members`` (the site codes of the row, joined
        by ``|``); ``esf_years``, ``esf_scope``, ``esf_eecr04``: every region's ESF+ filing figures
        (:func:`toolkit.esf_filing.esf_regional_tables`).
    """
    from ..esf_filing import esf_regional_tables
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
    sites["members"] = sites["site"].astype(str)  # the sites a row counts: the cell key of a grouped row
    sites["site"] = sites["site"].where(~small)  # NA: "other sites" of the region
    sites["n_sites"] = 1
    counts = ["n_sites", "n_exits", "n_known", "n_positive", *MIX_CATEGORIES, "unknown"]
    groups = ["region", sites["site"].fillna("__other_sites__")]
    members = sites.sort_values("members").groupby(groups, sort=True)["members"].agg("|".join)
    sites = sites.groupby(groups, sort=True)[counts].sum().join(members).reset_index()
    sites["site"] = sites["site"].where(sites["site"] != "__other_sites__")
    school_of = _school_of_sites(frame)
    sites["school"] = sites["site"].astype("object").map(school_of).astype("object")  # NA for "other sites"
    sites = sites.sort_values(["region", "site"], na_position="last", kind="stable").reset_index(drop=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        sites["rate"] = np.where(sites["n_known"] > 0, sites["n_positive"] / sites["n_known"].clip(lower=1), np.nan)
    sites["ci_low"], sites["ci_high"] = wilson_interval(sites["n_positive"], sites["n_known"])
    tables["sites"] = sites
    tables.update(esf_regional_tables(frame))
    return tables


def _school_of_sites(frame: pd.DataFrame) -> dict:
    """Each site's school (the school of most of its trainees): the funded body a site belongs to."""
    if "school" not in frame.columns:
        return {}
    pairs = frame[["site", "school"]].astype("object").dropna()
    counts = pairs.groupby(["site", "school"], sort=False).size().reset_index(name="n")
    top = counts.sort_values(["n", "school"], ascending=[False, True]).drop_duplicates("site")
    return dict(zip(top["site"].astype(str), top["school"].astype(str)))


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)
