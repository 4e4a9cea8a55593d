"""A web shop that signs its customers in with idp: OpenID Connect code flow with PKCE,
RP-Initiated Logout 1.0 and Back-Channel Logout 1.0, through Authlib's Flask client."""

from __future__ import annotations

import logging
import secrets
import zlib
from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_client import OAuth, OAuthError
from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from joserfc.jwk import KeySet

from clients.webshop.logout_token import (
    InvalidLogoutToken,
    LogoutClaims,
    UnknownSigningKey,
    validate_logout_token,
)
from clients.webshop.sessions import SessionStore, ShopSession

log = logging.getLogger(__name__)

DEFAULT_ISSUER = "http://localhost:5000"
SCOPE = "openid profile email"
# Brand colours for shops started without --colour: the same brand always gets the same one.
PALETTE = ("#0b6e4f", "#8e3b46", "#1d4e89", "#b5651d", "#5b3f8c")

bp = Blueprint("shop", __name__)


@dataclass(frozen=True)
class Settings:
    brand: str = "Demo shop"
    colour: str | None = None
    issuer: str = DEFAULT_ISSUER
    client_id: str = "demo-shop"
    client_secret: str = "demo-shop-secret"  # noqa: S105 (the documented demo secret)
    # Authentication strength the shop demands, e.g. "urn:idp:acr:mfa" (OIDC Core 3.1.2.1).
    acr_values: str | None = None


def create_app(settings: Settings) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_urlsafe(32),
        # Every shop on 127.0.0.1 shares one cookie jar whatever the port, and idp lives there
        # too: a cookie name per client keeps each shop's session its own.
        SESSION_COOKIE_NAME=f"{settings.client_id}-session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        BRAND=settings.brand,
        BRAND_COLOUR=settings.colour or PALETTE[zlib.crc32(settings.brand.encode()) % len(PALETTE)],
        ACR_VALUES=settings.acr_values,
    )
    oauth = OAuth(app)
    oauth.register(
        "idp",
        server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"},
    )
    app.extensions["shop_sessions"] = SessionStore()
    app.register_blueprint(bp)
    return app


def answered_by_issuer(iss: str | None, metadata: dict[str, Any]) -> bool:
    """RFC 9207 2.4: the answer's ``iss`` is idp's; it must be there when idp says it sends it."""
    if iss is None:
        return not metadata.get("authorization_response_iss_parameter_supported")
    return iss == metadata["issuer"]


def _idp() -> Any:  # Authlib's registered clients are untyped
    return current_app.extensions["authlib.integrations.flask_client"].idp


def _store() -> SessionStore:
    store: SessionStore = current_app.extensions["shop_sessions"]
    return store


def _current() -> ShopSession | None:
    return _store().get(session.get("key"))


@bp.get("/")
def index() -> ResponseReturnValue:
    notice = None
    if "state" in request.args:  # back from idp's end_session_endpoint
        try:
            _idp().validate_logout_response()
            notice = "You are signed out."
        except OAuthError:
            notice = "That sign-out answer was not for this browser."
    return render_template("index.html", customer=_current(), notice=notice)


@bp.get("/login")
def login() -> ResponseReturnValue:
    # Authlib adds state, nonce and the S256 code challenge and keeps them in the cookie session.
    extra = (
        {"acr_values": current_app.config["ACR_VALUES"]} if current_app.config["ACR_VALUES"] else {}
    )
    return _idp().authorize_redirect(url_for("shop.callback", _external=True), **extra)


@bp.get("/callback")
def callback() -> ResponseReturnValue:
    if not answered_by_issuer(request.args.get("iss"), _idp().load_server_metadata()):
        return render_template("index.html", customer=None, error="answer from the wrong issuer")
    try:
        token = _idp().authorize_access_token()  # checks state, PKCE, the ID token and its nonce
    except OAuthError as exc:
        return render_template("index.html", customer=None, error=exc.description or exc.error)
    claims = token["userinfo"]  # the validated ID token's claims
    wanted = (current_app.config["ACR_VALUES"] or "").split()
    if wanted and claims.get("acr") not in wanted:
        # acr_values alone is a wish (Core 3.1.2.1): the shop checks what it really got.
        return render_template("index.html", customer=None, error="not a strong enough sign-in")
    profile = dict(_idp().userinfo(token=token))
    if profile.get("sub") != claims["sub"]:  # OIDC Core 5.3.2
        return render_template("index.html", customer=None, error="UserInfo is for someone else")
    _store().drop(session.get("key"))
    session.clear()
    shop_session = _store().create(
        sub=claims["sub"],
        sid=claims.get("sid"),
        id_token=token["id_token"],
        profile=profile,
        acr=claims.get("acr"),
        amr=list(claims.get("amr") or []),
    )
    session["key"] = shop_session.key
    return redirect(url_for("shop.index"))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End our session, then ask idp to end its own (RP-Initiated Logout 1.0).

    A POST, so a link elsewhere cannot sign people out; the SameSite=Lax cookie is not sent on
    another site's POST either.
    """
    current = _current()
    _store().drop(session.pop("key", None))
    if current is None:
        return redirect(url_for("shop.index"))
    # Authlib adds a state and keeps it to check when idp sends the browser back.
    return _idp().logout_redirect(
        post_logout_redirect_uri=url_for("shop.index", _external=True),
        id_token_hint=current.id_token,
    )


@bp.post("/backchannel-logout")
def backchannel_logout() -> ResponseReturnValue:
    """idp tells us, server to server, that the customer signed out (Back-Channel Logout 2.5)."""
    raw = request.form.get("logout_token", "")
    metadata = _idp().load_server_metadata()
    try:
        try:
            claims = _validate(raw, metadata["issuer"], force_jwks=False)
        except UnknownSigningKey:
            claims = _validate(raw, metadata["issuer"], force_jwks=True)  # idp rotated its keys
        if not _store().first_use_of(claims.jti, claims.exp):
            raise InvalidLogoutToken("replayed jti")
    except InvalidLogoutToken as exc:
        log.warning("Refused a logout token: %s", exc)
        response = jsonify(error="invalid_request", error_description=str(exc))
        response.status_code = 400
    else:
        ended = _store().end(sid=claims.sid, sub=claims.sub)
        log.info("Back-channel logout ended %d session(s)", ended)
        response = current_app.response_class(status=200)
    response.headers["Cache-Control"] = "no-store"  # section 2.8
    return response


def _validate(raw: str, issuer: str, *, force_jwks: bool) -> LogoutClaims:
    keys = KeySet.import_key_set(_idp().fetch_jwk_set(force=force_jwks))
    return validate_logout_token(raw, keys=keys, issuer=issuer, client_id=_idp().client_id)
