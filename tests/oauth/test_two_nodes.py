"""Two idp processes on one database behave as one server: nothing lives in process memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import Flask

from idp.extensions import db
from idp.services import clients
from tests.factories import PASSWORD, make_customer
from tests.oauth.agent import UserAgent

SECRET = "two-nodes-share-this-secret-key-" + "x" * 16


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def node(database_url: str, issuer: str, port: int, instance: Path) -> Iterator[str]:
    """One idp process under gunicorn with two workers, as in production."""
    env = {
        **os.environ,
        "IDP_DATABASE_URL": database_url,
        "IDP_ISSUER": issuer,
        "IDP_SECRET_KEY": SECRET,
        "PYTHONWARNINGS": "ignore",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "idp:create_app()",
        ],
        env=env,
        cwd=instance,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/.well-known/openid-configuration", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            process.kill()
            _, errors = process.communicate(timeout=10)
            raise AssertionError(f"idp did not start on {url}: {errors.decode()[-3000:]}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def test_sign_in_on_one_node_exchange_and_refresh_on_the_other(app: Flask, database_url, tmp_path):
    """Code issued by node A is exchanged on node B; refresh on A; reuse caught on B."""
    customer = make_customer(app, email="two@example.com")
    with app.app_context():
        client, secret = clients.create(
            name="Shop",
            client_type="web",
            redirect_uris=["https://shop.example/cb"],
            first_party=True,
        )
        db.session.commit()
        client_id = client.client_id
    port_a, port_b = _free_port(), _free_port()
    issuer = f"http://127.0.0.1:{port_a}"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        node(database_url, issuer, port_a, tmp_path / "a") as url_a,
        node(database_url, issuer, port_b, tmp_path / "b") as url_b,
    ):
        agent = UserAgent(url_a, email="two@example.com", password=PASSWORD)
        verifier = "v" * 64
        callback = agent.go(
            f"{url_a}/authorize?"
            + requests.compat.urlencode(
                {
                    "response_type": "code",
                    "client_id": client_id,
                    "scope": "openid offline_access",
                    "redirect_uri": "https://shop.example/cb",
                    "state": "s",
                    "code_challenge": create_s256_code_challenge(verifier),
                    "code_challenge_method": "S256",
                }
            )
        )
        code = parse_qs(urlsplit(callback).query)["code"][0]

        def token(url: str, **data: str) -> requests.Response:
            return requests.post(f"{url}/token", data=data, auth=(client_id, secret), timeout=10)

        first = token(
            url_b,
            grant_type="authorization_code",
            code=code,
            redirect_uri="https://shop.example/cb",
            code_verifier=verifier,
        )
        assert first.status_code == 200, first.text
        refreshed = token(
            url_a, grant_type="refresh_token", refresh_token=first.json()["refresh_token"]
        )
        assert refreshed.status_code == 200, refreshed.text
        info = requests.get(
            f"{url_b}/userinfo",
            timeout=5,
            headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"},
        )
        assert info.json()["sub"] == customer.public_id

        reused = token(
            url_b, grant_type="refresh_token", refresh_token=first.json()["refresh_token"]
        )
        assert reused.json()["error"] == "invalid_grant"
        replay = token(
            url_a,
            grant_type="authorization_code",
            code=code,
            redirect_uri="https://shop.example/cb",
            code_verifier=verifier,
        )
        assert replay.json()["error"] == "invalid_grant"

        # Both nodes publish the same keys, so either verifies what the other signed.
        jwks_a = requests.get(f"{url_a}/jwks", timeout=5).json()
        jwks_b = requests.get(f"{url_b}/jwks", timeout=5).json()
        assert jwks_a == jwks_b
        info = requests.get(
            f"{url_b}/userinfo",
            timeout=5,
            headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"},
        )
        assert info.status_code == 401  # the reuse revoked the whole family, on every node
