"""Dynamic Client Registration (RFC 7591), its management (RFC 7592) and OpenID Connect Dynamic
Client Registration 1.0: from a JSON metadata document to ``idp.services.clients``, and back.

The grant, redirect URI, key and name policy stays in ``idp.services.client_metadata``, so a
client registered here obeys the same rules as one an operator creates; this module adds what
only the protocol knows: the metadata names, their defaults, and which of idp's client types a
registration gets. Any combination of the advertised ``grant_types_supported`` within that policy
is accepted; the rest is ``invalid_client_metadata`` naming the field (RFC 7591 3.2.2).

The type a registered client gets (the preset that says public or confidential):

================  ==============================  =============================================
application_type  grant_types                     client type
================  ==============================  =============================================
web (default)     exactly ``client_credentials``  service (confidential)
web (default)     anything else                   web (confidential)
native            with ``authorization_code``     native (public: ``none``, PKCE, no secret)
native            without it (the device grant)   device (public: ``none``, no secret)
================  ==============================  =============================================

``token_endpoint_auth_method`` defaults to ``client_secret_basic`` for web applications and to
``none`` for native ones (RFC 8252 8.4: a native app is a public client, it gets no secret).
A web application asking for ``none``, or a native one for a secret, is refused. Native and
device clients read back as ``application_type: native``. An RFC 7592 update keeps the client's
type and cannot change its ``application_type``.

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
from idp.models.client import DEFAULT_SCOPE, PUBLIC_TYPES
from idp.oauth import profiles
from idp.oauth.claims import SUPPORTED_SCOPES
from idp.services import clients, mfa
from idp.services.clients import AUTHORIZATION_CODE, CLIENT_CREDENTIALS

RESPONSE_TYPES = ("code",)
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
# OIDC Registration 2: application_type is web unless the client says native.
APPLICATION_TYPES = ("web", "native")

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
    "require_pushed_authorization_requests",  # RFC 9126 6
    "dpop_bound_access_tokens",  # RFC 9449 5.2
)
# OIDC Registration 2.1 / RFC 7591 2.2: ``client_name#fr``; a BCP 47 tag in its usual shape.
_LOCALIZED_NAME = re.compile(r"^client_name#([A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8}){0,4})$")
MAX_LOCALIZED_NAMES = 20


@dataclass(frozen=True)
class Metadata:
    """A registration request made into idp terms: the application and client types and
    ``clients.update`` keyword arguments, plus the localized names the service does not check."""

    application_type: str
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


def _from_validation(exc: ValidationError, values: Mapping[str, Any]) -> OAuth2Error:
    """The service's first refusal, named by its RFC 7591 field. invalid_redirect_uri is for a
    URI the client uses that is wrong; missing or unneeded URIs are inconsistent metadata."""
    field_name, message = next(iter(exc.errors.items()))
    if field_name == "name":
        field_name = "client_name"
    bad_uri = (
        field_name == "redirect_uris"
        and bool(values["redirect_uris"])
        and AUTHORIZATION_CODE in values["grant_types"]
    )
    return _invalid(f"{field_name}: {message}", redirect=bad_uri)


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
    """RFC 7591 2: authorization_code when omitted. The implicit grant is named when refused
    (OAuth 2.0 Security BCP, RFC 9700 2.1.2); which grants go together is the service's."""
    grants = _strings(document, "grant_types", [AUTHORIZATION_CODE])
    if "implicit" in grants:
        raise _invalid("grant_types: the implicit grant is not supported; use authorization_code")
    return list(dict.fromkeys(grants))


def _response_types(document: Mapping[str, Any], grants: list[str]) -> list[str]:
    """RFC 7591 2.1: those of the grants when omitted; ``token`` and the hybrid
    ``code id_token`` kinds belong to flows idp refuses. The service checks the rest."""
    default = ["code"] if AUTHORIZATION_CODE in grants else []
    response_types = list(dict.fromkeys(_strings(document, "response_types", default)))
    refused = [r for r in response_types if r not in RESPONSE_TYPES]
    if refused:
        raise _invalid(
            f"response_types: not supported: {', '.join(refused)}; implicit and hybrid flows "
            "are refused, use code"
        )
    return response_types


def _application_type(document: Mapping[str, Any]) -> str:
    application_type = _string(document, "application_type") or "web"
    if application_type not in APPLICATION_TYPES:
        raise _invalid("application_type: use web or native")
    return application_type


def _client_type(application_type: str, grants: list[str]) -> str:
    """The mapping in this module's docstring."""
    if application_type == "native":
        # RFC 8252 8.4: public. A native app without the code grant runs the device grant.
        return ClientType.NATIVE if AUTHORIZATION_CODE in grants else ClientType.DEVICE
    return ClientType.SERVICE if grants == [CLIENT_CREDENTIALS] else ClientType.WEB


def application_type_of(client: Client) -> str:
    """OIDC Registration 2: the public types are the native applications."""
    return "native" if client.client_type in PUBLIC_TYPES else "web"


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

    application_type = _application_type(document)
    grants = _grant_types(document)
    response_types = _response_types(document, grants)
    client_type = _client_type(application_type, grants)
    redirect_uris = _strings(document, "redirect_uris", [])

    method = _string(document, "token_endpoint_auth_method")
    if method is None:
        # RFC 7591 2 defaults to client_secret_basic; a native app cannot keep a secret (RFC 8252
        # 8.4), so it is registered as the public client it is.
        method = "none" if application_type == "native" else "client_secret_basic"
    if method not in AUTH_METHODS:
        raise _invalid(f"token_endpoint_auth_method: use one of {', '.join(AUTH_METHODS)}")
    if profiles.server_is_fapi2() and method != profiles.FAPI2_AUTH_METHOD:
        raise _invalid("token_endpoint_auth_method: FAPI 2.0 clients use private_key_jwt")

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
    return Metadata(application_type, client_type, values, _localized_names(document))


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
            grant_types=values["grant_types"],
            response_types=values["response_types"],
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
    except ValidationError as exc:
        raise _from_validation(exc, values) from exc
    _set_localized(client, metadata.localized)
    return client, secret, clients.issue_registration_access_token(client)


def replace(client: Client, document: Any) -> Client:
    """RFC 7592 2.2: the request's metadata replaces the old, omitted fields taking their
    defaults; the client cannot choose its client_id or client_secret. It keeps its type, so
    its grants may change within the policy, but its application_type may not."""
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
    if metadata.application_type != application_type_of(client):
        raise _invalid(
            f"application_type: this client is a {application_type_of(client)} application; "
            "register a new client"
        )
    try:
        clients.update(client, **metadata.values)
    except ValidationError as exc:
        raise _from_validation(exc, metadata.values) from exc
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
        "application_type": application_type_of(client),
        **client.client_info,
    }
    if secret is not None:
        information["client_secret"] = secret
    if client.client_secret_digest is not None:
        information["client_secret_expires_at"] = 0  # RFC 7591 3.2.1: it does not expire
    return information
