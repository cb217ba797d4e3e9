"""The schema as the backend created it before migrations existed (SQLite files made then are stamped here).

One change since: healthcare_service.type_code is 40 long, not 10 ("Koronavaksine" is 13). SQLite never
enforced the old length, so files made before are still this revision in all that matters."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    # 64-bit on PostgreSQL; on SQLite only the spelling INTEGER makes the key the autoincrementing rowid.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ordered(length: int) -> sa.types.TypeEngine[str]:
    # Sorted by code point on PostgreSQL too ("C"), as SQLite's BINARY sorts, whatever the cluster's locale.
    return sa.String(length=length).with_variant(sa.String(length=length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("id", _id(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("her_id", sa.String(length=20), nullable=False),
        sa.Column("orgnr", sa.String(length=9), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("her_id"),
        sa.UniqueConstraint("orgnr"),
    )
    op.create_table(
        "closure_day",
        sa.Column("id", _id(), nullable=False),
        sa.Column("organization_id", _id(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_closure_day_organization_id"), "closure_day", ["organization_id"], unique=False)
    op.create_table(
        "healthcare_service",
        sa.Column("id", _id(), nullable=False),
        sa.Column("organization_id", _id(), nullable=False),
        sa.Column("type_code", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_healthcare_service_organization_id"), "healthcare_service", ["organization_id"], unique=False)
    op.create_table(
        "location",
        sa.Column("id", _id(), nullable=False),
        sa.Column("organization_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address_line", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("directions", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_location_organization_id"), "location", ["organization_id"], unique=False)
    op.create_table(
        "patient",
        sa.Column("id", _id(), nullable=False),
        sa.Column("identifier_system", sa.String(length=60), nullable=False),
        sa.Column("identifier", sa.String(length=11), nullable=False),
        sa.Column("given", _ordered(100), nullable=False),
        sa.Column("family", _ordered(100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("gp_organization_id", _id(), nullable=True),
        sa.ForeignKeyConstraint(
            ["gp_organization_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identifier"),
    )
    op.create_index(op.f("ix_patient_gp_organization_id"), "patient", ["gp_organization_id"], unique=False)
    op.create_table(
        "access_token",
        sa.Column("token", sa.String(length=100), nullable=False),
        sa.Column("role", _ordered(10), nullable=False),
        sa.Column("name", _ordered(200), nullable=False),
        sa.Column("patient_id", _id(), nullable=True),
        sa.Column("organization_id", _id(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
        ),
        sa.PrimaryKeyConstraint("token"),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", _id(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("organization_id", _id(), nullable=True),
        sa.Column("patient_id", _id(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_event_patient_id"), "audit_event", ["patient_id"], unique=False)
    op.create_table(
        "schedule",
        sa.Column("id", _id(), nullable=False),
        sa.Column("healthcare_service_id", _id(), nullable=False),
        sa.Column("location_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["healthcare_service_id"],
            ["healthcare_service.id"],
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["location.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_schedule_healthcare_service_id"), "schedule", ["healthcare_service_id"], unique=False)
    op.create_table(
        "slot",
        sa.Column("id", _id(), nullable=False),
        sa.Column("schedule_id", _id(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedule.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_slot_schedule_status_start", "slot", ["schedule_id", "status", "start"], unique=False)
    op.create_table(
        "appointment",
        sa.Column("id", _id(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("slot_id", _id(), nullable=False),
        sa.Column("patient_id", _id(), nullable=False),
        sa.Column("organization_id", _id(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("last_updated", sa.DateTime(), nullable=False),
        sa.Column("cancelation_code", sa.String(length=20), nullable=True),
        sa.Column("cancelation_text", sa.Text(), nullable=True),
        sa.Column("booked_by", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["slot.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_appointment_org_status_start", "appointment", ["organization_id", "status", "start"], unique=False)
    op.create_index(op.f("ix_appointment_organization_id"), "appointment", ["organization_id"], unique=False)
    op.create_index(op.f("ix_appointment_patient_id"), "appointment", ["patient_id"], unique=False)
    op.create_index(op.f("ix_appointment_slot_id"), "appointment", ["slot_id"], unique=False)
    op.create_table(
        "appointment_response",
        sa.Column("id", _id(), nullable=False),
        sa.Column("appointment_id", _id(), nullable=False),
        sa.Column("organization_id", _id(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_appointment_response_appointment_id"), "appointment_response", ["appointment_id"], unique=False)
    op.create_table(
        "communication",
        sa.Column("id", _id(), nullable=False),
        sa.Column("patient_id", _id(), nullable=False),
        sa.Column("organization_id", _id(), nullable=False),
        sa.Column("appointment_id", _id(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_communication_organization_id"), "communication", ["organization_id"], unique=False)
    op.create_index(op.f("ix_communication_patient_id"), "communication", ["patient_id"], unique=False)


def downgrade() -> None:
    op.drop_table("communication")
    op.drop_table("appointment_response")
    op.drop_table("appointment")
    op.drop_table("slot")
    op.drop_table("schedule")
    op.drop_table("audit_event")
    op.drop_table("access_token")
    op.drop_table("patient")
    op.drop_table("location")
    op.drop_table("healthcare_service")
    op.drop_table("closure_day")
    op.drop_table("organization")
