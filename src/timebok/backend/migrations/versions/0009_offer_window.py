"""The short-notice offer window per timebook (issue 25): how long a freed time is held for the one it is offered to."""

import sqlalchemy as sa
from alembic import op

revision = "0009_offer_window"
down_revision = "0008_represent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("schedule", sa.Column("offer_minutes", sa.Integer(), nullable=False, server_default="30"))


def downgrade() -> None:
    with op.batch_alter_table("schedule") as batch:
        batch.drop_column("offer_minutes")
