"""Passkeys: adding and removing them under /account/security, and the two ceremonies that use
them, signing in without a password (/login) and the second step (/login/verify).

Each ceremony is a pair of JSON calls from ``static/passkeys.js``: options (the challenge is
kept in the signed Flask session for a few minutes), then the browser's answer, which pops it.
Every refusal is a 400 JSON ``{"error", "error_description"}``; a sign-in that succeeds answers
``{"redirect": url}`` with its cookies set, and the script goes there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import Length

from idp.errors import AccountDisabled, AuthenticationFailed, NotFound, ValidationError
from idp.extensions import db
from idp.models import Customer
from idp.services import mfa
from idp.services import passkeys as service
from idp.services.events import EventTag
from idp.views import context, signin
from idp.views.forms import BaseForm, CsrfForm
from idp.views.redirects import safe_next
from idp.views.security import sudo_required

bp = Blueprint("passkeys", __name__)

CHALLENGE_KEY = "idp_webauthn"
REGISTER, SIGN_IN, SECOND_FACTOR = "register", "sign-in", "second-factor"


class RenameForm(BaseForm):
    name = StringField(validators=[Length(max=service.NAME_MAX)])


# --- JSON plumbing ----------------------------------------------------------------------------


def _json(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _error(code: str, description: str, status: int = 400, **extra: Any) -> Response:
    return _json({"error": code, "error_description": description, **extra}, status)


def _body() -> dict[str, Any] | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _followed(response: Response) -> Response:
    """A redirect made by the sign-in helpers, told to the script instead: same cookies."""
    return _json({"redirect": response.location})


def _settings() -> service.RelyingParty:
    cfg = current_app.config
    return service.relying_party(cfg["ISSUER"], cfg["WEBAUTHN_RP_ID"])


def _begin(
    purpose: str, ceremony: service.Ceremony, customer: Customer | None, **extra: Any
) -> Response:
    """Keep the challenge for the answer (replacing any earlier one) and send the options."""
    session[CHALLENGE_KEY] = {
        "purpose": purpose,
        "challenge": bytes_to_base64url(ceremony.challenge),
        "at": time.time(),
        "customer": customer.public_id if customer is not None else None,
        **extra,
    }
    return _json({"publicKey": ceremony.options})


def _take(purpose: str, customer: Customer | None) -> tuple[bytes, dict[str, Any]] | None:
    """The challenge of this browser's ceremony, removed so it answers once; None when there is
    none, it is stale, or it was for another purpose or customer."""
    stored = session.pop(CHALLENGE_KEY, None)
    if not isinstance(stored, dict) or stored.get("purpose") != purpose:
        return None
    age = time.time() - float(stored.get("at", 0))
    if not 0 <= age <= service.CHALLENGE_LIFETIME.total_seconds():
        return None
    if stored.get("customer") != (customer.public_id if customer is not None else None):
        return None
    try:
        return base64url_to_bytes(str(stored["challenge"])), stored
    except (KeyError, ValueError):
        return None


def _no_challenge() -> Response:
    return _error("invalid_request", "no passkey ceremony in progress, or it expired; start again")


def _credential(body: dict[str, Any] | None) -> dict[str, Any] | None:
    credential = body.get("credential") if body is not None else None
    return credential if isinstance(credential, dict) else None


def _json_sudo(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """``sudo_required`` for scripts: its redirects told as JSON errors the script follows."""
    guarded = sudo_required(view)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        browser_session = context.current_session()
        back = url_for("security.index")
        if browser_session is None:
            return _error(
                "login_required", "sign in first", 401, redirect=url_for("auth.login", next=back)
            )
        if "mfa" not in (browser_session.amr or []) and mfa.has_second_factor(
            browser_session.customer
        ):
            return _error(
                "step_up_required",
                "confirm your second step first",
                403,
                redirect=url_for("mfa.verify", next=back),
            )
        return guarded(*args, **kwargs)

    return wrapper


# --- adding, renaming, removing ---------------------------------------------------------------


@bp.post("/account/security/passkeys/register/options")
@_json_sudo
def register_options() -> ResponseReturnValue:
    """``{"name"?}`` -> ``{"publicKey": PublicKeyCredentialCreationOptionsJSON}``."""
    customer = context.signed_in_customer()
    body = _body()
    if body is None:
        return _error("invalid_request", "expected a JSON object")
    default = _("Passkey %(n)d", n=len(mfa.passkeys(customer)) + 1)
    try:
        name = service.clean_name(body.get("name"), default)
    except ValidationError as exc:
        return _error("invalid_name", exc.errors["name"])
    ceremony = service.registration_options(customer, _settings())
    return _begin(REGISTER, ceremony, customer, name=name)


@bp.post("/account/security/passkeys/register")
@_json_sudo
def register() -> ResponseReturnValue:
    """``{"credential": RegistrationResponseJSON, "next"?}`` -> ``{"redirect", "recovery_codes"}``;
    with ``recovery_codes`` true the script first asks for the customer's first recovery codes."""
    customer = context.signed_in_customer()
    credential = _credential(_body())
    if credential is None:
        return _error("invalid_request", 'expected {"credential": {...}}')
    taken = _take(REGISTER, customer)
    if taken is None:
        return _no_challenge()
    challenge, stored = taken
    try:
        row, proof = service.register(
            customer,
            credential,
            challenge=challenge,
            name=str(stored.get("name") or _("Passkey")),
            rp=_settings(),
        )
    except ValidationError as exc:
        db.session.commit()  # the challenge stays spent
        return _error("invalid_credential", "; ".join(exc.errors.values()))
    context.factor_changed(customer, EventTag.PASSKEY_ADDED, proof.method, {"name": row.name})
    browser_session = context.current_session()
    assert browser_session is not None
    if "mfa" not in (browser_session.amr or []):
        # Creating the credential proved the new key: this session now has two factors.
        signin.step_up(browser_session, proof)
    db.session.commit()
    flash(_("Your passkey “%(name)s” was added.", name=row.name), "success")
    body = _body() or {}
    next_url = body.get("next") if isinstance(body.get("next"), str) else None
    return _json(
        {
            "redirect": safe_next(next_url, url_for("security.index")),
            "recovery_codes": mfa.remaining_recovery_codes(customer) == 0,
        }
    )


