"""Freed times waiting to be offered to the short-notice list (issue 25): only a time that frees is offered."""

import sqlalchemy as sa
from alembic import op

revision = "0010_freed_slot"
down_revision = "0009_offer_window"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "freed_slot",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("slot_id", _ID, nullable=False),
        sqlite_autoincrement=True,  # ids never reused: a run deletes by id the rows it read
    )


def downgrade() -> None:
    op.drop_table("freed_slot")
