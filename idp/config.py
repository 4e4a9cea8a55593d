"""Every setting idp reads, in one place: defaults, then ``IDP_*`` environment, then a mapping.

Each entry documents itself; ``load`` validates the result so a bad value stops the start with a
clear message instead of failing later inside a request.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import limits
import phonenumbers
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from idp import security

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A setting has a value idp cannot run with."""


# A check returns what is wrong with a value, or None when it is fine.
Check = Callable[[Any], "str | None"]


def positive(value: int) -> str | None:
    return None if value > 0 else "must be a positive number"


def non_negative(value: int) -> str | None:
    return None if value >= 0 else "must not be negative"


def port(value: int) -> str | None:
    return None if 0 < value < 65536 else "must be a port number between 1 and 65535"


def one_of(*choices: str) -> Check:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


_ZERO_PERIOD = re.compile(r"(?:per|/)\s*0+\s*[a-z]", re.IGNORECASE)


def rate_limit(value: str) -> str | None:
    """One ``limits`` rate such as ``10 per 15 minutes``: what the throttle parses per request."""
    try:
        items = limits.parse_many(value)
    except ValueError:
        return "must be a rate such as '10 per 15 minutes'"
    if len(items) != 1:
        return "must be one rate, such as '10 per 15 minutes'"
    if items[0].amount < 1 or _ZERO_PERIOD.search(value):
        return "must allow at least 1 in a period of at least 1 unit"
    return None


def database_url(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        url = make_url(value)
    except ArgumentError:
        return "must be an SQLAlchemy URL"
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        return "must be a sqlite:// or postgresql+psycopg:// URL"
    return None


def redis_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"redis", "rediss", "unix"} or not (parts.netloc or parts.path):
        return "must be a redis://, rediss:// or unix:// URL"
    return None


def phone_region(value: str) -> str | None:
    """A region phonenumbers has metadata for: national numbers are read in it."""
    if value in phonenumbers.SUPPORTED_REGIONS:
        return None
    return "must be a region code in capitals, such as FR, BE or US"


