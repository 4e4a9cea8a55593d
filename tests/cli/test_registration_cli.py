"""``idp clients registration-token``: the token an operator mints registers a client over HTTP."""

from __future__ import annotations

import json

import requests

from tests.cli_runner import run_idp
from tests.oauth.conftest import WEB_REDIRECT


def test_single_use_token_registers_once(live_server, database_url, tmp_path):
    """registration-token --single-use --json prints a token that POST /register accepts once."""
    result = run_idp(
        database_url, tmp_path, "clients", "registration-token", "--single-use", "--json"
    )
    assert result.returncode == 0, result.stderr
    token = json.loads(result.stdout)["initial_access_token"]

    def register() -> requests.Response:
        return requests.post(
            f"{live_server.url}/register",
            timeout=10,
            headers={"Authorization": f"Bearer {token}"},
            json={"client_name": "Shop", "redirect_uris": [WEB_REDIRECT]},
        )

    first = register()
    assert first.status_code == 201, first.text
    assert first.json()["redirect_uris"] == [WEB_REDIRECT]
    second = register()
    assert second.status_code == 401 and second.json()["error"] == "invalid_token"
