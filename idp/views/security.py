"""The customer's security settings (/account/security): authenticator app, recovery codes,
passkeys (``views.passkeys``) and remembered browsers.

Once a customer has a second factor, changing any of them needs a session that proved one
(``sudo_required``): a stolen password alone must not be able to swap the factors.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import segno
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idp.errors import AuthenticationFailed, Throttled, ValidationError
from idp.extensions import db
from idp.models import Customer
from idp.services import mfa, recovery_codes, totp
from idp.services.events import EventTag
from idp.views import context, signin
from idp.views.account import login_required
from idp.views.forms import CsrfForm, EnableTotpForm, RemoveFactorForm
from idp.views.redirects import safe_next

bp = Blueprint("security", __name__, url_prefix="/account/security")


def sudo_required(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Signed in, and with a second factor in this session when the customer has one."""

    @login_required
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        browser_session = context.current_session()
        assert browser_session is not None
        if "mfa" not in (browser_session.amr or []) and mfa.has_second_factor(
            browser_session.customer
        ):
            if request.method != "GET":
                flash(_("Confirm it is you first, then try again."), "error")
            back = request.full_path.rstrip("?") if request.method == "GET" else url_for(".index")
            return redirect(url_for("mfa.verify", next=back))
        return view(*args, **kwargs)

    return wrapper


def _next() -> str | None:
    value = request.args.get("next")
    return safe_next(value) if value else None


@bp.get("")
@sudo_required
def index() -> ResponseReturnValue:
    customer = context.signed_in_customer()
    return render_template(
        "security/index.html",
        customer=customer,
        has_totp=mfa.confirmed_totp(customer) is not None,
        passkeys=mfa.passkeys(customer),
        recovery_left=mfa.remaining_recovery_codes(customer),
        browsers=mfa.trusted_browsers(customer),
        form=CsrfForm(),
        next_url=_next(),
    )


@bp.route("/totp", methods=["GET", "POST"])
@sudo_required
def totp_setup() -> ResponseReturnValue:
    """Enrollment: scan the QR code (or type the secret), then prove it with a first code."""
    customer = context.signed_in_customer()
    settings = context.totp_settings()
    try:
        enrollment = totp.enrollment(customer, settings)
    except ValidationError:
        flash(_("An authenticator app is already set up. Remove it first to use another."), "error")
        return redirect(url_for(".index"))
    form = EnableTotpForm()

    def page(status: int, **ctx: object) -> tuple[str, int]:
        qr = segno.make(enrollment.uri, error="m")
        body = render_template(
            "security/totp.html",
            form=form,
            secret=" ".join(
                enrollment.secret[i : i + 4] for i in range(0, len(enrollment.secret), 4)
            ),
            qr=qr.svg_data_uri(scale=5, border=2),
            next_url=_next(),
            **ctx,
        )
        return body, status

    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    try:
        context.guarded_code(
            lambda: totp.confirm(customer, form.code.data, settings),
            customer=customer,
            method=mfa.TOTP.method,
        )
    except Throttled as exc:
        body, _status = page(429, throttled=context.too_many_attempts(exc))
        return context.throttled_response(body, exc)
    except AuthenticationFailed:
        form.code.errors = [
            _("That code is not right. Check the time on your phone and try the next one.")
        ]
        return page(400)
    context.factor_changed(customer, EventTag.TOTP_ENABLED, mfa.TOTP.method)
    browser_session = context.current_session()
    assert browser_session is not None
    if "mfa" not in (browser_session.amr or []):
        # The code just typed proves the new factor: this session now has two.
        signin.step_up(browser_session, mfa.TOTP)
    return _after_new_factor(customer, _("Your authenticator app is set up."))


def _after_new_factor(customer: Customer, message: str) -> ResponseReturnValue:
    """With a first factor come recovery codes, shown once; otherwise back where we were."""
    if mfa.remaining_recovery_codes(customer) == 0:
        codes = recovery_codes.generate(customer)
        context.factor_changed(customer, EventTag.RECOVERY_CODES_GENERATED, "recovery_code")
        db.session.commit()
        flash(message, "success")
        return render_template("security/recovery_codes.html", codes=codes, next_url=_next())
    db.session.commit()
    flash(message, "success")
    return redirect(_next() or url_for(".index"))


@bp.post("/totp/remove")
@sudo_required
def totp_remove() -> ResponseReturnValue:
    customer = context.signed_in_customer()
    if RemoveFactorForm().validate_on_submit() and totp.remove(customer):
        context.factor_changed(customer, EventTag.TOTP_DISABLED, mfa.TOTP.method)
        db.session.commit()
        flash(_("The authenticator app was removed."), "success")
    return redirect(url_for(".index"))


@bp.post("/recovery-codes")
@sudo_required
def recovery_codes_generate() -> ResponseReturnValue:
    customer = context.signed_in_customer()
    if not CsrfForm().validate_on_submit():
        return redirect(url_for(".index"))
    codes = recovery_codes.generate(customer)
    context.factor_changed(customer, EventTag.RECOVERY_CODES_GENERATED, "recovery_code")
    db.session.commit()
    return render_template("security/recovery_codes.html", codes=codes, next_url=_next())


@bp.post("/browsers/forget")
@sudo_required
def forget_browsers() -> ResponseReturnValue:
    customer = context.signed_in_customer()
    if CsrfForm().validate_on_submit():
        mfa.forget_browsers(customer)
        context.factor_changed(customer, EventTag.BROWSERS_FORGOTTEN, "trusted_browser")
        db.session.commit()
        context.set_trusted_cookie(None)
        flash(_("Every browser will ask for your second step again."), "success")
    return redirect(url_for(".index"))
