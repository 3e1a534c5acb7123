"""Contracts that must not drift: generated stubs, the schema, the compose file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from rapport.core.store import db as store_db
from rapport.core.store.schema import Base

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_stubs_match_the_protos(tmp_path):
    gen = _generator()
    gen.generate(tmp_path)
    fresh = sorted(
        p.relative_to(tmp_path) for p in (tmp_path / "rapport" / "v1").glob("*_pb2*.py*")
    )
    committed_dir = ROOT / "src" / "rapport" / "v1"
    committed = sorted(p.relative_to(ROOT / "src") for p in committed_dir.glob("*_pb2*.py*"))
    assert fresh == committed, "stub files differ: run `make protos`"
    for rel in fresh:
        assert (tmp_path / rel).read_bytes() == (ROOT / "src" / rel).read_bytes(), (
            f"{rel} is stale: run `make protos` and commit the result"
        )


def test_migrations_match_the_models(db):
    """Alembic is the only schema path: autogenerate against head must find nothing."""
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []


def test_store_refuses_a_database_behind_head(tmp_path):
    from rapport.core.errors import SchemaOutOfDate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    with pytest.raises(SchemaOutOfDate, match="rapport db upgrade"):
        store_db.Database(url)
    store_db.upgrade(url)
    store_db.Database(url).close()


def test_compose_file_is_coherent():
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "mlflow", "migrate", "candidates"} <= set(services)
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown {dep}"
        for vol in svc.get("volumes", []):
            source = vol.split(":")[0]
            if not source.startswith("."):
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"
    assert "postgresql" in services["mlflow"]["command"]
    from rapport.services.app import FACTORIES

    served = set()
    for svc in services.values():
        command = svc.get("command", [])
        if isinstance(command, list) and "--services" in command:
            served.update(command[command.index("--services") + 1].split(","))
    assert served <= set(FACTORIES), f"unknown services in compose: {served - set(FACTORIES)}"
    assert set(FACTORIES) <= served, f"not in compose: {set(FACTORIES) - served}"
    assert (ROOT / "Dockerfile").exists()
