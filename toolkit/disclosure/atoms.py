"""Who is counted by what: the trainee-level side of the attacker's system.

Every population a key can count (entries, exits, positive exits, an exit
category, an ESF+ indicator...) is a boolean flag over the rows of the
canonical frame; every filter column is read as canonical code strings
(missing values as :data:`~.cells.MISSING`). The **atoms** are the
combinations of codes and flags that occur; :func:`key_supports` gives, for
every key, the atoms it counts (a keys x atoms 0/1 matrix). Two keys with the
same support count the same trainees; a key whose support is inside another's
counts a subgroup of it: :mod:`.relations` builds the reader's equations from
that.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import sparse

from .cells import MISSING, CellKey

__all__ = ["population_flags", "key_supports", "column_codes", "OTHER_PREFIX"]

# Populations counted on other rows than the trainees of the export (the impact design's rows): a key
# ``impact:<flag>`` counts the rows of ``other`` whose boolean column ``<flag>`` is True.
OTHER_PREFIX = "impact:"

_BASE_POPULATIONS = ("entries", "exits", "still_in", "known", "unknown", "positive", "non_positive")


def population_flags(
    frame: pd.DataFrame,
    names: list[str],
    *,
    definition=None,
    exclude_interruptions: bool = False,
    extra: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """One boolean array per population name, over the rows of ``frame``.

    Standard names: ``entries`` (every row), ``exits``, ``still_in``,
    ``known``, ``unknown``, ``positive``, ``non_positive`` (as in
    :func:`toolkit.indicators.positive_exit_rates` under ``definition``),
    ``interruptions``, ``completed``, ``unknown_reason``,
    ``category:<code>`` (exits of one exit category), ``esf:<code>`` (the
    participants an ESF+ indicator counts), ``flag:<column>`` (a boolean
    column is True). ``extra`` gives any other population as a mask.
    """
    from ..definitions import resolve_outcome
    from ..indicators import _is_in, _outcome_flags

    extra = dict(extra or {})
    out: dict[str, np.ndarray] = {}
    flags = None
    esf = None
    for name in names:
        if name in extra:
            out[name] = np.asarray(extra[name], dtype=bool)
            continue
        if name in _BASE_POPULATIONS or name in ("interruptions", "completed", "unknown_reason"):
            if flags is None:
                positive, _ = resolve_outcome(frame, definition, what="disclosure")
                flags = _outcome_flags(frame, positive, exclude_interruptions)
                exited = frame["exit_date"].notna().to_numpy()
                flags = {
                    "entries": np.ones(len(frame), dtype=bool),
                    "exits": flags["n_exits"].to_numpy(dtype=bool),
                    "still_in": ~exited,
                    "known": flags["n_known"].to_numpy(dtype=bool),
                    "unknown": flags["n_unknown"].to_numpy(dtype=bool),
                    "positive": flags["n_positive"].to_numpy(dtype=bool),
                    "non_positive": (flags["n_known"] - flags["n_positive"]).to_numpy(dtype=bool),
                    "interruptions": flags["n_interruptions"].to_numpy(dtype=bool),
                    "completed": exited & ~flags["n_interruptions"].to_numpy(dtype=bool),
                    "unknown_reason": exited
                    & (frame["exit_reason"].isna().to_numpy() | _is_in(frame["exit_reason"], ["inconnu"])),
                }
            out[name] = flags[name]
        elif name.startswith("category:"):
            out[name] = _is_in(frame["exit_category"], [name.split(":", 1)[1]]) & frame["exit_date"].notna().to_numpy()
        elif name.startswith("flag:"):
            out[name] = frame[name.split(":", 1)[1]].astype("boolean").fillna(False).to_numpy(dtype=bool)
        elif name.startswith("esf:"):
            if esf is None:
                from ..esf import _flags, _participants

                participants = _participants(frame, "all")
                keep = frame.index.isin(participants.index)
                esf = {"_keep": keep, **_flags(participants, 28)}
            base, counted, _ = esf[name.split(":", 1)[1]]
            mask = np.zeros(len(frame), dtype=bool)
            mask[esf["_keep"]] = np.asarray(counted & base, dtype=bool)
            out[name] = mask
        else:  # not a count of trainees of the frame (input rows, rejected rows): no relation to them
            out[name] = None
    return out


def column_codes(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column's values as canonical code strings, missing as :data:`MISSING`."""
    codes, labels = _factorized(frame, column)
    return labels.astype(object)[codes]


