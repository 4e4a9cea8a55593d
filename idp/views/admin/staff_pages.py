"""Staff accounts on the console (role admin): list, create (a first password shown once),
change a role, disable. The same service as ``idp admins``: one rule, two doors."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idp import security
from idp.errors import NotFound, ValidationError
from idp.extensions import db
from idp.models import AdminRole, AdminUser
from idp.services import totp
from idp.services.admin import staff
from idp.views.admin import bp, guard
from idp.views.admin.forms import NewStaffForm, ReasonForm, RoleForm


def _staff_or_404(public_id: str) -> AdminUser:
    try:
        return staff.get(public_id)
    except NotFound:
        abort(404)


def _listing_page(form: NewStaffForm, status: int = 200, **extra: object) -> ResponseReturnValue:
    admins = staff.listing()
    enrolled = {a.id for a in admins if totp.confirmed(a) is not None}
    return (
        render_template(
            "admin/staff.html",
            admins=admins,
            enrolled=enrolled,
            form=form,
            role_form=RoleForm(),
            reason_form=ReasonForm(),
            me=guard.signed_in_admin(),
            **extra,
        ),
        status,
    )


@bp.get("/staff")
@guard.role_required(AdminRole.ADMIN)
def staff_list() -> ResponseReturnValue:
    return _listing_page(NewStaffForm())


@bp.post("/staff")
@guard.role_required(AdminRole.ADMIN)
def staff_create() -> ResponseReturnValue:
    form = NewStaffForm()
    if not form.validate_on_submit():
        return _listing_page(form, 400)
    # A first password, shown once: the new colleague signs in with it and sets up a factor.
    password = security.random_token(18)
    try:
        admin = staff.create(
            email=form.email.data, role=form.role.data, password=password, actor=guard.actor()
        )
    except ValidationError as exc:
        for name, message in exc.errors.items():
            getattr(form, name, form.email).errors = [message]
        return _listing_page(form, 400)
    db.session.commit()
    return _listing_page(NewStaffForm(formdata=None), 200, created=admin, password=password)


@bp.post("/staff/<public_id>/role")
@guard.role_required(AdminRole.ADMIN)
def staff_role(public_id: str) -> ResponseReturnValue:
    admin = _staff_or_404(public_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    if admin.id == guard.signed_in_admin().id:
        flash(_("You cannot change your own role."), "error")
        return redirect(url_for(".staff_list"))
    staff.set_role(admin, form.role.data, actor=guard.actor())
    db.session.commit()
    flash(_("%(email)s is now %(role)s.", email=admin.email, role=admin.role), "success")
    return redirect(url_for(".staff_list"))


@bp.post("/staff/<public_id>/disable")
@guard.role_required(AdminRole.ADMIN)
def staff_disable(public_id: str) -> ResponseReturnValue:
    admin = _staff_or_404(public_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Say why, for the audit log."), "error")
        return redirect(url_for(".staff_list"), 303)
    if admin.id == guard.signed_in_admin().id:
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for(".staff_list"), 303)
    staff.disable(admin, actor=guard.actor(), reason=form.reason.data)
    db.session.commit()
    flash(_("%(email)s can no longer sign in.", email=admin.email), "success")
    return redirect(url_for(".staff_list"), 303)
