"""Timebooks get a booking lead time: citizens may not book a time that starts sooner than this (default 2 hours)."""

import sqlalchemy as sa
from alembic import op

revision = "0003_citizen"
down_revision = "0003_hardening"  # re-chained after issue 11 landed on main
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A server default fills existing timebooks, so the column can be NOT NULL without rebuilding the table.
    op.add_column("schedule", sa.Column("lead_minutes", sa.Integer(), nullable=False, server_default="120"))


def downgrade() -> None:
    with op.batch_alter_table("schedule") as batch:
        batch.drop_column("lead_minutes")
