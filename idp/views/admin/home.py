"""The console's front page: where to go next, for the signed-in admin's role."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from idp.models import AdminRole
from idp.views.admin import bp, guard


@bp.get("")
@bp.get("/")
@guard.role_required(AdminRole.VIEWER)
def home() -> ResponseReturnValue:
    return render_template("admin/home.html", admin=guard.signed_in_admin())
