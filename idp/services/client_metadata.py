"""Which client metadata idp accepts: one rule per field, shared by the CLI and RFC 7591.

Grant policy (RFC 6749 1.3 and 2.1, RFC 7591 2.1, RFC 8252 8.4). A client holds a set of grants;
its type is only the preset used when none is given (``DEFAULT_GRANTS``) and says whether it is
confidential (web, service: it authenticates) or public (native, device: ``none``):

- at least one grant, each one idp runs (``GRANT_TYPES``, as discovery publishes them);
- ``refresh_token`` only with a grant that signs a customer in: ``authorization_code`` or the
  device grant (a refresh token stands for a customer's grant, RFC 6749 1.5);
- ``client_credentials`` only for confidential clients (RFC 6749 4.4): never a public one;
- ``response_types`` is ``["code"]`` with ``authorization_code`` and ``[]`` without it;
- ``redirect_uris`` are required with ``authorization_code`` and refused without it, as are
  ``post_logout_redirect_uris``; ``backchannel_logout_uri`` needs a grant that signs customers in;
- public clients using ``authorization_code`` always send PKCE (``idp.oauth.grants.PKCE``).

Redirect URI policy (RFC 6749 3.1.2, RFC 8252 7-8, OAuth 2.0 Security BCP 4.1):

- absolute, printable ASCII, no fragment, no ``*`` wildcard, no user:password@ part;
- ``https``, or ``http`` only on a loopback IP literal, ``127.0.0.1`` or ``[::1]`` (local
  development, RFC 8252 7.3 apps); a public client may then use any port at request time.
  ``localhost`` is refused for everyone: RFC 8252 8.3 warns it may resolve elsewhere;
- private-use schemes in reverse-DNS form (``com.example.app:/callback``) only for public clients,
  the apps on the customer's own hardware (native and device, RFC 8252 7.1);
- ``javascript:``, ``data:`` and other single-word schemes are refused.

Services flush; the caller commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from joserfc.jwk import KeySet

from idp import outbound
from idp.errors import ValidationError
from idp.models import ClientType
from idp.models.client import PUBLIC_TYPES, loopback_without_port

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"  # noqa: S105 (a grant type, not a secret)
CLIENT_CREDENTIALS = "client_credentials"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"

SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
CONFIDENTIAL_AUTH_METHODS = (*SECRET_AUTH_METHODS, "private_key_jwt")
ID_TOKEN_ALGS = ("ES256", "RS256")

# Every grant idp runs, in the order discovery publishes them (``grant_types_supported``).
GRANT_TYPES = (AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS, DEVICE_CODE)
# The grants that sign a customer in, and so may come with a refresh token.
USER_GRANTS = frozenset({AUTHORIZATION_CODE, DEVICE_CODE})
# Each type's preset: the grants a client gets when none is given.
DEFAULT_GRANTS: dict[str, tuple[str, ...]] = {
    ClientType.WEB: (AUTHORIZATION_CODE, REFRESH_TOKEN),
    ClientType.NATIVE: (AUTHORIZATION_CODE, REFRESH_TOKEN),
    ClientType.DEVICE: (DEVICE_CODE, REFRESH_TOKEN),
    ClientType.SERVICE: (CLIENT_CREDENTIALS,),
}

# RFC 7591 2 metadata kept in ``Client.software``; anything else is refused, not silently kept.
SOFTWARE_URI_FIELDS = ("client_uri", "logo_uri", "policy_uri", "tos_uri")
# RFC 9126 6 and RFC 9449 5.2: yes-or-no settings a client registers for itself.
SOFTWARE_FLAGS = ("require_pushed_authorization_requests", "dpop_bound_access_tokens")
SOFTWARE_FIELDS = (
    *SOFTWARE_URI_FIELDS,
    *SOFTWARE_FLAGS,
    "contacts",
    "software_id",
    "software_version",
)
# RFC 7591 2.2: human-readable fields may also come per language, as ``client_name#fr``.
_LOCALIZED_FIELD = re.compile(
    r"^(client_name|client_uri|logo_uri|policy_uri|tos_uri)#[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8}){0,4}$"
)

MAX_URI_LENGTH = 2000
MAX_URIS = 20
# Schemes a browser would run or read locally rather than navigate to (named for a clear error).
FORBIDDEN_SCHEMES = frozenset(
    {
        "javascript",
        "data",
        "vbscript",
        "file",
        "blob",
        "about",
        "filesystem",
        "view-source",
    }
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_PRIVATE_SCHEME = re.compile(r"^[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+$")
# RFC 3986 2: unreserved, reserved and percent; "#" and "*" are refused earlier, by name.
_URI_CHARACTERS = re.compile(r"^[A-Za-z0-9._~:/?\[\]@!$&'()+,;=%-]+$")
# RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


# URIs ------------------------------------------------------------------------------------------


def _check_uri_text(uri: Any, field: str) -> str:
    if not isinstance(uri, str) or not uri:
        raise ValidationError({field: "must be a non-empty string"})
    if len(uri) > MAX_URI_LENGTH:
        raise ValidationError({field: f"must be at most {MAX_URI_LENGTH} characters"})
    if any(not "\x21" <= ch <= "\x7e" for ch in uri):
        raise ValidationError(
            {field: f"{uri!r} has spaces, control or non-ASCII characters; percent-encode them"}
        )
    if "#" in uri:
        raise ValidationError({field: f"{uri} must not have a fragment (RFC 6749 3.1.2)"})
    if "*" in uri:
        raise ValidationError({field: f"{uri} must not have a wildcard; register each URI"})
    if not _URI_CHARACTERS.match(uri):
        raise ValidationError({field: f"{uri} has characters a URI cannot hold (RFC 3986 2)"})
    match = _SCHEME.match(uri)
    if match is None:
        raise ValidationError({field: f"{uri} must be an absolute URI with a scheme"})
    if match.group(1) != match.group(1).lower():
        raise ValidationError({field: f"{uri} must have a lowercase scheme"})
    if match.group(1) in FORBIDDEN_SCHEMES:
        raise ValidationError({field: f"{uri}: the {match.group(1)} scheme is not allowed"})
    return match.group(1)


def _check_web_uri(uri: str, scheme: str, field: str) -> None:
    """An https URI with a host, or http on a loopback IP literal; never user:password@."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError as exc:
        raise ValidationError({field: f"{uri} is not a valid URI"}) from exc
    if not uri.startswith(f"{scheme}://") or not parts.hostname:
        raise ValidationError({field: f"{uri} must have a host"})
    if "@" in parts.netloc:
        raise ValidationError({field: f"{uri} must not have a user name or password"})
    if scheme == "https" or loopback_without_port(uri) is not None:
        return
    if parts.hostname == "localhost":
        raise ValidationError(
            {
                field: f"{uri}: use http://127.0.0.1 or http://[::1] rather than localhost "
                "(RFC 8252 8.3)"
            }
        )
    raise ValidationError({field: f"{uri} must use https"})


