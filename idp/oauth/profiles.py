"""Security profiles: a client, or the whole server, held to the FAPI 2.0 Security Profile.

FAPI 2.0 Security Profile (final, 2025) section 5, as idp applies it to a ``fapi2`` client:

- authorization requests are pushed (PAR, 5.3.2.2), with ``redirect_uri`` (5.3.2.2 item 6);
- PKCE with S256 for every client (5.3.2.2 item 5);
- confidential clients only, authenticating with ``private_key_jwt`` (5.3.2.1; idp has no
  mTLS), so a secret or a public client is refused as ``invalid_client``;
- sender-constrained access tokens by DPoP (5.3.2.1 item 2);
- authorization codes live at most 60 seconds (5.3.2.1 item 9).

``IDP_PROFILE=fapi2`` applies it to every client; ``idp clients update --profile fapi2`` to one.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from idp.models import Client

OIDC = "oidc"
FAPI2 = "fapi2"
PROFILES = (OIDC, FAPI2)
FAPI2_AUTH_METHOD = "private_key_jwt"
FAPI2_CODE_LIFETIME = timedelta(seconds=60)


def server_is_fapi2() -> bool:
    return current_app.config["PROFILE"] == FAPI2


def is_fapi2(client: Client | None) -> bool:
    return server_is_fapi2() or (client is not None and client.profile == FAPI2)
