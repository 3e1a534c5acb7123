"""The core candidate store: SQLAlchemy 2 tables, Alembic migrations and repositories."""
