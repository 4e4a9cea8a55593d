"""Sign up, sign in, sign out, email verification and password reset pages."""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _

from idp.errors import (
    AccountDisabled,
    AuthenticationFailed,
    InvalidLink,
    Throttled,
    ValidationError,
)
from idp.extensions import db
from idp.oauth import logout as rp_logout
from idp.services import accounts, authentication, events, mfa
from idp.services import logout as logout_service
from idp.services.events import EventTag
from idp.views import context, signin
from idp.views.forms import (
    ForgotPasswordForm,
    LoginForm,
    LogoutForm,
    ResetPasswordForm,
    SignupForm,
)
from idp.views.redirects import safe_next

bp = Blueprint("auth", __name__)


def _field_errors(form: object, error: ValidationError) -> None:
    for name, message in error.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]


def _throttled_page(exc: Throttled, template: str, **ctx: object) -> ResponseReturnValue:
    body = render_template(template, throttled=context.too_many_attempts(exc), **ctx)
    return context.throttled_response(body, exc)


@bp.get("/")
def index() -> ResponseReturnValue:
    return redirect(
        url_for("account.home") if context.current_customer() else url_for("auth.login")
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
        if request.args.get("login_hint") and len(request.args["login_hint"]) <= 320:
            form.email.data = request.args["login_hint"]
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/login.html", form=form), status
    try:
        customer = authentication.authenticate_password(
            form.email.data,
            form.password.data,
            meta=context.request_meta(),
            throttle=context.throttle(),
            limits=context.login_limits(),
        )
    except Throttled as exc:
        return _throttled_page(exc, "auth/login.html", form=form)
    except AccountDisabled:
        form.form_errors.append(_("This account is disabled. Contact customer service."))
        return render_template("auth/login.html", form=form), 403
    except AuthenticationFailed:
        form.form_errors.append(_("Incorrect email or password."))
        return render_template("auth/login.html", form=form), 401

    return signin.first_factor_done(customer, mfa.PASSWORD, form.next.data)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> ResponseReturnValue:
    """Sign-out page and OIDC ``end_session_endpoint`` (RP-Initiated Logout 1.0) in one."""
    try:
        rp = rp_logout.parse(request.values)
    except rp_logout.LogoutRequestError as exc:
        body = render_template("oauth/error.html", error="invalid_request", description=str(exc))
        return body, 400
    form = LogoutForm()
    browser_session = context.current_session()
    confirmed = request.method == "POST" and form.validate_on_submit()
    if not confirmed and not (rp is not None and rp.names_session(browser_session)):
        if browser_session is None:
            return _after_logout(rp)
        return render_template("auth/logout.html", form=form, rp=rp)
    if browser_session is not None:
        meta = context.request_meta()
        logout_service.end_session(
            browser_session, meta=meta, client_id=rp.client.client_id if rp and rp.client else None
        )
        for delivery in rp_logout.notify_backchannel(browser_session):
            events.record(
                EventTag.BACKCHANNEL_LOGOUT_SENT
                if delivery.ok
                else EventTag.BACKCHANNEL_LOGOUT_FAILED,
                success=delivery.ok,
                customer=browser_session.customer,
                meta=meta,
                client_id=delivery.client_id,
                reason=None if delivery.ok else f"status {delivery.status}",
            )
        db.session.commit()
    signin.clear_flask_session(keep=("ui_locale",))
    context.set_session_cookie(None)
    return _after_logout(rp)


def _after_logout(rp: rp_logout.LogoutRequest | None) -> ResponseReturnValue:
    if rp is not None and rp.post_logout_redirect_uri:
        params = {"state": rp.state} if rp.state else {}
        return redirect(add_params_to_uri(rp.post_logout_redirect_uri, params))
    flash(_("You are signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    form = SignupForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/signup.html", form=form), status
    try:
        context.throttle().check(
            context.form_limit(), "signup-ip", context.request_meta().ip or "unknown"
        )
        context.throttle().hit(
            context.form_limit(), "signup-ip", context.request_meta().ip or "unknown"
        )
        accounts.sign_up(
            accounts.SignUp(
                email=form.email.data,
                password=form.password.data,
                given_name=form.given_name.data,
                family_name=form.family_name.data,
                locale=_current_locale(),
            ),
            meta=context.request_meta(),
            mailer=context.mailer(),
            settings=context.link_settings(),
        )
    except Throttled as exc:
        return _throttled_page(exc, "auth/signup.html", form=form)
    except ValidationError as exc:
        _field_errors(form, exc)
        return render_template("auth/signup.html", form=form), 400
    return render_template("auth/check_email.html", email=form.email.data, purpose="signup")


def _current_locale() -> str | None:
    locale = get_locale()
    return str(locale.language) if locale is not None else None


@bp.get("/verify-email/<token>")
def verify_email(token: str) -> ResponseReturnValue:
    try:
        customer = accounts.verify_email(
            token, meta=context.request_meta(), settings=context.link_settings()
        )
    except InvalidLink:
        return render_template("auth/link_invalid.html", purpose="verify"), 400
    return render_template("auth/email_verified.html", customer=customer)


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/forgot_password.html", form=form), status
    ip = context.request_meta().ip or "unknown"
    try:
        context.throttle().check(context.form_limit(), "reset-ip", ip)
        context.throttle().check(context.form_limit(), "reset-account", form.email.data.casefold())
    except Throttled as exc:
        return _throttled_page(exc, "auth/forgot_password.html", form=form)
    context.throttle().hit(context.form_limit(), "reset-ip", ip)
    context.throttle().hit(context.form_limit(), "reset-account", form.email.data.casefold())
    accounts.request_password_reset(
        form.email.data,
        meta=context.request_meta(),
        mailer=context.mailer(),
        settings=context.link_settings(),
    )
    return render_template("auth/check_email.html", email=form.email.data, purpose="reset")


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    try:
        customer = accounts.check_reset_link(token, settings=context.link_settings())
    except InvalidLink:
        return render_template("auth/link_invalid.html", purpose="reset"), 400
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/reset_password.html", form=form, customer=customer), status
    try:
        accounts.reset_password(
            token,
            form.password.data,
            meta=context.request_meta(),
            mailer=context.mailer(),
            settings=context.link_settings(),
        )
    except InvalidLink:
        return render_template("auth/link_invalid.html", purpose="reset"), 400
    except ValidationError as exc:
        _field_errors(form, exc)
        return render_template("auth/reset_password.html", form=form, customer=customer), 400
    signin.clear_flask_session(keep=("ui_locale",))
    context.set_session_cookie(None)
    flash(_("Your password has been changed. Sign in with your new password."), "success")
    return redirect(url_for("auth.login"))
