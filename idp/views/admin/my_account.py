"""The signed-in admin's own account (/admin/account): who they are, and a password change,
which ends their other console sessions."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idp.errors import ValidationError
from idp.extensions import db
from idp.models import AdminRole
from idp.services.admin import staff
from idp.views.admin import bp, guard
from idp.views.admin.forms import StaffPasswordForm


@bp.route("/account", methods=["GET", "POST"])
@guard.role_required(AdminRole.VIEWER, writes=False)
def my_account() -> ResponseReturnValue:
    admin = guard.signed_in_admin()
    form = StaffPasswordForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("admin/account.html", admin=admin, form=form), status
    row = guard.current_session()
    try:
        staff.change_password(
            admin,
            current=form.current_password.data,
            new=form.new_password.data,
            actor=guard.actor(),
            keep=row.id if row is not None else None,
        )
    except ValidationError as exc:
        for name, message in exc.errors.items():
            getattr(form, name, form.new_password).errors = [str(message)]
        return render_template("admin/account.html", admin=admin, form=form), 400
    db.session.commit()
    flash(_("Your password is changed; your other console sessions are signed out."), "success")
    return redirect(url_for(".my_account"), 303)
