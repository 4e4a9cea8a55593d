"""The ``idp`` command: migrating, creating and listing customers, preparing the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from idp.cli.demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_EMAIL, DEMO_PASSWORD
from idp.models import AdminUser, Customer
from idp.security import verify_password
from tests.cli_runner import run_idp


def run_script(
    database_url: str, instance: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script as an operator would, in its own process (slow)."""
    env = {**os.environ, "IDP_DATABASE_URL": database_url, "IDP_SECRET_KEY": "s" * 40}
    script = Path(sys.executable).with_name("idp")
    return subprocess.run(
        [str(script), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=instance,
        check=False,
        timeout=120,
    )


@pytest.fixture
def migrated(database_url: str, tmp_path: Path) -> str:
    result = run_idp(database_url, tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    return database_url


def test_customers_create_and_list(migrated: str, tmp_path: Path) -> None:
    """`customers create` stores a full profile and hashed password; `list` shows it."""
    result = run_idp(
        migrated,
        tmp_path,
        "customers",
        "create",
        "--email",
        "Zoe@Example.com",
        "--password-stdin",
        "--given-name",
        "Zoé",
        "--family-name",
        "Durand",
        "--phone",
        "+33 6 12 34 56 78",
        "--birthdate",
        "1991-02-03",
        "--address",
        '{"locality": "Nantes", "country": "FR"}',
        "--verified",
        stdin="a long enough passphrase\n",
    )
    assert result.returncode == 0, result.stderr
    public_id = result.stdout.strip()
    listing = run_idp(migrated, tmp_path, "customers", "list", "--json")
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    assert rows == [
        {
            "id": public_id,
            "email": "Zoe@example.com",
            "email_verified": True,
            "name": "Zoé Durand",
            "phone": "+33612345678",
            "phone_verified": True,
            "status": "active",
            "created_at": rows[0]["created_at"],
        }
    ]


def test_customers_create_refuses_bad_input(migrated: str, tmp_path: Path) -> None:
    """Invalid email, weak password, bad phone or JSON exit non-zero with a message."""
    cases = [
        (["--email", "not-an-email"], "email"),
        (["--email", "a@example.com", "--password-stdin"], "password"),
        (["--email", "b@example.com", "--phone", "12"], "phone"),
        (["--email", "c@example.com", "--address", "[1"], "JSON"),
    ]
    for args, word in cases:
        result = run_idp(migrated, tmp_path, "customers", "create", *args, stdin="password\n")
        assert result.returncode != 0
        assert word in result.stderr, result.stderr
    listing = run_idp(migrated, tmp_path, "customers", "list")
    assert listing.stdout == ""


def test_customers_create_duplicate_email(migrated: str, tmp_path: Path) -> None:
    """A second account for the same mailbox, whatever the case, is refused."""
    first = run_idp(migrated, tmp_path, "customers", "create", "--email", "dup@example.com")
    assert first.returncode == 0, first.stderr
    second = run_idp(migrated, tmp_path, "customers", "create", "--email", "DUP@example.com")
    assert second.returncode == 1
    assert "already" in second.stderr


def test_demo_prepares_customer_idempotently(migrated: str, tmp_path: Path) -> None:
    """`idp demo --no-serve` twice leaves one demo customer with the documented password."""
    for _ in range(2):
        result = run_script(migrated, tmp_path, "demo", "--no-serve")
        assert result.returncode == 0, result.stderr
        assert DEMO_EMAIL in result.stdout and DEMO_PASSWORD in result.stdout
        assert DEMO_ADMIN_EMAIL in result.stdout and "/admin/login" in result.stdout
    engine = sa.create_engine(migrated)
    with Session(engine) as session:
        demo = (
            session.execute(sa.select(Customer).where(Customer.email_normalized == DEMO_EMAIL))
            .scalars()
            .all()
        )
        assert len(demo) == 1
        customer = demo[0]
        assert customer.email_verified and customer.phone_verified
        assert customer.address and customer.address["locality"] == "Paris"
        assert verify_password(customer.password.password_hash, DEMO_PASSWORD)
        staff = session.execute(sa.select(AdminUser)).scalars().all()
        assert [(a.email, a.role) for a in staff] == [(DEMO_ADMIN_EMAIL, "admin")]
        assert verify_password(staff[0].password_hash, DEMO_ADMIN_PASSWORD)
    engine.dispose()
