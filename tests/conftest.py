"""Fixtures: a real app per test on its own database (SQLite file, or a PostgreSQL schema)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from idp import paths
from idp.extensions import db
from tests.conftest_support import dispose_apps, isolated_database, make_app
from tests.live import LiveServer, serve
from tests.mailbox import Mailbox, start_smtp_server


@pytest.fixture(scope="session", autouse=True)
def compiled_translations() -> None:
    """Compile each .po into the .mo the app loads, so a bare checkout has French pages too."""
    for po in paths.translations().glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        target = po.with_suffix(".mo")
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        with partial.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        partial.replace(target)  # atomic: a concurrent run never reads half a file


@pytest.fixture(autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    dispose_apps()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Mailbox]:
    mailbox, controller = start_smtp_server()
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: Mailbox) -> Mailbox:
    smtp_server.clear()
    return smtp_server


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database nobody else uses: a fresh SQLite file, or a fresh PostgreSQL schema."""
    with isolated_database(tmp_path) as url:
        yield url


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Per-test overrides; a test changes a setting with ``@pytest.mark.parametrize`` or this."""
    return {}


@pytest.fixture
def app(
    database_url: str, tmp_path: Path, mailbox: Mailbox, app_config: dict[str, Any]
) -> Iterator[Flask]:
    app = make_app(database_url, tmp_path / "instance", mailbox, **app_config)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def live_server(database_url: str, tmp_path: Path, mailbox: Mailbox) -> Iterator[LiveServer]:
    """The real app over HTTP on a free loopback port, its ISSUER pointing at that port."""
    with serve(database_url, tmp_path / "instance", mailbox) as server:
        yield server


__all__ = ["make_app"]
