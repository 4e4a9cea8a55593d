"""User codes (RFC 8628 6.1): their shape, typing them loosely, their uniqueness, guessing them."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import requests
import segno

from idp.extensions import db
from idp.models import LoginEvent
from idp.services import devices
from tests.factories import PASSWORD, make_customer
from tests.live import LiveServer, serve
from tests.oauth.agent import UserAgent
from tests.oauth.test_device_flow import (
    TIMEOUT,
    USER_CODE,
    register_device,
    start,
    type_code,
)

WRONG = "BBBB-BBBB"


def test_user_codes_are_unambiguous_and_distinct(live_server):
    """Eight consonants without look-alikes, shown as XXXX-XXXX, different every time."""
    client = register_device(live_server)
    codes = [start(live_server, client.client_id)["user_code"] for _ in range(20)]
    assert all(USER_CODE.match(code) for code in codes), codes
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize(
    "typed",
    [
        "{code}",
        "{lower}",
        "{plain}",
        "  {lower_plain}  ",
        "{spaced}",
        "{fullwidth}",
    ],
)
def test_typed_code_is_normalized(live_server, agent, customer, typed):
    """Case, dashes, spaces and full-width letters do not matter: the same request is found."""
    client = register_device(live_server)
    code = start(live_server, client.client_id)["user_code"]
    plain = code.replace("-", "")
    variants = {
        "code": code,
        "lower": code.lower(),
        "plain": plain,
        "lower_plain": plain.lower(),
        "spaced": " ".join(plain[i : i + 2] for i in range(0, 8, 2)),
        "fullwidth": "".join(chr(ord(c) + 0xFEE0) for c in plain),
    }
    page = type_code(agent, typed.format(**variants))
    assert page.status_code == 200, page.text
    assert f'<strong id="user-code">{code}</strong>' in page.text


@pytest.mark.parametrize("typed", ["BCDF", "BCDF-GHJK-L", "ABCD-EFGH", "1234-5678", ""])
def test_malformed_code_is_refused_without_lookup(live_server, agent, customer, typed):
    """A code of the wrong shape gets a clear message and is not counted as a guess."""
    response = type_code(agent, typed)
    assert response.status_code == 400
    assert (
        "Enter the 8 letters shown on your device" in response.text
        or "This field is required" in response.text
    )
    with live_server.app.app_context():
        rejected = db.session.execute(
            db.select(LoginEvent).where(LoginEvent.tag == "oauth:user_code:rejected")
        ).all()
    assert rejected == []


def _throttled_server(database_url, tmp_path, mailbox, **limits):
    return serve(database_url, tmp_path / "i", mailbox, **limits)


def _agent(live: LiveServer, email: str) -> UserAgent:
    make_customer(live.app, email=email)
    return UserAgent(live.url, email=email, password=PASSWORD)


def test_wrong_codes_are_throttled_per_customer(database_url, tmp_path, mailbox):
    """After the allowed wrong codes even a right one is refused: 429, Retry-After and a clear
    message, and the attempt is on the customer's record."""
    with _throttled_server(
        database_url, tmp_path, mailbox, USER_CODE_LIMIT_PER_CUSTOMER="3 per 15 minutes"
    ) as live:
        agent = _agent(live, "guesser@example.com")
        client = register_device(live)
        right = start(live, client.client_id)["user_code"]
        for _ in range(3):
            wrong = type_code(agent, WRONG)
            assert wrong.status_code == 400
            assert "This code is not valid or has expired" in wrong.text
        throttled = type_code(agent, right)
        assert throttled.status_code == 429
        assert int(throttled.headers["Retry-After"]) > 0
        assert "Too many wrong codes. Try again in" in throttled.text
        # Another customer on the same address is not affected by this one's limit.
        other = _agent(live, "neighbour@example.com")
        assert type_code(other, right).status_code == 200
        with live.app.app_context():
            reasons = db.session.execute(
                db.select(LoginEvent.reason).where(LoginEvent.tag == "oauth:user_code:rejected")
            ).scalars()
            assert sorted(reasons) == ["throttled", "unknown_code", "unknown_code", "unknown_code"]


