"""The appointment's whole life: holds (slot and appointment held_until, held_by), changes (appointment.replaces_id),
and per-timebook hold minutes, cancel/change deadline, Monday-by-Friday rule and answer time."""

import sqlalchemy as sa
from alembic import op

revision = "0005_life"
down_revision = "0004_setup"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Server defaults fill existing rows: existing setups keep working (5-minute holds, no deadline, 2 working days).
    op.add_column("schedule", sa.Column("hold_minutes", sa.Integer(), nullable=False, server_default="5"))
    op.add_column("schedule", sa.Column("deadline_hours", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("schedule", sa.Column("monday_by_friday", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("schedule", sa.Column("answer_days", sa.Integer(), nullable=False, server_default="2"))
    op.add_column("slot", sa.Column("held_until", sa.DateTime(), nullable=True))
    op.create_index("ix_slot_schedule_held_until", "slot", ["schedule_id", "held_until"])
    # Plain columns (no foreign key to itself), so SQLite adds them without rebuilding the table.
    op.add_column("appointment", sa.Column("replaces_id", _ID, nullable=True))
    op.add_column("appointment", sa.Column("held_until", sa.DateTime(), nullable=True))
    op.add_column("appointment", sa.Column("held_by", sa.String(200), nullable=True))
    op.create_index("ix_appointment_replaces_id", "appointment", ["replaces_id"])


def downgrade() -> None:
    op.drop_index("ix_appointment_replaces_id", "appointment")
    with op.batch_alter_table("appointment") as batch:
        for column in ("held_by", "held_until", "replaces_id"):
            batch.drop_column(column)
    op.drop_index("ix_slot_schedule_held_until", "slot")
    with op.batch_alter_table("slot") as batch:
        batch.drop_column("held_until")
    with op.batch_alter_table("schedule") as batch:
        for column in ("answer_days", "monday_by_friday", "deadline_hours", "hold_minutes"):
            batch.drop_column(column)
