"""The web shop's logout token validation, rule by rule of Back-Channel Logout 1.0 section 2.6."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey

from clients.webshop.logout_token import (
    BACKCHANNEL_EVENT,
    MAX_AGE,
    InvalidLogoutToken,
    UnknownSigningKey,
    validate_logout_token,
)

ISSUER = "http://127.0.0.1:5000"
CLIENT_ID = "demo-shop"
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "k1"})


def claims(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "customer-1",
        "sid": "session-1",
        "iat": NOW,
        "exp": NOW + 120,
        "jti": "jti-1",
        "events": {BACKCHANNEL_EVENT: {}},
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def sign(key: Any, payload: dict[str, Any], **header: Any) -> str:
    header = {"alg": "ES256", "kid": "k1", "typ": "logout+jwt", **header}
    return jwt.encode(header, payload, key, algorithms=[header["alg"]])


def validate(token: str, key: ECKey, now: int = NOW) -> Any:
    return validate_logout_token(
        token, keys=KeySet([key]), issuer=ISSUER, client_id=CLIENT_ID, now=now
    )


def test_valid_token_gives_sid_and_sub(key: ECKey) -> None:
    """A token as idp sends it is accepted and names the session and the customer."""
    result = validate(sign(key, claims()), key)
    assert (result.sid, result.sub, result.jti) == ("session-1", "customer-1", "jti-1")


def test_audience_list_with_our_client_is_accepted(key: ECKey) -> None:
    """aud may be an array (RFC 7519 4.1.3) as long as it holds our client_id."""
    assert validate(sign(key, claims(aud=["other", CLIENT_ID])), key).sid == "session-1"


def test_sub_alone_is_enough(key: ECKey) -> None:
    """Without sid, a sub still identifies whose sessions to end (2.4)."""
    result = validate(sign(key, claims(sid=None)), key)
    assert (result.sid, result.sub) == (None, "customer-1")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"nonce": "n-1"}, "nonce"),
        ({"aud": "another-shop"}, "aud"),
        ({"aud": None}, "aud"),
        ({"iss": "http://127.0.0.1:6666"}, "iss"),
        ({"iat": None}, "iat"),
        ({"iat": NOW + 3600, "exp": NOW + 3700}, "iat"),
        ({"iat": NOW - MAX_AGE - 1}, "too long ago"),
        ({"exp": NOW - 120}, "exp"),
        ({"jti": None}, "jti"),
        ({"events": None}, "events"),
        ({"events": {"http://example.com/other-event": {}}}, "events"),
        ({"events": {BACKCHANNEL_EVENT: "yes"}}, "events"),
        ({"sid": None, "sub": None}, "sub or a sid"),
    ],
)
def test_claims_that_break_a_rule_are_refused(
    key: ECKey, changes: dict[str, Any], reason: str
) -> None:
    """Each 2.6 rule alone refuses the token: nonce, aud, iss, iat, exp, jti, events, sid/sub."""
    with pytest.raises(InvalidLogoutToken, match=reason):
        validate(sign(key, claims(**changes)), key)


def test_bad_signature_is_refused(key: ECKey) -> None:
    """A token signed by another key under the same kid fails the signature check."""
    impostor = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    with pytest.raises(InvalidLogoutToken, match="signed"):
        validate(sign(impostor, claims()), key)


def test_tampered_payload_is_refused(key: ECKey) -> None:
    """Changing one claim after signing breaks the signature."""
    header, _, signature = sign(key, claims()).split(".")
    other_payload = sign(key, claims(sid="session-2")).split(".")[1]
    with pytest.raises(InvalidLogoutToken, match="signed"):
        validate(f"{header}.{other_payload}.{signature}", key)


def test_unsigned_and_hmac_tokens_are_refused(key: ECKey) -> None:
    """alg none and an HMAC with a guessable secret are never accepted."""
    header = "eyJhbGciOiJub25lIiwidHlwIjoibG9nb3V0K2p3dCJ9"  # {"alg":"none","typ":"logout+jwt"}
    payload = sign(key, claims()).split(".")[1]
    with pytest.raises(InvalidLogoutToken):
        validate(f"{header}.{payload}.", key)
    secret = OctKey.import_key("k" * 32, parameters={"kid": "k1"})
    with pytest.raises(InvalidLogoutToken):
        validate(sign(secret, claims(), alg="HS256"), key)


def test_other_token_types_are_refused(key: ECKey) -> None:
    """An ID token (typ JWT) carrying the same claims cannot pass for a logout token (2.4)."""
    with pytest.raises(InvalidLogoutToken, match="typ"):
        validate(sign(key, claims(), typ="JWT"), key)


def test_unknown_kid_asks_for_fresh_keys(key: ECKey) -> None:
    """A kid missing from our copy of the JWKS is told apart, so the shop refetches it once."""
    rotated = ECKey.generate_key("P-256", parameters={"kid": "k2"})
    with pytest.raises(UnknownSigningKey):
        validate(sign(rotated, claims(), kid="k2"), key)


def test_clock_defaults_to_now(key: ECKey) -> None:
    """Without ``now`` the real clock is used: a fresh token passes, one made 10 minutes ago not."""
    now = int(time.time())
    token = sign(key, claims(iat=now, exp=now + 120))
    assert validate_logout_token(token, keys=KeySet([key]), issuer=ISSUER, client_id=CLIENT_ID)
    old = sign(key, claims(iat=now - 600, exp=now + 120))
    with pytest.raises(InvalidLogoutToken):
        validate_logout_token(old, keys=KeySet([key]), issuer=ISSUER, client_id=CLIENT_ID)
