"""per-item poll progress and a sealed connector session per account

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("session", sa.Text(), nullable=True))
    op.create_table(
        "poll_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=191), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "key", name="uq_poll_progress_key"),
    )


def downgrade() -> None:
    op.drop_table("poll_progress")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("session")
