"""Hostile answers to the passkey ceremonies (WebAuthn JSON calls from static/passkeys.js):
every refusal is a JSON error, never cached, and neither a passkey nor a session appears."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import strategies as hs
from tests.hostile.checks import EVENTS, assert_json, csrf_of, rows_unchanged
from tests.hostile.conftest import FEWER, World
from tests.hostile.forms import browser_for

ROUTES = {
    "/login/passkey/options",
    "/login/passkey",
    "/login/verify/passkey/options",
    "/login/verify/passkey",
    "/account/security/passkeys/register/options",
    "/account/security/passkeys/register",
}
# A refused answer still spends its challenge (a used_link row), so it cannot be replayed, and
# a failed passkey sign-in is on the customer's history: both are refusals' writes.
REFUSAL_WRITES = {EVENTS, "used_link"}
# (options call, answer call, browser state, page holding the CSRF token)
CEREMONIES = [
    ("/login/passkey/options", "/login/passkey", "anonymous", "/login"),
    ("/login/verify/passkey/options", "/login/verify/passkey", "pending_mfa", "/login/verify"),
    ("/login/verify/passkey/options", "/login/verify/passkey", "signed_in", "/login/verify"),
    (
        "/account/security/passkeys/register/options",
        "/account/security/passkeys/register",
        "signed_in",
        "/account/security",
    ),
]


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


client_data = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["webauthn.get", "webauthn.create"]) | hs.values(),
        "challenge": hs.values() | st.binary(max_size=40).map(b64url),
        "origin": st.sampled_from(["http://localhost:5000", "https://evil.example"]) | hs.values(),
    }
).map(lambda d: b64url(json.dumps(d).encode()))
blob = st.one_of(st.binary(max_size=300).map(b64url), hs.values(), client_data, hs.json_documents)
credentials = st.fixed_dictionaries(
    {},
    optional={
        "id": blob,
        "rawId": blob,
        "type": st.just("public-key") | hs.values(),
        "response": st.fixed_dictionaries(
            {},
            optional={
                "clientDataJSON": client_data | blob,
                "authenticatorData": blob,
                "signature": blob,
                "userHandle": blob,
                "attestationObject": blob,
                "transports": st.lists(hs.values(), max_size=3),
            },
        )
        | hs.json_documents,
        "clientExtensionResults": hs.json_documents,
        "authenticatorAttachment": hs.values(),
    },
)
bodies: st.SearchStrategy[Any] = st.one_of(
    st.fixed_dictionaries({"credential": credentials}, optional={"next": hs.values()}),
    st.fixed_dictionaries({"name": hs.values() | hs.json_documents}),
    hs.json_documents,
)


@pytest.mark.parametrize(("options", "answer", "state", "page"), CEREMONIES)
@FEWER
@given(body=bodies, start=st.booleans(), forged=st.integers(0, 9))
def test_ceremony(
    world: World,
    options: str,
    answer: str,
    state: str,
    page: str,
    body: Any,
    start: bool,
    forged: int,
) -> None:
    """Options then a hostile answer, or the answer alone: JSON refusals, nothing stored."""
    browser = browser_for(world, state)
    token = csrf_of(browser.get(page)) or ""
    if forged == 0:  # a forged CSRF token now and then
        token = token[:-2] + "xx"
    headers = {"X-CSRFToken": token}
    with rows_unchanged(world.app, REFUSAL_WRITES):
        if start:
            assert_json(browser.post(options, json=body, headers=headers), oauth=False)
        response = browser.post(answer, json=body, headers=headers)
    body_out = assert_json(response, oauth=False)
    # 413: a generated document can outgrow MAX_CONTENT_LENGTH.
    assert response.status_code in {400, 401, 403, 413}, (response.status_code, body_out)


@FEWER
@given(data=st.data())
def test_wrong_bodies(world: World, data: st.DataObject) -> None:
    """Forms, raw bytes, wrong types and oversized bodies at every call: JSON errors."""
    route = data.draw(st.sampled_from(sorted(ROUTES)))
    body = data.draw(st.one_of(hs.wrong_bodies(["credential", "name", "next"]), hs.huge_bodies()))
    browser = world.signed_in()
    token = csrf_of(browser.get("/account/security")) or ""
    with rows_unchanged(world.app, REFUSAL_WRITES):
        response = browser.post(
            route, data=body.data, content_type=body.content_type, headers={"X-CSRFToken": token}
        )
    assert_json(response, oauth=False)
