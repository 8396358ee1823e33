"""Seeded synthetic trainee exports with a known data-generating process.

The generator writes what a national E2C export looks like (the raw contract of
:mod:`toolkit.schema`, French headers, every value a string) and keeps the
truth beside it, so that cleaning, indicators and models can be tested against
known answers.

The data-generating process
---------------------------
* A fixed, fictitious network: 13 regions (12 metropolitan and La Réunion),
  55 schools, 156 sites. Site sizes, intake mix and school habits (date format,
  label spellings...) are drawn from the seed.
* Trainee profiles calibrated on the published figures of the E2C network: about 50 % women,
  ages 16-30 (about a quarter minors), 33 % QPV, 10 % rural, 12 % non-EU,
  2 % EU, 5 % RQTH, about 90 % below CAP/BEP, referred mostly by the Mission
  locale. Entries all year round; a parcours lasts about 6 months.
* Positive exit (the project definition) drawn for every trainee from::

      logit P(positive_exit) = intercept + sum_k beta_k x_k + u_site

  with neutral covariate names (``sex[M]``, ``age_at_entry``,
  ``education_level[niveau_3]``... ``cohort_year[<year>]``, ``region[<name>]``),
  site random intercepts ``u_site ~ N(0, site_sd)`` and a few planted sites set
  to +/- ``planted_effect``. The intercept is solved so that the mean
  probability is ``target_positive_rate``.
* The drawn outcome is written into ``motif_sortie`` and the situation dates so
  that :func:`toolkit.definitions.positive_exit` ('projet') gives it back
  exactly, for every exit whose outcome is known. Some exits have an unknown
  outcome: a few percent at random (planted) and the exits too recent for the
  situation to have been confirmed at the extraction date (censored); both are
  independent of the outcome given the covariates.
* Covariates are then masked completely at random (MCAR), so complete-case fits
  stay unbiased.
* ``messy=True`` adds the mess of real exports: label variants, old region names
  and INSEE codes, old and new education levels, mixed date formats, decimal
  commas, boolean spellings, invalid rows, exact duplicates and identifier
  columns with fake values (``nom``, ``prenom``, ``email``, ``telephone``,
  ``num_secu``).

Fake identifiers are built so that they cannot belong to anyone: random
first-name/surname pairs, e-mails at the reserved ``example.*`` domains, phone
numbers in the ARCEP range reserved for fiction (06 39 98 xx xx), and
NIR-like numbers with a valid key but a "born abroad" country code (99 9xx)
that INSEE does not use.
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import pandas as pd

from .. import schema
from ..config import SYNTH_DATA_DIR
from ..errors import E2CError
from ..i18n import _
from .comparison import COMPARISON_COVARIATES, generate_comparison
from .core import DEFAULT_EXPORT_NAME, DEFAULT_SEED, DEFAULT_YEARS, GENERATOR_VERSION, SynthExport, _settings
from .export import generate_export
from .network import network_geography

__all__ = [
    "SynthExport",
    "GENERATOR_VERSION",
    "DEFAULT_SEED",
    "DEFAULT_YEARS",
    "DEFAULT_EXPORT_NAME",
    "network_geography",
    "generate_export",
    "generate_comparison",
    "write_export",
    "default_export_path",
    "is_synthetic_export",
    "COMPARISON_COVARIATES",
]


# Writing exports (here, in the package namespace, so that default_export_path finds write_export
# and _default_stamp where tests replace them).
_SUFFIX = {"csv": ".csv", "xlsx": ".xlsx", "parquet": ".parquet"}


def write_export(
    directory: str | os.PathLike = SYNTH_DATA_DIR,
    *,
    seed: int = DEFAULT_SEED,
    fmt: str = "csv",
    encoding: str = "cp1252",
    sep: str = ";",
    name: str = DEFAULT_EXPORT_NAME,
    comparison: bool = False,
    **kwargs,
) -> Path:
    """Generate an export and write it, with ``truth.json`` and ``truth_rows.parquet`` beside it.

    One export per directory: writing again replaces the export and its truth.

    Parameters
    ----------
    directory : path
        Output folder (created if needed); default ``data/synthetic/``.
    seed : int
        Generator seed.
    fmt : {'csv', 'xlsx', 'parquet'}
        File format. CSV is written as Excel does in France: ``;`` separator and
        Windows-1252 by default.
    encoding : str
        CSV encoding ('cp1252' by default; 'utf-8' or 'utf-8-sig' for a BOM).
    sep : str
        CSV separator (';' by default; ',' or '\\t' also read by the toolkit).
    name : str
        File name without suffix.
    comparison : bool
        Write :func:`generate_comparison` (with a ``groupe`` column) instead of
        :func:`generate_export`.
    **kwargs
        Passed to the generator (``trainees_per_year``, ``years``, ``messy``...).

    Returns
    -------
    Path
        The export file.
    """
    if fmt not in _SUFFIX:
        raise E2CError(_("Format inconnu : {fmt!r}. Formats possibles : {v1}.", fmt=fmt, v1=", ".join(_SUFFIX)))
    export = generate_comparison(seed=seed, **kwargs) if comparison else generate_export(seed=seed, **kwargs)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}{_SUFFIX[fmt]}"
    tmp = directory / f".{name}.{os.getpid()}.tmp{_SUFFIX[fmt]}"
    if fmt == "csv":
        try:
            export.raw.to_csv(tmp, sep=sep, index=False, encoding=encoding)
        except UnicodeEncodeError as exc:  # pragma: no cover - every generated label is cp1252-safe
            tmp.unlink(missing_ok=True)
            raise E2CError(
                _("{path} : encodage {encoding} impossible ({exc}).", path=path, encoding=encoding, exc=exc)
            ) from exc
    elif fmt == "xlsx":
        _with_excel_dates(export.raw).to_excel(tmp, index=False, sheet_name="Export", engine="openpyxl")
    else:
        export.raw.to_parquet(tmp, index=False)
    truth = dict(export.truth)
    truth["file"] = {
        "name": path.name,
        "format": fmt,
        "encoding": encoding if fmt == "csv" else None,
        "sep": sep if fmt == "csv" else None,
    }
    rows_tmp = directory / f".truth_rows.{os.getpid()}.tmp.parquet"
    export.rows.to_parquet(rows_tmp, index=False)
    truth_tmp = directory / f".truth.{os.getpid()}.tmp.json"
    truth_tmp.write_text(json.dumps(truth, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    os.replace(rows_tmp, directory / "truth_rows.parquet")
    os.replace(truth_tmp, directory / "truth.json")
    return path


def _with_excel_dates(raw: pd.DataFrame) -> pd.DataFrame:
    """dd/mm/yyyy cells of the date columns as real Excel dates, as a spreadsheet would hold them;
    ISO-formatted cells (some schools) and broken dates stay text."""
    out = raw.copy()
    for col in (c.name for c in schema.RAW_COLUMNS if c.kind == "date" and c.name in raw.columns):
        parsed = pd.to_datetime(raw[col], format="%d/%m/%Y", errors="coerce")
        ok = parsed.notna().to_numpy()
        values = raw[col].to_numpy(dtype=object, na_value=None)
        values[ok] = parsed[ok].dt.to_pydatetime()
        out[col] = pd.Series(values, index=raw.index, dtype=object)
    return out


def _default_stamp() -> dict:
    settings = _settings(
        generate_export, {name: p.default for name, p in inspect.signature(generate_export).parameters.items()}
    )
    settings["seed"] = DEFAULT_SEED
    return {
        "version": GENERATOR_VERSION,
        "seed": DEFAULT_SEED,
        "settings": settings,
        "file": {"name": f"{DEFAULT_EXPORT_NAME}.csv", "format": "csv", "encoding": "cp1252", "sep": ";"},
    }


def is_synthetic_export(path: str | os.PathLike) -> bool:
    """True when ``path`` was written by :func:`write_export` (the embedded default or an ``e2c synth``
    export): its ``truth.json`` sidecar, beside it, names this very file. A school's export has none."""
    path = Path(path)
    try:
        truth = json.loads((path.parent / "truth.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    file = truth.get("file") if isinstance(truth, dict) else None
    return isinstance(file, dict) and file.get("name") == path.name and "seed" in truth


def default_export_path(directory: str | os.PathLike = SYNTH_DATA_DIR) -> Path:
    """The synthetic national default export, generated on first use and reused after.

    It is regenerated when ``truth.json`` is missing or was written by another
    generator version, seed or settings.

    Returns
    -------
    Path
        ``data/synthetic/export_e2c_synthetique.csv`` (semicolon, Windows-1252).
    """
    directory = Path(directory)
    path = directory / f"{DEFAULT_EXPORT_NAME}.csv"
    truth_path = directory / "truth.json"
    expected = _default_stamp()
    if path.is_file() and truth_path.is_file():
        try:
            truth = json.loads(truth_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            truth = {}
        if all(truth.get(k) == v for k, v in expected.items()):
            return path
    return write_export(directory)
