"""The token response's ``scope`` says exactly what was granted (RFC 6749 3.3, 5.1)."""

from __future__ import annotations

from idp.models import Client
from idp.models.client import DEFAULT_SCOPE
from tests.oauth.support import tokens
from tests.oauth.test_registration import as_registered, registered_web


def test_offline_access_dropped_without_the_refresh_grant(live_server, agent):
    """A client without refresh_token asking offline_access gets no refresh token, and the
    granted scope does not list offline_access."""
    client = as_registered(registered_web(live_server, grant_types=["authorization_code"]))
    answer = tokens(live_server, client, agent, scope="openid email offline_access")
    assert "refresh_token" not in answer
    assert answer["scope"].split() == ["openid", "email"]


def test_offline_access_granted_with_the_refresh_grant(live_server, agent):
    """With the refresh_token grant, offline_access is granted and a refresh token comes."""
    client = as_registered(registered_web(live_server))
    answer = tokens(live_server, client, agent, scope="openid offline_access")
    assert answer["refresh_token"]
    assert "offline_access" in answer["scope"].split()


def test_allowed_scope_follows_the_grants() -> None:
    """get_allowed_scope keeps offline_access only for a client holding refresh_token."""
    without = Client(scope=DEFAULT_SCOPE, grant_types=["authorization_code"])
    with_refresh = Client(scope=DEFAULT_SCOPE, grant_types=["authorization_code", "refresh_token"])
    assert without.get_allowed_scope("openid offline_access email") == "openid email"
    assert with_refresh.get_allowed_scope("openid offline_access") == "openid offline_access"
