"""Two-table exports: the situations after exit, and the two timings of a positive exit.

Many information systems export the parcours (one row each) and the
situations after exit (one row per situation: trainee id, situation type,
start date, end date, date confirmed; 0 to several per trainee) separately.
:func:`attach_situations` reads the second table, accounts for every one of
its rows, and computes on the canonical frame:

``positive_exit`` (at the end of the parcours)
    judged on the situations that start within ``definition.immediate_days``
    (28) days of the exit date, the window of the ESF+ immediate results;
``positive_exit_follow_up`` (after follow-up)
    a qualifying situation that starts within ``definition.follow_up_months``
    (12) months of exit.

A parcours without an exit reason takes that of its situation at exit (the
first qualifying one in the 28-day window, else the first one); a trainee
followed up but with nothing started in that window, once elapsed, is
``sans_solution`` at exit.

For each timing, a parcours is True when one situation in the window
qualifies under the definition (:func:`toolkit.definitions.positive_exit`
judges each situation: type and duration); NA when one could still qualify
(running and not yet long enough, no start date), when the window has not
elapsed by the reference date, or when the trainee has no situation recorded
at all (unknown, not negative: counted in ``exits_without_situation``);
False otherwise. The reference date is the latest date in the two tables,
unless given.

Every situation row is accounted for (:attr:`SituationResult.accounting`):
``used`` (matched to a parcours, starts within the follow-up window) or
``rejected`` with a reason: ``unknown_trainee``, ``invalid_start``,
``end_before_start`` (dates out of order), ``duplicate``, ``before_exit``
(the parcours had not ended, or the situation ended before the exit),
``after_window`` (starts after the follow-up window).

Situation labels are recognised like exit reasons (the exit-reason aliases
and the mapping's ``valeurs: motif_sortie``). The situations table's headers
go in the mapping's ``situations`` block (see :mod:`toolkit.mapping`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .definitions import Definition, _add_months, positive_exit
from .errors import SchemaError
from .i18n import _
from .schema import (
    CANONICAL_DTYPES,
    EXIT_CATEGORY_OF,
    EXIT_REASON_CODES,
    SITUATION_COLUMNS,
    SITUATION_HEADER_ALIASES,
    normalise_key,
)

__all__ = [
    "SITUATION_REASONS",
    "SituationResult",
    "situation_reason_label",
    "situations_text",
    "attach_situations",
    "match_headers",
]

SITUATION_REASONS = (
    "unknown_trainee",
    "invalid_start",
    "end_before_start",
    "duplicate",
    "before_exit",
    "after_window",
)


def situation_reason_label(code: str) -> str:
    """Label, in the current language, of a situation rejection code."""
    return {
        "unknown_trainee": _("Stagiaire absent des parcours conservés"),
        "invalid_start": _("Date de début de situation manquante ou illisible"),
        "end_before_start": _("Dates dans le désordre (fin avant début)"),
        "duplicate": _("Doublon d'une situation précédente"),
        "before_exit": _("Situation antérieure à la sortie (parcours en cours ou situation finie avant la sortie)"),
        "after_window": _("Situation commencée après la fenêtre de suivi"),
    }[code]


@dataclass
class SituationResult:
    """What :func:`attach_situations` did with the situations table.

    ``accounting``: one row per situation row (``source_row``, ``status``
    ``used``/``rejected``, ``reason_code``, ``reason``); ``summary``: counts
    (``situations_received``, ``situations_used``, ``rejected_by_reason``,
    ``exits``, ``exits_without_situation``, ``not_elapsed`` per timing,
    ``reference_date``, ``source_name``).
    """

    accounting: pd.DataFrame
    summary: dict = field(default_factory=dict)


def situations_text(summary: dict | None) -> list[str]:
    """Lines of the cleaning summary about the situations table (current language); empty without one."""
    if not summary:
        return []
    lines = [
        _(
            "Situations ({name}) : {received} reçue(s), {used} utilisée(s), date de référence {date}",
            name=summary["source_name"],
            received=summary["situations_received"],
            used=summary["situations_used"],
            date=summary["reference_date"],
        )
    ]
    lines += [f"  - {situation_reason_label(c)} : {n}" for c, n in summary["rejected_by_reason"].items() if n]
    lines.append(
        _(
            "Sorties sans aucune situation enregistrée (issue inconnue) : {n} sur {exits}",
            n=summary["exits_without_situation"],
            exits=summary["exits"],
        )
    )
    return lines


def match_headers(headers: list[str], columns: dict[str, str] | None, name: str) -> dict[str, str]:
    """{header: situation column} from the mapping's ``situations: colonnes`` and the built-in variants."""
    columns = {normalise_key(k): v for k, v in (columns or {}).items()}
    out: dict[str, str] = {}
    for header in headers:
        key = normalise_key(header)
        target = columns.get(key) or SITUATION_HEADER_ALIASES.get(key)
        if target is not None and target not in out.values():
            out[header] = target
    missing = [c.name for c in SITUATION_COLUMNS if c.required and c.name not in out.values()]
    if missing:
        found = ", ".join(f"« {h} »" for h in headers)
        raise SchemaError(
            _(
                "{name} : colonne(s) manquante(s) dans le tableau des situations : {missing}. Colonnes trouvées : "
                "{found}. Lancez « e2c map » pour proposer une correspondance (bloc « situations »).",
                name=name,
                missing=", ".join(missing),
                found=found,
            )
        )
    return out


