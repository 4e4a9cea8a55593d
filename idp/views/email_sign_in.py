"""Signing in without a password: a code and a link mailed to the customer.

The browser that asked keeps the public handle of its mail in the Flask session, with the
address it typed (for the page and the throttle) and where it was going. The link only shows a
button on GET: mail scanners fetch links, and a sign-in must not be spent by one.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Field, HiddenField
from wtforms.validators import Length, Optional, ValidationError

from idp.errors import AuthenticationFailed, Throttled
from idp.extensions import db
from idp.models import Customer
from idp.services import email_sign_in, events, mfa
from idp.services.email_sign_in import EmailSignInSettings
from idp.services.events import EventTag
from idp.views import context, signin
from idp.views.forms import BaseForm, CsrfForm, email_field, one_time_code_field
from idp.views.redirects import safe_next

bp = Blueprint("email_sign_in", __name__)

STATE_KEY = "idp_email_sign_in"


class EmailSignInForm(BaseForm):
    email = email_field()
    next = HiddenField(validators=[Optional(), Length(max=8192)])


class EmailCodeForm(BaseForm):
    code = one_time_code_field(_l("6-digit code from the email"))

    def validate_code(self, field: Field) -> None:
        if email_sign_in.normalize_code(field.data) is None:
            raise ValidationError(_l("Enter the 6 digits from the email."))


def _settings() -> EmailSignInSettings:
    cfg = current_app.config
    return EmailSignInSettings(
        issuer=cfg["ISSUER"],
        lifetime=timedelta(seconds=cfg["EMAIL_SIGN_IN_LIFETIME"]),
        code_key=email_sign_in.code_key(cfg["SECRET_KEY"]),
    )


def _minutes() -> int:
    return max(1, int(current_app.config["EMAIL_SIGN_IN_LIFETIME"]) // 60)


def _state() -> dict[str, Any] | None:
    """This browser's emailed sign-in, while its code can still be valid."""
    stored = session.get(STATE_KEY)
    if not isinstance(stored, dict) or not isinstance(stored.get("handle"), str):
        return None
    age = time.time() - float(stored.get("at") or 0)
    if age > current_app.config["EMAIL_SIGN_IN_LIFETIME"]:
        return None
    return stored


Page = tuple[str, int]


def _start_page(form: EmailSignInForm, status: int = 200, **ctx: object) -> Page:
    return render_template("auth/email_sign_in.html", form=form, **ctx), status


def _code_page(
    form: EmailCodeForm, state: dict[str, Any], status: int = 200, **ctx: object
) -> Page:
    body = render_template(
        "auth/email_code.html",
        form=form,
        email=state.get("email", ""),
        minutes=_minutes(),
        next_url=state.get("next") or None,
        **ctx,
    )
    return body, status


def _throttled(page: Page, exc: Throttled) -> ResponseReturnValue:
    return context.throttled_response(page[0], exc)


def _expired() -> Page:
    """No code can be checked any more in this browser: say so, and offer a new one."""
    stored = session.pop(STATE_KEY, None)
    form = EmailSignInForm(formdata=None)
    if isinstance(stored, dict):
        form.email.data = stored.get("email")
        form.next.data = stored.get("next")
    form.form_errors.append(_("Your sign-in code has expired. Ask for a new one."))
    return _start_page(form, 400)


def _link_page(form: CsrfForm, token: str, customer: Customer | None) -> str:
    return render_template("auth/magic_link.html", form=form, token=token, customer=customer)


@bp.route("/login/email", methods=["GET", "POST"])
def start() -> ResponseReturnValue:
    """Ask for an address; mail it a code and a link when it belongs to an account."""
    form = EmailSignInForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    if not form.validate_on_submit():
        return _start_page(form, 400 if request.method == "POST" else 200)
    limit, ip = context.form_limit(), context.request_meta().ip or "unknown"
    account = email_sign_in.account_key(form.email.data)
    throttle = context.throttle()
    try:
        throttle.check(limit, "email-sign-in-ip", ip)
        throttle.check(limit, "email-sign-in-account", account)
    except Throttled as exc:
        return _throttled(_start_page(form, throttled=context.too_many_attempts(exc)), exc)
    throttle.hit(limit, "email-sign-in-ip", ip)
    throttle.hit(limit, "email-sign-in-account", account)
    handle = email_sign_in.start(
        form.email.data, meta=context.request_meta(), mailer=context.mailer(), settings=_settings()
    )
    session[STATE_KEY] = {
        "handle": handle,
        "email": form.email.data,
        "at": time.time(),
        "next": safe_next(form.next.data),
    }
    # Post/redirect/get: reloading the code page, or switching its language, mails nothing.
    return redirect(url_for("email_sign_in.code"), 303)


@bp.route("/login/email/code", methods=["GET", "POST"])
def code() -> ResponseReturnValue:
    """The code from the mail, typed into the browser that asked for it."""
    state = _state()
    if request.method == "GET":
        if state is None:
            return redirect(url_for("email_sign_in.start"))
        return _code_page(EmailCodeForm(formdata=None), state)
    if state is None:
        return _expired()
    form = EmailCodeForm()
    if not form.validate_on_submit():
        return _code_page(form, state, 400)
    handle, settings = state["handle"], _settings()
    row = email_sign_in.by_handle(handle)
    try:
        customer = context.guarded_code(
            lambda: email_sign_in.verify_code(handle, form.code.data, settings),
            customer=row.customer if row is not None else None,
            method=mfa.EMAIL_CODE.method,
            # The typed address, not the account: an unknown one is throttled the same way.
            account_key="email:" + email_sign_in.account_key(str(state.get("email", ""))),
        )
    except Throttled as exc:
        return _throttled(_code_page(form, state, throttled=context.too_many_attempts(exc)), exc)
    except AuthenticationFailed:
        form.code.errors = [
            _("That code is not right. Check the newest email we sent, or ask for a new code.")
        ]
        return _code_page(form, state, 401)
    db.session.commit()
    session.pop(STATE_KEY, None)
    return signin.first_factor_done(customer, mfa.EMAIL_CODE, state.get("next"))


@bp.route("/login/email/<token>", methods=["GET", "POST"])
def link(token: str) -> ResponseReturnValue:
    """The link from the mail: a button on GET, the sign-in on POST, in any browser."""
    form = CsrfForm()
    row = email_sign_in.by_link(token)
    if request.method == "GET" or not form.validate_on_submit():
        if row is None or not email_sign_in.is_live(row):
            return _link_page(form, token, None), 400
        status = 400 if request.method == "POST" else 200
        return _link_page(form, token, row.customer), status
    customer = email_sign_in.verify_link(token)
    if customer is None:
        events.record(
            EventTag.LOGIN_FAILURE,
            success=False,
            customer=row.customer if row is not None else None,
            meta=context.request_meta(),
            method=mfa.MAGIC_LINK.method,
            reason="bad_link",
        )
        db.session.commit()
        return _link_page(form, token, None), 400
    db.session.commit()
    # Opened in the browser that asked: carry on to where it was going.
    state = session.pop(STATE_KEY, None)
    next_url = state.get("next") if isinstance(state, dict) else None
    return signin.first_factor_done(customer, mfa.MAGIC_LINK, next_url)
