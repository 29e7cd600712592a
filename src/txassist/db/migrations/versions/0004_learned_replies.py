"""learned replies: the organisation's own proven replies, with the conversations that taught them

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learned_replies",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("offered", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learned_replies")),
        sa.UniqueConstraint("text_hash", name="uq_learned_reply_text"),
    )
    op.create_index(op.f("ix_learned_replies_updated_at"), "learned_replies", ["updated_at"])
    op.create_table(
        "learned_reply_sources",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reply_id", GUID(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("question_vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reply_id"],
            ["learned_replies.id"],
            name=op.f("fk_learned_reply_sources_reply_id_learned_replies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_learned_reply_sources_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learned_reply_sources")),
        sa.UniqueConstraint("reply_id", "conversation_id", name="uq_learned_reply_source"),
    )
    op.create_index(op.f("ix_learned_reply_sources_customer_id"), "learned_reply_sources", ["customer_id"])
    op.add_column("suggestions", sa.Column("learned_reply_id", GUID(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("suggestions", "learned_reply_id")
    op.drop_index(op.f("ix_learned_reply_sources_customer_id"), table_name="learned_reply_sources")
    op.drop_table("learned_reply_sources")
    op.drop_index(op.f("ix_learned_replies_updated_at"), table_name="learned_replies")
    op.drop_table("learned_replies")
