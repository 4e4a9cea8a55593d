"""The one function that writes a customer's login history, and the tags it may use."""

from __future__ import annotations

from enum import StrEnum

from idp.extensions import db
from idp.models import Customer, LoginEvent
from idp.services import RequestMeta


class EventTag(StrEnum):
    LOGIN_SUCCESS = "customer:login:success"
    LOGIN_FAILURE = "customer:login:failure"
    LOGOUT = "customer:logout"
    SIGNUP = "customer:signup"
    EMAIL_VERIFIED = "customer:email:verified"
    PASSWORD_CHANGED = "customer:password:changed"
    PASSWORD_RESET_REQUESTED = "customer:password:reset_requested"
    PASSWORD_RESET = "customer:password:reset"
    STEP_UP = "customer:login:step_up"
    EMAIL_SIGN_IN_SENT = "customer:login:email_sent"
    TOTP_ENABLED = "customer:mfa:totp_enabled"
    TOTP_DISABLED = "customer:mfa:totp_disabled"
    PASSKEY_ADDED = "customer:mfa:passkey_added"
    PASSKEY_REMOVED = "customer:mfa:passkey_removed"
    RECOVERY_CODES_GENERATED = "customer:mfa:recovery_codes_generated"
    RECOVERY_CODE_USED = "customer:mfa:recovery_code_used"
    BROWSER_REMEMBERED = "customer:mfa:browser_remembered"
    BROWSERS_FORGOTTEN = "customer:mfa:browsers_forgotten"
    MFA_RESET = "customer:mfa:reset"
    CODE_ISSUED = "oauth:code:issued"
    CODE_REPLAYED = "oauth:code:replayed"
    TOKEN_ISSUED = "oauth:token:issued"
    TOKEN_REFRESHED = "oauth:token:refreshed"
    REFRESH_REUSED = "oauth:refresh:reused"
    TOKEN_REVOKED = "oauth:token:revoked"
    CONSENT_GRANTED = "oauth:consent:granted"
    CONSENT_WITHDRAWN = "oauth:consent:withdrawn"
    AUTHORIZATION_DENIED = "oauth:authorization:denied"
    BACKCHANNEL_LOGOUT_SENT = "oauth:backchannel_logout:sent"
    BACKCHANNEL_LOGOUT_FAILED = "oauth:backchannel_logout:failed"
    DEVICE_APPROVED = "oauth:device:approved"
    DEVICE_REMOVED = "oauth:device:removed"
    DEVICE_CODE_REPLAYED = "oauth:device_code:replayed"
    USER_CODE_REJECTED = "oauth:user_code:rejected"
    # The unified record (services.records): merges, their undo, accounts in other systems.
    CUSTOMER_MERGED = "customer:merged"
    MERGE_UNDONE = "customer:merge_undone"
    MARKED_DISTINCT = "customer:marked_distinct"
    ACCOUNT_LINKED = "customer:account:linked"
    ACCOUNT_UNLINKED = "customer:account:unlinked"
    # Account actions staff took on the console (services.admin.account_actions).
    ADMIN_DISABLED = "customer:admin:disabled"
    ADMIN_ENABLED = "customer:admin:enabled"
    ADMIN_SIGNED_OUT = "customer:admin:signed_out"
    ADMIN_APP_REVOKED = "customer:admin:app_revoked"
    ADMIN_PASSWORD_RESET_SENT = "customer:admin:password_reset_sent"
    ADMIN_VERIFICATION_SENT = "customer:admin:verification_sent"
    ADMIN_PROFILE_EDITED = "customer:admin:profile_edited"


def record(
    tag: EventTag,
    *,
    success: bool = True,
    customer: Customer | None = None,
    meta: RequestMeta | None = None,
    method: str | None = None,
    reason: str | None = None,
    amr: list[str] | None = None,
    client_id: str | None = None,
    channel: str | None = None,
) -> LoginEvent:
    """Add an event to the current transaction; the caller's commit makes it durable."""
    meta = meta or RequestMeta()
    event = LoginEvent(
        customer_id=customer.id if customer is not None else None,
        tag=str(tag),
        success=success,
        method=method,
        # The column holds 64 characters; the audit log keeps a longer reason whole.
        reason=(reason or "")[:64] or None,
        amr=amr,
        client_id=client_id,
        channel=channel,
        ip=meta.ip,
        user_agent=(meta.user_agent or "")[:512] or None,
    )
    db.session.add(event)
    return event
