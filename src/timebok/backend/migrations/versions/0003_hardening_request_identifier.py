"""Booking requests and office answers keep the client's identifier, so a repeated create returns the first (If-None-Exist)."""

import sqlalchemy as sa
from alembic import op

revision = "0003_hardening"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: older rows have none, and on SQLite only a nullable column is added without rebuilding the table.
    for table in ("appointment", "appointment_response"):
        op.add_column(table, sa.Column("identifier", sa.String(length=401), nullable=True))
        # Unique: of two requests racing with one identifier, one is created and the other finds it.
        op.create_index(f"ix_{table}_identifier", table, ["identifier"], unique=True)


def downgrade() -> None:
    for table in ("appointment", "appointment_response"):
        op.drop_index(f"ix_{table}_identifier", table_name=table)
        op.drop_column(table, "identifier")
