"""The one place where numbers become text.

Every figure a funder or an evaluator reads (report tables, plot ticks,
notebook narration) goes through these functions, so French and English
typography stay consistent.

Typography
----------
The language is the current one (:func:`toolkit.i18n.current_language`, French unless an entry
point chose English); every function still accepts ``lang="fr"`` or ``lang="en"`` to force one.
Number, percentage and date formats are typography, so they depend on the language here; words
(column labels, headers) go through :func:`toolkit.i18n._` like every other message.

French:

* thousands are separated by a **no-break space U+00A0** (``NBSP``): "1 234".
  U+00A0 rather than the narrow U+202F because every font (browsers,
  matplotlib's DejaVu Sans, screen readers) renders it, and it still keeps
  "1 234" on one line;
* the decimal mark is a comma: "56,3";
* a percentage has a no-break space before the sign: "56,3 %";
* a confidence interval reads "56,3 % [52,1 – 60,4]" (en dash between
  no-break spaces).

English: "1,234", "56.3%", "56.3% [52.1–60.4]".

Missing values (None, NaN, NA, NaT) become ``NA_TEXT[lang]`` ("n.d." /
"n/a") unless ``na=`` says otherwise.

Every ``fmt_*`` function takes a scalar and returns a ``str``; given a
Series, an Index, a list or a numpy array it returns a Series of ``str``
(same index for a Series). Mapping over values is fine here: this formats
aggregated tables, not trainee-level data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime

import numpy as np
import pandas as pd

from .errors import E2CError
from .i18n import N_, _, check_lang, current_language, use_language
from .schema import CANONICAL_BY_NAME
from .schema import label as code_label

__all__ = [
    "NBSP",
    "NA_TEXT",
    "fmt_int",
    "fmt_number",
    "fmt_pct",
    "fmt_rate_ci",
    "fmt_pvalue",
    "fmt_points",
    "fmt_date",
    "COLUMN_LABELS",
    "column_label",
    "format_table",
    "display_table",
]

NBSP = "\u00a0"
NA_TEXT: dict[str, str] = {"fr": "n.d.", "en": "n/a"}
_DASH = "\u2013"  # en dash

_MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _lang(lang: str | None) -> str:
    """``lang`` checked, or the current language (:mod:`toolkit.i18n`) when it is None."""
    return current_language() if lang is None else check_lang(lang)


def _is_na(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _is_vector(value: object) -> bool:
    return isinstance(value, (pd.Series, pd.Index, np.ndarray, list, tuple))


def _vectorise(func: Callable[..., str], value: object, **kwargs) -> pd.Series:
    series = value if isinstance(value, pd.Series) else pd.Series(list(value))
    return series.map(lambda v: func(v, **kwargs), na_action=None).astype("object")


def _group_and_decimal(text: str, lang: str) -> str:
    """Turn Python's '1,234.5' into the language's convention."""
    if lang == "en":
        return text
    return text.replace(",", NBSP).replace(".", ",")


def fmt_number(value: object, lang: str | None = None, decimals: int = 1, *, na: str | None = None) -> str | pd.Series:
    """A number with thousands separators and a fixed number of decimals.

    >>> fmt_number(1234.56) == "1\u00a0234,6"
    True
    >>> fmt_number(1234.56, "en")
    '1,234.6'
    """
    lang = _lang(lang)
    if _is_vector(value):
        return _vectorise(fmt_number, value, lang=lang, decimals=decimals, na=na)
    if _is_na(value):
        return NA_TEXT[lang] if na is None else na
    number = float(value)
    if math.isinf(number):
        return ("+" if number > 0 else "-") + "∞"
    text = f"{number:,.{decimals}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]  # no "-0,0"
    return _group_and_decimal(text, lang)


def fmt_int(value: object, lang: str | None = None, *, na: str | None = None) -> str | pd.Series:
    """A count: rounded to the nearest integer, with thousands separators.

    >>> fmt_int(1234) == "1\u00a0234"
    True
    >>> fmt_int(1234, "en")
    '1,234'
    """
    return fmt_number(value, lang, decimals=0, na=na)


def fmt_pct(value: object, lang: str | None = None, decimals: int = 1, *, na: str | None = None) -> str | pd.Series:
    """A proportion (0–1) as a percentage.

    >>> fmt_pct(0.563) == "56,3\u00a0%"
    True
    >>> fmt_pct(0.563, "en")
    '56.3%'
    """
    lang = _lang(lang)
    if _is_vector(value):
        return _vectorise(fmt_pct, value, lang=lang, decimals=decimals, na=na)
    if _is_na(value):
        return NA_TEXT[lang] if na is None else na
    number = fmt_number(float(value) * 100, lang, decimals)
    return f"{number}{NBSP}%" if lang == "fr" else f"{number}%"


def fmt_pvalue(value: object, lang: str | None = None, *, na: str | None = None) -> str | pd.Series:
    """A p-value: three decimals, and "< 0,001" below 0.001 (never "8.5e-287").

    >>> fmt_pvalue(8.5e-287) == "<\u00a00,001"
    True
    >>> fmt_pvalue(0.0432, "en")
    '0.043'
    """
    lang = _lang(lang)
    if _is_vector(value):
        return _vectorise(fmt_pvalue, value, lang=lang, na=na)
    if _is_na(value):
        return NA_TEXT[lang] if na is None else na
    if float(value) < 0.001:
        return f"<{NBSP}{fmt_number(0.001, lang, 3)}" if lang == "fr" else f"< {fmt_number(0.001, lang, 3)}"
    return fmt_number(min(float(value), 1.0), lang, 3)


def fmt_points(value: object, lang: str | None = None, decimals: int = 1, *, na: str | None = None) -> str | pd.Series:
    """A difference of proportions (0–1 scale) in percentage points, signed: 0.035 → "+3,5"."""
    lang = _lang(lang)
    if _is_vector(value):
        return _vectorise(fmt_points, value, lang=lang, decimals=decimals, na=na)
    if _is_na(value):
        return NA_TEXT[lang] if na is None else na
    text = fmt_number(float(value) * 100, lang, decimals)
    return text if text.startswith("-") or float(value) * 100 < 0.5 * 10**-decimals else "+" + text


def fmt_rate_ci(
    rate: object, low: object, high: object, lang: str | None = None, decimals: int = 1, *, na: str | None = None
) -> str | pd.Series:
    """A rate with its confidence interval, the interval in percentage points.

    >>> fmt_rate_ci(0.563, 0.521, 0.604) == "56,3\u00a0% [52,1\u00a0\u2013\u00a060,4]"
    True
    >>> fmt_rate_ci(0.563, 0.521, 0.604, "en")
    '56.3% [52.1–60.4]'

    Vectorised when ``rate`` is a Series/array (``low`` and ``high`` aligned
    with it). A missing rate gives the NA text; a missing bound gives the
    rate alone.
    """
    lang = _lang(lang)
    if _is_vector(rate):
        index = rate.index if isinstance(rate, pd.Series) else None
        triples = zip(list(rate), list(low), list(high), strict=True)
        out = [fmt_rate_ci(r, lo, hi, lang, decimals, na=na) for r, lo, hi in triples]
        return pd.Series(out, index=index, dtype="object")
    if _is_na(rate):
        return NA_TEXT[lang] if na is None else na
    text = fmt_pct(rate, lang, decimals)
    if _is_na(low) or _is_na(high):
        return text
    lo = fmt_number(float(low) * 100, lang, decimals)
    hi = fmt_number(float(high) * 100, lang, decimals)
    if lang == "fr":
        return f"{text} [{lo}{NBSP}{_DASH}{NBSP}{hi}]"
    return f"{text} [{lo}{_DASH}{hi}]"


def fmt_date(value: object, lang: str | None = None, style: str = "long", *, na: str | None = None) -> str | pd.Series:
    """A date for people.

    ``style="long"``: "1er avril 2024", "5 avril 2024" / "5 April 2024".
    ``style="short"``: "05/04/2024" / "2024-04-05" (ISO in English: no
    day/month ambiguity).
    """
    lang = _lang(lang)
    if style not in ("long", "short"):
        raise E2CError(_("Style de date inconnu : {style!r} ('long' ou 'short').", style=style))
    if _is_vector(value):
        return _vectorise(fmt_date, value, lang=lang, style=style, na=na)
    if _is_na(value):
        return NA_TEXT[lang] if na is None else na
    if not isinstance(value, (date, datetime, pd.Timestamp)):
        value = pd.Timestamp(value)
    if style == "short":
        return value.strftime("%d/%m/%Y") if lang == "fr" else value.strftime("%Y-%m-%d")
    if lang == "fr":
        day = "1er" if value.day == 1 else str(value.day)
        return f"{day} {_MONTHS_FR[value.month - 1]} {value.year}"
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"


# --------------------------------------------------------------------------
# Display tables
# --------------------------------------------------------------------------
# Labels of the columns the statistical modules return. Canonical columns get
# their labels from schema.CANONICAL_COLUMNS; this adds the derived ones.
COLUMN_LABELS: dict[str, str] = {  # French source text, translated by toolkit.i18n
    "age_band": N_("Tranche d'âge"),
    "isced": N_("Niveau CITE (ISCED)"),
    "n": N_("Effectif"),
    "n_trainees": N_("Stagiaires"),
    "n_entries": N_("Entrées"),
    "n_exits": N_("Sorties"),
    "n_known": N_("Sorties à l'issue connue"),
    "n_unknown": N_("Sorties à l'issue inconnue"),
    "n_positive": N_("Sorties positives"),
    "n_interruptions": N_("Interruptions"),
    "n_still_in": N_("Encore en parcours"),
    "n_completed": N_("Parcours terminés"),
    "rate": N_("Taux de sorties positives"),
    "share": N_("Part"),
    "ci_low": N_("Borne basse IC 95 %"),
    "ci_high": N_("Borne haute IC 95 %"),
    "national": N_("Référence nationale"),
    "national_source": N_("Source nationale"),
    "definition": N_("Définition"),
    "category": N_("Type de sortie"),
    "code": N_("Code"),
    "indicator": N_("Indicateur"),
    "women": N_("Femmes"),
    "men": N_("Hommes"),
    "sex_unknown": N_("Sexe non renseigné"),
    "total": N_("Total"),
    "unknown": N_("Non renseigné"),
    "status": N_("Statut"),
    "reason": N_("Raison"),
    "source_columns": N_("Colonnes sources"),
    "n_unknown_reason": N_("Sorties sans motif reconnu"),
    "share_of_exits": N_("Part de toutes les sorties"),
    "share_of_total": N_("Part de tous les stagiaires"),
    "n_total": N_("Stagiaires"),
    "variable": N_("Caractéristique"),
    "value": N_("Valeur"),
    "national_low": N_("Fourchette nationale, bas"),
    "national_high": N_("Fourchette nationale, haut"),
    "national_range": N_("Fourchette nationale"),
    "non_binary": N_("Non binaires"),
    "n_base": N_("Base"),
    "base": N_("Population de référence"),
    "exit_year": N_("Année de sortie"),
}


def column_label(column: str, lang: str | None = None) -> str:
    """Label for people of a column name (derived columns, then canonical ones, else the name)."""
    lang = _lang(lang)
    if column in COLUMN_LABELS:
        with use_language(lang):
            return _(COLUMN_LABELS[column])
    canonical = CANONICAL_BY_NAME.get(column)
    if canonical is not None:
        return canonical.label_fr if lang == "fr" else canonical.label_en
    return column


_KINDS = ("int", "number", "pct", "rate_ci", "date", "code", "text")


def format_table(
    df: pd.DataFrame,
    spec: Mapping[str, object],
    lang: str | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    na: str | None = None,
) -> pd.DataFrame:
    """A display table: selected columns formatted as text and renamed for people.

    Parameters
    ----------
    df : DataFrame
        A tidy result table (e.g. from :func:`toolkit.indicators.positive_exit_rates`).
    spec : mapping
        ``{column: kind}`` or ``{column: (kind, options)}``, in display order.
        Columns not in ``spec`` are left out. Kinds:

        * ``"int"``: a count (:func:`fmt_int`);
        * ``"number"``: options ``{"decimals": 1}`` (:func:`fmt_number`);
        * ``"pct"``: a proportion 0–1, options ``{"decimals": 1}``;
        * ``"rate_ci"``: rate with its interval read from the same row,
          options ``{"low": "ci_low", "high": "ci_high", "decimals": 1}``;
        * ``"date"``: options ``{"style": "long"}``;
        * ``"code"``: a canonical code shown with its label,
          ``schema.label(column, code)``; option ``{"column": name}`` when the
          codes belong to another canonical column;
        * ``"text"``: as is (missing values get the NA text).
    lang : {"fr", "en"}
    labels : mapping, optional
        Header labels overriding :func:`column_label`.
    na : str, optional
        Text of missing values (default ``NA_TEXT[lang]``).

    Returns
    -------
    DataFrame
        One column per ``spec`` entry, every cell a ``str``, headers in
        ``lang``; the index is reset to 0..n-1.
    """
    lang = _lang(lang)
    missing = [c for c in spec if c not in df.columns]
    if missing:
        raise E2CError(_("format_table : colonnes absentes du tableau : {columns}.", columns=", ".join(missing)))
    out: dict[str, pd.Series] = {}
    labels = dict(labels or {})
    for column, entry in spec.items():
        kind, options = (entry, {}) if isinstance(entry, str) else (entry[0], dict(entry[1]))
        if kind not in _KINDS:
            raise E2CError(
                _(
                    "format_table : type de colonne inconnu {kind!r} pour {column!r} (types : {kinds}).",
                    kind=kind,
                    column=column,
                    kinds=", ".join(_KINDS),
                )
            )
        values = df[column].reset_index(drop=True)
        if kind == "int":
            text = fmt_int(values, lang, na=na)
        elif kind == "number":
            text = fmt_number(values, lang, options.get("decimals", 1), na=na)
        elif kind == "pct":
            text = fmt_pct(values, lang, options.get("decimals", 1), na=na)
        elif kind == "rate_ci":
            low = df[options.get("low", "ci_low")].reset_index(drop=True)
            high = df[options.get("high", "ci_high")].reset_index(drop=True)
            text = fmt_rate_ci(values, low, high, lang, options.get("decimals", 1), na=na)
        elif kind == "date":
            text = fmt_date(values, lang, options.get("style", "long"), na=na)
        elif kind == "code":
            source = options.get("column", column)
            text = values.astype("object").map(lambda c, s=source: code_label(s, c, lang))
        else:
            text = values.astype("object").map(lambda v: (NA_TEXT[lang] if na is None else na) if _is_na(v) else str(v))
        out[labels.get(column, column_label(column, lang))] = text.astype("object")
    return pd.DataFrame(out)


# Result columns of toolkit.indicators / toolkit.esf and how to show them.
_COUNT_COLUMNS = (
    "n",
    "n_entries",
    "n_exits",
    "n_known",
    "n_unknown",
    "n_positive",
    "n_interruptions",
    "n_completed",
    "n_still_in",
    "n_unknown_reason",
    "n_total",
    "women",
    "men",
    "sex_unknown",
    "total",
    "unknown",
    "n_base",
)
_HIDDEN_COLUMNS = (
    "ci_low",
    "ci_high",
    "national_source",
    "national_timing",
    "national_year",
    "definition",
    "code_confirmed",
    "national_low",
    "national_high",
)


def display_table(
    table: pd.DataFrame, lang: str | None = None, *, decimals: int = 1, columns: list[str] | None = None
) -> pd.DataFrame:
    """A readable version of any result table of :mod:`toolkit.indicators` or
    :mod:`toolkit.esf`, for notebooks and reports.

    Grouping columns show their labels ("Femmes", "Non renseigné"); counts
    get thousands separators; a rate or share is shown with its interval
    ("56,3 % [52,1 – 60,4]"); national figures as percentages (a published
    range as "30–37 %"); technical columns (interval bounds, sources,
    definition name) are left out: cite them in the text under the table.
    Whether an ESF+ code is confirmed is a note for developers, never shown.

    Parameters
    ----------
    table : DataFrame
        A result table (rates, flows, exit mix, profile, ESF+ indicators...).
    columns : list of str, optional
        Keep only these source columns (in this order) before formatting.

    Returns
    -------
    DataFrame
        Text cells, headers in ``lang``.
    """
    with use_language(_lang(lang)):
        return _display_table(table, decimals, columns)


_KINDS_OF_INDICATOR = {"output": N_("Réalisation"), "immediate_result": N_("Résultat immédiat")}


def _display_table(table: pd.DataFrame, decimals: int, columns: list[str] | None) -> pd.DataFrame:
    lang = current_language()
    frame = table.reset_index(drop=True).copy()
    if columns is not None:
        keep = list(columns) + [c for c in ("ci_low", "ci_high") if c in frame.columns and c not in columns]
        frame = frame[keep]
    labels: dict[str, str] = {}
    if "code" in frame.columns and "variable" in frame.columns:  # a profile: codes of several columns
        position = list(frame.columns).index("variable")
        frame.insert(position + 1, "value", [code_label(v, c, lang) for v, c in zip(frame["variable"], frame["code"])])
        frame["variable"] = frame["variable"].map(lambda v: column_label(v, lang))
        frame = frame.drop(columns="code")
        labels["n_known"] = _("Stagiaires à la valeur renseignée")
    if "category" in frame.columns:  # an exit mix
        labels["n_known"] = _("Sorties au type connu")
    if "code" in frame.columns and "code_confirmed" in frame.columns:  # ESF+ (code checks stay in the code)
        if "kind" in frame.columns:
            frame["kind"] = frame["kind"].map(lambda k: _(_KINDS_OF_INDICATOR[k]) if k in _KINDS_OF_INDICATOR else k)
            labels["kind"] = _("Type d'indicateur")
    if "national_low" in frame.columns and "national_high" in frame.columns:
        low, high = frame["national_low"], frame["national_high"]
        same = low.eq(high).fillna(False)
        frame["national_range"] = [
            NA_TEXT[lang]
            if pd.isna(lo)
            else (fmt_pct(lo, lang, 0) if eq else f"{fmt_number(lo * 100, lang, 0)}{_DASH}{fmt_pct(hi, lang, 0)}")
            for lo, hi, eq in zip(low, high, same)
        ]
    spec = _display_spec(frame, decimals, labels)
    if "non_binary" in spec:
        frame["non_binary"] = _("non collecté")
        spec["non_binary"] = "text"
    if "definition" in table.columns and "indicator" in table.columns:  # ESF+: the definition is text
        spec["definition"] = "text"
    return format_table(frame, spec, lang, labels=labels)


def _display_spec(frame: pd.DataFrame, decimals: int, labels: dict[str, str]) -> dict[str, object]:
    """How :func:`display_table` shows each column (``labels`` gets the interval headers)."""
    spec: dict[str, object] = {}
    has_ci = {"ci_low", "ci_high"} <= set(frame.columns)
    for column in frame.columns:
        if column in _HIDDEN_COLUMNS:
            continue
        if column in _COUNT_COLUMNS:
            spec[column] = "int"
        elif column in ("rate", "share"):
            spec[column] = ("rate_ci", {"decimals": decimals}) if has_ci else ("pct", {"decimals": decimals})
            if column == "share" and has_ci:
                labels[column] = _("Part (IC 95 %)")
            elif column == "rate" and has_ci:
                labels[column] = _("{label} (IC 95 %)", label=column_label("rate"))
        elif column in ("share_of_exits", "share_of_total", "national"):
            spec[column] = ("pct", {"decimals": 0 if column == "national" else decimals})
        elif column == "category":
            spec[column] = ("code", {"column": "exit_category"})
        elif (
            column
            in ("value", "variable", "national_range", "indicator", "definition_text", "base", "source_columns", "kind")
            or frame[column].dtype == object
            and column not in _LABELLED
        ):
            spec[column] = "text"
        else:
            spec[column] = "code"
    return spec


_LABELLED = frozenset(
    {
        "region",
        "school",
        "site",
        "sex",
        "education_level",
        "qpv",
        "rural",
        "disability",
        "nationality",
        "referrer",
        "exit_reason",
        "exit_category",
        "group",
        "age_band",
        "isced",
    }
)
