"""Timebook setup: weekly pattern, slot length, parallel slots and horizon per timebook; campaigns; part-day and
per-timebook closures; an audit trail of setup changes; one slot per (timebook, start, parallel seat)."""

import sqlalchemy as sa
from alembic import op

revision = "0004_setup"
down_revision = "0004_perf"  # after issue 10's change counters
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Server defaults fill existing rows, so the new columns can be added without rebuilding tables.
    op.add_column("schedule", sa.Column("slot_minutes", sa.Integer(), nullable=False, server_default="15"))
    op.add_column("schedule", sa.Column("parallel", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("schedule", sa.Column("horizon_days", sa.Integer(), nullable=False, server_default="42"))
    # The weekly pattern as JSON ([{"days": ["mon", …], "start": "08:00", "end": "11:30"}]); null: no pattern
    # (a timebook made before setup existed, whose slots generation leaves alone).
    op.add_column("schedule", sa.Column("weekly", sa.Text(), nullable=True))
    op.add_column("closure_day", sa.Column("start_time", sa.String(5), nullable=True))
    op.add_column("closure_day", sa.Column("end_time", sa.String(5), nullable=True))
    op.add_column("closure_day", sa.Column("schedule_id", _ID, nullable=True))
    op.add_column("slot", sa.Column("seq", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ux_slot_schedule_start_seq", "slot", ["schedule_id", "start", "seq"], unique=True)
    op.create_table(
        "campaign",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("schedule_id", _ID, sa.ForeignKey("schedule.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("first", sa.Date(), nullable=False),
        sa.Column("last", sa.Date(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=True),
        sa.Column("weekly", sa.Text(), nullable=False),
    )
    op.create_table(
        "setup_event",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("organization_id", _ID, sa.ForeignKey("organization.id"), nullable=False, index=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("setup_event")
    op.drop_table("campaign")
    op.drop_index("ux_slot_schedule_start_seq", "slot")
    with op.batch_alter_table("slot") as batch:
        batch.drop_column("seq")
    with op.batch_alter_table("closure_day") as batch:
        batch.drop_column("schedule_id")
        batch.drop_column("end_time")
        batch.drop_column("start_time")
    with op.batch_alter_table("schedule") as batch:
        for column in ("weekly", "horizon_days", "parallel", "slot_minutes"):
            batch.drop_column(column)
