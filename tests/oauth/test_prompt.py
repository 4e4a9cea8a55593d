"""The authorization request's interaction parameters (OIDC Core 3.1.2.1 and 3.1.2.3):
prompt, max_age, id_token_hint, login_hint and ui_locales."""

from __future__ import annotations

import requests

from tests.factories import PASSWORD, make_customer
from tests.oauth.agent import UserAgent
from tests.oauth.support import (
    answer,
    authorize_url,
    exchange,
    forge,
    jwt_parts,
    next_second,
    sign_in,
    sign_in_pages,
    tokens,
)


def _id_token(live_server, client, agent, **params) -> dict:
    return jwt_parts(tokens(live_server, client, agent, **params)["id_token"])[1]


def test_prompt_none_without_session_is_login_required(live_server, web_client):
    """prompt=none and no session: back to the client with login_required, state and iss."""
    url, _ = authorize_url(live_server, web_client, prompt="none", state="xyz")
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(web_client.redirect_uri + "?")
    params = answer(location)
    assert params["error"] == "login_required"
    assert params["state"] == "xyz" and params["iss"] == live_server.url
    assert "code" not in params


def test_prompt_none_without_consent_is_consent_required(live_server, web_client, agent):
    """prompt=none with a session but no consent yet answers consent_required."""
    sign_in(agent)
    url, _ = authorize_url(live_server, web_client, prompt="none")
    params = answer(agent.go(url))
    assert params["error"] == "consent_required" and params["state"] == "st-1"


def test_prompt_none_with_session_and_consent_issues_code(live_server, web_client, agent):
    """prompt=none issues a code at once when the session and consent are there."""
    tokens(live_server, web_client, agent)
    pages = len(agent.pages)
    url, verifier = authorize_url(live_server, web_client, prompt="none")
    callback = agent.go(url, consent=None)
    assert len(agent.pages) == pages  # not a single page shown
    params = answer(callback)
    assert params["state"] == "st-1" and params["iss"] == live_server.url
    assert exchange(live_server, web_client, callback, verifier).status_code == 200


def test_prompt_none_with_another_value_is_invalid(live_server, web_client, agent):
    """prompt=none combined with another value is an invalid_request (Core 3.1.2.1)."""
    tokens(live_server, web_client, agent)
    url, _ = authorize_url(live_server, web_client, prompt="none login")
    params = answer(agent.go(url))
    assert params["error"] == "invalid_request" and params["state"] == "st-1"


def test_prompt_login_signs_in_again(live_server, web_client, agent):
    """prompt=login shows the sign-in page despite a session; auth_time moves forward."""
    first = _id_token(live_server, web_client, agent)
    next_second()
    shown = sign_in_pages(agent)
    second = _id_token(live_server, web_client, agent, prompt="login")
    assert sign_in_pages(agent) == shown + 1
    assert second["auth_time"] > first["auth_time"]
    assert second["sid"] != first["sid"]


def test_prompt_login_needs_a_new_sign_in_not_a_revisit(live_server, web_client, agent):
    """Coming back to a prompt=login request without signing in never yields a code."""
    next_second()  # the session and the request share a second: whole seconds must not hide it
    sign_in(agent)
    url, _ = authorize_url(live_server, web_client, prompt="login")
    for _ in range(2):
        response = agent.session.get(url, allow_redirects=False, timeout=10)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_prompt_consent_asks_again(live_server, web_client, agent):
    """prompt=consent shows the consent page even when consent was given before."""
    tokens(live_server, web_client, agent)
    pages = len(agent.pages)
    url, _ = authorize_url(live_server, web_client, prompt="consent")
    stopped_at = agent.go(url, consent=None)
    assert stopped_at.startswith(live_server.url)  # still on idp, no code yet
    assert len(agent.pages) == pages + 1 and 'value="allow"' in agent.last_page
    # Answering it goes on to a code as usual.
    assert "code" in answer(agent.go(url))


def test_prompt_select_account_shows_chooser(live_server, web_client, agent):
    """prompt=select_account shows the account chooser, then continues as that account."""
    tokens(live_server, web_client, agent)
    url, _ = authorize_url(live_server, web_client, prompt="select_account")
    callback = agent.go(url)
    assert any('value="continue"' in page and 'value="switch"' in page for page in agent.pages)
    assert "code" in answer(callback)


def test_prompt_select_account_switch_signs_in_again(live_server, web_client, agent):
    """Choosing another account on the chooser leads to the sign-in page, then to a code."""
    tokens(live_server, web_client, agent)
    shown = sign_in_pages(agent)
    url, _ = authorize_url(live_server, web_client, prompt="select_account")
    callback = agent.go(url, select="switch")
    assert sign_in_pages(agent) == shown + 1
    assert "code" in answer(callback)


