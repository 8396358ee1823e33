"""The attacker's audit: how well a reader can pin down every hidden cell.

For every hidden count (and every small difference of two nested counts) the
audit asks the attacker's linear program of :mod:`.relations` for the
smallest and the largest value it can take, and checks the interval against
the protection standard (:func:`required_interval`, stated in
``docs/disclosure.md``).

Speed: one LP per bound and per cell would be thousands of LPs. The audit
first looks for *witnesses*: one LP that pushes all the cells still to
certify up together (or down) gives a feasible point; every cell that reaches
its required bound in it is certified, since that point exists. A few rounds
certify most cells; the others get their own LP, which gives their exact
bound (a failure, or a certificate). ``exact=True`` computes every interval
exactly (for reports and benchmarks). Every LP of a component is solved on one
HiGHS model that only changes its objective (:class:`.lp.ComponentLP`): a
bound costs a few simplex pivots from the last optimal basis.

Integers: the LP relaxation's bounds are rounded inwards (``ceil`` of the
minimum, ``floor`` of the maximum), as tau-argus does. With ``integer=True``
every LP is an integer program (``milp``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .lp import ComponentLP, LPSolution
from .relations import AttackerSystem, Component

__all__ = ["PROTECTION_SHARE", "required_interval", "TargetInterval", "AuditResult", "audit_system"]

# Relative protection of large hidden cells (0: the absolute half-width (min_cell - 1) / 2 only).
PROTECTION_SHARE = 0.0
_TOL = 1e-6


def required_interval(value: float, min_cell: int, lower: float = 1.0, share: float = PROTECTION_SHARE):
    """The interval ``[L, U]`` a protected quantity's feasible interval must cover (the protection standard).

    With the half-width ``h = max(ceil((min_cell - 1) / 2), ceil(share * value))``:

    * a quantity of at least ``min_cell``: the attacker's minimum must reach ``L = max(lower, value - h)``
      (``lower``: what the reader knows a priori, 1 for a hidden count since zeros are published) and its
      maximum ``U = max(value + h, L + min_cell - 1)``: the interval holds at least ``min_cell`` values;
    * a small quantity (1 to ``min_cell - 1``): the maximum must reach ``max(value + h, min_cell)``, so
      that a reader cannot tell that it is small (its lower side is not asked for: a sum of several
      hidden non-empty cells is known to be at least their number).

    A small quantity whose interval includes 0 passes (it may be empty: nothing is revealed).
    """
    h = max(math.ceil((min_cell - 1) / 2), math.ceil(share * value - 1e-9))
    if 1 <= value < min_cell:  # small: it must look possibly not small (its lower side is not asked for)
        return value, max(value + h, min_cell)
    low = max(lower, value - h)
    return low, max(value + h, low + min_cell - 1)


@dataclass
class TargetInterval:
    """One protected quantity: a hidden cell ``("cell", i)``, a difference ``("pair", big, small)`` or the
    unpublished rest of a sum ``("rest", total, parts...)`` (indices into the system's keys)."""

    name: tuple
    value: int
    low: float  # attacker's minimum (NaN when only certified by a witness)
    high: float
    need_low: float
    need_high: float
    ok: bool
    binding: tuple = ()  # published keys whose relations bind a failing bound (where to add protection)


@dataclass
class AuditResult:
    """Every protected quantity with its interval; ``failures`` are those below the standard."""

    intervals: list[TargetInterval] = field(default_factory=list)
    n_lp: int = 0
    seconds: float = 0.0

    @property
    def failures(self) -> list[TargetInterval]:
        return [t for t in self.intervals if not t.ok]


def _binding(system: AttackerSystem, comp: Component, solution: LPSolution) -> tuple:
    """Published keys in the relations whose multipliers bind the optimum (hiding one loosens it)."""
    rows = []
    if solution.dual_eq is not None and len(solution.dual_eq):
        rows += [system.E[r] for r in comp.eq_rows[solution.dual_eq > 1e-9]]
    if solution.dual_ub is not None and len(solution.dual_ub):
        rows += [system.U[r] for r in comp.ub_rows[solution.dual_ub > 1e-9]]
    keys = {int(k) for row in rows for k in row.indices}
    return tuple(sorted(k for k in keys if not system.hidden[k]))


def _bounds_for(system, comp: Component, lp: ComponentLP, T, offset, need, sense: int, exact: bool, individual=True):
    """Attacker's max (``sense=1``) or min (``sense=-1``) of each target row of ``T`` (plus ``offset``).

    Returns (bound, certified, binding): ``bound`` exact where computed by its own LP (NaN where a witness
    certified it), ``binding`` the published keys behind a failing bound.
    """
    n = T.shape[0]
    bound = np.full(n, np.nan)
    certified = np.zeros(n, dtype=bool)
    binding = [()] * n
    todo = np.arange(n)
    if not exact:
        for _ in range(3):
            if todo.size == 0:
                break
            weights = 1.0 / np.maximum(np.abs(need[todo]), 1.0)
            solution = lp.minimize(-sense * np.asarray(T[todo].T @ weights).ravel())
            if solution.y is None:  # no answer, or unbounded in that direction: each one alone
                break
            reached = T[todo] @ solution.y + offset[todo]
            good = sense * (reached - need[todo]) >= -_TOL
            certified[todo[good]] = True
            if not good.any():
                break
            todo = todo[~good]
    if not individual:
        return bound, certified, binding
    for j in todo:
        if certified[j] and not exact:
            continue  # reached by an earlier solution
        solution = lp.minimize(-sense * np.asarray(T[j].todense()).ravel())
        if solution.value is None:
            continue
        if solution.y is not None and not exact:
            certified |= sense * (T @ solution.y + offset - need) >= -_TOL
        bound[j] = -sense * solution.value + offset[j]
        certified[j] = sense * (bound[j] - need[j]) >= -_TOL
        if not certified[j]:
            binding[j] = _binding(system, comp, solution)
    return bound, certified, binding


def _low_from_markers_only(comp: Component, T, offset, need, settled, engine: str, counter: list) -> np.ndarray:
    """Quantities whose minimum fails only because every hidden cell is known to be at least 1.

    A total of nine hidden non-empty cells is known to be at least 9, whatever else is published: that is
    the marker's meaning (zeros are published), not a disclosure, and hiding more cells cannot change it.
    The minimum is computed again with those lower bounds at 0; a quantity whose minimum then reaches the
    standard passes on its lower side.
    """
    out = np.zeros(T.shape[0], dtype=bool)
    todo = np.flatnonzero(~settled)
    if todo.size == 0 or not np.any(comp.lower == 1):
        return out
    relaxed = ComponentLP(
        comp.A_eq,
        comp.b_eq,
        comp.A_ub,
        comp.b_ub,
        np.where(comp.lower == 1, 0.0, comp.lower),
        comp.upper,
        engine=engine,
    )
    for j in todo:
        solution = relaxed.minimize(np.asarray(T[j].todense()).ravel())
        if solution.value is not None:
            out[j] = np.ceil(solution.value + offset[j] - _TOL) <= need[j] + _TOL
    counter[0] += relaxed.n_solved
    return out


def audit_system(
    system: AttackerSystem,
    min_cell: int,
    *,
    exact: bool = False,
    integer: bool = False,
    share: float = PROTECTION_SHARE,
    skip: set | None = None,
    individual: bool = True,
    engine: str = "highs",
) -> AuditResult:
    """The attacker's interval of every protected quantity of ``system``, checked against the standard.

    ``exact``: compute every bound with its own LP (else witnesses certify most of them). ``integer``: the
    bounds that an LP computes are recomputed as integer programs (``milp``). ``skip``: names of targets
    known to pass already (hiding more cells only widens intervals, so a target that passed still passes).
    ``individual=False``: stop after the witnesses (a target they do not certify is reported failing,
    with no exact bound: a quick screen used while choosing what to hide). ``engine``: ``"highs"`` (one
    warm-started model per component) or ``"scipy"`` (``linprog`` from scratch, the reference).
    """
    import time

    start = time.perf_counter()
    result = AuditResult()
    counter = [0]
    values = system.values.astype(float)
    hidden = system.hidden
    offsets = np.asarray(system.targets[:, ~hidden] @ values[~hidden]).ravel()
    needs = [required_interval(v, min_cell, lo, share) for v, lo in zip(system.target_values, system.target_lower)]
    need_low = np.array([x[0] for x in needs], dtype=float)
    need_high = np.array([x[1] for x in needs], dtype=float)
    for t in system.pinned:
        v = float(system.target_values[t])
        keys = tuple(int(k) for k in system.targets[t].indices)
        result.intervals.append(
            TargetInterval(system.target_names[t], int(v), v, v, need_low[t], need_high[t], False, keys)
        )
    for comp in system.components:
        t = comp.targets
        if skip:
            t = np.array([k for k in t if system.target_names[k] not in skip], dtype=np.int64)
            if t.size == 0:
                continue
        T = system.targets[t][:, comp.cells].tocsr()
        lp = ComponentLP.of(comp, engine=engine, integer=integer)
        high, high_ok, high_bind = _bounds_for(system, comp, lp, T, offsets[t], need_high[t], 1, exact, individual)
        low, low_ok, low_bind = _bounds_for(system, comp, lp, T, offsets[t], need_low[t], -1, exact, individual)
        counter[0] += lp.n_solved
        low_ok |= _low_from_markers_only(comp, T, offsets[t], need_low[t], low_ok | np.isnan(low), engine, counter)
        high = np.where(np.isfinite(high), np.floor(high + _TOL), high)
        low = np.where(np.isfinite(low), np.ceil(low - _TOL), low)
        vals = system.target_values[t]
        zero_ok = (vals >= 1) & (vals < min_cell) & (low <= 0)  # it may be empty: nothing is revealed
        ok = (high_ok & low_ok) | zero_ok
        for k in range(len(t)):
            result.intervals.append(
                TargetInterval(
                    system.target_names[t[k]],
                    int(vals[k]),
                    float(low[k]),
                    float(high[k]),
                    float(need_low[t[k]]),
                    float(need_high[t[k]]),
                    bool(ok[k]),
                    tuple(sorted(set(high_bind[k]) | set(low_bind[k]))) if not ok[k] else (),
                )
            )
    result.n_lp = counter[0]
    result.seconds = time.perf_counter() - start
    return result
