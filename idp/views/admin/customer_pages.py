"""The customer 360 page and the account actions on it. Every role reads the page; support and
admins act (``services.admin.account_actions``): each action is a small form posting here, then
a 303 back to the page. A refused action shows the page again with the reason, status 400."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from idp.config import LOCALES
from idp.errors import NotFound, ValidationError
from idp.extensions import db
from idp.models import AdminRole, Customer
from idp.services import customers
from idp.services.admin import account_actions, customer_360
from idp.services.admin.account_actions import Done
from idp.views import context
from idp.views.admin import bp, guard
from idp.views.admin.forms import ReasonForm
from idp.views.forms import REQUIRED, BaseForm, strip


def _optional(label: Any, size: int) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=size)], filters=[strip])


class OptionalReasonForm(BaseForm):
    reason = _optional(_l("Reason"), 500)


class RevokeAppForm(OptionalReasonForm):
    client_id = StringField(
        _l("Application"), validators=[DataRequired(REQUIRED), Length(max=64)], filters=[strip]
    )


class ProfileForm(OptionalReasonForm):
    email = _optional(_l("Email address"), 320)
    given_name = _optional(_l("Given name"), 100)
    family_name = _optional(_l("Family name"), 100)
    phone = _optional(_l("Phone"), 64)
    birthdate = _optional(_l("Date of birth"), 10)
    locale = _optional(_l("Language"), 10)


class LinkForm(BaseForm):
    source = StringField(
        _l("Source system"), validators=[DataRequired(REQUIRED), Length(max=64)], filters=[strip]
    )
    source_id = StringField(
        _l("Id in that system"),
        validators=[DataRequired(REQUIRED), Length(max=255)],
        filters=[strip],
    )


class UnlinkForm(LinkForm, OptionalReasonForm):
    pass


def _customer_or_404(public_id: str) -> Customer:
    # A NUL would reach PostgreSQL as an error, not as "nobody": such an id names no one.
    plausible = len(public_id) <= 64 and public_id.isprintable()
    found = customers.find_by_public_id(public_id) if plausible else None
    if found is None:
        abort(404)
    return found


def _message(errors: dict[str, Any]) -> str:
    parts = []
    for name, message in errors.items():
        text = " ".join(str(m) for m in message) if isinstance(message, list) else str(message)
        parts.append(f"{name}: {text}")
    return "; ".join(parts)


def _page(
    customer: Customer,
    filters: customer_360.TimelineFilter | None = None,
    *,
    status: int = 200,
    error: str | None = None,
) -> ResponseReturnValue:
    return (
        render_template(
            "admin/customer.html",
            page=customer_360.read(customer, filters),
            channels=customer_360.CHANNELS,
            kinds=customer_360.KINDS,
            locales=LOCALES,
            error=error,
            can_act=guard.signed_in_admin().allows(AdminRole.SUPPORT),
        ),
        status,
    )


@bp.get("/customers/<public_id>")
@guard.role_required(AdminRole.VIEWER)
def customer_page(public_id: str) -> ResponseReturnValue:
    customer = _customer_or_404(public_id)
    try:
        filters = customer_360.parse_filter(
            channel=request.args.get("channel"),
            client_id=request.args.get("client"),
            kind=request.args.get("kind"),
            before=request.args.get("before"),
        )
    except ValidationError as exc:
        return _page(customer, status=400, error=_message(exc.errors))
    return _page(customer, filters)


def _act(
    public_id: str,
    form: BaseForm,
    run: Callable[[Customer], object],
    done_message: str,
) -> ResponseReturnValue:
    """Check the form, run the action, commit, then send what it queued and commit that."""
    customer = _customer_or_404(public_id)
    if not form.validate_on_submit():
        return _page(customer, status=400, error=_message(form.errors))
    try:
        result = run(customer)
    except (ValidationError, NotFound) as exc:
        db.session.rollback()
        message = _message(exc.errors) if isinstance(exc, ValidationError) else _("Not found.")
        return _page(_customer_or_404(public_id), status=400, error=message)
    db.session.commit()
    if isinstance(result, Done):
        result.after_commit()
        db.session.commit()
        if not result.changed:
            flash(_("Nothing to change."), "success")
            return redirect(url_for(".customer_page", public_id=public_id), 303)
    flash(done_message, "success")
    return redirect(url_for(".customer_page", public_id=public_id), 303)


def _links() -> dict[str, Any]:
    return {"mailer": context.mailer(), "settings": context.link_settings()}


@bp.post("/customers/<public_id>/disable")
@guard.role_required(AdminRole.SUPPORT)
def customer_disable(public_id: str) -> ResponseReturnValue:
    form = ReasonForm()
    return _act(
        public_id,
        form,
        lambda c: account_actions.disable(c, actor=guard.actor(), reason=form.reason.data),
        _("The account is disabled and signed out everywhere."),
    )


@bp.post("/customers/<public_id>/enable")
@guard.role_required(AdminRole.SUPPORT)
def customer_enable(public_id: str) -> ResponseReturnValue:
    form = OptionalReasonForm()
    return _act(
        public_id,
        form,
        lambda c: account_actions.enable(c, actor=guard.actor(), reason=form.reason.data),
        _("The account is enabled."),
    )


@bp.post("/customers/<public_id>/sign-out")
@guard.role_required(AdminRole.SUPPORT)
def customer_sign_out(public_id: str) -> ResponseReturnValue:
    form = OptionalReasonForm()
    return _act(
        public_id,
        form,
        lambda c: account_actions.sign_out_everywhere(
            c, actor=guard.actor(), reason=form.reason.data
        ),
        _("Signed out everywhere: every session ended and every app's tokens revoked."),
    )


@bp.post("/customers/<public_id>/revoke-app")
@guard.role_required(AdminRole.SUPPORT)
def customer_revoke_app(public_id: str) -> ResponseReturnValue:
    form = RevokeAppForm()
    return _act(
        public_id,
        form,
        lambda c: account_actions.revoke_app(
            c, form.client_id.data, actor=guard.actor(), reason=form.reason.data
        ),
        _("The application can no longer use this account."),
    )


@bp.post("/customers/<public_id>/reset-password")
@guard.role_required(AdminRole.SUPPORT)
def customer_reset_password(public_id: str) -> ResponseReturnValue:
    form = OptionalReasonForm()
    return _act(
        public_id,
        form,
        lambda c: account_actions.send_password_reset(
            c, actor=guard.actor(), reason=form.reason.data, **_links()
        ),
        _("A password reset link is on its way to the customer."),
    )


@bp.post("/customers/<public_id>/reset-factors")
@guard.role_required(AdminRole.SUPPORT)
def customer_reset_factors(public_id: str) -> ResponseReturnValue:
    form = ReasonForm()
    return _act(
        public_id,
        form,
        lambda c: account_actions.reset_factors(
            c,
            actor=guard.actor(),
            reason=form.reason.data,
            mailer=context.mailer(),
            issuer=current_app.config["ISSUER"],
        ),
        _("Every second factor is removed; the customer was mailed."),
    )


@bp.post("/customers/<public_id>/resend-verification")
@guard.role_required(AdminRole.SUPPORT)
def customer_resend_verification(public_id: str) -> ResponseReturnValue:
    form = OptionalReasonForm()
    return _act(
        public_id,
        form,
        lambda c: account_actions.resend_verification(
            c, actor=guard.actor(), reason=form.reason.data, **_links()
        ),
        _("A new confirmation link is on its way to the customer."),
    )


@bp.post("/customers/<public_id>/profile")
@guard.role_required(AdminRole.SUPPORT)
def customer_profile(public_id: str) -> ResponseReturnValue:
    form = ProfileForm()
    # Only the fields the form sent: a missing field is left as it is, an empty one cleared.
    sent = [name for name in account_actions.EDITABLE if name in request.form]
    return _act(
        public_id,
        form,
        lambda c: account_actions.edit_profile(
            c,
            {name: getattr(form, name).data for name in sent},
            actor=guard.actor(),
            reason=form.reason.data,
            **_links(),
        ),
        _("Saved."),
    )


@bp.post("/customers/<public_id>/link")
@guard.role_required(AdminRole.SUPPORT)
def customer_link(public_id: str) -> ResponseReturnValue:
    form = LinkForm()
    return _act(
        public_id,
        form,
        lambda c: account_actions.link_account(
            c, form.source.data, form.source_id.data, actor=guard.actor()
        ),
        _("The account is linked."),
    )


@bp.post("/customers/<public_id>/unlink")
@guard.role_required(AdminRole.SUPPORT)
def customer_unlink(public_id: str) -> ResponseReturnValue:
    form = UnlinkForm()
    return _act(
        public_id,
        form,
        lambda c: account_actions.unlink_account(
            c, form.source.data, form.source_id.data, actor=guard.actor(), reason=form.reason.data
        ),
        _("The account is unlinked."),
    )
