"""Client registration: presets by type, the grant and redirect URI policy, secrets and
registration tokens."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from joserfc.jwk import ECKey

from idp.errors import ValidationError
from idp.extensions import db
from idp.models import Client, InitialAccessToken
from idp.models.types import utcnow
from idp.services import clients

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def refused(field, **kw):
    """Assert ``clients.create(**kw)`` fails on ``field``; return the message."""
    with pytest.raises(ValidationError) as info:
        clients.create(**kw)
    assert field in info.value.errors, info.value.errors
    return str(info.value.errors[field])


def web(*uris, **kw):
    return clients.create(name="Shop", client_type="web", redirect_uris=list(uris), **kw)


def native(*uris, **kw):
    return clients.create(name="App", client_type="native", redirect_uris=list(uris), **kw)


@pytest.mark.parametrize(
    ("client_type", "uris", "grants", "responses", "method"),
    [
        (
            "web",
            ["https://shop.example.com/cb"],
            ["authorization_code", "refresh_token"],
            ["code"],
            "client_secret_basic",
        ),
        (
            "native",
            ["com.example.app:/cb"],
            ["authorization_code", "refresh_token"],
            ["code"],
            "none",
        ),
        ("device", [], [DEVICE_CODE, "refresh_token"], [], "none"),
        ("service", [], ["client_credentials"], [], "client_secret_basic"),
    ],
)
def test_defaults_by_type(ctx, client_type, uris, grants, responses, method):
    """Each client type gets its grants, response types and authentication method."""
    client, secret = clients.create(name="X", client_type=client_type, redirect_uris=uris)
    db.session.commit()
    assert client.grant_types == grants
    assert client.response_types == responses
    assert client.token_endpoint_auth_method == method
    assert client.scope == "openid profile email phone address offline_access"
    assert client.id_token_signed_response_alg == "ES256"
    assert (secret is not None) is (method != "none")


def test_secret_returned_once_and_stored_as_digest(ctx):
    """create returns the raw secret; the database holds only its SHA-256, found by it."""
    client, secret = web("https://shop.example.com/cb")
    db.session.commit()
    assert len(secret) >= 43
    digest = hashlib.sha256(secret.encode()).hexdigest()
    stored = db.session.execute(sa.text("SELECT client_secret_digest FROM client")).scalar_one()
    assert stored == digest
    dump = repr(db.session.execute(sa.text("SELECT * FROM client")).all())
    assert secret not in dump
    assert clients.get(client.client_id).check_client_secret(secret)


def test_unknown_type_refused(ctx):
    """Only the four client types exist."""
    refused("client_type", name="X", client_type="spa", redirect_uris=["https://a.example/cb"])


def test_redirect_uris_required_or_refused_by_type(ctx):
    """Web and native clients need a redirect URI; device and service clients take none."""
    refused("redirect_uris", name="X", client_type="web", redirect_uris=[])
    refused("redirect_uris", name="X", client_type="native", redirect_uris=[])
    for kind in ("device", "service"):
        refused("redirect_uris", name="X", client_type=kind, redirect_uris=["https://a.example/cb"])
        refused(
            "post_logout_redirect_uris",
            name="X",
            client_type=kind,
            redirect_uris=[],
            post_logout_redirect_uris=["https://a.example/bye"],
        )


def test_https_required_for_web(ctx):
    """A web client's redirect must be https, except on a loopback IP literal."""
    message = refused(
        "redirect_uris", name="S", client_type="web", redirect_uris=["http://shop.example.com/cb"]
    )
    assert "https" in message
    for ok in ("https://shop.example.com/cb", "http://127.0.0.1:5001/cb", "http://[::1]:5001/cb"):
        assert clients.validate_redirect_uri(ok, "web") == ok


def test_localhost_refused_for_ip_literal(ctx):
    """RFC 8252 8.3: http://localhost is refused for every type, pointing at 127.0.0.1."""
    for kind in ("web", "native"):
        with pytest.raises(ValidationError) as info:
            clients.validate_redirect_uri("http://localhost:8000/cb", kind)
        assert "127.0.0.1" in info.value.errors["redirect_uris"]


