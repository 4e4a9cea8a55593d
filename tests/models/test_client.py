"""The Client model: what Authlib asks it (secrets, redirects, scopes, methods, grant types)."""

from __future__ import annotations

import hashlib
import re

import pytest
import sqlalchemy as sa

from idp.extensions import db
from idp.models import Client
from idp.services import clients

REDIRECT = "https://shop.example.com/callback?tenant=eu"


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def web(**kw):
    kw.setdefault("redirect_uris", [REDIRECT])
    return clients.create(name="Shop", client_type="web", **kw)


def native(*uris):
    client, _ = clients.create(name="App", client_type="native", redirect_uris=list(uris))
    return client


def test_secret_stored_only_as_digest(ctx):
    """The raw secret is in no column; its SHA-256 is, and it checks the secret."""
    client, secret = web()
    db.session.commit()
    assert client.client_secret_digest == hashlib.sha256(secret.encode()).hexdigest()
    row = db.session.execute(sa.text("SELECT * FROM client")).one()
    assert secret not in repr(tuple(row))
    assert client.check_client_secret(secret)
    assert not client.check_client_secret(secret + "x")
    assert not client.check_client_secret(client.client_secret_digest)
    assert not client.check_client_secret(None)


def test_public_client_matches_no_secret(ctx):
    """A public client has no digest, and no string passes as its secret."""
    client = native("com.example.app:/cb")
    assert client.client_secret_digest is None
    assert not client.check_client_secret("")
    assert not client.check_client_secret("anything")


def test_client_ids_are_random(ctx):
    """Client ids are long, URL-safe, distinct and unrelated to the name."""
    ids = {web()[0].client_id for _ in range(5)}
    assert len(ids) == 5
    for client_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", client_id)
        assert "shop" not in client_id.lower()


def test_redirect_exact_match(ctx):
    """Only the registered string matches; near misses are all refused."""
    client, _ = web()
    assert client.check_redirect_uri(REDIRECT)
    for near in [
        "https://shop.example.com/callback/?tenant=eu",  # trailing slash
        "https://shop.example.com/Callback?tenant=eu",  # case of the path
        "https://SHOP.example.com/callback?tenant=eu",  # case of the host
        "HTTPS://shop.example.com/callback?tenant=eu",  # case of the scheme
        "https://shop.example.com/callback?tenant=eu&next=evil",  # extra query
        "https://shop.example.com/callback",  # query dropped
        "https://shop.example.com/callback?tenant=eu/../evil",
        "https://shop.example.com/call",  # prefix
        "https://shop.example.com/callback?tenant=e",  # prefix
        "https://shop.example.com/callback?tenant=eu#frag",  # fragment
        "https://shop.example.com:443/callback?tenant=eu",  # explicit port
        "https://shop.example.com.evil.com/callback?tenant=eu",
        "",
        None,
    ]:
        assert not client.check_redirect_uri(near), near


def test_native_loopback_any_port(ctx):
    """RFC 8252 7.3: a native loopback redirect matches on any port, all else exact."""
    client = native("http://127.0.0.1/cb", "http://[::1]:8000/cb?a=1")
    for good in [
        "http://127.0.0.1/cb",
        "http://127.0.0.1:51234/cb",
        "http://127.0.0.1:65535/cb",
        "http://[::1]:8000/cb?a=1",
        "http://[::1]/cb?a=1",
        "http://[::1]:1/cb?a=1",
    ]:
        assert client.check_redirect_uri(good), good
    for bad in [
        "http://127.0.0.1:5000/cb/",
        "http://127.0.0.1:5000/CB",
        "http://127.0.0.1:5000/cb?x=1",
        "http://127.0.0.1:5000/cb#x",
        "http://127.0.0.1:65536/cb",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:05000/cb",
        "http://127.0.0.1:5000@evil.com/cb",
        "http://127.0.0.1.evil.com/cb",
        "http://127.0.0.2:5000/cb",
        "http://localhost:5000/cb",
        "https://127.0.0.1:5000/cb",
        "http://[::1]:8000/cb",
        "http://127.0.0.1:5000/cb?a=1",
    ]:
        assert not client.check_redirect_uri(bad), bad


def test_web_loopback_port_is_exact(ctx):
    """Only native clients get the any-port exception; a web client's port must match."""
    client, _ = web(redirect_uris=["http://127.0.0.1:5001/cb"])
    assert client.check_redirect_uri("http://127.0.0.1:5001/cb")
    assert not client.check_redirect_uri("http://127.0.0.1:5002/cb")
    assert not client.check_redirect_uri("http://127.0.0.1/cb")


def test_default_redirect_uri_only_when_single(ctx):
    """RFC 6749 3.1.2.3: redirect_uri may be omitted only with one registered URI."""
    one, _ = web()
    two, _ = web(redirect_uris=[REDIRECT, "https://shop.example.com/other"])
    assert one.get_default_redirect_uri() == REDIRECT
    assert two.get_default_redirect_uri() is None


