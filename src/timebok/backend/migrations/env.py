"""Alembic's entry point: runs the migrations on the connection that backend.migrate hands over."""

from alembic import context

from timebok.backend.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through backend.migrate (timebok serve does), which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    compare_type=True,
    # SQLite changes most columns only by copying the table; batch mode writes migrations that way.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
