"""Discovery documents computed from the routes and grants really registered.

OpenID Connect Discovery 1.0 section 3 and RFC 8414 section 2; the two documents share one source.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for

from idp.oauth import claims, dpop, profiles, signing
from idp.oauth.authorize import RESPONSE_MODES
from idp.oauth.grants import AUTH_METHODS
from idp.services import client_metadata, mfa


def _url(endpoint: str) -> str:
    # The issuer, not the request's Host header, is the base of every published URL.
    return current_app.config["ISSUER"] + url_for(endpoint)


def authorization_server() -> dict[str, Any]:
    fapi2 = profiles.server_is_fapi2()
    # FAPI 2.0 5.3.2.1: only private_key_jwt authenticates a client (idp has no mTLS).
    methods = [profiles.FAPI2_AUTH_METHOD] if fapi2 else AUTH_METHODS
    return {
        "issuer": current_app.config["ISSUER"],
        "authorization_endpoint": _url("oauth.authorize"),
        "token_endpoint": _url("oauth.token"),
        "jwks_uri": _url("discovery.jwks"),
        "userinfo_endpoint": _url("oauth.userinfo_endpoint"),
        "revocation_endpoint": _url("oauth.revoke"),
        "introspection_endpoint": _url("oauth.introspect"),
        "registration_endpoint": _url("registration.register"),
        "device_authorization_endpoint": _url("device.device_authorization"),
        "pushed_authorization_request_endpoint": _url("oauth.pushed_authorization_request"),
        "require_pushed_authorization_requests": bool(current_app.config["REQUIRE_PAR"]) or fapi2,
        "scopes_supported": list(claims.SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": sorted(RESPONSE_MODES),
        # The grants a client may hold: registration accepts them within the policy.
        "grant_types_supported": list(client_metadata.GRANT_TYPES),
        "token_endpoint_auth_methods_supported": list(methods),
        "token_endpoint_auth_signing_alg_values_supported": list(signing.SUPPORTED_ALGS),
        "revocation_endpoint_auth_methods_supported": list(methods),
        "introspection_endpoint_auth_methods_supported": list(methods),
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": list(dpop.ALGS),
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": ["en", "fr"],
        "service_documentation": current_app.config["ISSUER"] + "/",
    }


def openid_configuration() -> dict[str, Any]:
    document = authorization_server()
    document.update(
        {
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(signing.SUPPORTED_ALGS),
            "claims_supported": list(claims.SUPPORTED_CLAIMS),
            "claims_parameter_supported": True,
            "claims_locales_supported": ["en", "fr"],
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "require_request_uri_registration": False,
            "acr_values_supported": list(mfa.ACR_VALUES),
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "display_values_supported": ["page"],
            "claim_types_supported": ["normal"],
            "end_session_endpoint": _url("auth.logout"),
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "frontchannel_logout_supported": False,
        }
    )
    return document
