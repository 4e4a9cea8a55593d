"""Running the ``idp`` command in-process, with the environment an operator would set.

Starting the console script costs seconds of imports per call; the in-process runner goes
through the same Click group, options, app factory and exit codes. ``tests/test_cli.py`` keeps
one real subprocess run of the installed script.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from idp.cli import main


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


def run_idp(
    database_url: str, cwd: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> Completed:
    environment = {"IDP_DATABASE_URL": database_url, "IDP_SECRET_KEY": "s" * 40, **(env or {})}
    del cwd  # nothing the command does depends on the working directory
    result = CliRunner().invoke(
        main, list(args), input=stdin, env=environment, catch_exceptions=False
    )
    return Completed(result.exit_code, result.stdout, result.stderr)
