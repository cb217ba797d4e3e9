"""Booking for someone else: the demo folkeregister (people, addresses, protection, parents and fullmakt) and the
representative who booked an appointment on the patient's behalf."""

import sqlalchemy as sa
from alembic import op

revision = "0008_represent"
down_revision = "0006_outbox"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("appointment", sa.Column("representative_id", _ID, nullable=True))
    op.create_table(
        "register_person",
        sa.Column("identifier", sa.String(11), primary_key=True),
        sa.Column("given", sa.String(100), nullable=False),
        sa.Column("family", sa.String(100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("protection", sa.String(20), nullable=False),
    )
    op.create_table(
        "register_relation",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("representative", sa.String(11), nullable=False, index=True),
        sa.Column("person", sa.String(11), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("parental_responsibility", sa.Boolean(), nullable=False),
        sa.Column("area", sa.String(40), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("register_relation")
    op.drop_table("register_person")
    with op.batch_alter_table("appointment") as batch:
        batch.drop_column("representative_id")
