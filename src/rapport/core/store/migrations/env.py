"""Alembic environment: runs on the connection `db.upgrade` hands over, or on the URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from rapport.core.store.schema import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _configure_and_run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _configure_and_run(conn)
    engine.dispose()
