"""Running the ``idp`` command in-process, with the settings an operator would export.

Starting the console script costs seconds of imports per call; the in-process runner goes
through the same Click group, options, app factory and exit codes. ``tests/test_cli.py`` keeps
one real subprocess run of the installed script.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner
from flask.cli import ScriptInfo

from idp.cli import main
from idp.extensions import db
from tests.conftest_support import make_app


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


def run_idp(
    database_url: str, cwd: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> Completed:
    """``env`` holds IDP_* variables, given to the app factory as they would be exported."""
    settings: dict[str, object] = {"SECRET_KEY": "s" * 40, "TESTING": False}
    settings.update({k.removeprefix("IDP_"): v for k, v in (env or {}).items()})
    app = make_app(database_url, cwd / "instance", None, **settings)
    try:
        result = CliRunner().invoke(
            main,
            list(args),
            input=stdin,
            obj=ScriptInfo(create_app=lambda: app),
            catch_exceptions=False,
        )
    finally:
        # Close the pool now: a PostgreSQL connection left to the garbage collector warns.
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return Completed(result.exit_code, result.stdout, result.stderr)
