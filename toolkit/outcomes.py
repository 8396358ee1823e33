"""The last step of cleaning for real exports: the situations table, both timings, and the alerts.

:func:`complete_clean` runs after the canonical frame is built: it adds
``positive_exit_follow_up`` (unknown without a situations table), joins the
situations table when there is one (a file, a DataFrame, or the one the
mapping names; :mod:`toolkit.situations`), and computes the alerts about
unknown outcomes (:mod:`toolkit.alerts`), the one about missing data first.
"""

from __future__ import annotations

import pandas as pd

from .alerts import missing_data_alert, outcome_alerts, unknown_by_category
from .definitions import Definition

__all__ = ["complete_clean", "drop_filled_reason_warnings"]


def _situation_table(situations, raw, source):
    """(table as text with situation column names, source name, layout notes) or None."""
    from .export_layout import read_table
    from .situations import match_headers, situations_source

    block = getattr(raw.mapping, "situations", None) or {}
    if situations is None:
        found = situations_source(raw.mapping, None if isinstance(source, pd.DataFrame) else source)
        if found is None:
            return None
        situations = found[0]
    table, name, notes = read_table(situations, sheet=block.get("feuille"), header_row=block.get("ligne_entete"))
    renames = match_headers([str(c) for c in table.columns], block.get("colonnes"), name)
    table = table[list(renames)].rename(columns=renames)
    return table, name, notes


def complete_clean(data, raw, definition: Definition, *, situations=None, key=None, reference_date=None, source=None):
    """(data, extras): ``data`` with both timings; ``extras`` = ``alerts``, ``situations``, ``unknown_by_category``.

    ``extras["situations"]`` is a :class:`toolkit.situations.SituationResult` (None without a situations
    table); ``extras["alerts"]`` the list of alert records, the missing-data one first.
    """
    from .privacy import load_key
    from .situations import attach_situations

    data = data.copy()
    data["positive_exit_follow_up"] = pd.array([pd.NA] * len(data), dtype="boolean")
    present = set(raw.column_map.values())
    found = _situation_table(situations, raw, source)
    result, notes = None, list(getattr(raw, "layout_notes", []))
    if found is not None:
        table, name, sit_notes = found
        notes += sit_notes
        data, result = attach_situations(
            data,
            table,
            definition=definition,
            key=load_key(key),
            mapping=raw.mapping,
            reference_date=reference_date,
            source_name=name,
        )
        present |= set(table.columns)
        present.add("motif_sortie")
    alerts = []
    missing = missing_data_alert(data, present, definition)
    if missing is not None:
        alerts.append(missing)
    alerts += outcome_alerts(data, "positive_exit", definition)
    if result is not None:
        alerts += outcome_alerts(data, "positive_exit_follow_up", definition)
    extras = {
        "alerts": alerts,
        "situations": result,
        "unknown_by_category": unknown_by_category(data),
        "layout_notes": notes,
    }
    return data, extras


def drop_filled_reason_warnings(parts: list, data: pd.DataFrame) -> None:
    """Remove, in place, the "exit without a reason" row warnings of rows whose reason the situations gave.

    ``parts`` are the cleaning's row-warning parts ``(rows (0-based), column, kind, messages)``.
    """
    import numpy as np

    known = data["exit_reason"].notna().to_numpy() & (data["exit_reason"].astype("object") != "inconnu").to_numpy()
    filled = data["source_row"].to_numpy()[known] - 1
    for i, (rows, column, kind, messages) in enumerate(parts):
        if kind == "exit_without_reason":
            keep = ~np.isin(rows, filled)
            parts[i] = (rows[keep], column, kind, messages[keep])
