"""Checking the canonical frame as a whole, at the end of cleaning.

:func:`validate_canonical` checks what every later step relies on: the exact
columns in order with their dtypes (:data:`toolkit.schema.CANONICAL_DTYPES`),
categories that are the schema's codes, unique pseudonymised ids per row,
the date order the cleaning rules guarantee, ages within 15 to 40 and cohort
years equal to the entry year. A violation is a bug of the toolkit (or a
hand-built frame), reported with the column and the first rows concerned.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import SchemaError
from .i18n import _
from .schema import CANONICAL_DTYPES

__all__ = ["validate_canonical"]

_SHOWN = 5


def _fail(source: str, column: str, rows: np.ndarray, what: str) -> None:
    shown = ", ".join(str(int(r)) for r in rows[:_SHOWN]) + (" …" if len(rows) > _SHOWN else "")
    raise SchemaError(
        _(
            "{source} : tableau canonique invalide, colonne « {column} », lignes {rows} : {what}.",
            source=source,
            column=column,
            rows=shown,
            what=what,
        )
    )


def _check(frame: pd.DataFrame, source: str, column: str, bad, what: str) -> None:
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        _fail(source, column, frame["source_row"].to_numpy()[bad], what)


def validate_canonical(frame: pd.DataFrame, source: str = "<DataFrame>") -> pd.DataFrame:
    """Check a canonical frame; return it unchanged, or raise :class:`SchemaError` naming column and rows.

    Every check is vectorised (linear in the number of rows).
    """
    expected = list(CANONICAL_DTYPES)
    if list(frame.columns) != expected:
        missing = [c for c in expected if c not in frame.columns]
        extra = [c for c in frame.columns if c not in CANONICAL_DTYPES]
        raise SchemaError(
            _(
                "{source} : colonnes du tableau canonique inattendues (manquantes : {missing} ; en trop : {extra}).",
                source=source,
                missing=", ".join(missing) or "-",
                extra=", ".join(map(str, extra)) or "-",
            )
        )
    for column, dtype in CANONICAL_DTYPES.items():
        actual = frame[column].dtype
        if isinstance(dtype, pd.CategoricalDtype) and dtype.categories is not None and len(dtype.categories):
            if actual != dtype:
                _fail(source, column, frame["source_row"].to_numpy()[:1], _("catégories différentes du schéma"))
        elif str(actual) != str(dtype) and not (isinstance(dtype, pd.CategoricalDtype) and actual == "category"):
            _fail(
                source,
                column,
                frame["source_row"].to_numpy()[:1],
                _("type {actual} au lieu de {expected}", actual=actual, expected=dtype),
            )
    rows = frame["source_row"]
    _check(
        frame,
        source,
        "source_row",
        rows.duplicated().to_numpy() | (rows < 1).to_numpy(),
        _("numéro de ligne répété ou nul"),
    )
    _check(frame, source, "trainee_id", frame["trainee_id"].isna().to_numpy(), _("identifiant manquant"))
    _check(frame, source, "region", frame["region"].isna().to_numpy(), _("région manquante"))
    _check(frame, source, "entry_date", frame["entry_date"].isna().to_numpy(), _("date d'entrée manquante"))
    exit_before = (frame["exit_date"] < frame["entry_date"]).fillna(False).to_numpy()
    _check(frame, source, "exit_date", exit_before, _("sortie avant l'entrée"))
    age = frame["age_at_entry"]
    _check(
        frame, source, "age_at_entry", ((age < 15) | (age > 40)).fillna(False).to_numpy(), _("âge hors de 15 à 40 ans")
    )
    cohort = frame["entry_date"].dt.year.astype("Int64")
    _check(
        frame,
        source,
        "cohort_year",
        (frame["cohort_year"] != cohort).fillna(True).to_numpy(),
        _("année de cohorte différente de l'année d'entrée"),
    )
    reason_without_exit = frame["exit_reason"].notna().to_numpy() & frame["exit_date"].isna().to_numpy()
    _check(frame, source, "exit_reason", reason_without_exit, _("motif de sortie sans date de sortie"))
    return frame