def test_private_use_scheme_only_for_native(ctx):
    """Reverse-DNS private schemes are for native apps; single-word ones for nobody."""
    assert clients.validate_redirect_uri("com.example.app:/callback", "native")
    refused("redirect_uris", name="S", client_type="web", redirect_uris=["com.example.app:/cb"])
    for bad in ("myapp:/callback", "com.example.app:callback", "Com.Example.App:/cb"):
        with pytest.raises(ValidationError):
            clients.validate_redirect_uri(bad, "native")


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "javascript://example.com/%0aalert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "blob:https://shop.example.com/x",
    ],
)
@pytest.mark.parametrize("client_type", ["web", "native"])
def test_script_and_local_schemes_refused(ctx, uri, client_type):
    """javascript:, data: and other schemes a browser would run or read locally are refused."""
    with pytest.raises(ValidationError):
        clients.validate_redirect_uri(uri, client_type)


@pytest.mark.parametrize(
    "uri",
    [
        "https://shop.example.com/cb#frag",
        "https://shop.example.com/cb#",
        "https://*.example.com/cb",
        "https://shop.example.com/*",
        "/callback",
        "shop.example.com/callback",
        "https:///cb",
        "https:/shop.example.com/cb",
        "https://user:pw@shop.example.com/cb",
        "https://evil.com\\@shop.example.com/cb",
        "https://shop.example.com/c b",
        "https://shop.example.com/cb\n",
        "https://shöp.example.com/cb",
        "https://shop.example.com:99999/cb",
        "http://127.0.0.1.evil.com/cb",
        "https://" + "a" * 2000 + ".example.com/",
    ],
)
def test_malformed_redirect_uris_refused(ctx, uri):
    """Fragments, wildcards, relative URIs, credentials and odd characters are refused."""
    with pytest.raises(ValidationError):
        clients.validate_redirect_uri(uri, "native")


def test_post_logout_uris_follow_the_same_rules(ctx):
    """Post-logout redirect URIs are checked like redirect URIs, under their own field."""
    refused(
        "post_logout_redirect_uris",
        name="S",
        client_type="web",
        redirect_uris=["https://shop.example.com/cb"],
        post_logout_redirect_uris=["http://shop.example.com/bye"],
    )
    client, _ = native("com.example.app:/cb", post_logout_redirect_uris=["com.example.app:/bye"])
    assert client.post_logout_redirect_uris == ["com.example.app:/bye"]


def test_backchannel_logout_uri(ctx):
    """Back-channel logout URIs are https (or loopback http) without fragment."""
    base = {"name": "S", "client_type": "web", "redirect_uris": ["https://shop.example.com/cb"]}
    for bad in (
        "http://shop.example.com/bc",
        "https://shop.example.com/bc#x",
        "/bc",
        "javascript:alert(1)",
    ):
        refused("backchannel_logout_uri", backchannel_logout_uri=bad, **base)
    client, _ = clients.create(backchannel_logout_uri="https://shop.example.com/bc?x=1", **base)
    assert client.backchannel_logout_uri == "https://shop.example.com/bc?x=1"
    refused(
        "backchannel_logout_uri",
        name="B",
        client_type="service",
        redirect_uris=[],
        backchannel_logout_uri="https://batch.example.com/bc",
    )


def test_auth_method_matches_type(ctx):
    """Public clients authenticate with none only; confidential ones never with none."""
    refused(
        "token_endpoint_auth_method",
        name="A",
        client_type="native",
        redirect_uris=["com.example.app:/cb"],
        token_endpoint_auth_method="client_secret_basic",
    )
    refused(
        "token_endpoint_auth_method",
        name="S",
        client_type="web",
        redirect_uris=["https://shop.example.com/cb"],
        token_endpoint_auth_method="none",
    )
    client, secret = web(
        "https://shop.example.com/cb", token_endpoint_auth_method="client_secret_post"
    )
    assert client.token_endpoint_auth_method == "client_secret_post" and secret


def test_private_key_jwt_needs_public_keys(ctx):
    """private_key_jwt needs a public JWK Set (or jwks_uri) and issues no secret."""
    key = ECKey.generate_key("P-256")
    base = {
        "name": "S",
        "client_type": "web",
        "redirect_uris": ["https://shop.example.com/cb"],
        "token_endpoint_auth_method": "private_key_jwt",
    }
    refused("jwks", **base)
    refused("jwks", jwks={"keys": [key.as_dict(private=True)]}, **base)
    refused("jwks", jwks={"keys": [{"kty": "EC", "crv": "P-256", "x": "bad"}]}, **base)
    refused(
        "jwks",
        jwks={"keys": [key.as_dict(private=False)]},
        jwks_uri="https://shop.example.com/jwks",
        **base,
    )
    refused("jwks_uri", jwks_uri="http://shop.example.com/jwks", **base)
    client, secret = clients.create(jwks={"keys": [key.as_dict(private=False)]}, **base)
    assert secret is None and client.client_secret_digest is None
    assert client.check_endpoint_auth_method("private_key_jwt", "token")


