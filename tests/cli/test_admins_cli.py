"""``idp admins``: staff accounts created, listed, disabled and re-roled, each change audited."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from idp.extensions import db
from idp.models import AdminSession, AdminTotp, AdminUser, AuditEntry
from idp.security import verify_password
from idp.services import RequestMeta, totp
from idp.services.admin import console_sessions
from idp.services.admin.console_sessions import ConsolePolicy
from tests.cli.tables import columns
from tests.cli_runner import Completed, run_idp
from tests.factories import totp_code, totp_settings

PASSWORD = "a long enough staff passphrase"


@pytest.fixture
def idp(app, database_url, tmp_path):
    def run(*args: str, stdin: str = "") -> Completed:
        return run_idp(database_url, tmp_path, *args, stdin=stdin)

    return run


def create(idp, email: str, role: str = "support") -> dict:
    result = idp(
        "admins",
        "create",
        "--email",
        email,
        "--role",
        role,
        "--password-stdin",
        "--json",
        stdin=PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def audit_log(app) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.execute(db.select(AuditEntry).order_by(AuditEntry.id)).scalars())
        db.session.expunge_all()
    return rows


def test_create_json_stores_a_hashed_password_and_audits(app, idp):
    """create --json prints the account (no secret); the password is stored hashed; the audit
    log names the command line as the actor."""
    out = create(idp, "Staff@Example.com", "admin")
    assert out == {
        "id": out["id"],
        "email": "Staff@example.com",
        "role": "admin",
        "status": "active",
        "second_factor": False,
        "created_at": out["created_at"],
        "last_sign_in_at": None,
        "disabled_at": None,
    }
    assert datetime.fromisoformat(out["created_at"]).tzinfo is not None
    with app.app_context():
        admin = db.session.execute(db.select(AdminUser)).scalar_one()
        assert admin.password_hash != PASSWORD
        assert verify_password(admin.password_hash, PASSWORD)
    [entry] = audit_log(app)
    assert (entry.actor_kind, entry.actor_label, entry.action) == (
        "cli",
        "command line",
        "admin.created",
    )
    assert (entry.target_kind, entry.target_id) == ("admin", out["id"])
    assert entry.after == {"email": "Staff@example.com", "role": "admin"}


def test_create_text_output_is_aligned_fields(idp):
    """Without --json, create prints one ``label: value`` line per field, values aligned."""
    result = idp(
        "admins",
        "create",
        "--email",
        "a@example.com",
        "--role",
        "viewer",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("id:") and "email:" in lines[1]
    starts = {len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines}
    assert len(starts) == 1
    assert "role:" in result.stdout and "viewer" in result.stdout


def test_weak_password_refused_with_the_policy_message(app, idp):
    """A short or common password is refused with the password policy's own words, exit 1,
    no traceback, and nothing is stored or audited."""
    for weak, words in (("short", "at least"), ("password1234", "too common")):
        result = idp(
            "admins",
            "create",
            "--email",
            "w@example.com",
            "--role",
            "viewer",
            "--password-stdin",
            stdin=weak + "\n",
        )
        assert result.returncode == 1
        assert result.stderr.startswith("error: password: ")
        assert words in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
    assert audit_log(app) == []


def test_create_refusals_name_the_field(app, idp):
    """Bad email, duplicate email, unknown role: a one-line message naming what is wrong."""
    create(idp, "dup@example.com")
    cases = [
        (["--email", "not-an-email", "--role", "viewer"], 1, "error: email: "),
        (["--email", "DUP@example.com", "--role", "viewer"], 1, "error: email: "),
        (["--email", "r@example.com", "--role", "owner"], 2, "'owner' is not one of"),
    ]
    for args, code, message in cases:
        result = idp("admins", "create", *args, "--password-stdin", stdin=PASSWORD + "\n")
        assert result.returncode == code, result.stderr
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    assert len(audit_log(app)) == 1


def test_create_without_password_stdin_off_a_terminal_is_refused(idp):
    """An admin must have a password: piped without --password-stdin, create says how."""
    result = idp("admins", "create", "--email", "p@example.com", "--role", "viewer")
    assert result.returncode == 1
    assert "error: password: " in result.stderr and "--password-stdin" in result.stderr
    assert idp("admins", "list").stdout == ""


def _read_until(fd: int, text: bytes, seen: bytearray, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no {text!r} in {bytes(seen)!r}")
        seen.extend(os.read(fd, 1024))


def test_create_at_a_terminal_asks_twice_without_echo(app, database_url, tmp_path):
    """Run at a terminal without --password-stdin, the installed script asks for the password
    and its confirmation, never echoing it (a real pseudo-terminal, a real process)."""
    primary, secondary = pty.openpty()
    env = {**os.environ, "IDP_DATABASE_URL": database_url, "IDP_SECRET_KEY": "s" * 40}
    script = Path(sys.executable).with_name("idp")
    process = subprocess.Popen(
        [str(script), "admins", "create", "--email", "tty@example.com", "--role", "viewer"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        cwd=tmp_path,
    )
    os.close(secondary)
    seen = bytearray()
    try:
        _read_until(primary, b"Password: ", seen)
        os.write(primary, PASSWORD.encode() + b"\n")
        _read_until(primary, b"Repeat for confirmation: ", seen)
        os.write(primary, PASSWORD.encode() + b"\n")
        assert process.wait(timeout=60) == 0, bytes(seen)
        # What is left to read, until the terminal reports that its last writer is gone.
        with contextlib.suppress(OSError):
            while chunk := os.read(primary, 1024):
                seen.extend(chunk)
    finally:
        process.kill()
        os.close(primary)
    assert b"email:" in seen and b"tty@example.com" in seen
    assert PASSWORD.encode() not in seen
    with app.app_context():
        admin = db.session.execute(db.select(AdminUser)).scalar_one()
        assert admin.email == "tty@example.com" and verify_password(admin.password_hash, PASSWORD)


def test_list_table_and_json(app, idp):
    """list: a header and aligned columns (id, email, role, status, second factor, last
    sign-in); --json one object per line; a confirmed authenticator app shows as yes."""
    anna = create(idp, "anna@example.com", "admin")
    bob = create(idp, "bob.longer.address@example.com", "viewer")
    with app.app_context():
        admin = db.session.execute(
            db.select(AdminUser).where(AdminUser.public_id == anna["id"])
        ).scalar_one()
        # No console in this test to sign in through: the rows its first sign-in would leave.
        # The console's sign-in sets this; no console is running in this test.
        admin.last_sign_in_at = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
        secret = totp.enrollment(admin, totp_settings(app)).secret
        assert totp.confirm(admin, totp_code(secret, -1), totp_settings(app)) is not None
        # Bob started setting one up and never typed a code: not a second factor yet.
        other = db.session.execute(
            db.select(AdminUser).where(AdminUser.public_id == bob["id"])
        ).scalar_one()
        totp.enrollment(other, totp_settings(app))
        db.session.commit()
        assert db.session.execute(db.select(db.func.count(AdminTotp.id))).scalar_one() == 2

    rows = [json.loads(line) for line in idp("admins", "list", "--json").stdout.splitlines()]
    assert [(r["email"], r["role"], r["second_factor"]) for r in rows] == [
        ("anna@example.com", "admin", True),
        ("bob.longer.address@example.com", "viewer", False),
    ]
    assert rows[0]["last_sign_in_at"] == "2024-05-01T09:30:00+00:00"

    table = columns(idp("admins", "list").stdout)
    assert table.header == ["ID", "EMAIL", "ROLE", "STATUS", "SECOND FACTOR", "LAST SIGN-IN"]
    assert table.rows == [
        [anna["id"], "anna@example.com", "admin", "active", "yes", "2024-05-01 09:30Z"],
        [bob["id"], "bob.longer.address@example.com", "viewer", "active", "no", "-"],
    ]


def test_disable_by_email_or_id_ends_sessions_and_audits_with_reason(app, idp):
    """disable (by email or id) switches the account off, ends its console sessions and writes
    the reason to the audit log; a second disable changes nothing and says so."""
    staff = create(idp, "leaving@example.com")
    with app.app_context():
        admin = db.session.execute(db.select(AdminUser)).scalar_one()
        policy = ConsolePolicy(idle=timedelta(minutes=15), absolute=timedelta(hours=8))
        console_sessions.start(admin, meta=RequestMeta(ip="192.0.2.7"), policy=policy)
        db.session.commit()

    result = idp("admins", "disable", "LEAVING@example.com", "--reason", "left, ticket 7", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "disabled" and out["disabled_at"] is not None
    with app.app_context():
        session = db.session.execute(db.select(AdminSession)).scalar_one()
        assert session.ended_at is not None
    entry = audit_log(app)[-1]
    assert (entry.action, entry.target_id, entry.reason) == (
        "admin.disabled",
        staff["id"],
        "left, ticket 7",
    )
    assert (entry.before, entry.after) == ({"status": "active"}, {"status": "disabled"})

    again = idp("admins", "disable", staff["id"])
    assert again.returncode == 0 and "already disabled" in again.stderr
    assert len(audit_log(app)) == 2
    assert columns(idp("admins", "list").stdout).rows[0][3] == "disabled"


def test_disable_and_set_role_refuse_an_unknown_admin(app, idp):
    """An unknown email or id: exit 1 with one line naming the account, nothing audited."""
    for args in (
        ("admins", "disable", "nobody@example.com"),
        ("admins", "disable", "00000000-0000-0000-0000-000000000000", "--json"),
        ("admins", "set-role", "nobody@example.com", "admin"),
    ):
        result = idp(*args)
        assert result.returncode == 1
        assert result.stderr == f"error: admin: no staff account {args[2]}\n"
        assert result.stdout == ""
    assert audit_log(app) == []


def test_set_role_changes_and_audits_once(app, idp):
    """set-role records before and after; the same role again writes nothing; a role that does
    not exist is a usage error."""
    staff = create(idp, "promote@example.com", "viewer")
    result = idp("admins", "set-role", staff["id"], "support", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["role"] == "support"
    text = idp("admins", "set-role", "promote@example.com", "support")
    assert text.returncode == 0 and "support" in text.stdout
    entries = audit_log(app)
    assert [e.action for e in entries] == ["admin.created", "admin.role_changed"]
    assert (entries[1].before, entries[1].after, entries[1].actor_kind) == (
        {"role": "viewer"},
        {"role": "support"},
        "cli",
    )
    bad = idp("admins", "set-role", staff["id"], "root")
    assert bad.returncode == 2 and "'root' is not one of" in bad.stderr
