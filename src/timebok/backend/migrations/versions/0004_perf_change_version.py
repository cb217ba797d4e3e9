"""A change counter per timebook, office and patient: search answers carry it as their ETag (304 when unchanged)."""

import sqlalchemy as sa
from alembic import op

revision = "0004_perf"
down_revision = "0003_citizen"  # re-chained after issues 11 and 12 landed on main
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One small table rather than a column on schedule/organization/patient: bumping a counter then
    # never locks the rows that bookings read, and a scope with no row simply has version 0.
    op.create_table(
        "change_version",
        sa.Column("scope", sa.String(length=40).with_variant(sa.String(length=40, collation="C"), "postgresql"), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )


def downgrade() -> None:
    op.drop_table("change_version")
