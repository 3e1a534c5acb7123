"""Create or drop a PostgreSQL database (CI and benchmarks use a throwaway one)."""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, text


def main(action: str, admin_url: str, name: str) -> None:
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing odd database name {name!r}")
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if action == "create":
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        elif action == "drop":
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            raise SystemExit("usage: pg_database.py create|drop ADMIN_URL NAME")
    engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:4])
