"""The authorization endpoint's decisions, each a small named step (OIDC Core 3.1.2).

``decide`` runs the steps in order; the first that cannot let the request through says what
to do instead: show the sign-in page, the account chooser or the consent page, or answer the
client with an error. Interactions the customer completed are remembered in the Flask session
against a digest of the request, so returning from the sign-in page continues where it left off.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidRequestError,
    OAuth2Error,
    UnsupportedResponseTypeError,
)
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)
from flask import session

from idp import security
from idp.models import BrowserSession, Client, PushedRequest
from idp.oauth import claims as claims_module
from idp.oauth import lookup, profiles, signing
from idp.oauth import resources as resource_indicators
from idp.services import consent, mfa
from idp.services.records import aliases

INTERACTION_KEY = "idp_interaction"
PROMPTS = {"none", "login", "consent", "select_account"}
RESPONSE_MODES = {"query", "form_post"}
RESPONSE_TYPES = {"code"}
# An RFC 7638 SHA-256 thumbprint: 32 bytes in unpadded base64url.
JKT = re.compile(r"[A-Za-z0-9_-]{43}")
# Parameters that decide where an answer may go; each must come once (RFC 6749 3.1).
TARGET_PARAMS = ("client_id", "redirect_uri", "response_type")
# Parameters added by our own pages, never part of the client's request.
OWN_PARAMS = {"csrf_token", "decision"}


class Step(StrEnum):
    LOGIN = "login"
    SECOND_FACTOR = "second_factor"
    SELECT_ACCOUNT = "select_account"
    CONSENT = "consent"


class RequestNotSupported(OAuth2Error):
    error = "request_not_supported"


class RequestUriNotSupported(OAuth2Error):
    error = "request_uri_not_supported"


class RegistrationNotSupported(OAuth2Error):
    error = "registration_not_supported"


class AccountSelectionRequired(OAuth2Error):
    error = "account_selection_required"


class UnsupportedResponseType(UnsupportedResponseTypeError):
    """Authlib's error, without echoing the rejected value into the description."""

    def __init__(self) -> None:
        super().__init__("code", description="Only response_type=code is supported.")

    def get_error_description(self) -> str:
        return str(self.description)


def check_target(values: Any) -> None:
    """Who asks and where the answer may go, decided before anything echoes the request.

    RFC 6749 4.1.2.1: without a known client and a registered redirect URI the error is shown
    to the customer, never redirected. OIDC Core 3.1.2.1 makes ``redirect_uri`` REQUIRED in
    OpenID requests; plain OAuth requests keep RFC 6749 3.1.2.3's single-URI default. Authlib
    writes the raw ``redirect_uri`` and ``response_type`` into its error descriptions and
    refuses descriptions with quotes or non-ASCII characters (a ValueError, so a 500), so
    these checks run first and answer with fixed texts.
    """
    for name in TARGET_PARAMS:
        if len(values.getlist(name)) > 1:
            raise InvalidRequestError(f"Repeated '{name}' parameter.")
    client = lookup.client(values.get("client_id"))
    if client is None:
        raise InvalidClientError(description="Unknown or missing 'client_id'.")
    redirect_uri = values.get("redirect_uri")
    if redirect_uri:
        if not client.check_redirect_uri(redirect_uri):
            raise InvalidRequestError("The 'redirect_uri' is not registered for this client.")
    elif "openid" in (values.get("scope") or "").split():
        raise InvalidRequestError("OpenID Connect requests must send 'redirect_uri'.")
    elif client.get_default_redirect_uri() is None:
        raise InvalidRequestError("Missing 'redirect_uri'.")
    response_type = values.get("response_type")
    if response_type not in RESPONSE_TYPES:
        raise redirected_error(
            values,
            UnsupportedResponseType()
            if response_type
            else InvalidRequestError("Missing 'response_type'."),
        )


def redirected_error(values: Any, error: OAuth2Error) -> OAuth2Error:
    """``error`` sent back to the redirect URI that ``check_target`` accepted, with state."""
    client = lookup.client(values.get("client_id"))
    assert client is not None, "check_target runs first"
    error.redirect_uri = values.get("redirect_uri") or client.get_default_redirect_uri()
    error.state = values.get("state")
    return error


