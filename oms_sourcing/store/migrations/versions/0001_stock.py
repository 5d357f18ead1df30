"""Stock cells, sources, statements, record ids and reservations.

Revision ID: 0001_stock
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_stock"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_cells",
        sa.Column("source", sa.String, primary_key=True),
        sa.Column("sku", sa.String, primary_key=True),
        sa.Column("on_hand", sa.BigInteger, nullable=False),
        sa.Column("reserved", sa.BigInteger, nullable=False),
        sa.Column("safety", sa.BigInteger, nullable=False),
        sa.Column("in_stock", sa.Boolean, nullable=False),
        sa.Column("known", sa.Boolean, nullable=False),
        sa.Column("base_at", sa.String),
        sa.Column("base_id", sa.String),
        sa.Column("base_units", sa.BigInteger, nullable=False),
        sa.Column("adjustments", sa.Text),
        sa.Column("status_at", sa.String),
        sa.Column("status_id", sa.String),
    )
    op.create_table(
        "stock_sources",
        sa.Column("source", sa.String, primary_key=True),
        sa.Column("reset_at", sa.String),
        sa.Column("reset_tag", sa.String),
    )
    op.create_table(
        "stock_statements",
        sa.Column("source", sa.String, primary_key=True),
        sa.Column("effective_at", sa.String, primary_key=True),
        sa.Column("tag", sa.String, primary_key=True),
    )
    op.create_table(
        "stock_record_ids",
        sa.Column("record_id", sa.String, primary_key=True),
    )
    op.create_table(
        "reservation_lines",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String, nullable=False),
        sa.Column("line_id", sa.String, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("shipments", sa.Text),
        sa.UniqueConstraint("order_id", "line_id", name="uq_reservation_lines_key"),
    )
    op.create_table(
        "reservation_cells",
        sa.Column("line", sa.Integer, sa.ForeignKey("reservation_lines.id"), primary_key=True),
        sa.Column("source", sa.String, primary_key=True),
        sa.Column("sku", sa.String, primary_key=True),
        sa.Column("units", sa.BigInteger, nullable=False),
        sa.Column("open", sa.BigInteger, nullable=False),
        sa.Column("shipped", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_reservation_cells_cell", "reservation_cells", ["source", "sku"])


def downgrade() -> None:
    for table in ("reservation_cells", "reservation_lines", "stock_record_ids",
                  "stock_statements", "stock_sources", "stock_cells"):
        op.drop_table(table)
