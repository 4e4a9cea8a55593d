"""Emailed sign-in codes and links: mailed once, stored as digests, single use, short lived."""

from __future__ import annotations

import functools
import re
import threading
from datetime import timedelta

import pytest

from idp import security
from idp.extensions import db
from idp.models import Customer, CustomerStatus, EmailSignIn
from idp.models.types import utcnow
from idp.services import RequestMeta, email_sign_in
from idp.services.email_sign_in import EmailSignInSettings
from idp.views import context
from tests.factories import make_customer
from tests.helpers import mail_delivered

EMAIL = "ana@example.com"
CODE_LINE = re.compile(r"^([0-9]{6})\r?$", re.MULTILINE)


def settings(app) -> EmailSignInSettings:
    return EmailSignInSettings(
        issuer=app.config["ISSUER"],
        lifetime=timedelta(minutes=10),
        code_key=email_sign_in.code_key(app.config["SECRET_KEY"]),
    )


def start(app, email=EMAIL) -> str:
    with app.test_request_context():
        return email_sign_in.start(
            email, meta=RequestMeta(ip="192.0.2.1"), mailer=context.mailer(), settings=settings(app)
        )


def mailed(mailbox, email=EMAIL, count=1) -> tuple[str, str]:
    """The code and the link token of the newest sign-in mail to ``email``."""
    body = mailbox.wait_for(email, count)[-1].get_content()
    code = CODE_LINE.search(body)
    link = re.search(r"https?://\S+/login/email/(\S+)", body)
    assert code and link, body
    return code.group(1), link.group(1)


def verify_code(app, handle, code):
    with app.app_context():
        customer = email_sign_in.verify_code(handle, code, settings(app))
        db.session.commit()
        return customer.id if customer is not None else None


def verify_link(app, token):
    with app.app_context():
        customer = email_sign_in.verify_link(token)
        db.session.commit()
        return customer.id if customer is not None else None


def rows(app) -> list[EmailSignIn]:
    with app.app_context():
        found = list(db.session.execute(db.select(EmailSignIn)).scalars())
        db.session.expunge_all()
        return found


def test_mail_holds_code_and_link_but_database_only_digests(app, mailbox):
    """The mail has a 6-digit code, a link and the lifetime; the row keeps digests only."""
    customer = make_customer(app, email=EMAIL)
    handle = start(app)
    code, token = mailed(mailbox)
    body = mailbox.wait_for(EMAIL)[-1].get_content()
    assert f"{app.config['ISSUER']}/login/email/{token}" in body
    assert "10 minutes" in body
    (row,) = rows(app)
    assert row.handle == handle and len(handle) == 43
    assert row.customer_id == customer.id
    assert code not in row.code_digest and token not in row.link_digest
    assert row.link_digest == security.digest(token)
    assert row.code_digest == email_sign_in.code_digest(code, settings(app).code_key)


def test_code_works_once(app, mailbox):
    """The right code signs in once; the same code again, or the link after it, is refused."""
    customer = make_customer(app, email=EMAIL)
    handle = start(app)
    code, token = mailed(mailbox)
    assert verify_code(app, handle, f" {code[:3]} {code[3:]} ") == customer.id
    assert verify_code(app, handle, code) is None
    assert verify_link(app, token) is None


def test_link_works_once_and_spends_the_code(app, mailbox):
    """The link signs in once; then neither the link nor the code mailed with it works."""
    customer = make_customer(app, email=EMAIL)
    handle = start(app)
    code, token = mailed(mailbox)
    with app.app_context():
        found = email_sign_in.by_link(token)
        assert found is not None and email_sign_in.is_live(found)  # looking spends nothing
    assert verify_link(app, token) == customer.id
    assert verify_link(app, token) is None
    assert verify_code(app, handle, code) is None


def test_a_new_mail_kills_the_older_one(app, mailbox):
    """Asking again leaves only the newest code and link usable."""
    customer = make_customer(app, email=EMAIL)
    old_handle = start(app)
    old_code, old_token = mailed(mailbox)
    new_handle = start(app)
    new_code, _ = mailed(mailbox, count=2)
    assert verify_code(app, old_handle, old_code) is None
    assert verify_link(app, old_token) is None
    assert verify_code(app, new_handle, new_code) == customer.id


