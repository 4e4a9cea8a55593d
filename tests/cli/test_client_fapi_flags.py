"""Per-client PAR and DPoP requirements: set by ``idp clients`` and by dynamic registration."""

from __future__ import annotations

import json

import pytest
from joserfc.jwk import ECKey

from tests.cli.test_clients_cli import created
from tests.cli_runner import Completed, run_idp
from tests.oauth.test_registration import (
    WEB_METADATA,
    assert_refused,
    manage,
    mint,
    post,
    registered_web,
)


@pytest.fixture
def idp(app, database_url, tmp_path):
    def run(*args: str) -> Completed:
        return run_idp(database_url, tmp_path, *args)

    return run


WEB = ("--name", "Bank", "--type", "web", "--redirect-uri", "https://bank.example/cb")


def test_create_with_both_flags(idp):
    """create --require-par --dpop registers both RFC metadata, shown in --json."""
    out = created(idp, *WEB, "--require-par", "--dpop")
    assert out["require_pushed_authorization_requests"] is True
    assert out["dpop_bound_access_tokens"] is True


def test_flags_default_off_and_update_turns_them_on_and_off(idp):
    """Without flags both are false; update --dpop turns DPoP on, --no-dpop off again."""
    out = created(idp, *WEB)
    assert out["require_pushed_authorization_requests"] is False
    assert out["dpop_bound_access_tokens"] is False
    client_id = out["client_id"]
    on = idp("clients", "update", client_id, "--dpop", "--require-par", "--json")
    assert on.returncode == 0, on.stderr
    assert json.loads(on.stdout)["dpop_bound_access_tokens"] is True
    off = idp("clients", "update", client_id, "--no-dpop", "--json")
    shown = json.loads(off.stdout)
    assert shown["dpop_bound_access_tokens"] is False
    assert shown["require_pushed_authorization_requests"] is True


def test_registration_reads_both_flags_back(live_server):
    """RFC 7591: a client registers both and reads them back (RFC 7592 GET)."""
    body = registered_web(
        live_server, require_pushed_authorization_requests=True, dpop_bound_access_tokens=True
    )
    assert body["require_pushed_authorization_requests"] is True
    read = manage("GET", body).json()
    assert read["dpop_bound_access_tokens"] is True


@pytest.mark.parametrize(
    "name", ["require_pushed_authorization_requests", "dpop_bound_access_tokens"]
)
def test_registration_refuses_a_flag_that_is_not_boolean(live_server, name):
    """A flag given as text is invalid_client_metadata naming the field."""
    response = post(live_server, mint(live_server), {**WEB_METADATA, name: "yes"})
    assert_refused(response, 400, "invalid_client_metadata")
    assert name in response.json()["error_description"]


def test_profile_fapi2_needs_private_key_jwt(idp):
    """--profile fapi2 with a secret is refused naming the auth method; with keys it is kept."""
    refused = idp("clients", "create", *WEB, "--profile", "fapi2")
    assert refused.returncode == 1 and "token_endpoint_auth_method" in refused.stderr
    key = ECKey.generate_key("P-256", parameters={"kid": "k"}).as_dict(private=False)
    out = created(
        idp,
        *WEB,
        "--profile",
        "fapi2",
        "--auth-method",
        "private_key_jwt",
        "--jwks",
        json.dumps({"keys": [key]}),
    )
    assert out["profile"] == "fapi2"
    back = idp("clients", "update", out["client_id"], "--profile", "oidc", "--json")
    assert json.loads(back.stdout)["profile"] is None
