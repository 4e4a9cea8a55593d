"""The customer's devices: what was approved through the device flow, and removing it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idp.extensions import db
from idp.services import devices, events
from idp.services.events import EventTag
from idp.views import context
from idp.views.account import login_required
from idp.views.forms import CsrfForm

bp = Blueprint("devices", __name__, url_prefix="/account/devices")


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    return render_template(
        "account/devices.html",
        devices=devices.list_for(context.signed_in_customer()),
        form=CsrfForm(),
    )


@bp.post("/<int:device_id>/remove")
@login_required
def remove(device_id: int) -> ResponseReturnValue:
    customer = context.signed_in_customer()
    if not CsrfForm().validate_on_submit():
        abort(400)
    device = devices.find(customer, device_id)
    if device is None:
        abort(404)
    name, client_id = device.name, device.client_id
    devices.remove(device)
    events.record(
        EventTag.DEVICE_REMOVED,
        customer=customer,
        meta=context.request_meta(),
        client_id=client_id,
        channel="device",
    )
    db.session.commit()
    flash(_("%(device)s is signed out and removed from your account.", device=name), "success")
    return redirect(url_for("devices.index"))
