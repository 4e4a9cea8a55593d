"""Merging two records of one person on the console: compare side by side with a choice per
field, merge with a reason (support), see the merge and undo it while its window is open, or
mark the pair as two different people so nobody merges them later."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idp.errors import NotFound, ValidationError
from idp.extensions import db
from idp.models import AdminRole, Customer, CustomerMerge
from idp.services import customers
from idp.services.records import fields, history, merge
from idp.views.admin import bp, guard


def _customer(public_id: str | None) -> Customer:
    found = customers.find_by_public_id(public_id) if public_id and len(public_id) <= 64 else None
    if found is None:
        abort(404)
    return found


def _pair() -> tuple[Customer, Customer]:
    """The two records to compare: ``survivor`` and ``absorbed``, or two ``pick`` values (the
    older record survives by default: links and apps are more likely to know it)."""
    if request.values.get("survivor") and request.values.get("absorbed"):
        return _customer(request.values["survivor"]), _customer(request.values["absorbed"])
    picked = list(dict.fromkeys(request.values.getlist("pick")))
    if len(picked) != 2:
        abort(400, description=_("Pick exactly two customers to compare."))
    a, b = _customer(picked[0]), _customer(picked[1])
    return (a, b) if (a.created_at, a.id) <= (b.created_at, b.id) else (b, a)


def _compare_page(
    survivor: Customer, absorbed: Customer, status: int = 200, error: str | None = None
) -> ResponseReturnValue:
    preview = merge.preview(survivor, absorbed)
    return (
        render_template(
            "admin/merge.html",
            survivor=survivor,
            absorbed=absorbed,
            preview=preview,
            shown=fields.SHOWN,
            choices=fields.CHOICES,
            error=error,
            can_act=guard.signed_in_admin().allows(AdminRole.SUPPORT),
        ),
        status,
    )


@bp.get("/merge")
@guard.role_required(AdminRole.VIEWER)
def merge_compare() -> ResponseReturnValue:
    survivor, absorbed = _pair()
    return _compare_page(survivor, absorbed)


@bp.post("/merge")
@guard.role_required(AdminRole.SUPPORT)
def merge_submit() -> ResponseReturnValue:
    survivor, absorbed = _pair()
    # A field not posted follows the service's suggestion, as the page pre-selects it.
    choices = {
        name: value
        for name in fields.CHOICES
        if (value := request.form.get(f"choice_{name}")) is not None
    }
    try:
        record = merge.merge(
            survivor,
            absorbed,
            choices=choices,
            reason=request.form.get("reason", ""),
            actor=guard.actor(),
            settings=merge.MergeSettings.from_config(current_app.config),
        )
    except ValidationError as exc:
        db.session.rollback()
        message = "; ".join(str(m) for m in exc.errors.values())
        return _compare_page(
            _customer(survivor.public_id), _customer(absorbed.public_id), 400, message
        )
    db.session.commit()
    flash(_("The records are merged. You can undo it from this page."), "success")
    return redirect(url_for(".merge_page", public_id=record.public_id), 303)


@bp.post("/merge/distinct")
@guard.role_required(AdminRole.SUPPORT)
def merge_distinct() -> ResponseReturnValue:
    a, b = _pair()
    try:
        merge.mark_distinct(
            a, b, actor=guard.actor(), reason=(request.form.get("reason") or "")[:500] or None
        )
    except ValidationError as exc:
        db.session.rollback()
        return _compare_page(a, b, 400, "; ".join(str(m) for m in exc.errors.values()))
    db.session.commit()
    flash(_("Marked as two different people: they will not be merged."), "success")
    return redirect(url_for(".merge_compare", survivor=a.public_id, absorbed=b.public_id), 303)


@bp.get("/merges")
@guard.role_required(AdminRole.VIEWER)
def merges_list() -> ResponseReturnValue:
    before = request.args.get("before", "")
    page = history.recent(before_id=int(before) if before.isdigit() and len(before) < 19 else None)
    return render_template("admin/merges.html", page=page, can_undo=history.can_undo)


def _merge_or_404(public_id: str) -> CustomerMerge:
    try:
        return history.get(public_id)
    except NotFound:
        abort(404)


@bp.get("/merges/<public_id>")
@guard.role_required(AdminRole.VIEWER)
def merge_page(public_id: str) -> ResponseReturnValue:
    record = _merge_or_404(public_id)
    return render_template(
        "admin/merge_record.html",
        record=record,
        undoable=history.can_undo(record),
        can_act=guard.signed_in_admin().allows(AdminRole.SUPPORT),
    )


@bp.post("/merges/<public_id>/undo")
@guard.role_required(AdminRole.SUPPORT)
def merge_undo(public_id: str) -> ResponseReturnValue:
    record = _merge_or_404(public_id)
    try:
        merge.undo(record, actor=guard.actor())
    except ValidationError as exc:
        db.session.rollback()
        flash("; ".join(str(m) for m in exc.errors.values()), "error")
        return redirect(url_for(".merge_page", public_id=public_id), 303)
    db.session.commit()
    flash(_("The merge is undone: both records are back as they were."), "success")
    return redirect(url_for(".merge_page", public_id=public_id), 303)
