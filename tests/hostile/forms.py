"""Throwing hostile input at an HTML form the way a browser (or an attacker's script) posts it.

A ``Form`` names where it posts, its fields with plausible values, the browser state it needs
and which tables a request may write. ``attack`` reads the CSRF token off the real page, then
posts one hostile variant: hostile field values, raw bytes, a wrong body or an oversized one,
or a hostile query on the page itself. Whatever comes back must be a page or a local redirect
(followed once, to check the page it leads to), and only the named tables may change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from flask.testing import FlaskClient
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from tests.hostile import strategies as hs
from tests.hostile.checks import assert_page_or_redirect, csrf_of, table_digests
from tests.hostile.conftest import World

ATTACKS = ("fields", "fields", "fields", "raw", "body", "huge", "query")


@dataclass(frozen=True)
class Form:
    url: str
    fields: dict[str, str]
    # anonymous, signed_in, pending_mfa (password done, code next), email_code (mail sent),
    # console (a staff session, both factors) or console_pending (staff password only)
    state: str = "anonymous"
    page: str | None = None  # where the form is shown, when not at ``url``
    query: tuple[str, ...] = ()  # parameters the page itself reads
    # Tables a refused request may write (the audit log, for a wrong credential or code).
    refusal_writes: frozenset[str] = frozenset()
    # Tables an accepted request may write; None: nothing hostile can be accepted.
    success_writes: frozenset[str] | None = None
    # False for button-only forms whose real token would act: only forged tokens are sent.
    real_token: bool = True
    note: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.state}:{self.url}"


def browser_for(world: World, state: str) -> FlaskClient:
    if state == "signed_in":
        return world.signed_in()
    if state == "pending_mfa":
        return world.client(world.pending_mfa)
    if state == "email_code":
        return world.client(world.email_code)
    if state == "console":
        return world.console()
    if state == "console_pending":
        return world.console(second_factor=False)
    assert state == "anonymous", state
    return world.client()


def _changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in before if before[name] != after.get(name)}


def _check(world: World, form: Form, browser: FlaskClient, response: TestResponse) -> None:
    assert_page_or_redirect(response, world.redirect_uris)
    location = response.headers.get("Location", "")
    if 300 <= response.status_code < 400 and not urlsplit(location).netloc:
        # The page a redirect leads to shows the flashed messages: escaped too.
        assert_page_or_redirect(browser.get(location), world.redirect_uris)


def attack(world: World, form: Form, data: st.DataObject) -> None:
    """One hostile request at ``form``; the properties of the module docstring hold."""
    browser = browser_for(world, form.state)
    kind = data.draw(st.sampled_from(ATTACKS), label="attack")
    before = table_digests(world.app)
    if kind == "query":
        query = data.draw(hs.params({name: "x" for name in form.query or ("next",)}))
        response = browser.get(form.page or form.url, query_string=urlencode(query))
        _check(world, form, browser, response)
        assert not _changed(before, table_digests(world.app)), "a GET changed rows"
        return
    page = browser.get(form.page or form.url)
    assert_page_or_redirect(page, world.redirect_uris)
    token = csrf_of(page) if form.real_token else None
    if token is None or data.draw(st.integers(0, 9), label="forge") == 0:
        token = data.draw(st.one_of(hs.values(marker=False), st.just(token or "")), label="csrf")
    fields = {**form.fields, "csrf_token": token}
    if kind == "fields":
        pairs = data.draw(hs.params(fields, list(form.fields) or ["csrf_token"]))
        pairs = [(k, v) for k, v in pairs if k != "csrf_token"] + [("csrf_token", token)]
        response = browser.post(form.url, data=urlencode(pairs), content_type=hs.FORM)
    elif kind == "raw":
        raw = (
            urlencode({"csrf_token": token}).encode() + b"&" + data.draw(hs.raw_query(list(fields)))
        )
        response = browser.post(form.url, data=raw, content_type=hs.FORM)
    else:
        strategy = hs.huge_bodies() if kind == "huge" else hs.wrong_bodies(list(fields))
        body = data.draw(strategy, label="body")
        # Flask-WTF also reads the token from this header; HTTP carries no line break there.
        headers = {"X-CSRFToken": token.replace("\r", "").replace("\n", "")}
        response = browser.post(
            form.url, data=body.data, content_type=body.content_type, headers=headers
        )
    _check(world, form, browser, response)
    changed = _changed(before, table_digests(world.app))
    refused = response.status_code >= 400 or form.success_writes is None
    allowed = form.refusal_writes if refused else form.success_writes or frozenset()
    assert changed <= allowed, (response.status_code, sorted(changed - allowed))