@bp.post("/account/security/passkeys/<int:passkey_id>/rename")
@sudo_required
def rename(passkey_id: int) -> ResponseReturnValue:
    customer = context.signed_in_customer()
    form = RenameForm()
    if form.validate_on_submit():
        try:
            current = service.find(customer, passkey_id).name
            name = service.rename(
                customer, passkey_id, service.clean_name(form.name.data, current)
            ).name
        except NotFound:
            flash(_("That passkey does not exist any more."), "error")
        except ValidationError:
            flash(_("A passkey name has at most 64 characters."), "error")
        else:
            db.session.commit()
            flash(_("The passkey is now named “%(name)s”.", name=name), "success")
    elif form.name.errors:
        flash(_("A passkey name has at most 64 characters."), "error")
    else:
        flash(_("The page had expired. Try again."), "error")
    return redirect(url_for("security.index") + "#passkeys")


@bp.post("/account/security/passkeys/<int:passkey_id>/remove")
@sudo_required
def remove(passkey_id: int) -> ResponseReturnValue:
    customer = context.signed_in_customer()
    if CsrfForm().validate_on_submit():
        try:
            row = service.remove(customer, passkey_id)
        except NotFound:
            flash(_("That passkey does not exist any more."), "error")
        else:
            context.factor_changed(
                customer, EventTag.PASSKEY_REMOVED, "passkey", {"name": row.name}
            )
            db.session.commit()
            flash(_("The passkey “%(name)s” was removed.", name=row.name), "success")
    return redirect(url_for("security.index") + "#passkeys")


# --- using one --------------------------------------------------------------------------------


def _verify_assertion(customer: Customer | None) -> tuple[Customer, mfa.Proof] | Response:
    """Pop the challenge and check the answer; the customer and proof, or the JSON refusal."""
    purpose = SIGN_IN if customer is None else SECOND_FACTOR
    credential = _credential(_body())
    if credential is None:
        return _error("invalid_request", 'expected {"credential": {...}}')
    taken = _take(purpose, customer)
    if taken is None:
        return _no_challenge()
    try:
        row, proof = service.authenticate(
            credential,
            challenge=taken[0],
            rp=_settings(),
            customer=customer,
            meta=context.request_meta(),
        )
    except ValidationError:
        db.session.commit()
        return _error("invalid_request", "the passkey answer is malformed")
    except NotFound:
        db.session.commit()
        return _error("unknown_credential", "this passkey is not registered here")
    except AccountDisabled:
        db.session.commit()
        return _error("access_denied", "this account cannot sign in")
    except AuthenticationFailed:
        db.session.commit()
        return _error("verification_failed", "the passkey could not be verified")
    return row.customer, proof


def _next_from_body() -> str | None:
    body = _body() or {}
    value = body.get("next")
    return value if isinstance(value, str) else None


@bp.post("/login/passkey/options")
def sign_in_options() -> ResponseReturnValue:
    """Options for a passwordless sign-in: any passkey of this site, user verification required."""
    return _begin(SIGN_IN, service.authentication_options(_settings()), None)


@bp.post("/login/passkey")
def sign_in() -> ResponseReturnValue:
    """``{"credential": AuthenticationResponseJSON, "next"?}`` -> ``{"redirect"}``."""
    checked = _verify_assertion(None)
    if isinstance(checked, Response):
        return checked
    customer, proof = checked
    return _followed(signin.first_factor_done(customer, proof, _next_from_body()))


@bp.post("/login/verify/passkey/options")
def verify_options() -> ResponseReturnValue:
    """Options for the second step (or a step-up): only the passkeys of that customer."""
    customer = signin.second_factor_customer()
    if customer is None:
        return _error("login_required", "sign in first", 401, redirect=url_for("auth.login"))
    if not mfa.passkeys(customer):
        return _error("invalid_request", "no passkey registered")
    ceremony = service.authentication_options(_settings(), customer)
    return _begin(SECOND_FACTOR, ceremony, customer)


@bp.post("/login/verify/passkey")
def verify() -> ResponseReturnValue:
    """``{"credential": AuthenticationResponseJSON, "next"?}`` -> ``{"redirect"}``."""
    customer = signin.second_factor_customer()
    if customer is None:
        session.pop(CHALLENGE_KEY, None)
        return _error("login_required", "sign in first", 401, redirect=url_for("auth.login"))
    checked = _verify_assertion(customer)
    if isinstance(checked, Response):
        return checked
    customer, proof = checked
    return _followed(signin.second_factor_done(customer, proof, _next_from_body()))