def _column(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns and column == "age_band":
        from ..schema import age_band

        return age_band(frame["age_at_entry"])
    return frame[column]


def _factorized(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """A column as integer codes and the canonical code string of each (missing values: :data:`MISSING`)."""
    codes, uniques = pd.factorize(_column(frame, column), use_na_sentinel=True)
    labels = [MISSING if pd.isna(u) else str(u) for u in np.asarray(uniques, dtype=object)]
    codes = np.where(codes < 0, len(labels), codes)
    # Two values with the same code string (1 and "1") are one code.
    labels, remap = np.unique(np.array(labels + [MISSING], dtype=object).astype(str), return_inverse=True)
    return remap.ravel()[codes], labels


def _atoms(frame: pd.DataFrame, keys: list[CellKey], populations: dict[str, np.ndarray]):
    """Atoms (trainee combinations that occur): per-column integer codes and labels, population flags,
    each row's atom and each atom's size."""
    columns = sorted({c for k in keys for c, _ in k.where})
    factorized = {c: _factorized(frame, c) for c in columns}
    populations = {p: m for p, m in populations.items() if m is not None}
    parts = [(factorized[c][0], len(factorized[c][1])) for c in columns]
    parts += [(populations[p].astype(np.int64), 2) for p in sorted(populations)]
    ids = np.zeros(len(frame), dtype=np.int64)
    span = 1
    for part, card in parts:  # one integer per combination, renumbered before it could overflow
        if span * card >= 2**62:
            ids = np.unique(ids, return_inverse=True)[1].ravel()
            span = int(ids.max()) + 1 if len(ids) else 1
        ids = ids * card + part
        span *= card
    _, first, inverse, size = np.unique(ids, return_index=True, return_inverse=True, return_counts=True)
    atom_codes = {c: (factorized[c][0][first], factorized[c][1]) for c in columns}
    atom_pops = {p: populations[p][first] for p in populations}
    return columns, atom_codes, atom_pops, inverse.ravel(), size


def _membership(keys: list[CellKey], atom_codes, atom_pops, n_atoms: int) -> sparse.csr_matrix:
    """The keys x atoms 0/1 matrix: which atoms each key counts."""
    cache: dict = {}

    def mask(column: str, value, subset=None) -> np.ndarray:
        if (column, value) not in cache:
            codes, labels = atom_codes[column]
            wanted = np.isin(labels, value if isinstance(value, tuple) else (value,))
            cache[(column, value)] = wanted
        codes = atom_codes[column][0]
        return cache[(column, value)][codes if subset is None else codes[subset]]

    rows, cols = [], []
    region_rows = {}
    if "region" in atom_codes:
        codes, labels = atom_codes["region"]
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
        region_rows = {labels[j]: order[bounds[j] : bounds[j + 1]] for j in range(len(labels))}
    for i, key in enumerate(keys):
        if key.population not in atom_pops:  # not a count of trainees: linked to no atom
            continue
        where = dict(key.where)
        region = where.get("region")
        if isinstance(region, str) and region_rows:
            subset = region_rows.get(region, np.zeros(0, dtype=np.int64))
            selected = atom_pops[key.population][subset].copy()
            for column, value in where.items():
                if column != "region":
                    selected &= mask(column, value, subset)
            idx = subset[selected]
        else:
            selected = atom_pops[key.population].copy()
            for column, value in where.items():
                selected &= mask(column, value)
            idx = np.flatnonzero(selected)
        rows.append(np.full(len(idx), i))
        cols.append(idx)
    rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(keys), n_atoms))


def key_supports(
    keys: list[CellKey],
    frame: pd.DataFrame,
    *,
    definition=None,
    populations: Mapping[str, np.ndarray] | None = None,
    other: pd.DataFrame | None = None,
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """The keys x atoms support matrix, the number of trainees in each atom, and which keys count trainees
    of ``frame`` (``False``: another kind of count, such as input rows, with no support).

    ``other``: rows of another population published in the same batch (the impact design's rows, one per
    young person of either group), counted by the keys whose population starts with :data:`OTHER_PREFIX`
    (``impact:analysed`` counts the rows whose boolean column ``analysed`` is True). No row of ``other`` is a
    trainee of ``frame`` and no trainee is a row of ``other``: the two populations' atoms are disjoint.
    """
    names = sorted({k.population for k in keys})
    own = [n for n in names if not n.startswith(OTHER_PREFIX)]
    flags = population_flags(frame, own, definition=definition, extra=populations)
    if other is not None:
        frame, flags = _with_other_rows(frame, other, keys, flags, [n for n in names if n not in own])
    _, atom_codes, atom_pops, _, size = _atoms(frame, keys, flags)
    counted = np.array([flags.get(k.population) is not None for k in keys], dtype=bool)
    return _membership(keys, atom_codes, atom_pops, len(size)), size, counted


def _with_other_rows(frame, other, keys, flags: dict, names: list[str]):
    """The filter columns of ``frame`` and ``other`` stacked, and every population flag over both (a trainee
    population is False on ``other``'s rows and an ``impact:`` population False on the trainees)."""
    columns = sorted({c for k in keys for c, _ in k.where})

    def filters(rows: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for c in columns:
            if c in rows.columns or c == "age_band" and "age_at_entry" in rows.columns:
                out[c] = _column(rows, c).astype("object").reset_index(drop=True)
            else:
                out[c] = pd.Series(pd.NA, index=range(len(rows)), dtype="object")
        return pd.DataFrame(out, index=range(len(rows)))

    stacked = pd.concat([filters(frame), filters(other)], ignore_index=True)
    n_own, n_other = len(frame), len(other)
    padded = {
        name: None if mask is None else np.concatenate([mask, np.zeros(n_other, dtype=bool)])
        for name, mask in flags.items()
    }
    for name in names:
        column = name[len(OTHER_PREFIX) :]
        if column not in other.columns:
            raise KeyError(f"{name}: the other rows have no column {column!r}")
        mask = other[column].astype("boolean").fillna(False).to_numpy(dtype=bool)
        padded[name] = np.concatenate([np.zeros(n_own, dtype=bool), mask])
    return stacked, padded
