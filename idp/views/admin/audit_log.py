"""The audit log, newest first, filtered by actor, target or action; read-only by design (the
database refuses edits, see ``idp.models.audit``)."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from idp.models import AdminRole
from idp.services import audit
from idp.views.admin import bp, guard


def _text(name: str, limit: int = 64) -> str | None:
    value = (request.args.get(name) or "").strip()
    if not value or len(value) > limit or "\x00" in value:
        return None
    return value


@bp.get("/audit")
@guard.role_required(AdminRole.VIEWER)
def audit_page() -> ResponseReturnValue:
    before = request.args.get("before", "")
    page = audit.entries(
        target_kind=_text("target_kind", 32),
        target_id=_text("target_id"),
        actor_id=_text("actor_id"),
        action=_text("action"),
        before_id=int(before) if before.isdigit() and len(before) < 19 else None,
    )
    filters = {
        k: v
        for k in ("target_kind", "target_id", "actor_id", "action")
        if (v := _text(k)) is not None
    }
    return render_template("admin/audit.html", page=page, filters=filters)
