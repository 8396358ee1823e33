"""The attacker's linear system: what a reader can write down from a publication.

The unknowns are the **hidden cells** (every published cell is a known
constant). The reader's equations are the relations between the registered
counts, found on the canonical frame by comparing which trainees each key
counts (:mod:`.atoms`), so that every relation is true:

* **sums**: a key is the sum of its breakdown by one column (a region's
  exits = the sum over its sites; the national count = the sum over the
  regions: this is how pages are linked), or of a partition of its
  population (exits = known + unknown outcome = the sum of the exit
  categories; entries = exits + still in). When some parts are not published
  (a category with no row), the parts add up to *at most* the total;
* **nesting**: a subgroup is at most its group (positive exits never exceed
  known exits; women in a site never exceed the site);
* **the same trainees**: two keys that count the same people are equal (an
  ESF+ "under 18" count and the 16-17 age band);
* **bounds** from the markers: a hidden cell is at least 1 (zeros are always
  published); with the old markers ``"< 11"`` means 1 to 10 and ``"s"`` at
  least 11;
* **ratios** (shares, rates, O/E) give ``lo * D <= N <= hi * D`` from their
  displayed rounding. A ratio is shown only when its numerator and its
  denominator are published counts (:meth:`.Publication.ratio_hidden`), so
  under that rule it adds nothing; the audit can also be asked to take every
  registered ratio as shown (a doctored page).

**What the reader is assumed to know.** Every relation that holds in the
data, including "this category has no row, so it is empty". That is what a
reader of tables that show every non-empty row can deduce. The reader is not
assumed to know the joint distribution of columns that no table crosses (how
many women are also aged 16-17 when no table crosses sex and age): this is
the linked-tables model of tau-argus and sdcTable.

**Protected quantities** (targets): every hidden cell; every difference
``group - subgroup`` of two nested registered keys that is small (1 to
``min_cell - 1``: "still in the programme" = entries - exits); and the
unpublished rest of a sum whose parts are all registered (women aged 30 or
more = women - women under 18 - women 18-29).

**Size.** Only hidden cells are variables; the relations that touch them
split into independent components (mostly within one region page, joined
when a national total has two or more hidden regional parts).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from .atoms import key_supports
from .cells import CellKey, Publication, Ratio

__all__ = ["Relations", "AttackerSystem", "Component", "find_relations", "build_system", "apply_hidden"]

# Partitions of a population into disjoint sub-populations (checked on the data before use).
PARTITIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entries", ("exits", "still_in")),
    ("exits", ("known", "unknown")),
    ("exits", ("interruptions", "completed")),
    ("known", ("positive", "non_positive")),
    ("exits", ("category:job", "category:work_study", "category:training", "category:other", "category:unknown")),
    ("esf:EECO01", ("esf:EECO06", "esf:EECO07")),
    ("entries", ("esf:EECO06", "esf:EECO07")),
    # the impact design's rows of one region and group: received, usable (every characteristic known),
    # analysed (kept by the estimate), and the positive exits among the usable and the analysed rows
    ("impact:received", ("impact:usable", "impact:covariate_missing")),
    ("impact:usable", ("impact:analysed", "impact:outside_support", "impact:trimmed", "impact:unmatched")),
)


@dataclass
class Relations:
    """True linear relations between registered keys: ``E y = 0``, ``U y <= 0`` (over all keys), and the
    small quantities to protect beyond the cells (``D`` rows over keys, one per quantity)."""

    keys: list[CellKey]
    values: np.ndarray
    E: sparse.csr_matrix
    U: sparse.csr_matrix
    D: sparse.csr_matrix
    d_names: list  # what each D row is: ("pair", big, small) or ("rest", total, parts...)


def _group_overlaps(by_where: dict, support: sparse.csr_matrix) -> dict:
    """Atoms shared by every two keys with the same filters: ``{(a, b): count}``."""
    out = {}
    for pops in by_where.values():
        group = np.fromiter(pops.values(), dtype=np.int64)
        if len(group) < 2:
            continue
        sub = support[group]
        shared = (sub @ sub.T).toarray()
        for i, a in enumerate(group):
            for j, b in enumerate(group):
                out[(int(a), int(b))] = shared[i, j]
    return out


def _split_family(keys, parent: int, column: str, children: list[int]) -> list[tuple[int, list[int]]]:
    """A breakdown by one column as disjoint families: single codes together; a merged category (a tuple of
    codes) with the single codes outside it; and a merged category as the sum of its own codes."""
    value = {c: dict(keys[c].where)[column] for c in children}
    single = [c for c in children if not isinstance(value[c], tuple)]
    merged = [c for c in children if isinstance(value[c], tuple)]
    out = [(parent, single)] if single else []
    for m in merged:
        out.append((parent, [m] + [c for c in single if value[c] not in value[m]]))
        inside = [c for c in single if value[c] in value[m]]
        if inside:
            out.append((m, inside))
    return out


def _to_matrix(rows: list[dict], n: int) -> sparse.csr_matrix:
    r = [i for i, row in enumerate(rows) for _ in row]
    c = [k for row in rows for k in row]
    v = [x for row in rows for x in row.values()]
    return sparse.csr_matrix((v, (r, c)), shape=(len(rows), n))


def find_relations(
    publication: Publication,
    frame: pd.DataFrame,
    min_cell: int,
    *,
    definition=None,
    populations: Mapping[str, np.ndarray] | None = None,
    other: pd.DataFrame | None = None,
    check_values: bool = True,
) -> Relations:
    """Every relation a reader can use between the publication's keys, checked on ``frame`` (and on
    ``other``, the rows of another population the batch publishes: see :func:`~.atoms.key_supports`)."""
    keys = list(publication.counts)
    index = {k: i for i, k in enumerate(keys)}
    support, size, counted = key_supports(keys, frame, definition=definition, populations=populations, other=other)
    support = support.tocsr()
    values = np.asarray(support @ size).ravel().round().astype(np.int64)
    shown = np.array([publication.counts[k] for k in keys], dtype=np.int64)
    values = np.where(counted, values, shown)  # counts of something else than trainees: as published
    if check_values:
        _check_values(publication, keys, values)
    n = len(keys)
    sizes = np.asarray(support.sum(axis=1)).ravel()
    rows_eq: list[dict] = []
    rows_ub: list[dict] = []
    d_rows: list[dict] = []
    d_names: list = []

    def small_rest(parent, children):
        rest = values[parent] - values[children].sum()
        if 1 <= rest < min_cell:
            d_rows.append({parent: 1.0, **{c: -1.0 for c in children}})
            d_names.append(("rest", parent, *children))

    # Breakdowns by one column (key = sum over the values of that column) and partitions of populations;
    # no relation is known for counts of something else than trainees.
    families = defaultdict(list)
    for i, key in enumerate(keys):
        if not counted[i]:
            continue
        for column, _ in key.where:
            parent = index.get(CellKey(key.population, tuple(w for w in key.where if w[0] != column)))
            if parent is not None:
                families[(parent, column)].append(i)
    by_where = defaultdict(dict)
    for i, key in enumerate(keys):
        if counted[i]:
            by_where[key.where][key.population] = i
    overlap = _group_overlaps(by_where, support)
    fam = []
    for (parent, column), children in families.items():  # parts of their parent by construction
        for p, cs in _split_family(keys, parent, column, children):
            fam.append((p, cs, True))
    for pops in by_where.values():
        for parent, parts in PARTITIONS:
            children = [pops[q] for q in parts if q in pops]
            if parent in pops and children:
                p = pops[parent]
                inside = all(overlap[(p, c)] == sizes[c] for c in children)
                disjoint = all(overlap[(a, b)] == 0 for j, a in enumerate(children) for b in children[j + 1 :])
                fam.append((p, children, inside and disjoint))
    for parent, children, ok in fam:
        if not ok:
            continue
        full = sizes[children].sum() == sizes[parent]
        row = {parent: -1.0, **{c: 1.0 for c in children}}
        (rows_eq if full else rows_ub).append(row)
        if not full and len(children) > 1:
            small_rest(parent, children)
    # Nesting and identity, same filters (and a key with one filter less: see the families above).
    pairs = set((p, c) for (p, _), cs in families.items() for c in cs)
    for pops in by_where.values():
        group = list(pops.values())
        for a in group:
            for b in group:
                if a != b and overlap[(a, b)] == sizes[b]:  # b inside a
                    if sizes[a] == sizes[b]:
                        if a < b:
                            rows_eq.append({int(a): 1.0, int(b): -1.0})
                    else:
                        rows_ub.append({int(b): 1.0, int(a): -1.0})
                        pairs.add((int(a), int(b)))
    for big, small in sorted(pairs):
        diff = values[big] - values[small]
        if 1 <= diff < min_cell and sizes[small] < sizes[big]:
            d_rows.append({big: 1.0, small: -1.0})
            d_names.append(("pair", big, small))
    return Relations(keys, values, _to_matrix(rows_eq, n), _to_matrix(rows_ub, n), _to_matrix(d_rows, n), d_names)


def _check_values(publication: Publication, keys, values) -> None:
    shown = np.array([publication.counts[k] for k in keys], dtype=np.int64)
    wrong = np.flatnonzero(shown != values)
    if wrong.size:
        i = wrong[0]
        raise ValueError(
            f"{keys[i]} is published as {shown[i]} but the frame counts {values[i]} "
            f"({publication.appearances[keys[i]][:1]}): the publication and the frame disagree"
        )
    for ratio in publication.ratios:
        for end in (ratio.numerator, ratio.denominator):
            if isinstance(end, CellKey) and end not in publication.counts:
                raise ValueError(f"ratio at {ratio.location!r}: {end} is not a registered count")


def ratio_interval(ratio: Ratio, numerator: float, denominator: float) -> tuple[float, float] | None:
    """The interval a reader deduces for ``numerator / denominator`` from the shown, rounded ratio."""
    if denominator == 0:
        return None
    shown = round(ratio.scale * numerator / denominator, ratio.decimals)
    half = 0.5 * 10.0 ** (-ratio.decimals) + 1e-12
    return (shown - half) / ratio.scale, (shown + half) / ratio.scale


@dataclass
class Component:
    """An independent part of the attacker's LP over hidden cells ``cells``:
    ``A_eq y = b_eq``, ``A_ub y <= b_ub``, ``lower <= y <= upper``; ``targets`` index the system's targets."""

    cells: np.ndarray
    A_eq: sparse.csr_matrix
    b_eq: np.ndarray
    A_ub: sparse.csr_matrix
    b_ub: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    eq_rows: np.ndarray  # row of the relation matrix behind each equation
    ub_rows: np.ndarray
    targets: np.ndarray


