"""What a wave solves and its budget (:class:`WaveConfig`), and what it returns
(:class:`WaveResult`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from oms_sourcing.allocation.allocate import AllocationResult


@dataclass(frozen=True, slots=True)
class WaveConfig:
    """What the wave solves, and its budget — counted in work (rounds, nodes, CP-SAT's
    deterministic time), so the same wave gets the same plan on any machine;
    ``time_limit_s`` is a wall-clock safety stop (``None``: none), and a result it cut short
    may differ from run to run.

    Attributes:
        lp: solve the LP relaxation of the compact model (a bound, and reduced-cost fixing for
            the whole-wave MIP); skipped for waves with more than ``lp_max_columns`` shipment
            columns. The column generation's bound is never below it by more than its
            ``pricing_tolerance``.
        pricing_rounds: column-generation rounds (master LP solves), each pricing the orders
            the master's stock duals make worth re-solving; the Lagrangian bound is the best
            of them (0: no column generation; the bound is then the LP's and the sum of
            per-order optima).
        pricing_tolerance: column generation stops once its bound is within this fraction of
            the per-order pass's cost of the master LP's value (the best bound it could reach
            lies between the two); 0: only when no order can gain a plan.
        master_effort: the deterministic seconds (CP-SAT's work measure) of the MIP that picks
            one generated plan per order (0: skip it).
        neighbourhoods: large-neighbourhood-search steps: each frees ``neighbourhood_orders``
            orders competing for the same stock and re-solves them jointly (a small MIP,
            at most ``neighbourhood_nodes`` nodes) against what the others leave, each line
            from the sources its current and its own best plan use plus its
            ``neighbourhood_sources`` cheapest others (0: every source).
        local_search_rounds: rounds of each order in turn re-taking its best plan.
        price_directed: after column generation, also source the orders one by one against
            the stock left with every unit charged its stock price, then improve that plan by
            local search (it pays where stock is very scarce; on large waves the master MIP's
            plan is usually better, and this pass costs a sequential solve per order).
        mip: also solve the whole wave as one MIP (``mip_solver``: ``scip`` or ``highs``,
            at most ``mip_max_nodes`` nodes); slower than the neighbourhood search on large
            waves, but it reports the MIP's own bound.
        proof_gap: after the steps above, prove the plan within this fraction of its cost if
            the bound so far does not (0: skip): every plan of each order within reach of
            column generation's Lagrangian bound is listed, and the wave is solved exactly over
            those (a CP-SAT MIP of at most ``proof_effort`` deterministic seconds, over at
            most ``proof_plans`` plans in all); its plan is taken if better. It needs column
            generation (``pricing_rounds``), and works best after it ran to the end
            (``pricing_tolerance=0``, as in :meth:`proven`).
        workers: processes that solve orders alone (each order's optimum, column generation's
            pricing): 1 solves everything in this process; more start ``workers - 1`` worker
            processes for waves of at least 64 orders. The plans are the same either way.
    """

    lp: bool = True
    lp_max_columns: int = 50_000
    pricing_rounds: int = 30
    pricing_tolerance: float = 0.001
    master_effort: float = 1.0
    neighbourhoods: int = 600
    neighbourhood_orders: int = 12
    neighbourhood_sources: int = 8
    neighbourhood_nodes: int = 2_000
    local_search_rounds: int = 3
    price_directed: bool = True
    mip: bool = False
    mip_solver: str = "scip"
    mip_max_nodes: int = 100_000
    proof_gap: float = 0.0
    proof_plans: int = 50_000
    proof_effort: float = 5.0
    time_limit_s: float | None = None
    workers: int = 1

    @classmethod
    def large(cls, workers: int = 2, **changes: Any) -> WaveConfig:
        """For large waves, where speed matters more than the last tenth of a percent: column
        generation stops within 0.3 % of its bound, and the master MIP's plan is the wave's
        (no price-directed pass, local or neighbourhood search); ``workers`` processes.
        ``changes`` override any other field. BENCHMARKS.md (W3) has its figures."""
        settings: dict[str, Any] = {
            "pricing_tolerance": 0.003, "price_directed": False, "local_search_rounds": 0,
            "neighbourhoods": 0, "workers": workers}
        return cls(**{**settings, **changes})

    @classmethod
    def proven(cls, gap: float = 0.003, workers: int = 1, **changes: Any) -> WaveConfig:
        """For a proven gap: column generation runs until no order can gain a plan (the best
        Lagrangian bound, which the proof step builds on), then the master MIP and the proof
        step to within ``gap`` (no price-directed pass, local or neighbourhood search);
        ``workers`` processes. ``changes`` override any other field. It proved 1,000 orders
        × 50 sources within 0.298 % in 6-9 s (BENCHMARKS.md, W3); where stock is scarcer the
        bound's own gap is larger and the proof step gives up (within ``proof_plans``)."""
        settings: dict[str, Any] = {
            "pricing_tolerance": 0.0, "price_directed": False, "local_search_rounds": 0,
            "neighbourhoods": 0, "proof_gap": gap, "workers": workers}
        return cls(**{**settings, **changes})

    def __post_init__(self) -> None:
        for name in ("lp_max_columns", "pricing_rounds", "master_effort",
                     "neighbourhoods", "neighbourhood_sources", "neighbourhood_nodes",
                     "local_search_rounds", "mip_max_nodes", "proof_plans", "proof_effort"):
            if getattr(self, name) < 0:
                raise ValueError(f"WaveConfig.{name} is {getattr(self, name)}; "
                                 "it must be 0 or more")
        if self.workers < 1:
            raise ValueError(f"WaveConfig.workers is {self.workers}; use 1 (this process only) "
                             "or more (that many processes, such as os.cpu_count())")
        if self.neighbourhood_orders < 2:
            raise ValueError(f"WaveConfig.neighbourhood_orders is {self.neighbourhood_orders}; "
                             "a neighbourhood needs at least 2 orders")
        if self.mip_solver not in ("scip", "highs"):
            raise ValueError(f"WaveConfig.mip_solver is {self.mip_solver!r}; "
                             "use 'scip' or 'highs'")
        if not 0 <= self.pricing_tolerance < 1:
            raise ValueError(f"WaveConfig.pricing_tolerance is {self.pricing_tolerance}; use a "
                             "fraction of the cost in [0, 1), such as 0.001")
        if not 0 <= self.proof_gap < 1:
            raise ValueError(f"WaveConfig.proof_gap is {self.proof_gap}; use a fraction of the "
                             "cost in [0, 1), such as 0.003, or 0 to skip the proof step")
        if self.time_limit_s is not None and self.time_limit_s <= 0:
            raise ValueError(f"WaveConfig.time_limit_s is {self.time_limit_s}; use a positive "
                             "number of seconds, or None for no wall-clock stop")


@dataclass(frozen=True, slots=True)
class WaveResult:
    """A wave's decisions and how good they are.

    ``results`` are per order, in input order. Money is in the network currency: ``cost`` is
    the wave's objective without the short penalty, ``per_order_cost`` the same for the per-order
    pass; ``short_units`` count units left short (by the wave, by the per-order pass), each
    SKU's in its smallest unit (tenths of a metre for a SKU sold in tenths); ``short_qty`` and
    ``per_order_short_qty`` are the same in each SKU's own unit (2.5 for 2.5 m). These figures
    are the joint orders'; the other orders keep their per-order plans.
    ``bound`` is a lower bound on the full objective (the best of the LP relaxation, the
    Lagrangian bound, the sum of per-order optima, and the proof step's and the whole-wave
    MIP's, where they ran; short penalty included, as are
    ``objective`` and ``per_order_objective``) and ``gap`` is ``(objective - bound) / cost``.
    Where the per-order pass already reaches ``sum_of_optima`` (no order's best plan is in
    another's way), that plan is proven optimal and nothing joint runs: ``lp_bound`` and
    ``lagrangian_bound`` are then ``None``.
    """

    results: tuple[AllocationResult, ...]
    status: str      # "optimal" (bound reached) or "feasible" (a gap remains)
    improved: bool   # the joint plan beats the per-order pass (else the wave keeps the latter)
    cost: Decimal
    per_order_cost: Decimal
    short_units: int
    per_order_short_units: int
    objective: Decimal
    per_order_objective: Decimal
    bound: Decimal
    lp_bound: Decimal | None
    lagrangian_bound: Decimal | None   # column generation's (None: it did not run)
    sum_of_optima: Decimal
    gap: float
    joint_orders: int
    columns: int
    columns_kept: int
    seconds: float
    #: seconds per step, in order: ``build`` (rules, problems), ``optima``, ``per_order``,
    #: ``lp``, ``column_generation``, ``master_mip``, ``local_search``, ``neighbourhoods``,
    #: ``proof``, ``mip``, ``results`` (the joint orders' results; steps that did not run are
    #: left out)
    phases: tuple[tuple[str, float], ...] = ()
    short_qty: Decimal = Decimal(0)
    per_order_short_qty: Decimal = Decimal(0)