def test_prompt_select_account_with_none_is_refused(live_server, web_client, agent):
    """prompt=none never shows the chooser: it cannot be combined with select_account."""
    tokens(live_server, web_client, agent)
    url, _ = authorize_url(live_server, web_client, prompt="none select_account")
    assert answer(agent.go(url))["error"] == "invalid_request"


def test_max_age_zero_forces_one_sign_in(live_server, web_client, agent):
    """max_age=0 asks for one fresh sign-in (no loop) and the ID token's auth_time is new."""
    first = _id_token(live_server, web_client, agent)
    next_second()
    shown = sign_in_pages(agent)
    second = _id_token(live_server, web_client, agent, max_age="0")
    assert sign_in_pages(agent) == shown + 1
    assert second["auth_time"] > first["auth_time"]


def test_max_age_zero_with_prompt_none_is_login_required(live_server, web_client, agent):
    """max_age=0 cannot be met silently: prompt=none answers login_required."""
    tokens(live_server, web_client, agent)
    url, _ = authorize_url(live_server, web_client, prompt="none", max_age="0")
    assert answer(agent.go(url))["error"] == "login_required"


def test_max_age_large_skips_sign_in(live_server, web_client, agent):
    """A session younger than max_age is used as it is; auth_time is in the ID token."""
    first = _id_token(live_server, web_client, agent)
    shown = sign_in_pages(agent)
    second = _id_token(live_server, web_client, agent, max_age="3600")
    assert sign_in_pages(agent) == shown
    assert second["auth_time"] == first["auth_time"]


def test_invalid_max_age_is_refused(live_server, web_client, agent):
    """A max_age that is not a non-negative number is an invalid_request."""
    for value in ("soon", "-1"):
        url, _ = authorize_url(live_server, web_client, max_age=value)
        assert answer(agent.go(url))["error"] == "invalid_request"


def test_id_token_hint_for_someone_else_forces_sign_in(live_server, web_client, agent):
    """An id_token_hint naming another customer means this session is not theirs."""
    other = make_customer(live_server.app, email="bo@example.com")
    bo = UserAgent(live_server.url, email=other.email, password=PASSWORD)
    hint = tokens(live_server, web_client, bo)["id_token"]
    tokens(live_server, web_client, agent)
    shown = sign_in_pages(agent)

    silent, _ = authorize_url(live_server, web_client, prompt="none", id_token_hint=hint)
    assert answer(agent.go(silent))["error"] == "login_required"
    url, _ = authorize_url(live_server, web_client, id_token_hint=hint)
    agent.go(url)
    assert sign_in_pages(agent) == shown + 1


def test_id_token_hint_for_this_customer_is_silent(live_server, web_client, agent):
    """An id_token_hint naming the signed-in customer lets prompt=none issue a code."""
    hint = tokens(live_server, web_client, agent)["id_token"]
    url, _ = authorize_url(live_server, web_client, prompt="none", id_token_hint=hint)
    assert "code" in answer(agent.go(url))


def test_tampered_id_token_hint_is_invalid_request(live_server, web_client, agent):
    """An id_token_hint whose payload was changed fails its signature: invalid_request."""
    hint = tokens(live_server, web_client, agent)["id_token"]
    _, claims = jwt_parts(hint)
    tampered = forge(hint, claims={**claims, "sub": "someone-else"})
    url, _ = authorize_url(live_server, web_client, id_token_hint=tampered)
    params = answer(agent.go(url))
    assert params["error"] == "invalid_request" and params["state"] == "st-1"


def test_unsigned_id_token_hint_is_invalid_request(live_server, web_client, agent):
    """An alg=none id_token_hint is never trusted."""
    hint = tokens(live_server, web_client, agent)["id_token"]
    header, _ = jwt_parts(hint)
    unsigned = forge(hint, header={**header, "alg": "none"}, signature="")
    url, _ = authorize_url(live_server, web_client, id_token_hint=unsigned)
    assert answer(agent.go(url))["error"] == "invalid_request"


def test_login_hint_fills_in_the_email(live_server, web_client):
    """login_hint is carried to the sign-in page and pre-fills its email field."""
    url, _ = authorize_url(live_server, web_client, login_hint="hint@example.com")
    page = requests.get(url, timeout=10)  # follows the redirect to /login
    assert 'name="password"' in page.text
    assert 'value="hint@example.com"' in page.text


def test_ui_locales_french_sign_in_page(live_server, web_client):
    """ui_locales=fr gives the sign-in page in French."""
    url, _ = authorize_url(live_server, web_client, ui_locales="fr-CA en")
    page = requests.get(url, timeout=10, headers={"Accept-Language": "en"})
    assert 'name="password"' in page.text
    assert '<html lang="fr"' in page.text and "Se connecter" in page.text
