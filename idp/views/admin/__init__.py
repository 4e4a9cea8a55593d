"""The admin console (/admin): staff sign-in with a mandatory second factor, then the pages of
the company's side. A blueprint package of its own, with its own cookie (path /admin), its own
sessions and role checks (``guard``): nothing here trusts a customer's session."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.context_processor
def _console_globals() -> dict[str, object]:
    from idp.views.admin import guard
    from idp.views.forms import CsrfForm

    return {"current_admin": guard.current_admin, "admin_csrf_form": CsrfForm}


# The pages register their routes on ``bp`` when imported.
from idp.views.admin import (  # noqa: E402
    audit_log,
    auth,
    clients_pages,
    customer_pages,
    home,
    merge_pages,
    my_account,
    search_page,
    signals_page,
    staff_pages,
)

__all__ = [
    "audit_log",
    "auth",
    "bp",
    "clients_pages",
    "customer_pages",
    "home",
    "merge_pages",
    "my_account",
    "search_page",
    "signals_page",
    "staff_pages",
]
