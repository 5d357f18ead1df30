"""The stock feed record format, as a pydantic model for documentation and JSON Schema export.

Feeds are parsed by :mod:`oms_sourcing.inventory.feeds` without pydantic (100,000 rows must parse
in about a second); this model states the same contract for people and editors::

    source,sku,qty,mode,effective_at,record_id,status
    WH-BER,TEE-RED-M,40,FULL,2026-11-01T06:00:00+00:00,ber-2026-11-01-0001,in_stock
    WH-BER,FABRIC-LINEN,-2.5,ADJUST,2026-11-01T09:30:00+01:00,ber-adj-77,

A JSONL feed holds one object per line with the same keys. ``FeedRecord.model_json_schema()``
gives the JSON Schema of one record; a test keeps its fields equal to the parser's columns.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = ["FeedRecord", "feed_record_schema"]


class FeedRecord(BaseModel):
    """One record of a stock feed: the stock of one SKU at one source, or a change to it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Stock feed record",
        json_schema_extra={
            "examples": [
                {
                    "source": "WH-BER", "sku": "TEE-RED-M", "qty": "40", "mode": "FULL",
                    "effective_at": "2026-11-01T06:00:00+00:00",
                    "record_id": "ber-2026-11-01-0001", "status": "in_stock",
                },
                {
                    "source": "WH-BER", "sku": "FABRIC-LINEN", "qty": "-2.5", "mode": "ADJUST",
                    "effective_at": "2026-11-01T09:30:00+01:00", "record_id": "ber-adj-77",
                },
            ]
        },
    )

    source: str = Field(min_length=1, description="Code of a source defined in network.yaml.")
    sku: str = Field(min_length=1, description="The SKU.")
    qty: Decimal = Field(
        description=(
            "Quantity on hand (>= 0) for FULL, NONZERO and DELTA; a signed change for ADJUST. "
            "At most as many decimals as the SKU's decimal_qty in the catalog. Write it as a "
            "string or an exact number."
        ),
    )
    mode: Literal["FULL", "NONZERO", "DELTA", "ADJUST"] = Field(
        description=(
            "FULL: listed SKUs set, known SKUs missing from the feed untouched and reported. "
            "NONZERO: listed SKUs set, known stock-managed SKUs of the source missing from the "
            "feed set to 0. DELTA: only listed SKUs set. ADJUST: qty is added to on hand."
        ),
    )
    effective_at: AwareDatetime = Field(
        description=(
            "When the record is true, ISO-8601 with a time zone. A record older than the last "
            "absolute record applied to its (source, SKU) is ignored and reported."
        ),
    )
    record_id: str = Field(
        min_length=1,
        description="Unique id of the record; a record id seen before is a no-op (safe retries).",
    )
    status: Literal["in_stock", "out_of_stock"] | None = Field(
        None,
        description=(
            "Stock status of the SKU at the source. Absolute records default to in_stock; an "
            "ADJUST record without status leaves the status unchanged."
        ),
    )


def feed_record_schema() -> dict[str, Any]:
    """The JSON Schema of one feed record (a JSONL line, or a CSV row with these columns)."""
    return FeedRecord.model_json_schema()
