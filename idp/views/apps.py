"""The customer's connected applications: what each may see, and withdrawing that permission."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idp.extensions import db
from idp.services import clients, consent, events
from idp.services.events import EventTag
from idp.views import context
from idp.views.account import login_required
from idp.views.forms import CsrfForm

bp = Blueprint("apps", __name__, url_prefix="/account/apps")


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    customer = context.signed_in_customer()
    grants = [(c, clients.get(c.client_id)) for c in consent.list_for(customer)]
    return render_template(
        "account/apps.html",
        grants=[(c, app) for c, app in grants if app is not None],
        form=CsrfForm(),
    )


@bp.post("/<client_id>/withdraw")
@login_required
def withdraw(client_id: str) -> ResponseReturnValue:
    customer = context.signed_in_customer()
    form = CsrfForm()
    if not form.validate_on_submit():
        abort(400)
    app = clients.get(client_id)
    if app is None or not consent.withdraw(customer, client_id):
        abort(404)
    events.record(
        EventTag.CONSENT_WITHDRAWN,
        customer=customer,
        meta=context.request_meta(),
        client_id=client_id,
    )
    db.session.commit()
    flash(_("%(app)s can no longer use your account.", app=app.name), "success")
    return redirect(url_for("apps.index"))