def _parse(table: pd.DataFrame, mapping, key: bytes) -> pd.DataFrame:
    """Situation rows as typed columns: pseudonym, reason code, dates."""
    from .cleaning import parse_dates
    from .io import label_table
    from .privacy import pseudonymise_unique

    def distinct(values: pd.Series):
        codes, uniques = pd.factorize(values.astype(str).str.strip())
        return codes, np.asarray(uniques, dtype=object)

    codes, ids = distinct(table["id_stagiaire"])
    pseudo = pseudonymise_unique([i or None for i in ids], key)[codes]
    labels = label_table("motif_sortie")
    for text, target in (getattr(mapping, "values", {}) or {}).get("motif_sortie", {}).items():
        labels[normalise_key(text)] = labels[normalise_key(target)]
    codes, types = distinct(table["type_situation"])
    position = np.array([labels.get(normalise_key(t), EXIT_REASON_CODES.index("inconnu")) for t in types])
    out = pd.DataFrame({"trainee_id": pseudo, "reason": position[codes] if len(codes) else position[:0]})
    for raw, canonical in (
        ("date_debut_situation", "outcome_start"),
        ("date_fin_situation", "outcome_end"),
        ("date_suivi", "follow_up_date"),
    ):
        if raw in table.columns:
            codes, uniques = distinct(table[raw])
            out[canonical] = parse_dates(uniques)[codes]
        else:
            out[canonical] = np.full(len(table), np.datetime64("NaT"), dtype="datetime64[ns]")
    out["raw_key"] = pd.factorize(pd.MultiIndex.from_frame(table.astype(str).apply(lambda c: c.str.strip())))[0]
    return out


def _match(sit: pd.DataFrame, data: pd.DataFrame) -> np.ndarray:
    """Position in ``data`` of the parcours each situation belongs to (-1 none): the latest entered before it."""
    parcours = pd.DataFrame(
        {"trainee_id": data["trainee_id"].astype(object).to_numpy(), "entry": data["entry_date"].to_numpy()}
    )
    parcours["row"] = np.arange(len(parcours))
    parcours = parcours.dropna(subset=["trainee_id"]).sort_values("entry", kind="stable")
    left = pd.DataFrame({"trainee_id": sit["trainee_id"].to_numpy(), "start": sit["outcome_start"].to_numpy()})
    left["i"] = np.arange(len(left))
    ok = left["start"].notna() & left["trainee_id"].notna()
    merged = pd.merge_asof(
        left[ok].sort_values("start", kind="stable"),
        parcours,
        left_on="start",
        right_on="entry",
        by="trainee_id",
        direction="backward",
    )
    out = np.full(len(sit), -1, dtype=np.int64)
    out[merged["i"].to_numpy()] = merged["row"].fillna(-1).to_numpy(dtype=np.int64)
    return out


def _judge(sit: pd.DataFrame, data: pd.DataFrame, row: np.ndarray, d: Definition) -> np.ndarray:
    """Per situation: qualifies (1), does not (0), cannot tell yet (-1), under the definition."""
    frame = pd.DataFrame(
        {
            "exit_date": data["exit_date"].to_numpy()[row],
            "exit_reason": pd.Categorical.from_codes(sit["reason"].to_numpy(), dtype=CANONICAL_DTYPES["exit_reason"]),
            "outcome_start": sit["outcome_start"].to_numpy(),
            "outcome_end": sit["outcome_end"].to_numpy(),
            "follow_up_date": sit["follow_up_date"].to_numpy(),
        }
    )
    flag = positive_exit(frame, d)
    return np.where(flag.isna(), -1, flag.fillna(False).astype(int)).astype(np.int64)


