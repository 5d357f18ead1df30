"""The allocation problem as plain integer data, and a plan that answers it.

A builder (``build_problem``) turns an order, a policy, the network and a stock snapshot into an
:class:`AllocationProblem`; solvers read nothing else. Everything is an integer: quantities in
the smallest unit of each SKU, costs in *objective units* (minor currency units times a scale the
builder chose so every weight and per-unit cost is whole).

The model every solver answers (``x``: units of line ``l`` from source ``k``; ``y``: source ``k``
ships; ``short``: units of line ``l`` not allocated)::

    minimise   sum_k fixed_cost[k] * y[k] + sum_lk unit_cost[l,k] * x[l,k]
               + sum_l short_cost[l] * short[l]
    subject to sum_k x[l,k] + short[l] = demand[l]                      every line
               sum_{l of sku u} x[l,k] <= stock[u,k]                    every SKU, source
               x[l,k] = 0 where not allowed[l,k];  x[l,k] > 0  =>  y[k] = 1
               sum_{k not exempt} y[k] <= max_shipments                 (if set)
               lines with single_source[l]: at most one k with x[l,k] > 0
               lines of one bundle group: all from the same single source, and either all
                   short or none short (the bundle is kept together)
               lines of one whole group: either all short or none short (any sources)
               sum_l x[l,k] <= capacity_units[k], #lines with x[l,k] > 0 <= capacity_lines[k]
               sum_l unit_value[l] * x[l,k] >= min_shipment_value * y[k]
               all_or_nothing: either no line is short or every line is fully short
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt

__all__ = [
    "AllocationProblem",
    "Plan",
    "SolveStatus",
    "check_problem_shapes",
    "frozen_array",
    "frozen_mask",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_A = TypeVar("_A", bound=npt.NDArray[np.generic])

#: Marks an unlimited capacity in ``capacity_units`` / ``capacity_lines``.
UNLIMITED = -1


def frozen_array(values: object) -> IntArray:
    """A read-only int64 copy of ``values``."""
    arr: IntArray = np.array(values, dtype=np.int64, copy=True)
    arr.flags.writeable = False
    return arr


def frozen_mask(values: object) -> BoolArray:
    """A read-only boolean copy of ``values``."""
    arr: BoolArray = np.array(values, dtype=np.bool_, copy=True)
    arr.flags.writeable = False
    return arr


class _Checks:
    """Whether problems check their arrays' shapes when built (see
    :func:`check_problem_shapes`)."""

    __slots__ = ("shapes",)

    def __init__(self) -> None:
        self.shapes = False


_checks = _Checks()


def check_problem_shapes(on: bool) -> bool:
    """Turn the shape check of every :class:`AllocationProblem` built from now on on or off
    (off by default: the builder makes the shapes right, and the check costs a few
    microseconds per order; the test suite turns it on). Returns the previous setting.

    A problem can always be checked explicitly with :meth:`AllocationProblem.check_shapes`.
    """
    before = _checks.shapes
    _checks.shapes = bool(on)
    return before


_ARRAYS = ("line_sku", "demand", "stock", "allowed", "fixed_cost", "unit_cost", "short_cost",
           "unit_value", "single_source", "capacity_units", "capacity_lines", "exempt")


@dataclass(frozen=True, slots=True, eq=False)
class AllocationProblem:
    """One order's sourcing problem, as integers. Arrays are read-only.

    Shapes: ``L`` lines to source, ``K`` candidate sources, ``U`` distinct SKUs.
    ``sources`` are in tie-break order (priority, then code): among plans of equal cost, the one
    using earlier sources wins, so results are deterministic.
    """

    order_id: str
    sources: tuple[str, ...]                 # K
    lines: tuple[str, ...]                   # L line ids
    skus: tuple[str, ...]                    # U
    line_sku: IntArray                       # (L,) index into skus
    demand: IntArray                         # (L,) units wanted
    stock: IntArray                          # (U, K) units available, >= 0
    allowed: BoolArray                       # (L, K) source k may ship line l
    fixed_cost: IntArray                     # (K,) objective units per shipment from k
    unit_cost: IntArray                      # (L, K) objective units per unit of l from k
    short_cost: IntArray                     # (L,) objective units per unit left short
    unit_value: IntArray = field(default_factory=lambda: frozen_array([]))   # (L,) minor units
    single_source: BoolArray = field(default_factory=lambda: frozen_mask([]))
    bundles: tuple[tuple[int, ...], ...] = ()
    max_shipments: int | None = None
    min_shipment_value: int = 0
    capacity_units: IntArray = field(default_factory=lambda: frozen_array([]))  # (K,) -1 = inf
    capacity_lines: IntArray = field(default_factory=lambda: frozen_array([]))  # (K,) -1 = inf
    all_or_nothing: bool = False
    whole_groups: tuple[tuple[int, ...], ...] = ()
    exempt: BoolArray = field(default_factory=lambda: frozen_mask([]))  # (K,) not a shipment

    def __post_init__(self) -> None:
        n_lines, n_sources = len(self.lines), len(self.sources)
        if n_lines:
            if not len(self.unit_value):
                object.__setattr__(self, "unit_value", frozen_array(np.zeros(n_lines)))
            if not len(self.single_source):
                object.__setattr__(self, "single_source", frozen_mask(np.zeros(n_lines)))
        if n_sources:
            if not len(self.capacity_units):
                object.__setattr__(self, "capacity_units",
                                   frozen_array(np.full(n_sources, UNLIMITED)))
            if not len(self.capacity_lines):
                object.__setattr__(self, "capacity_lines",
                                   frozen_array(np.full(n_sources, UNLIMITED)))
            if not len(self.exempt):
                object.__setattr__(self, "exempt", frozen_mask(np.zeros(n_sources)))
        for name in _ARRAYS:
            arr = getattr(self, name)
            if arr.flags.writeable:
                frozen = arr.copy()
                frozen.flags.writeable = False
                object.__setattr__(self, name, frozen)
        if _checks.shapes:
            self.check_shapes()

    def check_shapes(self) -> None:
        """Raise ``ValueError`` unless every array has the shape its sizes imply (checked on
        construction only while :func:`check_problem_shapes` is on: tests, debugging).

        Raises:
            ValueError: naming the array, its shape and the expected one.
        """
        n_lines, n_sources = len(self.lines), len(self.sources)
        expected = {
            "line_sku": (n_lines,), "demand": (n_lines,), "stock": (len(self.skus), n_sources),
            "allowed": (n_lines, n_sources), "fixed_cost": (n_sources,),
            "unit_cost": (n_lines, n_sources), "short_cost": (n_lines,),
            "unit_value": (n_lines,), "single_source": (n_lines,),
            "capacity_units": (n_sources,), "capacity_lines": (n_sources,),
            "exempt": (n_sources,),
        }
        for name, shape in expected.items():
            arr = getattr(self, name)
            if arr.shape != shape:
                raise ValueError(f"AllocationProblem.{name} has shape {arr.shape}, "
                                 f"expected {shape}")

    def with_sources(self, keep: IntArray) -> AllocationProblem:
        """The same problem with only the sources at positions ``keep`` (increasing, so the
        tie-break order stays)."""
        def cut(arr: _A, axis: int) -> _A:
            out = cast(_A, np.take(arr, keep, axis=axis))
            out.flags.writeable = False
            return out

        return replace(
            self, sources=tuple(self.sources[k] for k in keep.tolist()),
            stock=cut(self.stock, 1), allowed=cut(self.allowed, 1),
            fixed_cost=cut(self.fixed_cost, 0), unit_cost=cut(self.unit_cost, 1),
            capacity_units=cut(self.capacity_units, 0),
            capacity_lines=cut(self.capacity_lines, 0), exempt=cut(self.exempt, 0))

    @property
    def n_lines(self) -> int:
        return len(self.lines)

    @property
    def n_sources(self) -> int:
        return len(self.sources)

    @property
    def capacity_binds(self) -> bool:
        """Whether some source's capacity left is below what this order could ask of it.

        A source with room for every line and every unit of the order constrains nothing, and
        is treated as unlimited (most sources, most orders).
        """
        units = int(self.demand.sum())
        lines = self.n_lines
        tight_units = (self.capacity_units >= 0) & (self.capacity_units < units)
        tight_lines = (self.capacity_lines >= 0) & (self.capacity_lines < lines)
        return bool(tight_units.any() or tight_lines.any())

    @property
    def has_side_constraints(self) -> bool:
        """True when a constraint beyond stock, allowed sources and max shipments applies."""
        return bool(
            self.single_source.any()
            or self.bundles
            or self.min_shipment_value > 0
            or self.capacity_binds
            or self.all_or_nothing
            or self.whole_groups
            or (self.max_shipments is not None and self.exempt.any())
        )


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"          # proven optimal
    FEASIBLE = "feasible"        # a plan, with a gap to ``bound``
    INFEASIBLE = "infeasible"    # no plan satisfies the constraints (cannot happen when every
                                 # line may be left short; reported for completeness)


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """A solver's answer: ``x[l, k]`` units and ``short[l]`` units, with its objective.

    ``objective`` is recomputed from ``x`` and ``short`` by :func:`objective_of`, never trusted
    from the solver; ``bound`` is the best proven lower bound (== objective when optimal).
    """

    x: IntArray
    short: IntArray
    objective: int
    bound: int
    status: SolveStatus
    solver: str
    nodes: int = 0

    @property
    def gap(self) -> float:
        if self.objective == 0:
            return 0.0
        return max(0.0, (self.objective - self.bound) / abs(self.objective))

    def sources_used(self) -> tuple[int, ...]:
        return tuple(int(k) for k in np.flatnonzero(self.x.sum(axis=0) > 0))


def objective_of(problem: AllocationProblem, x: IntArray, short: IntArray) -> int:
    """The objective of a plan, computed from its quantities alone."""
    used = x.sum(axis=0) > 0
    return int(
        int(problem.fixed_cost[used].sum())
        + int((problem.unit_cost * x).sum())
        + int((problem.short_cost * short).sum())
    )


def make_plan(
    problem: AllocationProblem,
    x: IntArray | Sequence[Sequence[int]],
    short: IntArray | Sequence[int],
    *,
    status: SolveStatus,
    solver: str,
    bound: int | None = None,
    nodes: int = 0,
) -> Plan:
    """Wrap quantities into a read-only :class:`Plan` with its recomputed objective."""
    xa = np.array(x, dtype=np.int64).reshape(problem.n_lines, problem.n_sources)
    sa = np.array(short, dtype=np.int64).reshape(problem.n_lines)
    xa.flags.writeable = False
    sa.flags.writeable = False
    objective = objective_of(problem, xa, sa)
    return Plan(x=xa, short=sa, objective=objective,
                bound=objective if bound is None else min(bound, objective),
                status=status, solver=solver, nodes=nodes)
