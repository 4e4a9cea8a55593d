"""UserInfo and introspection read a JWT access token's row, its grant and its customer in one
statement: the merge-alias check on the customer costs no query of its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
import sqlalchemy as sa

from idp.extensions import db
from tests.oauth.support import bearer, tokens


@contextmanager
def statements(app, table: str) -> Iterator[list[str]]:
    """The SELECTs the app sends that read ``table`` while the block runs."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def listen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)


def test_userinfo_reads_token_grant_and_customer_at_once(live_server, web_client, agent):
    token = tokens(live_server, web_client, agent, scope="openid email")["access_token"]
    with (
        statements(live_server.app, "access_token") as seen,
        statements(live_server.app, "customer") as customers,
    ):
        response = requests.get(f"{live_server.url}/userinfo", headers=bearer(token), timeout=10)
    assert response.status_code == 200
    assert len(seen) == 1 and "token_family" in seen[0] and "customer" in seen[0]
    assert customers == []  # no customer read of its own


def test_introspection_reads_token_grant_and_customer_at_once(live_server, web_client, agent):
    token = tokens(live_server, web_client, agent)["access_token"]
    with statements(live_server.app, "customer") as customers:
        response = requests.post(
            f"{live_server.url}/introspect",
            data={"token": token},
            auth=(web_client.client_id, web_client.client_secret),
            timeout=10,
        )
    assert response.status_code == 200 and response.json()["active"] is True
    assert customers == []
