"""Patients get a case-folded name key, so name search folds Æ, Ø, Å alike on SQLite and PostgreSQL."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

patient = sa.table(
    "patient",
    sa.column("id", sa.Integer),
    sa.column("given", sa.String),
    sa.column("family", sa.String),
    sa.column("name_key", sa.String),
)


def upgrade() -> None:
    # Nullable: on SQLite only a nullable column can be added without rebuilding the table.
    op.add_column("patient", sa.Column("name_key", sa.String(length=201), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(patient.c.id, patient.c.given, patient.c.family)).all()
    if rows:  # folded in Python, the same way backend.schema.name_key does it
        connection.execute(
            patient.update().where(patient.c.id == sa.bindparam("row_id")).values(name_key=sa.bindparam("key")),
            [{"row_id": id_, "key": f"{given} {family}".casefold()} for id_, given, family in rows],
        )


def downgrade() -> None:
    op.drop_column("patient", "name_key")
