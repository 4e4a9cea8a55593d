"""Passkeys (Web Authentication Level 3): named credentials a customer registers, then uses to
sign in without a password (a discoverable credential) or as the second step after one.

py_webauthn checks each response against the challenge, the origin and the RP ID hash (WebAuthn
7.1 steps 8-14, 7.2 steps 11-16); here come the rest: the challenge is spent once on the server
(a replayed Flask cookie cannot bring it back), the credential must belong to the customer the
ceremony was for, and the signature counter must grow (7.2 step 21), enforced by a conditional
update so two assertions racing with the same counter cannot both pass.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp import security
from idp.errors import AccountDisabled, AuthenticationFailed, NotFound, ValidationError
from idp.extensions import db
from idp.models import Customer, Passkey, UsedLink
from idp.models.types import utcnow
from idp.services import RequestMeta, events, mfa
from idp.services.events import EventTag
from idp.services.records import aliases

log = logging.getLogger(__name__)

# How long a ceremony may take, from options to answer; also the browser's timeout hint.
CHALLENGE_LIFETIME = timedelta(minutes=5)
NAME_MAX = 64
# The Passkey.credential_id column; WebAuthn allows up to 1023 bytes (5.1 credential ID).
CREDENTIAL_ID_MAX = 1023
# ES256 (every platform), EdDSA, RS256 (Windows Hello), in order of preference (5.4.3).
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
CHALLENGE_PURPOSE = "webauthn"
# What malformed input makes py_webauthn's parsers and checks raise besides their own errors
# (base64, CBOR, COSE key decoding): refused as a bad answer, never a crash.
_BAD_INPUT = (WebAuthnException, ValueError, TypeError, KeyError, IndexError, AttributeError)


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: the RP ID they are bound to, the name shown, the origin."""

    id: str
    name: str
    origin: str


def relying_party(issuer: str, rp_id: str | None = None) -> RelyingParty:
    """The issuer's origin (scheme, host, port; no path) and, by default, its host as RP ID."""
    parts = urlsplit(issuer)
    host = parts.hostname or "localhost"
    return RelyingParty(id=rp_id or host, name=host, origin=f"{parts.scheme}://{parts.netloc}")


@dataclass(frozen=True)
class Ceremony:
    """Options for ``navigator.credentials``, as JSON, and the challenge they carry."""

    options: dict[str, Any]
    challenge: bytes


def clean_name(raw: object, default: str) -> str:
    """A passkey name as the customer typed it, without control characters or extra spaces."""
    if raw is None:
        return default
    if not isinstance(raw, str):
        raise ValidationError({"name": "must be text"})
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in raw)
    text = " ".join(text.split())
    if len(text) > NAME_MAX:
        raise ValidationError({"name": f"must be at most {NAME_MAX} characters"})
    return text or default


def _transports(values: list[str] | None) -> list[AuthenticatorTransport] | None:
    known = {t.value for t in AuthenticatorTransport}
    return [AuthenticatorTransport(v) for v in values or [] if v in known] or None


def _descriptors(rows: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=row.credential_id, transports=_transports(row.transports))
        for row in rows
    ]


