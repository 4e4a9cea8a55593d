"""Finding a customer (/admin/customers): one box for an email, a phone in any format, a name,
a customer id or a source id; keyset pages; pick two results to compare and merge them."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from idp.errors import ValidationError
from idp.models import AdminRole
from idp.services.admin import search
from idp.views.admin import bp, guard

KINDS = [k.value for k in search.SearchKind]


@bp.get("/customers")
@guard.role_required(AdminRole.VIEWER)
def customers_search() -> ResponseReturnValue:
    query = request.args.get("q", "")
    kind = request.args.get("kind", "auto")
    kind = kind if kind in KINDS else "auto"
    after = request.args.get("after") or None
    page, error = None, None
    if query.strip():
        try:
            page = search.search(
                query, kind=kind, after=after, include_merged=bool(request.args.get("merged"))
            )
        except ValidationError as exc:
            error = "; ".join(str(message) for message in exc.errors.values())
    status = 400 if error else 200
    return (
        render_template(
            "admin/customers.html",
            query=query,
            kind=kind,
            kinds=KINDS,
            page=page,
            error=error,
            include_merged=bool(request.args.get("merged")),
        ),
        status,
    )
