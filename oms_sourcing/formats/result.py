"""The allocation result format: what ``oms-sourcing source`` prints per order and
``AllocationResult.to_dict()`` returns, as pydantic models for documentation and JSON Schema.

The engine builds results without pydantic; a test validates the result of every bundled
example order against :class:`AllocationResultModel` (extra keys forbidden), so the schema and
``to_dict`` cannot drift apart. Quantities and money are exact decimal strings ("2.5", "12.40").
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from oms_sourcing.domain import Reason

__all__ = ["AllocationResultModel"]

_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"

EXCLUSIONS = (
    "not in the sales channel's stock", "source disabled", "source does not ship",
    "excluded by the rule", "beyond the rule's maximum distance",
    "no shipping lane to the destination", "no transfer lane to the pickup store",
    "declined this line before", "no order capacity left today", "out of stock",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class LineQtyModel(_Model):
    """A quantity of one order line."""

    line: str = Field(description="Order line id.")
    sku: str
    qty: str = Field(pattern=_DECIMAL, description="Exact decimal quantity.")


class OutcomeModel(LineQtyModel):
    """A quantity backordered, held or cancelled, with its reason code."""

    reason: Reason


class ShipmentModel(_Model):
    """One shipment request: lines shipped from one source for one reason."""

    source: str | None = Field(description="Source code; null for lines needing no source "
                                            "(virtual, not stock-managed).")
    reason: Reason = Field(description="SOURCED, PICKUP_IN_STORE, PRESHIPPED or "
                                       "NOT_STOCK_MANAGED.")
    lines: list[LineQtyModel]


class TransferModel(_Model):
    """The first leg of a ship-to-store order: stock moved to the pickup store."""

    from_: str = Field(alias="from", description="Source the stock leaves.")
    to: str = Field(description="The pickup store.")
    days: int = Field(ge=0, description="Transit days of the transfer lane.")
    reason: Reason
    lines: list[LineQtyModel]


class RulesetRefModel(_Model):
    """Which ruleset and rule decided, and why earlier rules did not match."""

    id: str | None
    version: str | None
    rule: str | None = Field(description="The rule that matched; null when a policy was "
                                         "given directly.")
    trace: list[str] = Field(description="One entry per rule tried, in order.")


class CostModel(_Model):
    """The plan's objective in the network currency, and its parts."""

    currency: str = Field(min_length=3, max_length=3)
    objective: str = Field(pattern=_DECIMAL, description="Weighted objective of the plan "
                                                         "(leaving units short excluded).")
    bound: str = Field(pattern=_DECIMAL, description="Proven lower bound; equals objective "
                                                     "when the plan is proven optimal.")
    breakdown: dict[str, str] = Field(description="Objective per term (shipping_cost, "
                                                  "distance, shipments, source_priority, "
                                                  "transfer_cost, transfer_days, "
                                                  "capacity_use); zero terms left out.")


class SolverModel(_Model):
    name: str = Field(description="exact, cp-sat, ranked, or several joined by '+'.")
    status: Literal["optimal", "feasible", "infeasible"]
    ms: float = Field(ge=0, description="Wall time of building and solving, in ms.")


class CandidateModel(_Model):
    """One source considered for a line."""

    source: str
    excluded: str | None = Field(description="Why the source could not ship the line, or null "
                                             "for a candidate. One of: "
                                             + "; ".join(EXCLUSIONS) + ".")
    detail: str | None = Field(None, description="More on the exclusion (e.g. the distance).")
    available: str | None = Field(None, pattern=_DECIMAL,
                                  description="What the candidate may give (candidates only).")
    shipment_cost: str | None = Field(None, pattern=_DECIMAL,
                                      description="Objective of shipping the whole line from "
                                                  "it alone (candidates only).")
    km: float | None = Field(None, ge=0, description="Great-circle distance to the "
                                                     "destination.")


class AlternativeModel(_Model):
    """The best plan in which the line may not use the sources it was given."""

    without: list[str] = Field(description="The sources forbidden to the line.")
    sources: list[str] = Field(description="Where the line would ship from instead.")
    cost_difference: str | None = Field(
        pattern=_DECIMAL,
        description="That plan's objective minus this one's (>= 0 for an optimal plan); null "
                    "when without those sources some units could not ship at all.")
    short: str = Field(pattern=_DECIMAL, description="Units of the line that plan leaves "
                                                     "short.")


class LineExplanationModel(_Model):
    """Why one order line ended as it did."""

    line: str
    sku: str
    qty: str = Field(pattern=_DECIMAL)
    outcome: str = Field(description="The line's outcomes in words.")
    candidates: list[CandidateModel]
    alternative: AlternativeModel | None = None


class AllocationResultModel(_Model):
    """The sourcing decision for one order."""

    model_config = ConfigDict(title="Allocation result")

    order_id: str
    status: Literal["sourced", "partial", "waiting", "cancelled", "rejected"] = Field(
        description="sourced: every unit ships; partial: some do; waiting: nothing ships yet "
                    "(held or backordered); cancelled; rejected: bad input, nothing reserved.")
    decided_at: str = Field(description="The decision time passed in (ISO 8601).")
    ruleset: RulesetRefModel
    shipments: list[ShipmentModel]
    transfers: list[TransferModel]
    backorders: list[OutcomeModel]
    held: list[OutcomeModel]
    cancelled: list[OutcomeModel]
    cost: CostModel
    solver: SolverModel
    errors: list[str] = Field(description="Why a rejected order was rejected.")
    notes: list[str]
    lines: list[LineExplanationModel] | None = Field(
        None, description="Per order line: outcome, candidate sources, best alternative. "
                          "Left out by `oms-sourcing source --brief`.")