def _timing(n: int, row, start, verdict, window_end, reference, has_any) -> pd.array:
    """Positive flag per parcours for one window (see the module docstring)."""
    inside = start <= window_end[row]
    best = np.full(n, -2, dtype=np.int64)  # -2: no situation in the window
    np.maximum.at(best, row[inside], np.where(verdict[inside] == -1, 0, verdict[inside] * 2 - 1)[:])
    # best: 1 = a qualifying one; 0 = one that could still qualify; -1 = only non-qualifying ones
    elapsed = window_end <= reference
    out = pd.array(np.full(n, False), dtype="boolean")
    out[best == 1] = True
    unknown = (best == 0) | ((best != 1) & ~elapsed) | ((best == -2) & ~has_any)
    out[unknown] = pd.NA
    return out


def attach_situations(
    data: pd.DataFrame,
    table: pd.DataFrame,
    *,
    definition: Definition,
    key: bytes,
    mapping=None,
    reference_date=None,
    source_name: str = "situations",
) -> tuple[pd.DataFrame, SituationResult]:
    """Both timings of a positive exit on ``data`` from a situations table (see the module docstring).

    Parameters
    ----------
    data : DataFrame
        Canonical frame (pseudonymised ``trainee_id``).
    table : DataFrame
        The situations table as text, headers already renamed to the
        situation columns (:func:`match_headers`).
    definition : Definition
    key : bytes
        The pseudonymisation key used for ``data`` (the ids are joined on pseudonyms).
    mapping : ExportMapping, optional
        For the label mappings of ``motif_sortie``.
    reference_date : date-like, optional
        Windows not elapsed by then are unknown (default: the latest date in the two tables).

    Returns
    -------
    (DataFrame, SituationResult)
        ``data`` with ``positive_exit`` and ``positive_exit_follow_up``
        replaced (and, for a parcours without an exit reason, the reason
        and dates of the situation at exit filled in).
    """
    sit = _parse(table, mapping, key)
    n_sit, n = len(sit), len(data)
    reason = np.full(n_sit, -1, dtype=np.int64)
    known_ids = set(data["trainee_id"].dropna().astype(object))
    start, end = sit["outcome_start"].to_numpy(), sit["outcome_end"].to_numpy()
    row = _match(sit, data)
    exit_days = data["exit_date"].to_numpy().astype("datetime64[D]")
    exit_of = np.where(row >= 0, exit_days[np.maximum(row, 0)], np.datetime64("NaT"))
    follow_end = _add_months(exit_days, np.full(n, definition.follow_up_months))
    rules = [
        ~sit["trainee_id"].isin(known_ids).to_numpy(),
        np.isnat(start),
        ~np.isnat(end) & (end < start),
        pd.Series(sit["raw_key"]).duplicated().to_numpy(),
        (row < 0) | np.isnat(exit_of) | (~np.isnat(end) & (end.astype("datetime64[D]") < exit_of)),
        (row >= 0) & (start.astype("datetime64[D]") > np.where(row >= 0, follow_end[np.maximum(row, 0)], exit_of)),
    ]
    for position, mask in reversed(list(enumerate(rules))):
        reason[mask] = position
    used = reason < 0
    reference = _reference(data, sit, reference_date)
    ref = np.datetime64(reference.date(), "D")

    u_row, u_start = row[used], start[used].astype("datetime64[D]")
    verdict = _judge(sit[used].reset_index(drop=True), data, u_row, definition)
    # A trainee followed up (a situation matched to the parcours, even one after the window) is not "no situation".
    followed = used | (reason == SITUATION_REASONS.index("after_window"))
    has_any = np.bincount(row[followed], minlength=n) > 0
    exited = ~np.isnat(exit_days)
    immediate_end = exit_days + np.timedelta64(definition.immediate_days, "D")
    out = data.copy()
    out["positive_exit"] = _timing(n, u_row, u_start, verdict, immediate_end, ref, has_any)
    out["positive_exit_follow_up"] = _timing(n, u_row, u_start, verdict, follow_end, ref, has_any)
    for column in ("positive_exit", "positive_exit_follow_up"):
        out.loc[~exited, column] = pd.NA
    _fill_exit_from_situations(out, sit[used], u_row, u_start, verdict, immediate_end)
    # Followed up, but nothing started within the window once it has elapsed: no solution at exit (known, negative).
    at_exit = np.bincount(u_row[u_start <= immediate_end[u_row]], minlength=n) > 0
    idle = exited & has_any & ~at_exit & (immediate_end <= ref)
    reason_now = out["exit_reason"].astype("object").to_numpy()
    idle &= pd.isna(reason_now) | (reason_now == "inconnu")
    out.loc[out.index[idle], "exit_reason"] = "sans_solution"
    out.loc[out.index[idle], "exit_category"] = EXIT_CATEGORY_OF["sans_solution"]

    summary = {
        "source_name": source_name,
        "situations_received": int(n_sit),
        "situations_used": int(used.sum()),
        "rejected_by_reason": {
            c: int(k) for c, k in zip(SITUATION_REASONS, np.bincount(reason[~used], minlength=len(SITUATION_REASONS)))
        },
        "exits": int(exited.sum()),
        "exits_without_situation": int((exited & ~has_any).sum()),
        "not_elapsed": {
            "positive_exit": int((exited & (immediate_end > ref)).sum()),
            "positive_exit_follow_up": int((exited & (follow_end > ref)).sum()),
        },
        "reference_date": str(reference.date()),
        "immediate_days": int(definition.immediate_days),
        "follow_up_months": int(definition.follow_up_months),
    }
    return out, SituationResult(accounting=_accounting(reason), summary=summary)


