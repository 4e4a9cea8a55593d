"""Throttling shared through Redis: two app instances count the same failures."""

from __future__ import annotations

import uuid

import pytest
import redis

from tests.conftest_support import make_app
from tests.factories import make_customer
from tests.helpers import login

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.fail("Redis must run on 127.0.0.1:6379 for this test (it does on every machine)")
    return REDIS_URL


def test_two_nodes_share_the_failure_count(redis_url, database_url, tmp_path, mailbox):
    """Failures on node A count on node B: an attacker cannot spread guesses over nodes."""
    from idp.extensions import db

    namespace = f"test-{uuid.uuid4().hex}"
    settings = {
        "REDIS_URL": redis_url,
        "THROTTLE_NAMESPACE": namespace,
        "LOGIN_LIMIT_PER_ACCOUNT": "3 per 15 minutes",
    }
    node_a = make_app(database_url, tmp_path / "a", mailbox, **settings)
    node_b = make_app(database_url, tmp_path / "b", mailbox, **settings)
    with node_a.app_context():
        db.create_all()
    make_customer(node_a, email="shared@example.com")
    a, b = node_a.test_client(), node_b.test_client()
    for client in (a, b, a):
        assert login(client, "shared@example.com", "wrong password!").status_code == 401
    blocked = login(b, "shared@example.com", "a long enough passphrase")
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    for app in (node_a, node_b):
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
