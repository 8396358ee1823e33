"""The attacker's linear programs, solved fast: one model per component, many objectives.

Every bound of the audit minimises a different objective over the same
polytope (one component of the attacker's system). :class:`ComponentLP`
builds that polytope once in HiGHS (``highspy``) and, for each bound, changes
only the objective and runs again: HiGHS starts from the last optimal basis
(the primal simplex keeps it feasible), so a bound costs a few pivots instead
of a fresh solve with presolve. This is how tau-argus and sdcTable audit a
suppression pattern.

``engine="scipy"`` solves each LP from scratch with
:func:`scipy.optimize.linprog` (the same HiGHS, through SciPy): the reference
that tests compare with; ``integer=True`` uses :func:`scipy.optimize.milp`.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

__all__ = ["ComponentLP", "LPSolution", "ENGINES"]

ENGINES = ("highs", "scipy")


class LPSolution:
    """``value`` (``-inf``: unbounded; ``None``: no answer), the optimal point ``y`` and the magnitude of the
    multipliers of the equations (``dual_eq``) and inequalities (``dual_ub``) at the optimum."""

    __slots__ = ("value", "y", "dual_eq", "dual_ub")

    def __init__(self, value, y=None, dual_eq=None, dual_ub=None):
        self.value, self.y, self.dual_eq, self.dual_ub = value, y, dual_eq, dual_ub


def _highs():
    """The ``highspy`` module, or ``None`` when it is not installed (then SciPy solves every LP)."""
    try:
        import highspy
    except ImportError:  # pragma: no cover - a declared dependency; slower but the same bounds without it
        return None
    return highspy


class ComponentLP:
    """``min c . y`` subject to ``A_eq y = b_eq``, ``A_ub y <= b_ub``, ``lower <= y <= upper``, for many ``c``.

    ``engine="highs"`` keeps one HiGHS model and warm-starts every solve; ``"scipy"`` calls ``linprog``;
    ``integer=True`` asks for integer solutions (``milp``).
    """

    def __init__(self, A_eq, b_eq, A_ub, b_ub, lower, upper, *, engine: str = "highs", integer: bool = False):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        self.n = len(lower)
        self.A_eq, self.b_eq = sparse.csr_matrix(A_eq), np.asarray(b_eq, dtype=float)
        self.A_ub, self.b_ub = sparse.csr_matrix(A_ub), np.asarray(b_ub, dtype=float)
        self.lower = np.asarray(lower, dtype=float)
        self.upper = np.asarray(upper, dtype=float)
        self.engine = "scipy" if integer or _highs() is None else engine
        self.integer = integer
        self.n_solved = 0
        self._model = self._build() if self.engine == "highs" else None

    @classmethod
    def of(cls, comp, **kwargs) -> ComponentLP:
        """The LP of a :class:`~.relations.Component`."""
        return cls(comp.A_eq, comp.b_eq, comp.A_ub, comp.b_ub, comp.lower, comp.upper, **kwargs)

    def _build(self):
        highspy = _highs()
        model = highspy._Highs()  # the bare solver: no banner, no Python callbacks
        model.setOptionValue("output_flag", False)
        model.setOptionValue("threads", 1)
        # The primal simplex keeps the last optimal basis feasible when only the objective changes.
        model.setOptionValue("simplex_strategy", 4)
        inf = highspy.kHighsInf
        A = sparse.vstack([self.A_eq, self.A_ub]).tocsc()
        n_eq, n_ub = self.A_eq.shape[0], self.A_ub.shape[0]
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.n, n_eq + n_ub
        lp.col_cost_ = np.zeros(self.n)
        lp.col_lower_ = np.where(np.isfinite(self.lower), self.lower, -inf)
        lp.col_upper_ = np.where(np.isfinite(self.upper), self.upper, inf)
        lp.row_lower_ = np.concatenate([self.b_eq, np.full(n_ub, -inf)])
        lp.row_upper_ = np.concatenate([self.b_eq, self.b_ub])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = self.n, n_eq + n_ub
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(float)
        model.passModel(lp)
        self._cols = np.arange(self.n, dtype=np.int32)
        self._status = highspy.HighsModelStatus
        return model

    def minimize(self, c) -> LPSolution:
        """The minimum of ``c . y`` over the polytope (which contains the true values, so is not empty)."""
        self.n_solved += 1
        c = np.asarray(c, dtype=float)
        if self.engine == "highs":
            return self._minimize_highs(c)
        if self.integer:
            return self._minimize_milp(c)
        return self._minimize_linprog(c)

    def _minimize_highs(self, c) -> LPSolution:
        model, status = self._model, self._status
        model.changeColsCost(self.n, self._cols, c)
        model.run()
        if model.getModelStatus() not in (status.kOptimal, status.kUnbounded, status.kUnboundedOrInfeasible):
            model.clearSolver()  # a numerical failure from the last basis: this one again, from scratch
            model.run()
        outcome = model.getModelStatus()
        if outcome in (status.kUnbounded, status.kUnboundedOrInfeasible):
            return LPSolution(-np.inf)
        if outcome != status.kOptimal:
            model.clearSolver()
            return LPSolution(None)
        solution = model.getSolution()
        duals = np.abs(np.asarray(solution.row_dual))
        n_eq = self.A_eq.shape[0]
        y = np.asarray(solution.col_value)
        return LPSolution(model.getInfo().objective_function_value, y, duals[:n_eq], duals[n_eq:])

    def _minimize_linprog(self, c) -> LPSolution:
        has_eq, has_ub = self.A_eq.shape[0] > 0, self.A_ub.shape[0] > 0
        res = linprog(
            c,
            A_ub=self.A_ub if has_ub else None,
            b_ub=self.b_ub if has_ub else None,
            A_eq=self.A_eq if has_eq else None,
            b_eq=self.b_eq if has_eq else None,
            bounds=np.column_stack([self.lower, self.upper]),
            method="highs",
        )
        if res.status == 3:
            return LPSolution(-np.inf)
        if res.status != 0:
            return LPSolution(None)
        dual_eq = np.abs(res.eqlin.marginals) if has_eq else np.zeros(0)
        dual_ub = np.abs(res.ineqlin.marginals) if has_ub else np.zeros(0)
        return LPSolution(float(res.fun), res.x, dual_eq, dual_ub)

    def _minimize_milp(self, c) -> LPSolution:
        constraints = []
        if self.A_eq.shape[0]:
            constraints.append(LinearConstraint(self.A_eq, self.b_eq, self.b_eq))
        if self.A_ub.shape[0]:
            constraints.append(LinearConstraint(self.A_ub, -np.inf, self.b_ub))
        res = milp(
            c,
            constraints=constraints,
            integrality=np.ones(self.n),
            bounds=Bounds(self.lower, self.upper),
            options={"time_limit": 30},
        )
        if res.status == 3 or (res.x is None and "unbounded" in str(res.message).lower()):
            return LPSolution(-np.inf)
        if res.x is None:
            return LPSolution(None)
        return LPSolution(float(res.fun), res.x)