def validate_redirect_uri(uri: str, client_type: str, *, field: str = "redirect_uris") -> str:
    """Check one redirect (or post-logout redirect) URI against the policy in this module's
    docstring for ``client_type``; return it unchanged, since matching is by exact string."""
    scheme = _check_uri_text(uri, field)
    if scheme in ("http", "https"):
        _check_web_uri(uri, scheme, field)
        return uri
    if client_type not in PUBLIC_TYPES:
        raise ValidationError(
            {
                field: f"{uri}: private-use URI schemes are only for native apps, public clients "
                "(RFC 8252 7.1)"
            }
        )
    if not _PRIVATE_SCHEME.match(scheme):
        raise ValidationError(
            {
                field: f"{uri}: a private-use scheme must be a reverse domain name like "
                "com.example.app (RFC 8252 7.1)"
            }
        )
    if not uri[len(scheme) + 1 :].startswith("/"):
        raise ValidationError({field: f"{uri} must have a path, like {scheme}:/callback"})
    return uri


def validate_backchannel_logout_uri(uri: str) -> str:
    """OIDC Back-Channel Logout 2.2: absolute https (or loopback http), no fragment."""
    return _validate_server_uri(uri, "backchannel_logout_uri")


def _validate_server_uri(uri: str, field: str) -> str:
    """A URI idp itself calls: https, or http on a loopback IP literal."""
    scheme = _check_uri_text(uri, field)
    if scheme not in ("http", "https"):
        raise ValidationError({field: f"{uri} must use https"})
    _check_web_uri(uri, scheme, field)
    return uri


