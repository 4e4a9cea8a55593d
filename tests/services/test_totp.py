"""TOTP enrollment, verification window, replay refusal and encryption at rest."""

from __future__ import annotations

import threading

import pytest

from idp.errors import ValidationError
from idp.extensions import db
from idp.models import Customer, TotpCredential
from idp.services import mfa, totp
from idp.services.totp import TotpSettings
from tests.factories import enroll_totp, make_customer, totp_code, totp_settings


def _customer(app, customer) -> Customer:
    row = db.session.get(Customer, customer.id)
    assert row is not None
    return row


def test_enrollment_is_off_until_a_first_code_confirms_it(app):
    """The secret waits unconfirmed (no second factor yet); a wrong code leaves it so."""
    customer = make_customer(app)
    with app.app_context():
        row = _customer(app, customer)
        enrollment = totp.enrollment(row, totp_settings(app))
        assert enrollment.uri.startswith("otpauth://totp/idp:")
        assert not mfa.has_second_factor(row)
        # Asking again shows the same secret, so a reloaded page still matches the app.
        assert totp.enrollment(row, totp_settings(app)).secret == enrollment.secret
        wrong = "000000" if totp_code(enrollment.secret) != "000000" else "111111"
        assert totp.confirm(row, wrong, totp_settings(app)) is None
        assert not mfa.has_second_factor(row)
        assert totp.confirm(row, totp_code(enrollment.secret), totp_settings(app)) is not None
        db.session.commit()
        assert mfa.has_second_factor(row)
        with pytest.raises(ValidationError):
            totp.enrollment(row, totp_settings(app))


def test_secret_is_encrypted_and_bound_to_its_customer(app, caplog):
    """The database holds ciphertext only; moved onto another customer's row it won't open."""
    ana, bob = make_customer(app), make_customer(app)
    secret = enroll_totp(app, ana)
    enroll_totp(app, bob)
    with app.app_context():
        rows = {r.customer_id: r for r in db.session.execute(db.select(TotpCredential)).scalars()}
        blob = rows[ana.id].secret_ciphertext
        assert secret.encode() not in blob
        rows[bob.id].secret_ciphertext = blob
        # Unreadable for Bob: no code matches, and it is not an error page either.
        assert totp.verify(_customer(app, bob), totp_code(secret), totp_settings(app)) is None
        assert "cannot be decrypted" in caplog.text


@pytest.mark.parametrize(("steps", "accepted"), [(-2, False), (-1, True), (0, True), (1, True)])
def test_one_step_window(app, steps, accepted):
    """Codes from the previous, current and next 30 s are accepted; older ones have expired."""
    customer = make_customer(app)
    secret = enroll_totp(app, customer)
    with app.app_context():
        # The enrollment used the previous step: start from a fresh credential state.
        db.session.execute(db.update(TotpCredential).values(last_used_step=None))
        ok = totp.verify(_customer(app, customer), totp_code(secret, steps), totp_settings(app))
        assert (ok is not None) is accepted


def test_a_code_works_once_and_older_codes_after_it_never(app):
    """Replaying the code just used fails, and so does the previous one, still in the window."""
    customer = make_customer(app)
    secret = enroll_totp(app, customer)
    with app.app_context():
        row = _customer(app, customer)
        assert totp.verify(row, totp_code(secret, 1), totp_settings(app)) is not None
        db.session.commit()
        assert totp.verify(row, totp_code(secret, 1), totp_settings(app)) is None
        assert totp.verify(row, totp_code(secret, 0), totp_settings(app)) is None


def test_junk_codes_are_refused_without_error(app):
    customer = make_customer(app)
    enroll_totp(app, customer)
    with app.app_context():
        row = _customer(app, customer)
        for junk in (
            "",
            "12345",
            "1234567",
            "abcdef",
            "\uff11\uff12\uff13\uff14\uff15\uff16",
            "12 34 5x",
        ):
            assert totp.verify(row, junk, totp_settings(app)) is None


def test_the_same_code_sent_twice_at_once_is_accepted_once(app):
    """Two workers checking one code concurrently: the conditional update lets one through."""
    customer = make_customer(app)
    secret = enroll_totp(app, customer)
    code = totp_code(secret, 1)
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def worker() -> None:
        with app.app_context():
            row = _customer(app, customer)
            barrier.wait()
            accepted = totp.verify(row, code, totp_settings(app)) is not None
            db.session.commit()
            results.append(accepted)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == [False, True]


def test_removing_turns_the_factor_off(app):
    customer = make_customer(app)
    enroll_totp(app, customer)
    with app.app_context():
        row = _customer(app, customer)
        assert totp.remove(row) is True
        db.session.commit()
        assert not mfa.has_second_factor(row)


def test_a_waiting_secret_that_no_longer_decrypts_is_replaced(app):
    """After a key change, reopening the set-up page starts over instead of failing."""
    customer = make_customer(app)
    with app.app_context():
        row = _customer(app, customer)
        first = totp.enrollment(row, totp_settings(app)).secret
        other_key = TotpSettings(key=b"k" * 32, issuer_name="idp")
        second = totp.enrollment(row, other_key)
        assert second.secret != first
        assert totp.confirm(row, totp_code(second.secret), other_key) is not None