@dataclass
class AttackerSystem:
    """The attacker's LP for one choice of hidden cells (see the module docstring)."""

    relations: Relations
    hidden: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    E: sparse.csr_matrix  # relation rows in use (over keys): equations, then inequalities
    U: sparse.csr_matrix
    targets: sparse.csr_matrix  # rows over keys
    target_values: np.ndarray
    target_lower: np.ndarray
    target_names: list
    components: list[Component] = field(default_factory=list)
    pinned: np.ndarray = None  # targets with no hidden cell in them: known exactly

    @property
    def keys(self) -> list[CellKey]:
        return self.relations.keys

    @property
    def values(self) -> np.ndarray:
        return self.relations.values


def build_system(
    publication: Publication,
    frame: pd.DataFrame,
    min_cell: int,
    *,
    markers: str = "neutral",
    ratios: str = "rule",
    **kwargs,
) -> AttackerSystem:
    """The attacker's system for ``publication`` on ``frame`` (relations, then :func:`apply_hidden`)."""
    relations = find_relations(publication, frame, min_cell, **kwargs)
    return apply_hidden(relations, publication, min_cell, markers=markers, ratios=ratios)


def _ratio_rows(relations: Relations, publication: Publication, hidden: np.ndarray, mode: str):
    """Inequality rows (over keys) and constants from shown ratios that touch a hidden cell."""
    index = {k: i for i, k in enumerate(relations.keys)}
    rows, consts = [], []
    for ratio in publication.ratios:
        if ratio in publication.hidden_ratios or (mode == "rule" and publication.ratio_hidden(ratio)):
            continue
        num = index[ratio.numerator]
        den_cell = isinstance(ratio.denominator, CellKey)
        den = index[ratio.denominator] if den_cell else None
        if not hidden[num] and not (den_cell and hidden[den]):
            continue  # both ends published: nothing new
        d_value = relations.values[den] if den_cell else float(ratio.denominator)
        interval = ratio_interval(ratio, relations.values[num], d_value)
        if interval is None:
            continue
        lo, hi = interval
        if den_cell:
            rows += [{num: 1.0, den: -hi}, {num: -1.0, den: lo}]
            consts += [0.0, 0.0]
        else:
            rows += [{num: 1.0}, {num: -1.0}]
            consts += [hi * d_value, -lo * d_value]
    return rows, consts


