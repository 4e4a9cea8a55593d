"""The signed-in customer's own pages: profile overview, password, email verification."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idp.errors import AuthenticationFailed, Throttled, ValidationError
from idp.services import accounts, sessions
from idp.views import context
from idp.views.forms import ChangePasswordForm, ResendVerificationForm

bp = Blueprint("account", __name__, url_prefix="/account")


def login_required(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if context.current_customer() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


@bp.get("")
@login_required
def home() -> ResponseReturnValue:
    customer = context.signed_in_customer()
    return render_template(
        "account/home.html",
        customer=customer,
        resend_form=ResendVerificationForm(),
        sessions=sessions.live_sessions(customer),
        current=context.current_session(),
    )


@bp.post("/verify-email")
@login_required
def resend_verification() -> ResponseReturnValue:
    customer = context.signed_in_customer()
    form = ResendVerificationForm()
    if form.validate_on_submit() and not customer.email_verified:
        try:
            context.throttle().check(context.form_limit(), "verify-resend", customer.public_id)
        except Throttled as exc:
            flash(context.too_many_attempts(exc), "error")
            return redirect(url_for("account.home"))
        context.throttle().hit(context.form_limit(), "verify-resend", customer.public_id)
        accounts.send_verification(
            customer, mailer=context.mailer(), settings=context.link_settings()
        )
        flash(_("We sent a new confirmation link to %(email)s.", email=customer.email), "success")
    return redirect(url_for("account.home"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    customer = context.signed_in_customer()
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("account/password.html", form=form), status
    try:
        context.throttle().check(
            context.login_limits().per_account, "login-account", customer.email_normalized
        )
        accounts.change_password(
            customer,
            form.current_password.data,
            form.password.data,
            keep=context.current_session(),
            meta=context.request_meta(),
            mailer=context.mailer(),
            settings=context.link_settings(),
        )
    except Throttled as exc:
        form.form_errors.append(context.too_many_attempts(exc))
        return context.throttled_response(render_template("account/password.html", form=form), exc)
    except AuthenticationFailed:
        context.throttle().hit(
            context.login_limits().per_account, "login-account", customer.email_normalized
        )
        form.current_password.errors = [_("Your current password is not correct.")]
        return render_template("account/password.html", form=form), 400
    except ValidationError as exc:
        for name, message in exc.errors.items():
            getattr(form, name).errors = [message]
        return render_template("account/password.html", form=form), 400
    flash(_("Your password has been changed. Your other sessions were signed out."), "success")
    return redirect(url_for("account.home"))
