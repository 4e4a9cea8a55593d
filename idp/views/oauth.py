"""OAuth 2.0 / OpenID Connect endpoints: thin views over ``idp.oauth``."""

from __future__ import annotations

import logging
from typing import Any

from authlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidRequestError, OAuth2Error
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError as CSRFValidationError

from idp.extensions import csrf, db
from idp.oauth import authorize as flow
from idp.oauth import claims as claims_module
from idp.oauth import dpop, issuance, lookup, par, responses, userinfo
from idp.oauth.server import server
from idp.services import consent, events, mfa, pushed_requests, sessions, tokens
from idp.services.events import EventTag
from idp.views import context

bp = Blueprint("oauth", __name__)
log = logging.getLogger(__name__)


def _response_mode() -> str:
    mode = request.values.get("response_mode", "query")
    return mode if mode in flow.RESPONSE_MODES else "query"


@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt  # clients may POST authorization requests; our own forms are checked below
def authorize() -> ResponseReturnValue:
    try:
        req = _read_request()
    except OAuth2Error as error:
        return responses.authorization_error(error, _response_mode())
    except ValueError:
        # Authlib refuses to build an error whose description holds a quote or a non-ASCII
        # character; check_target keeps request values out of descriptions, this is the net.
        log.exception("authorization request refused by a ValueError")
        return responses.authorization_error(InvalidRequestError("Invalid request."))
    browser_session = context.current_session()

    decision = request.form.get("decision") if request.method == "POST" else None
    if decision is not None:
        try:
            validate_csrf(request.form.get("csrf_token"))
        except CSRFValidationError as exc:
            raise CSRFError(str(exc)) from exc
        if browser_session is not None:
            outcome = _apply_decision(req, decision, browser_session)
            if outcome is not None:
                return outcome
            browser_session = context.current_session()

    try:
        step = flow.decide(req, browser_session)
    except OAuth2Error as error:
        return responses.authorization_error(error, req.response_mode)
    if step is flow.Step.LOGIN:
        flow.begin(req)
        return redirect(_login_url(req))
    if step is flow.Step.SECOND_FACTOR:
        back = url_for("oauth.authorize", **dict[str, Any](req.args))
        return redirect(url_for("mfa.verify", next=back))
    assert browser_session is not None
    if step is flow.Step.SELECT_ACCOUNT:
        return render_template(
            "oauth/select_account.html", req=req, customer=browser_session.customer
        )
    if step is flow.Step.CONSENT:
        return render_template(
            "oauth/consent.html",
            req=req,
            customer=browser_session.customer,
            claims=claims_module.requested_claim_names(req.scope, req.claims),
            scopes=sorted(req.consent_scopes - consent.SILENT_SCOPES),
        )
    return _issue_code(req, browser_session)


def _read_request() -> flow.AuthRequest:
    """The request as the client pushed it (RFC 9126 4), or as the URL carries it."""
    pushed = None
    values: Any = request.values
    if par.is_pushed_reference(values.get("request_uri")):
        values, pushed = par.resolve(request.values)
    flow.check_target(values)
    if pushed is None and par.required(lookup.client(values.get("client_id"))):
        raise flow.redirected_error(
            values, InvalidRequestError("This client must push its requests first (PAR).")
        )
    grant = server().get_consent_grant(request=par.ParamsRequest(values), end_user=None)
    req = flow.parse(grant, request.values)
    req.pushed = pushed
    return req


def _login_url(req: flow.AuthRequest) -> str:
    args: dict[str, Any] = dict(req.args)
    back = url_for("oauth.authorize", **args)
    ui_locales = req.args.get("ui_locales") or []
    return url_for(
        "auth.login",
        next=back,
        login_hint=req.login_hint,
        ui_locales=ui_locales[0] if ui_locales else None,
    )


