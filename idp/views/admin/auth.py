"""Console sign-in: password, then the authenticator app (set up at the first sign-in), then a
fresh session id (no fixation across the two steps); sign-out ends the session row."""

from __future__ import annotations

import segno
from flask import flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idp.errors import AuthenticationFailed, Throttled
from idp.extensions import db
from idp.models.types import utcnow
from idp.services import audit, totp
from idp.services.admin import console_sessions, second_factor, staff
from idp.views import context
from idp.views.admin import bp, guard
from idp.views.admin.forms import AdminCodeForm, AdminLoginForm
from idp.views.forms import CsrfForm
from idp.views.redirects import safe_next


def _next(value: str | None) -> str:
    """Only a console page: a sign-in must not carry the admin anywhere else."""
    target = safe_next(value, default=url_for("admin.home"))
    return target if target.startswith("/admin") else url_for("admin.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = AdminLoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("admin/login.html", form=form), status
    meta = context.request_meta()
    try:
        admin = staff.authenticate(
            form.email.data,
            form.password.data,
            meta=meta,
            throttle=context.throttle(),
            limits=context.login_limits(),
        )
    except Throttled as exc:
        body = render_template(
            "admin/login.html", form=form, throttled=context.too_many_attempts(exc)
        )
        return context.throttled_response(body, exc)
    except AuthenticationFailed:
        # Disabled, unknown or wrong: one answer, so the page tells nobody who is staff.
        form.form_errors.append(_("Wrong email or password."))
        return render_template("admin/login.html", form=form), 400
    raw, _row = console_sessions.start(admin, meta=meta, policy=guard.policy())
    db.session.commit()
    response = make_response(redirect(url_for("admin.second_factor", next=_next(form.next.data))))
    return guard.set_cookie(response, raw)


# Endpoint named for the step; the function is not, since it calls the service of that name.
@bp.route("/second-factor", methods=["GET", "POST"], endpoint="second_factor")
def second_factor_step() -> ResponseReturnValue:
    row = guard.current_session()
    if row is None:
        return redirect(url_for("admin.login"))
    if row.second_factor_at is not None:
        return redirect(url_for("admin.home"))
    admin = row.admin
    settings = context.totp_settings()
    enrolling = not second_factor.enrolled(admin)
    form = AdminCodeForm()
    next_url = _next(request.args.get("next"))

    def page(status: int, **extra: object) -> tuple[str, int]:
        ctx: dict[str, object] = {"form": form, "enrolling": enrolling, "next_url": next_url}
        if enrolling:
            enrollment = totp.enrollment(admin, settings)
            secret = enrollment.secret
            ctx["secret"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
            ctx["qr"] = segno.make(enrollment.uri, error="m").svg_data_uri(scale=5, border=2)
        return render_template("admin/second_factor.html", **ctx, **extra), status

    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    meta = context.request_meta()
    try:
        second_factor.check(
            admin,
            form.code.data,
            meta=meta,
            throttle=context.throttle(),
            limits=context.code_limits(),
            settings=settings,
        )
    except Throttled as exc:
        body, _status = page(429, throttled=context.too_many_attempts(exc))
        return context.throttled_response(body, exc)
    except AuthenticationFailed:
        form.code.errors = [
            _("That code is not right. Check the time on your phone and try the next one.")
        ]
        return page(400)
    # Both factors proven: a new session id, the half-proven one ended.
    console_sessions.end(row)
    raw, fresh = console_sessions.start(admin, meta=meta, policy=guard.policy())
    console_sessions.second_factor_done(fresh)
    admin.last_sign_in_at = utcnow()
    audit.record(
        audit.Actor.admin(admin, meta),
        "admin.signed_in",
        target_kind="admin",
        target_id=admin.public_id,
    )
    db.session.commit()
    return guard.set_cookie(make_response(redirect(next_url)), raw)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    row = guard.current_session()
    if CsrfForm().validate_on_submit() and row is not None:
        console_sessions.end(row)
        if row.second_factor_at is not None:
            audit.record(
                audit.Actor.admin(row.admin, context.request_meta()),
                "admin.signed_out",
                target_kind="admin",
                target_id=row.admin.public_id,
            )
        db.session.commit()
        flash(_("You are signed out."), "success")
    return guard.set_cookie(make_response(redirect(url_for("admin.login"))), None)
