"""Every model, imported so Alembic and ``db.create_all`` see the whole schema."""

from idp.models.admin import AdminRole, AdminSession, AdminStatus, AdminTotp, AdminUser
from idp.models.audit import AuditEntry
from idp.models.client import Client, ClientType
from idp.models.customer import Customer, CustomerStatus, PasswordCredential
from idp.models.devices import Device, DeviceAuthorization, DeviceStatus
from idp.models.events import LoginEvent
from idp.models.factors import (
    EmailSignIn,
    Passkey,
    RecoveryCode,
    TotpCredential,
    TrustedBrowser,
)
from idp.models.grants import AuthorizationCode, Consent
from idp.models.keys import KeyState, SigningKey
from idp.models.links import UsedLink
from idp.models.pushed import PushedRequest
from idp.models.records import CustomerMerge, DistinctPeople, LinkedAccount
from idp.models.registration import InitialAccessToken
from idp.models.sessions import BrowserSession, SessionClient
from idp.models.tokens import AccessToken, RefreshToken, TokenFamily

__all__ = [
    "AccessToken",
    "AdminRole",
    "AdminSession",
    "AdminStatus",
    "AdminTotp",
    "AdminUser",
    "AuditEntry",
    "AuthorizationCode",
    "BrowserSession",
    "Client",
    "ClientType",
    "Consent",
    "Customer",
    "CustomerMerge",
    "CustomerStatus",
    "Device",
    "DeviceAuthorization",
    "DeviceStatus",
    "DistinctPeople",
    "EmailSignIn",
    "InitialAccessToken",
    "KeyState",
    "LinkedAccount",
    "LoginEvent",
    "Passkey",
    "PasswordCredential",
    "PushedRequest",
    "RecoveryCode",
    "RefreshToken",
    "SessionClient",
    "SigningKey",
    "TokenFamily",
    "TotpCredential",
    "TrustedBrowser",
    "UsedLink",
]
