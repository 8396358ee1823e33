"""The frames the cleaning step produces: the canonical data, rejected rows and warnings.

Messages quote raw values (already masked of identifiers by the cleaning step),
cut to 80 characters; they never quote birth data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .cleanresult import REJECTION_REASONS, WARNING_KINDS, reason_label, warning_label
from .i18n import _
from .schema import CANONICAL_DTYPES, EXIT_CATEGORY_OF, EXIT_REASON_CODES
from .textcolumn import RowLayout, TextColumn

__all__ = [
    "canonical_frame",
    "exit_codes",
    "UNKNOWN_EXIT",
    "quote_value",
    "Warnings",
    "rejected_frame",
    "malformed_details",
    "strings_at",
    "arrow_strings",
]

_QUOTE_LENGTH = 80


def quote_value(value: object) -> str:
    """A raw value for a message: « value », cut to 80 characters, control characters shown as spaces."""
    text = "".join(" " if (ord(c) < 32 or 127 <= ord(c) < 160) else c for c in str(value)[: _QUOTE_LENGTH + 1])
    return f"« {text[:_QUOTE_LENGTH]}… »" if len(text) > _QUOTE_LENGTH else f"« {text} »"


# --------------------------------------------------------------------------
# Warnings, collected as arrays
# --------------------------------------------------------------------------
class Warnings:
    """Row and column warnings, collected as arrays and turned into one tidy frame."""

    def __init__(self, keep: np.ndarray):
        self.keep = keep
        self.parts: list[tuple[np.ndarray, str, str, np.ndarray]] = []
        self.column_level: list[tuple[str, str, str]] = []

    def add_rows(self, mask: np.ndarray, column: str, kind: str, col: TextColumn | None = None) -> None:
        """Row warnings for kept rows in ``mask``; the message quotes the raw value when ``col`` is given."""
        rows = np.flatnonzero(mask & self.keep)
        if len(rows) == 0:
            return
        base = warning_label(kind)
        if col is None:
            messages = np.full(len(rows), base, dtype=object)
        else:
            per_value = np.array([f"{base} : {quote_value(v)}" for v in col.values], dtype=object)
            extended = np.append(per_value, _("{label} (vide)", label=base))
            messages = extended[col.codes[rows]]
        self.parts.append((rows, column, kind, messages))

    def add_column(self, column: str, kind: str, message: str) -> None:
        self.column_level.append((column, kind, message))

    def frame(self, layout: RowLayout) -> pd.DataFrame:
        lengths = np.array([len(p[0]) for p in self.parts], dtype=np.int64)
        n_col = len(self.column_level)
        rows = np.concatenate([np.full(n_col, -1, dtype=np.int64)] + [p[0] + 1 for p in self.parts])
        names = [c for c, _, _ in self.column_level] + [p[1] for p in self.parts]
        kinds = [k for _, k, _ in self.column_level] + [p[2] for p in self.parts]
        repeats = np.concatenate([np.ones(n_col, dtype=np.int64), lengths]).astype(np.int64)
        messages = np.concatenate(
            [np.array([m for *_, m in self.column_level], dtype=object)] + [p[3] for p in self.parts]
        )
        name_codes, name_values = pd.factorize(pd.Index(names, dtype=object))
        kind_order = list(WARNING_KINDS)
        kind_codes = np.array([kind_order.index(k) for k in kinds], dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        lines = np.where(rows > 0, layout.first_line[np.maximum(rows, 1) - 1], 0)
        return pd.DataFrame(
            {
                "source_row": pd.arrays.IntegerArray(np.maximum(rows, 0)[order], (rows < 0)[order]),
                "source_line": pd.arrays.IntegerArray(lines[order], (rows < 0)[order]),
                "column": pd.Categorical.from_codes(
                    np.repeat(name_codes, repeats)[order], categories=pd.Index(name_values, dtype="str")
                ),
                "kind": pd.Categorical.from_codes(np.repeat(kind_codes, repeats)[order], categories=kind_order),
                "message": pd.array(messages[order], dtype="string"),
            }
        )

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _column, kind, _message in self.column_level:
            counts[kind] = counts.get(kind, 0) + 1
        for rows, _column, kind, _messages in self.parts:
            counts[kind] = counts.get(kind, 0) + len(rows)
        return {k: counts[k] for k in WARNING_KINDS if counts.get(k)}


def malformed_details(rejected: pd.DataFrame, layout: RowLayout) -> None:
    """Name the field count of rows rejected as malformed (in place)."""
    where = (rejected["reason_code"] == "malformed_row").to_numpy()
    if not where.any() or layout.n_fields is None:
        return
    positions = rejected["source_row"].to_numpy()[where] - 1
    details = [_(" : {n} champs au lieu de {width}", n=int(k), width=layout.width) for k in layout.n_fields[positions]]
    rejected.loc[where, "reason"] = rejected.loc[where, "reason"].astype(str) + pd.Series(details, dtype=object).values


def arrow_strings(values):
    import pyarrow as pa

    return pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)


def strings_at(per_value, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``string`` array of ``per_value[codes]`` (code -1 or a None value: missing), built by pyarrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = per_value if isinstance(per_value, pa.Array) else arrow_strings(per_value)
    taken = pc.take(values, pa.array(codes, type=pa.int64(), mask=codes < 0))
    return pd.array(taken, dtype="string")


def rejected_frame(
    columns, raw_columns, rejected_mask, reason, pseudo_per_value, id_col, cols, age, first_copy
) -> pd.DataFrame:
    """Rejected rows: source_row, reason_code, reason (with the faulty value), raw contract columns."""
    rows = np.flatnonzero(rejected_mask)
    codes = reason[rows]
    labels = np.array([reason_label(c) for c in REJECTION_REASONS], dtype=object)
    reason_text = pd.Series(labels[codes], dtype="str")

    def quoted(col: TextColumn | None, where: np.ndarray) -> np.ndarray:
        if col is None:
            return np.full(int(where.sum()), _(" (colonne absente)"), dtype=object)
        per_value = np.array([f" : {quote_value(v)}" for v in col.values], dtype=object)
        return np.append(per_value, _(" (vide)"))[col.codes[rows[where]]]

    detail = np.full(len(rows), "", dtype=object)
    position = {code: i for i, code in enumerate(REJECTION_REASONS)}
    where = codes == position["unknown_region"]
    detail[where] = quoted(cols["region"], where)
    where = codes == position["invalid_entry_date"]
    detail[where] = quoted(cols["date_entree"], where)
    where = codes == position["exit_before_entry"]
    if where.any():
        detail[where] = (
            pd.Series(quoted(cols["date_entree"], where), dtype="str").str.replace(" : ", _(" : entrée "), n=1)
            + ","
            + pd.Series(quoted(cols["date_sortie"], where), dtype="str").str.replace(" : ", _(" sortie "), n=1)
        ).to_numpy(dtype=object)
    where = codes == position["age_out_of_range"]
    if where.any():
        ages = age[rows[where]].astype("int64")
        detail[where] = np.array([_(" : {age} ans", age=a) for a in ages], dtype=object)
    where = codes == position["duplicate"]
    if where.any():
        detail[where] = np.array(
            [_(" : identique à la ligne {row}", row=r) for r in first_copy[rows[where]] + 1], dtype=object
        )

    out = pd.DataFrame(
        {
            "source_row": (rows + 1).astype("int64"),
            "reason_code": pd.Categorical.from_codes(codes, categories=list(REJECTION_REASONS)),
            "reason": pd.array((reason_text + pd.Series(detail, dtype="str")).to_numpy(dtype=object), dtype="string"),
        }
    )
    for column in raw_columns:
        if column == "id_stagiaire":
            out[column] = strings_at(pseudo_per_value, id_col.codes[rows])
        else:
            out[column] = strings_at(columns[column].values, columns[column].codes[rows])
    return out


UNKNOWN_EXIT = EXIT_REASON_CODES.index("inconnu")


def exit_codes(rows) -> np.ndarray:
    """Exit reason positions: a reason counts only with an exit date; an exit without a known reason is 'inconnu'."""
    has_exit = ~np.isnat(rows.exit_date)
    return np.where(has_exit, np.where(rows.exit_reason >= 0, rows.exit_reason, UNKNOWN_EXIT), -1)


def canonical_frame(rows, keep: np.ndarray, trainee_id) -> pd.DataFrame:
    """The canonical frame of the kept rows, without positive_exit (computed from it afterwards)."""
    k = np.flatnonzero(keep)

    def categorical(name: str) -> pd.Categorical:
        return pd.Categorical.from_codes(getattr(rows, name)[k], dtype=CANONICAL_DTYPES[name])

    def integers(name: str) -> pd.api.extensions.ExtensionArray:
        return pd.array(getattr(rows, name)[k], dtype="Float64").astype("Int64")

    exit_code = exit_codes(rows)[k]
    site_codes, site_names = _site_codes(rows.site[k], rows.site_values, rows.school[k], rows.school_values)
    return pd.DataFrame(
        {
            "source_row": (k + 1).astype("int64"),
            "trainee_id": trainee_id,
            "region": categorical("region"),
            # Schools and sites seen only on rejected rows are not categories of the data.
            "school": pd.Categorical.from_codes(
                rows.school[k], categories=pd.Index(rows.school_values, dtype="str")
            ).remove_unused_categories(),
            "site": pd.Categorical.from_codes(
                site_codes, categories=pd.Index(site_names, dtype="str")
            ).remove_unused_categories(),
            "sex": categorical("sex"),
            "birth_year": integers("birth_year"),
            "age_at_entry": integers("age_at_entry"),
            "education_level": categorical("education_level"),
            "qpv": _boolean(rows.qpv[k]),
            "rural": _boolean(rows.rural[k]),
            "disability": _boolean(rows.disability[k]),
            "nationality": categorical("nationality"),
            "referrer": categorical("referrer"),
            "entry_date": rows.entry_date[k],
            "exit_date": rows.exit_date[k],
            "exit_reason": pd.Categorical.from_codes(exit_code, dtype=CANONICAL_DTYPES["exit_reason"]),
            "exit_category": pd.Categorical.from_codes(
                _category_codes(exit_code), dtype=CANONICAL_DTYPES["exit_category"]
            ),
            "outcome_start": rows.outcome_start[k],
            "outcome_end": rows.outcome_end[k],
            "follow_up_date": rows.follow_up_date[k],
            "weeks_in_company": pd.array(rows.weeks_in_company[k], dtype="Float64"),
            "n_internships": integers("n_internships"),
            "esf_cofunded": _boolean(rows.esf_cofunded[k]),
            "group": categorical("group"),
            "cohort_year": integers("cohort_year"),
        }
    )


def _boolean(positions: np.ndarray) -> pd.arrays.BooleanArray:
    """Nullable booleans from positions in ('0', '1'); -1 is unknown."""
    return pd.arrays.BooleanArray(positions == 1, positions < 0)


_CATEGORY_OF_CODE = np.array(
    [list(CANONICAL_DTYPES["exit_category"].categories).index(EXIT_CATEGORY_OF[c]) for c in EXIT_REASON_CODES],
    dtype=np.int64,
)


def _category_codes(exit_code: np.ndarray) -> np.ndarray:
    return np.where(exit_code >= 0, _CATEGORY_OF_CODE[np.maximum(exit_code, 0)], -1)


def _site_codes(site_codes, site_values, school_codes, school_values) -> tuple[np.ndarray, np.ndarray]:
    """Site, or the school when the site is missing, as codes into one set of names."""
    names = np.concatenate([site_values, school_values]).astype(object)
    combined = np.where(site_codes >= 0, site_codes, np.where(school_codes >= 0, len(site_values) + school_codes, -1))
    new_codes, categories = pd.factorize(pd.Index(names, dtype=object))
    remap = np.append(new_codes, -1).astype(np.int64)
    return remap[combined], np.asarray(categories, dtype=object)
