"""The second step of a sign-in, and step-up for a signed-in customer: authenticator code or
recovery code here; passkeys in ``views.passkeys``."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idp.errors import AuthenticationFailed, Throttled
from idp.extensions import db
from idp.models import Customer
from idp.services import mfa, recovery_codes, totp
from idp.services.events import EventTag
from idp.views import context, signin
from idp.views.forms import RecoveryCodeForm, TotpForm
from idp.views.redirects import safe_next

bp = Blueprint("mfa", __name__)


def _page(template: str, customer: Customer, status: int = 200, **ctx: object) -> tuple[str, int]:
    has_totp = mfa.confirmed_totp(customer) is not None
    has_passkeys = bool(mfa.passkeys(customer))
    return (
        render_template(
            template,
            customer=customer,
            step_up=signin.pending() is None,
            next_url=safe_next(request.args.get("next")),
            has_totp=has_totp,
            has_passkeys=has_passkeys,
            has_factor=has_totp or has_passkeys,
            **ctx,
        ),
        status,
    )


def _throttled(
    template: str, customer: Customer, form: object, exc: Throttled
) -> ResponseReturnValue:
    body, _status = _page(template, customer, form=form, throttled=context.too_many_attempts(exc))
    return context.throttled_response(body, exc)


def _already_strong() -> bool:
    """A step-up that happened meanwhile (a factor set up on the way counts): nothing to ask."""
    browser_session = context.current_session()
    return (
        signin.pending() is None
        and browser_session is not None
        and "mfa" in (browser_session.amr or [])
    )


def _expired() -> ResponseReturnValue:
    flash(_("Your sign-in took too long. Please start again."), "error")
    return redirect(url_for("auth.login"))


@bp.route("/login/verify", methods=["GET", "POST"])
def verify() -> ResponseReturnValue:
    """The second step: a code from the authenticator app (passkeys have their own button)."""
    customer = signin.second_factor_customer()
    if customer is None:
        return _expired()
    if _already_strong():
        return redirect(safe_next(request.args.get("next")))
    form = TotpForm()
    if not form.validate_on_submit():
        return _page(
            "auth/verify.html", customer, 400 if request.method == "POST" else 200, form=form
        )
    settings = context.totp_settings()
    try:
        context.guarded_code(
            lambda: totp.verify(customer, form.code.data, settings),
            customer=customer,
            method=mfa.TOTP.method,
        )
    except Throttled as exc:
        return _throttled("auth/verify.html", customer, form, exc)
    except AuthenticationFailed:
        form.code.errors = [
            _("That code is not right, or was already used. Wait for the next one.")
        ]
        return _page("auth/verify.html", customer, 401, form=form)
    return signin.second_factor_done(
        customer, mfa.TOTP, request.args.get("next"), remember=bool(form.remember.data)
    )


@bp.route("/login/recovery", methods=["GET", "POST"])
def recovery() -> ResponseReturnValue:
    """A recovery code instead of a lost factor; each works once and its use is mailed."""
    customer = signin.second_factor_customer()
    if customer is None:
        return _expired()
    form = RecoveryCodeForm()
    if not form.validate_on_submit():
        return _page(
            "auth/recovery.html", customer, 400 if request.method == "POST" else 200, form=form
        )
    try:
        context.guarded_code(
            lambda: recovery_codes.use(customer, form.code.data) or None,
            customer=customer,
            method=mfa.RECOVERY_CODE.method,
        )
    except Throttled as exc:
        return _throttled("auth/recovery.html", customer, form, exc)
    except AuthenticationFailed:
        form.code.errors = [_("That recovery code is not right, or was already used.")]
        return _page("auth/recovery.html", customer, 401, form=form)
    context.factor_changed(
        customer,
        EventTag.RECOVERY_CODE_USED,
        mfa.RECOVERY_CODE.method,
        {"remaining": mfa.remaining_recovery_codes(customer)},
    )
    db.session.commit()
    response = signin.second_factor_done(customer, mfa.RECOVERY_CODE, request.args.get("next"))
    # After the sign-in, which starts a fresh Flask session: the message must survive it.
    lost = _(
        "You used a recovery code. If you lost access to your second step, set up a new one now."
    )
    flash(lost, "success")
    return response
