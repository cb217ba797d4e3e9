"""Messages that reach people (issue 25): the outbox and its attempts, the patient's e-mail, phone and language,
the per-appointment opt-outs, and each timebook's reminder time."""

import sqlalchemy as sa
from alembic import op

revision = "0006_outbox"
down_revision = "0005_life"  # after issue 24's appointment life (merged into this branch)
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("schedule", sa.Column("reminder_hours", sa.Integer(), nullable=False, server_default="48"))
    op.add_column("patient", sa.Column("email", sa.String(200), nullable=True))
    op.add_column("patient", sa.Column("phone", sa.String(30), nullable=True))
    op.add_column("patient", sa.Column("language", sa.String(5), nullable=False, server_default="nb"))
    op.add_column("appointment", sa.Column("no_notices", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("appointment", sa.Column("no_reminders", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "outbox_message",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("dedup_key", sa.String(300), nullable=False, unique=True),
        sa.Column("event", sa.String(30), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("patient_id", _ID, sa.ForeignKey("patient.id"), nullable=False, index=True),
        sa.Column("organization_id", _ID, sa.ForeignKey("organization.id"), nullable=False),
        sa.Column("appointment_id", _ID, sa.ForeignKey("appointment.id"), nullable=True, index=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("due", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(30), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(40), nullable=True),
        sa.Column("sent", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_outbox_state_due", "outbox_message", ["state", "due"])
    op.create_table(
        "short_notice",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("patient_id", _ID, sa.ForeignKey("patient.id"), nullable=False, index=True),
        sa.Column("organization_id", _ID, sa.ForeignKey("organization.id"), nullable=False),
        sa.Column("healthcare_service_id", _ID, sa.ForeignKey("healthcare_service.id"), nullable=False),
        sa.Column("location_id", _ID, sa.ForeignKey("location.id"), nullable=False),
        sa.Column("period_start", sa.DateTime(), nullable=False),
        sa.Column("period_end", sa.DateTime(), nullable=False),
        sa.Column("replaces_id", _ID, nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("offer_id", _ID, nullable=True),
    )
    op.create_index("ix_short_notice_status_created", "short_notice", ["status", "created"])
    op.create_table(
        "outbox_attempt",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("message_id", _ID, sa.ForeignKey("outbox_message.id"), nullable=False, index=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.String(300), nullable=True),
    )


def downgrade() -> None:
    op.drop_index("ix_short_notice_status_created", "short_notice")
    op.drop_table("short_notice")
    op.drop_table("outbox_attempt")
    op.drop_index("ix_outbox_state_due", "outbox_message")
    op.drop_table("outbox_message")
    with op.batch_alter_table("appointment") as batch:
        batch.drop_column("no_reminders")
        batch.drop_column("no_notices")
    with op.batch_alter_table("patient") as batch:
        for column in ("language", "phone", "email"):
            batch.drop_column(column)
    with op.batch_alter_table("schedule") as batch:
        batch.drop_column("reminder_hours")
