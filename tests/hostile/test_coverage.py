"""Every route of the app has hostile tests: a new route fails here until a module covers it."""

from __future__ import annotations

import importlib
import pkgutil

import tests.hostile
from tests.hostile.conftest import World

# Every test module of the package, found rather than listed: a new one counts at once.
MODULES = tuple(
    importlib.import_module(f"tests.hostile.{info.name}")
    for info in pkgutil.iter_modules(tests.hostile.__path__)
    if info.name.startswith("test_") and info.name != "test_coverage"
)
NOT_COVERED = {
    # Flask's static files: the only input is the file name, which Werkzeug's safe_join checks;
    # the wrong-method test in test_discovery still covers the route.
    "/static/<path:filename>",
}


def test_every_route_is_covered(world: World) -> None:
    """The routes of app.url_map are exactly those the hostile modules cover, plus static."""
    routes = {rule.rule for rule in world.app.url_map.iter_rules()}
    covered = set().union(*(getattr(module, "ROUTES", set()) for module in MODULES))
    assert routes - NOT_COVERED - covered == set(), "routes without hostile tests"
    assert covered - routes == set(), "hostile tests for routes that no longer exist"
