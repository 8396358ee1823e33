"""Design matrices from formulas, with one engine for the whole toolkit: patsy.

The models (:mod:`toolkit.models`) fit through the statsmodels formula API, which builds its
matrices with patsy; the impact estimators (:mod:`toolkit.impact`) build theirs here, with the
same engine, so a formula means the same thing everywhere (``C(x)``, ``bs(x, df=4)``, ``a * b``,
``Q("odd name")``). patsy is a declared dependency.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import patsy

from .errors import InputError
from .i18n import _

__all__ = ["design_matrix", "formula_rhs", "formula_variables", "quote"]


def quote(column: str) -> str:
    """A column name as a formula term: itself when it is an identifier, else ``Q("name")``."""
    return column if column.isidentifier() else f"Q({column!r})"


def formula_rhs(formula: str | None, default: str) -> str:
    """The right-hand side of ``formula`` (with or without ``y ~``), or ``default`` when none is given."""
    if not formula:
        return default
    return formula.split("~", 1)[1].strip() if "~" in formula else formula.strip()


def formula_variables(formula: str, columns, exclude: str | None = None) -> list[str]:
    """Data columns named in a formula's right-hand side (word match), in the order of ``columns``."""
    rhs = formula.split("~", 1)[-1]
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", rhs))
    return [c for c in columns if c in words and c != exclude]


def design_matrix(rhs: str, data: pd.DataFrame, what: str) -> np.ndarray:
    """The design matrix of ``rhs`` on ``data`` (float array, intercept first, added when the formula
    removes it); a formula that cannot be read is an :class:`InputError` naming ``what``."""
    try:
        matrix = patsy.dmatrix(rhs, data, NA_action="raise", return_type="dataframe")
    except Exception as exc:  # patsy raises several kinds (PatsyError, NameError...): all are formula errors here
        raise InputError(
            _(
                "Formule du {what} illisible ({rhs!r}) : {error}. Les variables de la formule doivent figurer "
                "parmi les covariables.",
                what=what,
                rhs=rhs,
                error=exc,
            )
        ) from None
    x = matrix.to_numpy(dtype=float)
    if "Intercept" not in matrix.columns:
        x = np.column_stack([np.ones(len(x)), x])
    return x
