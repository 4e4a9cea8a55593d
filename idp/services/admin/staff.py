"""Staff accounts: created by an operator or another admin, signed in with a password and a
mandatory second factor, disabled (never deleted, so the audit log keeps naming them).

A staff sign-in is throttled like a customer's, with its own keys, and an unknown email costs
the same argon2 work as a wrong password (no enumeration of staff).
"""

from __future__ import annotations

from idp import security
from idp.errors import AccountDisabled, AuthenticationFailed, NotFound, Throttled, ValidationError
from idp.extensions import db
from idp.models import AdminRole, AdminStatus, AdminUser
from idp.models.types import utcnow
from idp.services import RequestMeta, audit, authentication, customers
from idp.services.admin import console_sessions
from idp.services.authentication import LoginLimits
from idp.services.throttle import Throttle


def _role(role: str) -> AdminRole:
    try:
        return AdminRole(role)
    except ValueError:
        raise ValidationError(
            {"role": f"{role!r} is not a role: use {', '.join(r.value for r in AdminRole)}"}
        ) from None


def find_by_email(email: str) -> AdminUser | None:
    try:
        key = customers.normalize_email(email)[1]
    except ValidationError:
        return None
    return db.session.execute(
        db.select(AdminUser).where(AdminUser.email_normalized == key)
    ).scalar_one_or_none()


def get(public_id: str) -> AdminUser:
    found = db.session.execute(
        db.select(AdminUser).where(AdminUser.public_id == public_id)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(public_id)
    return found


def find(identifier: str) -> AdminUser:
    """A staff account by email or public id."""
    found = find_by_email(identifier) if "@" in identifier else None
    if found is None and "\x00" not in identifier:
        found = db.session.execute(
            db.select(AdminUser).where(AdminUser.public_id == identifier.strip())
        ).scalar_one_or_none()
    if found is None:
        raise NotFound(identifier)
    return found


def create(*, email: str, role: str, password: str, actor: audit.Actor) -> AdminUser:
    """A new staff account; its second factor is set up at its first sign-in."""
    shown, key = customers.normalize_email(email)
    chosen = _role(role)
    customers.check_password(password, email=shown)
    if find_by_email(shown) is not None:
        raise ValidationError({"email": "A staff account with this email already exists."})
    admin = AdminUser(
        email=shown,
        email_normalized=key,
        password_hash=security.hash_password(password),
        role=chosen.value,
    )
    db.session.add(admin)
    db.session.flush()
    audit.record(
        actor,
        "admin.created",
        target_kind="admin",
        target_id=admin.public_id,
        after={"email": shown, "role": chosen.value},
    )
    return admin


def listing() -> list[AdminUser]:
    return list(db.session.execute(db.select(AdminUser).order_by(AdminUser.email)).scalars())


def disable(admin: AdminUser, *, actor: audit.Actor, reason: str | None = None) -> AdminUser:
    """Switch a staff account off and end its console sessions at once."""
    if admin.status == AdminStatus.DISABLED:
        return admin
    admin.status = AdminStatus.DISABLED
    admin.disabled_at = utcnow()
    console_sessions.end_all(admin)
    audit.record(
        actor,
        "admin.disabled",
        target_kind="admin",
        target_id=admin.public_id,
        before={"status": AdminStatus.ACTIVE.value},
        after={"status": AdminStatus.DISABLED.value},
        reason=reason,
    )
    return admin


def set_role(admin: AdminUser, role: str, *, actor: audit.Actor) -> AdminUser:
    chosen = _role(role)
    if admin.role != chosen.value:
        before = admin.role
        admin.role = chosen.value
        audit.record(
            actor,
            "admin.role_changed",
            target_kind="admin",
            target_id=admin.public_id,
            before={"role": before},
            after={"role": chosen.value},
        )
    return admin


def authenticate(
    email: str, password: str, *, meta: RequestMeta, throttle: Throttle, limits: LoginLimits
) -> AdminUser:
    """The staff account whose email and password these are (first factor only)."""
    # The customers' rule: another spelling of one address gets no new tries.
    account_key = authentication.account_key(email)
    ip_key = meta.ip or "unknown"
    throttle.check(limits.per_ip, "admin-login-ip", ip_key)
    throttle.check(limits.per_account, "admin-login-account", account_key)
    admin = find_by_email(email)
    if admin is None:
        security.burn_password_check(password)
        ok = False
    else:
        ok = security.verify_password(admin.password_hash, password)
    actor = audit.Actor(audit.ActorKind.ADMIN, admin.public_id if admin else None, email, meta)
    if not ok or admin is None:
        throttle.hit(limits.per_ip, "admin-login-ip", ip_key)
        throttle.hit(limits.per_account, "admin-login-account", account_key)
        audit.record(actor, "admin.sign_in_failed", reason="wrong email or password")
        db.session.commit()
        raise AuthenticationFailed()
    if not admin.is_active:
        audit.record(actor, "admin.sign_in_failed", reason="disabled")
        db.session.commit()
        raise AccountDisabled()
    if security.password_needs_rehash(admin.password_hash):
        admin.password_hash = security.hash_password(password)
    throttle.clear(limits.per_account, "admin-login-account", account_key)
    return admin


__all__ = [
    "Throttled",
    "authenticate",
    "change_password",
    "create",
    "disable",
    "find",
    "find_by_email",
    "get",
    "listing",
    "set_role",
]


def change_password(
    admin: AdminUser, *, current: str, new: str, actor: audit.Actor, keep: int | None = None
) -> None:
    """Replace the admin's password after checking the current one; every other console
    session of theirs ends (``keep`` is the session id that made the change)."""
    if not security.verify_password(admin.password_hash, current):
        raise ValidationError({"current_password": "This is not your current password."})
    customers.check_password(new, email=admin.email, field="new_password")
    admin.password_hash = security.hash_password(new)
    ended = console_sessions.end_all(admin, keep=keep)
    audit.record(
        actor,
        "admin.password_changed",
        target_kind="admin",
        target_id=admin.public_id,
        after={"other_sessions_ended": ended},
    )