def test_expired_code_and_link_refused(app, mailbox):
    """Past its expiry neither the code nor the link works."""
    make_customer(app, email=EMAIL)
    handle = start(app)
    code, token = mailed(mailbox)
    with app.app_context():
        db.session.execute(
            db.update(EmailSignIn).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    assert verify_code(app, handle, code) is None
    assert verify_link(app, token) is None


def test_five_wrong_codes_kill_the_handle(app, mailbox):
    """After five wrong codes the right one is refused too, and so is the link."""
    make_customer(app, email=EMAIL)
    handle = start(app)
    code, token = mailed(mailbox)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(email_sign_in.MAX_ATTEMPTS):
        assert verify_code(app, handle, wrong) is None
    assert rows(app)[0].attempts == email_sign_in.MAX_ATTEMPTS
    assert verify_code(app, handle, code) is None
    assert verify_link(app, token) is None


def test_four_wrong_codes_leave_the_right_one_usable(app, mailbox):
    """A customer who mistypes a few times still gets in with the right code."""
    customer = make_customer(app, email=EMAIL)
    handle = start(app)
    code, _ = mailed(mailbox)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(email_sign_in.MAX_ATTEMPTS - 1):
        assert verify_code(app, handle, wrong) is None
    assert verify_code(app, handle, code) == customer.id


@pytest.mark.parametrize("junk", ["", "12345", "1234567", "abcdef", "12\x003456", "1" * 10_000])
def test_junk_codes_refused(app, mailbox, junk):
    """Anything but six digits is refused without costing the handle one of its tries."""
    customer = make_customer(app, email=EMAIL)
    handle = start(app)
    code, _ = mailed(mailbox)
    for _ in range(email_sign_in.MAX_ATTEMPTS):
        assert verify_code(app, handle, junk) is None
    assert verify_code(app, handle, code) == customer.id


@pytest.mark.parametrize("junk", [None, "", "x" * 43, "a" * 10_000, "abc\x00def", "../../etc"])
def test_junk_links_and_handles_refused(app, mailbox, junk):
    """Malformed tokens and handles match nothing and raise nothing."""
    make_customer(app, email=EMAIL)
    start(app)
    code, _ = mailed(mailbox)
    assert verify_link(app, junk) is None
    assert verify_code(app, junk, code) is None


def test_unknown_email_gets_a_handle_but_no_row_and_no_mail(app, mailbox):
    """An unknown address gets a handle shaped like a real one that matches nothing."""
    make_customer(app, email=EMAIL)
    handle = start(app, "nobody@example.com")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", handle)
    assert rows(app) == []
    start(app)  # a known address, so the mailbox has been reached when we look
    mailbox.wait_for(EMAIL)
    mail_delivered(app)
    assert mailbox.to("nobody@example.com") == []
    for code in ("000000", "123456", "999999"):
        assert verify_code(app, handle, code) is None


def test_disabled_customer_gets_nothing(app, mailbox):
    """A disabled account is mailed nothing, and a code mailed before it was disabled dies."""
    customer = make_customer(app, email=EMAIL)
    handle = start(app)
    code, token = mailed(mailbox)
    with app.app_context():
        row = db.session.get(Customer, customer.id)
        assert row is not None
        row.status = CustomerStatus.DISABLED
        db.session.commit()
    assert verify_code(app, handle, code) is None
    assert verify_link(app, token) is None
    mail_delivered(app)
    start(app)
    assert len(mailbox.to(EMAIL)) == 1


def _race(app, attempts) -> list[int | None]:
    """Run each attempt in its own thread and app context, all released at once."""
    barrier = threading.Barrier(len(attempts))
    results: list[int | None] = []

    def worker(attempt) -> None:
        with app.app_context():
            barrier.wait()
            customer = attempt()
            db.session.commit()
            results.append(customer.id if customer is not None else None)

    threads = [threading.Thread(target=worker, args=(a,)) for a in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_concurrent_uses_let_one_through(app, mailbox):
    """Two codes and two links sent at the same instant: exactly one signs in, every round."""
    customer = make_customer(app, email=EMAIL)
    cfg = settings(app)
    for round_ in range(1, 4):
        handle = start(app)
        code, token = mailed(mailbox, count=round_)
        by_code = functools.partial(email_sign_in.verify_code, handle, code, cfg)
        by_link = functools.partial(email_sign_in.verify_link, token)
        results = _race(app, [by_code, by_code, by_link, by_link])
        assert sorted(results, key=lambda r: r is None) == [customer.id, None, None, None]