def apply_hidden(
    relations: Relations,
    publication: Publication,
    min_cell: int,
    *,
    markers: str = "neutral",
    ratios: str = "rule",
) -> AttackerSystem:
    """The attacker's LP for the publication's current hidden cells (``ratios="all"``: every registered
    ratio is taken as shown, even one built on a hidden cell)."""
    keys, values = relations.keys, relations.values
    n = len(keys)
    hidden = np.array([k in publication.hidden for k in keys], dtype=bool)
    # A hidden cell is at least 1: zeros are always published. (A zero hidden anyway, by a per-table rule,
    # gets 0: the reader's belief that it is at least 1 would be wrong, and reveals nothing.)
    lower = np.where(hidden, np.minimum(values, 1).astype(float), values.astype(float))
    upper = np.where(hidden, np.inf, values.astype(float))
    if markers == "legacy":
        small = hidden & (values < min_cell)
        upper[small] = min_cell - 1
        lower[hidden & ~small] = min_cell
    elif markers != "neutral":
        raise ValueError(f"markers must be 'neutral' or 'legacy', not {markers!r}")
    r_rows, r_consts = _ratio_rows(relations, publication, hidden, ratios)
    U = sparse.vstack([relations.U, _to_matrix(r_rows, n)]).tocsr()
    u_const = np.concatenate([np.zeros(relations.U.shape[0]), r_consts])
    h_rows = np.flatnonzero(hidden)
    targets = sparse.vstack(
        [
            sparse.csr_matrix((np.ones(len(h_rows)), (np.arange(len(h_rows)), h_rows)), shape=(len(h_rows), n)),
            relations.D,
        ]
    ).tocsr()
    system = AttackerSystem(
        relations,
        hidden,
        lower,
        upper,
        relations.E,
        U,
        targets,
        np.asarray(targets @ values).ravel(),
        np.concatenate([lower[h_rows], np.ones(relations.D.shape[0])]),  # a small difference is >= 1
        [("cell", int(i)) for i in h_rows] + list(relations.d_names),
    )
    system.components, system.pinned = _components(system, u_const)
    return system