def _issuer_on_loopback() -> bool:
    """Whether this idp is itself a development setup on 127.0.0.1, [::1] or localhost."""
    if not has_app_context():
        return False
    return urlsplit(current_app.config["ISSUER"]).hostname in outbound.LOOPBACK_HOSTS


def validate_jwks_uri(uri: Any) -> str:
    """RFC 7591 2 ``jwks_uri``: a URL idp fetches itself, so https, or http on a loopback host
    (127.0.0.1, [::1], localhost) when the issuer is on loopback too; an IP literal must be
    publicly routable, or loopback for a loopback host (``idp.outbound``). Host names are
    resolved and checked at every fetch, by ``idp.oauth.client_keys``, which applies this rule
    first: one rule at both doors."""
    field = "jwks_uri"
    scheme = _check_uri_text(uri, field)
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError as exc:
        raise ValidationError({field: f"{uri} is not a valid URI"}) from exc
    if scheme not in ("http", "https") or not uri.startswith(f"{scheme}://"):
        raise ValidationError({field: f"{uri} must use https"})
    host = parts.hostname
    if not host:
        raise ValidationError({field: f"{uri} must have a host"})
    if "@" in parts.netloc:
        raise ValidationError({field: f"{uri} must not have a user name or password"})
    loopback = host in outbound.LOOPBACK_HOSTS
    if loopback and not _issuer_on_loopback():
        # A deployed idp fetching from its own machine reaches whatever listens there.
        raise ValidationError(
            {
                field: f"{uri} names this machine; only an idp whose issuer is on loopback (a "
                "development setup) fetches from it"
            }
        )
    if scheme == "http" and not loopback:
        raise ValidationError(
            {field: f"{uri} must use https (http only on 127.0.0.1, [::1] or localhost)"}
        )
    if outbound.is_ip_literal(host):
        problem = outbound.refused_address(host, loopback_host=loopback)
        if problem is not None:
            raise ValidationError({field: f"{uri}: {problem}, which idp does not fetch from"})
    return uri


def _validate_uri_list(uris: Any, client_type: str, field: str) -> list[str]:
    if isinstance(uris, str) or not isinstance(uris, Iterable):
        raise ValidationError({field: "must be a list of URIs"})
    checked = [validate_redirect_uri(uri, client_type, field=field) for uri in uris]
    if len(checked) > MAX_URIS:
        raise ValidationError({field: f"at most {MAX_URIS} URIs"})
    return list(dict.fromkeys(checked))


# Other metadata --------------------------------------------------------------------------------


def _validate_name(name: Any) -> str:
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned:
        raise ValidationError({"client_name": "a name is required"})
    if len(cleaned) > 100:
        raise ValidationError({"client_name": "at most 100 characters"})
    return cleaned


def _validate_scope(scope: Any) -> str:
    if not isinstance(scope, str):
        raise ValidationError({"scope": "must be space-separated scope names"})
    tokens = scope.split()
    if not all(_SCOPE_TOKEN.match(t) for t in tokens):
        raise ValidationError({"scope": "scope names are printable ASCII (RFC 6749 3.3)"})
    return " ".join(dict.fromkeys(tokens))


def validate_jwks(jwks: Any) -> dict[str, Any]:
    """A public JWK Set: private or symmetric keys would be a secret handed to us in clear.

    The same rule holds for a set fetched from ``jwks_uri`` (``idp.oauth.client_keys``): a
    symmetric key published there would let anyone sign the client's assertions."""
    if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise ValidationError({"jwks": 'must be a JWK Set: {"keys": [...]}'})
    for key in jwks["keys"]:
        if not isinstance(key, Mapping):
            raise ValidationError({"jwks": "each key must be a JSON object"})
        if _PRIVATE_JWK_MEMBERS & set(key):
            raise ValidationError({"jwks": "only public keys may be registered"})
    try:
        KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]
    except Exception as exc:  # joserfc raises several types for malformed keys.
        raise ValidationError({"jwks": "a key could not be read"}) from exc
    return dict(jwks)


