"""Discovery (OIDC Discovery 4, RFC 8414 3) and the JWKS with hostile queries and headers, and
every route of the app with every method it does not take."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.routing import Rule

from tests.hostile import strategies as hs
from tests.hostile import test_passkeys, test_registration, test_token, test_userinfo
from tests.hostile.checks import assert_html, assert_json, rows_unchanged
from tests.hostile.conftest import World

ROUTES = {"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/jwks"}
DOCUMENTS = tuple(sorted(ROUTES))
# The routes programs call, as the modules testing them list them: a wrong method there is a
# JSON error, elsewhere the HTML page. A JSON route added to one of them is expected here too.
JSON_ROUTES = (
    ROUTES
    | test_token.ROUTES
    | test_userinfo.ROUTES
    | test_registration.ROUTES
    | test_passkeys.ROUTES
)


def url_of(world: World, rule: Rule) -> str:
    """A URL of ``rule``: "1" fits every variable (ids, tokens), a real file for static."""
    args = {name: "idp.css" if name == "filename" else "1" for name in rule.arguments}
    return world.app.url_map.bind("localhost").build(rule.endpoint, args)


@given(
    path=st.sampled_from(DOCUMENTS),
    query=hs.raw_query(["x", "scope", "callback"]),
    headers=hs.headers(),
)
def test_documents_ignore_hostile_input(
    world: World, path: str, query: bytes, headers: dict[str, str]
) -> None:
    """Any query or header gets the same public document, cacheable, and changes no row."""
    with rows_unchanged(world.app):
        response = world.client().get(
            path, environ_overrides={"QUERY_STRING": hs.latin1(query)}, headers=headers
        )
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"].startswith("public")
    assert json.loads(response.get_data()) == world.client().get(path).get_json()


@given(data=st.data())
def test_every_route_refuses_other_methods(world: World, data: st.DataObject) -> None:
    """A method a route does not take is a 405 with Allow, in the format of that route."""
    rules = sorted(world.app.url_map.iter_rules(), key=lambda r: r.rule)
    rule = data.draw(st.sampled_from(rules))
    # One path may be served by several rules, one per method (a page and its form).
    allowed = set().union(*(r.methods or () for r in rules if r.rule == rule.rule))
    refused = [m for m in (*hs.METHODS, *hs.ODD_METHODS) if m not in allowed]
    if not refused:
        return
    method = data.draw(st.sampled_from(refused))
    body = data.draw(st.one_of(st.none(), hs.wrong_bodies(["x"])))
    browser = world.signed_in() if data.draw(st.booleans()) else world.client()
    with rows_unchanged(world.app):
        if body is None:
            response = browser.open(url_of(world, rule), method=method)
        else:
            response = browser.open(
                url_of(world, rule), method=method, data=body.data, content_type=body.content_type
            )
    assert response.status_code == 405, (rule.rule, method, response.status_code)
    assert set(response.headers["Allow"].split(", ")) >= allowed - {"HEAD", "OPTIONS"}
    if rule.rule in JSON_ROUTES:
        assert_json(response)
    else:
        assert_html(response)


def test_every_route_and_method(world: World) -> None:
    """Exhaustively: each route, each method it does not take, a 405 in the route's format."""
    seen = 0
    # One path may be served by several rules, one per method (a page and its form).
    by_path: dict[str, set[str]] = {}
    for rule in world.app.url_map.iter_rules():
        by_path.setdefault(rule.rule, set()).update(rule.methods or ())
    for rule in world.app.url_map.iter_rules():
        allowed = by_path[rule.rule]
        for method in (*hs.METHODS, *hs.ODD_METHODS):
            if method in allowed:
                continue
            response = world.client().open(url_of(world, rule), method=method)
            assert response.status_code == 405, (rule.rule, method, response.status_code)
            check = assert_json if rule.rule in JSON_ROUTES else assert_html
            check(response)
            seen += 1
    assert seen > 100