def mail_address(value: str) -> str | None:
    _name, address = parseaddr(value)
    return None if "@" in address else "must be an address such as 'idp <no-reply@example.com>'"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    doc: str
    kind: type = str
    check: Check | None = None
    example: str | None = None
    # URLs may hold passwords: a message about a sensitive setting never repeats its value.
    sensitive: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL; default: SQLite file idp.sqlite3 in the instance folder.",
        check=database_url,
        example="postgresql+psycopg://idp@db.internal/idp",
        sensitive=True,
    ),
    # localhost rather than 127.0.0.1: passkeys (WebAuthn) refuse an IP address as RP id.
    Setting(
        "ISSUER", "http://localhost:5000", "Public base URL; the OIDC `iss`. https in production."
    ),
    Setting(
        "SECRET_KEY",
        None,
        "Signs cookies and links; generated once into the instance folder when unset.",
    ),
    Setting(
        "REDIS_URL",
        None,
        "Redis for rate limits and ephemeral state; in-memory (one process) when unset.",
        check=redis_url,
        example="redis://127.0.0.1:6379/0",
        sensitive=True,
    ),
    Setting(
        "SMTP_HOST", None, "SMTP server; without it mail goes to the log and instance/outbox/."
    ),
    Setting("SMTP_PORT", 25, "SMTP port.", int, check=port, example="587"),
    Setting("SMTP_USERNAME", None, "SMTP login, when the server wants one."),
    Setting("SMTP_PASSWORD", None, "SMTP password."),
    Setting("SMTP_STARTTLS", False, "Upgrade the SMTP connection with STARTTLS.", bool),
    Setting(
        "MAIL_FROM",
        "idp <no-reply@localhost>",
        "Sender of every mail idp sends.",
        check=mail_address,
        example="Shop <no-reply@shop.example>",
    ),
    Setting(
        "SESSION_LIFETIME",
        14 * 24 * 3600,
        "Seconds a browser session lives without activity.",
        int,
        check=positive,
        example="1209600",
    ),
    Setting(
        "SESSION_ABSOLUTE_LIFETIME",
        30 * 24 * 3600,
        "Seconds a browser session lives at most.",
        int,
        check=positive,
        example="2592000",
    ),
    Setting(
        "ADMIN_IDLE_TIMEOUT",
        15 * 60,
        "Seconds an admin console session lives without activity (OWASP ASVS 3.3.2).",
        int,
        check=positive,
        example="900",
    ),
    Setting(
        "ADMIN_SESSION_LIFETIME",
        8 * 3600,
        "Seconds an admin console session lives at most, active or not.",
        int,
        check=positive,
        example="28800",
    ),
    Setting(
        "EMAIL_LINK_MAX_AGE",
        24 * 3600,
        "Seconds an email verification link stays valid.",
        int,
        check=positive,
        example="86400",
    ),
    Setting(
        "RESET_LINK_MAX_AGE",
        3600,
        "Seconds a password reset link stays valid.",
        int,
        check=positive,
        example="3600",
    ),
    Setting(
        "LOGIN_LIMIT_PER_ACCOUNT",
        "10 per 15 minutes",
        "Failed sign-ins allowed per account.",
        check=rate_limit,
        example="10 per 15 minutes",
    ),
    Setting(
        "LOGIN_LIMIT_PER_IP",
        "50 per 15 minutes",
        "Failed sign-ins allowed per client IP.",
        check=rate_limit,
        example="10 per 15 minutes",
    ),
    Setting(
        "FORM_LIMIT_PER_IP",
        "20 per 15 minutes",
        "Sign-ups and reset requests allowed per client IP.",
        check=rate_limit,
        example="10 per 15 minutes",
    ),
    Setting(
        "TRUSTED_PROXIES",
        0,
        "Number of reverse proxies whose X-Forwarded-For is trusted.",
        int,
        check=non_negative,
        example="1",
    ),
    Setting(
        "MAX_CONTENT_LENGTH",
        64 * 1024,
        "Largest request body accepted, in bytes.",
        int,
        check=positive,
        example="65536",
    ),
    Setting(
        "DEFAULT_LOCALE",
        "en",
        "Language when nothing else decides: en or fr.",
        check=one_of("en", "fr"),
        example="fr",
    ),
    Setting(
        "PHONE_REGION",
        "FR",
        "Region whose national format a phone number without a country code is read in, when "
        "staff search customers by phone (06 12 34 56 78 is +33 6 12 34 56 78 in FR).",
        check=phone_region,
        example="BE",
    ),
    Setting(
        "KEY_ENCRYPTION_KEY",
        None,
        "32 random bytes, URL-safe base64, that encrypt signing "
        "keys at rest; when unset derived from SECRET_KEY, so changing SECRET_KEY then makes "
        "the stored signing keys unreadable (then run `idp keys rotate --now`).",
    ),
    Setting(
        "KEY_PUBLISH_AHEAD",
        24 * 3600,
        "Seconds a new signing key is in the JWKS before it "
        "signs, so clients that cache the JWKS know it before they meet it.",
        int,
        check=non_negative,
        example="86400",
    ),
    Setting(
        "JWKS_FETCH_TIMEOUT",
        3,
        "Seconds idp waits for a client's jwks_uri (private_key_jwt), connection and body "
        "together; a slower answer fails the client's authentication.",
        int,
        check=positive,
        example="3",
    ),
    Setting(
        "JWKS_CACHE_TTL",
        300,
        "Seconds a JWK Set fetched from a client's jwks_uri is reused; an assertion naming an "
        "unknown kid fetches it again sooner, at most once per 30 seconds.",
        int,
        check=positive,
        example="300",
    ),
    Setting(
        "ID_TOKEN_LIFETIME",
        300,
        "Seconds an ID token is valid.",
        int,
        check=positive,
        example="300",
    ),
    Setting(
        "ACCESS_TOKEN_LIFETIME",
        300,
        "Seconds a JWT access token is valid.",
        int,
        check=positive,
        example="300",
    ),
    Setting(
        "ACCESS_TOKEN_ALG",
        "ES256",
        "Algorithm of JWT access tokens: ES256 or RS256.",
        check=one_of("ES256", "RS256"),
        example="ES256",
    ),
    Setting("ACCESS_TOKEN_AUDIENCE", None, "The `aud` of access tokens; default: the issuer."),
    Setting(
        "CODE_LIFETIME",
        60,
        "Seconds an authorization code can be exchanged (RFC 9700: short).",
        int,
        check=positive,
        example="60",
    ),
    Setting(
        "REFRESH_TOKEN_IDLE_LIFETIME",
        30 * 24 * 3600,
        "Seconds an unused refresh token lives.",
        int,
        check=positive,
        example="2592000",
    ),
    Setting(
        "REFRESH_TOKEN_ABSOLUTE_LIFETIME",
        90 * 24 * 3600,
        "Seconds a refresh-token family lives at most, however often it is used.",
        int,
        check=positive,
        example="7776000",
    ),
    Setting(
        "DEVICE_CODE_LIFETIME",
        600,
        "Seconds a device code and its user code stay valid.",
        int,
        check=positive,
        example="600",
    ),
    Setting(
        "DEVICE_POLL_INTERVAL",
        5,
        "Seconds a device must wait between polls; each slow_down adds 5 (RFC 8628 3.5).",
        int,
        check=positive,
        example="5",
    ),
    Setting(
        "USER_CODE_LIMIT_PER_CUSTOMER",
        "10 per 15 minutes",
        "Wrong device user codes a signed-in customer may type.",
        check=rate_limit,
        example="10 per 15 minutes",
    ),
    Setting(
        "USER_CODE_LIMIT_PER_IP",
        "30 per 15 minutes",
        "Wrong device user codes per client IP.",
        check=rate_limit,
        example="10 per 15 minutes",
    ),
    Setting(
        "MFA_LIMIT_PER_ACCOUNT",
        "5 per 15 minutes",
        "Wrong second-factor, recovery or emailed codes allowed per account.",
        check=rate_limit,
        example="10 per 15 minutes",
    ),
    Setting(
        "MFA_LIMIT_PER_IP",
        "30 per 15 minutes",
        "Wrong codes of any kind per client IP.",
        check=rate_limit,
        example="10 per 15 minutes",
    ),
    Setting(
        "TRUSTED_BROWSER_LIFETIME",
        30 * 24 * 3600,
        "Seconds a browser remembered after a second factor may skip it.",
        int,
        check=positive,
        example="2592000",
    ),
    Setting(
        "MERGE_UNDO_WINDOW",
        30 * 24 * 3600,
        "Seconds during which a merge of two customer records can still be undone exactly; "
        "after that the absorbed record stays an alias for good.",
        int,
        check=positive,
        example="2592000",
    ),
    Setting(
        "AT_RISK_MIN_ACTIVITY",
        3,
        "Usage signals: a customer active at least this many times in the period before the "
        "silence counts as at risk once silent.",
        int,
        check=positive,
        example="3",
    ),
    Setting(
        "AT_RISK_SILENT_DAYS",
        30,
        "Usage signals: days without any activity after which an active customer is at risk.",
        int,
        check=positive,
        example="30",
    ),
    Setting(
        "AT_RISK_PERIOD_DAYS",
        90,
        "Usage signals: the days before the silence in which a customer's activity is counted.",
        int,
        check=positive,
        example="90",
    ),
    Setting(
        "EMAIL_SIGN_IN_LIFETIME",
        600,
        "Seconds an emailed sign-in code or link stays valid.",
        int,
        check=positive,
        example="600",
    ),
    Setting(
        "PAR_LIFETIME",
        300,
        "Seconds a pushed authorization request (RFC 9126) can be used: long enough to sign "
        "in with a second factor, under the 600 s FAPI 2.0 allows.",
        int,
        check=lambda v: None if 0 < v <= 600 else "must be between 1 and 600 seconds",
        example="300",
    ),
    Setting(
        "REQUIRE_PAR",
        False,
        "Refuse authorization requests that were not pushed first (RFC 9126 5), for every "
        "client; a client can also require it alone (require_pushed_authorization_requests).",
        bool,
    ),
    Setting(
        "PROFILE",
        "oidc",
        "Security profile for every client: oidc, or fapi2 (FAPI 2.0 Security Profile: PAR, "
        "PKCE, DPoP and private_key_jwt required, 60-second codes).",
        check=lambda v: None if v in ("oidc", "fapi2") else "must be oidc or fapi2",
        example="fapi2",
    ),
    Setting(
        "DPOP_NONCE",
        False,
        "Require DPoP proofs to carry a server nonce (RFC 9449 8), which limits how long a "
        "stolen proof is worth anything; clients learn it from the DPoP-Nonce header.",
        bool,
    ),
    Setting(
        "WEBAUTHN_RP_ID",
        None,
        "WebAuthn relying party id; default: the issuer's host name. Passkeys are bound to it.",
    ),
)

