"""Choosing what to hide over the whole publication (linked tables), checked by the attacker.

:func:`protect_publication` hides every small count (primary suppression),
then adds the cheapest secondary cells until the attacker's audit
(:mod:`.audit`) finds every hidden cell and every small difference protected
by the standard. Each round audits only what is new or still failing: hiding
a cell turns an equation into an unknown, which can only widen the
intervals of the others. For a failing quantity the LP's multipliers name
the published relations that pin it; one of their published cells, the
smallest (information loss counted in trainees, tau-argus's default cost),
is hidden. Zeros are never hidden (a hidden cell is then known to be at
least 1, which the audit assumes).
"""

from __future__ import annotations

import time
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

__all__ = ["ProtectionResult", "protect_publication", "audit_publication", "describe_target"]


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


def _structural_pass(relations, hidden: np.ndarray) -> np.ndarray:
    """The classic rule, over every relation at once, to a fixed point (cheap, before any LP): an equation
    with a single hidden cell gives it away, and a small difference or rest with no hidden cell is
    published; hide the smallest published non-zero cell of each."""
    values = relations.values
    rows = sparse.vstack([relations.E, relations.D]).tocsr()
    rows.data = np.abs(rows.data)
    is_eq = np.arange(rows.shape[0]) < relations.E.shape[0]
    cost = np.where(values > 0, values.astype(float), np.inf)
    for _round in range(100):
        n_hidden = rows @ hidden.astype(float)
        bad = np.flatnonzero((is_eq & (n_hidden == 1)) | (~is_eq & (n_hidden == 0)))
        if bad.size == 0:
            break
        sub = rows[bad].tocsr()
        pick = set()
        for r in range(sub.shape[0]):
            cols = sub.indices[sub.indptr[r] : sub.indptr[r + 1]]
            cols = cols[~hidden[cols]]
            if cols.size and np.isfinite(cost[cols]).any():
                pick.add(int(cols[np.argmin(cost[cols])]))
        if not pick:
            break
        hidden = hidden.copy()
        hidden[list(pick)] = True
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
    log=None,
    **kwargs,
) -> ProtectionResult:
    """Hide the cells of ``publication`` (sets ``publication.hidden``) so that the attacker's audit passes.

    The returned ``audit`` holds every protected quantity's interval from the round that last audited it:
    hiding more cells only widens intervals, so a quantity that passed once still passes.
    ``recheck=True`` audits the final pattern again from scratch (slower; same verdict). ``engine``: see
    :func:`~.audit.audit_system`. Raises :class:`DisclosureError` if no pattern is found within
    ``max_rounds`` rounds.
    """
    start = time.perf_counter()
    relations = find_relations(publication, frame, min_cell, **kwargs)
    t_rel = time.perf_counter() - start
    values = relations.values
    primary = {k for k, v in zip(relations.keys, values) if 1 <= v < min_cell}
    zeros = {k for k, v in zip(relations.keys, values) if v == 0}
    publication.hidden = (set(primary) | set(publication.hidden)) - zeros  # zeros are published
    mask = np.array([k in publication.hidden for k in relations.keys], dtype=bool)
    if structural:
        mask = _structural_pass(relations, mask)
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
        new = _secondary(system, failures, values)
        if not new:
            raise DisclosureError(describe_target(system, failures[0], publication))
        publication.hidden |= {relations.keys[k] for k in new}
    if recheck:
        final = audit_system(system, min_cell, share=share, engine=engine)
    else:
        final = AuditResult([latest[name] for name in system.target_names], seconds=0.0)
    final.n_lp += n_lp
    seconds = {"relations": t_rel, "structural": t_struct, "total": time.perf_counter() - start}
    return ProtectionResult(set(publication.hidden), primary, final, system, rounds, seconds)


def _secondary(system: AttackerSystem, failures: list[TargetInterval], values: np.ndarray) -> set[int]:
    """One published cell per failing quantity: the smallest among those that bind its bound."""
    new = set()
    names = {n: i for i, n in enumerate(system.target_names)}
    rel_abs = sparse.vstack([system.E, system.U]).tocsr()
    rel_abs.data = np.abs(rel_abs.data)
    for failure in failures:
        candidates = _candidates(system, failure, names, rel_abs)
        if candidates:
            new.add(min(candidates, key=lambda k: (values[k], k)))
    return new