def _components(system: AttackerSystem, u_const: np.ndarray):
    """Split the LP over hidden cells into independent components."""
    hidden = system.hidden
    values = system.values.astype(float)
    h = np.flatnonzero(hidden)
    E_h, U_h, T_h = system.E[:, h].tocsr(), system.U[:, h].tocsr(), system.targets[:, h].tocsr()
    b_eq = -(system.E[:, ~hidden] @ values[~hidden])
    b_ub = u_const - (system.U[:, ~hidden] @ values[~hidden])
    e_live = np.flatnonzero(np.diff(E_h.indptr) > 0)
    u_live = np.flatnonzero(np.diff(U_h.indptr) > 0)
    t_n = np.diff(T_h.indptr)
    pinned = np.flatnonzero(t_n == 0)
    every = sparse.vstack([E_h[e_live], U_h[u_live], T_h]).tocsr()
    every.data = np.ones_like(every.data)
    n_rows = every.shape[0]
    graph = sparse.bmat([[None, every], [every.T, None]], format="csr")
    _, label = connected_components(graph, directed=False)
    var_label, row_label = label[n_rows:], label[:n_rows]
    ne, nu = len(e_live), len(u_live)
    t_label = row_label[ne + nu :]
    out = []
    for comp in np.unique(t_label[t_n > 0]):
        cols = np.flatnonzero(var_label == comp)
        e = e_live[row_label[:ne] == comp]
        u = u_live[row_label[ne : ne + nu] == comp]
        out.append(
            Component(
                h[cols],
                E_h[e][:, cols].tocsr(),
                b_eq[e],
                U_h[u][:, cols].tocsr(),
                b_ub[u],
                system.lower[h[cols]],
                system.upper[h[cols]],
                e,
                u,
                np.flatnonzero((t_label == comp) & (t_n > 0)),
            )
        )
    return out, pinned
