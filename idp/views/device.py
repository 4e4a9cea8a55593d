"""The device flow's HTTP surface (RFC 8628): the device's endpoint, the customer's page, the QR.

The customer types (or finds prefilled) the code shown on the device, sees which product asks
for what, and approves or denies. Nothing is ever approved by following a link (RFC 8628 5.4),
and wrong codes are throttled per customer and per address, since a guessed code would connect
a stranger's device (RFC 8628 5.1).
"""

from __future__ import annotations

import io

import segno
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired, Length, StopValidation

from idp.errors import Throttled
from idp.extensions import csrf, db
from idp.models import Client, DeviceAuthorization
from idp.oauth import claims, issuance
from idp.oauth import device as device_grant
from idp.oauth.server import server
from idp.services import clients, consent, devices, events, mfa
from idp.services.events import EventTag
from idp.views import context
from idp.views.account import login_required
from idp.views.forms import REQUIRED, BaseForm

bp = Blueprint("device", __name__)
bp.record_once(lambda state: device_grant.check_settings(state.app.config))

APPROVE, DENY = "approve", "deny"


def _well_formed(form: BaseForm, field: StringField) -> None:
    """A typo in the shape of the code says nothing about live codes: not counted as a guess."""
    if devices.normalize_user_code(field.data) is None:
        raise StopValidation(_l("Enter the 8 letters shown on your device, for example BCDF-GHJK."))


class UserCodeForm(BaseForm):
    user_code = StringField(
        _l("Code shown on your device"),
        validators=[DataRequired(REQUIRED), Length(max=64), _well_formed],
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "maxlength": 64,
        },
    )


@bp.post("/device_authorization")
@csrf.exempt
def device_authorization() -> ResponseReturnValue:
    """RFC 8628 3.1: JSON in, JSON out, errors with Cache-Control: no-store."""
    response = server().create_endpoint_response(device_grant.ENDPOINT_NAME)
    if response.status_code == 200:
        db.session.commit()
    else:
        db.session.rollback()
    return response


@bp.route("/device", methods=["GET", "POST"])
@login_required
def verify() -> ResponseReturnValue:
    form = UserCodeForm()
    if request.method == "GET":
        # verification_uri_complete: shown for the customer to compare with the device, then
        # confirmed with a button (RFC 8628 3.3.1); a GET never approves nor looks codes up.
        prefilled = devices.normalize_user_code(request.args.get("user_code"))
        if prefilled is not None:
            form.user_code.data = devices.display_user_code(prefilled)
        return render_template("device/enter.html", form=form, prefilled=prefilled is not None)
    if not form.validate_on_submit():
        return render_template("device/enter.html", form=form, prefilled=False), 400
    code = devices.normalize_user_code(form.user_code.data)
    assert code is not None
    try:
        authorization = _lookup(code)
    except Throttled as exc:
        message = _(
            "Too many wrong codes. Try again in %(n)d minutes.", n=context.retry_minutes(exc)
        )
        body = render_template("device/enter.html", form=form, prefilled=False, throttled=message)
        return context.throttled_response(body, exc)
    client = clients.get(authorization.client_id) if authorization is not None else None
    browser_session = context.current_session()
    assert browser_session is not None
    if client is not None and client.require_mfa and "mfa" not in (browser_session.amr or []):
        # The device's client demands MFA: step up, then come back to confirm the same code.
        back = url_for("device.verify", user_code=devices.display_user_code(code))
        return redirect(url_for("mfa.verify", next=back))
    decision = request.form.get("decision")
    if authorization is None or client is None or not _apply(decision, authorization, client):
        # Unknown, expired, or decided a moment ago in another tab.
        form.user_code.errors = [
            _("This code is not valid or has expired. Check the code on your device.")
        ]
        return render_template("device/enter.html", form=form, prefilled=False), 400
    if decision in (APPROVE, DENY):
        return render_template("device/done.html", client=client, approved=decision == APPROVE)
    return render_template(
        "device/confirm.html",
        client=client,
        user_code=devices.display_user_code(code),
        scopes=[
            scope
            for scope in claims.SUPPORTED_SCOPES
            if scope in authorization.scope.split() and scope not in consent.SILENT_SCOPES
        ],
        customer=context.current_customer(),
    )


def _lookup(code: str) -> DeviceAuthorization | None:
    """The pending request behind a code, each wrong code counted for the customer and the IP.

    A right code never clears the count: anyone can make right codes on their own device.
    """
    cfg = current_app.config
    customer = context.current_customer()
    assert customer is not None
    limits = (
        (cfg["USER_CODE_LIMIT_PER_CUSTOMER"], "user-code-customer", customer.public_id),
        (cfg["USER_CODE_LIMIT_PER_IP"], "user-code-ip", context.request_meta().ip or "unknown"),
    )
    throttle = context.throttle()
    try:
        for limit, scope, key in limits:
            throttle.check(limit, scope, key)
    except Throttled:
        _rejected("throttled")
        raise
    authorization = devices.find_pending(code, device_grant.settings())
    if authorization is None:
        for limit, scope, key in limits:
            throttle.hit(limit, scope, key)
        _rejected("unknown_code")
    return authorization


def _rejected(reason: str) -> None:
    events.record(
        EventTag.USER_CODE_REJECTED,
        success=False,
        customer=context.current_customer(),
        meta=context.request_meta(),
        channel=device_grant.CHANNEL,
        reason=reason,
    )
    db.session.commit()


def _apply(decision: str | None, authorization: DeviceAuthorization, client: Client) -> bool:
    """Carry out the customer's decision, if any; False when the request was no longer pending."""
    if decision == APPROVE:
        return _approve(authorization, client)
    if decision == DENY:
        return _deny(authorization, client)
    return True


def _approve(authorization: DeviceAuthorization, client: Client) -> bool:
    browser_session = context.current_session()
    assert browser_session is not None
    device = devices.approve(
        authorization,
        browser_session,
        name=client.name,
        acr=mfa.acr_of(browser_session.amr or []),
        lifetimes=issuance.lifetimes(),
    )
    if device is None:
        db.session.rollback()
        return False
    events.record(
        EventTag.DEVICE_APPROVED,
        customer=browser_session.customer,
        meta=context.request_meta(),
        client_id=client.client_id,
        channel=device_grant.CHANNEL,
        amr=list(browser_session.amr or []),
    )
    db.session.commit()
    return True


def _deny(authorization: DeviceAuthorization, client: Client) -> bool:
    customer = context.current_customer()
    assert customer is not None
    if not devices.deny(authorization, customer):
        db.session.rollback()
        return False
    events.record(
        EventTag.AUTHORIZATION_DENIED,
        success=False,
        customer=customer,
        meta=context.request_meta(),
        client_id=client.client_id,
        channel=device_grant.CHANNEL,
    )
    db.session.commit()
    return True


@bp.get("/device/qr")
def qr() -> ResponseReturnValue:
    """An SVG QR code of ``verification_uri_complete``, for the device to show (RFC 8628 3.3.1).

    It checks the code's shape only: answering differently for live codes would be an oracle.
    """
    code = devices.normalize_user_code(request.args.get("user_code"))
    if code is None:
        abort(400)
    svg = io.BytesIO()
    segno.make(device_grant.verification_uri(devices.display_user_code(code)), error="m").save(
        svg, kind="svg", scale=4, border=4, xmldecl=False, svgns=True, title=None
    )
    return Response(svg.getvalue(), mimetype="image/svg+xml")