def registration_options(customer: Customer, rp: RelyingParty) -> Ceremony:
    """Ask for a discoverable credential (so it can sign in without an email), user verification
    preferred, none of the customer's existing authenticators again (5.4 excludeCredentials)."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        # The opaque public id, never the email: it is the userHandle assertions return (14.6.1).
        user_id=customer.public_id.encode(),
        user_name=customer.email,
        user_display_name=customer.name or customer.email,
        timeout=int(CHALLENGE_LIFETIME.total_seconds() * 1000),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(mfa.passkeys(customer)),
        supported_pub_key_algs=ALGORITHMS,
    )
    return Ceremony(options_to_json_dict(options), options.challenge)


def authentication_options(rp: RelyingParty, customer: Customer | None = None) -> Ceremony:
    """Without a customer: any passkey of this site, the authenticator verifying the person,
    since it is the only factor. With one: only their passkeys, the second step of a sign-in."""
    if customer is None:
        allow: list[PublicKeyCredentialDescriptor] = []
        verification = UserVerificationRequirement.REQUIRED
    else:
        allow = _descriptors(mfa.passkeys(customer))
        verification = UserVerificationRequirement.PREFERRED
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=int(CHALLENGE_LIFETIME.total_seconds() * 1000),
        allow_credentials=allow,
        user_verification=verification,
    )
    return Ceremony(options_to_json_dict(options), options.challenge)


def spend_challenge(challenge: bytes) -> bool:
    """Mark a challenge used in the caller's transaction; False when it already was."""
    db.session.add(
        UsedLink(
            nonce_digest=security.digest(bytes_to_base64url(challenge)),
            purpose=CHALLENGE_PURPOSE,
            expires_at=utcnow() + CHALLENGE_LIFETIME,
        )
    )
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def register(
    customer: Customer, credential: dict[str, Any], *, challenge: bytes, name: str, rp: RelyingParty
) -> tuple[Passkey, mfa.Proof]:
    """Check an attestation answering ``challenge`` and keep the credential under ``name``; the
    proof is what creating it showed (possession, and the person when the key verified them)."""
    if not spend_challenge(challenge):
        raise ValidationError({"challenge": "already used"})
    try:
        parsed: RegistrationCredential = parse_registration_credential_json(credential)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            supported_pub_key_algs=ALGORITHMS,
        )
    except _BAD_INPUT as exc:
        log.info("passkey registration refused for %s: %s", customer.public_id, exc)
        raise ValidationError({"credential": str(exc)[:200] or "malformed"}) from exc
    if len(verified.credential_id) > CREDENTIAL_ID_MAX:
        raise ValidationError({"credential": "credential id too long"})
    if db.session.execute(
        db.select(Passkey.id).where(Passkey.credential_id == verified.credential_id)
    ).first():
        raise ValidationError({"credential": "already registered"})
    backup_eligible = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    row = Passkey(
        customer_id=customer.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=name,
        transports=[str(t.value) for t in parsed.response.transports or []],
        aaguid=verified.aaguid,
        backup_eligible=backup_eligible,
        created_at=utcnow(),
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise ValidationError({"credential": "already registered"}) from exc
    proof = mfa.passkey_proof(backup_eligible=backup_eligible, user_verified=verified.user_verified)
    return row, proof


# py_webauthn's messages, by the short reason kept on the history (LoginEvent.reason: 64).
_REASONS = (
    ("sign count", "sign counter did not grow"),
    ("origin", "wrong origin"),
    ("challenge", "wrong challenge"),
    ("RP ID", "wrong relying party id"),
    ("signature", "bad signature"),
    ("not present", "user not present"),
    ("User verification", "user not verified"),
)


def _reason(exc: Exception) -> str:
    text = str(exc)
    return next((reason for key, reason in _REASONS if key in text), "invalid assertion")


def _failed(
    reason: str, *, customer: Customer | None, meta: RequestMeta | None
) -> AuthenticationFailed:
    events.record(
        EventTag.LOGIN_FAILURE,
        success=False,
        customer=customer,
        meta=meta,
        method="passkey",
        reason=reason[:64],
        channel="web",
    )
    return AuthenticationFailed(reason)


def authenticate(
    credential: dict[str, Any],
    *,
    challenge: bytes,
    rp: RelyingParty,
    customer: Customer | None = None,
    meta: RequestMeta | None = None,
) -> tuple[Passkey, mfa.Proof]:
    """Check an assertion answering ``challenge``: without ``customer`` a passwordless sign-in
    (user verification required), with one a second step that must use one of theirs.

    Failures are recorded on the history (the caller commits); an unknown credential raises
    ``NotFound``, anything else ``AuthenticationFailed``.
    """
    if not spend_challenge(challenge):
        raise _failed("challenge already used", customer=customer, meta=meta)
    try:
        parsed: AuthenticationCredential = parse_authentication_credential_json(credential)
    except _BAD_INPUT as exc:
        raise ValidationError({"credential": "malformed"}) from exc
    row = db.session.execute(
        db.select(Passkey).where(Passkey.credential_id == parsed.raw_id)
    ).scalar_one_or_none()
    if row is None:
        _failed("unknown passkey", customer=customer, meta=meta)
        raise NotFound("passkey")
    owner = row.customer
    if customer is not None and owner.id != customer.id:
        raise _failed("passkey of another customer", customer=customer, meta=meta)
    handle = parsed.response.user_handle
    # A passkey moved by a merge still carries the absorbed record's id as its user handle.
    if (
        handle is not None
        and not security.constant_time_equals(
            bytes_to_base64url(handle), bytes_to_base64url(owner.public_id.encode())
        )
        and not aliases.names(handle.decode("utf-8", "replace"), owner)
    ):
        raise _failed("user handle mismatch", customer=owner, meta=meta)
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=row.public_key,
            credential_current_sign_count=row.sign_count,
            require_user_verification=customer is None,
        )
    except _BAD_INPUT as exc:
        log.info("passkey assertion refused for %s: %s", owner.public_id, exc)
        raise _failed(_reason(exc), customer=owner, meta=meta) from exc
    if not owner.is_active:
        _failed("account disabled", customer=owner, meta=meta)
        raise AccountDisabled(owner.public_id)
    # 7.2 step 21: the counter only grows; compare-and-set against the value just checked.
    changed = db.session.execute(
        update(Passkey)
        .where(Passkey.id == row.id, Passkey.sign_count == row.sign_count)
        .values(sign_count=verified.new_sign_count, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise _failed("sign counter raced", customer=owner, meta=meta)
    db.session.refresh(row)
    proof = mfa.passkey_proof(
        backup_eligible=row.backup_eligible
        or verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        user_verified=verified.user_verified,
    )
    return row, proof


def find(customer: Customer, passkey_id: int) -> Passkey:
    row = db.session.get(Passkey, passkey_id)
    if row is None or row.customer_id != customer.id:
        raise NotFound("passkey")
    return row


def rename(customer: Customer, passkey_id: int, name: str) -> Passkey:
    row = find(customer, passkey_id)
    row.name = name
    return row


def remove(customer: Customer, passkey_id: int) -> Passkey:
    """Delete one of the customer's passkeys; the caller records the change and commits."""
    row = find(customer, passkey_id)
    db.session.delete(row)
    return row