def test_wrong_codes_are_throttled_per_address(database_url, tmp_path, mailbox):
    """Wrong codes from one address count together, whichever customer types them."""
    with _throttled_server(
        database_url, tmp_path, mailbox, USER_CODE_LIMIT_PER_IP="2 per 15 minutes"
    ) as live:
        client = register_device(live)
        right = start(live, client.client_id)["user_code"]
        first = _agent(live, "one@example.com")
        assert type_code(first, WRONG).status_code == 400
        second = _agent(live, "two@example.com")
        assert type_code(second, WRONG).status_code == 400
        third = _agent(live, "three@example.com")
        assert type_code(third, right).status_code == 429


def test_a_right_code_does_not_reset_the_count(database_url, tmp_path, mailbox):
    """Typing a right code (anyone can make one on their own device) clears nothing."""
    with _throttled_server(
        database_url, tmp_path, mailbox, USER_CODE_LIMIT_PER_CUSTOMER="2 per 15 minutes"
    ) as live:
        agent = _agent(live, "patient@example.com")
        client = register_device(live)
        assert type_code(agent, WRONG).status_code == 400
        assert type_code(agent, start(live, client.client_id)["user_code"]).status_code == 200
        assert type_code(agent, WRONG).status_code == 400
        assert type_code(agent, start(live, client.client_id)["user_code"]).status_code == 429


def _settings(lifetime: timedelta = timedelta(minutes=10)) -> devices.DeviceSettings:
    return devices.DeviceSettings(lifetime=lifetime, interval=5, user_code_key=b"k" * 32)


def test_user_code_is_unique_among_live_codes(app):
    """A fresh code that a live request holds is drawn again; an expired request gives its
    code up."""
    with app.app_context():
        draws = iter(["BCDFGHJK", "BCDFGHJK", "LMNPQRST", "BCDFGHJK"])
        first = devices.start("tv", "", _settings(timedelta(0)), new_user_code=lambda: next(draws))
        live = devices.start("tv", "", _settings(), new_user_code=lambda: next(draws))
        assert first.user_code == "BCDF-GHJK"
        # The first request expired at once: its code went to the second.
        assert live.user_code == "BCDF-GHJK"
        third = devices.start("tv", "", _settings(), new_user_code=lambda: next(draws))
        assert third.user_code == "LMNP-QRST"
        db.session.commit()
        found = devices.find_pending("BCDFGHJK", _settings())
        assert found is not None and found.id == live.authorization.id


def test_normalize_user_code():
    """Only eight letters of the alphabet survive normalization; anything else is refused."""
    assert devices.normalize_user_code(" bcdf-ghjk ") == "BCDFGHJK"
    assert devices.normalize_user_code("BCDF.GHJK") == "BCDFGHJK"
    for bad in (None, "", "BCDFGHJ", "BCDFGHJKL", "AEIOUBCD", "BCDF-GHJ0", "x" * 100):
        assert devices.normalize_user_code(bad) is None


def test_qr_code_of_the_complete_uri(live_server):
    """GET /device/qr draws verification_uri_complete as SVG, checking the code's shape only."""
    response = requests.get(
        f"{live_server.url}/device/qr", params={"user_code": "bcdf ghjk"}, timeout=TIMEOUT
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    expected = io.BytesIO()
    segno.make(f"{live_server.url}/device?user_code=BCDF-GHJK", error="m").save(
        expected, kind="svg", scale=4, border=4, xmldecl=False, svgns=True, title=None
    )
    assert response.content == expected.getvalue()
    bad = requests.get(
        f"{live_server.url}/device/qr", params={"user_code": "nope"}, timeout=TIMEOUT
    )
    assert bad.status_code == 400
