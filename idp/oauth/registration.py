"""Dynamic Client Registration (RFC 7591), its management (RFC 7592) and OpenID Connect Dynamic
Client Registration 1.0: from a JSON metadata document to ``idp.services.clients``, and back.

The redirect URI, key and name policy stays in ``idp.services.clients``, so a client registered
here obeys the same rules as one an operator creates; this module adds what only the protocol
knows: the metadata names, their defaults, and which combinations idp can honour.
Functions flush through the service; the caller commits, or rolls back on a protocol error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.base import invalid_error_characters
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError, InvalidRedirectURIError

from idp.errors import ValidationError
from idp.models import Client, ClientType
from idp.models.client import DEFAULT_SCOPE
from idp.oauth.claims import SUPPORTED_SCOPES
from idp.services import clients, mfa
from idp.services.clients import AUTHORIZATION_CODE, CLIENT_CREDENTIALS, REFRESH_TOKEN

GRANT_TYPES = (AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS)
RESPONSE_TYPES = ("code",)
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
# OIDC Registration 2: application_type is web unless the client says native.
APPLICATION_TYPES = {"web": ClientType.WEB, "native": ClientType.NATIVE}

# Metadata asking for what idp does not do (encryption, signed UserInfo, pairwise subjects):
# ignoring it, as RFC 7591 2 allows for unknown fields, would let the client believe it has it.
UNSUPPORTED = (
    "id_token_encrypted_response_alg",
    "id_token_encrypted_response_enc",
    "userinfo_signed_response_alg",
    "userinfo_encrypted_response_alg",
    "userinfo_encrypted_response_enc",
    "request_object_encryption_alg",
    "request_object_encryption_enc",
    "authorization_encrypted_response_alg",
    "authorization_encrypted_response_enc",
)
# RFC 7592 2.2: the server's own fields, which an update request must not carry.
SERVER_FIELDS = (
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
)
# RFC 7591 2 metadata kept as registered in ``Client.software``.
SOFTWARE_FIELDS = (
    "client_uri",
    "logo_uri",
    "policy_uri",
    "tos_uri",
    "contacts",
    "software_id",
    "software_version",
)
# OIDC Registration 2.1 / RFC 7591 2.2: ``client_name#fr``; a BCP 47 tag in its usual shape.
_LOCALIZED_NAME = re.compile(r"^client_name#([A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8}){0,4})$")
MAX_LOCALIZED_NAMES = 20


@dataclass(frozen=True)
class Metadata:
    """A registration request made into idp terms: the client type and ``clients.update``
    keyword arguments, plus the localized names the service does not check."""

    client_type: str
    values: dict[str, Any]
    localized: dict[str, str] = field(default_factory=dict)


# Errors ----------------------------------------------------------------------------------------


def _description(text: str) -> str:
    """RFC 6749 5.2: error_description is printable ASCII without ``"`` or ``\\``."""
    bad = set(invalid_error_characters(text))
    return "".join("?" if ch in bad else ch for ch in text)[:500]


def _invalid(message: str, *, redirect: bool = False) -> OAuth2Error:
    """RFC 7591 3.2.2: invalid_redirect_uri for redirect URIs, invalid_client_metadata else."""
    error = InvalidRedirectURIError if redirect else InvalidClientMetadataError
    return error(description=_description(message))


def _from_validation(exc: ValidationError) -> OAuth2Error:
    field_name, message = next(iter(exc.errors.items()))
    if field_name == "name":
        field_name = "client_name"
    return _invalid(f"{field_name}: {message}", redirect=field_name == "redirect_uris")


# Reading the document --------------------------------------------------------------------------


def _string(document: Mapping[str, Any], name: str) -> str | None:
    value = document.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(f"{name}: must be a string", redirect=name == "redirect_uris")
    return value