LOCALES = ("en", "fr")
ISSUER_EXAMPLE = "IDP_ISSUER='https://id.shop.example'"
# HKDF label for the key derived from SECRET_KEY; changing it makes stored signing keys unreadable.
KEY_ENCRYPTION_INFO = b"idp signing-key encryption v1"
# HKDF label for the key that seals TOTP secrets (derived from the key-encryption key).
FACTOR_ENCRYPTION_INFO = b"idp factor-secret encryption v1"


def _problem(setting: Setting, message: str, raw: Any) -> ConfigError:
    """A ConfigError naming the variable, what is wrong, the value and a value that works."""
    text = f"IDP_{setting.name} {message}"
    if not setting.sensitive:
        text += f", not {raw!r}"
    if setting.example is not None:
        text += f" (for example IDP_{setting.name}={setting.example!r})"
    return ConfigError(text)


def _coerce(setting: Setting, raw: Any) -> Any:
    if raw is None or setting.kind is str:
        return raw
    if setting.kind is bool:
        if isinstance(raw, bool):
            return raw
        value = str(raw).strip().lower()
        if value in {"1", "true", "yes", "on"}:
            return True
        if value in {"0", "false", "no", "off", ""}:
            return False
        raise _problem(setting, "must be true or false", raw)
    if isinstance(raw, bool):  # True is an int to Python, never a number of seconds here
        raise _problem(setting, f"must be a whole number ({setting.kind.__name__})", raw)
    try:
        return setting.kind(raw)
    except (TypeError, ValueError) as exc:
        raise _problem(setting, f"must be a whole number ({setting.kind.__name__})", raw) from exc


