"""The password rules of NIST SP 800-63B: length 8 to 256, no composition rules, no common or
email-like passwords; refusals shown on the field they concern."""

from __future__ import annotations

import re

import pytest

from idp.services import password_policy
from tests.factories import PASSWORD, make_customer
from tests.helpers import login, submit
from tests.views.support import customer_count, password_hash


@pytest.mark.parametrize(
    "password",
    [
        "eight ch",  # exactly the minimum
        "purple monkey dishwasher",  # only lowercase words: no composition rules
        "zzzzzzzzzzzzqqqq",  # no digit, no symbol, no capital
        "défi été 2024 ☃ naïve",  # any Unicode is fine
        "x" * 100 + " " + "y" * 155,  # 256, the longest allowed
    ],
)
def test_acceptable_passwords(password):
    """Long passphrases and passwords without digits, symbols or capitals are accepted."""
    assert password_policy.problems(password, email="ana@example.com") == []


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("seven c", "too_short"),
        ("", "too_short"),
        ("x" * 257, "too_long"),
        ("password1", "too_common"),
        ("iloveyou", "too_common"),
        ("PassWord1", "too_common"),  # the list is checked without regard to case
        ("ana.lopez@example.com", "like_email"),
        ("ANA.LOPEZ@example.com", "like_email"),
        ("ana.lopez", "like_email"),  # the mailbox name alone
    ],
)
def test_refused_passwords(password, problem):
    """Short, over-long, common and email-like passwords are refused with the matching reason."""
    assert problem in password_policy.problems(password, email="ana.lopez@example.com")


def test_common_list_is_shipped():
    """The common-password list ships with the package and is not a stub."""
    common = password_policy.common_passwords()
    assert len(common) > 10_000
    assert {"password1", "iloveyou", "12345678"} <= common


def _field_error(body, field_id):
    """The error paragraph tied to an input, checked through aria-describedby and aria-invalid."""
    tag = re.search(rf'<input[^>]*\bid="{field_id}"[^>]*>', body)
    assert tag, f"no input #{field_id}"
    assert 'aria-invalid="true"' in tag.group(0)
    described = re.search(r'aria-describedby="([^"]+)"', tag.group(0))
    assert described and f"{field_id}-error" in described.group(1).split()
    error = re.search(rf'<p class="error" id="{field_id}-error">(.*?)</p>', body, re.S)
    assert error, f"no error paragraph for #{field_id}"
    return error.group(1).strip()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 8 characters"),
        ("password1", "too common"),
        ("iloveyou", "too common"),
        ("ana@example.com", "must not be your email"),
        ("y" * 257, "at most 256 characters"),
    ],
)
def test_signup_shows_error_on_password_field(app, client, mailbox, password, message):
    """The sign-up page refuses a bad password with a 400 and a message tied to the field."""
    response = submit(client, "/signup", {"email": "ana@example.com", "password": password})
    assert response.status_code == 400
    assert message in _field_error(response.get_data(as_text=True), "password")
    assert customer_count(app) == 0
    assert mailbox.messages == []


def test_signup_accepts_longest_passphrase(app, client, mailbox):
    """A 256-character passphrase of lowercase words creates the account and can sign in."""
    passphrase = ("correct horse battery staple " * 10)[:256]
    response = submit(client, "/signup", {"email": "ana@example.com", "password": passphrase})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert customer_count(app) == 1
    assert login(client, "ana@example.com", passphrase).status_code == 302


def test_change_password_applies_policy(app, client):
    """Changing the password to a common one is refused on the new-password field."""
    make_customer(app, email="ana@example.com")
    login(client, "ana@example.com", PASSWORD)
    before = password_hash(app, "ana@example.com")
    response = submit(
        client, "/account/password", {"current_password": PASSWORD, "password": "password1"}
    )
    assert response.status_code == 400
    assert "too common" in _field_error(response.get_data(as_text=True), "password")
    assert password_hash(app, "ana@example.com") == before
