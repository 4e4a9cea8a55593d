"""Every list prints a table with a header and aligned columns; every command that prints a
record also speaks JSON (``idp clients``, ``idp keys``, ``idp customers reset-mfa``)."""

from __future__ import annotations

import json

import pytest

from idp.cli import output
from tests.cli.tables import columns
from tests.cli_runner import Completed, run_idp
from tests.factories import enroll_totp, make_customer


@pytest.fixture
def idp(app, database_url, tmp_path):
    def run(*args: str, stdin: str = "") -> Completed:
        return run_idp(database_url, tmp_path, *args, stdin=stdin, env={"IDP_SECRET_KEY": "s" * 40})

    return run


def created(idp, *args: str) -> dict:
    result = idp("clients", "create", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_clients_list_table(idp):
    """clients list: client id, name, type, grants (short names), created, under a header."""
    shop = created(
        idp, "--name", "Web  shop", "--type", "web", "--redirect-uri", "https://s.example/cb"
    )
    tv = created(idp, "--name", "TV", "--type", "device")
    table = columns(idp("clients", "list").stdout)
    assert table.header == ["CLIENT ID", "NAME", "TYPE", "GRANTS", "CREATED"]
    # A run of spaces in a stored name is one space in a cell: it cannot split a column.
    assert [r[:4] for r in table.rows] == [
        [shop["client_id"], "Web shop", "web", "authorization_code refresh_token"],
        [tv["client_id"], "TV", "device", "device_code refresh_token"],
    ]
    assert all(r[4].endswith("Z") for r in table.rows)


def test_keys_list_table_and_rotate_json(idp):
    """keys rotate --json prints each new key; keys list is a table with every date."""
    result = idp("keys", "rotate", "--json")
    assert result.returncode == 0, result.stderr
    rotated = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(k["alg"] for k in rotated) == ["ES256", "RS256"]
    table = columns(idp("keys", "list").stdout)
    assert table.header == ["KID", "ALG", "STATE", "CREATED", "SIGNS FROM", "RETIRES", "EXPIRES"]
    assert sorted((r[0], r[1], r[2], r[5]) for r in table.rows) == sorted(
        (k["kid"], k["alg"], "active", "-") for k in rotated
    )


def test_empty_lists_say_so_on_stderr(idp):
    """An empty list prints nothing on stdout, so a script sees no rows, and a line on stderr."""
    for args, said in (
        (("clients", "list"), "No clients.\n"),
        (("keys", "list"), "No signing keys"),
        (("admins", "list"), "No staff accounts.\n"),
    ):
        result = idp(*args)
        assert result.returncode == 0 and result.stdout == ""
        assert result.stderr.startswith(said)


def test_clients_delete_json(idp):
    """clients delete --json says which client went."""
    tv = created(idp, "--name", "TV", "--type", "device")
    result = idp("clients", "delete", tv["client_id"], "--yes", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"client_id": tv["client_id"], "deleted": True}


def test_reset_mfa_json(app, idp):
    """customers reset-mfa --json names the customer and how many factors went."""
    ana = make_customer(app, email="ana@example.com")
    enroll_totp(app, ana)
    result = idp("customers", "reset-mfa", ana.email, "--reason", "t-1", "--yes", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"id": ana.public_id, "email": ana.email, "removed": 1}


def test_wide_letters_keep_columns_aligned(capsys):
    """Widths are counted in terminal cells: a name in wide letters or with combining accents
    does not shift the next column."""
    assert output.width("東京") == 4 and output.width("e\u0301") == 1
    output.table(("NAME", "CITY"), [("東京 Shop", "Tokyo"), ("Rene\u0301", "Paris")], empty="")
    table = columns(capsys.readouterr().out)
    assert table.rows == [["東京 Shop", "Tokyo"], ["Rene\u0301", "Paris"]]
    assert output.cell(None) == "-" and output.cell(True) == "yes" and output.cell([]) == "-"
    assert output.cell("two\nlines\there") == "two lines here"