def _apply_decision(
    req: flow.AuthRequest, decision: str, browser_session: sessions.BrowserSession
) -> ResponseReturnValue | None:
    customer = browser_session.customer
    if decision == "allow":
        consent.grant(customer, req.client.client_id, req.consent_scopes)
        events.record(
            EventTag.CONSENT_GRANTED,
            customer=customer,
            meta=context.request_meta(),
            client_id=req.client.client_id,
            channel=issuance.channel_of(req.client),
        )
        db.session.commit()
        flow.mark(req, flow.Step.CONSENT)
    elif decision == "deny":
        events.record(
            EventTag.AUTHORIZATION_DENIED,
            success=False,
            customer=customer,
            meta=context.request_meta(),
            client_id=req.client.client_id,
            channel=issuance.channel_of(req.client),
        )
        if req.pushed is not None:
            pushed_requests.spend(req.pushed)
        db.session.commit()
        flow.finish()
        error = AccessDeniedError(redirect_uri=req.redirect_uri)
        error.state = req.state
        return responses.authorization_error(error, req.response_mode)
    elif decision == "continue":
        flow.mark(req, flow.Step.SELECT_ACCOUNT)
    elif decision == "switch":
        sessions.end(browser_session)
        db.session.commit()
        context.set_session_cookie(None)
        flow.begin(req)
        flow.mark(req, flow.Step.SELECT_ACCOUNT)
        return redirect(_login_url(req))
    return None


def _issue_code(
    req: flow.AuthRequest, browser_session: sessions.BrowserSession
) -> ResponseReturnValue:
    customer = browser_session.customer
    if req.pushed is not None and not pushed_requests.spend(req.pushed):
        # Another tab or a replay got the one answer this pushed request allows.
        db.session.rollback()
        return responses.authorization_error(par.used_request_uri())
    raw, _code = tokens.create_code(
        tokens.CodeRequest(
            client_id=req.client.client_id,
            customer=customer,
            redirect_uri=req.redirect_uri,
            redirect_uri_given=req.redirect_uri_given,
            scope=req.scope,
            nonce=req.nonce,
            code_challenge=req.code_challenge,
            code_challenge_method=req.code_challenge_method,
            claims=req.claims,
            sid=browser_session.sid,
            auth_time=browser_session.auth_time,
            acr=mfa.acr_of(browser_session.amr or []),
            amr=list(browser_session.amr or []),
            dpop_jkt=req.dpop_jkt,
            resources=req.resources,
        ),
        issuance.lifetimes(req.client),
    )
    sessions.join(browser_session, req.client.client_id)
    events.record(
        EventTag.CODE_ISSUED,
        customer=customer,
        meta=context.request_meta(),
        client_id=req.client.client_id,
        channel=issuance.channel_of(req.client),
        amr=list(browser_session.amr or []),
    )
    db.session.commit()
    flow.finish()
    params = [("code", raw)]
    if req.state:
        params.append(("state", req.state))
    return responses.to_client(req.redirect_uri, params, req.response_mode)


@bp.post("/par")
@csrf.exempt
def pushed_authorization_request() -> ResponseReturnValue:
    """RFC 9126 2: a client pushes its authorization request and gets a request_uri."""
    try:
        url = _endpoint_url("oauth.pushed_authorization_request")
        dpop.remember(dpop.check(request.headers, "POST", url))
    except OAuth2Error as error:
        return _with_dpop_nonce(server().handle_error_response(None, error))
    response = server().create_endpoint_response(par.ENDPOINT_NAME)
    if response.status_code == 201:
        db.session.commit()
    else:
        db.session.rollback()
    return _with_dpop_nonce(response)


@bp.post("/token")
@csrf.exempt
def token() -> ResponseReturnValue:
    try:
        dpop.remember(dpop.check(request.headers, "POST", _endpoint_url("oauth.token")))
    except OAuth2Error as error:
        return _with_dpop_nonce(server().handle_error_response(None, error))
    response = server().create_token_response()
    if response.status_code == 200:
        db.session.commit()
    else:
        db.session.rollback()
    return _with_dpop_nonce(response)


def _endpoint_url(endpoint: str) -> str:
    """What a DPoP proof's htu must name: the URL discovery publishes, not the Host header."""
    return current_app.config["ISSUER"] + url_for(endpoint)


def _with_dpop_nonce(response: Any) -> Any:
    """RFC 9449 8.2: with nonces on, every answer carries the nonce to use next."""
    if dpop.nonces_required():
        response.headers["DPoP-Nonce"] = dpop.current_nonce()
    return response


@bp.post("/revoke")
@csrf.exempt
def revoke() -> ResponseReturnValue:
    response = server().create_endpoint_response("revocation")
    db.session.commit()
    return response


@bp.post("/introspect")
@csrf.exempt
def introspect() -> ResponseReturnValue:
    return server().create_endpoint_response("introspection")


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo_endpoint() -> ResponseReturnValue:
    return userinfo.respond()
