"""``idp demo`` registers every example application under the id its defaults use, and prints
the one command that starts each."""

from __future__ import annotations

import importlib
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask

from idp.cli.demo import demo
from idp.extensions import db
from idp.models import Client
from idp.security import digest
from tests.conftest_support import make_app

EXPECTED = {
    "demo-shop": ("web", "http://127.0.0.1:8001"),
    "demo-shop-b": ("web", "http://127.0.0.1:8002"),
    "demo-mobile": ("native", None),
    "demo-speaker": ("device", None),
}


@pytest.fixture
def empty_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database, as `idp demo` finds it the first time."""
    app = make_app(database_url, tmp_path / "instance", None)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def run_demo(app: Flask) -> Result:
    result = app.test_cli_runner().invoke(demo, ["--no-serve"])
    assert result.exit_code == 0, result.output
    return result


def registered(app: Flask) -> dict[str, Client]:
    with app.app_context():
        found = {c.client_id: c for c in db.session.execute(db.select(Client)).scalars()}
        db.session.expunge_all()
    return found


def test_demo_registers_the_four_examples_once(empty_app: Flask) -> None:
    """Two runs leave the two shops, the native app and the speaker, each as documented."""
    run_demo(empty_app)
    run_demo(empty_app)
    found = registered(empty_app)
    assert set(found) == set(EXPECTED)
    for client_id, (client_type, url) in EXPECTED.items():
        client = found[client_id]
        assert client.client_type == client_type
        if url is not None:
            assert client.redirect_uris == [f"{url}/callback"]
            assert client.post_logout_redirect_uris == [f"{url}/"]
            assert client.backchannel_logout_uri == f"{url}/backchannel-logout"
    assert found["demo-shop"].client_secret_digest == digest("demo-shop-secret")
    assert found["demo-shop-b"].client_secret_digest == digest("demo-shop-b-secret")
    assert found["demo-mobile"].redirect_uris == ["http://127.0.0.1/callback"]
    assert found["demo-mobile"].token_endpoint_auth_method == "none"
    assert found["demo-speaker"].token_endpoint_auth_method == "none"
    assert found["demo-speaker"].grant_types[0] == "urn:ietf:params:oauth:grant-type:device_code"


def test_demo_prints_a_command_each_client_accepts(empty_app: Flask) -> None:
    """Each printed command parses with its client's own options and names the registered id."""
    result = run_demo(empty_app)
    commands = {}
    for line in result.stdout.splitlines():
        words = line.split(maxsplit=1)
        if words and words[0] in EXPECTED:
            commands[words[0]] = shlex.split(words[1])
    assert set(commands) == set(EXPECTED)
    for client_id, argv in commands.items():
        assert argv[:2] == [".venv/bin/python", "-m"]
        module = importlib.import_module(f"{argv[2]}.__main__")
        options = module.parse_args(argv[3:])
        assert options.client_id == client_id
        assert getattr(options, "issuer", None) == "http://localhost:5000"
    webshop = importlib.import_module("clients.webshop.__main__")
    assert webshop.parse_args(commands["demo-shop"][3:]).port == 8001
    shop_b = webshop.parse_args(commands["demo-shop-b"][3:])
    assert (shop_b.port, shop_b.client_secret) == (8002, "demo-shop-b-secret")
