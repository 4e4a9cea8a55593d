"""Building a test app; shared by fixtures and by helpers that serve apps themselves."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from idp import create_app
from idp.extensions import db
from tests.mailbox import Mailbox

# Every app a test builds, so its connection pool is closed when the test ends, even on failure:
# a PostgreSQL connection left to the garbage collector warns (an error under -W error) in
# whichever later test happens to collect it.
_apps: list[Flask] = []


def dispose_apps() -> None:
    while _apps:
        app = _apps.pop()
        # A mail still queued would land in the next test's mailbox.
        app.extensions["idp"]["mailer"].flush()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def make_app(database_url: str, instance: Path, mailbox: Mailbox | None, **overrides: Any) -> Flask:
    config: dict[str, Any] = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "THROTTLE_NAMESPACE": f"test-{uuid.uuid4().hex}",
    }
    if mailbox is not None:
        config.update(SMTP_HOST=mailbox.host, SMTP_PORT=mailbox.port)
    config.update(overrides)
    app = create_app(config, instance_path=str(instance))
    _apps.append(app)
    return app


PG_URL = os.environ.get("IDP_TEST_DATABASE_URL")


@contextmanager
def isolated_database(directory: Path) -> Iterator[str]:
    """A database nobody else uses: a fresh SQLite file, or a fresh PostgreSQL schema."""
    if not PG_URL:
        yield f"sqlite:///{directory / 'test.sqlite3'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
