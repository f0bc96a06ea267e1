"""storms: bursts of mentions, their summary cards and notices

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("thread_key", sa.String(length=64), nullable=False),
        sa.Column("post_text", sa.Text(), nullable=True),
        sa.Column("started_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("normal", sa.Float(), nullable=False),
        sa.Column("peak", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "themes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("storms", schema=None) as batch_op:
        batch_op.create_index(
            "uq_storms_one_active",
            ["account_id", "thread_key"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    op.create_table(
        "storm_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("storm_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("drawn_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("drawn_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["storm_id"],
            ["storms.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("storm_id", "kind", name="uq_storm_message"),
    )
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("storm_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("storm_theme", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("card_not_before", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_mentions_storm", ["storm_id", "state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_storm")
        batch_op.drop_column("card_not_before")
        batch_op.drop_column("storm_theme")
        batch_op.drop_column("storm_id")

    op.drop_table("storm_messages")
    with op.batch_alter_table("storms", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_storms_one_active",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    op.drop_table("storms")