def test_post_logout_redirect_exact(ctx):
    """Post-logout redirects match exactly, like redirect URIs."""
    client, _ = web(post_logout_redirect_uris=["https://shop.example.com/bye"])
    assert client.check_post_logout_redirect_uri("https://shop.example.com/bye")
    assert not client.check_post_logout_redirect_uri("https://shop.example.com/bye/")
    assert client.client_metadata["post_logout_redirect_uris"] == ["https://shop.example.com/bye"]


def test_allowed_scope_filters_and_dedupes(ctx):
    """Only registered scopes come back, in request order, once each."""
    client, _ = web(scope="openid email")
    assert client.get_allowed_scope("email openid phone email admin") == "email openid"
    assert client.get_allowed_scope("") == ""
    assert client.get_allowed_scope(None) == ""


def test_endpoint_auth_method_is_the_registered_one(ctx):
    """Each client authenticates only with its registered method, at every endpoint."""
    confidential, _ = web()
    public = native("com.example.app:/cb")
    for endpoint in ("token", "revocation", "introspection", "device_authorization"):
        assert confidential.check_endpoint_auth_method("client_secret_basic", endpoint)
        assert not confidential.check_endpoint_auth_method("none", endpoint)
        assert not confidential.check_endpoint_auth_method("client_secret_post", endpoint)
        assert public.check_endpoint_auth_method("none", endpoint)
        assert not public.check_endpoint_auth_method("client_secret_basic", endpoint)


def test_grant_and_response_types(ctx):
    """Each type's preset grants and response types are checked, nothing more."""
    shop, _ = web()
    tv, _ = clients.create(name="TV", client_type="device", redirect_uris=[])
    batch, _ = clients.create(name="Batch", client_type="service", redirect_uris=[])
    assert shop.check_grant_type("authorization_code") and shop.check_grant_type("refresh_token")
    assert not shop.check_grant_type("client_credentials")
    assert not shop.check_grant_type("password") and not shop.check_grant_type("implicit")
    assert shop.check_response_type("code")
    assert not shop.check_response_type("token")
    assert not shop.check_response_type("code id_token")
    assert tv.check_grant_type("urn:ietf:params:oauth:grant-type:device_code")
    assert not tv.check_grant_type("authorization_code")
    assert not tv.check_response_type("code")
    assert batch.check_grant_type("client_credentials")
    assert not batch.check_grant_type("refresh_token")
    assert not batch.check_response_type("code")


@pytest.mark.parametrize(
    ("client_type", "public"),
    [("web", False), ("native", True), ("device", True), ("service", False)],
)
def test_public_and_confidential(ctx, client_type, public):
    """Native and device clients are public, web and service clients confidential."""
    uris = {"web": [REDIRECT], "native": ["com.example.app:/cb"]}.get(client_type, [])
    client, secret = clients.create(name="X", client_type=client_type, redirect_uris=uris)
    assert client.is_public is public
    assert client.is_confidential is not public
    assert (secret is None) is public


def test_grants_are_the_clients_own_not_its_types(ctx):
    """check_grant_type and check_response_type read the stored grants, whatever the type."""
    shop, _ = web(grant_types=["authorization_code", "client_credentials"])
    batch, _ = clients.create(
        name="Batch",
        client_type="service",
        redirect_uris=[REDIRECT],
        grant_types=["client_credentials", "authorization_code"],
    )
    for client in (shop, batch):
        assert client.check_grant_type("client_credentials")
        assert client.check_grant_type("authorization_code") and client.check_response_type("code")
        assert not client.check_grant_type("refresh_token")


@pytest.mark.parametrize(
    ("client_type", "method", "public"),
    [
        ("web", "client_secret_basic", False),
        ("web", "none", True),
        ("service", "none", True),
        ("native", "none", True),
        ("device", "client_secret_basic", True),
    ],
)
def test_public_follows_the_auth_method_and_the_type(client_type, method, public):
    """A client is public, so bound to PKCE, if it authenticates with none or has a public
    type, even in a row that breaks the registration policy."""
    client = Client(client_type=client_type, token_endpoint_auth_method=method)
    assert client.is_public is public and client.is_confidential is not public


def test_metadata_uses_rfc7591_names(ctx):
    """client_metadata speaks RFC 7591 / OIDC names and leaves out what is unset."""
    client, _ = web(extra={"logo_uri": "https://shop.example.com/logo.png"})
    meta = client.client_metadata
    assert meta["client_name"] == "Shop"
    assert meta["redirect_uris"] == [REDIRECT]
    assert meta["token_endpoint_auth_method"] == "client_secret_basic"
    assert meta["id_token_signed_response_alg"] == "ES256"
    assert meta["logo_uri"] == "https://shop.example.com/logo.png"
    assert "backchannel_logout_uri" not in meta and "jwks" not in meta
    assert client.client_info["client_id"] == client.client_id