def _strings(document: Mapping[str, Any], name: str, default: list[str]) -> list[str]:
    value = document.get(name)
    if value is None:
        return list(default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(f"{name}: must be a list of strings", redirect=name == "redirect_uris")
    return list(value)


def _grant_types(document: Mapping[str, Any]) -> list[str]:
    """RFC 7591 2: authorization_code when omitted. The implicit grant and hybrid flows are
    refused (OAuth 2.0 Security BCP, RFC 9700 2.1.2), as is any grant idp does not run."""
    grants = _strings(document, "grant_types", [AUTHORIZATION_CODE])
    if "implicit" in grants:
        raise _invalid("grant_types: the implicit grant is not supported; use authorization_code")
    unsupported = [g for g in grants if g not in GRANT_TYPES]
    if unsupported:
        raise _invalid(f"grant_types: not supported: {', '.join(unsupported)}")
    if not grants:
        raise _invalid("grant_types: at least one grant type is required")
    return list(dict.fromkeys(grants))


def _response_types(document: Mapping[str, Any], grants: list[str]) -> list[str]:
    """RFC 7591 2.1: ``code`` goes with authorization_code and nothing else; ``token`` and
    the hybrid ``code id_token`` kinds belong to flows idp refuses."""
    default = ["code"] if AUTHORIZATION_CODE in grants else []
    response_types = list(dict.fromkeys(_strings(document, "response_types", default)))
    refused = [r for r in response_types if r not in RESPONSE_TYPES]
    if refused:
        raise _invalid(
            f"response_types: not supported: {', '.join(refused)}; implicit and hybrid flows "
            "are refused, use code"
        )
    if ("code" in response_types) != (AUTHORIZATION_CODE in grants):
        raise _invalid("response_types: code goes with the authorization_code grant (RFC 7591 2.1)")
    return response_types


def _client_type(document: Mapping[str, Any], grants: list[str]) -> str:
    application_type = _string(document, "application_type") or "web"
    if application_type not in APPLICATION_TYPES:
        raise _invalid("application_type: use web or native")
    if AUTHORIZATION_CODE in grants:
        return APPLICATION_TYPES[application_type]
    if CLIENT_CREDENTIALS in grants:
        if application_type == "native":
            raise _invalid("grant_types: a native application cannot keep a client secret")
        return ClientType.SERVICE
    raise _invalid("grant_types: refresh_token needs authorization_code")


def _scope(document: Mapping[str, Any]) -> str:
    scope = _string(document, "scope")
    if scope is None:
        return DEFAULT_SCOPE
    unknown = [s for s in scope.split() if s not in SUPPORTED_SCOPES]
    if unknown:
        raise _invalid(f"scope: not supported: {', '.join(dict.fromkeys(unknown))}")
    return scope


def _default_name(redirect_uris: list[str]) -> str:
    """RFC 7591 2 makes client_name optional; where the customer is sent back names the client
    honestly on the consent page."""
    if redirect_uris:
        parts = urlsplit(redirect_uris[0])
        return (parts.hostname or parts.scheme or "Unnamed application")[:100]
    return "Unnamed application"


def _localized_names(document: Mapping[str, Any]) -> dict[str, str]:
    names: dict[str, str] = {}
    for key, value in document.items():
        if not isinstance(key, str) or not key.startswith("client_name#") or value is None:
            continue
        if not _LOCALIZED_NAME.match(key):
            raise _invalid(f"{key}: the part after # must be a language tag (BCP 47)")
        cleaned = value.strip() if isinstance(value, str) else ""
        if not cleaned or len(cleaned) > 100:
            raise _invalid(f"{key}: a name of 1 to 100 characters")
        names[key] = cleaned
    if len(names) > MAX_LOCALIZED_NAMES:
        raise _invalid(f"client_name: at most {MAX_LOCALIZED_NAMES} translations")
    return names


def parse(document: Any) -> Metadata:
    """Read RFC 7591 2 and OIDC Registration 2 metadata, applying their defaults; fields idp
    does not know are ignored (RFC 7591 2). Raises an RFC 7591 3.2.2 error."""
    if not isinstance(document, Mapping):
        raise _invalid("the body must be a JSON object of client metadata")
    asked = [name for name in UNSUPPORTED if document.get(name) is not None]
    if asked:
        raise _invalid(f"{asked[0]}: not supported")
    if document.get("subject_type") not in (None, "public"):
        raise _invalid("subject_type: only public is supported")

    grants = _grant_types(document)
    response_types = _response_types(document, grants)
    client_type = _client_type(document, grants)
    redirect_uris = _strings(document, "redirect_uris", [])
    if AUTHORIZATION_CODE in grants and not redirect_uris:
        raise _invalid("redirect_uris: required for the authorization_code grant")

    method = _string(document, "token_endpoint_auth_method")
    if method is None:
        # RFC 7591 2 defaults to client_secret_basic; a native app cannot keep a secret (RFC 8252
        # 8.5), so it is registered as the public client it is.
        method = "none" if client_type == ClientType.NATIVE else "client_secret_basic"
    if method not in AUTH_METHODS:
        raise _invalid(f"token_endpoint_auth_method: use one of {', '.join(AUTH_METHODS)}")

    software = {name: document[name] for name in SOFTWARE_FIELDS if document.get(name) is not None}
    name = _string(document, "client_name")
    values = {
        "name": name if name is not None else _default_name(redirect_uris),
        "redirect_uris": redirect_uris,
        "post_logout_redirect_uris": _strings(document, "post_logout_redirect_uris", []),
        "backchannel_logout_uri": _string(document, "backchannel_logout_uri"),
        "token_endpoint_auth_method": method,
        "jwks": document.get("jwks"),
        "jwks_uri": _string(document, "jwks_uri"),
        # OIDC Registration 2: RS256 when omitted.
        "id_token_signed_response_alg": _string(document, "id_token_signed_response_alg")
        or "RS256",
        "grant_types": grants,
        "response_types": response_types,
        "scope": _scope(document),
        "software": software,
        "require_mfa": _requires_mfa(document),
    }
    return Metadata(client_type, values, _localized_names(document))


def _requires_mfa(document: Mapping[str, Any]) -> bool:
    """OIDC Registration 2 ``default_acr_values``: idp keeps whether it demands MFA, which then
    applies to every request of the client, whatever its ``acr_values``."""
    values = _strings(document, "default_acr_values", [])
    unknown = [v for v in values if v not in mfa.ACR_VALUES]
    if unknown:
        raise _invalid(f"default_acr_values: use {' or '.join(mfa.ACR_VALUES)}")
    return bool(values) and all(v == mfa.ACR_MFA for v in values)


# Registering and managing ----------------------------------------------------------------------


def register(document: Any) -> tuple[Client, str | None, str]:
    """RFC 7591 3.1: register a client that is never first party; return it with its secret
    (None for public and private_key_jwt clients) and its registration access token (RFC 7592
    3), both shown only in this response."""
    metadata = parse(document)
    values = metadata.values
    try:
        client, secret = clients.create(
            name=values["name"],
            client_type=metadata.client_type,
            redirect_uris=values["redirect_uris"],
            post_logout_redirect_uris=values["post_logout_redirect_uris"],
            backchannel_logout_uri=values["backchannel_logout_uri"],
            first_party=False,
            require_mfa=values["require_mfa"],
            token_endpoint_auth_method=values["token_endpoint_auth_method"],
            id_token_signed_response_alg=values["id_token_signed_response_alg"],
            jwks=values["jwks"],
            jwks_uri=values["jwks_uri"],
            scope=values["scope"],
            extra=values["software"],
        )
        # create() gives the type's default grants; the client gets the ones it asked for.
        clients.update(
            client, grant_types=values["grant_types"], response_types=values["response_types"]
        )
    except ValidationError as exc:
        raise _from_validation(exc) from exc
    _set_localized(client, metadata.localized)
    return client, secret, clients.issue_registration_access_token(client)


def replace(client: Client, document: Any) -> Client:
    """RFC 7592 2.2: the request's metadata replaces the old, omitted fields taking their
    defaults; the client cannot choose its client_id or client_secret."""
    if not isinstance(document, Mapping):
        raise _invalid("the body must be a JSON object of client metadata")
    for name in SERVER_FIELDS:
        if name in document:
            raise InvalidRequestError(
                description=f"{name} is set by the server; leave it out (RFC 7592 2.2)"
            )
    if document.get("client_id") != client.client_id:
        raise InvalidRequestError(description="client_id must be this client's (RFC 7592 2.2)")
    if "client_secret" in document and not client.check_client_secret(document["client_secret"]):
        raise InvalidRequestError(
            description="client_secret must be the current secret; it cannot be chosen"
        )
    metadata = parse(document)
    if metadata.client_type != client.client_type:
        raise _invalid(
            "application_type and grant_types cannot change the kind of client; register a new one"
        )
    try:
        clients.update(client, **metadata.values)
    except ValidationError as exc:
        raise _from_validation(exc) from exc
    _set_localized(client, metadata.localized)
    return client


def _set_localized(client: Client, localized: dict[str, str]) -> None:
    if localized:
        # A new dict, so the JSON column is seen as changed.
        client.software = {**(client.software or {}), **localized}


def client_information(client: Client, secret: str | None = None) -> dict[str, Any]:
    """RFC 7591 3.2.1 / RFC 7592 3: the identifier, the secret when just issued, and every
    registered metadata field. The registration access token and URI are the caller's to add."""
    information: dict[str, Any] = {
        **client.client_metadata,
        "application_type": "native" if client.client_type == ClientType.NATIVE else "web",
        **client.client_info,
    }
    if secret is not None:
        information["client_secret"] = secret
    if client.client_secret_digest is not None:
        information["client_secret_expires_at"] = 0  # RFC 7591 3.2.1: it does not expire
    return information
