"""``idp customers reset-mfa``: the operator's way back in for a customer who lost every factor."""

from __future__ import annotations

import email
import email.policy
import json

import pytest

from idp.extensions import db
from idp.models import LoginEvent, Passkey, RecoveryCode, TotpCredential, TrustedBrowser
from tests.cli_runner import Completed, run_idp
from tests.factories import PASSWORD, enroll_totp, make_customer, totp_code
from tests.helpers import login, submit
from tests.views.support import is_signed_in


@pytest.fixture
def idp(app, database_url, tmp_path):
    def run(*args: str, stdin: str = "") -> Completed:
        return run_idp(database_url, tmp_path, *args, stdin=stdin)

    return run


def count(app, model) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


def test_reset_removes_every_factor_ends_sessions_records_and_mails(app, client, idp, tmp_path):
    ana = make_customer(app, email="ana@example.com", locale="fr")
    secret = enroll_totp(app, ana)
    login(client, ana.email, PASSWORD)
    submit(client, "/login/verify", {"code": totp_code(secret), "remember": "y"})
    submit(client, "/account/security/recovery-codes", {}, page="/account/security")
    assert count(app, RecoveryCode) == 10 and count(app, TrustedBrowser) == 1

    result = idp("customers", "reset-mfa", ana.email, "--reason", "ticket 4242", "--yes")
    assert result.returncode == 0, result.stderr
    assert "Removed 1 second factor(s) of ana@example.com" in result.stdout
    for model in (TotpCredential, Passkey, RecoveryCode):
        assert count(app, model) == 0
    with app.app_context():
        browsers = list(db.session.execute(db.select(TrustedBrowser)).scalars())
        assert all(b.revoked_at is not None for b in browsers)
        event = db.session.execute(
            db.select(LoginEvent).where(LoginEvent.tag == "customer:mfa:reset")
        ).scalar_one()
        assert (event.method, event.reason, event.customer_id) == (
            "operator",
            "ticket 4242",
            ana.id,
        )
    assert not is_signed_in(client)
    # Mailed in the customer's language (no SMTP here: the outbox folder).
    mails = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in (tmp_path / "instance" / "outbox").glob("*.eml")
    ]
    reset_mail = [m for m in mails if "le service client a retiré" in m.get_content()]
    assert len(reset_mail) == 1
    assert reset_mail[0]["Subject"] == "Un paramètre de sécurité de votre compte a changé"

    # The password alone signs in again, and the customer can enroll anew.
    fresh = app.test_client()
    assert login(fresh, ana.email, PASSWORD).headers["Location"] == "/account"


def test_unknown_customer_and_missing_reason(idp):
    result = idp("customers", "reset-mfa", "nobody@example.com", "--reason", "x", "--yes")
    assert result.returncode == 1 and "no customer" in result.stderr
    assert idp("customers", "reset-mfa", "nobody@example.com", "--yes").returncode == 2


def test_confirmation_is_asked_without_yes(app, idp):
    ana = make_customer(app, email="ana@example.com")
    enroll_totp(app, ana)
    result = idp("customers", "reset-mfa", ana.public_id, "--reason", "r", stdin="n\n")
    assert result.returncode == 1
    assert count(app, TotpCredential) == 1


def test_clients_require_mfa_flag(idp):
    result = idp(
        "clients",
        "create",
        "--name",
        "Bank",
        "--type",
        "web",
        "--redirect-uri",
        "https://bank.example/cb",
        "--require-mfa",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["require_mfa"] is True
    updated = idp("clients", "update", created["client_id"], "--no-require-mfa", "--json")
    assert json.loads(updated.stdout)["require_mfa"] is False
