"""Input preparation for the impact estimators: column checks, incomplete rows counted, covariate types,
design matrices of the propensity and outcome models, and the balance matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..design import quote
from ..errors import InputError, ModelError, SchemaError
from ..i18n import _

__all__ = ["DEFAULT_IMPACT_COVARIATES", "PROCESS_COLUMNS"]


# Default adjustment set for E2C designs: characteristics fixed at entry.
DEFAULT_IMPACT_COVARIATES: tuple[str, ...] = (
    "sex",
    "age_at_entry",
    "education_level",
    "qpv",
    "rural",
    "disability",
    "nationality",
)
# Measured during or after the programme: never covariates of an impact model.
PROCESS_COLUMNS: tuple[str, ...] = (
    "weeks_in_company",
    "n_internships",
    "exit_date",
    "exit_reason",
    "exit_category",
    "outcome_start",
    "outcome_end",
    "follow_up_date",
    "positive_exit",
)


def _is_categorical(series: pd.Series) -> bool:
    return (
        isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(series) or series.dtype == object
    )


def _binary_codes(series: pd.Series, column: str) -> np.ndarray:
    """0/1 float array from a bool / boolean / 0-1 numeric column (no missing values)."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype(bool).to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(series):
        raise InputError(
            _(
                "Colonne {column!r} : valeurs 0/1 ou vrai/faux attendues, type {dtype} reçu.",
                column=column,
                dtype=series.dtype,
            )
        )
    values = series.to_numpy(dtype=float)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        row = series.index[np.argmax(bad)]
        raise InputError(
            _(
                "Colonne {column!r}, ligne {row} : valeur {v2!r} ; 0 ou 1 attendu.",
                column=column,
                row=row,
                v2=series.iloc[np.argmax(bad)],
            )
        )
    return values


def _prepare(df: pd.DataFrame, treatment: str, outcome: str, covariates, outcome_type: str | None):
    """Check columns, drop (and count) incomplete rows, convert types.

    Returns the working frame (covariates converted: booleans and numbers as
    float, text as categorical without unused levels), t, y, outcome type, the
    per-column missing counts and the number of rows dropped.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(_("estimate_att : un DataFrame est attendu."))
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    if not covariates:
        raise InputError(_("estimate_att : au moins une covariable est nécessaire."))
    for col in [treatment, outcome, *covariates]:
        if col not in df.columns:
            raise SchemaError(
                _("Colonne {col!r} absente des données (colonnes : {v1}).", col=col, v1=", ".join(map(str, df.columns)))
            )
    bad = sorted(set(covariates) & set(PROCESS_COLUMNS))
    if bad:
        raise InputError(
            _(
                "Covariable(s) {v0} mesurée(s) pendant ou après le parcours : elles ne peuvent pas "
                "servir d'ajustement (le groupe de comparaison n'a pas de parcours).",
                v0=", ".join(bad),
            )
        )
    used = [treatment, outcome, *covariates]
    na = df[used].isna()
    missing = na.sum()
    keep = ~na.any(axis=1)
    data = df.loc[keep, used]
    if len(data) == 0:
        raise InputError(_("estimate_att : aucune ligne complète (traitement, résultat et covariables)."))
    t = _binary_codes(data[treatment], treatment)
    y_raw = data[outcome]
    binary_like = pd.api.types.is_bool_dtype(y_raw) or (
        pd.api.types.is_numeric_dtype(y_raw) and np.isin(y_raw.to_numpy(dtype=float), (0.0, 1.0)).all()
    )
    if outcome_type is None:
        outcome_type = "binary" if binary_like else "continuous"
    if outcome_type not in ("binary", "continuous"):
        raise InputError(
            _("outcome_type inconnu : {outcome_type!r} ('binary' ou 'continuous').", outcome_type=outcome_type)
        )
    if outcome_type == "binary":
        y = _binary_codes(y_raw, outcome)
    else:
        if not pd.api.types.is_numeric_dtype(y_raw) and not pd.api.types.is_bool_dtype(y_raw):
            raise InputError(
                _(
                    "Colonne {outcome!r} : résultat numérique attendu, type {dtype} reçu.",
                    outcome=outcome,
                    dtype=y_raw.dtype,
                )
            )
        y = y_raw.to_numpy(dtype=float)
    n_t, n_c = int(t.sum()), int((1 - t).sum())
    if n_t < 2 or n_c < 2:
        raise ModelError(_("Trop peu d'observations complètes : {n_t} traité(s), {n_c} témoin(s).", n_t=n_t, n_c=n_c))
    work = pd.DataFrame(index=data.index)
    for col in covariates:
        s = data[col]
        if pd.api.types.is_bool_dtype(s):
            work[col] = s.astype(bool).astype(float)
        elif _is_categorical(s):
            cat = s.astype("category") if not isinstance(s.dtype, pd.CategoricalDtype) else s
            work[col] = cat.cat.remove_unused_categories()
        elif pd.api.types.is_numeric_dtype(s):
            work[col] = s.astype(float)
        else:
            raise InputError(_("Covariable {col!r} : type {dtype} non pris en charge.", col=col, dtype=s.dtype))
    return work, t, y, outcome_type, missing[missing > 0].astype(int), int((~keep).sum())


def _default_rhs(work: pd.DataFrame, covariates: list[str]) -> str:
    terms = []
    for col in covariates:
        name = quote(col)
        terms.append(f"C({name})" if isinstance(work[col].dtype, pd.CategoricalDtype) else name)
    return " + ".join(terms)


def _balance_matrix(work: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """Covariates as numbers, one column per level for categorical covariates."""
    cols = {}
    for col in covariates:
        s = work[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy()
            for i, level in enumerate(s.cat.categories):
                cols[f"{col}[{level}]"] = (codes == i).astype(float)
        else:
            cols[col] = s.to_numpy(dtype=float)
    return pd.DataFrame(cols, index=work.index)
