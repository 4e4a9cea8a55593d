"""The console's mandatory second factor: an authenticator app set up at the first sign-in,
then a code at every sign-in. The code rules are the customers' (``services.totp``: one step
either side, each code once); the throttle keys are the console's own."""

from __future__ import annotations

from idp.errors import AuthenticationFailed
from idp.extensions import db
from idp.models import AdminUser
from idp.services import RequestMeta, audit, totp
from idp.services.attempts import CodeLimits
from idp.services.throttle import Throttle


def enrolled(admin: AdminUser) -> bool:
    return totp.confirmed(admin) is not None


def check(
    admin: AdminUser,
    code: str,
    *,
    meta: RequestMeta,
    throttle: Throttle,
    limits: CodeLimits,
    settings: totp.TotpSettings,
) -> None:
    """Accept ``code`` (enrolling the app when it is the first), or raise ``Throttled`` or
    ``AuthenticationFailed``; a miss is audited and committed, a success left to the caller."""
    ip = meta.ip or "unknown"
    throttle.check(limits.per_ip, "admin-code-ip", ip)
    throttle.check(limits.per_account, "admin-code-account", admin.public_id)
    first = not enrolled(admin)
    accepted = totp.confirm(admin, code, settings) if first else totp.verify(admin, code, settings)
    actor = audit.Actor.admin(admin, meta)
    if accepted is None:
        db.session.rollback()
        throttle.hit(limits.per_ip, "admin-code-ip", ip)
        throttle.hit(limits.per_account, "admin-code-account", admin.public_id)
        audit.record(
            actor, "admin.second_factor_failed", target_kind="admin", target_id=admin.public_id
        )
        db.session.commit()
        raise AuthenticationFailed()
    throttle.clear(limits.per_account, "admin-code-account", admin.public_id)
    if first:
        audit.record(
            actor,
            "admin.totp_enrolled",
            target_kind="admin",
            target_id=admin.public_id,
            after={"totp": True},
        )