def _checked(setting: Setting, value: Any) -> Any:
    if setting.check is not None and value is not None:
        problem = setting.check(value)
        if problem is not None:
            raise _problem(setting, problem, value)
    return value


def _secret_key(instance_path: Path) -> str:
    """Keep one generated key per instance so restarts do not sign everybody out."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    log.warning("IDP_SECRET_KEY is not set: generated one in %s", path)
    return key


def load(instance_path: Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Resolve every setting; ``overrides`` use the names without the ``IDP_`` prefix."""
    overrides = dict(overrides or {})
    known = {s.name for s in SETTINGS}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = setting.default
        if f"IDP_{setting.name}" in os.environ:
            raw = os.environ[f"IDP_{setting.name}"]
        if setting.name in overrides:
            raw = overrides.pop(setting.name)
        values[setting.name] = _checked(setting, _coerce(setting, raw))
    # Anything else passes through untouched (Flask and extension settings, tests' TESTING).
    extra = {k: v for k, v in overrides.items() if k not in known}

    if not values["DATABASE_URL"]:
        instance_path.mkdir(parents=True, exist_ok=True)
        values["DATABASE_URL"] = f"sqlite:///{instance_path / 'idp.sqlite3'}"
    if not values["SECRET_KEY"]:
        values["SECRET_KEY"] = _secret_key(instance_path)
    _validate(values)
    values.update(extra)
    return values


def _validate(values: dict[str, Any]) -> None:
    issuer = urlsplit(values["ISSUER"])
    if issuer.scheme not in {"http", "https"} or not issuer.netloc:
        raise ConfigError(
            f"IDP_ISSUER must be an absolute http(s) URL, not {values['ISSUER']!r} "
            f"(for example {ISSUER_EXAMPLE})"
        )
    if issuer.query or issuer.fragment:
        raise ConfigError(
            "IDP_ISSUER must not have a query or fragment (OIDC Discovery 3) "
            f"(for example {ISSUER_EXAMPLE})"
        )
    if issuer.scheme == "http" and issuer.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise ConfigError(
            f"IDP_ISSUER must use https unless it is a loopback address (for example "
            f"{ISSUER_EXAMPLE})"
        )
    rp_id = values["WEBAUTHN_RP_ID"]
    host = issuer.hostname or ""
    if rp_id and host != rp_id and not host.endswith("." + rp_id):
        # WebAuthn: the RP id is the page's host or a registrable suffix of it.
        raise ConfigError(f"IDP_WEBAUTHN_RP_ID must be {host!r} or a parent domain of it")
    if not rp_id and _is_ip(host):
        log.warning("IDP_ISSUER uses an IP address: passkeys need a host name such as localhost")
    if len(values["SECRET_KEY"]) < 32:
        raise ConfigError(
            "IDP_SECRET_KEY must be at least 32 characters (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    if values["KEY_ENCRYPTION_KEY"]:
        try:
            security.decode_key(values["KEY_ENCRYPTION_KEY"])
        except ValueError as exc:
            raise ConfigError(f"IDP_KEY_ENCRYPTION_KEY must be 32 bytes in base64: {exc}") from exc
    values["ISSUER"] = values["ISSUER"].rstrip("/")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_https(values: Mapping[str, Any]) -> bool:
    return str(values["ISSUER"]).startswith("https://")


def key_encryption_key(values: Mapping[str, Any]) -> bytes:
    """The AES-256 key that seals signing keys: the setting, or else derived from SECRET_KEY."""
    if values.get("KEY_ENCRYPTION_KEY"):
        return security.decode_key(values["KEY_ENCRYPTION_KEY"])
    return security.derive_key(values["SECRET_KEY"], KEY_ENCRYPTION_INFO)


def factor_encryption_key(values: Mapping[str, Any]) -> bytes:
    """The AES-256 key that seals TOTP secrets, kept apart from the signing-key one by HKDF."""
    secret = values.get("KEY_ENCRYPTION_KEY") or values["SECRET_KEY"]
    return security.derive_key(secret, FACTOR_ENCRYPTION_INFO)
