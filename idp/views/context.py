"""Per-app service objects and the request-side glue: who is signed in, from where."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp import config as config_module
from idp.errors import Throttled
from idp.models import BrowserSession, Customer
from idp.services import RequestMeta, attempts, mail, mfa, sessions
from idp.services.accounts import LinkSettings
from idp.services.attempts import CodeLimits
from idp.services.authentication import LoginLimits
from idp.services.events import EventTag
from idp.services.mail import Mailer
from idp.services.throttle import Throttle
from idp.services.totp import TotpSettings

EXTENSION = "idp"
T = TypeVar("T")


def init_app(app: Flask) -> None:
    cfg = app.config
    app.extensions[EXTENSION] = {
        "throttle": Throttle(
            cfg["REDIS_URL"] or "memory://", namespace=cfg.get("THROTTLE_NAMESPACE", "idp")
        ),
        # The same object as ``mail.mailer(app)``, still found here by code that looks for it
        # under this key (the test helpers that wait for queued mail).
        "mailer": mail.mailer(app),
    }
    https = config_module.is_https(cfg)
    cfg["IDP_SESSION_COOKIE"] = "__Host-idp_session" if https else "idp_session"
    cfg["IDP_TRUSTED_COOKIE"] = "__Host-idp_trusted" if https else "idp_trusted"
    app.after_request(_write_session_cookie)
    app.after_request(_write_trusted_cookie)
    app.context_processor(_template_globals)


def _ext(name: str) -> Any:
    return current_app.extensions[EXTENSION][name]


def throttle() -> Throttle:
    return _ext("throttle")  # type: ignore[no-any-return]


def mailer() -> Mailer:
    return mail.mailer()


def link_settings() -> LinkSettings:
    cfg = current_app.config
    return LinkSettings(
        issuer=cfg["ISSUER"],
        secret_key=cfg["SECRET_KEY"],
        verify_max_age=cfg["EMAIL_LINK_MAX_AGE"],
        reset_max_age=cfg["RESET_LINK_MAX_AGE"],
    )


def login_limits() -> LoginLimits:
    cfg = current_app.config
    return LoginLimits(per_account=cfg["LOGIN_LIMIT_PER_ACCOUNT"], per_ip=cfg["LOGIN_LIMIT_PER_IP"])


def session_policy() -> sessions.SessionPolicy:
    cfg = current_app.config
    return sessions.SessionPolicy(
        idle=timedelta(seconds=cfg["SESSION_LIFETIME"]),
        absolute=timedelta(seconds=cfg["SESSION_ABSOLUTE_LIFETIME"]),
    )


def request_meta() -> RequestMeta:
    # A header is client input too: PostgreSQL text columns refuse NUL, so it never gets there.
    agent = (request.headers.get("User-Agent") or "").replace("\x00", "") or None
    return RequestMeta(ip=request.remote_addr, user_agent=agent)


def current_session() -> BrowserSession | None:
    if "idp_browser_session" not in g:
        raw = request.cookies.get(current_app.config["IDP_SESSION_COOKIE"])
        g.idp_browser_session = sessions.load(raw, policy=session_policy())
    return g.idp_browser_session  # type: ignore[no-any-return]


def current_customer() -> Customer | None:
    session = current_session()
    return session.customer if session is not None else None


def retry_minutes(exc: Throttled) -> int:
    """Whole minutes to tell a throttled person, rounded up so they never come back too soon."""
    return max(1, (exc.retry_after + 59) // 60)


def throttled_response(body: str, exc: Throttled) -> tuple[str, int, dict[str, str]]:
    """A page refused for too many attempts: 429 with the wait in Retry-After (RFC 6585 4)."""
    return body, 429, {"Retry-After": str(exc.retry_after)}


def too_many_attempts(exc: Throttled) -> str:
    return _("Too many attempts. Try again in %(n)d minutes.", n=retry_minutes(exc))


def signed_in_customer() -> Customer:
    """The customer of a view behind ``login_required``, where one is certain to exist."""
    customer = current_customer()
    assert customer is not None, "view is not behind login_required"
    return customer


def set_session_cookie(raw: str | None) -> None:
    """Queue the browser-session cookie for this response (None clears it)."""
    g.idp_set_session_cookie = raw if raw is not None else ""


def _write_session_cookie(response: Response) -> ResponseReturnValue:
    cfg = current_app.config
    return _write_cookie(
        response,
        "idp_set_session_cookie",
        cfg["IDP_SESSION_COOKIE"],
        cfg["SESSION_ABSOLUTE_LIFETIME"],
    )


def _write_cookie(response: Response, queued: str, name: str, max_age: int) -> Response:
    """Set (or clear, for an empty value) a cookie queued on ``g`` under ``queued``."""
    if queued not in g:
        return response
    secure = config_module.is_https(current_app.config)
    value = g.get(queued)
    if value:
        response.set_cookie(
            name, value, max_age=max_age, httponly=True, secure=secure, samesite="Lax", path="/"
        )
    else:
        response.delete_cookie(name, httponly=True, secure=secure, samesite="Lax", path="/")
    return response


def guarded_code(
    check: Callable[[], T | None], *, customer: Customer | None, method: str, **kw: Any
) -> T:
    """``attempts.guarded`` with this request's address, throttle and limits."""
    return attempts.guarded(
        check,
        customer=customer,
        method=method,
        meta=request_meta(),
        throttle=throttle(),
        limits=code_limits(),
        **kw,
    )


def factor_changed(
    customer: Customer, tag: EventTag, method: str, details: dict[str, object] | None = None
) -> None:
    """Record and mail a change of the customer's factors made by this request."""
    mfa.factor_changed(
        customer,
        tag,
        meta=request_meta(),
        mailer=mailer(),
        issuer=current_app.config["ISSUER"],
        method=method,
        details=details,
    )


def code_limits() -> CodeLimits:
    cfg = current_app.config
    return CodeLimits(per_account=cfg["MFA_LIMIT_PER_ACCOUNT"], per_ip=cfg["MFA_LIMIT_PER_IP"])


def trust_settings() -> mfa.TrustSettings:
    cfg = current_app.config
    return mfa.TrustSettings(
        secret_key=cfg["SECRET_KEY"], lifetime=timedelta(seconds=cfg["TRUSTED_BROWSER_LIFETIME"])
    )


def totp_settings() -> TotpSettings:
    cfg = current_app.config
    host = urlsplit(cfg["ISSUER"]).hostname or "idp"
    return TotpSettings(key=config_module.factor_encryption_key(cfg), issuer_name=host)


def trusted_cookie() -> str | None:
    return request.cookies.get(current_app.config["IDP_TRUSTED_COOKIE"])


def set_trusted_cookie(value: str | None) -> None:
    """Queue the remembered-browser cookie for this response (None clears it)."""
    g.idp_set_trusted_cookie = value if value is not None else ""


def _write_trusted_cookie(response: Response) -> ResponseReturnValue:
    cfg = current_app.config
    return _write_cookie(
        response,
        "idp_set_trusted_cookie",
        cfg["IDP_TRUSTED_COOKIE"],
        cfg["TRUSTED_BROWSER_LIFETIME"],
    )


def form_limit() -> str:
    return str(current_app.config["FORM_LIMIT_PER_IP"])


def _template_globals() -> dict[str, Any]:
    from flask_babel import get_locale

    def current_locale() -> str:
        locale = get_locale()
        return locale.language if locale is not None else "en"

    return {"current_customer": current_customer, "current_locale": current_locale}