def test_id_token_alg_and_scope(ctx):
    """Only ES256 and RS256 sign ID tokens; scope names must be RFC 6749 scope tokens."""
    refused(
        "id_token_signed_response_alg",
        name="S",
        client_type="web",
        redirect_uris=["https://shop.example.com/cb"],
        id_token_signed_response_alg="HS256",
    )
    refused(
        "scope",
        name="S",
        client_type="web",
        redirect_uris=["https://shop.example.com/cb"],
        scope='openid "quoted"',
    )
    client, _ = web(
        "https://shop.example.com/cb",
        id_token_signed_response_alg="RS256",
        scope="openid email openid",
    )
    assert client.id_token_signed_response_alg == "RS256" and client.scope == "openid email"


def test_software_metadata(ctx):
    """Extra metadata is kept under RFC 7591 names; unknown keys and non-https URIs refused."""
    base = {"name": "S", "client_type": "web", "redirect_uris": ["https://shop.example.com/cb"]}
    refused("extra", extra={"is_admin": True}, **base)
    refused("logo_uri", extra={"logo_uri": "javascript:alert(1)"}, **base)
    refused("client_uri", extra={"client_uri": "http://shop.example.com"}, **base)
    refused("contacts", extra={"contacts": ["not an email"]}, **base)
    client, _ = clients.create(
        extra={"client_uri": "https://shop.example.com", "contacts": ["ops@example.com"]}, **base
    )
    assert client.software == {
        "client_uri": "https://shop.example.com",
        "contacts": ["ops@example.com"],
    }


def test_localized_metadata(ctx):
    """RFC 7591 2.2 per-language names and URIs are kept, checked like the plain ones."""
    base = {"name": "S", "client_type": "web", "redirect_uris": ["https://shop.example.com/cb"]}
    refused("logo_uri#fr", extra={"logo_uri#fr": "http://shop.example.com/logo.png"}, **base)
    refused("extra", extra={"client_name#": "Boutique"}, **base)
    refused("extra", extra={"contacts#fr": ["ops@example.com"]}, **base)
    client, _ = clients.create(extra={"client_name#fr-FR": "Boutique"}, **base)
    clients.update(client, name="Shop 2")
    assert client.client_metadata["client_name#fr-FR"] == "Boutique"
    assert client.client_metadata["client_name"] == "Shop 2"


def test_name_required(ctx):
    """A client needs a visible name."""
    refused(
        "client_name", name="  ", client_type="web", redirect_uris=["https://shop.example.com/cb"]
    )


def test_rotate_secret(ctx):
    """A rotated secret replaces the old one at once; public clients have none to rotate."""
    client, old = web("https://shop.example.com/cb")
    new = clients.rotate_secret(client)
    db.session.commit()
    assert new != old
    assert client.check_client_secret(new) and not client.check_client_secret(old)
    app_client, _ = native("com.example.app:/cb")
    with pytest.raises(ValidationError):
        clients.rotate_secret(app_client)


def test_update_validates_whole_client(ctx):
    """update applies valid changes and refuses bad ones without touching the client."""
    client, _ = web("https://shop.example.com/cb")
    db.session.commit()
    clients.update(
        client,
        name="New shop",
        redirect_uris=["https://shop.example.com/cb", "https://shop.example.com/b"],
    )
    db.session.commit()
    assert client.name == "New shop" and client.check_redirect_uri("https://shop.example.com/b")
    for bad in (
        {"redirect_uris": ["http://shop.example.com/cb"]},
        {"redirect_uris": []},
        {"client_type": "native"},
        {"client_secret_digest": "x"},
        {"grant_types": ["refresh_token"]},
        {"grant_types": ["client_credentials"]},
    ):
        with pytest.raises(ValidationError):
            clients.update(client, **bad)
    db.session.expire_all()
    assert client.redirect_uris == ["https://shop.example.com/cb", "https://shop.example.com/b"]
    assert client.client_type == "web" and client.client_secret_digest
    assert client.grant_types == ["authorization_code", "refresh_token"]


def test_update_to_private_key_jwt_drops_secret(ctx):
    """Moving to private_key_jwt removes the secret; moving back needs a new one first."""
    client, secret = web("https://shop.example.com/cb")
    key = ECKey.generate_key("P-256").as_dict(private=False)
    clients.update(client, token_endpoint_auth_method="private_key_jwt", jwks={"keys": [key]})
    assert client.client_secret_digest is None and not client.check_client_secret(secret)
    with pytest.raises(ValidationError):
        clients.update(client, token_endpoint_auth_method="client_secret_basic")
    new = clients.rotate_secret(client)
    clients.update(client, token_endpoint_auth_method="client_secret_basic")
    assert client.check_client_secret(new)


def test_get_list_delete(ctx):
    """get finds by client_id (and only a real one); delete removes the client."""
    first, _ = web("https://shop.example.com/cb")
    second, _ = native("com.example.app:/cb")
    db.session.commit()
    assert [c.client_id for c in clients.list_clients()] == [first.client_id, second.client_id]
    assert clients.get(first.client_id) is first
    for missing in ("nope", "", None, "x" * 500):
        assert clients.get(missing) is None
    clients.delete(first)
    db.session.commit()
    assert clients.get(first.client_id) is None
    assert db.session.execute(sa.select(sa.func.count()).select_from(Client)).scalar() == 1


# Initial access tokens ------------------------------------------------------------------------


def test_registration_token_stored_as_digest(ctx):
    """The minted token is returned raw once; only its SHA-256 is stored."""
    raw = clients.mint_registration_token(single_use=True, expires_in=None)
    db.session.commit()
    row = db.session.execute(sa.select(InitialAccessToken)).scalar_one()
    assert row.token_digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in repr(db.session.execute(sa.text("SELECT * FROM initial_access_token")).all())


def test_single_use_token_works_once(ctx):
    """A single-use token is accepted once, then refused; a reusable one keeps working."""
    once = clients.mint_registration_token(single_use=True, expires_in=3600)
    many = clients.mint_registration_token(single_use=False, expires_in=None)
    db.session.commit()
    assert clients.consume_registration_token(once)
    db.session.commit()
    assert not clients.consume_registration_token(once)
    for _ in range(3):
        assert clients.consume_registration_token(many)
        db.session.commit()


def test_unknown_and_expired_tokens_refused(ctx):
    """Unknown, empty and expired tokens are refused."""
    raw = clients.mint_registration_token(single_use=False, expires_in=60)
    db.session.commit()
    db.session.execute(
        sa.update(InitialAccessToken).values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert not clients.consume_registration_token(raw)
    assert not clients.consume_registration_token("unknown")
    assert not clients.consume_registration_token("")
    assert not clients.consume_registration_token(None)
    with pytest.raises(ValidationError):
        clients.mint_registration_token(single_use=True, expires_in=0)


def test_token_kept_when_registration_rolls_back(ctx):
    """Consuming in a transaction that rolls back leaves a single-use token unused."""
    raw = clients.mint_registration_token(single_use=True, expires_in=None)
    db.session.commit()
    assert clients.consume_registration_token(raw)
    db.session.rollback()
    assert clients.consume_registration_token(raw)


def test_concurrent_consumers_only_one_wins(app):
    """Two requests racing on one single-use token: exactly one registers.

    The first holds its transaction open while the second tries, so a check-then-write
    implementation would let both through.
    """
    with app.app_context():
        raw = clients.mint_registration_token(single_use=True, expires_in=None)
        db.session.commit()
    first_consumed, second_started = threading.Event(), threading.Event()
    results: dict[str, bool] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with app.app_context():
                results["first"] = clients.consume_registration_token(raw)
                first_consumed.set()
                second_started.wait(10)
                time.sleep(0.5)  # the second is now blocked on our row (or database) lock
                db.session.commit()
        except BaseException as exc:
            errors.append(exc)
            first_consumed.set()

    def second() -> None:
        try:
            first_consumed.wait(10)
            with app.app_context():
                second_started.set()
                results["second"] = clients.consume_registration_token(raw)
                db.session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert results == {"first": True, "second": False}