def _validate_software(extra: Any) -> dict[str, Any]:
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise ValidationError({"extra": "must be an object"})
    unknown = {f for f in extra if f not in SOFTWARE_FIELDS and not _LOCALIZED_FIELD.match(f)}
    if unknown:
        raise ValidationError({"extra": f"unknown metadata: {', '.join(sorted(unknown))}"})
    software: dict[str, Any] = {}
    for field, value in extra.items():
        if value is None:
            continue
        base = field.split("#", 1)[0]
        if base == "client_name":
            if not isinstance(value, str) or not value.strip() or len(value) > 100:
                raise ValidationError({field: "must be a name of at most 100 characters"})
        elif base in SOFTWARE_URI_FIELDS:
            # Shown on consent pages: https only, so no script or mixed content can ride in.
            if _check_uri_text(value, field) != "https":
                raise ValidationError({field: f"{value} must use https"})
            _check_web_uri(value, "https", field)
        elif field in SOFTWARE_FLAGS:
            if not isinstance(value, bool):
                raise ValidationError({field: "must be true or false"})
        elif field == "contacts":
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise ValidationError({field: "must be a list of email addresses"})
            value = list(value)
            for contact in value:
                try:
                    validate_email(str(contact), check_deliverability=False)
                except EmailNotValidError as exc:
                    raise ValidationError({field: f"{contact} is not an email address"}) from exc
        elif not isinstance(value, str) or len(value) > 200:
            raise ValidationError({field: "must be a string of at most 200 characters"})
        software[field] = value
    return software


MAX_RESOURCES = 20
# Security profiles a client may be held to (idp.oauth.profiles); None follows the server.
PROFILES = ("oidc", "fapi2")


def _validate_profile(profile: Any, method: str) -> str | None:
    """FAPI 2.0 5.3.2.1: a fapi2 client is confidential and uses private_key_jwt."""
    if profile in (None, ""):
        return None
    if profile not in PROFILES:
        raise ValidationError({"profile": f"use one of {', '.join(PROFILES)}"})
    if profile == "fapi2" and method != "private_key_jwt":
        raise ValidationError(
            {"token_endpoint_auth_method": "FAPI 2.0 clients authenticate with private_key_jwt"}
        )
    return str(profile)


def validate_resource(uri: Any, field: str = "resources") -> str:
    """RFC 8707 2: an absolute URI without a fragment; https, or http on loopback."""
    scheme = _check_uri_text(uri, field)
    if scheme not in ("http", "https"):
        raise ValidationError({field: f"{uri}: a resource is an http(s) URI (RFC 8707 2)"})
    _check_web_uri(uri, scheme, field)
    return str(uri)


def validate_resources(resources: Any) -> list[str]:
    uris = _names(resources, "resources")
    if len(uris) > MAX_RESOURCES:
        raise ValidationError({"resources": f"at most {MAX_RESOURCES} resources"})
    return [validate_resource(uri) for uri in uris]


def _validate_auth_method(client_type: str, method: Any) -> str:
    """RFC 6749 2.1: public clients cannot keep a secret, so they authenticate with none."""
    if client_type in PUBLIC_TYPES:
        if method != "none":
            raise ValidationError(
                {"token_endpoint_auth_method": f"{client_type} clients are public: use none"}
            )
    elif method not in CONFIDENTIAL_AUTH_METHODS:
        raise ValidationError(
            {
                "token_endpoint_auth_method": f"{client_type} clients are confidential: use one "
                f"of {', '.join(CONFIDENTIAL_AUTH_METHODS)} (public apps are native or device "
                "clients)"
            }
        )
    return str(method)