def _reference(data: pd.DataFrame, sit: pd.DataFrame, given) -> pd.Timestamp:
    """The reference date: the one given, else the latest date in the two tables."""
    if given is not None:
        return pd.Timestamp(given)
    dates = [data[c].max() for c in ("entry_date", "exit_date", "outcome_start", "outcome_end", "follow_up_date")]
    dates += [sit[c].max() for c in ("outcome_start", "outcome_end", "follow_up_date")]
    return max(pd.Timestamp(x) for x in dates if pd.notna(x))


def _accounting(reason: np.ndarray) -> pd.DataFrame:
    """One row per situation row: used, or rejected with its reason."""
    labels = np.array([situation_reason_label(c) for c in SITUATION_REASONS] + [""], dtype=object)
    used = reason < 0
    return pd.DataFrame(
        {
            "source_row": np.arange(1, len(reason) + 1, dtype=np.int64),
            "status": pd.Categorical(np.where(used, "used", "rejected"), categories=["used", "rejected"]),
            "reason_code": pd.Categorical.from_codes(reason, categories=list(SITUATION_REASONS)),
            "reason": labels[reason],
        }
    )


def _fill_exit_from_situations(out, sit, row, start, verdict, window_end) -> None:
    """A parcours without an exit reason takes the reason and dates of its situation at exit (in place).

    The situation at exit is the first qualifying one in the immediate window,
    else the first one in it.
    """
    inside = start <= window_end[row]
    if not inside.any():
        return
    pick = pd.DataFrame(
        {"row": row[inside], "start": start[inside], "q": -verdict[inside], "i": np.flatnonzero(inside)}
    )
    first = pick.sort_values(["row", "q", "start"], kind="stable").drop_duplicates("row")
    target, source = first["row"].to_numpy(), first["i"].to_numpy()
    reason = out["exit_reason"].astype("object").to_numpy()
    empty = pd.isna(reason[target]) | (reason[target] == "inconnu")
    target, source = target[empty], source[empty]
    if len(target) == 0:
        return
    codes = np.asarray(EXIT_REASON_CODES, dtype=object)[sit["reason"].to_numpy()[source]]
    position = out.index[target]
    out.loc[position, "exit_reason"] = codes
    out.loc[position, "exit_category"] = [EXIT_CATEGORY_OF[c] for c in codes]
    for column in ("outcome_start", "outcome_end", "follow_up_date"):
        out.loc[position, column] = sit[column].to_numpy()[source]


def situations_source(mapping, export_path) -> tuple[object, dict] | None:
    """(source, block) of the situations table a mapping names, or None.

    ``fichier`` is read relative to the mapping file; ``feuille`` alone means
    a sheet of the export's own workbook.
    """
    block = getattr(mapping, "situations", None)
    if not block:
        return None
    if block.get("fichier"):
        base = Path(block.get("_base") or ".")
        return base / block["fichier"], block
    if block.get("feuille") is not None and export_path is not None:
        return Path(export_path), block
    return None
