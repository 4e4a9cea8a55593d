"""Where every way of signing in ends: one place that asks for a second factor or starts the
session, so the password, passkey and emailed-code pages cannot disagree on the rules.

Between the first factor and the second, the sign-in waits in the (signed) Flask session for a
few minutes; no browser session exists yet, so nothing can be reached with the first alone.
"""

from __future__ import annotations

import time
from typing import Any

from flask import g, redirect, session, url_for
from werkzeug.wrappers import Response

from idp.extensions import db
from idp.models import BrowserSession, Customer
from idp.oauth.authorize import INTERACTION_KEY
from idp.services import customers, events, mfa, sessions
from idp.services.events import EventTag
from idp.views import context
from idp.views.redirects import safe_next

PENDING_KEY = "idp_pending_sign_in"
PENDING_LIFETIME = 600


def _store(proof: mfa.Proof) -> list[Any]:
    return [proof.method, list(proof.amr), proof.factors]


def _load(stored: list[Any]) -> mfa.Proof:
    return mfa.Proof(str(stored[0]), tuple(str(v) for v in stored[1]), int(stored[2]))


def first_factor_done(customer: Customer, proof: mfa.Proof, next_url: str | None) -> Response:
    """Ask for the second factor the customer set up, unless this proof or browser is enough."""
    if (
        proof.factors < 2
        and mfa.has_second_factor(customer)
        and not mfa.is_trusted(
            context.trusted_cookie(), customer, settings=context.trust_settings()
        )
    ):
        session[PENDING_KEY] = {
            "customer": customer.public_id,
            "proofs": [_store(proof)],
            "at": time.time(),
            "next": safe_next(next_url),
        }
        g.pop("idp_pending", None)
        return redirect(url_for("mfa.verify"))
    return finish(customer, [proof], next_url)


def pending() -> tuple[Customer, list[mfa.Proof], str] | None:
    """The customer half-way through signing in in this browser, their proofs and destination
    (read once per request: the verify pages ask several times)."""
    if "idp_pending" not in g:
        g.idp_pending = _read_pending()
    return g.idp_pending  # type: ignore[no-any-return]


def _read_pending() -> tuple[Customer, list[mfa.Proof], str] | None:
    stored = session.get(PENDING_KEY)
    if not isinstance(stored, dict) or time.time() - float(stored.get("at", 0)) > PENDING_LIFETIME:
        return None
    customer = customers.find_by_public_id(str(stored.get("customer")))
    if customer is None or not customer.is_active:
        return None
    return customer, [_load(p) for p in stored.get("proofs", [])], str(stored.get("next") or "")


def second_factor_customer() -> Customer | None:
    """Whose second factor the verify pages check: the pending sign-in's, or the signed-in
    customer's for a step-up."""
    waiting = pending()
    if waiting is not None:
        return waiting[0]
    return context.current_customer()


def second_factor_done(
    customer: Customer, proof: mfa.Proof, next_url: str | None, *, remember: bool = False
) -> Response:
    """Finish the pending sign-in with ``proof``, or raise the current session to it."""
    waiting = pending()
    if waiting is not None and waiting[0].id == customer.id:
        _, proofs, stored_next = waiting
        return finish(customer, [*proofs, proof], stored_next or next_url, remember=remember)
    browser_session = context.current_session()
    assert browser_session is not None and browser_session.customer_id == customer.id
    step_up(browser_session, proof)
    if remember:
        _remember(customer)
    db.session.commit()
    return redirect(safe_next(next_url))


def step_up(browser_session: BrowserSession, proof: mfa.Proof) -> None:
    """Add a factor to a live session (a new id, a new auth_time); the caller commits."""
    earlier = [mfa.Proof("session", tuple(v for v in browser_session.amr if v != "mfa"))]
    amr = mfa.amr_of([*earlier, proof])
    raw = sessions.elevate(browser_session, amr=amr)
    events.record(
        EventTag.STEP_UP,
        customer=browser_session.customer,
        meta=context.request_meta(),
        method=proof.method,
        amr=amr,
        channel="web",
    )
    context.set_session_cookie(raw)


def finish(
    customer: Customer, proofs: list[mfa.Proof], next_url: str | None, *, remember: bool = False
) -> Response:
    """Start the browser session of a complete sign-in and go where the customer was going."""
    previous = context.current_session()
    if previous is not None:
        sessions.end(previous)
    amr = mfa.amr_of(proofs)
    raw, _browser_session = sessions.start(
        customer, amr=amr, meta=context.request_meta(), policy=context.session_policy()
    )
    events.record(
        EventTag.LOGIN_SUCCESS,
        customer=customer,
        meta=context.request_meta(),
        method="+".join(p.method for p in proofs)[:32],
        amr=amr,
        channel="web",
    )
    if remember:
        _remember(customer)
    db.session.commit()
    # A new id at sign-in: a session fixed by an attacker before it is worth nothing after.
    clear_flask_session(keep=("ui_locale", INTERACTION_KEY))
    context.set_session_cookie(raw)
    return redirect(safe_next(next_url))


def _remember(customer: Customer) -> None:
    cookie = mfa.remember_browser(
        customer, meta=context.request_meta(), settings=context.trust_settings()
    )
    context.set_trusted_cookie(cookie)


def clear_flask_session(keep: tuple[str, ...]) -> None:
    """Drop everything (CSRF secret included) but the few keys that must outlive a sign-in."""
    g.pop("idp_pending", None)
    kept = {key: session[key] for key in keep if key in session}
    session.clear()
    session.update(kept)
