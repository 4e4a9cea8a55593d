"""Who is signed in to the console, and what they may do.

The cookie is apart from the customer's: its own name, ``Path=/admin``, ``SameSite=Strict``,
HttpOnly, Secure on https. A session proves the password first; until its second factor is
done it reaches the second-factor pages only. Roles are checked per view (``role_required``)
and, for every state-changing request, again by method: a viewer's POST is refused whatever
the view says.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import abort, current_app, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from idp import config as config_module
from idp.models import AdminRole, AdminSession, AdminUser
from idp.services import audit
from idp.services.admin import console_sessions
from idp.views import context

COOKIE_PATH = "/admin"


def cookie_name() -> str:
    # __Host- needs Path=/; __Secure- still says "only ever set over https".
    return "__Secure-idp_admin" if config_module.is_https(current_app.config) else "idp_admin"


def policy() -> console_sessions.ConsolePolicy:
    cfg = current_app.config
    return console_sessions.ConsolePolicy(
        idle=timedelta(seconds=cfg["ADMIN_IDLE_TIMEOUT"]),
        absolute=timedelta(seconds=cfg["ADMIN_SESSION_LIFETIME"]),
    )


def current_session() -> AdminSession | None:
    if "idp_admin_session" not in g:
        raw = request.cookies.get(cookie_name())
        g.idp_admin_session = console_sessions.load(raw, policy=policy())
    return g.idp_admin_session  # type: ignore[no-any-return]


def current_admin() -> AdminUser | None:
    """The admin of a fully signed-in session (both factors), else None."""
    row = current_session()
    return row.admin if row is not None and row.second_factor_at is not None else None


def signed_in_admin() -> AdminUser:
    admin = current_admin()
    assert admin is not None, "view is not behind role_required"
    return admin


def actor() -> audit.Actor:
    """The audit actor of this request: the signed-in admin, from this address."""
    return audit.Actor.admin(signed_in_admin(), context.request_meta())


def set_cookie(response: Response, raw: str | None) -> Response:
    secure = config_module.is_https(current_app.config)
    if raw:
        response.set_cookie(
            cookie_name(),
            raw,
            max_age=current_app.config["ADMIN_SESSION_LIFETIME"],
            path=COOKIE_PATH,
            httponly=True,
            secure=secure,
            samesite="Strict",
        )
    else:
        response.delete_cookie(
            cookie_name(), path=COOKIE_PATH, httponly=True, secure=secure, samesite="Strict"
        )
    return response


def role_required(
    needed: AdminRole, *, writes: bool = True
) -> Callable[[Callable[..., ResponseReturnValue]], Callable[..., ResponseReturnValue]]:
    """Signed in with both factors and holding ``needed`` (or a role above it).

    ``writes=False`` only for a view whose POST changes the admin's own account (a password),
    which a viewer may do too; every other POST needs support at least."""

    def decorate(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            row = current_session()
            if row is None:
                if request.method == "GET":
                    return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
                abort(401)
            if row.second_factor_at is None:
                return redirect(url_for("admin.second_factor"))
            admin = row.admin
            # A viewer reads: any state-changing request needs support at least.
            changes = request.method not in ("GET", "HEAD") and writes
            if changes and not admin.allows(AdminRole.SUPPORT):
                abort(403)
            if not admin.allows(needed):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate
