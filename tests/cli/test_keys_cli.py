"""`idp keys`: listing keys with their state, scheduled and emergency rotation."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from idp import config
from idp.models.types import utcnow
from idp.services import keys
from tests.cli_runner import Completed, run_idp

SECRET_KEY = "s" * 40


def idp(database_url: str, cwd: Path, *args: str, **env: str) -> Completed:
    """Run the ``idp`` command with IDP_* settings given by name, as an operator would."""
    settings = {"IDP_SECRET_KEY": SECRET_KEY, **{f"IDP_{k}": v for k, v in env.items()}}
    return run_idp(database_url, cwd, *args, env=settings)


@pytest.fixture
def schema(app, database_url: str) -> str:
    """The database with every table (the ``app`` fixture creates them)."""
    return database_url


def listing(database_url: str, cwd: Path) -> list[dict[str, str | None]]:
    result = idp(database_url, cwd, "keys", "list", "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def when(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


def test_first_rotate_creates_active_es256_and_rs256(schema: str, tmp_path: Path) -> None:
    """On an empty store `rotate` makes both keys sign at once; `list` shows them active."""
    before = utcnow().replace(microsecond=0)
    result = idp(schema, tmp_path, "keys", "rotate")
    assert result.returncode == 0, result.stderr
    rows = listing(schema, tmp_path)
    assert [(r["alg"], r["state"], r["retired_at"], r["expires_at"]) for r in rows] == [
        ("ES256", "active", None, None),
        ("RS256", "active", None, None),
    ]
    assert all(before <= when(r["activates_at"]) <= utcnow() for r in rows)
    assert sorted(line.split()[0] for line in result.stdout.splitlines()) == sorted(
        r["kid"] for r in rows
    )
    text = idp(schema, tmp_path, "keys", "list").stdout
    assert all(r["kid"] in text and "active" in text for r in rows)


def test_rotate_publishes_ahead_and_refuses_a_second_schedule(
    app, schema: str, tmp_path: Path
) -> None:
    """The new key is published KEY_PUBLISH_AHEAD before it signs; the old one retires then and
    expires after the longest token lifetime; rotating again meanwhile is refused."""
    assert idp(schema, tmp_path, "keys", "rotate").returncode == 0
    result = idp(
        schema,
        tmp_path,
        "keys",
        "rotate",
        "--alg",
        "ES256",
        KEY_PUBLISH_AHEAD="3600",
        ID_TOKEN_LIFETIME="600",
        ACCESS_TOKEN_LIFETIME="900",
    )
    assert result.returncode == 0, result.stderr
    rows = listing(schema, tmp_path)
    new, old, rs = rows
    assert [(r["alg"], r["state"]) for r in rows] == [
        ("ES256", "next"),
        ("ES256", "active"),
        ("RS256", "active"),
    ]
    assert rs["retired_at"] is None
    assert when(new["activates_at"]) - when(new["created_at"]) == timedelta(hours=1)
    assert old["retired_at"] == new["activates_at"]
    assert when(old["expires_at"]) - when(old["retired_at"]) == timedelta(seconds=900)
    with app.app_context():
        assert {new["kid"], old["kid"]} <= {k["kid"] for k in keys.jwks(utcnow())["keys"]}

    again = idp(schema, tmp_path, "keys", "rotate", "--alg", "ES256")
    assert again.returncode == 1
    assert "scheduled" in again.stderr and "--now" in again.stderr
    assert len(listing(schema, tmp_path)) == 3


def test_rotate_now_signs_at_once_and_keeps_old_keys_published(
    app, schema: str, tmp_path: Path
) -> None:
    """`rotate --now` (the leak case, as its help says) switches signing at once and leaves the
    old keys in the JWKS until their tokens expire."""
    help_text = idp(schema, tmp_path, "keys", "rotate", "--help").stdout
    assert "leak" in help_text and "JWKS" in help_text
    assert idp(schema, tmp_path, "keys", "rotate").returncode == 0
    result = idp(schema, tmp_path, "keys", "rotate", "--now")
    assert result.returncode == 0, result.stderr
    new_es, old_es, new_rs, old_rs = listing(schema, tmp_path)
    assert [r["state"] for r in (new_es, old_es, new_rs, old_rs)] == [
        "active",
        "retired",
        "active",
        "retired",
    ]
    for new, old in ((new_es, old_es), (new_rs, old_rs)):
        assert old["retired_at"] == new["activates_at"]
        assert when(old["expires_at"]) - when(old["retired_at"]) == timedelta(seconds=300)
    encryption_key = config.key_encryption_key({"SECRET_KEY": SECRET_KEY})
    with app.app_context():
        now = utcnow()
        published = {k["kid"] for k in keys.jwks(now)["keys"]}
        assert published == {r["kid"] for r in (new_es, old_es, new_rs, old_rs)}
        assert keys.active_key("ES256", now, encryption_key=encryption_key)[0] == new_es["kid"]
        assert keys.active_key("RS256", now, encryption_key=encryption_key)[0] == new_rs["kid"]
        later = {k["kid"] for k in keys.jwks(now + timedelta(seconds=301))["keys"]}
        assert later == {new_es["kid"], new_rs["kid"]}
