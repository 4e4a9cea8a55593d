"""``--help`` at every level of the ``idp`` command changes nothing and shows no Flask internals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo

from idp.cli import main


def _never_built() -> Flask:
    raise AssertionError("--help built the app")


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


COMMANDS = list(_command_paths(main))


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "idp" for p in COMMANDS])
def test_help_builds_no_app_and_writes_nothing(path, tmp_path: Path, monkeypatch) -> None:
    """`idp ... --help` exits 0 without building the app, so no instance/secret_key appears."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, [*path, "--help"], obj=ScriptInfo(create_app=_never_built), catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert list(tmp_path.iterdir()) == []


def test_help_without_a_script_info_writes_no_secret_key(tmp_path: Path, monkeypatch) -> None:
    """With the real factory, as the console script runs it, help still builds nothing."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDP_SECRET_KEY", raising=False)
    instance = Path(Flask("idp").instance_path)
    before = (instance / "secret_key").exists()
    for args in (["--help"], ["customers", "--help"], ["demo", "--help"]):
        assert CliRunner().invoke(main, args).exit_code == 0
    assert (instance / "secret_key").exists() == before


def _resolve(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "idp" for p in COMMANDS])
def test_flask_internals_are_hidden(path: tuple[str, ...]) -> None:
    """No -A/--app, -e/--env-file, --debug option and no run, shell or routes command in any
    help: they mean nothing to an operator."""
    output = CliRunner().invoke(main, [*path, "--help"]).output
    for internal in ("--app", "--env-file", "-e,", "-A,", "--debug"):
        assert internal not in output, output
    command = _resolve(path)
    if isinstance(command, click.Group):
        listed = set(command.list_commands(click.Context(command)))
        assert not listed & {"run", "shell", "routes"}
        assert not any(f"  {name} " in output for name in ("run", "shell", "routes")), output


def test_every_family_is_listed() -> None:
    """The top-level help names each family of commands, staff accounts included."""
    assert {"customers", "clients", "admins", "keys", "demo", "db"} <= set(
        main.list_commands(click.Context(main))
    )
    output = CliRunner().invoke(main, ["admins", "--help"]).output
    for command in ("create", "list", "disable", "set-role"):
        assert f"  {command} " in output, output


def test_admins_create_help_explains_the_password_and_roles() -> None:
    """`idp admins create --help` lists the roles and how the password is given."""
    output = CliRunner().invoke(main, ["admins", "create", "--help"]).output
    assert "[admin|support|viewer]" in output or "[viewer|support|admin]" in output
    assert "--password-stdin" in output and "--json" in output


def test_bad_setting_stops_a_command_with_its_message(monkeypatch, tmp_path: Path) -> None:
    """A malformed IDP_* value ends the command with one line naming it, not a traceback."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IDP_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("IDP_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("IDP_LOGIN_LIMIT_PER_IP", "100000")
    result = CliRunner().invoke(main, ["customers", "list"])
    assert result.exit_code == 1
    assert "IDP_LOGIN_LIMIT_PER_IP" in result.output and "10 per 15 minutes" in result.output
    assert "Traceback" not in result.output