def _names(value: Any, field: str) -> list[str]:
    """A list of names, each once, in the order given."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError({field: "must be a list"})
    names = list(value)
    if not all(isinstance(name, str) for name in names):
        raise ValidationError({field: "must be a list of names"})
    return list(dict.fromkeys(names))


def validate_grant_types(grant_types: Any, client_type: str, method: str) -> list[str]:
    """The grant policy of this module's docstring, for a client of ``client_type``
    authenticating with ``method``; return the grants, each once."""
    grants = _names(grant_types, "grant_types")
    unknown = [g for g in grants if g not in GRANT_TYPES]
    if unknown:
        raise ValidationError(
            {"grant_types": f"not supported: {', '.join(unknown)}; use {', '.join(GRANT_TYPES)}"}
        )
    if not grants:
        raise ValidationError({"grant_types": "at least one grant type is required"})
    if REFRESH_TOKEN in grants and USER_GRANTS.isdisjoint(grants):
        raise ValidationError(
            {
                "grant_types": "refresh_token needs a grant that signs a customer in: "
                f"{AUTHORIZATION_CODE} or {DEVICE_CODE}"
            }
        )
    if CLIENT_CREDENTIALS in grants and method not in CONFIDENTIAL_AUTH_METHODS:
        raise ValidationError(
            {
                "grant_types": f"client_credentials is only for confidential clients (RFC 6749 "
                f"4.4); {client_type} clients are public"
            }
        )
    return grants


def response_types_for(grant_types: Iterable[str]) -> list[str]:
    """RFC 7591 2.1: ``code`` goes with the authorization_code grant, and nothing else does
    (the implicit and hybrid flows are refused, RFC 9700 2.1.2)."""
    return ["code"] if AUTHORIZATION_CODE in grant_types else []


def _validate_response_types(response_types: Any, grants: list[str]) -> list[str]:
    """None takes the grants' response types; anything given must be exactly those."""
    expected = response_types_for(grants)
    if response_types is None:
        return expected
    if _names(response_types, "response_types") != expected:
        if expected:
            message = "must be [code] with the authorization_code grant"
        else:
            message = "must be empty without the authorization_code grant"
        raise ValidationError({"response_types": message})
    return expected


def _validate(client_type: str, values: dict[str, Any]) -> dict[str, Any]:
    """Check a client's full set of settings together; return them cleaned.

    ``values["response_types"]`` may be None: the grants' own are taken."""
    cleaned: dict[str, Any] = {"name": _validate_name(values["name"])}
    method = _validate_auth_method(client_type, values["token_endpoint_auth_method"])
    cleaned["token_endpoint_auth_method"] = method
    grants = validate_grant_types(values["grant_types"], client_type, method)
    cleaned["grant_types"] = grants
    cleaned["response_types"] = _validate_response_types(values.get("response_types"), grants)

    uses_code = AUTHORIZATION_CODE in grants
    for field in ("redirect_uris", "post_logout_redirect_uris"):
        uris = values[field] or []
        if uris and not uses_code:
            raise ValidationError(
                {field: "only for clients with the authorization_code grant; remove them"}
            )
        cleaned[field] = _validate_uri_list(uris, client_type, field) if uris else []
    if uses_code and not cleaned["redirect_uris"]:
        raise ValidationError(
            {"redirect_uris": "at least one redirect URI is required for authorization_code"}
        )

    backchannel = values["backchannel_logout_uri"]
    if backchannel and USER_GRANTS.isdisjoint(grants):
        raise ValidationError(
            {
                "backchannel_logout_uri": "only for clients that sign customers in "
                "(authorization_code or the device grant): others have no sessions"
            }
        )
    cleaned["backchannel_logout_uri"] = (
        validate_backchannel_logout_uri(backchannel) if backchannel else None
    )

    jwks, jwks_uri = values["jwks"], values["jwks_uri"]
    if jwks and jwks_uri:
        raise ValidationError({"jwks": "give jwks or jwks_uri, not both (RFC 7591 2)"})
    cleaned["jwks"] = validate_jwks(jwks) if jwks else None
    cleaned["jwks_uri"] = validate_jwks_uri(jwks_uri) if jwks_uri else None
    if method == "private_key_jwt" and not (jwks or jwks_uri):
        raise ValidationError({"jwks": "private_key_jwt needs jwks or jwks_uri"})

    if values["id_token_signed_response_alg"] not in ID_TOKEN_ALGS:
        raise ValidationError({"id_token_signed_response_alg": "use ES256 or RS256"})
    cleaned["id_token_signed_response_alg"] = values["id_token_signed_response_alg"]

    cleaned["scope"] = _validate_scope(values["scope"])
    cleaned["resources"] = validate_resources(values.get("resources") or [])
    cleaned["profile"] = _validate_profile(values.get("profile"), method)
    cleaned["software"] = _validate_software(values["software"])
    cleaned["first_party"] = bool(values["first_party"])
    cleaned["require_mfa"] = bool(values.get("require_mfa", False))
    return cleaned
