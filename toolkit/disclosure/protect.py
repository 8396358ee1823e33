"""Choosing what to hide over the whole publication (linked tables), checked by the attacker.

:func:`protect_publication` hides every small count (primary suppression),
then adds the cheapest secondary cells until the attacker's audit
(:mod:`.audit`) finds every hidden cell and every small difference protected
by the standard. Each round audits only what is new or still failing: hiding
a cell turns an equation into an unknown, which can only widen the
intervals of the others. For a failing quantity the LP's multipliers name
the published relations that pin it; one of their published cells, the
cheapest, is hidden. Zeros are never hidden (a hidden cell is then known to
be at least 1, which the audit assumes).

**Cost.** As in tau-argus, each cell has a cost of hiding it, and the
cheapest candidate is hidden (ties: the smaller value, then the first key).
By default the cost is the cell's value in trainees (tau-argus's default
cost); a caller may give its own per-cell cost (``cost=``), e.g. a high cost
for the figures a reader looks for first (:func:`toolkit.reports.protect.report_costs`).
Small counts (1 to ``min_cell`` - 1) are hidden whatever their cost.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from ..config import DEFAULT_MIN_CELL
from ..i18n import _
from .audit import PROTECTION_SHARE, AuditResult, TargetInterval, audit_system
from .cells import CellKey, Publication
from .relations import AttackerSystem, Relations, apply_hidden, find_relations
from .tables import DisclosureError

__all__ = [
    "ProtectionResult",
    "protect_publication",
    "audit_publication",
    "describe_target",
    "cell_costs",
    "LAST_RESORT",
]

# A cell whose cost of hiding is at least this is a last resort: hidden only for a relation or a failing
# quantity that no cheaper cell protects (:func:`_cover`), and a cell whose hiding would force one costs
# more (:func:`_forcing`).
LAST_RESORT = 1e9


@dataclass
class ProtectionResult:
    """What protection hid and what the final audit found."""

    hidden: set[CellKey]
    primary: set[CellKey]
    audit: AuditResult
    system: AttackerSystem
    rounds: int = 0
    seconds: dict = field(default_factory=dict)

    @property
    def secondary(self) -> set[CellKey]:
        return self.hidden - self.primary

    def information_loss(self) -> dict:
        """Share of published counts hidden, overall and per region (``region`` filter; national keys apart)."""
        keys, values = self.system.keys, self.system.values
        hidden = np.array([k in self.hidden for k in keys])
        region = pd.Series([dict(k.where).get("region", "(national)") for k in keys], dtype="object")
        frame = pd.DataFrame({"region": region, "hidden": hidden, "value": values})
        per = frame.groupby("region").agg(cells=("hidden", "size"), hidden=("hidden", "sum"))
        per["share_hidden"] = per["hidden"] / per["cells"]
        return {
            "cells": len(keys),
            "hidden": int(hidden.sum()),
            "primary": len(self.primary),
            "share_hidden": float(hidden.mean()) if len(keys) else 0.0,
            "share_trainees_hidden": float(values[hidden].sum() / max(values.sum(), 1)),
            "per_region": per,
        }


def describe_target(system: AttackerSystem, target: TargetInterval, publication: Publication) -> str:
    """Where a protected quantity is published and what the attacker learns about it (translated)."""
    keys = system.keys
    where = publication.appearances.get(keys[target.name[1]], ["?"])[0]
    if target.name[0] == "cell":
        what = _("la cellule masquée {key}", key=str(keys[target.name[1]]))
    elif target.name[0] == "pair":
        what = _("la différence {big} − {small}", big=str(keys[target.name[1]]), small=str(keys[target.name[2]]))
    else:
        what = _("le reste non publié de {total}", total=str(keys[target.name[1]]))
    return _(
        "{what} ({where}) se déduit entre {low} et {high} ; la norme de protection demande au moins "
        "{need_low} à {need_high}.",
        what=what,
        where=where,
        low=_fmt(target.low),
        high=_fmt(target.high),
        need_low=_fmt(target.need_low),
        need_high=_fmt(target.need_high),
    )


def _fmt(x: float) -> str:
    return "∞" if x == np.inf else ("?" if x != x else str(int(x)))


def audit_publication(
    publication: Publication,
    frame: pd.DataFrame,
    min_cell: int = DEFAULT_MIN_CELL,
    *,
    markers: str = "neutral",
    ratios: str = "rule",
    exact: bool = False,
    raise_on_failure: bool = True,
    relations: Relations | None = None,
    engine: str = "highs",
    **kwargs,
) -> AuditResult:
    """The attacker's audit of a publication as it stands (its ``hidden`` cells).

    ``relations``: the reader's relations when already found for this publication and frame (a
    :class:`ProtectionResult`'s ``system.relations``), to save finding them again. ``engine``: see
    :func:`~.audit.audit_system`. Raises :class:`DisclosureError` naming the first failing cell (page,
    table, row, column) unless ``raise_on_failure=False``.
    """
    if relations is None:
        relations = find_relations(publication, frame, min_cell, **kwargs)
    system = apply_hidden(relations, publication, min_cell, markers=markers, ratios=ratios)
    result = audit_system(system, min_cell, exact=exact, engine=engine)
    result.system = system
    if raise_on_failure and result.failures:
        raise DisclosureError(
            _("Publication refusée : secret statistique non garanti. ")
            + describe_target(system, result.failures[0], publication)
            + " "
            + _("{n} quantité(s) insuffisamment protégée(s).", n=len(result.failures))
        )
    return result


def _candidates(system: AttackerSystem, failure: TargetInterval, names: dict, rel_abs) -> list[int]:
    """Published non-zero cells that share a relation with the failing quantity (its multipliers' cells when
    known)."""
    usable = ~system.hidden & (system.values > 0)
    keys = [k for k in failure.binding if usable[k]]
    if keys:
        return keys
    row = system.targets[names[failure.name]]
    own = [int(k) for k in row.indices if usable[k]]
    if own:
        return own
    touching = rel_abs[:, row.indices].sum(axis=1).A.ravel() > 0
    neighbours = rel_abs[touching].sum(axis=0).A.ravel() > 0
    return [int(k) for k in np.flatnonzero(neighbours & usable)]


def cell_costs(keys: list[CellKey], values: np.ndarray, cost=None) -> np.ndarray:
    """The cost of hiding each key (aligned with ``keys``): ``cost`` as given (a mapping from keys, whose missing
    keys cost their value, or an array aligned with ``keys``), the value in trainees when ``None``. Zeros cost
    ``inf``: they are never hidden."""
    values = np.asarray(values, dtype=float)
    if cost is None:
        out = values.copy()
    elif isinstance(cost, Mapping):
        out = np.array([float(cost.get(k, v)) for k, v in zip(keys, values)], dtype=float)
    else:
        out = np.asarray(cost, dtype=float)
        if out.shape != values.shape:
            raise ValueError(f"cost has {out.size} entries for {values.size} keys")
    if np.isnan(out).any() or (out < 0).any():
        raise ValueError("cost must be non-negative numbers")
    return np.where(values > 0, out, np.inf)


def _cover(groups: list[np.ndarray], cost: np.ndarray, values: np.ndarray) -> list[int]:
    """Cells that meet each group (a relation or a failing quantity, as the cells that would protect it):
    greedy weighted set cover, the cell of least cost per group met first (ties: the smaller value, then
    the first key). One cell shared by two groups (exits, in entries - exits and exits - known) is then
    hidden rather than one cell for each. A cell of cost :data:`LAST_RESORT` or more is taken only for the
    groups that no cheaper cell meets."""
    groups = [g for g in groups if g.size]
    if not groups:
        return []
    rows = np.repeat(np.arange(len(groups)), [g.size for g in groups])
    cols = np.concatenate(groups)
    member = sparse.csr_matrix((np.ones(cols.size), (rows, cols)), shape=(len(groups), cost.size))
    member.data[:] = 1.0
    open_ = np.ones(len(groups), dtype=bool)
    picks = []
    while open_.any():
        met = np.asarray(member[open_].sum(axis=0)).ravel()
        where = np.flatnonzero(met > 0)
        score = cost[where] / met[where]
        last = cost[where] >= LAST_RESORT
        best = where[np.lexsort((where, values[where], score, last))[0]]
        picks.append(int(best))
        open_ &= np.asarray(member[:, best].todense()).ravel() == 0
    return picks


def _forcing(E: sparse.csr_matrix, hidden: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """``cost`` plus ``LAST_RESORT / 2`` for each cell whose hiding would force a last-resort one: the only
    cell below :data:`LAST_RESORT` of an equation with no hidden cell (unknown outcomes in exits = known +
    unknown, when exits and known are key figures: hidden, it is pinned unless one of them is hidden too)."""
    rows = E.tocsr().copy()
    rows.data = np.abs(rows.data)
    cheap = (~hidden & (cost < LAST_RESORT)).astype(float)
    no_hidden = (rows @ hidden.astype(float)) == 0
    single = np.flatnonzero(no_hidden & ((rows @ cheap) == 1))
    if single.size == 0:
        return cost
    sub = rows[single]
    cells = np.unique(sub.indices[cheap[sub.indices] > 0])
    out = cost.copy()
    out[cells] += LAST_RESORT / 2
    return out


def _structural_pass(relations, hidden: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """The classic rule, over every relation at once, to a fixed point (cheap, before any LP): an equation
    with a single hidden cell gives it away, and a small difference or rest with no hidden cell is
    published; hide published non-zero cells that meet them all, cheapest first (``cost``:
    :func:`cell_costs`; :func:`_cover`)."""
    values = relations.values
    rows = sparse.vstack([relations.E, relations.D]).tocsr()
    rows.data = np.abs(rows.data)
    is_eq = np.arange(rows.shape[0]) < relations.E.shape[0]
    for _round in range(100):
        n_hidden = rows @ hidden.astype(float)
        bad = np.flatnonzero((is_eq & (n_hidden == 1)) | (~is_eq & (n_hidden == 0)))
        if bad.size == 0:
            break
        sub = rows[bad].tocsr()
        groups = []
        for r in range(sub.shape[0]):
            cols = sub.indices[sub.indptr[r] : sub.indptr[r + 1]]
            groups.append(cols[~hidden[cols] & np.isfinite(cost[cols])])
        pick = _cover(groups, _forcing(relations.E, hidden, cost), values)
        if not pick:
            break
        hidden = hidden.copy()
        hidden[pick] = True
    return hidden


def protect_publication(
    publication: Publication,
    frame: pd.DataFrame,
    min_cell: int = DEFAULT_MIN_CELL,
    *,
    max_rounds: int = 60,
    share: float = PROTECTION_SHARE,
    structural: bool = True,
    recheck: bool = False,
    engine: str = "highs",
    cost=None,
    log=None,
    **kwargs,
) -> ProtectionResult:
    """Hide the cells of ``publication`` (sets ``publication.hidden``) so that the attacker's audit passes.

    The returned ``audit`` holds every protected quantity's interval from the round that last audited it:
    hiding more cells only widens intervals, so a quantity that passed once still passes.
    ``cost``: the cost of hiding each cell (a mapping from keys, or an array aligned with the relations' keys;
    :func:`cell_costs`): the cheapest candidate is hidden; ``None``: the value in trainees. Small counts are
    hidden and zeros published whatever their cost.
    ``recheck=True`` audits the final pattern again from scratch (slower; same verdict). ``engine``: see
    :func:`~.audit.audit_system`. Raises :class:`DisclosureError` if no pattern is found within
    ``max_rounds`` rounds.
    """
    start = time.perf_counter()
    relations = find_relations(publication, frame, min_cell, **kwargs)
    t_rel = time.perf_counter() - start
    values = relations.values
    costs = cell_costs(relations.keys, values, cost)
    primary = {k for k, v in zip(relations.keys, values) if 1 <= v < min_cell}
    zeros = {k for k, v in zip(relations.keys, values) if v == 0}
    given = set(publication.hidden) - zeros  # hidden by the caller (per-table rules): they stay hidden
    publication.hidden = set(primary) | given  # zeros are published
    mask = np.array([k in publication.hidden for k in relations.keys], dtype=bool)
    if structural:
        mask = _structural_pass(relations, mask, costs)
    publication.hidden = {k for k, h in zip(relations.keys, mask) if h}
    t_struct = time.perf_counter() - start - t_rel
    latest: dict = {}  # each quantity's interval from the last round that audited it
    n_lp, rounds = 0, 0
    while True:
        rounds += 1
        system = apply_hidden(relations, publication, min_cell)
        passed = {name for name, t in latest.items() if t.ok}
        audit = audit_system(system, min_cell, share=share, skip=passed, engine=engine)
        n_lp += audit.n_lp
        latest.update((t.name, t) for t in audit.intervals)
        failures = audit.failures
        if log is not None:
            log(
                f"round {rounds}: {len(publication.hidden)} hidden, {len(failures)} failing, {audit.n_lp} LPs, "
                f"{audit.seconds:.1f} s"
            )
        if not failures:
            break
        if rounds >= max_rounds:
            raise DisclosureError(describe_target(system, failures[0], publication))
        new = _secondary(system, failures, costs)
        if not new:
            raise DisclosureError(describe_target(system, failures[0], publication))
        publication.hidden |= {relations.keys[k] for k in new}
    keep = primary | given
    system, n_back = _publish_back(relations, publication, system, costs, keep, latest, min_cell, share, engine)
    n_lp += n_back
    if recheck:
        final = audit_system(system, min_cell, share=share, engine=engine)
    else:
        final = AuditResult([latest[name] for name in system.target_names], seconds=0.0)
    final.n_lp += n_lp
    seconds = {"relations": t_rel, "structural": t_struct, "total": time.perf_counter() - start}
    return ProtectionResult(set(publication.hidden), primary, final, system, rounds, seconds)


def _secondary(system: AttackerSystem, failures: list[TargetInterval], cost: np.ndarray) -> set[int]:
    """Published cells that protect the failing quantities: for each, the cells that bind its bound
    (:func:`_candidates`), covered cheapest first (:func:`_cover`, with :func:`_forcing`'s costs)."""
    names = {n: i for i, n in enumerate(system.target_names)}
    rel_abs = sparse.vstack([system.E, system.U]).tocsr()
    rel_abs.data = np.abs(rel_abs.data)
    groups = [np.asarray(_candidates(system, f, names, rel_abs), dtype=np.int64) for f in failures]
    return set(_cover(groups, _forcing(system.relations.E, system.hidden, cost), system.values))


def _publish_back(relations, publication, system, costs, keep, latest, min_cell, share, engine):
    """Publish again each last-resort cell hidden by the rounds (not one of ``keep``, the small cells and those
    the caller hid), most costly first, that the pattern no longer needs: a
    greedy choice made early may be redundant once later cells are hidden. Each is published on trial and
    the components of the attacker's LP that it touches are audited again; it stays published only if they
    all pass. Returns the final system and the number of LPs solved (``latest`` is updated)."""
    keys, n_lp = relations.keys, 0
    spare = [
        int(i)
        for i in np.argsort(-costs, kind="stable")
        if LAST_RESORT <= costs[i] < np.inf and keys[i] in publication.hidden and keys[i] not in keep
    ]
    rows = sparse.vstack([relations.E, relations.D]).tocsc()
    rows.data = np.abs(rows.data)
    is_eq = np.arange(rows.shape[0]) < relations.E.shape[0]
    for i in spare:
        publication.hidden.discard(keys[i])
        if _breaks_a_relation(rows, is_eq, relations.keys, publication.hidden, i):
            publication.hidden.add(keys[i])
            continue
        trial = apply_hidden(relations, publication, min_cell)
        names = set()
        for comp in trial.components:
            if (
                trial.E[comp.eq_rows][:, i].nnz
                or trial.U[comp.ub_rows][:, i].nnz
                or trial.targets[comp.targets][:, i].nnz
            ):
                names |= {trial.target_names[t] for t in comp.targets}
        audit = audit_system(trial, min_cell, share=share, skip=set(trial.target_names) - names, engine=engine)
        n_lp += audit.n_lp
        if audit.failures:
            publication.hidden.add(keys[i])
            continue
        latest.update((t.name, t) for t in audit.intervals)
        system = trial
    return system, n_lp


def _breaks_a_relation(rows: sparse.csc_matrix, is_eq: np.ndarray, keys, hidden: set, cell: int) -> bool:
    """Would publishing ``cell`` leave one of its relations with a single hidden cell (an equation) or none (a
    small difference)? The classic rule, checked before any LP."""
    touching = rows[:, cell].nonzero()[0]
    if touching.size == 0:
        return False
    sub = rows[touching].tocsr()
    mask = np.array([k in hidden for k in keys], dtype=float)
    n_hidden = sub @ mask
    return bool(((is_eq[touching] & (n_hidden == 1)) | (~is_eq[touching] & (n_hidden == 0))).any())
