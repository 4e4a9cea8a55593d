"""The grant policy: a client holds a set of grants within it; its type is only the preset."""

from __future__ import annotations

import pytest

from idp.errors import ValidationError
from idp.extensions import db
from idp.services import clients

CODE = "authorization_code"
REFRESH = "refresh_token"
CC = "client_credentials"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
WEB_URI = "https://shop.example.com/cb"
APP_URI = "com.example.app:/cb"


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def make(client_type: str, grants: object, uris: tuple[str, ...] = (), **kw: object):
    return clients.create(
        name="X",
        client_type=client_type,
        redirect_uris=list(uris),
        grant_types=grants,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def refused(field: str, client_type: str, grants: object, uris=(), **kw: object) -> str:
    """Assert the client cannot be created, the error naming ``field``; return the message."""
    with pytest.raises(ValidationError) as info:
        make(client_type, grants, uris, **kw)
    assert list(info.value.errors) == [field], info.value.errors
    return info.value.errors[field]


@pytest.mark.parametrize(
    ("client_type", "grants", "uris"),
    [
        ("web", [CODE, REFRESH, CC], (WEB_URI,)),
        ("web", [CODE, REFRESH, CC, DEVICE_CODE], (WEB_URI,)),
        ("web", [CC], ()),
        ("web", [DEVICE_CODE, REFRESH], ()),
        ("service", [CC, DEVICE_CODE, REFRESH], ()),
        ("service", [CODE, CC], (WEB_URI,)),
        ("native", [CODE, REFRESH, DEVICE_CODE], (APP_URI,)),
        ("device", [DEVICE_CODE], ()),
        ("device", [DEVICE_CODE, REFRESH, CODE], (APP_URI,)),
    ],
)
def test_combinations_within_policy(ctx, client_type, grants, uris):
    """Confidential clients combine any grants, public ones any but client_credentials; the
    client then holds exactly those grants, and code only with authorization_code."""
    client, secret = make(client_type, grants, uris)
    db.session.commit()
    assert client.grant_types == grants
    assert client.response_types == (["code"] if CODE in grants else [])
    assert (secret is None) is (client_type in ("native", "device"))
    for grant in clients.GRANT_TYPES:
        assert client.check_grant_type(grant) is (grant in grants), grant
    assert client.check_response_type("code") is (CODE in grants)


@pytest.mark.parametrize(
    ("client_type", "grants", "uris", "field", "word"),
    [
        ("web", [], (), "grant_types", "at least one"),
        ("web", ["password"], (WEB_URI,), "grant_types", "password"),
        ("web", [CODE, "implicit"], (WEB_URI,), "grant_types", "implicit"),
        ("web", "authorization_code", (WEB_URI,), "grant_types", "list"),
        ("web", [CODE, None], (WEB_URI,), "grant_types", "names"),
        ("web", [REFRESH], (), "grant_types", "refresh_token"),
        ("service", [CC, REFRESH], (), "grant_types", "refresh_token"),
        ("native", [CODE, CC], (APP_URI,), "grant_types", "client_credentials"),
        ("native", [CC], (), "grant_types", "client_credentials"),
        ("device", [DEVICE_CODE, CC], (), "grant_types", "client_credentials"),
        ("web", [CODE, REFRESH], (), "redirect_uris", "required"),
        ("service", [CC], (WEB_URI,), "redirect_uris", "authorization_code"),
        ("web", [DEVICE_CODE, REFRESH], (WEB_URI,), "redirect_uris", "authorization_code"),
    ],
)
def test_combinations_outside_policy(ctx, client_type, grants, uris, field, word):
    """Empty, unknown or unfounded grants, client_credentials for a public client, and
    redirect URIs that do not go with the code grant are refused, naming the field."""
    assert word in refused(field, client_type, grants, uris)


def test_unknown_grant_is_refused_even_on_a_confidential_client(ctx):
    """The device grant must be named by its URN; the short name is only the CLI's."""
    assert "device_code" in refused("grant_types", "service", ["device_code"])


def test_response_types_must_be_those_of_the_grants(ctx):
    """response_types, when given, must be [code] with authorization_code and [] without it."""
    refused("response_types", "web", [CODE], (WEB_URI,), response_types=[])
    refused("response_types", "web", [CODE], (WEB_URI,), response_types=["token"])
    refused("response_types", "web", [CODE], (WEB_URI,), response_types=["code", "token"])
    refused("response_types", "service", [CC], response_types=["code"])
    client, _ = make("web", [CODE, CC], (WEB_URI,), response_types=["code"])
    assert client.response_types == ["code"]


def test_logout_uris_need_a_grant_that_signs_customers_in(ctx):
    """Post-logout redirects need authorization_code; back-channel logout a customer grant."""
    refused("post_logout_redirect_uris", "web", [CC], post_logout_redirect_uris=[WEB_URI])
    refused("backchannel_logout_uri", "web", [CC], backchannel_logout_uri=WEB_URI)
    tv, _ = make("web", [DEVICE_CODE], backchannel_logout_uri="https://tv.example.com/bc")
    assert tv.backchannel_logout_uri == "https://tv.example.com/bc"


def test_presets_when_no_grant_is_given(ctx):
    """Without grant_types, each type gets its preset; with them, the type's preset is unused."""
    shop, _ = clients.create(name="S", client_type="web", redirect_uris=[WEB_URI])
    batch, _ = clients.create(name="B", client_type="service", redirect_uris=[])
    assert shop.grant_types == [CODE, REFRESH] and batch.grant_types == [CC]
    both, _ = make("service", [CC, CC, DEVICE_CODE])
    assert both.grant_types == [CC, DEVICE_CODE]


def test_update_sets_grants_and_their_response_types(ctx):
    """update replaces the grant set and the response types follow it; a change that leaves
    the client outside the policy changes nothing."""
    client, _ = clients.create(name="S", client_type="web", redirect_uris=[WEB_URI])
    db.session.commit()
    clients.update(client, grant_types=[CODE, REFRESH, CC])
    db.session.commit()
    assert client.check_grant_type(CC) and client.response_types == ["code"]
    with pytest.raises(ValidationError) as info:
        clients.update(client, grant_types=[CC])
    assert list(info.value.errors) == ["redirect_uris"]
    db.session.rollback()
    assert client.grant_types == [CODE, REFRESH, CC]
    clients.update(client, grant_types=[CC], redirect_uris=[], post_logout_redirect_uris=[])
    db.session.commit()
    assert client.grant_types == [CC] and client.response_types == []
    assert not client.check_response_type("code") and client.client_type == "web"


def test_public_client_never_gets_client_credentials_by_update(ctx):
    """A native client stays public: adding client_credentials is refused."""
    client, _ = clients.create(name="A", client_type="native", redirect_uris=[APP_URI])
    db.session.commit()
    with pytest.raises(ValidationError) as info:
        clients.update(client, grant_types=[CODE, REFRESH, CC])
    assert list(info.value.errors) == ["grant_types"]


def test_redirect_rules_follow_public_or_confidential(ctx):
    """A public client with the code grant may use private-use schemes and any loopback port
    (RFC 8252 7); a confidential one with it may not, whatever its preset."""
    tv, _ = make("device", [DEVICE_CODE, CODE], (APP_URI, "http://127.0.0.1/cb"))
    assert tv.is_public and tv.check_redirect_uri("http://127.0.0.1:50123/cb")
    refused("redirect_uris", "service", [CC, CODE], (APP_URI,))
    batch, _ = make("service", [CC, CODE], ("http://127.0.0.1/cb",))
    assert not batch.is_public and not batch.check_redirect_uri("http://127.0.0.1:50123/cb")
