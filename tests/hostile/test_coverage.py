"""Every route of the app has hostile tests: a new route fails here until a module covers it."""

from __future__ import annotations

from tests.hostile import (
    test_account_pages,
    test_authorize,
    test_discovery,
    test_logout,
    test_pages,
    test_passkeys,
    test_registration,
    test_token,
    test_userinfo,
)
from tests.hostile.conftest import World

MODULES = (
    test_account_pages,
    test_authorize,
    test_discovery,
    test_logout,
    test_pages,
    test_passkeys,
    test_registration,
    test_token,
    test_userinfo,
)
NOT_COVERED = {
    # Flask's static files: the only input is the file name, which Werkzeug's safe_join checks;
    # the wrong-method test in test_discovery still covers the route.
    "/static/<path:filename>",
}


def test_every_route_is_covered(world: World) -> None:
    """The routes of app.url_map are exactly those the hostile modules cover, plus static."""
    routes = {rule.rule for rule in world.app.url_map.iter_rules()}
    covered = set().union(*(module.ROUTES for module in MODULES))
    assert routes - NOT_COVERED - covered == set(), "routes without hostile tests"
    assert covered - routes == set(), "hostile tests for routes that no longer exist"
