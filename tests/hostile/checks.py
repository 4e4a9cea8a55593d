"""The properties every hostile request must keep, as assertions shared by the test modules.

Never a 5xx; always the endpoint's own error format (an OAuth JSON error, an HTML page); never a
marker echoed unescaped; never a redirect off the server but to a registered URI; and, for a
refused request, never a changed row.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.test import TestResponse

from idp.extensions import db

# Every marker the strategies make starts so; no page may ever hold it raw, whichever example
# (this one, or an earlier one whose value was stored) put it there.
MARKER = "<svg id=hx"
# The CSRF field as WTForms writes it and as the consent page writes it by hand.
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# RFC 6749 5.2: error and error_description are printable ASCII without '"' and '\'.
ERROR_TEXT = re.compile(r"^[\x20\x21\x23-\x5b\x5d-\x7e]*$")
# Written by every request of a signed-in browser, at most once a minute (sessions.TOUCH_INTERVAL):
# a page view, not a change the request made.
TOUCHED = {"browser_session": {"last_seen_at", "expires_at"}, "admin_session": {"last_seen_at"}}
# The audit log: refusals of credentials and codes are recorded on purpose (a failed sign-in,
# a rejected device code), so tests that send those name this table as allowed to grow.
EVENTS = "login_event"
# The staff audit log: a refused staff sign-in or code is written there on purpose.
AUDIT = "audit_entry"


def assert_not_5xx(response: TestResponse) -> None:
    assert response.status_code < 500, (response.status_code, response.get_data()[:500])


def _no_injection_in_headers(response: TestResponse) -> None:
    for name, value in response.headers.items():
        assert "\r" not in value and "\n" not in value, (name, value)


def assert_html(response: TestResponse) -> str:
    """A page, not a crash: text/html, and no marker unescaped in it."""
    assert_not_5xx(response)
    _no_injection_in_headers(response)
    assert response.mimetype == "text/html", (response.status_code, response.mimetype)
    body = response.get_data(as_text=True)
    assert MARKER not in body, body[max(0, body.find(MARKER) - 200) : body.find(MARKER) + 200]
    return body


def assert_json(response: TestResponse, *, oauth: bool = True) -> Any:
    """A JSON answer that is never cached; an error one carries an ``error`` code, in the
    character set of RFC 6749 5.2 at the OAuth endpoints (``oauth``)."""
    assert_not_5xx(response)
    _no_injection_in_headers(response)
    assert response.mimetype == "application/json", (response.status_code, response.get_data())
    assert "no-store" in response.headers.get("Cache-Control", ""), response.headers
    body = json.loads(response.get_data(as_text=True)) if response.get_data() else {}
    if response.status_code >= 400 and body:
        assert isinstance(body, dict), body
        assert isinstance(body.get("error"), str) and body["error"], body
        description = body.get("error_description")
        assert description is None or isinstance(description, str), body
        if oauth:
            assert ERROR_TEXT.match(body["error"]), body
            assert description is None or ERROR_TEXT.match(description), body
    return body


def assert_oauth_error(response: TestResponse, *statuses: int) -> dict[str, Any]:
    """A refusal in the RFC 6749 5.2 format, with one of ``statuses`` (any 4xx by default)."""
    body = assert_json(response)
    if statuses:
        assert response.status_code in statuses, (response.status_code, body)
    else:
        assert 400 <= response.status_code < 500, (response.status_code, body)
    assert isinstance(body, dict) and "error" in body, body
    return body


def assert_local_or(response: TestResponse, allowed: Iterable[str] = ()) -> str:
    """A redirect to a path on this server, or to one of the ``allowed`` registered URIs."""
    location = response.headers.get("Location", "")
    assert location, response.headers
    assert not any(ord(c) < 0x20 for c in location), location
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        if parts.netloc == "localhost" and parts.scheme in {"http", "https"}:
            return location  # the test client's own origin
        target = f"{parts.scheme}://{parts.netloc}{parts.path}"
        assert target in set(allowed), location
        return location
    # A browser reads "//host" and "/\host" as another origin.
    assert location.startswith("/") and location[1:2] not in {"/", "\\"}, location
    return location


def assert_page_or_redirect(response: TestResponse, allowed: Iterable[str] = ()) -> None:
    """An HTML page or a safe redirect: what a browser-facing endpoint may answer."""
    assert_not_5xx(response)
    if 300 <= response.status_code < 400:
        assert_local_or(response, allowed)
    else:
        assert_html(response)


def csrf_of(response: TestResponse) -> str | None:
    match = CSRF.search(response.get_data(as_text=True))
    return match.group(1) if match else None


# --- rows ----------------------------------------------------------------------------------------


def table_digests(app: Flask, skip: Iterable[str] = ()) -> dict[str, str]:
    """A digest of every row of every table (but ``skip``), to tell whether anything changed."""
    skipped = set(skip)
    digests = {}
    with app.app_context(), db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in skipped:
                continue
            ignored = TOUCHED.get(table.name, set())
            columns = [c for c in table.columns if c.name not in ignored]
            order = list(table.primary_key.columns) or columns
            rows = conn.execute(db.select(*columns).order_by(*order)).all()
            digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


@contextmanager
def rows_unchanged(app: Flask, allow: Iterable[str] = ()) -> Iterator[None]:
    """Assert that the block changes no row of any table but those in ``allow``."""
    allowed = set(allow)
    before = table_digests(app, allowed)
    yield
    after = table_digests(app, allowed)
    changed = sorted(name for name in before if before[name] != after.get(name))
    assert not changed, f"rows changed in {changed}"
