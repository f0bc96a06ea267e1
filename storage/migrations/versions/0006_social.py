"""hiding on cards, an account's early warning, and ids long enough for Bluesky's AT-URIs

Revision ID: 0006
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

# Bluesky names a post by its AT-URI (at://did:plc:.../app.bsky.feed.post/...), about 70
# characters: longer than the 64 the first platforms needed.
WIDE = {
    "mentions": ("external_id", "author_id", "conversation_id", "parent_id"),
    "replies": ("external_id",),
    "accounts": ("external_id",),
}


def upgrade() -> None:
    op.add_column("accounts", sa.Column("attention", sa.Text(), nullable=True))
    op.add_column("mentions", sa.Column("hide_status", sa.String(length=16), nullable=True))
    op.add_column("mentions", sa.Column("hidden_by", sa.String(length=32), nullable=True))
    op.add_column("mentions", sa.Column("hidden_at", storage.types.UTCDateTime(timezone=True), nullable=True))
    for table, columns in WIDE.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.String(length=255), existing_type=sa.String(length=64))


def downgrade() -> None:
    for table, columns in WIDE.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.String(length=64), existing_type=sa.String(length=255))
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("hidden_at")
        batch.drop_column("hidden_by")
        batch.drop_column("hide_status")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("attention")
