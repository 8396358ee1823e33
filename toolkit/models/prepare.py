"""Model-ready data: the outcome under the chosen definition, covariates converted (categoricals
reference-first, booleans, numbers), missing values counted and handled, the default formula."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationWarning,
)

from .. import schema
from ..definitions import resolve_outcome
from ..design import formula_variables
from ..errors import ModelError, SchemaError
from ..formatting import column_label
from ..i18n import _, current_language, use_language

OUTCOME = "positive_exit"

# The default model uses only characteristics known at entry (and the cohort and region): a variable
# measured during the parcours is partly a consequence of it and belongs to a separate analysis.
DEFAULT_COVARIATES: tuple[str, ...] = (
    "sex",
    "age_at_entry",
    "education_level",
    "qpv",
    "disability",
    "nationality",
    "cohort_year",
    "region",
)
# Measured during the parcours: offered as a separate, clearly labelled analysis, never by default.
PARCOURS_COVARIATES: tuple[str, ...] = ("weeks_in_company",)

# Category order = reference first (Treatment coding uses the first level).
_CATEGORY_ORDER: dict[str, tuple] = {
    "sex": schema.SEX_CODES,
    "education_level": schema.EDUCATION_LEVELS,
    "nationality": schema.NATIONALITY_CODES,
    "region": schema.REGION_NAMES,
    "referrer": schema.REFERRER_CODES,
}
_BOOLEANS = {"qpv", "rural", "disability", "esf_cofunded"}
_NUMERICS = {"age_at_entry", "weeks_in_company", "n_internships", "birth_year"}
MISSING_LEVEL = "missing"  # extra level for missing categoricals (strategy 'indicator')
MIN_MISSING_LEVEL = 30  # fewer missing values than this get the most frequent value instead (strategy 'indicator')

# Beyond these a logit coefficient or its (model-based) standard error means the
# maximum-likelihood estimate does not really exist (odds ratio > 20 000).
_HUGE_COEF = 10.0
_HUGE_SE = 25.0

_SEVERE = (PerfectSeparationWarning, ConvergenceWarning, HessianInversionWarning)


class ModelWarning(UserWarning):
    """A model was fitted with ``strict=False`` despite a problem listed in ``.problems``."""


def _levels_present(column: str, values: pd.Series) -> list:
    present = pd.unique(values.dropna())
    if column == "cohort_year":
        return sorted(int(v) for v in present)
    order = _CATEGORY_ORDER.get(column)
    if order is None and isinstance(values.dtype, pd.CategoricalDtype):
        order = tuple(values.cat.categories)
    if order is None:
        return sorted(str(v) for v in present)
    present_set = {str(v) for v in present}
    return [c for c in order if str(c) in present_set]


def _kind(column: str, values: pd.Series) -> str:
    if column in _BOOLEANS or pd.api.types.is_bool_dtype(values.dtype):
        return "boolean"
    if column == "cohort_year" or column in _CATEGORY_ORDER or isinstance(values.dtype, pd.CategoricalDtype):
        return "categorical"
    if column in _NUMERICS or pd.api.types.is_numeric_dtype(values.dtype):
        return "numeric"
    return "categorical"


def _as_float(values: pd.Series) -> np.ndarray:
    """Numbers or booleans (nullable or not) as a float array with NaN for missing."""
    textual = values.dtype == object or pd.api.types.is_string_dtype(values.dtype)
    if isinstance(values.dtype, pd.CategoricalDtype) or textual:
        values = pd.to_numeric(values.astype("string"), errors="coerce")
    return pd.array(values, dtype="Float64").to_numpy(dtype=float, na_value=np.nan)


def _text_key(value) -> str:
    """Text of a level as used in names: integral numbers without '.0' (cohort years)."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _level_codes(values: pd.Series, level_text: list[str], fill_level: str | None = None) -> np.ndarray:
    """Position of each value in ``level_text`` (-1: unknown level, or missing
    without a ``missing`` level or ``fill_level``), by factorising first so that
    only the distinct values are converted to text."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    position = {t: i for i, t in enumerate(level_text)}
    missing_to = position.get(fill_level if fill_level is not None else MISSING_LEVEL, -1)
    lookup = np.array([position.get(_text_key(u), -1) for u in uniques] + [missing_to], dtype=np.int64)
    return lookup[codes]  # code -1 (missing) picks the last entry


@dataclass
class _Design:
    """How raw canonical columns become model-ready columns (fixed at fit time)."""

    covariates: list[str]
    missing: str  # 'complete_case' or 'indicator'
    kinds: dict[str, str] = field(default_factory=dict)
    levels: dict[str, list] = field(default_factory=dict)  # categorical levels, reference first
    fill: dict[str, float] = field(default_factory=dict)  # numeric / 0-1 fill value (strategy 'indicator')
    indicators: list[str] = field(default_factory=list)  # `<col>_missing` columns created
    fill_level: dict[str, str] = field(default_factory=dict)  # categorical: level given to rare missing values
    imputed: dict[str, int] = field(default_factory=dict)  # columns whose few missing values were filled

    @classmethod
    def learn(cls, data: pd.DataFrame, covariates, missing: str) -> _Design:
        design = cls(list(covariates), missing)
        for col in design.covariates:
            values = data[col]
            kind = design.kinds[col] = _kind(col, values)
            n_missing = int(values.isna().sum())
            # Too few missing values for a level of their own (it could be separated, all
            # positive or all not): give them the most frequent value (median for numbers).
            rare = missing == "indicator" and 0 < n_missing < MIN_MISSING_LEVEL
            if rare:
                design.imputed[col] = n_missing
            if kind == "categorical":
                levels = _levels_present(col, values)
                if rare:
                    design.fill_level[col] = _text_key(values.mode(dropna=True).iloc[0])
                elif missing == "indicator" and n_missing:
                    levels = levels + [MISSING_LEVEL]
                design.levels[col] = levels
            elif missing == "indicator" and n_missing:
                numbers = pd.Series(_as_float(values))
                design.fill[col] = float(numbers.median() if kind == "numeric" else numbers.mode().iloc[0])
                if not rare:
                    design.indicators.append(f"{col}_missing")
        return design

    def transform(self, data: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
        """Model-ready frame (float / pandas Categorical with object categories) and
        a boolean Series: row has every covariate (after the missing strategy)."""
        out = {}
        usable = np.ones(len(data), dtype=bool)
        for col in self.covariates:
            values = data[col]
            kind = self.kinds[col]
            if kind == "categorical":
                codes = _level_codes(values, [str(v) for v in self.levels[col]], self.fill_level.get(col))
                usable &= codes >= 0
                out[col] = pd.Categorical.from_codes(
                    codes, categories=pd.Index([str(v) for v in self.levels[col]], dtype=object)
                )
            else:
                num = _as_float(values)
                if col in self.fill:
                    absent = np.isnan(num)
                    if f"{col}_missing" in self.indicators:
                        out[f"{col}_missing"] = absent.astype(float)
                    num = np.where(absent, self.fill[col], num)
                usable &= ~np.isnan(num)
                out[col] = num
        frame = pd.DataFrame(out, index=data.index)
        return frame, pd.Series(usable, index=data.index)

    def rhs_terms(self) -> list[str]:
        terms = []
        for col in self.covariates:
            terms.append(col)
            if f"{col}_missing" in self.indicators:
                terms.append(f"{col}_missing")
        return terms


def neutral_name(term: str) -> str:
    """patsy term name -> neutral name: ``sex[T.M]`` and ``C(sex, Treatment('F'))[T.M]`` -> ``sex[M]``."""
    m = re.fullmatch(r"C\(\s*([A-Za-z_][A-Za-z0-9_]*)[^\[]*\)\[T\.(.*)\]", term)
    if m:
        return f"{m.group(1)}[{m.group(2)}]"
    m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\[T\.(.*)\]", term)
    if m:
        return f"{m.group(1)}[{m.group(2)}]"
    return term


def _separated_levels(frame: pd.DataFrame, y: np.ndarray, design: _Design, used: list[str]) -> list[str]:
    """Categorical levels / binary covariate values whose outcomes are all equal
    (quasi-complete separation: their maximum-likelihood coefficient is infinite)."""
    out = []
    ys = pd.Series(y, index=frame.index)
    for col in used:
        kind = design.kinds.get(col, "numeric")
        if kind == "categorical":
            key = frame[col]
        elif kind == "boolean" or col.endswith("_missing"):
            key = frame[col]
        else:
            continue
        grouped = ys.groupby(key, observed=True).agg(["sum", "count"])
        bad = grouped[(grouped["sum"] == 0) | (grouped["sum"] == grouped["count"])]
        for level, row in bad.iterrows():
            what = "toutes positives" if row["sum"] == row["count"] else "toutes non positives"
            name = f"{col}[{level}]" if kind == "categorical" else f"{col}={level:g}"
            out.append(f"{name} ({int(row['count'])} sortie(s), {what})")
    return out


def _huge_terms(params: pd.Series, bse: pd.Series) -> list[str]:
    bad = (~np.isfinite(params)) | (~np.isfinite(bse)) | (params.abs() > _HUGE_COEF) | (bse > _HUGE_SE)
    names = params.index[bad.to_numpy()]
    listed = [f"{name} (coef. {params[name]:.3g}, e.-t. {bse[name]:.3g})" for name in names[:6]]
    if len(names) > 6:
        listed.append(f"et {len(names) - 6} autre(s) terme(s)")
    return listed


def _handle_problems(problems: list[str], strict: bool, what: str) -> None:
    if not problems:
        return
    problems[:] = list(dict.fromkeys(problems))  # the same warning can fire at every iteration
    text = "; ".join(problems)
    if strict:
        raise ModelError(
            _(
                "{what} ne peut pas être estimé de façon fiable : {text}. Regroupez ou retirez les "
                "modalités en cause, simplifiez la formule, ou relancez avec strict=False pour obtenir "
                "les estimations avec ces problèmes signalés.",
                what=what,
                text=text,
            )
        )
    warnings.warn(
        _("{what} : résultats à ne pas utiliser tels quels : {text}.", what=what, text=text), ModelWarning, stacklevel=3
    )


def _prepare(data, formula, covariates, cluster, definition, missing):
    """Rows with a known outcome, model-ready columns, missing-data accounting and formula."""
    if not isinstance(data, pd.DataFrame):
        raise SchemaError(_("Le modèle attend un tableau canonique (pandas DataFrame)."))
    if missing not in ("complete_case", "indicator"):
        raise ModelError(
            _("Stratégie de données manquantes inconnue : {missing!r} (complete_case ou indicator).", missing=missing)
        )
    y_all, d = resolve_outcome(data, definition, what="fit_positive_exit")
    known = y_all.notna().to_numpy()
    rows = data.loc[known]
    if formula is not None:
        covariates = formula_variables(formula, data.columns, exclude=OUTCOME)
    covariates = list(covariates if covariates is not None else DEFAULT_COVARIATES)
    absent = [c for c in covariates if c not in data.columns]
    if cluster is not None and cluster not in data.columns:
        absent.append(cluster)
    if absent:
        raise SchemaError(_("Colonnes absentes du tableau pour le modèle : {v0}.", v0=", ".join(absent)))
    notes = []
    if formula is None:
        # Drop terms that cannot be estimated at all, and say so.
        kept = []
        for col in covariates:
            values = rows[col]
            if values.notna().sum() == 0:
                notes.append(_("{col} retirée du modèle : jamais renseignée", col=col))
            elif values.dropna().nunique() < 2:
                notes.append(_("{col} retirée du modèle : une seule valeur observée", col=col))
            else:
                kept.append(col)
        covariates = kept
    if len(rows) == 0:
        raise ModelError(_("Aucune sortie dont l'issue est connue : le modèle ne peut pas être estimé."))

    design = _Design.learn(rows, covariates, missing)
    frame, usable = design.transform(rows)
    frame[OUTCOME] = y_all[known].astype("Float64").to_numpy(dtype=float)
    by_column = {c: int(rows[c].isna().sum()) for c in covariates}
    if cluster is not None:
        codes, uniques = pd.factorize(rows[cluster], use_na_sentinel=True)
        frame[cluster] = pd.Categorical.from_codes(codes, categories=pd.Index([str(u) for u in uniques], dtype=object))
        by_column[cluster] = int((codes < 0).sum())
        usable &= codes >= 0
    dropped = int((~usable).sum())
    missing_info = {
        "strategy": missing,
        "rows_with_known_outcome": int(len(rows)),
        "rows_used": int(usable.sum()),
        "rows_dropped": dropped,
        "by_column": by_column,
    }
    if missing == "indicator":
        missing_info["indicator_columns"] = list(design.indicators) + [
            f"{c}[{MISSING_LEVEL}]" for c, lv in design.levels.items() if MISSING_LEVEL in lv
        ]
        missing_info["imputed_most_frequent"] = dict(design.imputed)
    frame = frame.loc[usable.to_numpy()]
    if formula is None:
        formula = f"{OUTCOME} ~ " + " + ".join(design.rhs_terms()) if design.covariates else f"{OUTCOME} ~ 1"
    return frame, design, d, formula, missing_info, notes


def _missing_table(missing: dict, lang: str | None = None) -> pd.DataFrame:
    """Missing values by column among the exits with a known outcome.

    Columns (in the current language, or ``lang``): Variable, Valeurs manquantes, Part (of the
    exits with a known outcome); the strategy and the rows left out are in ``.attrs``.
    """
    with use_language(lang or current_language()):
        total = max(missing["rows_with_known_outcome"], 1)
        counts = list(missing["by_column"].values())
        table = pd.DataFrame(
            {
                _("Variable"): [column_label(c) for c in missing["by_column"]],
                _("Valeurs manquantes"): counts,
                _("Part"): [count / total for count in counts],
            },
            index=pd.Index(list(missing["by_column"]), name="column"),
        )
    table.attrs.update({k: missing[k] for k in ("strategy", "rows_with_known_outcome", "rows_used", "rows_dropped")})
    return table