@dataclass
class AuthRequest:
    """The parts of a validated authorization request that idp decides on."""

    client: Client
    redirect_uri: str
    redirect_uri_given: bool
    scope: str
    state: str | None
    nonce: str | None
    response_mode: str
    prompt: set[str]
    max_age: int | None
    login_hint: str | None
    id_token_hint: dict[str, Any] | None
    claims: dict[str, Any] | None
    acr_values: list[str]
    code_challenge: str | None
    code_challenge_method: str | None
    digest: str
    args: dict[str, list[str]] = field(default_factory=dict)
    # The pushed request (RFC 9126) this came from; spent when the client gets its answer.
    pushed: PushedRequest | None = None
    # RFC 9449 10: the DPoP key the code's token request must prove.
    dpop_jkt: str | None = None
    # RFC 8707: the APIs the tokens of this code may be for.
    resources: list[str] | None = None

    @property
    def scopes(self) -> set[str]:
        return set(self.scope.split())

    @property
    def consent_scopes(self) -> set[str]:
        """What consent must cover: the scopes, and those of claims asked for by name."""
        return self.scopes | claims_module.scopes_of(self.claims)


def parse(grant: Any, values: Any) -> AuthRequest:
    """Read our parameters off an Authlib-validated grant; bad ones raise with the redirect."""
    request = grant.request
    redirect_uri = request.payload.redirect_uri or request.client.get_default_redirect_uri()

    def fail(error: OAuth2Error) -> OAuth2Error:
        error.redirect_uri = redirect_uri
        error.state = request.payload.state
        return error

    data = request.payload.data
    if data.get("request"):
        raise fail(RequestNotSupported())
    if data.get("request_uri"):
        raise fail(RequestUriNotSupported())
    if data.get("registration"):
        raise fail(RegistrationNotSupported())
    response_mode = data.get("response_mode") or "query"
    if response_mode not in RESPONSE_MODES:
        raise fail(InvalidRequestError("Unsupported 'response_mode'."))
    prompt = set((data.get("prompt") or "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise fail(InvalidRequestError("Invalid 'prompt' parameter."))
    max_age = None
    if data.get("max_age") not in (None, ""):
        try:
            max_age = int(data["max_age"])
        except ValueError:
            raise fail(InvalidRequestError("'max_age' must be a number of seconds.")) from None
        if max_age < 0:
            raise fail(InvalidRequestError("'max_age' must not be negative."))
    try:
        claims_request = claims_module.parse_claims_request(data.get("claims"))
    except claims_module.ClaimsRequestError as exc:
        # The message names no value from the request (OAuth 2.0 error descriptions are ASCII).
        raise fail(InvalidRequestError(f"Invalid 'claims' parameter: {exc}.")) from None
    hint = None
    if data.get("id_token_hint"):
        hint = signing.verify(data["id_token_hint"], expired_ok=True)
        if hint is None:
            raise fail(InvalidRequestError("Invalid 'id_token_hint'."))
    try:
        resources = resource_indicators.allowed(request.client, resource_indicators.requested(data))
    except OAuth2Error as error:
        raise fail(error) from None
    if profiles.is_fapi2(request.client) and not data.get("code_challenge"):
        raise fail(InvalidRequestError("FAPI 2.0 requires PKCE with S256."))
    dpop_jkt = data.get("dpop_jkt") or None
    if dpop_jkt is not None and not JKT.fullmatch(dpop_jkt):
        raise fail(InvalidRequestError("'dpop_jkt' must be a SHA-256 JWK thumbprint."))
    args = {k: values.getlist(k) for k in values if k not in OWN_PARAMS}
    canonical = urlencode(sorted((k, v) for k, vs in args.items() for v in vs))
    return AuthRequest(
        client=request.client,
        redirect_uri=redirect_uri,
        redirect_uri_given=bool(request.payload.redirect_uri),
        scope=request.scope or "",
        state=request.payload.state,
        nonce=data.get("nonce"),
        response_mode=response_mode,
        prompt=prompt,
        max_age=max_age,
        login_hint=(data.get("login_hint") or "")[:320] or None,
        id_token_hint=hint,
        claims=claims_module.restrict(claims_request, set((request.client.scope or "").split())),
        acr_values=(data.get("acr_values") or "").split(),
        code_challenge=data.get("code_challenge"),
        code_challenge_method=data.get("code_challenge_method")
        or ("S256" if data.get("code_challenge") else None),
        digest=security.digest(canonical),
        args=args,
        dpop_jkt=dpop_jkt,
        resources=resources or None,
    )


# --- interactions remembered across the sign-in round trip ---------------------------------


def _interaction(req: AuthRequest) -> dict[str, Any]:
    stored = session.get(INTERACTION_KEY)
    if isinstance(stored, dict) and stored.get("req") == req.digest:
        return stored
    return {"req": req.digest, "at": time.time(), "done": []}


def mark(req: AuthRequest, step: Step) -> None:
    interaction = _interaction(req)
    if step not in interaction["done"]:
        interaction["done"] = [*interaction["done"], str(step)]
    session[INTERACTION_KEY] = interaction


def begin(req: AuthRequest) -> None:
    """Start an interaction now: a sign-in must happen after this moment to count.

    The moment keeps its fraction of a second: in whole seconds, a session signed in earlier
    within the same second would pass for a new sign-in (prompt=login, max_age).
    """
    session[INTERACTION_KEY] = {"req": req.digest, "at": time.time(), "done": []}


def finish() -> None:
    session.pop(INTERACTION_KEY, None)


def _signed_in_since_begin(req: AuthRequest, browser_session: BrowserSession) -> bool:
    stored = session.get(INTERACTION_KEY)
    return (
        isinstance(stored, dict)
        and stored.get("req") == req.digest
        and browser_session.auth_time.timestamp() >= float(stored.get("at", 0))
    )


def _done(req: AuthRequest, step: Step) -> bool:
    stored = session.get(INTERACTION_KEY)
    return (
        isinstance(stored, dict)
        and stored.get("req") == req.digest
        and step in stored.get("done", [])
    )


# --- the steps ------------------------------------------------------------------------------


def _error(req: AuthRequest, error: OAuth2Error) -> OAuth2Error:
    error.redirect_uri = req.redirect_uri
    error.state = req.state
    return error


def check_login(req: AuthRequest, browser_session: BrowserSession | None) -> Step | None:
    """Core 3.1.2.3: a session, fresh enough for max_age, of the customer the hint names."""
    if browser_session is None:
        reason = "no session"
    elif _signed_in_since_begin(req, browser_session):
        return None
    elif "login" in req.prompt:
        reason = "prompt=login"
    elif (
        req.max_age is not None
        and time.time() - browser_session.auth_time.timestamp() > req.max_age
    ):
        reason = "max_age"
    elif req.id_token_hint and not aliases.names(
        req.id_token_hint.get("sub"), browser_session.customer
    ):
        reason = "id_token_hint names someone else"
    else:
        return None
    if "none" in req.prompt:
        raise _error(req, LoginRequiredError(description=f"Sign-in required ({reason})."))
    return Step.LOGIN


def required_acr(req: AuthRequest) -> str:
    """The strength this request must get: the weakest acr it names that idp knows.

    ``acr_values`` (Core 3.1.2.1) and an essential ``acr`` claim (Core 5.5.1.1) are both taken
    as demands; a client that registered ``require_mfa`` always gets MFA. Unknown values are
    ignored, as acr_values are voluntary claims.
    """
    if req.client.require_mfa:
        return mfa.ACR_MFA
    asked = list(req.acr_values)
    acr_claim = ((req.claims or {}).get("id_token") or {}).get("acr")
    if isinstance(acr_claim, dict) and acr_claim.get("essential"):
        if isinstance(acr_claim.get("values"), list):
            asked.extend(str(v) for v in acr_claim["values"])
        elif acr_claim.get("value") is not None:
            asked.append(str(acr_claim["value"]))
    known = [value for value in mfa.ACR_VALUES if value in asked]
    return known[0] if known else mfa.ACR_PASSWORD


def check_strength(req: AuthRequest, browser_session: BrowserSession) -> Step | None:
    """Step-up: a session signed in with less than the request needs must add a factor."""
    if mfa.session_satisfies(browser_session, required_acr(req)):
        return None
    if "none" in req.prompt:
        raise _error(req, InteractionRequiredError(description="A second factor is required."))
    return Step.SECOND_FACTOR


def check_account(req: AuthRequest) -> Step | None:
    if "select_account" in req.prompt and not _done(req, Step.SELECT_ACCOUNT):
        return Step.SELECT_ACCOUNT
    return None


def check_consent(req: AuthRequest, browser_session: BrowserSession) -> Step | None:
    """First-party clients are trusted; others need the customer's stored consent."""
    if _done(req, Step.CONSENT):
        return None
    needed = "consent" in req.prompt or (
        not req.client.first_party
        and not consent.covers(browser_session.customer, req.client.client_id, req.consent_scopes)
    )
    if not needed:
        return None
    if "none" in req.prompt:
        raise _error(req, ConsentRequiredError())
    return Step.CONSENT


def decide(req: AuthRequest, browser_session: BrowserSession | None) -> Step | None:
    """The first interaction still needed, or None when a code can be issued now."""
    step = check_login(req, browser_session)
    if step is not None:
        return step
    assert browser_session is not None
    return (
        check_strength(req, browser_session)
        or check_account(req)
        or check_consent(req, browser_session)
    )
