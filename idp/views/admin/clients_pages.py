"""Applications on the console: every role reads the registry and each client's activity and
quickstart; admins register, edit, rotate secrets (shown once) and delete. The rules are those of
``idp clients`` (``services.admin.client_registry`` over ``services.clients``)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idp.errors import ValidationError
from idp.extensions import db
from idp.models import AdminRole, Client
from idp.services import clients
from idp.services.admin import client_registry
from idp.views.admin import bp, guard
from idp.views.admin.forms import ClientForm, ReasonForm
from idp.views.forms import CsrfForm


def _client_or_404(client_id: str) -> Client:
    client = clients.get(client_id)
    if client is None:
        abort(404)
    return client


def _apply_errors(form: ClientForm, exc: ValidationError) -> None:
    for name, message in exc.errors.items():
        field = getattr(form, name, None)
        if field is None or not hasattr(field, "errors"):
            form.form_errors.append(f"{name}: {message}")
        else:
            field.errors = [*field.errors, str(message)]


def _fill(form: ClientForm, client: Client) -> None:
    form.name.data = client.name
    form.client_type.data = client.client_type
    form.redirect_uris.data = "\n".join(client.redirect_uris or [])
    form.post_logout_redirect_uris.data = "\n".join(client.post_logout_redirect_uris or [])
    form.backchannel_logout_uri.data = client.backchannel_logout_uri or ""
    form.grant_types.data = list(client.grant_types or [])
    form.scope.data = client.scope
    form.first_party.data = client.first_party
    form.require_mfa.data = client.require_mfa


@bp.get("/clients")
@guard.role_required(AdminRole.VIEWER)
def clients_list() -> ResponseReturnValue:
    return render_template("admin/clients.html", clients=clients.list_clients())


@bp.route("/clients/new", methods=["GET", "POST"])
@guard.role_required(AdminRole.ADMIN)
def client_new() -> ResponseReturnValue:
    form = ClientForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("admin/client_new.html", form=form), status
    try:
        client, secret = client_registry.create(guard.actor(), **form.values(creating=True))
    except ValidationError as exc:
        _apply_errors(form, exc)
        return render_template("admin/client_new.html", form=form), 400
    db.session.commit()
    return _detail(client, secret=secret)


def _detail(
    client: Client, *, form: ClientForm | None = None, secret: str | None = None, status: int = 200
) -> ResponseReturnValue:
    if form is None:
        form = ClientForm(formdata=None)
        _fill(form, client)
    return (
        render_template(
            "admin/client.html",
            client=client,
            form=form,
            reason_form=ReasonForm(formdata=None),
            secret=secret,
            activity=client_registry.activity(client),
            can_edit=guard.signed_in_admin().allows(AdminRole.ADMIN),
        ),
        status,
    )


@bp.get("/clients/<client_id>")
@guard.role_required(AdminRole.VIEWER)
def client_page(client_id: str) -> ResponseReturnValue:
    return _detail(_client_or_404(client_id))


@bp.post("/clients/<client_id>")
@guard.role_required(AdminRole.ADMIN)
def client_update(client_id: str) -> ResponseReturnValue:
    client = _client_or_404(client_id)
    form = ClientForm()
    # The type is fixed once registered: whatever was posted for it is not read.
    form.client_type.data = client.client_type
    if not form.validate_on_submit():
        return _detail(client, form=form, status=400)
    try:
        client_registry.update(client, guard.actor(), **form.values(creating=False))
    except ValidationError as exc:
        db.session.rollback()
        _apply_errors(form, exc)
        return _detail(_client_or_404(client_id), form=form, status=400)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for(".client_page", client_id=client.client_id), 303)


@bp.post("/clients/<client_id>/rotate-secret")
@guard.role_required(AdminRole.ADMIN)
def client_rotate(client_id: str) -> ResponseReturnValue:
    client = _client_or_404(client_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        secret = client_registry.rotate_secret(client, guard.actor())
    except ValidationError:
        flash(_("This application has no secret: it is a public client."), "error")
        return redirect(url_for(".client_page", client_id=client.client_id), 303)
    db.session.commit()
    return _detail(client, secret=secret)


@bp.post("/clients/<client_id>/delete")
@guard.role_required(AdminRole.ADMIN)
def client_delete(client_id: str) -> ResponseReturnValue:
    client = _client_or_404(client_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Say why, for the audit log."), "error")
        return redirect(url_for(".client_page", client_id=client.client_id), 303)
    name = client.name
    client_registry.delete(client, guard.actor(), reason=form.reason.data)
    db.session.commit()
    flash(_("%(name)s is deleted: it can no longer sign anyone in.", name=name), "success")
    return redirect(url_for(".clients_list"), 303)
