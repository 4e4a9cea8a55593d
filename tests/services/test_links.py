"""Signed links: tied to a purpose and to the customer's state, refused when altered, spent once."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeTimedSerializer

from idp.errors import InvalidLink
from idp.extensions import db
from idp.services import customers, links
from idp.services.links import Purpose
from tests.factories import make_customer

DAY = 24 * 3600


@pytest.fixture
def ana(app):
    make_customer(app, email="ana@example.com")
    with app.app_context():
        yield customers.find_by_email("ana@example.com")


def key(app):
    return app.config["SECRET_KEY"]


def test_round_trip(app, ana):
    """A fresh link reads back as its customer and purpose."""
    token = links.make(key(app), ana, Purpose.RESET_PASSWORD)
    claims = links.read(key(app), token, Purpose.RESET_PASSWORD, DAY)
    assert claims.customer.public_id == ana.public_id
    assert claims.purpose is Purpose.RESET_PASSWORD


@pytest.mark.parametrize(
    ("made_for", "used_for"),
    [
        (Purpose.VERIFY_EMAIL, Purpose.RESET_PASSWORD),
        (Purpose.RESET_PASSWORD, Purpose.VERIFY_EMAIL),
    ],
)
def test_purposes_do_not_mix(app, ana, made_for, used_for):
    """A link made for one purpose is refused for the other."""
    token = links.make(key(app), ana, made_for)
    with pytest.raises(InvalidLink):
        links.read(key(app), token, used_for, DAY)


def test_other_secret_refused(app, ana):
    """A link signed with another secret key is refused."""
    token = links.make("another-secret-key-" + "y" * 32, ana, Purpose.RESET_PASSWORD)
    with pytest.raises(InvalidLink):
        links.read(key(app), token, Purpose.RESET_PASSWORD, DAY)


def test_tampered_payload_refused(app, ana):
    """Changing one character of the signed payload invalidates the signature."""
    token = links.make(key(app), ana, Purpose.RESET_PASSWORD)
    position = 10
    swapped = "A" if token[position] != "A" else "B"
    tampered = token[:position] + swapped + token[position + 1 :]
    with pytest.raises(InvalidLink):
        links.read(key(app), tampered, Purpose.RESET_PASSWORD, DAY)


def test_validly_signed_but_malformed_payload_refused(app, ana):
    """A correctly signed payload that is not a link's (a list, missing keys) is refused."""
    for payload in (["c", "n", "b"], {"c": ana.public_id}, {"c": 1, "n": 2, "b": 3}):
        token = URLSafeTimedSerializer(key(app), salt="idp.link.reset-password").dumps(payload)
        with pytest.raises(InvalidLink):
            links.read(key(app), token, Purpose.RESET_PASSWORD, DAY)


def test_overlong_token_refused(app, ana):
    """A token over 1024 characters is refused before any decoding."""
    with pytest.raises(InvalidLink):
        links.read(key(app), "a" * 5000, Purpose.RESET_PASSWORD, DAY)


def test_reset_link_dies_with_password_change(app, ana):
    """A reset link made before the password changed is refused after."""
    token = links.make(key(app), ana, Purpose.RESET_PASSWORD)
    customers.set_password(ana, "a brand new passphrase")
    db.session.commit()
    with pytest.raises(InvalidLink):
        links.read(key(app), token, Purpose.RESET_PASSWORD, DAY)


def test_spent_link_refused(app, ana):
    """Once spent and committed, a link no longer reads."""
    token = links.make(key(app), ana, Purpose.VERIFY_EMAIL)
    links.spend(links.read(key(app), token, Purpose.VERIFY_EMAIL, DAY))
    db.session.commit()
    with pytest.raises(InvalidLink):
        links.read(key(app), token, Purpose.VERIFY_EMAIL, DAY)


def test_second_spend_refused_by_primary_key(app, ana):
    """Two requests that both read a link before either spent it: only the first spend holds."""
    token = links.make(key(app), ana, Purpose.VERIFY_EMAIL)
    late = links.read(key(app), token, Purpose.VERIFY_EMAIL, DAY)
    with app.app_context():  # another request, with its own database session and connection
        links.spend(links.read(key(app), token, Purpose.VERIFY_EMAIL, DAY))
        db.session.commit()
    with pytest.raises(InvalidLink):
        links.spend(late)
