"""Driving the real pages the way a browser does: read the CSRF token off the form, post it."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str) -> str:
    page = client.get(url)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


def submit(
    client: FlaskClient, url: str, data: dict[str, Any], page: str | None = None, **kw: Any
) -> TestResponse:
    """POST ``data`` to ``url`` with the CSRF token from ``page`` (default: the same URL)."""
    token = csrf_token(client, page or url)
    return client.post(url, data={"csrf_token": token, **data}, **kw)


def login(client: FlaskClient, email: str, password: str, **kw: Any) -> TestResponse:
    return submit(client, "/login", {"email": email, "password": password}, **kw)


def mail_delivered(app: Flask) -> None:
    """Wait for the app's mail thread: before asserting that a mail was *not* sent."""
    app.extensions["idp"]["mailer"].flush()
