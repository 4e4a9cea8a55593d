"""Alembic migrations: they build the models' schema, and move real data up and down."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from idp.extensions import db
from idp.services import customers
from tests.conftest_support import make_app


def test_migrations_match_models(database_url: str, tmp_path: Path) -> None:
    """Upgrading to head yields exactly the schema the models declare (no drift)."""
    app = make_app(database_url, tmp_path / "instance", None)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": True}
            )
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == []


def test_upgrade_downgrade_upgrade_keeps_data(database_url: str, tmp_path: Path) -> None:
    """Rows written at head survive downgrading the newest revision and upgrading again."""
    app = make_app(database_url, tmp_path / "instance", None)
    with app.app_context():
        upgrade()
        head = ScriptDirectory.from_config(
            app.extensions["migrate"].migrate.get_config()
        ).get_current_head()
        previous = (
            ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
            .get_revision(head)
            .down_revision
        )
        customer = customers.create(
            email="kept@example.com",
            password="a long enough passphrase",
            given_name="Kept",
            birthdate=date(1980, 1, 2),
            address={"locality": "Lyon"},
        )
        db.session.commit()
        public_id = customer.public_id
        db.session.remove()

        downgrade(revision=previous or "base")
        tables = sa.inspect(db.engine).get_table_names()
        if previous is None:
            # The first revision owns every table: going below it must leave nothing behind.
            assert {"customer", "browser_session", "login_event"}.isdisjoint(tables)
            upgrade()
            assert customers.find_by_email("kept@example.com") is None
        else:
            assert "customer" in tables
            upgrade()
            kept = customers.find_by_email("KEPT@example.com")
            assert kept is not None and kept.public_id == public_id
        db.session.remove()
        db.engine.dispose()
