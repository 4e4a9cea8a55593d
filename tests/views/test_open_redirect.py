"""``next`` only ever sends the browser to a path on this server (ASVS 5.1.5)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

import pytest

from idp.views.redirects import safe_next
from tests.factories import PASSWORD, make_customer
from tests.helpers import submit

HOSTILE = [
    "https://evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",  # what /%09/evil.example decodes to; browsers drop the tab
    "/\n/evil.example",
    " /x",  # browsers strip leading spaces, so " //x" would leave the site
    " //evil.example",
    "http:evil.example",
    "https:/evil.example",
    "\\/evil.example",
]


@pytest.fixture
def ana(app):
    return make_customer(app, email="ana@example.com")


@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_next_goes_to_account(app, client, ana, target):
    """Signing in with a hostile ``next`` lands on /account, never elsewhere."""
    response = submit(
        client, "/login", {"email": "ana@example.com", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


def test_hostile_next_not_echoed_in_form(client):
    """A hostile ``next`` in the sign-in URL is not carried into the form."""
    for target in HOSTILE:
        page = client.get("/login?next=" + quote(target, safe="")).get_data(as_text=True)
        carried = re.search(r'name="next" type="hidden" value="([^"]*)"', page)
        assert carried and unescape(carried.group(1)) == "/account", target


def test_percent_09_in_query_refused(client):
    """The literal query ``?next=/%09/evil.example`` is decoded to a tab and refused."""
    page = client.get("/login?next=/%09/evil.example").get_data(as_text=True)
    assert 'name="next" type="hidden" value="/account"' in page


@pytest.mark.parametrize("target", ["/account/password?x=1", "/account", "/account/password"])
def test_local_next_kept(app, client, ana, target):
    """A local path, query string included, is where the browser goes after sign-in."""
    response = submit(
        client, "/login", {"email": "ana@example.com", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == target


def test_login_required_round_trip(app, client, ana):
    """A signed-out visit to a page comes back to that page, query included, after sign-in."""
    bounced = client.get("/account/password?x=1")
    assert bounced.status_code == 302
    login_url = bounced.headers["Location"]
    page = client.get(login_url).get_data(as_text=True)
    carried = re.search(r'name="next" type="hidden" value="([^"]*)"', page)
    assert carried and unescape(carried.group(1)) == "/account/password?x=1"
    response = submit(
        client,
        "/login",
        {"email": "ana@example.com", "password": PASSWORD, "next": unescape(carried.group(1))},
    )
    assert response.headers["Location"] == "/account/password?x=1"


@pytest.mark.parametrize("target", [*HOSTILE, None, ""])
def test_safe_next_refuses(target):
    """``safe_next`` turns every hostile or empty value into the default."""
    assert safe_next(target) == "/account"
