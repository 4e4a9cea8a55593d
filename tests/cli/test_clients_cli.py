"""``idp clients``: the installed script registers, shows, changes and deletes clients."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from idp.extensions import db
from idp.services import clients
from tests.cli_runner import Completed, run_idp


@pytest.fixture
def idp(app, database_url, tmp_path):
    """The ``idp`` command on the test database (schema made by ``db.create_all``)."""

    def run(*args: str, stdin: str = "") -> Completed:
        return run_idp(database_url, tmp_path, *args, stdin=stdin)

    return run


def created(idp, *args: str) -> dict:
    result = idp("clients", "create", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_create_json_shape(idp, app):
    """create --json prints the id, the secret once and RFC 7591 metadata; only a digest is kept."""
    out = created(
        idp,
        "--name",
        "Webshop",
        "--type",
        "web",
        "--redirect-uri",
        "https://shop.example.com/cb",
        "--redirect-uri",
        "http://127.0.0.1:5001/cb",
        "--post-logout-redirect-uri",
        "https://shop.example.com/bye",
        "--backchannel-logout-uri",
        "https://shop.example.com/bc",
        "--first-party",
        "--id-token-alg",
        "RS256",
    )
    secret = out.pop("client_secret")
    assert out == {
        "client_id": out["client_id"],
        "client_type": "web",
        "first_party": True,
        "require_mfa": False,
        "client_name": "Webshop",
        "redirect_uris": ["https://shop.example.com/cb", "http://127.0.0.1:5001/cb"],
        "post_logout_redirect_uris": ["https://shop.example.com/bye"],
        "backchannel_logout_uri": "https://shop.example.com/bc",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
        "id_token_signed_response_alg": "RS256",
        "scope": "openid profile email phone address offline_access",
        "require_pushed_authorization_requests": False,
        "dpop_bound_access_tokens": False,
        "resources": [],
        "profile": None,
        "created_at": out["created_at"],
    }
    with app.app_context():
        client = clients.get(out["client_id"])
        assert client.client_secret_digest == hashlib.sha256(secret.encode()).hexdigest()
        assert client.check_client_secret(secret)


def test_public_client_has_no_secret(idp):
    """Native and device clients are created without a secret."""
    native = created(
        idp, "--name", "App", "--type", "native", "--redirect-uri", "com.example.app:/callback"
    )
    device = created(idp, "--name", "TV", "--type", "device")
    for out in (native, device):
        assert "client_secret" not in out
        assert out["token_endpoint_auth_method"] == "none"
    assert device["grant_types"] == [
        "urn:ietf:params:oauth:grant-type:device_code",
        "refresh_token",
    ]
    assert device["redirect_uris"] == []


def test_show_and_list_never_print_a_secret(idp):
    """show and list, text or JSON, never print the secret nor its digest."""
    out = created(idp, "--name", "Shop", "--type", "web", "--redirect-uri", "https://s.example/cb")
    secret = out["client_secret"]
    digest = hashlib.sha256(secret.encode()).hexdigest()
    runs = [
        idp("clients", "show", out["client_id"]),
        idp("clients", "show", out["client_id"], "--json"),
        idp("clients", "list"),
        idp("clients", "list", "--json"),
    ]
    for result in runs:
        assert result.returncode == 0, result.stderr
        assert out["client_id"] in result.stdout
        for leaked in (secret, digest):
            assert leaked not in result.stdout + result.stderr
        assert not re.search(r"client_secret(?!_)", result.stdout + result.stderr)
    shown = json.loads(runs[1].stdout)
    assert shown["client_name"] == "Shop" and shown["redirect_uris"] == ["https://s.example/cb"]
    assert [json.loads(line)["client_id"] for line in runs[3].stdout.splitlines()] == [
        out["client_id"]
    ]


def test_create_refuses_bad_input(idp):
    """Bad redirect URIs or types exit non-zero with the reason on stderr, and store nothing."""
    cases = [
        (["--type", "web", "--redirect-uri", "http://shop.example.com/cb"], "https"),
        (["--type", "native", "--redirect-uri", "javascript:alert(1)"], "javascript"),
        (["--type", "web"], "redirect"),
        (["--type", "spa", "--redirect-uri", "https://shop.example.com/cb"], "spa"),
    ]
    for args, word in cases:
        result = idp("clients", "create", "--name", "X", *args)
        assert result.returncode != 0
        assert word in result.stderr, result.stderr
        assert result.stdout == ""
    assert idp("clients", "list").stdout == ""


def test_update_and_rotate(idp, app):
    """update changes redirect URIs and first-party flag; --rotate-secret prints a new secret."""
    out = created(idp, "--name", "Shop", "--type", "web", "--redirect-uri", "https://s.example/a")
    result = idp(
        "clients",
        "update",
        out["client_id"],
        "--add-redirect-uri",
        "https://s.example/b",
        "--remove-redirect-uri",
        "https://s.example/a",
        "--first-party",
        "--rotate-secret",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    updated = json.loads(result.stdout)
    assert updated["redirect_uris"] == ["https://s.example/b"] and updated["first_party"] is True
    with app.app_context():
        client = clients.get(out["client_id"])
        assert client.check_client_secret(updated["client_secret"])
        assert not client.check_client_secret(out["client_secret"])
    bad = idp("clients", "update", out["client_id"], "--add-redirect-uri", "http://s.example/c")
    assert bad.returncode != 0 and "https" in bad.stderr
    missing = idp(
        "clients", "update", out["client_id"], "--remove-redirect-uri", "https://x.example/"
    )
    assert missing.returncode != 0 and "not registered" in missing.stderr
    with app.app_context():
        assert clients.get(out["client_id"]).redirect_uris == ["https://s.example/b"]


def test_delete(idp, app):
    """delete asks first (and keeps the client on no answer); --yes removes it."""
    out = created(idp, "--name", "Shop", "--type", "web", "--redirect-uri", "https://s.example/a")
    kept = idp("clients", "delete", out["client_id"])
    assert kept.returncode != 0
    with app.app_context():
        assert clients.get(out["client_id"]) is not None
    gone = idp("clients", "delete", out["client_id"], "--yes")
    assert gone.returncode == 0, gone.stderr
    with app.app_context():
        db.session.remove()
        assert clients.get(out["client_id"]) is None
    shown = idp("clients", "show", out["client_id"])
    assert shown.returncode == 1 and "no client" in shown.stderr


def test_registration_token(idp, app):
    """registration-token --single-use prints a token that registers exactly once."""
    result = idp("clients", "registration-token", "--single-use", "--expires-in", "600", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["single_use"] is True and out["expires_in"] == 600
    with app.app_context():
        assert clients.consume_registration_token(out["initial_access_token"])
        db.session.commit()
        assert not clients.consume_registration_token(out["initial_access_token"])
    refused = idp("clients", "registration-token", "--expires-in", "0")
    assert refused.returncode != 0


def test_create_and_update_set_grants(idp):
    """--grant (repeatable, short names) sets the grants at creation and replaces them on
    update; show --json and list --json print them, and the response types follow."""
    out = created(
        idp,
        "--name",
        "Shop",
        "--type",
        "web",
        "--redirect-uri",
        "https://s.example/cb",
        "--grant",
        "authorization_code",
        "--grant",
        "refresh_token",
        "--grant",
        "client_credentials",
        "--grant",
        "device_code",
    )
    grants = [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    ]
    assert out["grant_types"] == grants and out["response_types"] == ["code"]
    result = idp(
        "clients",
        "update",
        out["client_id"],
        "--grant",
        "client_credentials",
        "--remove-redirect-uri",
        "https://s.example/cb",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    updated = json.loads(result.stdout)
    assert updated["grant_types"] == ["client_credentials"] and updated["response_types"] == []
    shown = json.loads(idp("clients", "show", out["client_id"], "--json").stdout)
    assert shown["grant_types"] == ["client_credentials"] and shown["client_type"] == "web"
    listed = json.loads(idp("clients", "list", "--json").stdout)
    assert listed["grant_types"] == ["client_credentials"]


def test_grants_outside_policy_are_refused(idp):
    """Unknown grants, client_credentials for a public client or refresh_token alone print
    error: grant_types: ... and exit 1, storing nothing and changing nothing."""
    cases = [
        (["--type", "web", "--redirect-uri", "https://s.example/cb", "--grant", "password"]),
        (
            [
                "--type",
                "native",
                "--redirect-uri",
                "com.example.app:/cb",
                "--grant",
                "client_credentials",
            ]
        ),
        (["--type", "device", "--grant", "refresh_token"]),
    ]
    for args in cases:
        result = idp("clients", "create", "--name", "X", *args)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith("error: grant_types: "), result.stderr
        assert result.stdout == ""
    assert idp("clients", "list").stdout == ""
    app = created(idp, "--name", "App", "--type", "native", "--redirect-uri", "com.example.app:/cb")
    refused = idp("clients", "update", app["client_id"], "--grant", "client_credentials")
    assert refused.returncode == 1 and refused.stderr.startswith("error: grant_types: ")
    shown = json.loads(idp("clients", "show", app["client_id"], "--json").stdout)
    assert shown["grant_types"] == ["authorization_code", "refresh_token"]
