"""identity verification and possible matches

Links made before this revision were made on trust, so they count as unverified: they still find
their customer for an existing id, but a new id presenting them gets a possible match, not a merge.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 20:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false()))

    op.create_table(
        "customer_matches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("other_customer_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_matches_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["other_customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_matches_other_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_matches")),
        sa.UniqueConstraint("customer_id", "other_customer_id", "kind", name="uq_customer_match"),
    )
    with op.batch_alter_table("customer_matches", schema=None) as batch_op:
        batch_op.create_index("ix_customer_matches_other", ["other_customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customer_matches", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_matches_other")
    op.drop_table("customer_matches")
    with op.batch_alter_table("customer_identities", schema=None) as batch_op:
        batch_op.drop_column("verified")
